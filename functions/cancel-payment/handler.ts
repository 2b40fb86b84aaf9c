import { cancelPayment } from '../../shared/core/payments';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { PaymentParams } from '../../shared/http/schemas';

/** POST /api/payments/{paymentId}/cancel: the customer gives up; the order stays pending. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute({ auth: 'customer', params: PaymentParams }, deps, ({ deps, customerId, params }) => cancelPayment(deps, { customerId, paymentId: params.paymentId }));

export const handler = makeHandler(awsDeps);
