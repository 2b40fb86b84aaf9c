import { describe, expect, it } from 'vitest';
import { createOrder, createPayment, parkForReview, transitionPayment, type Payment } from '../../../src/domain';
import { ReviewNotSettleableError } from '../../../src/domain/errors';
import type { PaymentNotification } from '../../../src/domain/notification';
import { settleReview } from '../../../src/domain/review';

const now = new Date('2026-11-25T04:00:00.000Z');
const later = new Date('2026-11-25T05:00:00.000Z');
const items = [{ sku: 'TEA', name: 'Tea', unitPrice: 500, quantity: 2, lineTotal: 1000 }];
const order = createOrder({ orderId: 'ord_1', customerId: 'c1', items, firstPaymentId: 'pay_1', now });
const created = createPayment({
  paymentId: 'pay_1',
  orderId: 'ord_1',
  customerId: 'c1',
  amount: 1000,
  method: 'wechat',
  now,
  timing: { ttlMinutes: 30, reminderMinutes: 5 },
});
const processing = transitionPayment(created, { to: 'processing', now, source: 'customer', reason: 'start' }).after;

const report = (over: Partial<PaymentNotification> = {}): PaymentNotification => ({
  provider: 'wechat',
  eventId: 'evt_1',
  paymentId: 'pay_1',
  providerTransactionId: '4200001',
  outcome: 'succeeded',
  amount: 1200,
  currency: 'CNY',
  occurredAt: now.toISOString(),
  providerStatus: 'SUCCESS',
  via: 'callback',
  ...over,
});
const parked = (payment: Payment, over: Partial<PaymentNotification> = {}) =>
  parkForReview(payment, { reason: 'amount differs', source: 'provider' }, now, report(over));
const note = { now: later, reason: 'checked the merchant console' };

describe('settling a payment parked for review (src/domain/review.ts)', () => {
  it('accepting more than the order: the order is paid, the excess owed back, the flag cleared', () => {
    const outcome = settleReview(parked(processing), order, 'accept', note);

    expect(outcome.payment).toMatchObject({ status: 'succeeded', amount: 1200, keptAmount: 1000 });
    expect(outcome.payment.needsReview).toBeUndefined();
    expect(outcome.payment.review).toBeUndefined();
    expect(outcome.order).toMatchObject({ status: 'paid', paidByPaymentId: 'pay_1' });
    expect(outcome.events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['PaymentSucceeded', 'OrderPaid']),
    );
  });

  it('accepting less than the order pays nothing: the money is owed back whole and the order may be paid again', () => {
    const outcome = settleReview(parked(processing, { amount: 600 }), order, 'accept', note);

    expect(outcome.payment).toMatchObject({ status: 'succeeded', amount: 600, keptAmount: 0, refundRequired: true });
    expect(outcome.order).toMatchObject({ status: 'pending' });
    expect(outcome.order?.openPaymentId).toBeUndefined();
  });

  it('refunding: the money is recorded as taken and owed back whole, the order not paid by it', () => {
    const outcome = settleReview(parked(processing), order, 'refund', note);

    expect(outcome.payment).toMatchObject({ status: 'succeeded', amount: 1200, keptAmount: 0, refundRequired: true });
    expect(outcome.payment.logs.at(-1)?.reason).toContain('refunded in full by staff: checked the merchant console');
    expect(outcome.order?.status).toBe('pending');
  });

  it('a payment that had succeeded: the provider amount replaces ours; refunding owes back all of it', () => {
    const paid = transitionPayment(processing, {
      to: 'succeeded',
      now,
      source: 'provider',
      reason: 'paid',
      set: { providerTransactionId: '4200001', paidAt: now.toISOString() },
    }).after;
    const accepted = settleReview(parked(paid), order, 'accept', note);
    const refunded = settleReview(parked(paid), order, 'refund', note);

    expect(accepted.payment).toMatchObject({ amount: 1200, keptAmount: 1000, version: paid.version + 2 });
    expect(accepted.payment.refundRequired).toBeUndefined();
    expect(refunded.payment).toMatchObject({ amount: 1200, keptAmount: 0, refundRequired: true });
    expect(accepted.events).toEqual([]);
  });

  it('refuses what cannot be taken as it stands: no report kept, not a success, another provider or currency', () => {
    const noReport = parkForReview(processing, { reason: 'x', source: 'provider' }, now);
    for (const payment of [
      noReport,
      parked(processing, { outcome: 'failed' }),
      parked(processing, { provider: 'alipay' }),
      parked(processing, { currency: 'USD' as 'CNY' }),
    ])
      expect(() => settleReview(payment, order, 'accept', note)).toThrow(ReviewNotSettleableError);
  });
});
