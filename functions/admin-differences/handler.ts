import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listOpenDifferences } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/differences: reconciliation differences neither healed nor resolved. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-differences'), wiring, ({ deps, query }) => listOpenDifferences(deps, query));

export const handler = makeHandler(awsWiring('admin-differences', { table: dynamoTable }));
