import { startPayment } from '../../shared/core/payments';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/payments/{paymentId}/start: the provider checkout; init → processing. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('start-payment'), deps, ({ deps, customerId, params, body }) =>
    startPayment(deps, { customerId, paymentId: params.paymentId, channel: body.channel }),
  );

export const handler = makeHandler(awsDeps);
