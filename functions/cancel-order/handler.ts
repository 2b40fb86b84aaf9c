import { cancelOrder } from '../../shared/core/orders';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { providersFromEnv } from '../../shared/adapters/provider-secret';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders/{orderId}/cancel: unpaid order cancelled, open payment cancelled, stock released. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('cancel-order'), wiring, ({ deps, customerId, params }) => cancelOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsWiring('cancel-order', { table: dynamoTable, providers: providersFromEnv }));
