import { DomainError, StaleStateError } from '../../domain/errors';
import type { RefundNotification } from '../../domain/notification';
import type { Payment } from '../../domain/payment';
import {
  externalRefund,
  externalRefundRefusal,
  refundEnded,
  REFUND_TRANSITIONS,
  type Refund,
} from '../../domain/refund';
import { refundStatusEvents } from '../../domain/refund-events';
import type { Uses } from '../kernel/deps';
import type { OrderStore } from '../orders/ports';
import { type NotificationStore, NotificationAlreadyAppliedError } from '../payments/notification-ports';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from './ports';
import { Metric } from '../kernel/metric-names';
import { dedupeWrite, type NotificationResult, UnknownPaymentError } from '../payments/notifications';
import { commitWithEvents } from '../outbox/outbox';
import type { Commit, Write } from '../kernel/ports';
import { externalIdOf, parkRefundNotification } from './parked-refunds';
import { settleRefund } from './refunds';

/** Our refund ids start so (src/core/kernel/ids.ts): a notification naming one we do not have is early, not foreign. */
const OUR_REFUND_PREFIX = 'ref_';
const MAX_ATTEMPTS = 5;

type RefundNotificationDeps = Uses<
  NotificationStore & RefundStore & PaymentStore & OrderStore & Commit,
  'clock' | 'metrics' | 'logger' | 'sweeper'
>;

/**
 * A notification naming a refund of ours that we cannot read: thrown so the queue redelivers it
 * (and, failing every time, dead-letters it for a person) rather than it being taken for a refund
 * made outside this service.
 */
export class UnknownRefundError extends DomainError {
  constructor(readonly refundId: string) {
    super('UNKNOWN_REFUND', `No refund ${refundId}`);
  }
}

/** Whether a refund notification's money fits the payment it names; the callback rejects a mismatch. */
export function matchesRefundPayment(
  notification: RefundNotification,
  payment: Payment,
): 'ok' | 'amount_mismatch' | 'currency_mismatch' | 'method_mismatch' {
  if (notification.provider !== payment.method) return 'method_mismatch';
  if (notification.currency !== payment.currency) return 'currency_mismatch';
  if (notification.paymentAmount !== undefined && notification.paymentAmount !== payment.amount)
    return 'amount_mismatch';
  if (notification.amount > payment.amount || (notification.refundedTotal ?? 0) > payment.amount)
    return 'amount_mismatch';
  return 'ok';
}

/**
 * Applies one verified refund notification, through the same dedupe record as payment ones: the
 * refund's move (and its payment's and order's) commits in one transaction with that record.
 */
export async function applyRefundNotification(
  deps: RefundNotificationDeps,
  notification: RefundNotification,
  options: ParkingOptions = { parkRefused: true },
): Promise<NotificationResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await applyOnce(deps, notification, options);
      deps.metrics.count(result === 'duplicate' ? Metric.NotificationDuplicate : Metric.NotificationApplied, 1, {
        provider: notification.provider,
        result,
      });
      return result;
    } catch (error) {
      if (error instanceof NotificationAlreadyAppliedError) return 'duplicate';
      if (error instanceof StaleStateError && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

/**
 * What to do with a refund the books cannot hold (see ./parked-refunds.ts): the worker parks it;
 * the reconciliation, which has a difference of its own for it already, leaves it unwritten.
 */
export interface ParkingOptions {
  parkRefused: boolean;
}

async function applyOnce(
  deps: RefundNotificationDeps,
  notification: RefundNotification,
  options: ParkingOptions,
): Promise<NotificationResult> {
  if (await deps.repo.getNotificationRecord(notification.provider, notification.eventId)) return 'duplicate';
  const payment = await deps.repo.getPayment(notification.paymentId);
  if (!payment) throw new UnknownPaymentError(notification.paymentId);
  const now = deps.clock.now();
  const dedupe = (result: NotificationResult) => dedupeWrite(notification, now, result);

  const refund = notification.refundId ? await deps.repo.getRefund(notification.refundId) : undefined;
  if (!refund) {
    if (notification.refundId?.startsWith(OUR_REFUND_PREFIX)) throw new UnknownRefundError(notification.refundId);
    return recordExternalRefund(deps, payment, notification, dedupe, options);
  }
  const mismatch =
    refund.paymentId !== notification.paymentId ||
    (notification.refundedTotal === undefined && notification.amount !== refund.amount);
  if (mismatch) {
    deps.metrics.count(Metric.AmountMismatch, 1, { provider: notification.provider });
    deps.logger.error('refund notification does not match its refund; not applied', {
      refundId: refund.refundId,
      eventId: notification.eventId,
      amount: notification.amount,
    });
    await deps.repo.commit([dedupe('amount_mismatch')]);
    return 'amount_mismatch';
  }
  if (notification.refundedTotal !== undefined && notification.outcome === 'succeeded') {
    // Alipay's notification does not say how much THIS refund was: its query, which does, decides.
    if (!REFUND_TRANSITIONS[refund.status].includes('succeeded')) return commitDedupe(deps, dedupe('unchanged'));
    const due: Refund = {
      ...refund,
      nextAttemptAt: now.toISOString(),
      updatedAt: now.toISOString(),
      version: refund.version + 1,
    };
    await deps.repo.commit([dedupe('applied'), { kind: 'updateRefund', before: refund, after: due }]);
    return 'applied';
  }
  if (!REFUND_TRANSITIONS[refund.status].includes(notification.outcome)) return commitDedupe(deps, dedupe('unchanged'));
  await settleRefund(
    deps,
    refund,
    {
      to: notification.outcome,
      now,
      reason: `${notification.provider} ${notification.via}: ${notification.providerStatus}`,
      ref: notification.eventId,
      set: {
        providerStatus: notification.providerStatus,
        ...(notification.providerRefundId ? { providerRefundId: notification.providerRefundId } : {}),
        ...(notification.outcome === 'succeeded' ? { succeededAt: notification.occurredAt } : {}),
        ...(notification.outcome === 'failed' ? { failureReason: notification.providerStatus } : {}),
      },
    },
    [dedupe('applied')],
  );
  return 'applied';
}

async function commitDedupe(deps: Uses<Commit>, write: Write): Promise<NotificationResult> {
  await deps.repo.commit([write]);
  return 'unchanged';
}

/**
 * A refund made outside this service (a provider's console): recorded as an external refund that
 * has succeeded, with the payment and order following, and alarmed. Alipay does not say how much
 * it was: everything refunded (`refundedTotal`) less what we hold as refunded; nothing left means
 * a notification already applied.
 */
async function recordExternalRefund(
  deps: RefundNotificationDeps,
  payment: Payment,
  notification: RefundNotification,
  dedupe: (result: NotificationResult) => Write,
  options: ParkingOptions,
): Promise<NotificationResult> {
  const amount =
    notification.refundedTotal !== undefined
      ? notification.refundedTotal - (payment.refundedAmount ?? 0)
      : notification.amount;
  if (notification.outcome !== 'succeeded' || amount <= 0) {
    deps.logger.warn('refund notification for no refund of ours, with nothing to record', {
      eventId: notification.eventId,
      outcome: notification.outcome,
      amount,
    });
    return commitDedupe(deps, dedupe('unchanged'));
  }
  const now = deps.clock.now();
  const refundId = externalIdOf(notification);
  // Recorded already from the provider's bill (the reconciliation), under the same id: the same refund.
  if (await deps.repo.getRefund(refundId)) return commitDedupe(deps, dedupe('unchanged'));
  const refusal = externalRefundRefusal(payment, amount);
  if (refusal)
    return options.parkRefused
      ? parkRefundNotification(deps, payment, notification, amount, refusal, dedupe('parked'))
      : 'parked';
  const reserved: Payment = {
    ...payment,
    refundReserved: (payment.refundReserved ?? 0) + amount,
    refundIds: [...(payment.refundIds ?? []), refundId],
  };
  const refund = externalRefund({
    refundId,
    payment,
    amount,
    now,
    reason: `${notification.provider} ${notification.via}: ${notification.providerStatus}`,
    ref: notification.eventId,
    set: {
      succeededAt: notification.occurredAt,
      providerStatus: notification.providerStatus,
      ...(notification.providerRefundId ? { providerRefundId: notification.providerRefundId } : {}),
    },
  });
  const order = await deps.repo.getOrder(payment.orderId);
  const ended = refundEnded(refund, reserved, order, now);
  const writes: Write[] = [
    dedupe('applied'),
    { kind: 'createRefund', refund },
    { kind: 'updatePayment', before: payment, after: ended.payment },
  ];
  if (ended.order && order) writes.push({ kind: 'updateOrder', before: order, after: ended.order });
  await commitWithEvents(deps, writes, refundStatusEvents(refund, ended.order, order));
  deps.metrics.count(Metric.ExternalRefund, 1, { provider: notification.provider });
  deps.logger.error('refund made outside this service recorded', { refundId, paymentId: payment.paymentId, amount });
  return 'applied';
}
