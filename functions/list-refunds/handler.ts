import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listRefunds } from '../../src/core/refunds/views';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/payments/{paymentId}/refunds: its refunds with the refunded and refundable amounts. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-refunds'), wiring, ({ deps, customerId, isAdmin, params }) =>
    listRefunds(deps, { customerId, isAdmin }, params.paymentId),
  );

export const handler = makeHandler(awsWiring('list-refunds', { table: dynamoTable }));
