import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { awsWebhookSender } from '../../src/aws/webhook-sender';
import { updateWebhookEndpoint } from '../../src/core/webhooks/endpoints';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** PATCH /api/admin/webhooks/{endpointId} (admin scope): a new URL is checked as at registration. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('update-webhook-endpoint'), wiring, ({ deps, params, body }) =>
    updateWebhookEndpoint(deps, params.endpointId, body),
  );

export const handler = makeHandler(
  awsWiring('update-webhook-endpoint', { table: dynamoTable, webhookSender: awsWebhookSender }),
);
