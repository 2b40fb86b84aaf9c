import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { resolveDifference } from '../../src/core/staff/difference-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/differences/{differenceId}/resolve: a person's note settles a difference. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('resolve-difference'), wiring, ({ deps, customerId, params, body, remember }) =>
    resolveDifference(deps, { actor: customerId, differenceId: params.differenceId, ...body }, remember),
  );

export const handler = makeHandler(awsWiring('resolve-difference', { table: dynamoTable }));
