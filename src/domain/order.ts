import { InvalidTransitionError, ProductUnavailableError, UnknownProductError, ValidationError } from './errors';
import { CURRENCY, type Currency, type Fen, multiplyFen, sumFen } from './money';
import type { PaymentStatus } from './payment';
import type { ShardTake } from './stock';

export const ORDER_STATUSES = ['pending', 'paid', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['paid', 'cancelled'],
  /** Its paid amount wholly refunded (see refundEnded in ./refund). */
  paid: ['refunded'],
  cancelled: [],
  refunded: [],
};

export interface Product {
  sku: string;
  name: string;
  price: Fen;
  /** Units free to order (what open orders hold is already taken off): with shard items, the sum of every item as last read. */
  stock: number;
  /** How many items its stock is spread over (./stock); absent: 1, the stock on the product itself. */
  stockShards?: number;
  /** Each shard item's units as last read, by shard number (products that have shard items). */
  shardStock?: number[];
  /** Shard items that exist, at least stockShards: a re-shard to fewer keeps the rest (./stock strayUnits). Absent: stockShards. */
  shardItems?: number;
  /** The product item's own units as last read, when it has shard items: the stock of one shard, else strays. */
  poolStock?: number;
  /** Set when every shard was found empty, cleared by any restock: orders are refused without a write. */
  soldOut?: boolean;
  /** Units one customer may buy of it (pending and paid orders; a cancelled order frees its units). */
  maxPerCustomer?: number;
  /** Restocks of a sharded product so far: the sold-out marker is set only if none came since the shards were read. */
  restocks?: number;
  /** Off sale when false (a person took it off): ordering it is PRODUCT_UNAVAILABLE. Absent: on sale. */
  active?: boolean;
  /** The catalogue fields' version (If-Match of PATCH /api/products/{sku}); stock moves do not change it. Absent: 1. */
  version?: number;
}

export interface OrderItem {
  sku: string;
  name: string;
  unitPrice: Fen;
  quantity: number;
  lineTotal: Fen;
}

export interface Order {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  totalAmount: Fen;
  currency: Currency;
  createdAt: string;
  updatedAt: string;
  /** Every payment ever made for this order, oldest first. */
  paymentIds: string[];
  /** The one payment that may still be paid; at most one per order (enforced by a conditional write). */
  openPaymentId?: string;
  paidByPaymentId?: string;
  paidAt?: string;
  /**
   * When its last payment ended unpaid, while the order is pending with no open payment: it is
   * cancelled (its stock released) once it has stayed so for the order policy's unpaid minutes.
   */
  unpaidSince?: string;
  cancelledAt?: string;
  cancelReason?: OrderCancelReason;
  /** Refunded of what its paying payment took. */
  refundedAmount?: Fen;
  /**
   * Units of each SKU that refunds not failed put back in stock (on their success): reserved with
   * the refund, in the same transaction, so refunds never return more than the order took.
   */
  restockReserved?: Record<string, number>;
  /** Of each sharded SKU, the shards its units came from: cancel, expiry and restocking refunds give back to those. */
  stockTaken?: Record<string, ShardTake[]>;
  /** SKUs with a per-customer cap whose count this order raised: its cancel lowers them again. */
  purchasesCounted?: string[];
  refundedAt?: string;
  version: number;
}

/** Why an order was cancelled: by its customer, or by the sweeper after staying unpaid too long. */
export const ORDER_CANCEL_REASONS = ['customer', 'unpaid'] as const;
export type OrderCancelReason = (typeof ORDER_CANCEL_REASONS)[number];

export interface RequestedItem {
  sku: string;
  quantity: number;
}

/** Prices the requested items from the catalogue; the same SKU twice is merged into one line. */
export function priceItems(requested: readonly RequestedItem[], catalogue: ReadonlyMap<string, Product>): OrderItem[] {
  if (requested.length === 0) throw new ValidationError('An order needs at least one item');
  const quantities = new Map<string, number>();
  for (const { sku, quantity } of requested) {
    if (!Number.isSafeInteger(quantity) || quantity <= 0)
      throw new ValidationError(`Quantity of ${sku} must be a positive integer`);
    quantities.set(sku, (quantities.get(sku) ?? 0) + quantity);
  }
  const unknown = [...quantities.keys()].filter((sku) => !catalogue.has(sku));
  if (unknown.length > 0) throw new UnknownProductError(unknown);
  const offSale = [...quantities.keys()].filter((sku) => catalogue.get(sku)!.active === false);
  if (offSale.length > 0) throw new ProductUnavailableError(offSale);
  return [...quantities].map(([sku, quantity]) => {
    const product = catalogue.get(sku)!;
    return {
      sku,
      name: product.name,
      unitPrice: product.price,
      quantity,
      lineTotal: multiplyFen(product.price, quantity),
    };
  });
}

export interface NewOrder {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  firstPaymentId: string;
  now: Date;
}

export function createOrder(input: NewOrder): Order {
  const totalAmount = sumFen(input.items.map((item) => item.lineTotal));
  if (totalAmount <= 0) throw new ValidationError('An order total must be positive');
  const at = input.now.toISOString();
  return {
    orderId: input.orderId,
    customerId: input.customerId,
    status: 'pending',
    items: input.items,
    totalAmount,
    currency: CURRENCY,
    createdAt: at,
    updatedAt: at,
    paymentIds: [input.firstPaymentId],
    openPaymentId: input.firstPaymentId,
    version: 1,
  };
}

export function assertOrderTransition(from: OrderStatus, to: OrderStatus): void {
  if (!ORDER_TRANSITIONS[from].includes(to)) throw new InvalidTransitionError('order', from, to);
}

const changed = (order: Order, now: Date): Order => ({
  ...order,
  updatedAt: now.toISOString(),
  version: order.version + 1,
});

/** A pending order whose open payment ended unpaid: no payment open, unpaid from now on. */
export function withoutOpenPayment(order: Order, now: Date): Order {
  const after: Order = { ...changed(order, now), unpaidSince: now.toISOString() };
  delete after.openPaymentId;
  return after;
}

/** A pending order given a new payment to pay it with. */
export function withNewPayment(order: Order, paymentId: string, now: Date): Order {
  const after: Order = {
    ...changed(order, now),
    openPaymentId: paymentId,
    paymentIds: [...order.paymentIds, paymentId],
  };
  delete after.unpaidSince;
  return after;
}

export function paidOrder(order: Order, paymentId: string, now: Date): Order {
  return leftPending(order, now, 'paid', { paidAt: now.toISOString(), paidByPaymentId: paymentId });
}

export function cancelledOrder(order: Order, now: Date, reason: OrderCancelReason): Order {
  return leftPending(order, now, 'cancelled', { cancelledAt: now.toISOString(), cancelReason: reason });
}

/** An order leaving pending for good: no open payment slot, no longer unpaid. */
function leftPending(order: Order, now: Date, status: 'paid' | 'cancelled', fields: Partial<Order>): Order {
  assertOrderTransition(order.status, status);
  const after: Order = { ...changed(order, now), status, ...fields };
  delete after.openPaymentId;
  delete after.unpaidSince;
  return after;
}

/**
 * When a pending order with no open payment has gone `unpaidMinutes` without one, and the sweeper
 * cancels it; undefined while it has an open payment or is no longer pending. An order holding a
 * flash sale's stock (taken from shards) is not kept for paying again: its units go back on sale
 * as its payment expires, whatever the shop's unpaid-order time.
 */
export function unpaidCancelAt(order: Order, unpaidMinutes: number): string | undefined {
  if (order.status !== 'pending' || order.openPaymentId || !order.unpaidSince) return undefined;
  const holdsSaleStock = Object.keys(order.stockTaken ?? {}).length > 0;
  return new Date(Date.parse(order.unpaidSince) + (holdsSaleStock ? 0 : unpaidMinutes) * 60_000).toISOString();
}

/**
 * Order sync (docs/API.md#order-statuses): a succeeded payment pays the order; failed, cancelled and expired
 * leave it pending so the customer may pay again.
 */
export const ORDER_STATUS_AFTER_PAYMENT: Readonly<Partial<Record<PaymentStatus, OrderStatus>>> = {
  succeeded: 'paid',
  failed: 'pending',
  cancelled: 'pending',
  expired: 'pending',
};
