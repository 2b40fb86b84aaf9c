import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { getRefund } from '../../shared/core/refunds';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/refunds/{refundId}: a customer's own refund, or any for an admin. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-refund'), wiring, ({ deps, customerId, isAdmin, params }) => getRefund(deps, { customerId, isAdmin }, params.refundId));

export const handler = makeHandler(awsWiring('get-refund', { table: dynamoTable }));
