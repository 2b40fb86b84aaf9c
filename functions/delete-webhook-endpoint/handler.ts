import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { deleteWebhookEndpoint } from '../../src/core/webhooks/endpoints';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** DELETE /api/admin/webhooks/{endpointId} (admin scope). */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('delete-webhook-endpoint'), wiring, ({ deps, params }) =>
    deleteWebhookEndpoint(deps, params.endpointId),
  );

export const handler = makeHandler(awsWiring('delete-webhook-endpoint', { table: dynamoTable }));
