import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listRefunds } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/refunds: refunds newest first; abnormal ones from their attention set. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-refunds'), wiring, ({ deps, query: { status, ...window } }) =>
    listRefunds(deps, { status }, window),
  );

export const handler = makeHandler(awsWiring('admin-refunds', { table: dynamoTable }));
