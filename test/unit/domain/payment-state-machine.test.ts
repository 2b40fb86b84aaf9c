import { describe, expect, it } from 'vitest';
import {
  createPayment,
  effectiveStatus,
  InvalidTransitionError,
  nextSweepAt,
  parkForReview,
  PAYMENT_STATUSES,
  type PaymentStatus,
  scheduleNextLook,
  type TransitionSource,
  transitionPayment,
} from '../../../src/domain';

const now = new Date('2026-11-25T04:00:00.000Z');
const base = createPayment({
  paymentId: 'pay_1',
  orderId: 'ord_1',
  customerId: 'c1',
  amount: 100,
  method: 'wechat',
  now,
  timing: { ttlMinutes: 30, reminderMinutes: 5 },
});
const inState = (status: PaymentStatus) => ({ ...base, status });

/** The seed's diagram plus the money-protecting exception, written out pair by pair. */
const ALLOWED: Record<string, TransitionSource[]> = {
  'init>processing': ['customer', 'provider', 'sweeper', 'system'],
  'init>cancelled': ['customer', 'provider', 'sweeper', 'system'],
  'init>expired': ['customer', 'provider', 'sweeper', 'system'],
  'init>succeeded': ['provider'],
  'processing>succeeded': ['customer', 'provider', 'sweeper', 'system'],
  'processing>failed': ['customer', 'provider', 'sweeper', 'system'],
  'processing>cancelled': ['customer', 'provider', 'sweeper', 'system'],
  'processing>expired': ['customer', 'provider', 'sweeper', 'system'],
  'failed>succeeded': ['provider'],
  'cancelled>succeeded': ['provider'],
  'expired>succeeded': ['provider'],
};
const SOURCES: TransitionSource[] = ['customer', 'provider', 'sweeper', 'system'];

describe('payment state machine', () => {
  const pairs = PAYMENT_STATUSES.flatMap((from) => PAYMENT_STATUSES.map((to) => [from, to] as const));

  it.each(pairs)('%s -> %s is either allowed by the table or a typed error naming both states', (from, to) => {
    for (const source of SOURCES) {
      const allowed = ALLOWED[`${from}>${to}`]?.includes(source) ?? false;
      const attempt = () => transitionPayment(inState(from), { to, now, source, reason: 'test' });
      if (allowed) {
        const { after, entry } = attempt();
        expect(after.status).toBe(to);
        expect(entry).toMatchObject({ from, to, source, reason: 'test' });
      } else {
        expect(attempt).toThrow(InvalidTransitionError);
        try {
          attempt();
        } catch (error) {
          expect((error as InvalidTransitionError).details).toEqual({ entity: 'payment', from, to });
          expect((error as Error).message).toContain(from);
          expect((error as Error).message).toContain(to);
        }
      }
    }
  });

  it('terminal states never change except by a provider-confirmed success, which is flagged late', () => {
    for (const from of ['failed', 'cancelled', 'expired'] as const) {
      const { after, late } = transitionPayment(inState(from), {
        to: 'succeeded',
        now,
        source: 'provider',
        reason: 'paid',
      });
      expect(late).toBe(true);
      expect(after.latePayment).toBe(true);
    }
    expect(() =>
      transitionPayment(inState('succeeded'), { to: 'failed', now, source: 'provider', reason: 'x' }),
    ).toThrow(InvalidTransitionError);
  });

  it('a success applied at or after the expiry of an open payment is late: it already read expired', () => {
    const started = transitionPayment(base, { to: 'processing', now, source: 'customer', reason: 'checkout' }).after;
    const inTime = transitionPayment(started, {
      to: 'succeeded',
      now: new Date('2026-11-25T04:29:59.999Z'),
      source: 'provider',
      reason: 'paid',
    });
    const atExpiry = transitionPayment(started, {
      to: 'succeeded',
      now: new Date(started.expiresAt),
      source: 'provider',
      reason: 'paid',
    });
    expect([inTime.late, inTime.after.latePayment]).toEqual([false, undefined]);
    expect([atExpiry.late, atExpiry.after.latePayment]).toEqual([true, true]);
  });

  it('appends to the log, bumps the version, and never rewrites earlier entries', () => {
    const started = transitionPayment(base, {
      to: 'processing',
      now,
      source: 'customer',
      reason: 'checkout created',
    }).after;
    const paid = transitionPayment(started, {
      to: 'succeeded',
      now,
      source: 'provider',
      reason: 'paid',
      ref: 'evt-1',
    }).after;
    expect(paid.version).toBe(base.version + 2);
    expect(paid.logs.slice(0, started.logs.length)).toEqual(started.logs);
    expect(paid.logs.map((entry) => [entry.from, entry.to])).toEqual([
      [null, 'init'],
      ['init', 'processing'],
      ['processing', 'succeeded'],
    ]);
    expect(paid.logs.at(-1)).toMatchObject({ ref: 'evt-1', source: 'provider' });
  });

  it('keeps the pay URL while the payment is processing and drops it once the payment ends', () => {
    const payUrl = 'https://bank.example/checkout?payment_id=pay_1&signature=abc';
    const started = transitionPayment(base, {
      to: 'processing',
      now,
      source: 'customer',
      reason: 'checkout created',
      set: { payUrl },
    }).after;
    expect(started.payUrl).toBe(payUrl);
    expect(scheduleNextLook(started, now, 60_000).payUrl).toBe(payUrl);

    for (const to of ['succeeded', 'failed', 'cancelled', 'expired'] as const) {
      const ended = transitionPayment(started, { to, now, source: 'provider', reason: 'settled' }).after;
      expect(ended).toMatchObject({
        status: to,
        amount: started.amount,
        logs: [...started.logs, expect.objectContaining({ to })],
      });
      expect(ended).not.toHaveProperty('payUrl');
    }
  });

  it('expires after the TTL, reminds N minutes before, and leaves the sweeper index when terminal', () => {
    expect(base.expiresAt).toBe('2026-11-25T04:30:00.000Z');
    expect(base.remindAt).toBe('2026-11-25T04:25:00.000Z');
    expect(nextSweepAt(base)).toBe(base.remindAt);
    const expired = transitionPayment(base, { to: 'expired', now, source: 'sweeper', reason: 'ttl' }).after;
    expect(nextSweepAt(expired)).toBeUndefined();
    expect(expired.remindAt).toBeUndefined();
  });

  it('reads an open payment past expiry as expired before any sweeper ran, except one parked for review', () => {
    expect(effectiveStatus(base, new Date('2026-11-25T04:29:59.999Z'))).toBe('init');
    expect(effectiveStatus(base, new Date('2026-11-25T04:30:00.000Z'))).toBe('expired');
    expect(effectiveStatus({ ...base, status: 'succeeded' }, new Date('2026-11-26T00:00:00Z'))).toBe('succeeded');
    const parked = parkForReview(inState('processing'), { reason: 'amount_mismatch', source: 'provider' }, now);
    expect(effectiveStatus(parked, new Date('2026-11-26T00:00:00Z'))).toBe('processing');
  });

  it('parks a payment for review: flagged with the reason, logged, out of the sweeper, still in its status', () => {
    const started = { ...inState('processing'), nextQueryAt: '2026-11-25T04:01:00.000Z' };
    const parked = parkForReview(started, { reason: 'amount_mismatch: 101 fen', source: 'provider', ref: 'q-1' }, now);
    expect(parked).toMatchObject({
      status: 'processing',
      needsReview: true,
      reviewReason: 'amount_mismatch: 101 fen',
      version: started.version + 1,
    });
    expect(parked.logs.at(-1)).toMatchObject({
      from: 'processing',
      to: 'processing',
      ref: 'q-1',
      reason: 'parked for review: amount_mismatch: 101 fen',
    });
    expect(nextSweepAt(started)).toBe('2026-11-25T04:01:00.000Z');
    expect(nextSweepAt(parked)).toBeUndefined();
  });

  it('schedules the next look at a started payment no later than its expiry, and the whole delay after it', () => {
    const started = { ...inState('processing'), nextQueryAt: '2026-11-25T04:01:00.000Z' };
    const at = (iso: string) => new Date(iso);
    expect(scheduleNextLook(started, at('2026-11-25T04:10:00.000Z'), 300_000).nextQueryAt).toBe(
      '2026-11-25T04:15:00.000Z',
    );
    expect(scheduleNextLook(started, at('2026-11-25T04:28:00.000Z'), 300_000).nextQueryAt).toBe(started.expiresAt);
    const retry = scheduleNextLook(started, at('2026-11-25T04:30:00.000Z'), 60_000);
    expect(retry.nextQueryAt).toBe('2026-11-25T04:31:00.000Z');
    expect(retry.remindAt).toBeUndefined();
    expect(nextSweepAt(retry)).toBe('2026-11-25T04:31:00.000Z');
  });
});
