import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listOrders } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/orders: the caller's own orders, newest first, each with its current payment. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-orders'), wiring, ({ deps, customerId, query: { status, ...window } }) =>
    listOrders(deps, { customerId, ...(status ? { status } : {}) }, window),
  );

export const handler = makeHandler(awsWiring('list-orders', { table: dynamoTable }));
