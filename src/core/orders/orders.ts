import {
  DomainError,
  NotFoundError,
  OrderNotPendingError,
  OutOfStockError,
  PaymentAlreadyOpenError,
  UnknownProductError,
  ValidationError,
} from '../../domain/errors';
import { orderEvent, type DomainEvent } from '../../domain/events';
import {
  cancelledOrder,
  createOrder,
  type Order,
  priceItems,
  type Product,
  type RequestedItem,
  withNewPayment,
} from '../../domain/order';
import {
  assertNotUnderReview,
  closesAt,
  createPayment,
  effectiveStatus,
  type Payment,
  PaymentClosingError,
  type PaymentMethod,
  settlePayment,
  StaleStateError,
  statusEvent,
  transitionPayment,
} from '../../domain';
import { productsFor } from './catalogue';
import type { Deps, Uses } from '../kernel/deps';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from '../refunds/ports';
import type { OrderStore, ProductStore } from './ports';
import { newId } from '../kernel/ids';
import { Metric } from '../kernel/metric-names';
import { orderChangeWrites, pendingOrdersAdded } from './order-writes';
import { markSoldOut, reserveStock, STOCK_PROBE_ROUNDS } from './stock';
import { ShardRefusedError, SoldOutError } from '../../domain/stock';
import { commitSize, commitWithEvents } from '../outbox/outbox';
import { closeAtProvider, type ProviderCalls } from '../payments/payments';
import { type Commit, MAX_WRITES_PER_COMMIT, type Write } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import { refundView } from '../refunds/views';
import { type OrderView, orderView, type PaymentView, paymentView } from './views';

type CancelDeps = Uses<OrderStore & PaymentStore & Commit, 'clock' | 'providers' | 'metrics' | 'logger'>;

export interface OrderResult {
  order: OrderView;
  payment: PaymentView;
}

/** Most orders in one batch; what a batch writes must also fit one transaction (BatchTooLargeError). */
export const MAX_ORDERS_PER_BATCH = 20;

/** The batch's writes do not fit one transaction; the API promises all or nothing, so it is refused whole. */
export class BatchTooLargeError extends DomainError {
  constructor(needed: number, limit: number) {
    super(
      'BATCH_TOO_LARGE',
      `This batch needs ${needed} writes in one transaction; at most ${limit} fit (2 per order, 1 per distinct SKU, 1 for the customer's pending-order count, 1 for its events, 1 for the Idempotency-Key record): split it`,
      { limit, needed },
    );
  }
}

export interface CreateOrdersInput {
  customerId: string;
  orders: Array<{ items: RequestedItem[] }>;
  method: PaymentMethod;
  /** Narrows the deployment's payment TTL for these payments; never widens it. */
  ttlMinutes?: number;
}

/**
 * Creates orders with their first payments and reserves their stock, all in one transaction:
 * either every order exists with its stock taken, or nothing changed. `extraWrites` lets the
 * caller commit its idempotency record in the same transaction.
 */
export async function createOrders(
  deps: Uses<ProductStore & Commit, 'clock' | 'timing' | 'metrics' | 'orders'>,
  input: CreateOrdersInput,
  extraWrites: (results: OrderResult[]) => Write[] = () => [],
) {
  const now = deps.clock.now();
  if (input.orders.length === 0) throw new ValidationError('At least one order is required');
  if (input.orders.length > MAX_ORDERS_PER_BATCH)
    throw new ValidationError(`At most ${MAX_ORDERS_PER_BATCH} orders per batch`);
  const timing = { ...deps.timing, ttlMinutes: effectiveTtl(deps.timing.ttlMinutes, input.ttlMinutes) };
  const skus = input.orders.flatMap((order) => order.items.map((item) => item.sku));
  for (let attempt = 0; ; attempt++) {
    const catalogue = await productsFor(deps.repo, skus, now.getTime(), attempt > 0);
    try {
      const results = await createFromCatalogue(deps, { ...input, timing, now }, catalogue, extraWrites);
      deps.metrics.count(Metric.OrdersCreated, results.length);
      deps.metrics.count(Metric.PaymentsCreated, results.length, { provider: input.method });
      return results;
    } catch (error) {
      // Decided on this container's copy of the catalogue, which may be out of date: read the
      // products and decide again, once. A second refusal is the answer (OUT_OF_STOCK names the SKU).
      if (attempt === 0 && catalogueMayBeStale(error)) continue;
      // A shard emptied under us: decide again on its shards as they are now, a bounded number of times.
      if (error instanceof ShardRefusedError && attempt < STOCK_PROBE_ROUNDS) continue;
      if (error instanceof SoldOutError && attempt > 0)
        await markSoldOut(deps, catalogue.get(error.sku)!, now.getTime());
      throw error;
    }
  }
}

/** A sold-out marker is trusted as read (productsFor reads it again soon); anything else may be out of date. */
const catalogueMayBeStale = (error: unknown) =>
  (error instanceof OutOfStockError && !(error instanceof SoldOutError && error.marked)) ||
  error instanceof UnknownProductError ||
  (error instanceof StaleStateError && error.entity === 'product');

async function createFromCatalogue(
  deps: Uses<Commit, 'clock' | 'orders'>,
  input: CreateOrdersInput & { timing: Deps['timing']; now: Date },
  catalogue: ReadonlyMap<string, Product>,
  extraWrites: (results: OrderResult[]) => Write[],
): Promise<OrderResult[]> {
  const { now, timing } = input;
  const created = input.orders.map(({ items: requested }) => {
    const items = priceItems(requested, catalogue);
    const orderId = newId('ord', now);
    const paymentId = newId('pay', now);
    const order = createOrder({ orderId, customerId: input.customerId, items, firstPaymentId: paymentId, now });
    const payment = createPayment({
      paymentId,
      orderId,
      customerId: input.customerId,
      amount: order.totalAmount,
      method: input.method,
      now,
      timing,
    });
    return { order, payment };
  });

  // One stock write per stock item across the whole batch (a transaction may touch an item only once);
  // conditional on the price the orders were priced at, too: the catalogue may be a cached copy.
  const stock = reserveStock(
    created.map(({ order }) => order),
    catalogue,
  );
  const { orders } = stock;
  const results: OrderResult[] = created.map(({ payment }, index) => ({
    order: orderView(orders[index]!),
    payment: paymentView(payment, now),
  }));
  const writes: Write[] = [
    ...created.flatMap(({ payment }, index): Write[] => [
      { kind: 'createOrder', order: orders[index]! },
      { kind: 'createPayment', payment },
    ]),
    ...stock.writes,
    pendingOrdersAdded(input.customerId, created.length, deps.orders.maxPendingPerCustomer),
    ...extraWrites(results),
  ];
  const events = created.map(({ order }) => orderEvent('OrderCreated', order));
  // Counted from the very writes about to be committed, so the check cannot drift from them.
  const needed = commitSize(writes, events);
  if (needed > MAX_WRITES_PER_COMMIT) throw new BatchTooLargeError(needed, MAX_WRITES_PER_COMMIT);
  await commitWithEvents(deps, writes, events);
  return results;
}

function effectiveTtl(deployment: number, requested: number | undefined): number {
  if (requested === undefined) return deployment;
  if (!Number.isInteger(requested) || requested < 1 || requested > deployment) {
    throw new ValidationError(`ttlMinutes must be an integer from 1 to ${deployment}`, { ttlMinutes: requested });
  }
  return requested;
}

/** The customer's own order; another customer's order does not exist for them. */
export async function loadOwnOrder(deps: Uses<OrderStore>, customerId: string, orderId: string): Promise<Order> {
  const order = await deps.repo.getOrder(orderId);
  if (!order || order.customerId !== customerId) throw new NotFoundError('order', orderId);
  return order;
}

export async function getOrder(
  deps: Uses<OrderStore & PaymentStore & RefundStore, 'clock'>,
  customerId: string,
  orderId: string,
) {
  const order = await loadOwnOrder(deps, customerId, orderId);
  const payments = await deps.repo.getPayments(order.paymentIds);
  const refunds = await deps.repo.getRefunds(payments.flatMap((payment) => payment.refundIds ?? []));
  const now = deps.clock.now();
  return {
    order: orderView(order),
    payments: payments.map((payment) => paymentView(payment, now)),
    refunds: refunds.map(refundView),
  };
}

export interface AddPaymentInput {
  customerId: string;
  orderId: string;
  method?: PaymentMethod;
  ttlMinutes?: number;
}

/**
 * A new payment for a pending order whose earlier payments all ended unpaid. The order's open
 * slot is taken by a conditional write, so two concurrent re-pays cannot both succeed. An open
 * payment past its expiry (GET reads it expired) is expired in the same transaction, once it can
 * no longer take money (see `expireForReplacement`).
 */
export async function addPayment(
  deps: Uses<OrderStore & PaymentStore & Commit, 'clock' | 'timing' | 'sweeper' | 'providers' | 'metrics' | 'logger'>,
  input: AddPaymentInput,
  extraWrites: (body: unknown) => Write[] = () => [],
) {
  const now = deps.clock.now();
  const order = await loadOwnOrder(deps, input.customerId, input.orderId);
  if (order.status !== 'pending') throw new OrderNotPendingError(order.orderId, order.status);

  const writes: Write[] = [];
  const events: DomainEvent[] = [];
  let previousMethod: PaymentMethod | undefined;
  if (order.openPaymentId) {
    const open = await deps.repo.getPayment(order.openPaymentId);
    if (open) assertNotUnderReview(open);
    if (!open || effectiveStatus(open, now) !== 'expired')
      throw new PaymentAlreadyOpenError(order.orderId, order.openPaymentId);
    const expiry = await expireForReplacement(deps, open, now);
    writes.push({ kind: 'updatePayment', before: open, after: expiry.after });
    // The sweeper will not see it again (terminal), so its PaymentExpired is announced here.
    events.push(statusEvent(expiry.after)!);
    previousMethod = open.method;
  } else {
    previousMethod = (await deps.repo.getPayment(order.paymentIds.at(-1)!))?.method;
  }

  const paymentId = newId('pay', now);
  const method = input.method ?? previousMethod ?? 'wechat';
  const timing = { ...deps.timing, ttlMinutes: effectiveTtl(deps.timing.ttlMinutes, input.ttlMinutes) };
  const payment = createPayment({
    paymentId,
    orderId: order.orderId,
    customerId: order.customerId,
    amount: order.totalAmount,
    method,
    now,
    timing,
  });
  const after = withNewPayment(order, paymentId, now);
  const body = paymentView(payment, now);
  writes.push({ kind: 'createPayment', payment }, { kind: 'updateOrder', before: order, after }, ...extraWrites(body));
  try {
    await commitWithEvents(deps, writes, events);
  } catch (error) {
    // Someone else took the slot (or paid / cancelled the order) between our read and our write.
    if (error instanceof StaleStateError) {
      const current = await deps.repo.getOrder(order.orderId);
      if (current && current.status !== 'pending') throw new OrderNotPendingError(order.orderId, current.status);
      throw new PaymentAlreadyOpenError(order.orderId, current?.openPaymentId);
    }
    throw error;
  }
  deps.metrics.count(Metric.PaymentsCreated, 1, { provider: method });
  if (previousMethod && order.openPaymentId) deps.metrics.count(Metric.PaymentExpired, 1, { provider: previousMethod });
  return body;
}

/**
 * An open payment past its expiry, expired so that a new one can replace it. No provider knows an
 * unstarted one. A started one may still be paid at its provider, so it is closed there first: a
 * paid one cannot be closed (PROVIDER_UNAVAILABLE, and its callback pays the order). A provider
 * without close (the bank) refuses it after the signed expiry plus the clock-skew grace, so until
 * then the answer is PAYMENT_CLOSING: never two payments the customer could both pay.
 */
async function expireForReplacement(deps: ProviderCalls & Pick<Deps, 'sweeper'>, open: Payment, now: Date) {
  let reason = 'expired unpaid; replaced by a new payment';
  if (open.status === 'processing') {
    const closed = await closeAtProvider(deps, open, now);
    const providerClosesAt = closesAt(open, deps.sweeper.expiryGraceSeconds);
    if (closed === 'unsupported' && now < providerClosesAt)
      throw new PaymentClosingError(open.paymentId, providerClosesAt);
    if (closed === 'closed') reason = 'expired unpaid; closed at the provider; replaced by a new payment';
  }
  return transitionPayment(open, { to: 'expired', now, source: 'customer', reason });
}

/**
 * Cancels an unpaid order: its open payment is cancelled (closed at the provider first if the
 * customer may already be paying) and its stock released, in one transaction. Cancelling a
 * cancelled order again answers the same, also when the two cancels race.
 */
export function cancelOrder(deps: CancelDeps, customerId: string, orderId: string) {
  return decideAgainOnStale(() => cancelOrderOnce(deps, customerId, orderId));
}

async function cancelOrderOnce(deps: CancelDeps, customerId: string, orderId: string) {
  const order = await loadOwnOrder(deps, customerId, orderId);
  if (order.status === 'cancelled') return { order: orderView(order) };
  if (order.status !== 'pending') throw new OrderNotPendingError(order.orderId, order.status);
  const now = deps.clock.now();

  const writes: Write[] = [];
  const events: DomainEvent[] = [];
  if (order.openPaymentId) {
    const open = await deps.repo.getPayment(order.openPaymentId);
    if (open && (open.status === 'init' || open.status === 'processing')) {
      assertNotUnderReview(open);
      if (open.status === 'processing') await closeAtProvider(deps, open, now);
      const settlement = settlePayment(open, order, {
        to: 'cancelled',
        now,
        source: 'customer',
        reason: 'order cancelled by customer',
      });
      if (settlement.kind === 'applied') {
        writes.push({ kind: 'updatePayment', before: open, after: settlement.payment });
        events.push(...settlement.events);
      }
    }
  }
  const cancelled = cancelledOrder(order, now, 'customer');
  writes.push(...orderChangeWrites(order, cancelled));
  events.push(orderEvent('OrderCancelled', cancelled, { reason: cancelled.cancelReason }));
  await commitWithEvents(deps, writes, events);
  for (const event of events)
    if (event.type === 'PaymentCancelled')
      deps.metrics.count(Metric.PaymentCancelled, 1, { provider: String(event.detail.method) });
  return { order: orderView(cancelled) };
}
