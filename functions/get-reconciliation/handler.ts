import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { reconciliationReport } from '../../src/core/reconciliation/reconciliation';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/reconciliation/{date}: each provider's run of that Beijing day with its differences. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-reconciliation'), wiring, ({ deps, params }) => reconciliationReport(deps, params.date));

export const handler = makeHandler(awsWiring('get-reconciliation', { table: dynamoTable }));
