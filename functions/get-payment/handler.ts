import { getPayment } from '../../shared/core/payments';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('get-payment'), deps, ({ deps, customerId, params }) => getPayment(deps, customerId, params.paymentId));

export const handler = makeHandler(awsDeps);
