import type { WebhookDelivery } from '../../domain/webhook-delivery';
import { signingSecrets, type WebhookEndpoint } from '../../domain/webhook-endpoint';

/** An endpoint as an administrator sees it: everything but its secrets (shown once, when made). */
export function endpointView(endpoint: WebhookEndpoint, now: Date) {
  const [current, ...previous] = signingSecrets(endpoint, now);
  const overlapEnds = previous.map((secret) => secret.expiresAt!).sort();
  return {
    endpointId: endpoint.endpointId,
    url: endpoint.url,
    events: endpoint.events,
    ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
    enabled: endpoint.enabled,
    ...(endpoint.disabledReason ? { disabledReason: endpoint.disabledReason, disabledAt: endpoint.disabledAt } : {}),
    ...(endpoint.failingSince ? { failingSince: endpoint.failingSince, lastError: endpoint.lastError } : {}),
    secretCreatedAt: current?.createdAt ?? endpoint.createdAt,
    ...(overlapEnds.length > 0 ? { previousSecretExpiresAt: overlapEnds.at(-1) } : {}),
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}

/** A delivery with every attempt kept, and the event as sent. */
export function deliveryView(delivery: WebhookDelivery) {
  return {
    deliveryId: delivery.deliveryId,
    endpointId: delivery.endpointId,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    ...(delivery.orderId ? { orderId: delivery.orderId } : {}),
    occurredAt: delivery.occurredAt,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    ...(delivery.nextAttemptAt ? { nextAttemptAt: delivery.nextAttemptAt } : {}),
    ...(delivery.finalReason ? { finalReason: delivery.finalReason } : {}),
    attempts: delivery.attempts,
    event: JSON.parse(delivery.payload) as Record<string, unknown>,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}
