import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { listRefunds } from '../../shared/core/refunds';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/payments/{paymentId}/refunds: its refunds with the refunded and refundable amounts. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-refunds'), wiring, ({ deps, customerId, isAdmin, params }) => listRefunds(deps, { customerId, isAdmin }, params.paymentId));

export const handler = makeHandler(awsWiring('list-refunds', { table: dynamoTable }));
