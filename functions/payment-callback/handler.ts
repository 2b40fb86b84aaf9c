import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { sqsQueue } from '../../src/aws/sqs-queue';
import { receiveCallback } from '../../src/core/payments/callbacks';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/**
 * POST /api/payments/callback/{provider}. No JWT: the provider's signature is the authentication,
 * verified over the raw body bytes exactly as received (API Gateway base64-encodes non-text bodies).
 */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const deps = await wiring.deps();
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const headers = Object.fromEntries(
      Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    return receiveCallback(deps, event.pathParameters?.provider ?? '', { headers, body });
  });

export const handler = makeHandler(
  awsWiring('payment-callback', { table: dynamoTable, providers: providersFromEnv, queue: sqsQueue }),
);
