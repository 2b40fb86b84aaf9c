import { addPayment } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders/{orderId}/payments: pay again after a failed, cancelled or expired payment. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('add-payment'), deps, ({ deps, customerId, params, body, remember }) =>
    addPayment(deps, { customerId, orderId: params.orderId, method: body.paymentMethod, ttlMinutes: body.ttlMinutes }, remember),
  );

export const handler = makeHandler(awsDeps);
