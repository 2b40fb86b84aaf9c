import { cancelOrder } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders/{orderId}/cancel: unpaid order cancelled, open payment cancelled, stock released. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('cancel-order'), deps, ({ deps, customerId, params }) => cancelOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsDeps);
