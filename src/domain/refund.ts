import {
  InvalidTransitionError,
  RestockExceedsOrderError,
  PaymentNotRefundableError,
  RefundExceedsRefundableError,
  RefundLimitReachedError,
  RefundWindowClosedError,
  ValidationError,
} from './errors';
import { type Currency, type Fen, assertFen } from './money';
import type { Order, RequestedItem } from './order';
import type { Payment, PaymentMethod } from './payment';

/**
 * A refund's life. `pending`: recorded, its money reserved on the payment, the provider not (yet)
 * sure to have it; `processing`: the provider accepted it; `abnormal`: the provider could not pay
 * it back and a person must settle it (it may still end `succeeded`). A timeout or an unreadable
 * answer is never `failed`: only a definite refusal is.
 */
export const REFUND_STATUSES = ['pending', 'processing', 'succeeded', 'failed', 'abnormal'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export const REFUND_TRANSITIONS: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  pending: ['processing', 'succeeded', 'failed', 'abnormal'],
  processing: ['succeeded', 'failed', 'abnormal'],
  // processing again: re-submitted to another account (WeChat apply-abnormal-refund, src/core/staff/abnormal-refunds.ts).
  abnormal: ['processing', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export const OPEN_REFUND_STATUSES: readonly RefundStatus[] = ['pending', 'processing', 'abnormal'];
export const isRefundOpen = (status: RefundStatus): boolean => OPEN_REFUND_STATUSES.includes(status);

/** Who asked for the refund: an admin, the system itself (money the order cannot use), or nobody of ours (a provider console). */
export type RefundOrigin = 'admin' | 'auto' | 'external';

export interface RefundLogEntry {
  at: string;
  from: RefundStatus | null;
  to: RefundStatus;
  reason: string;
  ref?: string;
}

export interface Refund {
  /** Also the provider's refund number (out_refund_no, out_request_no, bank refund_id): every retry reuses it. */
  refundId: string;
  paymentId: string;
  orderId: string;
  customerId: string;
  method: PaymentMethod;
  amount: Fen;
  currency: Currency;
  status: RefundStatus;
  origin: RefundOrigin;
  reason?: string;
  /** Items to put back in stock when the refund succeeds (in the same transaction). */
  restock?: RequestedItem[];
  /** Refunds an extra capture (money taken twice) rather than the payment's own transaction. */
  captureTransactionId?: string;
  providerRefundId?: string;
  providerStatus?: string;
  createdAt: string;
  updatedAt: string;
  succeededAt?: string;
  failureReason?: string;
  /** Made outside this service (a provider's console): recorded from its notification. */
  external?: boolean;
  /**
   * Paid back by a person outside any provider (cash, a bank transfer) and recorded as such: not
   * in the provider's ledger, so the reconciliation does not expect it in a bill.
   */
  offline?: boolean;
  /** When the refund is next sent (pending) or queried (processing, abnormal); absent once it ended. */
  nextAttemptAt?: string;
  /** Provider calls made for it so far (sends and queries), for the back-off. */
  attempts: number;
  version: number;
  logs: RefundLogEntry[];
}

export interface RefundPolicy {
  windowDays: number;
  /** The least time between two provider refund calls for one payment. */
  spacingSeconds: number;
  autoRefundUnusablePayments: boolean;
}

export const DEFAULT_REFUND_POLICY: RefundPolicy = {
  windowDays: 365,
  spacingSeconds: 60,
  autoRefundUnusablePayments: true,
};

/** WeChat's limit, applied to every provider: at most this many refunds of one payment. */
export const MAX_REFUNDS_PER_PAYMENT = 50;

/** What is still refundable: the amount less every refund not failed (pending ones count). */
export function refundableAmount(payment: Pick<Payment, 'status' | 'amount' | 'refundReserved'>): Fen {
  return payment.status === 'succeeded' ? Math.max(0, payment.amount - (payment.refundReserved ?? 0)) : 0;
}

export function refundWindowClosesAt(payment: Pick<Payment, 'paidAt' | 'updatedAt'>, windowDays: number): string {
  return new Date(Date.parse(payment.paidAt ?? payment.updatedAt) + windowDays * 86_400_000).toISOString();
}

/**
 * The amount a refund of `payment` may be, checked against everything that bounds it; `requested`
 * absent means all that is left. The caller reserves it in a write conditional on the same bound.
 */
export function refundAmountFor(
  payment: Payment,
  requested: Fen | undefined,
  now: Date,
  policy: Pick<RefundPolicy, 'windowDays'>,
): Fen {
  if (payment.status !== 'succeeded') throw new PaymentNotRefundableError(payment.paymentId, payment.status);
  const closesAt = refundWindowClosesAt(payment, policy.windowDays);
  if (now.toISOString() >= closesAt) throw new RefundWindowClosedError(payment.paymentId, closesAt);
  if ((payment.refundIds?.length ?? 0) >= MAX_REFUNDS_PER_PAYMENT)
    throw new RefundLimitReachedError(payment.paymentId, MAX_REFUNDS_PER_PAYMENT);
  const refundable = refundableAmount(payment);
  const amount = requested ?? refundable;
  if (requested !== undefined && assertFen(requested) === 0)
    throw new ValidationError('A refund amount must be positive');
  if (amount === 0 || amount > refundable)
    throw new RefundExceedsRefundableError(payment.paymentId, amount, refundable);
  return amount;
}

/**
 * Our id for a refund made outside this service, recorded from its notification or from the
 * provider's bill: `ext_`, the provider, and the provider's own number for it, so that both
 * records of one refund are the same item.
 */
export function externalRefundId(provider: PaymentMethod, providerNumber: string): string {
  return `ext_${provider}_${providerNumber}`;
}

/**
 * The order with a refund's restock reserved on it. Only the payment that paid the order returns
 * its stock (a cancelled order's was released already), and each SKU at most what the order took
 * less what refunds not failed already return. The caller writes the order conditional on its
 * version in the refund's own transaction, so two refunds cannot both return the same units.
 */
export function orderWithRestock(order: Order, paymentId: string, restock: readonly RequestedItem[], now: Date): Order {
  const reserved = { ...order.restockReserved };
  for (const { sku, quantity } of restock) {
    if (!Number.isSafeInteger(quantity) || quantity <= 0)
      throw new ValidationError(`Quantity of ${sku} to restock must be a positive integer`, { sku });
    const taken =
      order.paidByPaymentId === paymentId ? (order.items.find((item) => item.sku === sku)?.quantity ?? 0) : 0;
    const returnable = taken - (reserved[sku] ?? 0);
    if (quantity > returnable) throw new RestockExceedsOrderError(order.orderId, sku, quantity, returnable);
    reserved[sku] = (reserved[sku] ?? 0) + quantity;
  }
  return { ...order, restockReserved: reserved, updatedAt: now.toISOString(), version: order.version + 1 };
}

/** A failed refund's restock is free to be asked for again. */
function withRestockReleased(order: Order, restock: readonly RequestedItem[]): Order {
  const reserved = { ...order.restockReserved };
  for (const { sku, quantity } of restock) reserved[sku] = Math.max(0, (reserved[sku] ?? 0) - quantity);
  return { ...order, restockReserved: reserved };
}

/**
 * Why a refund the provider reported (one made outside this service) cannot be booked on the
 * payment as our books hold it; undefined when it can. A provider refunds only money it took and
 * never more than it took, so either means our books and the provider's disagree: a person and
 * the reconciliation decide, never a refund booked on an unpaid payment or past the payment.
 */
export function externalRefundRefusal(
  payment: Pick<Payment, 'status' | 'amount' | 'refundReserved'>,
  amount: Fen,
): { kind: 'refund_before_payment' | 'refund_exceeds_payment'; why: string } | undefined {
  if (payment.status !== 'succeeded')
    return { kind: 'refund_before_payment', why: `a refund of a payment that is ${payment.status} in our books` };
  const left = refundableAmount(payment);
  if (amount > left)
    return {
      kind: 'refund_exceeds_payment',
      why: `a refund of ${amount} fen, and ${left} fen of the payment is left to refund`,
    };
  return undefined;
}

export interface NewRefund {
  refundId: string;
  payment: Payment;
  amount: Fen;
  origin: RefundOrigin;
  reason?: string;
  restock?: RequestedItem[];
  captureTransactionId?: string;
  /** When it may first be sent (the payment's spacing between provider calls). */
  sendAt: string;
  now: Date;
}

export function createRefund(input: NewRefund): Refund {
  const at = input.now.toISOString();
  const { payment } = input;
  return {
    refundId: input.refundId,
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    customerId: payment.customerId,
    method: payment.method,
    amount: input.amount,
    currency: payment.currency,
    status: 'pending',
    origin: input.origin,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.restock?.length ? { restock: input.restock } : {}),
    ...(input.captureTransactionId ? { captureTransactionId: input.captureTransactionId } : {}),
    createdAt: at,
    updatedAt: at,
    nextAttemptAt: input.sendAt,
    attempts: 0,
    version: 1,
    logs: [{ at, from: null, to: 'pending', reason: `requested by ${input.origin}` }],
  };
}

/** A refund made outside this service (a provider's console), recorded as it reached us: succeeded. */
export function externalRefund(input: {
  refundId: string;
  payment: Payment;
  amount: Fen;
  now: Date;
  reason: string;
  ref: string;
  set: RefundChange['set'];
}): Refund {
  const { refundId, payment, amount, now } = input;
  const sendAt = now.toISOString();
  const opened = {
    ...createRefund({
      refundId,
      payment,
      amount,
      origin: 'external',
      reason: 'refunded outside this service',
      sendAt,
      now,
    }),
    external: true,
  };
  return transitionRefund(opened, { to: 'succeeded', now, reason: input.reason, ref: input.ref, set: input.set });
}

export interface RefundChange {
  to: RefundStatus;
  now: Date;
  reason: string;
  ref?: string;
  set?: Partial<
    Pick<Refund, 'providerRefundId' | 'providerStatus' | 'succeededAt' | 'failureReason' | 'nextAttemptAt' | 'offline'>
  >;
}

/** The refund after a change of status (throws InvalidTransitionError for a pair the table does not list). */
export function transitionRefund(refund: Refund, change: RefundChange): Refund {
  if (!REFUND_TRANSITIONS[refund.status].includes(change.to))
    throw new InvalidTransitionError('refund', refund.status, change.to);
  const at = change.now.toISOString();
  const after: Refund = {
    ...refund,
    ...change.set,
    status: change.to,
    updatedAt: at,
    version: refund.version + 1,
    logs: [
      ...refund.logs,
      { at, from: refund.status, to: change.to, reason: change.reason, ...(change.ref ? { ref: change.ref } : {}) },
    ],
  };
  if (!isRefundOpen(change.to)) delete after.nextAttemptAt;
  if (change.to === 'succeeded' && !after.succeededAt) after.succeededAt = at;
  return after;
}

/** The refund with its next provider call scheduled and counted. */
export function refundAttempted(refund: Refund, now: Date, nextAttemptAt: string): Refund {
  return {
    ...refund,
    attempts: refund.attempts + 1,
    nextAttemptAt,
    updatedAt: now.toISOString(),
    version: refund.version + 1,
  };
}

/**
 * When an open refund is next asked about, after `attempts` calls: `firstDelayMs` (a minute by
 * default), doubling after the fifth, at most an hour; an abnormal one (a person is on it) hourly.
 */
export function nextRefundAttemptAt(
  refund: Pick<Refund, 'status' | 'attempts'>,
  now: Date,
  firstDelayMs = 60_000,
): string {
  const hour = 3_600_000;
  const delay =
    refund.status === 'abnormal'
      ? hour
      : Math.min(hour, Math.max(1000, firstDelayMs) * 2 ** Math.max(0, refund.attempts - 5));
  return new Date(now.getTime() + delay).toISOString();
}

/**
 * What a refund's end does to its payment and order, computed from the payment and order as read
 * (the caller writes them conditional on those versions). Success: refunded on both, and an order
 * whose paid amount is wholly refunded becomes `refunded`. Failure: the reserved amount is free again.
 * A refund of an extra capture or of a payment that did not pay the order leaves the order alone.
 */
export function refundEnded(
  refund: Refund,
  payment: Payment,
  order: Order | undefined,
  now: Date,
): { payment: Payment; order?: Order } {
  const at = now.toISOString();
  const changed = (p: Payment): Payment => ({ ...p, updatedAt: at, version: p.version + 1 });
  if (refund.status === 'failed') {
    if (refund.captureTransactionId) return { payment: changed(releaseCapture(payment, refund)) };
    const released: Payment = {
      ...changed(payment),
      refundReserved: Math.max(0, (payment.refundReserved ?? 0) - refund.amount),
    };
    if (!order || !refund.restock?.length) return { payment: released };
    return {
      payment: released,
      order: { ...withRestockReleased(order, refund.restock), updatedAt: at, version: order.version + 1 },
    };
  }
  if (refund.status !== 'succeeded') return { payment };
  if (refund.captureTransactionId) return { payment: changed(payment) };
  const afterPayment: Payment = { ...changed(payment), refundedAmount: (payment.refundedAmount ?? 0) + refund.amount };
  // Reservations keep this from happening; a refund past the payment is never booked.
  if (afterPayment.refundedAmount! > payment.amount)
    throw new RefundExceedsRefundableError(
      payment.paymentId,
      refund.amount,
      payment.amount - (payment.refundedAmount ?? 0),
    );
  if (!order || order.paidByPaymentId !== payment.paymentId) return { payment: afterPayment };
  const refundedAmount = (order.refundedAmount ?? 0) + refund.amount;
  const afterOrder: Order = { ...order, refundedAmount, updatedAt: at, version: order.version + 1 };
  if (order.status === 'paid' && refundedAmount >= order.totalAmount) {
    afterOrder.status = 'refunded';
    afterOrder.refundedAt = at;
  }
  return { payment: afterPayment, order: afterOrder };
}

/** A failed refund of an extra capture: the capture may be refunded again. */
function releaseCapture(payment: Payment, refund: Refund): Payment {
  return {
    ...payment,
    extraCaptures: (payment.extraCaptures ?? []).map((c) =>
      c.providerTransactionId === refund.captureTransactionId ? withoutRefund(c) : c,
    ),
  };
}

function withoutRefund<T extends { refundId?: string }>(capture: T): T {
  const copy = { ...capture };
  delete copy.refundId;
  return copy;
}
