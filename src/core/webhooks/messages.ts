import * as z from 'zod/mini';
import '../kernel/zod-english';
import type { DomainEvent } from '../../domain/events';
import type { WebhookAttemptRequest } from './ports';

/**
 * What arrives on the webhook queue: a bus event as the EventBridge rule delivers it (the
 * envelope, `detail` = `{eventId, occurredAt, ...the event's detail}`), or one of our own attempt
 * requests (a retry waiting hop by hop, or a replay).
 */
const BusEnvelope = z.object({
  'detail-type': z.string().check(z.minLength(1)),
  time: z.string(),
  detail: z.looseObject({
    eventId: z.string().check(z.minLength(1)),
    occurredAt: z.optional(z.string()),
    orderId: z.optional(z.string()),
    customerId: z.optional(z.string()),
  }),
});

const AttemptRequest = z.object({
  kind: z.literal('attempt'),
  endpointId: z.string().check(z.minLength(1)),
  deliveryId: z.string().check(z.minLength(1)),
  trigger: z.enum(['retry', 'replay']),
  dueAt: z.string(),
}) satisfies z.ZodMiniType<WebhookAttemptRequest>;

export type WebhookMessage = { kind: 'event'; event: DomainEvent } | WebhookAttemptRequest;

export function parseWebhookMessage(body: string): WebhookMessage {
  const message: unknown = JSON.parse(body);
  if (typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === 'attempt')
    return AttemptRequest.parse(message);
  const envelope = BusEnvelope.parse(message);
  const { eventId, occurredAt, ...detail } = envelope.detail;
  return {
    kind: 'event',
    event: {
      id: eventId,
      // A type this deliverer does not know yet is still delivered, to endpoints that take every type.
      type: envelope['detail-type'] as DomainEvent['type'],
      // EventBridge's own `time` has whole seconds only: the detail carries the event's exact time.
      occurredAt: occurredAt ?? envelope.time,
      // Exactly what was published: every event of ours names its order and customer.
      detail: detail as DomainEvent['detail'],
    },
  };
}
