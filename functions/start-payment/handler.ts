import { startPayment } from '../../src/core/payments/start';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { httpRoute } from '../../src/http/route';
import { payerClaimNamesFromEnv, payerFromClaims, type PayerClaimNames } from '../../src/http/payer-claims';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/**
 * POST /api/payments/{paymentId}/start: the checkout in a scene; init → processing. The payer id
 * from the token's claim wins over the body's; the client IP is the one API Gateway saw.
 */
export const makeHandler = (wiring: Wiring, payerClaims: PayerClaimNames = payerClaimNamesFromEnv()) =>
  httpRoute(routeOf('start-payment'), wiring, ({ deps, customerId, params, body, event }) =>
    startPayment(deps, {
      customerId,
      paymentId: params.paymentId,
      scene: body.scene,
      channel: body.channel,
      payer: body.payer,
      tokenPayer: payerFromClaims(event.requestContext.authorizer?.jwt?.claims ?? {}, payerClaims),
      clientIp: event.requestContext.http.sourceIp,
    }),
  );

export const handler = makeHandler(awsWiring('start-payment', { table: dynamoTable, providers: providersFromEnv }));
