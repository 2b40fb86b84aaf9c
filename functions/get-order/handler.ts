import { getOrder } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/orders/{orderId}: the order and all its payments. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('get-order'), deps, ({ deps, customerId, params }) => getOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsDeps);
