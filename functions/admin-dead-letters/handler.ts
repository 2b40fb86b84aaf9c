import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listDeadLetters } from '../../src/core/staff/find';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/dead-letters: notifications the worker gave up on: what, why, how often. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('admin-dead-letters'), wiring, ({ deps, query }) => listDeadLetters(deps, query));

export const handler = makeHandler(awsWiring('admin-dead-letters', { table: dynamoTable }));
