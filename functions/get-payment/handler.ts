import { getPayment } from '../../shared/core/payments';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-payment'), wiring, ({ deps, customerId, params }) => getPayment(deps, customerId, params.paymentId));

export const handler = makeHandler(awsWiring('get-payment', { table: dynamoTable }));
