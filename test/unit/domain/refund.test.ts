import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRefund,
  DEFAULT_REFUND_POLICY,
  externalRefundRefusal,
  InvalidTransitionError,
  MAX_REFUNDS_PER_PAYMENT,
  nextRefundAttemptAt,
  type Order,
  orderWithRestock,
  type Payment,
  type Refund,
  REFUND_STATUSES,
  REFUND_TRANSITIONS,
  RestockExceedsOrderError,
  refundableAmount,
  refundAmountFor,
  refundEnded,
  type RefundStatus,
  refundStatusEvents,
  transitionRefund,
} from '../../../src/domain';
import { newPurchase } from '../../support/domain-fixtures';
import { DEMO_PRODUCTS } from '../../support/demo-products';

const now = new Date('2026-11-25T04:00:00.000Z');
const purchase = newPurchase({
  orderId: 'ord_1',
  paymentId: 'pay_1',
  items: [{ sku: 'TEA-001', quantity: 1 }],
  catalogue: DEMO_PRODUCTS,
  now,
});
const paid: Payment = {
  ...purchase.payment,
  status: 'succeeded',
  paidAt: now.toISOString(),
  providerTransactionId: 'tx_1',
};
const paidOrderOf: Order = { ...purchase.order, status: 'paid', paidByPaymentId: 'pay_1', paidAt: now.toISOString() };
const refundOf = (amount: number, status: RefundStatus = 'pending') => ({
  ...createRefund({
    refundId: `ref_${amount}`,
    payment: paid,
    amount,
    origin: 'admin',
    sendAt: now.toISOString(),
    now,
  }),
  status,
});

describe('refund state machine', () => {
  const ALLOWED = new Set([
    'pending>processing',
    'pending>succeeded',
    'pending>failed',
    'pending>abnormal',
    'processing>succeeded',
    'processing>failed',
    'processing>abnormal',
    // Re-submitted after a person's retry (WeChat's abnormal-refund re-submission).
    'abnormal>processing',
    'abnormal>succeeded',
    'abnormal>failed',
  ]);
  for (const from of REFUND_STATUSES)
    for (const to of REFUND_STATUSES) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        const change = () => transitionRefund(refundOf(100, from), { to, now, reason: 'test' });
        if (allowed) expect(change().status).toBe(to);
        else expect(change).toThrow(InvalidTransitionError);
      });
    }

  it('ended refunds leave the sweeper (no next attempt) and a success records when', () => {
    const done = transitionRefund(refundOf(100), { to: 'succeeded', now, reason: 'provider says so' });
    expect(done.nextAttemptAt).toBeUndefined();
    expect(done.succeededAt).toBe(now.toISOString());
    expect(done.logs.map((entry) => `${entry.from}>${entry.to}`)).toEqual(['null>pending', 'pending>succeeded']);
    expect(REFUND_TRANSITIONS.succeeded).toEqual([]);
    expect(REFUND_TRANSITIONS.failed).toEqual([]);
  });

  it('backs off queries after the fifth and queries an abnormal refund hourly', () => {
    const minutesAfter = (at: string) => (Date.parse(at) - now.getTime()) / 60_000;
    expect(minutesAfter(nextRefundAttemptAt({ status: 'processing', attempts: 1 }, now))).toBe(1);
    expect(minutesAfter(nextRefundAttemptAt({ status: 'processing', attempts: 7 }, now))).toBe(4);
    expect(minutesAfter(nextRefundAttemptAt({ status: 'processing', attempts: 30 }, now))).toBe(60);
    expect(minutesAfter(nextRefundAttemptAt({ status: 'abnormal', attempts: 1 }, now))).toBe(60);
  });
});

describe('what may be refunded', () => {
  const policy = DEFAULT_REFUND_POLICY;
  it('defaults to everything left, refuses more than is left, a payment not succeeded, a closed window and the 51st refund', () => {
    expect(refundAmountFor({ ...paid, refundReserved: 300 }, undefined, now, policy)).toBe(paid.amount - 300);
    expect(() => refundAmountFor({ ...paid, refundReserved: 300 }, paid.amount - 299, now, policy)).toThrow(
      expect.objectContaining({ code: 'REFUND_EXCEEDS_REFUNDABLE' }),
    );
    expect(() => refundAmountFor({ ...paid, refundReserved: paid.amount }, undefined, now, policy)).toThrow(
      expect.objectContaining({ code: 'REFUND_EXCEEDS_REFUNDABLE' }),
    );
    expect(() => refundAmountFor({ ...paid, status: 'processing' }, 1, now, policy)).toThrow(
      expect.objectContaining({ code: 'PAYMENT_NOT_REFUNDABLE' }),
    );
    const yearLater = new Date(now.getTime() + 365 * 86_400_000);
    expect(() => refundAmountFor(paid, 1, yearLater, policy)).toThrow(
      expect.objectContaining({ code: 'REFUND_WINDOW_CLOSED' }),
    );
    expect(refundAmountFor(paid, 1, new Date(yearLater.getTime() - 1), policy)).toBe(1);
    const full = { ...paid, refundIds: Array.from({ length: MAX_REFUNDS_PER_PAYMENT }, (_, i) => `ref_${i}`) };
    expect(() => refundAmountFor(full, 1, now, policy)).toThrow(
      expect.objectContaining({ code: 'REFUND_LIMIT_REACHED' }),
    );
    expect(() => refundAmountFor(paid, 0, now, policy)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('property: any sequence of requests reserves at most the amount, refundable is never negative, and it equals amount − reserved', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }), { maxLength: 60 }),
        (amount, requests) => {
          let payment: Payment = { ...paid, amount, refundReserved: 0, refundIds: [] };
          for (const [i, requested] of requests.entries()) {
            let granted: number;
            try {
              granted = refundAmountFor(payment, requested, now, policy);
            } catch {
              continue;
            }
            expect(granted).toBeLessThanOrEqual(refundableAmount(payment));
            payment = {
              ...payment,
              refundReserved: (payment.refundReserved ?? 0) + granted,
              refundIds: [...payment.refundIds!, `ref_${i}`],
            };
          }
          expect(payment.refundReserved).toBeLessThanOrEqual(amount);
          expect(refundableAmount(payment)).toBe(amount - payment.refundReserved!);
          expect(payment.refundIds!.length).toBeLessThanOrEqual(MAX_REFUNDS_PER_PAYMENT);
        },
      ),
    );
  });

  it('property: ending refunds in any order and outcome leaves reserved = sum not failed and refunded = sum succeeded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2_000 }), fc.boolean()), { minLength: 1, maxLength: 10 }),
        (plans) => {
          const total = plans.reduce((sum, [amount]) => sum + amount, 0);
          let payment: Payment = { ...paid, amount: total, refundReserved: total };
          let order: Order = { ...paidOrderOf, totalAmount: total };
          for (const [amount, succeeds] of plans) {
            const ended = transitionRefund(refundOf(amount), {
              to: succeeds ? 'succeeded' : 'failed',
              now,
              reason: 'test',
            });
            const after = refundEnded(ended, payment, order, now);
            payment = after.payment;
            order = after.order ?? order;
          }
          const succeeded = plans.filter(([, ok]) => ok).reduce((sum, [amount]) => sum + amount, 0);
          expect(payment.refundReserved).toBe(succeeded);
          expect(payment.refundedAmount ?? 0).toBe(succeeded);
          expect(order.status).toBe(succeeded === total ? 'refunded' : 'paid');
          expect(refundableAmount(payment)).toBe(total - succeeded);
        },
      ),
    );
  });
});

describe('a refund ending', () => {
  it('a success that completes the paid amount refunds the order and announces both', () => {
    const partly = { ...paid, refundReserved: paid.amount, refundedAmount: 100 };
    const order = { ...paidOrderOf, refundedAmount: 100 };
    const ended = transitionRefund(refundOf(paid.amount - 100), { to: 'succeeded', now, reason: 'test' });
    const after = refundEnded(ended, partly, order, now);
    expect(after.order).toMatchObject({ status: 'refunded', refundedAmount: paid.amount, version: order.version + 1 });
    expect(after.payment).toMatchObject({
      refundedAmount: paid.amount,
      refundReserved: paid.amount,
      status: 'succeeded',
    });
    expect(refundStatusEvents(ended, after.order, order).map((event) => event.type)).toEqual([
      'RefundSucceeded',
      'OrderRefunded',
    ]);
  });

  it('a refund of a payment that did not pay the order (a duplicate) leaves the order alone', () => {
    const duplicate = { ...paid, paymentId: 'pay_2', refundReserved: paid.amount };
    const ended = transitionRefund(
      { ...refundOf(paid.amount), paymentId: 'pay_2' },
      { to: 'succeeded', now, reason: 'test' },
    );
    expect(refundEnded(ended, duplicate, paidOrderOf, now).order).toBeUndefined();
  });
});

describe('restock on a refund', () => {
  const twoTins: Order = { ...paidOrderOf, items: [{ ...paidOrderOf.items[0]!, quantity: 2 }] };

  it('reserves on the order at most what it took less what refunds not failed return, per SKU', () => {
    const once = orderWithRestock(twoTins, 'pay_1', [{ sku: 'TEA-001', quantity: 1 }], now);
    expect(once).toMatchObject({ restockReserved: { 'TEA-001': 1 }, version: twoTins.version + 1 });
    const twice = orderWithRestock(once, 'pay_1', [{ sku: 'TEA-001', quantity: 1 }], now);
    expect(twice.restockReserved).toEqual({ 'TEA-001': 2 });
    expect(() => orderWithRestock(twice, 'pay_1', [{ sku: 'TEA-001', quantity: 1 }], now)).toThrow(
      RestockExceedsOrderError,
    );
    expect(() => orderWithRestock(twoTins, 'pay_1', [{ sku: 'CUP-002', quantity: 1 }], now)).toThrow(
      /can return 0 more of CUP-002/,
    );
    // The same SKU twice in one request counts both.
    expect(() =>
      orderWithRestock(
        twoTins,
        'pay_1',
        [
          { sku: 'TEA-001', quantity: 2 },
          { sku: 'TEA-001', quantity: 1 },
        ],
        now,
      ),
    ).toThrow(RestockExceedsOrderError);
  });

  it('returns nothing for a payment that did not pay the order (a duplicate, or a cancelled order whose stock went back)', () => {
    expect(() => orderWithRestock(twoTins, 'pay_other', [{ sku: 'TEA-001', quantity: 1 }], now)).toThrow(
      /can return 0 more/,
    );
    const cancelled: Order = { ...purchase.order, status: 'cancelled' };
    expect(() => orderWithRestock(cancelled, 'pay_1', [{ sku: 'TEA-001', quantity: 1 }], now)).toThrow(
      /can return 0 more/,
    );
  });

  it('a failed refund releases its restock; a succeeded one keeps it', () => {
    const reserved = orderWithRestock(twoTins, 'pay_1', [{ sku: 'TEA-001', quantity: 2 }], now);
    const refund = { ...refundOf(100), restock: [{ sku: 'TEA-001', quantity: 2 }] };
    const failed = refundEnded({ ...refund, status: 'failed' }, { ...paid, refundReserved: 100 }, reserved, now);
    expect(failed.order?.restockReserved).toEqual({ 'TEA-001': 0 });
    const succeeded = refundEnded({ ...refund, status: 'succeeded' }, { ...paid, refundReserved: 100 }, reserved, now);
    expect(succeeded.order?.restockReserved).toEqual({ 'TEA-001': 2 });
  });

  it('never books a refund past what the payment took', () => {
    const almostAll = { ...paid, refundReserved: paid.amount, refundedAmount: paid.amount - 1 };
    expect(() => refundEnded({ ...refundOf(2), status: 'succeeded' }, almostAll, paidOrderOf, now)).toThrow(
      /REFUND|refund/,
    );
  });
});

describe('the refund books, under any sequence of refunds, outcomes and outside refunds (property)', () => {
  const order: Order = { ...paidOrderOf, items: [{ ...paidOrderOf.items[0]!, quantity: 3 }] };
  const operation = fc.oneof(
    fc.record({
      op: fc.constant('ask' as const),
      amount: fc.option(fc.integer({ min: 1, max: paid.amount }), { nil: undefined }),
      restock: fc.nat(3),
    }),
    fc.record({
      op: fc.constant('end' as const),
      which: fc.nat(20),
      to: fc.constantFrom('succeeded' as const, 'failed' as const),
    }),
    fc.record({ op: fc.constant('outside' as const), amount: fc.integer({ min: 1, max: paid.amount * 2 }) }),
  );

  it('never refunds past the payment or the order, never returns more stock than was taken', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 30 }), (operations) => {
        let payment: Payment = paid;
        let books: Order = order;
        const refunds: Refund[] = [];
        for (const step of operations) {
          try {
            if (step.op === 'ask') {
              const amount = refundAmountFor(payment, step.amount, now, DEFAULT_REFUND_POLICY);
              const restock = step.restock ? [{ sku: 'TEA-001', quantity: step.restock }] : [];
              if (restock.length) books = orderWithRestock(books, payment.paymentId, restock, now);
              refunds.push(
                createRefund({
                  refundId: `ref_${refunds.length}`,
                  payment,
                  amount,
                  origin: 'admin',
                  restock,
                  sendAt: now.toISOString(),
                  now,
                }),
              );
              payment = {
                ...payment,
                refundReserved: (payment.refundReserved ?? 0) + amount,
                refundIds: [...(payment.refundIds ?? []), `ref_${refunds.length}`],
              };
            } else if (step.op === 'end') {
              const refund = refunds.filter((r) => r.status === 'pending')[step.which % Math.max(1, refunds.length)];
              if (!refund) continue;
              const ended = transitionRefund(refund, { to: step.to, now, reason: 'test' });
              refunds[refunds.indexOf(refund)] = ended;
              const after = refundEnded(ended, payment, books, now);
              payment = after.payment;
              books = after.order ?? books;
            } else if (!externalRefundRefusal(payment, step.amount)) {
              const outside = {
                ...createRefund({
                  refundId: 'ext',
                  payment,
                  amount: step.amount,
                  origin: 'external',
                  sendAt: now.toISOString(),
                  now,
                }),
                status: 'succeeded' as const,
              };
              const after = refundEnded(
                outside,
                { ...payment, refundReserved: (payment.refundReserved ?? 0) + step.amount },
                books,
                now,
              );
              payment = after.payment;
              books = after.order ?? books;
            }
          } catch (error) {
            if (
              !(error instanceof Error) ||
              !/REFUND|RESTOCK|refund|restock/.test(`${(error as { code?: string }).code} ${error.message}`)
            )
              throw error;
          }
          expect(payment.refundedAmount ?? 0).toBeLessThanOrEqual(payment.amount);
          expect(payment.refundReserved ?? 0).toBeLessThanOrEqual(payment.amount);
          expect(books.refundedAmount ?? 0).toBeLessThanOrEqual(payment.amount);
          const returning = refunds
            .filter((r) => r.status !== 'failed')
            .reduce((sum, r) => sum + (r.restock?.[0]?.quantity ?? 0), 0);
          expect(returning).toBeLessThanOrEqual(3);
          expect(books.restockReserved?.['TEA-001'] ?? 0).toBe(returning);
        }
      }),
      { numRuns: 500, seed: 27 },
    );
  });

  it('books no outside refund on a payment that has not succeeded, whatever the amount', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('init', 'processing', 'failed', 'cancelled', 'expired' as const),
        fc.integer({ min: 1, max: 1_000_000 }),
        (status, amount) => {
          expect(externalRefundRefusal({ ...paid, status }, amount)?.kind).toBe('refund_before_payment');
        },
      ),
    );
  });
});

describe('restock edges', () => {
  it('refuses a quantity that is not a positive integer, naming the SKU', () => {
    for (const quantity of [0, -1, 1.5]) {
      expect(() => orderWithRestock(paidOrderOf, 'pay_1', [{ sku: 'TEA-001', quantity }], now)).toThrow(
        /TEA-001 to restock must be a positive integer/,
      );
    }
  });

  it('a failed refund of an order recorded before restock was reserved releases nothing below zero', () => {
    const refund = { ...refundOf(100), status: 'failed' as const, restock: [{ sku: 'TEA-001', quantity: 1 }] };
    expect(refundEnded(refund, { ...paid, refundReserved: 100 }, paidOrderOf, now).order?.restockReserved).toEqual({
      'TEA-001': 0,
    });
  });
});
