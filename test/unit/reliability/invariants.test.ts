import { describe, expect, it } from 'vitest';
import { orderEvent, paymentEvent, type DomainEvent } from '../../../src/domain/events';
import type { Order } from '../../../src/domain/order';
import type { Payment } from '../../../src/domain/payment';
import type { Refund } from '../../../src/domain/refund';
import { refundEvent } from '../../../src/domain/refund-events';
import { newPurchase } from '../../support/domain-fixtures';
import { DEMO_PRODUCTS } from '../../support/demo-products';
import { checkInvariants, type InvariantName } from '../../support/invariants';

/**
 * The checker the reliability suite and the soak rely on must itself catch each violation:
 * a consistent little world passes, and each corruption of it is named.
 */

const NOW = new Date('2026-11-25T04:00:00.000Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

/** A paid order (its payment started then succeeded) with every event published, and its product. */
function paidWorld() {
  const { order, payment } = newPurchase({
    orderId: 'ord_1',
    paymentId: 'pay_1',
    items: [{ sku: 'CUP-002', quantity: 2 }],
    catalogue: DEMO_PRODUCTS,
    now: NOW,
  });
  const started: Payment = {
    ...payment,
    status: 'processing',
    version: 2,
    logs: [
      ...payment.logs,
      { at: at(1), from: 'init', to: 'processing', reason: 'checkout created', source: 'customer' },
    ],
  };
  const succeeded: Payment = {
    ...started,
    status: 'succeeded',
    version: 3,
    paidAt: at(2),
    logs: [
      ...started.logs,
      { at: at(2), from: 'processing', to: 'succeeded', reason: 'wechat callback', source: 'provider' },
    ],
  };
  const paid: Order = { ...order, status: 'paid', paidByPaymentId: 'pay_1', version: 2 };
  delete paid.openPaymentId;
  const events: DomainEvent[] = [
    orderEvent('OrderCreated', order),
    paymentEvent('PaymentStarted', started),
    paymentEvent('PaymentSucceeded', succeeded),
    orderEvent('OrderPaid', paid),
  ];
  const product = { kind: 'product', sku: 'CUP-002', stock: 3 };
  return { order: paid, payment: succeeded, events, product };
}

function check(world: ReturnType<typeof paidWorld>, extraItems: Array<Record<string, unknown>> = [], now = at(3)) {
  return checkInvariants({
    items: [{ kind: 'order', ...world.order }, { kind: 'payment', ...world.payment }, world.product, ...extraItems],
    events: world.events,
    initialStock: new Map([['CUP-002', 5]]),
    now: new Date(now),
    sweepIntervalSeconds: 60,
    expiryGraceSeconds: 120,
  });
}

/** A pending refund of the world's payment; its RefundRequested is published with it when `published`. */
function refundItem(world: ReturnType<typeof paidWorld>, refundId: string, amount: number, published = true) {
  const { payment } = world;
  const refund = {
    refundId,
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    customerId: payment.customerId,
    method: payment.method,
    amount,
    currency: payment.currency,
    status: 'pending',
    origin: 'admin',
    createdAt: at(2),
    updatedAt: at(2),
    attempts: 0,
    version: 1,
    logs: [{ at: at(2), from: null, to: 'pending', reason: 'asked' }],
  } as const;
  if (published) world.events.push(refundEvent('RefundRequested', refund as unknown as Refund));
  return { kind: 'refund', ...refund };
}

/** A succeeded refund of 1 fen putting `quantity` cups back, with its events. */
function restocking(world: ReturnType<typeof paidWorld>, refundId: string, quantity: number) {
  const requested = refundItem(world, refundId, 1);
  const refund = {
    ...requested,
    status: 'succeeded',
    restock: [{ sku: 'CUP-002', quantity }],
    logs: [...requested.logs, { at: at(3), from: 'pending', to: 'succeeded', reason: 'paid back' }],
  };
  world.events.push(refundEvent('RefundSucceeded', { ...refund, version: 2 } as unknown as Refund));
  world.product.stock += quantity;
  return refund;
}

const named = (report: ReturnType<typeof check>) => report.violations.map((violation) => violation.invariant);

describe('the invariant checker', () => {
  it('passes a consistent world and counts a re-published event apart', () => {
    const world = paidWorld();
    world.events.push(world.events[2]!);
    const report = check(world);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ orders: 1, payments: 1, transitions: 2, distinctEvents: 4, republishedEvents: 1 });
  });

  it.each<[string, (world: ReturnType<typeof paidWorld>) => Array<Record<string, unknown>> | void, InvariantName]>([
    [
      'a paid order whose success is flagged for refund',
      (w) => void (w.payment.refundRequired = true),
      'paid-order-has-one-payment',
    ],
    [
      'a second kept success on a paid order',
      (w) => [{ kind: 'payment', ...w.payment, paymentId: 'pay_2' }],
      'paid-order-has-one-payment',
    ],
    [
      'a payment that failed, then succeeded without the late flag',
      (w) =>
        void w.payment.logs.splice(2, 0, {
          at: at(1),
          from: 'processing',
          to: 'failed',
          reason: 'x',
          source: 'provider',
        }),
      'one-outcome',
    ],
    ['a unit of stock gone missing', (w) => void (w.product.stock = 2), 'stock-conserved'],
    ['a transition whose event was never published', (w) => void w.events.splice(2, 1), 'one-event-per-transition'],
    [
      'an event without its transition',
      (w) => void w.events.push(paymentEvent('PaymentFailed', w.payment)),
      'one-event-per-transition',
    ],
    [
      'an outbox entry whose event never reached the bus',
      (w) => [{ kind: 'outbox', outbox: { outboxId: 'o1', events: [{ ...w.events[0]!, id: 'never-published' }] } }],
      'one-event-per-transition',
    ],
    [
      'an open payment of a paid order',
      (w) => [{ kind: 'payment', ...w.payment, paymentId: 'pay_3', status: 'init', logs: [w.payment.logs[0]] }],
      'one-open-payment-per-order',
    ],
    [
      'refunds of a payment summing past its amount',
      (w) => [refundItem(w, 'ref_1', w.payment.amount), refundItem(w, 'ref_2', 1)],
      'refunds-within-payment',
    ],
    [
      'a refundedAmount past the amount',
      (w) => void (w.payment.refundedAmount = w.payment.amount + 1),
      'refunds-within-payment',
    ],
    [
      'a refund recorded without its RefundRequested',
      (w) => [refundItem(w, 'ref_1', 1, false)],
      'one-event-per-transition',
    ],
    [
      'an order refunded past what its payment took',
      (w) => void (w.order.refundedAmount = w.payment.amount + 1),
      'refunds-within-payment',
    ],
    [
      'a refund of a payment that never succeeded',
      (w) => [
        { kind: 'payment', ...w.payment, paymentId: 'pay_9', status: 'processing' },
        { ...refundItem(w, 'ref_9', 1), paymentId: 'pay_9' },
      ],
      'refunds-on-succeeded-payments',
    ],
    [
      'two refunds returning more stock than the order took',
      (w) => {
        w.order.restockReserved = { 'CUP-002': 2 };
        return [restocking(w, 'ref_1', 2), restocking(w, 'ref_2', 2)];
      },
      'stock-returned-within-taken',
    ],
    [
      'a refund returning stock its order did not reserve',
      (w) => [restocking(w, 'ref_1', 1)],
      'stock-returned-within-taken',
    ],
    [
      'a refund returning the stock of a cancelled order',
      (w) => {
        Object.assign(w.order, { status: 'cancelled', restockReserved: { 'CUP-002': 1 } });
        return [restocking(w, 'ref_1', 1)];
      },
      'stock-returned-within-taken',
    ],
    [
      'a late success (past expiry) without its LatePaymentReceived',
      (w) => void (w.payment.latePayment = true),
      'one-event-per-transition',
    ],
    [
      'an extra capture without its DuplicatePaymentDetected',
      (w) =>
        void Object.assign(w.payment, {
          refundRequired: true,
          extraCaptures: [{ providerTransactionId: 'tx_2', amount: w.payment.amount, capturedAt: at(2) }],
        }),
      'one-event-per-transition',
    ],
  ])('names %s', (_case, corrupt, invariant) => {
    const world = paidWorld();
    const extra = corrupt(world) ?? [];
    expect(named(check(world, extra))).toContain(invariant);
  });

  it('passes refunds within the payment, a failed one not counted, and an extra capture refunded by itself', () => {
    const world = paidWorld();
    const amount = world.payment.amount;
    const extraCapture = { providerTransactionId: 'tx_2', amount, capturedAt: at(2) };
    Object.assign(world.payment, { refundRequired: true, extraCaptures: [extraCapture], refundedAmount: amount });
    world.events.push(paymentEvent('DuplicatePaymentDetected', world.payment, { extraCapture }));
    const failed = {
      ...refundItem(world, 'ref_f', amount),
      status: 'failed',
      logs: [
        { at: at(2), from: null, to: 'pending', reason: 'asked' },
        { at: at(3), from: 'pending', to: 'failed', reason: 'refused' },
      ],
    };
    world.events.push({ ...world.events.at(-1)!, id: 'ref_f:RefundFailed:2', type: 'RefundFailed' });
    const items = [
      refundItem(world, 'ref_1', amount),
      { ...refundItem(world, 'ref_2', amount), captureTransactionId: 'tx_2' },
      failed,
    ];
    expect(check(world, items).violations).toEqual([]);
  });

  it('passes a refund that returned stock its order reserved', () => {
    const world = paidWorld();
    world.order.restockReserved = { 'CUP-002': 1 };
    expect(check(world, [restocking(world, 'ref_1', 1)]).violations).toEqual([]);
  });

  it('lets a payment parked for review stay open past its expiry', () => {
    const world = paidWorld();
    const parked = {
      kind: 'payment',
      ...world.payment,
      paymentId: 'pay_5',
      orderId: 'ord_x',
      status: 'processing',
      needsReview: true,
      logs: world.payment.logs.slice(0, 2),
    };
    expect(named(check(world, [parked], at(60)))).not.toContain('no-open-past-expiry');
  });

  it('flags a payment open past its expiry plus one sweep, and allows the bank its grace', () => {
    const world = paidWorld();
    const open = {
      kind: 'payment',
      ...world.payment,
      paymentId: 'pay_4',
      orderId: 'ord_x',
      status: 'processing',
      logs: world.payment.logs.slice(0, 2),
    };
    const afterSweep = at(30 + 1.5);
    expect(named(check(world, [open], afterSweep))).toContain('no-open-past-expiry');
    expect(named(check(world, [{ ...open, method: 'bank' }], afterSweep))).not.toContain('no-open-past-expiry');
  });
});
