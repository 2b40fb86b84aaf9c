import { DomainError } from '../../domain/errors';
import type { DomainEvent } from '../../domain/events';
import type { PaymentNotification, RefundNotification } from '../../domain/notification';
import type { Order, Product } from '../../domain/order';
import type { Payment } from '../../domain/payment';
import type { BusinessDate } from '../../domain/bill';
import type { ProviderReconciliation, ReconciliationDifference } from '../../domain/reconciliation';
import type { Refund } from '../../domain/refund';
import type { ProviderName } from '../payments/provider';

/**
 * The ports the core talks through. Adapters implement them for AWS (DynamoDB, SQS, EventBridge,
 * EMF metrics) and for the local runtime; tests use the same adapters against local stand-ins.
 */

export interface Clock {
  now(): Date;
}

/** The first response to a creating request, kept so a retry with the same key gets it again. */
export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export interface IdempotencyRecord {
  customerId: string;
  key: string;
  requestHash: string;
  response: StoredResponse;
  createdAt: string;
  expiresAt: string;
}

/** A provider notification already applied: kept past every provider's retry window. */
export interface DedupeRecord {
  provider: ProviderName;
  eventId: string;
  paymentId: string;
  appliedAt: string;
  result: string;
  expiresAt: string;
}

/** Domain events committed with a state change (transactional outbox): the table's stream publishes them. */
export interface OutboxEntry {
  outboxId: string;
  events: DomainEvent[];
  /** Events the bus refused for good (too large, or for OUTBOX_PARK_AFTER_HOURS): kept for an operator (Repository.parkUndeliverable). */
  undeliverable?: DomainEvent[];
  createdAt: string;
}

/** A verified provider callback exactly as received, kept 30 days for inspection and replay. */
export interface ArchivedCallback {
  provider: ProviderName;
  eventId: string;
  paymentId: string;
  receivedAt: string;
  /** Lower-cased headers, minus credentials (authorization, cookies). */
  headers: Record<string, string>;
  /** The raw body, base64, byte for byte. */
  bodyBase64: string;
  expiresAt: string;
}

/** A payment or refund of the ledger, by id. */
export interface LedgerRef {
  kind: 'payment' | 'refund';
  id: string;
}

/** One provider's reconciliation of one day as stored: the summary, and what the next day's run needs. */
export interface ReconciliationRun extends Omit<ProviderReconciliation, 'differences'> {
  /** Ledger items of this day's last minutes that this bill lacks: the next day's bill should have them. */
  carriedRefs: LedgerRef[];
}

/**
 * One write inside a transaction. The repository turns each into a conditional DynamoDB write and
 * each failed condition into a typed error naming what failed.
 */
export type Write =
  | { kind: 'createOrder'; order: Order }
  | { kind: 'createPayment'; payment: Payment }
  /** Replaces the order, conditional on the version, status and open-payment slot that were read. */
  | { kind: 'updateOrder'; before: Order; after: Order }
  /** Replaces the payment, conditional on the version and status that were read. */
  | { kind: 'updatePayment'; before: Payment; after: Payment }
  /** Negative: reserve (conditional on enough stock, and on the price when given); positive: release. */
  | { kind: 'adjustStock'; sku: string; delta: number; price?: number }
  /** The customer's count of pending orders; a rise is conditional on staying within `limit`. */
  | { kind: 'countPendingOrders'; customerId: string; delta: number; limit?: number }
  | { kind: 'putProduct'; product: Product }
  | { kind: 'recordIdempotency'; record: IdempotencyRecord }
  | { kind: 'recordNotification'; record: DedupeRecord }
  /** At most one per commit: rides on the smallest order, payment or refund the commit rewrites whole, else an item of its own. */
  | { kind: 'addToOutbox'; entry: OutboxEntry }
  | { kind: 'archiveCallback'; record: ArchivedCallback }
  /**
   * Writes nothing: the transaction holds only if the notification's payment is absent or asked
   * for this provider, currency and amount (else PaymentMismatchError with the payment as stored).
   */
  | { kind: 'checkPaymentMatches'; notification: PaymentNotification }
  | { kind: 'createRefund'; refund: Refund }
  /** Replaces the refund, conditional on the version that was read. */
  | { kind: 'updateRefund'; before: Refund; after: Refund }
  /**
   * Reserves a refund's amount on its payment without a read-modify-write race: conditional on
   * the payment being succeeded, on `refundReserved + amount <= amount` and on fewer than `limit`
   * refunds, so racing refunds can never reserve more than was paid. Bumps the version.
   */
  | { kind: 'reserveRefund'; paymentId: string; paymentAmount: number; refundId: string; amount: number; limit: number; now: string }
  /**
   * Takes the payment's turn to call its provider about a refund: conditional on the last call
   * being at least `spacingSeconds` ago (refunds of one payment reach the provider one at a time).
   */
  | { kind: 'claimRefundCall'; paymentId: string; now: string; spacingSeconds: number }
  /** A difference found by a reconciliation, once: AlreadyExistsError when a run of the day recorded it before. */
  | { kind: 'recordDifference'; provider: ProviderName; date: BusinessDate; difference: ReconciliationDifference }
  /** Marks a recorded difference healed (conditional on it being recorded and still open). */
  | { kind: 'healDifference'; provider: ProviderName; date: BusinessDate; difference: ReconciliationDifference }
  /** The run's summary, replacing an earlier run's of the same provider and day. */
  | { kind: 'saveReconciliationRun'; run: ReconciliationRun }
  /** A ledger item of `date` that another day's bill accounted for: `date`'s run does not miss it. */
  | { kind: 'markAccounted'; provider: ProviderName; date: BusinessDate; ref: LedgerRef };

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** The most writes one commit may hold: DynamoDB's TransactWriteItems limit (each write is one item). */
export const MAX_WRITES_PER_COMMIT = 100;

export interface Repository {
  /** All writes (at most MAX_WRITES_PER_COMMIT) in one transaction: all happen or none does. */
  commit(writes: readonly Write[]): Promise<void>;

  getProducts(skus: readonly string[]): Promise<Map<string, Product>>;
  listProducts(): Promise<Product[]>;
  getOrder(orderId: string): Promise<Order | undefined>;
  getPayment(paymentId: string): Promise<Payment | undefined>;
  getPayments(paymentIds: readonly string[]): Promise<Payment[]>;
  getRefund(refundId: string): Promise<Refund | undefined>;
  getRefunds(refundIds: readonly string[]): Promise<Refund[]>;
  /** Open refunds whose next provider call is at or before `dueBy`. */
  findDueRefunds(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Refund>>;

  getIdempotencyRecord(customerId: string, key: string): Promise<IdempotencyRecord | undefined>;
  getNotificationRecord(provider: ProviderName, eventId: string): Promise<DedupeRecord | undefined>;
  /** The archived raw callbacks of one provider notification (a provider retry archives again). */
  getArchivedCallbacks(provider: ProviderName, eventId: string): Promise<ArchivedCallback[]>;

  /** Open payments whose next sweep time is at or before `dueBy`, earliest first within a page. */
  findDuePayments(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Payment>>;
  /** Pending orders with no open payment since at or before `unpaidSince` (the sweeper cancels them). */
  findUnpaidOrders(unpaidSince: Date, options: { limit: number; cursor?: string }): Promise<Page<Order>>;
  /** Keeps an entry, with the events the bus refused for good moved to `undeliverable`, in an item of its own that never expires and is not published again (an operator's to resolve). */
  parkUndeliverable(entry: OutboxEntry): Promise<void>;
  /** Open (init or processing) payments, counted on the due index: the "payments in flight". */
  countOpenPayments(): Promise<number>;
  /** When the oldest refund still open (pending, processing or abnormal) was created; undefined when none is. */
  oldestOpenRefundCreatedAt(): Promise<string | undefined>;

  /** A provider's ledger of one Beijing day: payments paid and refunds succeeded in it. */
  listLedger(provider: ProviderName, date: BusinessDate): Promise<{ payments: Payment[]; refunds: Refund[] }>;
  /** Every provider's run of the day with the differences each recorded. */
  getReconciliation(date: BusinessDate): Promise<{
    runs: ReconciliationRun[];
    differences: Array<ReconciliationDifference & { provider: ProviderName }>;
    /** Ledger items of the day other days' bills accounted for. */
    accounted: Array<LedgerRef & { provider: ProviderName }>;
  }>;
}

export interface NotificationQueue {
  /** Resolves only once the queue has durably accepted the message. */
  enqueue(notification: PaymentNotification | RefundNotification): Promise<void>;
}

/** An event the bus did not take. */
export interface PublishFailure {
  event: DomainEvent;
  /** Why, for the log line: the bus's error code, or the size that made it unpublishable. */
  reason: string;
  /** False when retrying cannot help (the event is larger than the bus accepts). */
  retryable: boolean;
}

export interface EventPublisher {
  /**
   * Publishes what the bus accepts and answers which events it did not (none: all were
   * published). Rejects only when nothing can be said about the outcome.
   */
  publish(events: readonly DomainEvent[]): Promise<{ failed: PublishFailure[] }>;
}

export interface PaymentTimingConfig {
  ttlMinutes: number;
  reminderMinutes: number;
}

/** The idempotency key was used by a request that committed first: read its record and replay. */
export class IdempotencyRecordExistsError extends DomainError {
  /** `existing`: the record that won, as the failed write returned it (absent if it could not). */
  constructor(
    readonly customerId: string,
    readonly key: string,
    readonly existing?: IdempotencyRecord,
  ) {
    super('IDEMPOTENCY_RECORD_EXISTS', 'A request with this Idempotency-Key already committed');
  }
}

/** A notification names a payment of another provider, currency or amount: `payment` is it, as stored. */
export class PaymentMismatchError extends DomainError {
  constructor(readonly payment: Payment) {
    super('PAYMENT_MISMATCH', `Notification does not match payment ${payment.paymentId}`);
  }
}

/** The payment's refundable amount, status or refund count did not allow this reservation (the payment as it is now). */
export class RefundReservationRefusedError extends DomainError {
  constructor(
    readonly paymentId: string,
    readonly current?: Record<string, unknown>,
  ) {
    super('REFUND_RESERVATION_REFUSED', `Payment ${paymentId} no longer allows this refund`);
  }
}

/** Another refund of the payment reached its provider less than the spacing ago. */
export class RefundCallSpacedError extends DomainError {
  constructor(
    readonly paymentId: string,
    readonly lastCallAt?: string,
  ) {
    super('REFUND_CALL_SPACED', `A refund of payment ${paymentId} was sent at ${lastCallAt}; the next must wait`);
  }
}

/** This provider notification was already applied. */
export class NotificationAlreadyAppliedError extends DomainError {
  constructor(
    readonly provider: string,
    readonly eventId: string,
  ) {
    super('NOTIFICATION_ALREADY_APPLIED', `Notification ${provider}/${eventId} was already applied`);
  }
}
