import { describe, expect, it } from 'vitest';
import {
  createOrder,
  createPayment,
  InvalidTransitionError,
  ORDER_STATUS_AFTER_PAYMENT,
  settlePayment,
  transitionPayment,
} from '../../../src/domain';

const now = new Date('2026-11-25T04:00:00.000Z');
const items = [{ sku: 'TEA', name: 'Tea', unitPrice: 500, quantity: 2, lineTotal: 1000 }];
const order = createOrder({ orderId: 'ord_1', customerId: 'c1', items, firstPaymentId: 'pay_1', now });
const payment = createPayment({
  paymentId: 'pay_1',
  orderId: 'ord_1',
  customerId: 'c1',
  amount: 1000,
  method: 'alipay',
  now,
  timing: { ttlMinutes: 30, reminderMinutes: 5 },
});
const processing = transitionPayment(payment, { to: 'processing', now, source: 'customer', reason: 'start' }).after;

describe('order sync (docs/API.md#order-statuses)', () => {
  it('succeeded pays the order; failed, cancelled and expired leave it pending', () => {
    expect(ORDER_STATUS_AFTER_PAYMENT).toEqual({
      succeeded: 'paid',
      failed: 'pending',
      cancelled: 'pending',
      expired: 'pending',
    });
    const paid = settlePayment(processing, order, { to: 'succeeded', now, source: 'provider', reason: 'ok' });
    expect(paid.kind === 'applied' && paid.order?.status).toBe('paid');
    expect(paid.kind === 'applied' && paid.order?.openPaymentId).toBeUndefined();
    expect(paid.kind === 'applied' && paid.events.map((e) => e.type)).toEqual(['PaymentSucceeded', 'OrderPaid']);
    for (const to of ['failed', 'cancelled', 'expired'] as const) {
      const result = settlePayment(processing, order, { to, now, source: 'provider', reason: 'x' });
      expect(result.kind).toBe('applied');
      if (result.kind !== 'applied') continue;
      expect(result.order?.status).toBe('pending');
      expect(result.order?.openPaymentId).toBeUndefined();
      expect(result.order?.unpaidSince).toBe(now.toISOString());
    }
  });

  it('a failure after a success is recorded in the log, not applied', () => {
    const paid = { ...processing, status: 'succeeded' as const };
    const result = settlePayment(paid, order, { to: 'failed', now, source: 'provider', reason: 'late failure' });
    expect(result.kind).toBe('ignored');
    if (result.kind !== 'ignored') return;
    expect(result.payment.status).toBe('succeeded');
    expect(result.payment.logs.at(-1)).toMatchObject({ from: 'succeeded', to: 'succeeded' });
    expect(result.payment.logs.at(-1)?.reason).toContain('ignored failed');
  });

  it('a customer asking for an illegal transition gets the typed error', () => {
    expect(() =>
      settlePayment({ ...processing, status: 'succeeded' }, order, {
        to: 'cancelled',
        now,
        source: 'customer',
        reason: 'x',
      }),
    ).toThrow(InvalidTransitionError);
  });

  it('late success on an expired payment still pays a pending order, flagged', () => {
    const expired = { ...processing, status: 'expired' as const };
    const result = settlePayment(
      expired,
      { ...order, openPaymentId: undefined },
      { to: 'succeeded', now, source: 'provider', reason: 'paid at 29:59' },
    );
    expect(result.kind === 'applied' && result).toMatchObject({ late: true, refundRequired: false, duplicate: false });
    expect(result.kind === 'applied' && result.order?.status).toBe('paid');
    expect(result.kind === 'applied' && result.events.map((e) => e.type)).toEqual([
      'PaymentSucceeded',
      'LatePaymentReceived',
      'OrderPaid',
    ]);
  });

  it('late success when another payment already paid the order: succeeded + refundRequired + DuplicatePaymentDetected', () => {
    const paidOrder = { ...order, status: 'paid' as const, paidByPaymentId: 'pay_2', openPaymentId: undefined };
    const result = settlePayment({ ...processing, status: 'cancelled' }, paidOrder, {
      to: 'succeeded',
      now,
      source: 'provider',
      reason: 'paid',
    });
    expect(result.kind).toBe('applied');
    if (result.kind !== 'applied') return;
    expect(result.payment).toMatchObject({ status: 'succeeded', refundRequired: true, latePayment: true });
    expect(result.order).toBeUndefined();
    expect(result.events.map((e) => e.type)).toEqual([
      'PaymentSucceeded',
      'LatePaymentReceived',
      'DuplicatePaymentDetected',
    ]);
  });

  it('a success under another provider transaction on a succeeded payment is an extra capture: kept, flagged for refund, announced', () => {
    const paid = settlePayment(processing, order, {
      to: 'succeeded',
      now,
      source: 'provider',
      reason: 'ok',
      providerTransactionId: 'txn-1',
    });
    if (paid.kind !== 'applied') throw new Error('expected the success to apply');
    const again = settlePayment(paid.payment, paid.order!, {
      to: 'succeeded',
      now,
      source: 'provider',
      reason: 'SUCCEEDED',
      ref: 'evt-2',
      providerTransactionId: 'txn-2',
      amount: 1000,
    });

    expect(again.kind).toBe('extra_capture');
    if (again.kind !== 'extra_capture') return;
    expect(again.payment).toMatchObject({
      status: 'succeeded',
      providerTransactionId: 'txn-1',
      refundRequired: true,
      extraCaptures: [{ providerTransactionId: 'txn-2', amount: 1000, eventId: 'evt-2' }],
    });
    expect(again.events.map((e) => [e.type, e.detail.appliedTransactionId])).toEqual([
      ['DuplicatePaymentDetected', 'txn-1'],
    ]);
    for (const known of ['txn-1', 'txn-2', undefined]) {
      expect(
        settlePayment(again.payment, paid.order!, {
          to: 'succeeded',
          now,
          source: 'provider',
          reason: 'again',
          providerTransactionId: known,
        }),
      ).toEqual({
        kind: 'unchanged',
      });
    }
  });

  it('re-applying the state a payment is already in changes nothing', () => {
    expect(
      settlePayment({ ...processing, status: 'succeeded' }, order, {
        to: 'succeeded',
        now,
        source: 'provider',
        reason: 'again',
      }),
    ).toEqual({
      kind: 'unchanged',
    });
  });

  it('names a still-open other payment that a late success superseded', () => {
    const expired = { ...processing, status: 'expired' as const };
    const result = settlePayment(
      expired,
      { ...order, openPaymentId: 'pay_2' },
      { to: 'succeeded', now, source: 'provider', reason: 'late' },
    );
    expect(result.kind === 'applied' && result.supersededPaymentId).toBe('pay_2');
  });
});
