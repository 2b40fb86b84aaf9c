import { getPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/persistence/dynamo-repository';
import { httpRoute, type Wiring } from '../../src/http/handler';
import { routeOf } from '../../src/http/routes';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-payment'), wiring, ({ deps, customerId, params }) => getPayment(deps, customerId, params.paymentId));

export const handler = makeHandler(awsWiring('get-payment', { table: dynamoTable }));
