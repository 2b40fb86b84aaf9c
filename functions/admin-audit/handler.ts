import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listAudit } from '../../src/core/staff/find';
import type { AuditedEntity } from '../../src/domain/audit';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/audit?entity=<kind>:<id>: the item's staff actions, newest first. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-audit'), wiring, ({ deps, query: { entity, ...window } }) =>
    listAudit(deps, entity as AuditedEntity, window),
  );

export const handler = makeHandler(awsWiring('admin-audit', { table: dynamoTable }));
