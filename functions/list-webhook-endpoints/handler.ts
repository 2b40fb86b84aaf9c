import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { listWebhookEndpoints } from '../../src/core/webhooks/endpoints';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/admin/webhooks (admin scope): every endpoint, without its secrets. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-webhook-endpoints'), wiring, ({ deps }) => listWebhookEndpoints(deps));

export const handler = makeHandler(awsWiring('list-webhook-endpoints', { table: dynamoTable }));
