import { cancelPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/persistence/dynamo-repository';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { httpRoute, type Wiring } from '../../src/http/handler';
import { routeOf } from '../../src/http/routes';

/** POST /api/payments/{paymentId}/cancel: the customer gives up; the order stays pending. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('cancel-payment'), wiring, ({ deps, customerId, params }) => cancelPayment(deps, { customerId, paymentId: params.paymentId }));

export const handler = makeHandler(awsWiring('cancel-payment', { table: dynamoTable, providers: providersFromEnv }));
