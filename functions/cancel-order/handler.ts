import { cancelOrder } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { OrderParams } from '../../shared/http/schemas';

/** POST /api/orders/{orderId}/cancel: unpaid order cancelled, open payment cancelled, stock released. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute({ auth: 'customer', params: OrderParams }, deps, ({ deps, customerId, params }) => cancelOrder(deps, customerId, params.orderId));

export const handler = makeHandler(awsDeps);
