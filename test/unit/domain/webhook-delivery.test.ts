import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  MAX_KEPT_ATTEMPTS,
  newDelivery,
  outcomeOf,
  retryDelaySeconds,
  stopped,
  type WebhookAttempt,
  type WebhookDelivery,
  withAttempt,
} from '../../../src/domain/webhook-delivery';
import type { DomainEvent } from '../../../src/domain/events';

const T0 = new Date('2026-11-25T04:00:00.000Z');
const event: DomainEvent = {
  id: 'ord_1:OrderPaid:2',
  type: 'OrderPaid',
  occurredAt: T0.toISOString(),
  detail: { orderId: 'ord_1', customerId: 'alice', amount: 12_800, paymentId: 'pay_1' },
};
const fresh = () => newDelivery({ deliveryId: 'whd_1', endpointId: 'whe_1', event }, T0);
const failure = (at: Date, trigger: WebhookAttempt['trigger'] = 'event'): WebhookAttempt => ({
  at: at.toISOString(),
  trigger,
  statusCode: 503,
  latencyMs: 12,
});
const success = (at: Date, trigger: WebhookAttempt['trigger'] = 'event'): WebhookAttempt => ({
  at: at.toISOString(),
  trigger,
  statusCode: 204,
  latencyMs: 9,
});
const after = (delivery: WebhookDelivery, attempt: WebhookAttempt, random = 0.5) =>
  withAttempt(delivery, attempt, { now: new Date(attempt.at), policy: DEFAULT_RETRY_POLICY, random });

describe('the retry schedule (src/domain/webhook-delivery.ts)', () => {
  it('waits about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h again and again', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((failures) => retryDelaySeconds(failures, DEFAULT_RETRY_POLICY, 0.5));
    expect(waits).toEqual([5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000, 36_000]);
  });

  it('varies each wait by at most ±20 %, never below a second', () => {
    expect(retryDelaySeconds(1, DEFAULT_RETRY_POLICY, 0)).toBe(4);
    expect(retryDelaySeconds(1, DEFAULT_RETRY_POLICY, 0.999_999)).toBe(6);
    expect(retryDelaySeconds(2, DEFAULT_RETRY_POLICY, 0)).toBe(240);
    expect(retryDelaySeconds(2, DEFAULT_RETRY_POLICY, 0.999_999)).toBe(360);
    expect(retryDelaySeconds(1, { scheduleSeconds: [1], windowHours: 1 }, 0)).toBe(1);
  });

  it('retries a failing delivery 11 times after its first attempt, the last within 3 days of the event, then gives up', () => {
    let delivery = fresh();
    let at = T0;
    const attemptTimes: string[] = [];
    for (;;) {
      attemptTimes.push(at.toISOString());
      delivery = after(delivery, failure(at));
      if (!delivery.nextAttemptAt) break;
      at = new Date(delivery.nextAttemptAt);
    }
    expect(attemptTimes).toHaveLength(12);
    expect(attemptTimes.slice(0, 4)).toEqual([
      '2026-11-25T04:00:00.000Z',
      '2026-11-25T04:00:05.000Z',
      '2026-11-25T04:05:05.000Z',
      '2026-11-25T04:35:05.000Z',
    ]);
    expect(Date.parse(attemptTimes.at(-1)!) - T0.getTime()).toBeLessThanOrEqual(72 * 3_600_000);
    expect(delivery).toMatchObject({
      status: 'failed',
      attemptCount: 12,
      finalReason: 'gave up: no success within 72 h',
    });
  });

  it('takes a shortened schedule as given (WEBHOOK_RETRY_SCHEDULE_SECONDS in tests)', () => {
    const policy = { scheduleSeconds: [1, 2], windowHours: 1 };
    const once = withAttempt(fresh(), failure(T0), { now: T0, policy, random: 0.5 });
    expect(once.nextAttemptAt).toBe('2026-11-25T04:00:01.000Z');
    const twice = withAttempt(once, failure(new Date(once.nextAttemptAt!)), {
      now: new Date(once.nextAttemptAt!),
      policy,
      random: 0.5,
    });
    expect(twice.nextAttemptAt).toBe('2026-11-25T04:00:03.000Z');
  });
});

describe('a delivery after an attempt', () => {
  it('is delivered by a 2xx and schedules nothing', () => {
    const failed = after(fresh(), failure(T0));
    const delivered = after(failed, success(new Date(failed.nextAttemptAt!), 'retry'));
    expect(delivered).toMatchObject({ status: 'delivered', attemptCount: 2, version: 3 });
    expect(delivered).not.toHaveProperty('nextAttemptAt');
  });

  it('stays delivered when a later replay fails', () => {
    const delivered = after(fresh(), success(T0));
    expect(after(delivered, failure(new Date(T0.getTime() + 60_000), 'replay')).status).toBe('delivered');
  });

  it('keeps the retry already planned when a replay fails, and plans none of its own', () => {
    const failed = after(fresh(), failure(T0));
    const replayed = after(failed, failure(new Date(T0.getTime() + 1000), 'replay'));
    expect(replayed.nextAttemptAt).toBe(failed.nextAttemptAt);
    const gaveUp = stopped(failed, 'endpoint deleted', T0);
    expect(after(gaveUp, failure(T0, 'replay'))).not.toHaveProperty('nextAttemptAt');
  });

  it('stops at a 410 Gone, saying why', () => {
    const gone = after(fresh(), { ...failure(T0), statusCode: 410 });
    expect(gone).toMatchObject({ status: 'failed', finalReason: 'the endpoint answered 410 Gone and was disabled' });
    expect(gone).not.toHaveProperty('nextAttemptAt');
  });

  it('counts a redirect, a 4xx, a timeout as failures; only 2xx delivers', () => {
    expect(outcomeOf({ statusCode: 302, error: 'redirects are not followed' })).toBe('failed');
    expect(outcomeOf({ statusCode: 400 })).toBe('failed');
    expect(outcomeOf({ error: 'timed out after 10000 ms' })).toBe('failed');
    expect(outcomeOf({ statusCode: 299 })).toBe('delivered');
    expect(outcomeOf({ statusCode: 410 })).toBe('gone');
  });

  it('keeps the latest 50 attempts and counts them all', () => {
    let delivery = after(fresh(), success(T0));
    for (let i = 1; i <= 60; i++) delivery = after(delivery, success(new Date(T0.getTime() + i * 1000), 'replay'));
    expect(delivery.attempts).toHaveLength(MAX_KEPT_ATTEMPTS);
    expect(delivery.attemptCount).toBe(61);
    expect(delivery.attempts.at(-1)!.at).toBe(new Date(T0.getTime() + 60_000).toISOString());
  });

  it('carries the exact body it sends: {type, id, timestamp, data}', () => {
    expect(JSON.parse(fresh().payload)).toEqual({
      type: 'OrderPaid',
      id: 'ord_1:OrderPaid:2',
      timestamp: '2026-11-25T04:00:00.000Z',
      data: event.detail,
    });
    expect(fresh()).toMatchObject({ orderId: 'ord_1', status: 'pending', attemptCount: 0 });
  });
});
