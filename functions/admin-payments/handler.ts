import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listPayments } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/payments: payments newest first; a flag reads its small attention set. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-payments'), wiring, ({ deps, query: { status, method, flag, ...window } }) =>
    listPayments(deps, { status, method, condition: flag }, window),
  );

export const handler = makeHandler(awsWiring('admin-payments', { table: dynamoTable }));
