import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { reconciliationFromEnv } from '../../src/aws/env';
import { rerunReconciliation } from '../../src/core/staff/reconciliation-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/reconciliation/{provider}/{date}/re-run: a person runs one provider's day again. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('rerun-reconciliation'), wiring, ({ deps, customerId, params, body, remember }) =>
    rerunReconciliation(
      deps,
      { actor: customerId, ...params, reason: body.reason, timing: reconciliationFromEnv() },
      remember,
    ),
  );

export const handler = makeHandler(
  awsWiring('rerun-reconciliation', { table: dynamoTable, providers: providersFromEnv }),
);
