import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { refundOwedMoney } from '../../src/core/staff/payment-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/payments/{paymentId}/refund-owed: refund what a payment owes back that no refund covers. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('refund-owed'), wiring, ({ deps, customerId, params, body, remember }) =>
    refundOwedMoney(deps, { actor: customerId, paymentId: params.paymentId, ...body }, remember),
  );

export const handler = makeHandler(awsWiring('refund-owed', { table: dynamoTable }));
