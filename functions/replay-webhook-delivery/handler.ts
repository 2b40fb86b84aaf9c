import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { webhookQueue } from '../../src/aws/webhook-queue';
import { replayWebhookDelivery } from '../../src/core/webhooks/log';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/webhooks/{endpointId}/deliveries/{deliveryId}/replay (admin scope): queued for the deliverer, 202. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('replay-webhook-delivery'), wiring, ({ deps, params }) =>
    replayWebhookDelivery(deps, params.endpointId, params.deliveryId),
  );

export const handler = makeHandler(awsWiring('replay-webhook-delivery', { table: dynamoTable, webhookQueue }));
