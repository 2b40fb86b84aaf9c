import { InvalidTransitionError, PaymentUnderReviewError } from './errors';
import { CURRENCY, type Currency, type Fen } from './money';
import type { KeptCheckout, PaymentScene } from './scene';
import type { PaymentNotification } from './notification';

export const PAYMENT_STATUSES = ['init', 'processing', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_METHODS = ['wechat', 'alipay', 'bank'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export const DEFAULT_PAYMENT_METHOD: PaymentMethod = 'wechat';

/** Who caused a transition: kept in the payment's log for audit. `staff`: a person settling it (src/core/staff). */
export type TransitionSource = 'customer' | 'provider' | 'sweeper' | 'system' | 'staff';

export interface PaymentLogEntry {
  at: string;
  from: PaymentStatus | null;
  to: PaymentStatus;
  reason: string;
  source: TransitionSource;
  /** Provider event id or request id that caused it, when there is one. */
  ref?: string;
}

export interface Payment {
  paymentId: string;
  orderId: string;
  customerId: string;
  amount: Fen;
  currency: Currency;
  method: PaymentMethod;
  status: PaymentStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  /** When the expiry reminder is due; absent when reminders are off or one was sent. */
  remindAt?: string;
  reminderSentAt?: string;
  /** Next time the sweeper asks the provider about a processing payment (lost callbacks). */
  nextQueryAt?: string;
  payUrl?: string;
  /** Where the customer pays, recorded when the payment starts (docs/API.md#start-a-payment). */
  scene?: PaymentScene;
  /** The provider's checkout while the payment is open: what a repeated start hands out again. */
  checkout?: KeptCheckout;
  /**
   * The provider's own word for how it was paid (WeChat `trade_type`), from its callbacks and
   * queries; one that does not fit `scene` is alarmed (TradeTypeMismatch).
   */
  tradeType?: string;
  providerTransactionId?: string;
  paidAt?: string;
  /**
   * Provider-confirmed success applied after the payment had ended (expired/cancelled/failed) or
   * after its `expiresAt`, when it already read `expired`.
   */
  latePayment?: boolean;
  /**
   * Money was taken that the order cannot use: refund it. That is the whole payment when it did
   * not pay its order (already paid by another, or cancelled), and each of `extraCaptures` in any case.
   */
  refundRequired?: boolean;
  /**
   * How much of `amount` its order keeps: 0 for a payment the order could not use, the order's
   * total for one a person accepted at a higher amount; absent: all of it. What is above it and not
   * yet being refunded is owed back (refundOwed in ./waiting.ts).
   */
  keptAmount?: Fen;
  /** Money the provider took again for this payment under another transaction (a second capture). */
  extraCaptures?: ExtraCapture[];
  /**
   * Parked for a person: the provider told us something we must not apply on our own (a paid
   * amount that differs from ours). The sweeper leaves it alone and the customer cannot replace
   * or cancel it until someone resolves it; `reviewReason` says why.
   */
  needsReview?: boolean;
  reviewReason?: string;
  /** What the provider said, as verified, for the person who settles it (src/domain/review.ts). */
  review?: PaymentNotification;
  /**
   * Refunds: every one of this payment's refunds (extra captures' included), oldest first; the
   * sum of those not failed against its own transaction (reserved before any provider call, so
   * never above `amount`); and the sum of those that succeeded.
   */
  refundIds?: string[];
  refundReserved?: Fen;
  refundedAmount?: Fen;
  /** When a refund of this payment was last sent to the provider (refunds are spaced, see RefundPolicy). */
  refundCallAt?: string;
  /** Optimistic-concurrency counter: every write is conditional on it. */
  version: number;
  logs: PaymentLogEntry[];
}

/**
 * A success under another provider transaction for a payment that had already succeeded: money
 * taken twice. The refunds feature refunds it by its `providerTransactionId` (never the payment's own).
 */
export interface ExtraCapture {
  providerTransactionId: string;
  amount: Fen;
  capturedAt: string;
  /** The provider notification that reported it. */
  eventId?: string;
  /** The refund giving it back, once one is under way. */
  refundId?: string;
}

/**
 * The payment state machine. A pair not listed is illegal. `late-success` is the one exception to
 * "terminal never changes": a provider-confirmed success is money we hold, so it is applied even
 * after the payment ended, and flagged. `provider-only` transitions may only come from the provider.
 */
type TransitionKind = 'normal' | 'provider-only' | 'late-success';
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, Partial<Record<PaymentStatus, TransitionKind>>>> = {
  init: { processing: 'normal', cancelled: 'normal', expired: 'normal', succeeded: 'provider-only' },
  processing: { succeeded: 'normal', failed: 'normal', cancelled: 'normal', expired: 'normal' },
  succeeded: {},
  failed: { succeeded: 'late-success' },
  cancelled: { succeeded: 'late-success' },
  expired: { succeeded: 'late-success' },
};

export const OPEN_PAYMENT_STATUSES: readonly PaymentStatus[] = ['init', 'processing'];
export const isOpen = (status: PaymentStatus): boolean => OPEN_PAYMENT_STATUSES.includes(status);
export const isTerminal = (status: PaymentStatus): boolean => !isOpen(status);

export interface TransitionRequest {
  to: PaymentStatus;
  now: Date;
  source: TransitionSource;
  reason: string;
  ref?: string;
  /** Fields the transition sets along with the status (pay URL, provider transaction id, ...). */
  set?: Partial<
    Pick<Payment, 'payUrl' | 'providerTransactionId' | 'paidAt' | 'nextQueryAt' | 'scene' | 'checkout' | 'tradeType'>
  >;
}

export interface Transition {
  before: Payment;
  after: Payment;
  entry: PaymentLogEntry;
  late: boolean;
}

/** The kind of a transition, or undefined when the table forbids it (for this source). */
export function transitionKind(
  from: PaymentStatus,
  to: PaymentStatus,
  source: TransitionSource,
): TransitionKind | undefined {
  const kind = PAYMENT_TRANSITIONS[from][to];
  if (kind === undefined) return undefined;
  // A person settling a parked payment applies what the provider said (src/domain/review.ts).
  if (kind !== 'normal' && source !== 'provider' && source !== 'staff') return undefined;
  return kind;
}

/** Computes the payment after a transition, or throws InvalidTransitionError naming both states. */
export function transitionPayment(payment: Payment, request: TransitionRequest): Transition {
  const kind = transitionKind(payment.status, request.to, request.source);
  if (kind === undefined) throw new InvalidTransitionError('payment', payment.status, request.to);
  const at = request.now.toISOString();
  const entry: PaymentLogEntry = {
    at,
    from: payment.status,
    to: request.to,
    reason: request.reason,
    source: request.source,
    ...(request.ref ? { ref: request.ref } : {}),
  };
  const after: Payment = {
    ...payment,
    ...request.set,
    status: request.to,
    updatedAt: at,
    version: payment.version + 1,
    logs: [...payment.logs, entry],
  };
  // Late: a success on a payment that had ended, or that read expired (past its expiresAt) when it
  // came, so that what the customer read stays true in the record.
  const late = request.to === 'succeeded' && isTerminal(effectiveStatus(payment, request.now));
  if (late) after.latePayment = true;
  // What only an open payment needs goes: the pay URL (the provider's checkout link, some 400
  // bytes for the bank) would otherwise be rewritten, and billed, with every later write.
  if (isTerminal(request.to)) {
    delete after.remindAt;
    delete after.nextQueryAt;
    delete after.payUrl;
    delete after.checkout;
  }
  return { before: payment, after, entry, late };
}

/** A log line that records something we saw but did not apply (an out-of-order notification, say). */
export function noteOnPayment(payment: Payment, note: Omit<PaymentLogEntry, 'at' | 'from' | 'to'>, now: Date): Payment {
  const entry: PaymentLogEntry = { at: now.toISOString(), from: payment.status, to: payment.status, ...note };
  return { ...payment, updatedAt: entry.at, version: payment.version + 1, logs: [...payment.logs, entry] };
}

/** Parks a payment for a person, with the reason in its log and what the provider said (see `Payment.needsReview`). */
export function parkForReview(
  payment: Payment,
  note: { reason: string; source: TransitionSource; ref?: string },
  now: Date,
  review?: PaymentNotification,
): Payment {
  const noted = noteOnPayment(payment, { ...note, reason: `parked for review: ${note.reason}` }, now);
  return { ...noted, needsReview: true, reviewReason: note.reason, ...(review ? { review } : {}) };
}

export function assertNotUnderReview(payment: Payment): void {
  if (payment.needsReview) throw new PaymentUnderReviewError(payment.paymentId, payment.reviewReason);
}

export interface PaymentTimingPolicy {
  ttlMinutes: number;
  /** Minutes before expiry to remind the customer; 0 turns reminders off. */
  reminderMinutes: number;
}

export const DEFAULT_TIMING: PaymentTimingPolicy = { ttlMinutes: 30, reminderMinutes: 5 };

export interface NewPayment {
  paymentId: string;
  orderId: string;
  customerId: string;
  amount: Fen;
  method: PaymentMethod;
  now: Date;
  timing: PaymentTimingPolicy;
}

const MINUTE_MS = 60_000;

export function createPayment(input: NewPayment): Payment {
  const createdAt = input.now.toISOString();
  const expires = new Date(input.now.getTime() + input.timing.ttlMinutes * MINUTE_MS);
  const remindMs = expires.getTime() - input.timing.reminderMinutes * MINUTE_MS;
  const payment: Payment = {
    paymentId: input.paymentId,
    orderId: input.orderId,
    customerId: input.customerId,
    amount: input.amount,
    currency: CURRENCY,
    method: input.method,
    status: 'init',
    createdAt,
    updatedAt: createdAt,
    expiresAt: expires.toISOString(),
    version: 1,
    logs: [{ at: createdAt, from: null, to: 'init', reason: 'payment created', source: 'customer' }],
  };
  if (input.timing.reminderMinutes > 0 && remindMs > input.now.getTime())
    payment.remindAt = new Date(remindMs).toISOString();
  return payment;
}

/**
 * When the sweeper must next look at an open payment: the earliest of its reminder and, for an
 * unstarted payment, its expiry; for a started one, its next provider look (the expiry at the
 * latest, see `nextLookAt`). Undefined for a terminal or parked payment (it leaves the sweeper's index).
 */
export function nextSweepAt(payment: Payment): string | undefined {
  if (isTerminal(payment.status) || payment.needsReview) return undefined;
  const look = payment.status === 'processing' ? (payment.nextQueryAt ?? payment.expiresAt) : payment.expiresAt;
  return [look, payment.remindAt].filter((t): t is string => t !== undefined).sort()[0];
}

/**
 * Until when a started payment's provider may still take it without a close API (the bank): its
 * signed expiry plus the clock-skew grace.
 */
export function closesAt(payment: Pick<Payment, 'expiresAt'>, graceSeconds: number): Date {
  return new Date(Date.parse(payment.expiresAt) + graceSeconds * 1000);
}

/**
 * Whether a started payment is due to be asked about at its provider (a query, or past expiry the
 * query-then-close): at its next look, which past expiry is the retry of an earlier attempt.
 */
export function providerLookDue(payment: Payment, now: Date): boolean {
  return (
    payment.status === 'processing' &&
    !payment.needsReview &&
    (payment.nextQueryAt ?? payment.expiresAt) <= now.toISOString()
  );
}

/**
 * When to look at a started payment next, `delayMs` from now. Before its expiry never later than
 * the expiry (the expiry is a look of its own); past it, a retry waits the whole delay.
 */
export function nextLookAt(payment: Pick<Payment, 'expiresAt'>, now: Date, delayMs: number): string {
  const wanted = now.getTime() + Math.max(delayMs, 1000);
  const expiresMs = Date.parse(payment.expiresAt);
  return new Date(now.getTime() < expiresMs ? Math.min(wanted, expiresMs) : wanted).toISOString();
}

/** The payment with its next provider look scheduled (a reminder is moot once it has expired). */
export function scheduleNextLook(payment: Payment, now: Date, delayMs: number): Payment {
  const after: Payment = {
    ...payment,
    nextQueryAt: nextLookAt(payment, now, delayMs),
    updatedAt: now.toISOString(),
    version: payment.version + 1,
  };
  if (now.toISOString() >= payment.expiresAt) delete after.remindAt;
  return after;
}

/**
 * An open payment past its expiry reads as expired even before the sweeper has run; a parked one
 * reads as it is (a person decides what it becomes).
 */
export function effectiveStatus(payment: Payment, now: Date): PaymentStatus {
  return isOpen(payment.status) && !payment.needsReview && now.toISOString() >= payment.expiresAt
    ? 'expired'
    : payment.status;
}
