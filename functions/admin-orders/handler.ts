import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listOrders } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/orders: any customer's orders (or one's), newest first. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-orders'), wiring, ({ deps, query: { status, customerId, ...window } }) =>
    listOrders(deps, { ...(customerId ? { customerId } : {}), ...(status ? { status } : {}) }, window),
  );

export const handler = makeHandler(awsWiring('admin-orders', { table: dynamoTable }));
