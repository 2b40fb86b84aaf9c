import type { DomainEvent } from './events';

/**
 * One event on its way to one endpoint, with every attempt (docs/ARCHITECTURE.md#webhooks).
 * pending: not attempted yet; delivered: an attempt got a 2xx; failed: the last attempt failed,
 * and `nextAttemptAt` says whether another is scheduled (`finalReason` says why not).
 */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
/** What made an attempt: the event itself, a scheduled retry, or a replay someone asked for. */
export type WebhookAttemptTrigger = 'event' | 'retry' | 'replay';

export interface WebhookAttempt {
  at: string;
  trigger: WebhookAttemptTrigger;
  /** The HTTP status, when an answer came. */
  statusCode?: number;
  latencyMs: number;
  /** The first RESPONSE_EXCERPT_BYTES of the answer's body. */
  responseBody?: string;
  /** Why it failed without a status, or what was wrong with the status (a redirect). */
  error?: string;
}

export interface WebhookDelivery {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  orderId?: string;
  occurredAt: string;
  /** The exact body every attempt sends (the signature is over these bytes). */
  payload: string;
  status: WebhookDeliveryStatus;
  /** The latest MAX_KEPT_ATTEMPTS attempts, oldest first. */
  attempts: WebhookAttempt[];
  /** Every attempt ever made, those no longer kept included. */
  attemptCount: number;
  nextAttemptAt?: string;
  /** Why no further attempt is scheduled although the last one failed. */
  finalReason?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Each attempt keeps this much of the answer. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** Attempts kept per delivery (replays can add any number): the item stays far below DynamoDB's 400 KB. */
export const MAX_KEPT_ATTEMPTS = 50;
/** A delivery and its attempts are kept this long after its last attempt. */
export const DELIVERY_LOG_DAYS = 30;

/**
 * The body an endpoint receives: `{type, id, timestamp, data}` as Standard Webhooks shapes it.
 * `id` is the event id (also the webhook-id header, the receiver's dedupe key), `timestamp` when
 * the event happened.
 */
export function webhookPayload(event: DomainEvent): string {
  return JSON.stringify({ type: event.type, id: event.id, timestamp: event.occurredAt, data: event.detail });
}

export function newDelivery(
  input: { deliveryId: string; endpointId: string; event: DomainEvent },
  now: Date,
): WebhookDelivery {
  const { event } = input;
  const at = now.toISOString();
  return {
    deliveryId: input.deliveryId,
    endpointId: input.endpointId,
    eventId: event.id,
    eventType: event.type,
    ...(event.detail.orderId ? { orderId: event.detail.orderId } : {}),
    occurredAt: event.occurredAt,
    payload: webhookPayload(event),
    status: 'pending',
    attempts: [],
    attemptCount: 0,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

export type AttemptOutcome = 'delivered' | 'gone' | 'failed';

/** A 2xx is delivered, 410 Gone asks us to stop; anything else (3xx included: redirects are not followed) is a failure. */
export function outcomeOf(attempt: Pick<WebhookAttempt, 'statusCode' | 'error'>): AttemptOutcome {
  const status = attempt.statusCode;
  if (status !== undefined && status >= 200 && status < 300 && !attempt.error) return 'delivered';
  return status === 410 ? 'gone' : 'failed';
}

/**
 * Waits between attempts: `scheduleSeconds[n-1]` after the n-th failure, the last one repeating,
 * each varied by ±JITTER so that the retries of many deliveries do not arrive together; no
 * attempt later than `windowHours` after the event.
 */
export interface RetryPolicy {
  scheduleSeconds: readonly number[];
  windowHours: number;
}

/** About 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h up to 3 days: 12 attempts in all. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  scheduleSeconds: [5, 300, 1800, 7200, 18_000, 36_000],
  windowHours: 72,
};

export const RETRY_JITTER = 0.2;

/** The wait after the `failures`-th failed attempt (1-based), jittered by `random` in [0, 1). */
export function retryDelaySeconds(failures: number, policy: RetryPolicy, random: number): number {
  const { scheduleSeconds } = policy;
  const base = scheduleSeconds[Math.min(Math.max(failures, 1), scheduleSeconds.length) - 1]!;
  return Math.max(1, Math.round(base * (1 + RETRY_JITTER * (2 * random - 1))));
}

export interface AttemptContext {
  now: Date;
  policy: RetryPolicy;
  random: number;
}

/**
 * The delivery after an attempt: delivered (sticky: a later failure of a replay does not undo
 * it), or failed with the next retry when it still fits the window. A replay never schedules:
 * it keeps whatever retry was already planned.
 */
export function withAttempt(delivery: WebhookDelivery, attempt: WebhookAttempt, context: AttemptContext) {
  const outcome = outcomeOf(attempt);
  const attempts = [...delivery.attempts, attempt].slice(-MAX_KEPT_ATTEMPTS);
  const base = { ...delivery, attempts, attemptCount: delivery.attemptCount + 1 };
  if (outcome === 'delivered' || delivery.status === 'delivered') {
    const { nextAttemptAt: _next, finalReason: _reason, ...rest } = base;
    return touched(rest, 'delivered', context.now);
  }
  if (attempt.trigger === 'replay') return touched(base, 'failed', context.now);
  if (outcome === 'gone') return stopped(base, 'the endpoint answered 410 Gone and was disabled', context.now);
  const failures = base.attempts.filter((kept) => kept.trigger !== 'replay').length;
  const next = new Date(context.now.getTime() + retryDelaySeconds(failures, context.policy, context.random) * 1000);
  const windowEnds = Date.parse(delivery.occurredAt) + context.policy.windowHours * 3_600_000;
  if (next.getTime() > windowEnds)
    return stopped(base, `gave up: no success within ${context.policy.windowHours} h`, context.now);
  const { finalReason: _reason, ...rest } = base;
  return touched({ ...rest, nextAttemptAt: next.toISOString() }, 'failed', context.now);
}

/** No further attempt: the endpoint was disabled or deleted, or the window closed. */
export function stopped(delivery: WebhookDelivery, reason: string, now: Date): WebhookDelivery {
  const { nextAttemptAt: _next, ...rest } = delivery;
  return touched({ ...rest, finalReason: reason }, delivery.status === 'delivered' ? 'delivered' : 'failed', now);
}

function touched(delivery: WebhookDelivery, status: WebhookDeliveryStatus, now: Date): WebhookDelivery {
  return { ...delivery, status, updatedAt: now.toISOString(), version: delivery.version + 1 };
}
