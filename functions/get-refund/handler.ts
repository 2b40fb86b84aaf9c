import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { getRefund } from '../../src/core/refunds/views';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/refunds/{refundId}: a customer's own refund, or any for an admin. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-refund'), wiring, ({ deps, customerId, isAdmin, params }) =>
    getRefund(deps, { customerId, isAdmin }, params.refundId),
  );

export const handler = makeHandler(awsWiring('get-refund', { table: dynamoTable }));
