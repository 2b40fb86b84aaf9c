import { getPayment } from '../../shared/core/payments';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { PaymentParams } from '../../shared/http/schemas';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute({ auth: 'customer', params: PaymentParams }, deps, ({ deps, customerId, params }) => getPayment(deps, customerId, params.paymentId));

export const handler = makeHandler(awsDeps);
