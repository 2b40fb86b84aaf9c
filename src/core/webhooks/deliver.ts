import { AlreadyExistsError } from '../../domain/errors';
import type { DomainEvent } from '../../domain/events';
import { newDelivery, type WebhookDelivery } from '../../domain/webhook-delivery';
import { subscribes, type WebhookEndpoint } from '../../domain/webhook-endpoint';
import { Metric } from '../kernel/metric-names';
import { attemptDelivery, type AttemptDeps, MAX_HOP_SECONDS, stopDelivery } from './attempt';
import { deliveryIdOf, laneOf, lanePosition } from './identity';
import { awaitTurn } from './lanes';
import type { WebhookAttemptRequest } from './ports';

/**
 * The webhook deliverer's work (docs/ARCHITECTURE.md#webhooks): each bus event to every enabled
 * endpoint that subscribes to its type, and each queued attempt request (a retry, a replay).
 */

/** Reads the endpoints once for a whole batch of queue messages. */
export function endpointsOnce(deps: Pick<AttemptDeps, 'repo'>): () => Promise<WebhookEndpoint[]> {
  let endpoints: Promise<WebhookEndpoint[]> | undefined;
  return () => (endpoints ??= deps.repo.listWebhookEndpoints());
}

/**
 * A bus event to each enabled endpoint that takes its type, all at once: one endpoint that hangs
 * delays no other. Rejects when any endpoint's delivery could not be recorded, so the message
 * comes again; the endpoints it already reached find their delivery attempted and are skipped.
 */
export async function deliverEvent(
  deps: AttemptDeps,
  event: DomainEvent,
  endpoints: readonly WebhookEndpoint[],
): Promise<void> {
  deps.metrics.observe(
    Metric.WebhookIntakeLag,
    deps.clock.now().getTime() - Date.parse(event.occurredAt),
    'Milliseconds',
  );
  const targets = endpoints.filter((endpoint) => endpoint.enabled && subscribes(endpoint, event.type));
  const outcomes = await Promise.allSettled(targets.map((endpoint) => deliverToEndpoint(deps, endpoint, event)));
  const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
  if (failures.length > 0)
    throw new AggregateError(failures, `event ${event.id}: ${failures.length} endpoint(s) failed`);
}

async function deliverToEndpoint(deps: AttemptDeps, endpoint: WebhookEndpoint, event: DomainEvent): Promise<void> {
  const lane = { lane: laneOf(endpoint.endpointId, event), position: lanePosition(event) };
  const delivery = await recordDelivery(deps, endpoint.endpointId, event, lane);
  // The bus brought this event before, and it was attempted then: its retries are queued already.
  if (delivery.attemptCount > 0) return;
  await awaitTurn(deps, { ...lane, occurredAt: delivery.occurredAt });
  await attemptDelivery(deps, endpoint, delivery, 'event');
}

async function recordDelivery(
  deps: AttemptDeps,
  endpointId: string,
  event: DomainEvent,
  lane: { lane: string; position: string },
): Promise<WebhookDelivery> {
  const delivery = newDelivery({ deliveryId: deliveryIdOf(event), endpointId, event }, deps.clock.now());
  try {
    await deps.repo.commit([{ kind: 'createWebhookDelivery', delivery, lane }]);
    return delivery;
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    const existing = await deps.repo.getWebhookDelivery(endpointId, delivery.deliveryId);
    if (!existing) throw error;
    return existing;
  }
}

export type AttemptRequestResult = 'hopped' | 'attempted' | 'superseded' | 'stopped' | 'expired';

/**
 * A queued attempt. Not due yet: queued again for at most 15 minutes (SQS's longest delay), hop
 * by hop. A retry the delivery no longer expects (another attempt rescheduled it, or it was
 * delivered) is dropped; a delivery whose endpoint is disabled or deleted stops there.
 */
export async function handleAttemptRequest(
  deps: AttemptDeps,
  request: WebhookAttemptRequest,
): Promise<AttemptRequestResult> {
  const wait = Date.parse(request.dueAt) - deps.clock.now().getTime();
  if (wait >= 1000) {
    await deps.webhookQueue.enqueue([request], Math.min(Math.ceil(wait / 1000), MAX_HOP_SECONDS));
    return 'hopped';
  }
  const [endpoint, delivery] = await Promise.all([
    deps.repo.getWebhookEndpoint(request.endpointId),
    deps.repo.getWebhookDelivery(request.endpointId, request.deliveryId),
  ]);
  if (!delivery) return 'expired';
  if (request.trigger === 'retry' && delivery.nextAttemptAt !== request.dueAt) return 'superseded';
  if (!endpoint?.enabled) {
    if (delivery.nextAttemptAt)
      await stopDelivery(
        deps,
        delivery,
        endpoint ? `endpoint disabled: ${endpoint.disabledReason}` : 'endpoint deleted',
      );
    return 'stopped';
  }
  await attemptDelivery(deps, endpoint, delivery, request.trigger);
  return 'attempted';
}
