import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listWebhookDeliveries } from '../../src/core/webhooks/log';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/webhooks/{endpointId}/deliveries?status=&cursor=&limit= (admin scope). */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-webhook-deliveries'), wiring, ({ deps, params, query }) =>
    listWebhookDeliveries(deps, params.endpointId, query),
  );

export const handler = makeHandler(awsWiring('list-webhook-deliveries', { table: dynamoTable }));
