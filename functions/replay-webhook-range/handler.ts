import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { webhookQueue } from '../../src/aws/webhook-queue';
import { replayWebhookRange } from '../../src/core/webhooks/log';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/webhooks/{endpointId}/replay {from, to, status?, cursor?} (admin scope): queued, oldest first, 202. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('replay-webhook-range'), wiring, ({ deps, params, body }) =>
    replayWebhookRange(deps, params.endpointId, body),
  );

export const handler = makeHandler(awsWiring('replay-webhook-range', { table: dynamoTable, webhookQueue }));
