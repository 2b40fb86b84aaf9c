import { getOrder } from '../../shared/core/orders';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/orders/{orderId}: the order and all its payments. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-order'), wiring, ({ deps, customerId, params }) => getOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsWiring('get-order', { table: dynamoTable }));
