import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { settleRefundOffline } from '../../src/core/staff/refund-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/refunds/{refundId}/settle: an abnormal refund paid back another way. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('settle-refund'), wiring, ({ deps, customerId, params, body, remember }) =>
    settleRefundOffline(deps, { actor: customerId, refundId: params.refundId, reason: body.reason }, remember),
  );

export const handler = makeHandler(awsWiring('settle-refund', { table: dynamoTable }));
