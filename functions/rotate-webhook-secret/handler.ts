import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { webhookKeys } from '../../src/aws/kms-data-keys';
import { rotateWebhookSecret } from '../../src/core/webhooks/endpoints';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/webhooks/{endpointId}/rotate-secret (admin scope): the new secret, shown this once. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('rotate-webhook-secret'), wiring, ({ deps, params }) =>
    rotateWebhookSecret(deps, params.endpointId),
  );

export const handler = makeHandler(awsWiring('rotate-webhook-secret', { table: dynamoTable, webhookKeys }));
