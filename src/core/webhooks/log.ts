import type { WebhookDeliveryStatus } from '../../domain/webhook-delivery';
import { WebhookDeliveryNotFoundError, WebhookEndpointDisabledError } from '../../domain/webhook-errors';
import type { Uses } from '../kernel/deps';
import { findEndpoint } from './endpoints';
import { deliveryIdRange } from './identity';
import type { WebhookAttemptRequest, WebhookStore } from './ports';
import { deliveryView } from './views';

/** The delivery log and replays (docs/API.md#webhooks). */

export const DEFAULT_DELIVERY_PAGE = 20;
/** A range replay queues at most this many deliveries per call; `nextCursor` continues it. */
export const MAX_REPLAY_PER_CALL = 500;
const QUEUE_BATCH = 10;
/** The log keeps 30 days: a longer range could only find nothing more. */
export const MAX_REPLAY_RANGE_DAYS = 31;

export async function listWebhookDeliveries(
  deps: Uses<WebhookStore>,
  endpointId: string,
  query: { status?: WebhookDeliveryStatus; cursor?: string; limit?: number },
) {
  await findEndpoint(deps, endpointId);
  const page = await deps.repo.listWebhookDeliveries(endpointId, {
    ...query,
    limit: query.limit ?? DEFAULT_DELIVERY_PAGE,
  });
  return { deliveries: page.items.map(deliveryView), ...(page.cursor ? { nextCursor: page.cursor } : {}) };
}

async function enabledEndpoint(deps: Uses<WebhookStore>, endpointId: string) {
  const endpoint = await findEndpoint(deps, endpointId);
  if (!endpoint.enabled) throw new WebhookEndpointDisabledError(endpointId, endpoint.disabledReason);
  return endpoint;
}

const replayOf = (endpointId: string, deliveryId: string, dueAt: string): WebhookAttemptRequest => ({
  kind: 'attempt',
  endpointId,
  deliveryId,
  trigger: 'replay',
  dueAt,
});

/** Sends a delivery again now, as one more attempt with the same webhook-id; answered once queued (202). */
export async function replayWebhookDelivery(
  deps: Uses<WebhookStore, 'clock' | 'webhookQueue'>,
  endpointId: string,
  deliveryId: string,
) {
  await enabledEndpoint(deps, endpointId);
  const delivery = await deps.repo.getWebhookDelivery(endpointId, deliveryId);
  if (!delivery) throw new WebhookDeliveryNotFoundError(endpointId, deliveryId);
  await deps.webhookQueue.enqueue([replayOf(endpointId, deliveryId, deps.clock.now().toISOString())], 0);
  return { delivery: deliveryView(delivery), replay: 'queued' as const };
}

/**
 * Sends again every delivery whose event happened from `from` to `to` (optionally only those in
 * `status`), oldest first: the recovery after an outage on the shop's side. At most
 * MAX_REPLAY_PER_CALL a call; `nextCursor` continues.
 */
export async function replayWebhookRange(
  deps: Uses<WebhookStore, 'clock' | 'webhookQueue'>,
  endpointId: string,
  range: { from: string; to: string; status?: WebhookDeliveryStatus; cursor?: string },
) {
  await enabledEndpoint(deps, endpointId);
  const page = await deps.repo.listWebhookDeliveries(endpointId, {
    idRange: deliveryIdRange(range.from, range.to),
    ...(range.status ? { status: range.status } : {}),
    ...(range.cursor ? { cursor: range.cursor } : {}),
    oldestFirst: true,
    limit: MAX_REPLAY_PER_CALL,
  });
  const dueAt = deps.clock.now().toISOString();
  for (let start = 0; start < page.items.length; start += QUEUE_BATCH) {
    const batch = page.items.slice(start, start + QUEUE_BATCH);
    await deps.webhookQueue.enqueue(
      batch.map((delivery) => replayOf(endpointId, delivery.deliveryId, dueAt)),
      0,
    );
  }
  return { queued: page.items.length, ...(page.cursor ? { nextCursor: page.cursor } : {}) };
}
