import { cancelPayment } from '../../shared/core/payments';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/payments/{paymentId}/cancel: the customer gives up; the order stays pending. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('cancel-payment'), deps, ({ deps, customerId, params }) => cancelPayment(deps, { customerId, paymentId: params.paymentId }));

export const handler = makeHandler(awsDeps);
