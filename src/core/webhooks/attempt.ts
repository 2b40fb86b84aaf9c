import { StaleStateError } from '../../domain/errors';
import {
  outcomeOf,
  stopped,
  type AttemptOutcome,
  type WebhookAttempt,
  type WebhookAttemptTrigger,
  type WebhookDelivery,
  withAttempt,
} from '../../domain/webhook-delivery';
import { failingReason, goneReason, signingSecrets, type WebhookEndpoint } from '../../domain/webhook-endpoint';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { Commit } from '../kernel/ports';
import type { WebhookStore } from './ports';
import { openSecretCached } from './secrets';
import { webhookHeaders } from './signing';

export type AttemptDeps = Uses<
  WebhookStore & Commit,
  'clock' | 'webhooks' | 'webhookQueue' | 'webhookSender' | 'webhookKeys' | 'metrics' | 'logger'
>;

export const USER_AGENT = 'payments-webhooks/1 (Standard Webhooks)';
/** SQS delays a message at most this long: a longer wait is re-enqueued hop by hop. */
export const MAX_HOP_SECONDS = 900;

/**
 * One attempt of a delivery: signed with every secret the endpoint signs with now, sent, recorded
 * on the delivery, the next retry queued, the endpoint's health kept. The retry is queued before
 * the delivery records it: should the record fail, the queued retry finds a delivery that does
 * not expect it and is dropped, while the message that made this attempt comes again.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  endpoint: WebhookEndpoint,
  delivery: WebhookDelivery,
  trigger: WebhookAttemptTrigger,
): Promise<WebhookDelivery> {
  const now = deps.clock.now();
  const secrets = await Promise.all(
    signingSecrets(endpoint, now).map(({ sealed }) => openSecretCached(deps.webhookKeys, endpoint.endpointId, sealed)),
  );
  const response = await deps.webhookSender.post({
    url: endpoint.url,
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...webhookHeaders(secrets, { id: delivery.eventId, body: delivery.payload, at: now }),
    },
    body: delivery.payload,
    timeoutMs: deps.webhooks.timeoutMs,
  });
  const attempt: WebhookAttempt = {
    at: now.toISOString(),
    trigger,
    latencyMs: response.latencyMs,
    ...(response.statusCode === undefined ? {} : { statusCode: response.statusCode }),
    ...(response.body ? { responseBody: response.body } : {}),
    ...(response.error ? { error: response.error } : {}),
  };
  const outcome = outcomeOf(attempt);
  const recorded = await recordAttempt(deps, delivery, attempt);
  countAttempt(deps, endpoint, recorded, attempt, outcome);
  await keepHealth(deps, endpoint, attempt, outcome);
  return recorded;
}

/** The attempt appended on the delivery's version (re-read when a concurrent attempt came first), its retry queued. */
async function recordAttempt(
  deps: AttemptDeps,
  delivery: WebhookDelivery,
  attempt: WebhookAttempt,
): Promise<WebhookDelivery> {
  let current = delivery;
  for (let tries = 1; ; tries++) {
    const next = withAttempt(current, attempt, {
      now: deps.clock.now(),
      policy: deps.webhooks.retry,
      random: Math.random(),
    });
    if (next.nextAttemptAt && next.nextAttemptAt !== current.nextAttemptAt) await queueRetry(deps, next);
    try {
      await deps.repo.commit([{ kind: 'updateWebhookDelivery', delivery: next, expectedVersion: current.version }]);
      return next;
    } catch (error) {
      if (!(error instanceof StaleStateError) || tries >= 3) throw error;
      current = (await deps.repo.getWebhookDelivery(delivery.endpointId, delivery.deliveryId)) ?? current;
    }
  }
}

/** A delivery that will not be attempted again (its endpoint is disabled or gone), recorded so. */
export async function stopDelivery(deps: AttemptDeps, delivery: WebhookDelivery, reason: string): Promise<void> {
  await deps.repo.commit([
    {
      kind: 'updateWebhookDelivery',
      delivery: stopped(delivery, reason, deps.clock.now()),
      expectedVersion: delivery.version,
    },
  ]);
  deps.metrics.count(Metric.WebhookDeliveriesGivenUp, 1, { reason: 'endpoint' });
}

async function queueRetry(deps: AttemptDeps, delivery: WebhookDelivery): Promise<void> {
  const dueAt = delivery.nextAttemptAt!;
  const wait = Math.ceil((Date.parse(dueAt) - deps.clock.now().getTime()) / 1000);
  await deps.webhookQueue.enqueue(
    [{ kind: 'attempt', endpointId: delivery.endpointId, deliveryId: delivery.deliveryId, trigger: 'retry', dueAt }],
    Math.min(Math.max(wait, 0), MAX_HOP_SECONDS),
  );
}

function countAttempt(
  deps: AttemptDeps,
  endpoint: WebhookEndpoint,
  delivery: WebhookDelivery,
  attempt: WebhookAttempt,
  outcome: AttemptOutcome,
): void {
  deps.metrics.count(Metric.WebhookAttempts, 1, { outcome, trigger: attempt.trigger });
  deps.metrics.observe(Metric.WebhookAttemptFailed, outcome === 'delivered' ? 0 : 1, 'Count', {
    endpoint: endpoint.endpointId,
  });
  const firstSuccess =
    outcome === 'delivered' && delivery.attempts.filter((kept) => outcomeOf(kept) === 'delivered').length === 1;
  if (firstSuccess)
    deps.metrics.observe(
      Metric.WebhookDeliveryLatency,
      Date.parse(attempt.at) + attempt.latencyMs - Date.parse(delivery.occurredAt),
      'Milliseconds',
    );
  if (delivery.finalReason && !delivery.nextAttemptAt && outcome !== 'delivered')
    deps.metrics.count(Metric.WebhookDeliveriesGivenUp, 1, { reason: outcome === 'gone' ? 'gone' : 'window' });
}

/**
 * The endpoint's health after an attempt, each change one conditional write: a success ends a
 * failing run, a 410 disables it, a failure starts a run or, once the run has lasted the whole
 * retry window, disables it (alarmed, with the reason on the endpoint).
 */
async function keepHealth(
  deps: AttemptDeps,
  endpoint: WebhookEndpoint,
  attempt: WebhookAttempt,
  outcome: AttemptOutcome,
): Promise<void> {
  const now = deps.clock.now();
  const { endpointId } = endpoint;
  if (outcome === 'delivered') {
    if (endpoint.failingSince) await deps.repo.markWebhookEndpointHealthy(endpointId, now);
    return;
  }
  if (outcome === 'gone') return disabled(deps, endpoint, 'gone', goneReason(endpoint.url, now));
  const error = attempt.error ?? `HTTP ${attempt.statusCode}`;
  if (!endpoint.failingSince) {
    await deps.repo.markWebhookEndpointFailing(endpointId, now, error);
    return;
  }
  const { windowHours } = deps.webhooks.retry;
  const cutoff = new Date(now.getTime() - windowHours * 3_600_000);
  if (Date.parse(endpoint.failingSince) <= cutoff.getTime())
    await disabled(deps, endpoint, 'failing', failingReason(endpoint.failingSince, windowHours, error), cutoff);
}

async function disabled(
  deps: AttemptDeps,
  endpoint: WebhookEndpoint,
  why: 'gone' | 'failing',
  reason: string,
  failingBefore?: Date,
): Promise<void> {
  const changed = await deps.repo.disableWebhookEndpoint(endpoint.endpointId, deps.clock.now(), reason, failingBefore);
  if (!changed) return;
  deps.metrics.count(Metric.WebhookEndpointDisabled, 1, { reason: why });
  deps.logger.error('webhook endpoint disabled', { endpointId: endpoint.endpointId, url: endpoint.url, reason });
}
