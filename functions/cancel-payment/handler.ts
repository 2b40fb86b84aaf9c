import { cancelPayment } from '../../shared/core/payments';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { providersFromEnv } from '../../shared/adapters/provider-secret';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/payments/{paymentId}/cancel: the customer gives up; the order stays pending. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('cancel-payment'), wiring, ({ deps, customerId, params }) => cancelPayment(deps, { customerId, paymentId: params.paymentId }));

export const handler = makeHandler(awsWiring('cancel-payment', { table: dynamoTable, providers: providersFromEnv }));
