import type { DomainEvent, DomainEventType } from '../../src/domain/events';
import type { Order } from '../../src/domain/order';
import { isOpen, isTerminal, type Payment, type PaymentStatus } from '../../src/domain/payment';
import type { Refund, RefundStatus } from '../../src/domain/refund';
import { productStock } from './stock-invariants';

/**
 * The money invariants, checked against the whole table and every event the bus received. Run
 * after every reliability scenario and at the end of the soak: whatever faults were injected, a
 * settled system must satisfy all of them.
 */

export const INVARIANTS = {
  'paid-order-has-one-payment':
    'every paid order has exactly one succeeded payment not flagged refundRequired, the one that paid it',
  'success-pays-its-order': 'a succeeded payment not flagged refundRequired is the payment its order was paid by',
  'one-outcome': 'no payment has two outcomes: one terminal transition, a second only as a flagged late success',
  'stock-conserved':
    'initial stock = on hand (a sharded product: the sum of its shards) + sold (paid orders) + reserved (pending orders), never negative, no shard below zero',
  'one-event-per-transition':
    'every committed transition has exactly one event (by deterministic id), and no event lacks its transition',
  'no-open-past-expiry':
    'no payment is open past its expiry plus one sweep (plus the grace of a provider without close), unless parked for review',
  'one-open-payment-per-order': 'an order has at most one open payment, and only while pending',
  'refunds-within-payment':
    "refunds never exceed their payment: its non-failed refunds sum to at most its amount (an extra capture's, to at most that capture), and refundedAmount ≤ amount; an order's refundedAmount ≤ what its paying payment took",
  'refunds-on-succeeded-payments':
    'no refund exists for a payment that is not succeeded (a provider refunds only money it took)',
  'stock-returned-within-taken':
    "refunds return at most the stock their order took, per SKU, and only for an order whose stock was taken (paid or refunded, by the refunding payment); the order's reservation covers every non-failed refund's restock",
} as const;
export type InvariantName = keyof typeof INVARIANTS;

export interface Violation {
  invariant: InvariantName;
  subject: string;
  detail: string;
}

export interface InvariantInput {
  /** Every item of the table (a scan), storage attributes included. */
  items: ReadonlyArray<Record<string, unknown>>;
  /** Every event the bus received, repeats included, in any order. */
  events: readonly DomainEvent[];
  /** Stock of each SKU before the run. */
  initialStock: ReadonlyMap<string, number>;
  now: Date;
  /** The sweeper's schedule: an expired payment may stay open this long. */
  sweepIntervalSeconds: number;
  /** Extra time a provider without close (the bank) keeps a payment open past expiry. */
  expiryGraceSeconds: number;
}

export interface InvariantReport {
  orders: number;
  payments: number;
  transitions: number;
  distinctEvents: number;
  /** Events received more than once under the same id (at-least-once publishing; consumers dedupe by id). */
  republishedEvents: number;
  violations: Violation[];
}

/** The event a payment's arrival in a status publishes (PaymentStarted for processing). */
const STATUS_EVENT: Partial<Record<PaymentStatus, DomainEventType>> = {
  processing: 'PaymentStarted',
  succeeded: 'PaymentSucceeded',
  failed: 'PaymentFailed',
  cancelled: 'PaymentCancelled',
  expired: 'PaymentExpired',
};

/** The event a refund's arrival in a status publishes (a refund is recorded pending with RefundRequested, unless external). */
const REFUND_STATUS_EVENT: Partial<Record<RefundStatus, DomainEventType>> = {
  succeeded: 'RefundSucceeded',
  failed: 'RefundFailed',
  abnormal: 'RefundAbnormal',
};

const strip = <T>(item: Record<string, unknown>): T => item as T;

export function checkInvariants(input: InvariantInput): InvariantReport {
  const orders = input.items.filter((item) => item.kind === 'order').map((item) => strip<Order>(item));
  const payments = input.items.filter((item) => item.kind === 'payment').map((item) => strip<Payment>(item));
  const refunds = input.items.filter((item) => item.kind === 'refund').map((item) => strip<Refund>(item));
  // Committed entries still in the table: on the items their change wrote, or of their own.
  const outbox = input.items.flatMap((item) =>
    item.outbox ? [item.outbox as { outboxId: string; events: DomainEvent[] }] : [],
  );
  const violations: Violation[] = [];
  const products = productStock(input.items, (subject, detail) =>
    violations.push({ invariant: 'stock-conserved', subject, detail }),
  );
  const violate = (invariant: InvariantName, subject: string, detail: string) =>
    violations.push({ invariant, subject, detail });

  const paymentsByOrder = new Map<string, Payment[]>();
  for (const payment of payments)
    paymentsByOrder.set(payment.orderId, [...(paymentsByOrder.get(payment.orderId) ?? []), payment]);
  const orderById = new Map(orders.map((order) => [order.orderId, order]));

  checkPaidOrders(orders, paymentsByOrder, orderById, payments, violate);
  const transitions = checkOutcomes(payments, violate);
  checkStock(orders, products, refunds, input.initialStock, violate);
  checkOpenPayments(orders, payments, paymentsByOrder, input, violate);
  checkRefunds(payments, refunds, orderById, violate);
  checkRestock(orders, refunds, orderById, violate);
  const differences = input.items
    .filter((item) => item.kind === 'difference')
    .map((item) => strip<{ paymentId?: string }>(item));
  const events = checkEvents(orders, payments, refunds, differences, orderById, input.events, violate);
  // Each entry still kept must have had its events reach the bus.
  const received = new Set(input.events.map((event) => event.id));
  for (const entry of outbox) {
    const unpublished = (entry.events as DomainEvent[]).filter((event) => !received.has(event.id));
    if (unpublished.length > 0)
      violate(
        'one-event-per-transition',
        String(entry.outboxId),
        `outbox entry never published (events ${JSON.stringify(unpublished.map((e) => e.id))})`,
      );
  }

  return { orders: orders.length, payments: payments.length, transitions, ...events, violations };
}

type Violate = (invariant: InvariantName, subject: string, detail: string) => void;

/**
 * A success whose own capture pays its order. refundRequired flags money to give back: the
 * payment's own capture (the order could not take it), or only its extra captures (money taken
 * twice, each refunded by itself) while its own capture still pays the order.
 */
const keeps = (payment: Payment) =>
  payment.status === 'succeeded' && (!payment.refundRequired || (payment.extraCaptures?.length ?? 0) > 0);

function checkPaidOrders(
  orders: Order[],
  paymentsByOrder: Map<string, Payment[]>,
  orderById: Map<string, Order>,
  payments: Payment[],
  violate: Violate,
): void {
  for (const order of orders) {
    const kept = (paymentsByOrder.get(order.orderId) ?? []).filter(keeps);
    if (order.status === 'paid' && (kept.length !== 1 || kept[0]!.paymentId !== order.paidByPaymentId)) {
      violate(
        'paid-order-has-one-payment',
        order.orderId,
        `paid by ${order.paidByPaymentId}; kept successes: [${kept.map((p) => p.paymentId).join(', ')}]`,
      );
    }
  }
  for (const payment of payments.filter(keeps)) {
    const order = orderById.get(payment.orderId);
    // A refunded order was paid first: its payment still paid it.
    if ((order?.status !== 'paid' && order?.status !== 'refunded') || order.paidByPaymentId !== payment.paymentId) {
      violate(
        'success-pays-its-order',
        payment.paymentId,
        `order ${payment.orderId} is ${order?.status ?? 'missing'}, paid by ${order?.paidByPaymentId ?? 'nobody'}`,
      );
    }
  }
}

/** A log entry that moved the payment (not a note, not the creation). */
const movesOf = (payment: Payment) => payment.logs.filter((entry) => entry.from !== null && entry.from !== entry.to);

function checkOutcomes(payments: Payment[], violate: Violate): number {
  let transitions = 0;
  for (const payment of payments) {
    const moves = movesOf(payment);
    transitions += moves.length;
    const outcomes = moves.filter((entry) => isTerminal(entry.to));
    const lateSuccess = outcomes.length === 2 && outcomes[1]!.to === 'succeeded' && payment.latePayment === true;
    if (outcomes.length > 1 && !lateSuccess) {
      violate(
        'one-outcome',
        payment.paymentId,
        `outcomes ${outcomes.map((entry) => `${entry.from}→${entry.to}`).join(', ')}${payment.latePayment ? ' (flagged late)' : ''}`,
      );
    }
    const last = payment.logs.at(-1)?.to;
    if (last !== payment.status)
      violate('one-outcome', payment.paymentId, `status ${payment.status} but its log ends at ${last}`);
  }
  return transitions;
}

function checkStock(
  orders: Order[],
  products: Array<{ sku: string; stock: number }>,
  refunds: Refund[],
  initialStock: ReadonlyMap<string, number>,
  violate: Violate,
): void {
  const held = new Map<string, number>();
  for (const order of orders) {
    if (order.status === 'cancelled') continue;
    for (const item of order.items) held.set(item.sku, (held.get(item.sku) ?? 0) + item.quantity);
  }
  // A succeeded refund's restock is back on hand.
  for (const refund of refunds.filter((r) => r.status === 'succeeded'))
    for (const item of refund.restock ?? []) held.set(item.sku, (held.get(item.sku) ?? 0) - item.quantity);
  for (const product of products) {
    const initial = initialStock.get(product.sku);
    if (initial === undefined) continue;
    const accounted = product.stock + (held.get(product.sku) ?? 0);
    if (accounted !== initial || product.stock < 0) {
      violate(
        'stock-conserved',
        product.sku,
        `initial ${initial}, on hand ${product.stock} + sold or reserved ${held.get(product.sku) ?? 0} = ${accounted}`,
      );
    }
  }
}

function checkOpenPayments(
  orders: Order[],
  payments: Payment[],
  paymentsByOrder: Map<string, Payment[]>,
  input: InvariantInput,
  violate: Violate,
): void {
  // A payment parked for review (needsReview) waits for a person, not for the sweeper.
  for (const payment of payments.filter((p) => isOpen(p.status) && !p.needsReview)) {
    const grace = input.sweepIntervalSeconds + (payment.method === 'bank' ? input.expiryGraceSeconds : 0);
    const lateBy = (input.now.getTime() - Date.parse(payment.expiresAt)) / 1000 - grace;
    if (lateBy > 0)
      violate(
        'no-open-past-expiry',
        payment.paymentId,
        `${payment.method} payment still ${payment.status} ${Math.round(lateBy)} s past expiry + ${grace} s`,
      );
  }
  for (const order of orders) {
    const open = (paymentsByOrder.get(order.orderId) ?? []).filter((p) => isOpen(p.status));
    const allowed = order.status === 'pending' ? 1 : 0;
    if (open.length > allowed || (open.length === 1 && order.openPaymentId !== open[0]!.paymentId)) {
      violate(
        'one-open-payment-per-order',
        order.orderId,
        `${order.status} order, slot ${order.openPaymentId ?? 'empty'}, open: [${open.map((p) => p.paymentId).join(', ')}]`,
      );
    }
  }
}

function checkRefunds(payments: Payment[], refunds: Refund[], orderById: Map<string, Order>, violate: Violate): void {
  const paymentById = new Map(payments.map((payment) => [payment.paymentId, payment]));
  for (const refund of refunds) {
    const payment = paymentById.get(refund.paymentId);
    if (payment?.status !== 'succeeded')
      violate(
        'refunds-on-succeeded-payments',
        refund.refundId,
        `${refund.status} refund of payment ${refund.paymentId}, which is ${payment?.status ?? 'missing'}`,
      );
  }
  for (const order of orderById.values()) {
    const paidWith = order.paidByPaymentId ? paymentById.get(order.paidByPaymentId) : undefined;
    if ((order.refundedAmount ?? 0) > (paidWith?.amount ?? 0))
      violate(
        'refunds-within-payment',
        order.orderId,
        `refundedAmount ${order.refundedAmount}, paid ${paidWith?.amount ?? 0}`,
      );
  }
  // A refund pays back the payment's own capture, or one extra capture (money taken twice): each within what it took.
  const refunded = new Map<string, number>();
  for (const refund of refunds.filter((r) => r.status !== 'failed')) {
    const key = `${refund.paymentId} ${refund.captureTransactionId ?? ''}`;
    refunded.set(key, (refunded.get(key) ?? 0) + refund.amount);
  }
  for (const payment of payments) {
    const captures = [
      { id: '', amount: payment.amount },
      ...(payment.extraCaptures ?? []).map((c) => ({ id: c.providerTransactionId, amount: c.amount })),
    ];
    for (const capture of captures) {
      const sum = refunded.get(`${payment.paymentId} ${capture.id}`) ?? 0;
      if (sum > capture.amount)
        violate(
          'refunds-within-payment',
          payment.paymentId,
          `${capture.id || 'its own capture'}: took ${capture.amount}, non-failed refunds ${sum}`,
        );
    }
    if ((payment.refundedAmount ?? 0) > payment.amount)
      violate(
        'refunds-within-payment',
        payment.paymentId,
        `amount ${payment.amount}, refundedAmount ${payment.refundedAmount}`,
      );
  }
}

function checkRestock(orders: Order[], refunds: Refund[], orderById: Map<string, Order>, violate: Violate): void {
  const returned = new Map<string, Map<string, number>>();
  for (const refund of refunds.filter((r) => r.status !== 'failed' && r.restock?.length)) {
    const order = orderById.get(refund.orderId);
    const taken =
      order?.paidByPaymentId === refund.paymentId && (order.status === 'paid' || order.status === 'refunded');
    if (!taken)
      violate(
        'stock-returned-within-taken',
        refund.refundId,
        `restocks order ${refund.orderId}, which is ${order?.status ?? 'missing'}, paid by ${order?.paidByPaymentId ?? 'nobody'}`,
      );
    const bySku = returned.get(refund.orderId) ?? new Map<string, number>();
    for (const item of refund.restock!) bySku.set(item.sku, (bySku.get(item.sku) ?? 0) + item.quantity);
    returned.set(refund.orderId, bySku);
  }
  for (const order of orders) {
    for (const [sku, quantity] of returned.get(order.orderId) ?? []) {
      const took = order.items.find((item) => item.sku === sku)?.quantity ?? 0;
      if (quantity > took)
        violate('stock-returned-within-taken', order.orderId, `${sku}: took ${took}, refunds return ${quantity}`);
      if (quantity > (order.restockReserved?.[sku] ?? 0))
        violate(
          'stock-returned-within-taken',
          order.orderId,
          `${sku}: refunds return ${quantity}, the order reserved ${order.restockReserved?.[sku] ?? 0}`,
        );
    }
  }
}

function checkEvents(
  orders: Order[],
  payments: Payment[],
  refunds: Refund[],
  differences: Array<{ paymentId?: string }>,
  orderById: Map<string, Order>,
  events: readonly DomainEvent[],
  violate: Violate,
) {
  const distinct = new Map(events.map((event) => [event.id, event]));
  // What each subject should have received, by `subject type`, against what it did.
  const expected = new Map<string, number>();
  const expect = (subject: string, type: DomainEventType, count = 1) =>
    expected.set(`${subject} ${type}`, (expected.get(`${subject} ${type}`) ?? 0) + count);
  for (const order of orders) {
    expect(order.orderId, 'OrderCreated');
    if (order.status === 'paid' || order.status === 'refunded') expect(order.orderId, 'OrderPaid');
    if (order.status === 'cancelled') expect(order.orderId, 'OrderCancelled');
    if (order.status === 'refunded') expect(order.orderId, 'OrderRefunded');
  }
  for (const payment of payments) {
    for (const move of movesOf(payment)) {
      const type = STATUS_EVENT[move.to];
      if (type) expect(payment.paymentId, type);
      // Late: from an ended payment, or from one still processing past its expiry (flagged latePayment either way).
      if (move.to === 'succeeded' && payment.latePayment) expect(payment.paymentId, 'LatePaymentReceived');
    }
    if (payment.reminderSentAt) expect(payment.paymentId, 'PaymentExpiringSoon');
    const order = orderById.get(payment.orderId);
    if (payment.refundRequired && order?.status === 'paid' && order.paidByPaymentId !== payment.paymentId)
      expect(payment.paymentId, 'DuplicatePaymentDetected');
    expect(payment.paymentId, 'DuplicatePaymentDetected', payment.extraCaptures?.length ?? 0);
  }
  for (const refund of refunds) {
    if (refund.origin !== 'external') expect(refund.paymentId, 'RefundRequested');
    for (const entry of refund.logs.filter((e) => e.from !== e.to)) {
      const type = REFUND_STATUS_EVENT[entry.to];
      if (type) expect(refund.paymentId, type);
    }
  }
  // A difference is recorded once with its event (a parked refund notification, or a reconciliation's finding).
  for (const difference of differences) expect(String(difference.paymentId ?? ''), 'ReconciliationDifference');
  const received = new Map<string, number>();
  for (const event of distinct.values()) {
    const subject = event.type.startsWith('Order')
      ? event.detail.orderId
      : (event.detail.paymentId ?? event.detail.orderId);
    received.set(`${subject} ${event.type}`, (received.get(`${subject} ${event.type}`) ?? 0) + 1);
  }
  for (const key of new Set([...expected.keys(), ...received.keys()])) {
    const want = expected.get(key) ?? 0;
    const got = received.get(key) ?? 0;
    if (want !== got) {
      const [subject = key, type] = key.split(' ');
      violate('one-event-per-transition', subject, `${type}: ${want} transition(s), ${got} distinct event(s)`);
    }
  }
  return { distinctEvents: distinct.size, republishedEvents: events.length - distinct.size };
}

/** One line per violation, for an assertion message or the soak's summary. */
export function describeViolations(report: InvariantReport, max = 20): string {
  const lines = report.violations.slice(0, max).map((v) => `${v.invariant} ${v.subject}: ${v.detail}`);
  if (report.violations.length > max) lines.push(`… and ${report.violations.length - max} more`);
  return lines.join('\n');
}
