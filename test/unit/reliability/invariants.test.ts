import { describe, expect, it } from 'vitest';
import { orderEvent, paymentEvent, type DomainEvent } from '../../../shared/domain/events';
import type { Order } from '../../../shared/domain/order';
import type { Payment } from '../../../shared/domain/payment';
import { newPurchase } from '../../support/domain-fixtures';
import { DEMO_PRODUCTS } from '../../support/harness';
import { checkInvariants, type InvariantName } from '../../support/invariants';

/**
 * The checker the reliability suite and the soak rely on must itself catch each violation:
 * a consistent little world passes, and each corruption of it is named.
 */

const NOW = new Date('2026-11-25T04:00:00.000Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

/** A paid order (its payment started then succeeded) with every event published, and its product. */
function paidWorld() {
  const { order, payment } = newPurchase({ orderId: 'ord_1', paymentId: 'pay_1', items: [{ sku: 'CUP-002', quantity: 2 }], catalogue: DEMO_PRODUCTS, now: NOW });
  const started: Payment = { ...payment, status: 'processing', version: 2, logs: [...payment.logs, { at: at(1), from: 'init', to: 'processing', reason: 'checkout created', source: 'customer' }] };
  const succeeded: Payment = { ...started, status: 'succeeded', version: 3, paidAt: at(2), logs: [...started.logs, { at: at(2), from: 'processing', to: 'succeeded', reason: 'wechat callback', source: 'provider' }] };
  const paid: Order = { ...order, status: 'paid', paidByPaymentId: 'pay_1', version: 2 };
  delete paid.openPaymentId;
  const events: DomainEvent[] = [orderEvent('OrderCreated', order), paymentEvent('PaymentStarted', started), paymentEvent('PaymentSucceeded', succeeded), orderEvent('OrderPaid', paid)];
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
    ['a paid order whose success is flagged for refund', (w) => void (w.payment.refundRequired = true), 'paid-order-has-one-payment'],
    ['a second kept success on a paid order', (w) => [{ kind: 'payment', ...w.payment, paymentId: 'pay_2' }], 'paid-order-has-one-payment'],
    ['a payment that failed, then succeeded without the late flag', (w) => void w.payment.logs.splice(2, 0, { at: at(1), from: 'processing', to: 'failed', reason: 'x', source: 'provider' }), 'one-outcome'],
    ['a unit of stock gone missing', (w) => void (w.product.stock = 2), 'stock-conserved'],
    ['a transition whose event was never published', (w) => void w.events.splice(2, 1), 'one-event-per-transition'],
    ['an event without its transition', (w) => void w.events.push(paymentEvent('PaymentFailed', w.payment)), 'one-event-per-transition'],
    ['an outbox entry left unpublished', () => [{ kind: 'outbox', outboxId: 'o1', events: [] }], 'one-event-per-transition'],
    ['an open payment of a paid order', (w) => [{ kind: 'payment', ...w.payment, paymentId: 'pay_3', status: 'init', logs: [w.payment.logs[0]] }], 'one-open-payment-per-order'],
  ])('names %s', (_case, corrupt, invariant) => {
    const world = paidWorld();
    const extra = corrupt(world) ?? [];
    expect(named(check(world, extra))).toContain(invariant);
  });

  it('flags a payment open past its expiry plus one sweep, and allows the bank its grace', () => {
    const world = paidWorld();
    const open = { kind: 'payment', ...world.payment, paymentId: 'pay_4', orderId: 'ord_x', status: 'processing', logs: world.payment.logs.slice(0, 2) };
    const afterSweep = at(30 + 1.5);
    expect(named(check(world, [open], afterSweep))).toContain('no-open-past-expiry');
    expect(named(check(world, [{ ...open, method: 'bank' }], afterSweep))).not.toContain('no-open-past-expiry');
  });
});
