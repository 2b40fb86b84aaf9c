import { DomainError } from '../../domain/errors';
import type { PaymentNotification, RefundNotification } from '../../domain/notification';
import type { ListWindow, Page } from '../kernel/page';
import type { ProviderName } from './provider';

/** The callback function's hand-off to the worker. */
export interface NotificationQueue {
  /** Resolves only once the queue has durably accepted the message. */
  enqueue(notification: PaymentNotification | RefundNotification): Promise<void>;
  /**
   * Moves every dead-lettered notification back to the worker's queue (`npm run dlq:replay` runs
   * the same): in AWS an SQS message move task (`moved` is what it will move), elsewhere one by one.
   */
  replayDeadLetters(): Promise<{ moved: number; detail: string }>;
}

/** Deliveries of a notification before SQS dead-letters it (the queue's maxReceiveCount, in CDK and locally). */
export const NOTIFICATION_MAX_RECEIVES = 5;

/** A provider notification already applied: kept past every provider's retry window. */
export interface DedupeRecord {
  provider: ProviderName;
  eventId: string;
  paymentId: string;
  appliedAt: string;
  result: string;
  expiresAt: string;
}

export interface NotificationStore {
  getNotificationRecord(provider: ProviderName, eventId: string): Promise<DedupeRecord | undefined>;
  /** Notifications dead-lettered and not replayed since, the latest failure first. */
  listDeadLetters(window: ListWindow): Promise<Page<NotificationFailure>>;
  countDeadLetters(): Promise<number>;
}

/**
 * A provider notification the worker failed to apply: what, why (the last error), how often, and
 * whether the queue has given up on it (its receives are spent: dead-lettered) and a person has
 * replayed it since. The worker writes it with each failure; the DLQ holds the message itself.
 */
export interface NotificationFailure {
  provider: ProviderName;
  eventId: string;
  /** What it notified: a payment's outcome or a refund's. */
  about: 'payment' | 'refund';
  paymentId: string;
  refundId?: string;
  /** Times the worker failed it, over every delivery. */
  failures: number;
  /** SQS's receive count at the last failure. */
  receiveCount: number;
  errorCode: string;
  errorMessage: string;
  firstFailedAt: string;
  lastFailedAt: string;
  deadLettered: boolean;
  replayedAt?: string;
  replayedBy?: string;
  /** Applied after all, on a later delivery. */
  recoveredAt?: string;
  notification: PaymentNotification | RefundNotification;
}

export type NotificationWrite =
  /** Once per notification: NotificationAlreadyAppliedError when it was recorded before. */
  | { kind: 'recordNotification'; record: DedupeRecord }
  /** One more failure of a notification (counted up; dead-lettered when the queue will give up on it). */
  | { kind: 'recordNotificationFailure'; failure: Omit<NotificationFailure, 'failures' | 'firstFailedAt'> }
  /** A failed notification was applied after all: it leaves the dead letters (nothing happens when it never failed). */
  | { kind: 'recoverNotification'; provider: ProviderName; eventId: string; at: string }
  /** A person replayed a dead letter: it leaves the list, conditional on still being there (else StaleStateError). */
  | { kind: 'markReplayed'; provider: ProviderName; eventId: string; at: string; by: string };

/** This provider notification was already applied. */
export class NotificationAlreadyAppliedError extends DomainError {
  constructor(
    readonly provider: string,
    readonly eventId: string,
  ) {
    super('NOTIFICATION_ALREADY_APPLIED', `Notification ${provider}/${eventId} was already applied`);
  }
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

export interface CallbackArchive {
  /** The archived raw callbacks of one provider notification (a provider retry archives again). */
  getArchivedCallbacks(provider: ProviderName, eventId: string): Promise<ArchivedCallback[]>;
}

export type CallbackArchiveWrite = { kind: 'archiveCallback'; record: ArchivedCallback };
