import { DomainError } from '../../domain/errors';
import type { PaymentNotification, RefundNotification } from '../../domain/notification';
import type { ProviderName } from './provider';

/** The callback function's hand-off to the worker. */
export interface NotificationQueue {
  /** Resolves only once the queue has durably accepted the message. */
  enqueue(notification: PaymentNotification | RefundNotification): Promise<void>;
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

export interface NotificationStore {
  getNotificationRecord(provider: ProviderName, eventId: string): Promise<DedupeRecord | undefined>;
}

/** Once per notification: NotificationAlreadyAppliedError when it was recorded before. */
export type NotificationWrite = { kind: 'recordNotification'; record: DedupeRecord };

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
