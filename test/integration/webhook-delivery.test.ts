import { randomBytes } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { localDataKeys } from '../../local/webhooks/local-keys';
import { type Receiver, startReceiver } from '../../local/webhooks/receiver';
import { LOCAL_NETWORK_POLICY } from '../../local/webhooks/runtime';
import { webhookSender } from '../../src/aws/webhook-sender';
import { Metric } from '../../src/core/kernel/metric-names';
import { DEFAULT_WEBHOOK_CONFIG } from '../../src/core/webhooks/config';
import { deliverEvent, handleAttemptRequest } from '../../src/core/webhooks/deliver';
import { createWebhookEndpoint, updateWebhookEndpoint } from '../../src/core/webhooks/endpoints';
import type { WebhookAttemptRequest, WebhookQueue } from '../../src/core/webhooks/ports';
import type { DomainEvent } from '../../src/domain/events';
import { createTestEnv, type TestEnv } from '../support/harness';

/**
 * Webhook delivery over three days on a test clock (src/core/webhooks/): the real table, the real
 * sender to a real receiver on this machine, the real envelope encryption with a test key; the
 * webhook queue is a list the test drains, moving the clock to each request's due time, so that
 * the whole retry window passes in a second.
 */
class ListQueue implements WebhookQueue {
  readonly pending: Array<{ request: WebhookAttemptRequest; delaySeconds: number }> = [];
  async enqueue(requests: readonly WebhookAttemptRequest[], delaySeconds: number) {
    for (const request of requests) this.pending.push({ request, delaySeconds });
  }
}

let env: TestEnv;
let queue: ListQueue;
let receiver: Receiver;
let status = 503;

beforeEach(async () => {
  queue = new ListQueue();
  status = 503;
  // Its signatures carry the test clock's time, which verification refuses as stale: verified elsewhere.
  receiver ??= await startReceiver({ respond: () => status, acceptUnverified: true });
  receiver.received.length = 0;
  env = await createTestEnv({
    webhookQueue: queue,
    webhookSender: webhookSender({ policy: LOCAL_NETWORK_POLICY }),
    webhookKeys: localDataKeys(randomBytes(32)),
    webhooks: { ...DEFAULT_WEBHOOK_CONFIG, orderHoldMs: 0, timeoutMs: 2_000 },
  });
});

afterAll(async () => {
  await receiver?.stop();
});

let sequence = 0;
const orderCreated = (): DomainEvent => {
  sequence++;
  return {
    id: `ord_${sequence}:OrderCreated:1`,
    type: 'OrderCreated',
    occurredAt: env.clock.now().toISOString(),
    detail: { orderId: `ord_${sequence}`, customerId: 'cust_1' },
  };
};

async function registered() {
  const { endpoint, secret } = await createWebhookEndpoint(env.deps, { url: receiver.url });
  receiver.setSecrets([secret]);
  return endpoint.endpointId;
}

/** Runs every queued request at its due time (hops included), in due order, until none is left. */
let longestDelay = 0;
async function drain(): Promise<string[]> {
  const results: string[] = [];
  while (queue.pending.length > 0) {
    queue.pending.sort((a, b) => Date.parse(a.request.dueAt) - Date.parse(b.request.dueAt));
    const { request, delaySeconds } = queue.pending.shift()!;
    longestDelay = Math.max(longestDelay, delaySeconds);
    env.clock.advance(delaySeconds * 1000);
    results.push(await handleAttemptRequest(env.deps, request));
  }
  return results;
}

describe('webhook delivery over the retry window', () => {
  it('retries a failing delivery for 3 days (11 to 13 retries, jittered), each hop at most 15 minutes, then gives up saying why', async () => {
    const endpointId = await registered();
    const event = orderCreated();

    await deliverEvent(env.deps, event, await env.repo.listWebhookEndpoints());
    const outcomes = await drain();

    const attempts = receiver.received.length;
    expect(attempts).toBeGreaterThanOrEqual(12);
    expect(attempts).toBeLessThanOrEqual(14);
    expect(new Set(receiver.received.map((received) => received.webhookId))).toEqual(new Set([event.id]));
    expect(receiver.received.every((received) => received.signature.startsWith('v1,'))).toBe(true);
    expect(outcomes.filter((outcome) => outcome === 'attempted')).toHaveLength(attempts - 1);
    // Every wait longer than SQS's 15-minute delay was re-enqueued hop by hop.
    expect(outcomes.filter((outcome) => outcome === 'hopped').length).toBeGreaterThan(200);
    const [delivery] = (await env.repo.listWebhookDeliveries(endpointId, { limit: 1 })).items;
    expect(delivery).toMatchObject({
      status: 'failed',
      attemptCount: attempts,
      finalReason: 'gave up: no success within 72 h',
    });
    expect(longestDelay).toBe(900);
    expect(delivery!.nextAttemptAt).toBeUndefined();
    expect(Date.parse(delivery!.attempts.at(-1)!.at) - Date.parse(event.occurredAt)).toBeLessThanOrEqual(
      72 * 3_600_000,
    );
    expect(env.metrics.total(Metric.WebhookDeliveriesGivenUp, { reason: 'window' })).toBe(1);
  });

  it('disables an endpoint whose attempts have all failed for 3 days, says why, and stops its queued retries', async () => {
    const endpointId = await registered();
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());
    expect((await env.repo.getWebhookEndpoint(endpointId))!.failingSince).toBe(env.clock.now().toISOString());

    env.clock.advance(72 * 3_600_000 + 60_000);
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());

    const endpoint = (await env.repo.getWebhookEndpoint(endpointId))!;
    expect(endpoint.enabled).toBe(false);
    expect(endpoint.disabledReason).toMatch(
      /^every attempt since .* failed \(72 h without a success\); last: HTTP 503$/,
    );
    expect(env.metrics.total(Metric.WebhookEndpointDisabled, { reason: 'failing' })).toBe(1);
    const before = receiver.received.length;
    const outcomes = await drain();
    expect(receiver.received).toHaveLength(before);
    expect(outcomes).toContain('stopped');
  });

  it('clears the failing run on a success: an endpoint that recovers within the window is not disabled', async () => {
    const endpointId = await registered();
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());
    env.clock.advance(71 * 3_600_000);
    status = 204;
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());
    status = 503;
    env.clock.advance(2 * 3_600_000);
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());

    const endpoint = (await env.repo.getWebhookEndpoint(endpointId))!;
    expect(endpoint.enabled).toBe(true);
    expect(endpoint.failingSince).toBe(env.clock.now().toISOString());
  });

  it('starts afresh when an administrator enables a disabled endpoint', async () => {
    const endpointId = await registered();
    status = 410;
    await deliverEvent(env.deps, orderCreated(), await env.repo.listWebhookEndpoints());
    expect((await env.repo.getWebhookEndpoint(endpointId))!.disabledReason).toContain('410 Gone');

    const { endpoint } = await updateWebhookEndpoint(env.deps, endpointId, { enabled: true });

    expect(endpoint).toMatchObject({ enabled: true });
    expect(endpoint).not.toHaveProperty('disabledReason');
    expect(endpoint).not.toHaveProperty('failingSince');
  });

  it('delivers the events of one order in the order they happened, though the bus brought them reversed and at once', async () => {
    status = 204;
    env.deps.webhooks = { ...env.deps.webhooks, orderHoldMs: 300 };
    await registered();
    const at = env.clock.now().toISOString();
    const detail = { orderId: 'ord_sequence', customerId: 'cust_1', paymentId: 'pay_sequence' };
    // One transaction's events: PaymentSucceeded before OrderPaid (DOMAIN_EVENT_TYPES' order), the same instant.
    const succeeded: DomainEvent = {
      id: 'pay_sequence:PaymentSucceeded:2',
      type: 'PaymentSucceeded',
      occurredAt: at,
      detail,
    };
    const paid: DomainEvent = { id: 'ord_sequence:OrderPaid:2', type: 'OrderPaid', occurredAt: at, detail };
    const endpoints = await env.repo.listWebhookEndpoints();

    await Promise.all([deliverEvent(env.deps, paid, endpoints), deliverEvent(env.deps, succeeded, endpoints)]);

    expect(receiver.received.map((received) => received.webhookId)).toEqual([succeeded.id, paid.id]);
  });
});
