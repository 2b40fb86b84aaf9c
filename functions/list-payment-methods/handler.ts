import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { paymentMethods } from '../../src/core/payments/scenes';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/**
 * GET /api/payment-methods: public (a shop's checkout page shows its choices before anyone signs
 * in), so not an httpRoute. Read from the provider secret on each call: a rotated secret that adds
 * a scene shows at once.
 */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (_event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' },
    body: JSON.stringify(paymentMethods(await wiring.deps())),
  }));

export const handler = makeHandler(awsWiring('list-payment-methods', { providers: providersFromEnv }));
