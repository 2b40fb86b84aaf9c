import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { settleParkedPayment } from '../../src/core/staff/payment-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/payments/{paymentId}/review: accept or refund a payment parked for review. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('review-payment'), wiring, ({ deps, customerId, params, body, remember }) =>
    settleParkedPayment(deps, { actor: customerId, paymentId: params.paymentId, ...body }, remember),
  );

export const handler = makeHandler(awsWiring('review-payment', { table: dynamoTable }));
