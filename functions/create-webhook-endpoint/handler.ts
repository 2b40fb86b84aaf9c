import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { webhookKeys } from '../../src/aws/kms-data-keys';
import { awsWebhookSender } from '../../src/aws/webhook-sender';
import { createWebhookEndpoint } from '../../src/core/webhooks/endpoints';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/webhooks (admin scope): the URL checked (its host resolved), a secret made, sealed, shown this once. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('create-webhook-endpoint'), wiring, ({ deps, body }) => createWebhookEndpoint(deps, body));

export const handler = makeHandler(
  awsWiring('create-webhook-endpoint', { table: dynamoTable, webhookKeys, webhookSender: awsWebhookSender }),
);
