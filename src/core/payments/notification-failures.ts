import { DomainError, StaleStateError } from '../../domain/errors';
import type { PaymentNotification, RefundNotification } from '../../domain/notification';
import { isRefundNotification } from '../../domain/notification';
import type { Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import { NOTIFICATION_MAX_RECEIVES } from './notification-ports';

type FailureDeps = Uses<Commit, 'clock' | 'logger'>;

/**
 * The worker's record of a notification it failed to apply (what, why, how often): the dead-letter
 * list staff read (GET /api/admin/dead-letters). On the delivery SQS will not repeat (its receives
 * spent) it joins that list. Best effort: when the table itself is what fails, the DLQ still
 * holds the message and its alarm still fires.
 */
export async function recordFailure(
  deps: FailureDeps,
  notification: PaymentNotification | RefundNotification,
  receiveCount: number,
  error: unknown,
): Promise<void> {
  const now = deps.clock.now().toISOString();
  try {
    await deps.repo.commit([
      {
        kind: 'recordNotificationFailure',
        failure: {
          provider: notification.provider,
          eventId: notification.eventId,
          about: isRefundNotification(notification) ? 'refund' : 'payment',
          paymentId: notification.paymentId,
          ...(isRefundNotification(notification) && notification.refundId ? { refundId: notification.refundId } : {}),
          receiveCount,
          errorCode: error instanceof DomainError ? error.code : error instanceof Error ? error.name : 'Error',
          errorMessage: (error instanceof Error ? error.message : String(error)).slice(0, 1000),
          lastFailedAt: now,
          deadLettered: receiveCount >= NOTIFICATION_MAX_RECEIVES,
          notification,
        },
      },
    ]);
  } catch (recordError) {
    deps.logger.warn('could not record the notification failure', { eventId: notification.eventId, recordError });
  }
}

/** A notification applied on a redelivery: if it had failed before, it leaves the dead-letter list. */
export async function recordRecovery(
  deps: FailureDeps,
  notification: PaymentNotification | RefundNotification,
  receiveCount: number,
): Promise<void> {
  if (receiveCount <= 1) return;
  try {
    const at = deps.clock.now().toISOString();
    await deps.repo.commit([
      { kind: 'recoverNotification', provider: notification.provider, eventId: notification.eventId, at },
    ]);
  } catch (error) {
    // Never failed (only redelivered after a timeout): nothing to clear.
    if (!(error instanceof StaleStateError)) throw error;
  }
}
