import { getOrder } from '../../src/core/orders/orders';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/orders/{orderId}: the order and all its payments. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-order'), wiring, ({ deps, customerId, params }) => getOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsWiring('get-order', { table: dynamoTable }));
