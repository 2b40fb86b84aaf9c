import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { retryAbnormalRefund } from '../../src/core/staff/abnormal-refunds';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/refunds/{refundId}/retry: an abnormal refund sent again to another account. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('retry-refund'), wiring, ({ deps, customerId, params, body, remember }) =>
    retryAbnormalRefund(
      deps,
      { actor: customerId, refundId: params.refundId, destination: body.destination, reason: body.reason },
      remember,
    ),
  );

export const handler = makeHandler(awsWiring('retry-refund', { table: dynamoTable, providers: providersFromEnv }));
