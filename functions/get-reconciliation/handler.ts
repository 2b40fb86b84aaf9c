import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { reconciliationReport } from '../../shared/core/reconciliation';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/admin/reconciliation/{date}: each provider's run of that Beijing day with its differences. */
export const makeHandler = (wiring: Wiring) => httpRoute(routeOf('get-reconciliation'), wiring, ({ deps, params }) => reconciliationReport(deps, params.date));

export const handler = makeHandler(awsWiring('get-reconciliation', { table: dynamoTable }));
