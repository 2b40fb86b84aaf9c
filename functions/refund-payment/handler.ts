import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { refundPayment } from '../../src/core/refunds/refunds';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/payments/{paymentId}/refunds (admin scope): record, reserve, then ask the provider. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('refund-payment'), wiring, ({ deps, params, body, remember }) =>
    refundPayment(deps, { paymentId: params.paymentId, ...body }, remember),
  );

export const handler = makeHandler(awsWiring('refund-payment', { table: dynamoTable, providers: providersFromEnv }));
