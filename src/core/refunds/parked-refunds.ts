import { businessDateOf } from '../../domain/bill';
import { AlreadyExistsError } from '../../domain/errors';
import type { Fen } from '../../domain/money';
import type { RefundNotification } from '../../domain/notification';
import type { Payment } from '../../domain/payment';
import { differenceEvent, PARKED_KINDS, type ReconciliationDifference } from '../../domain/reconciliation';
import { externalRefundId, type externalRefundRefusal } from '../../domain/refund';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { Commit, Write } from '../kernel/ports';
import type { OrderStore } from '../orders/ports';
import { commitWithEvents } from '../outbox/outbox';
import { applyNotification, notificationFromQuery } from '../payments/notifications';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from './ports';

/**
 * Refund notifications we could not book (docs/ARCHITECTURE.md#parked-refund-notifications): a
 * refund of a payment we do not hold as succeeded, or more than the payment has left. Each is
 * parked as a reconciliation difference of its own, with the notification, under the day it came
 * (alarmed, and on the admin reconciliation API); that day's reconciliation books it once it fits.
 */

type Refusal = NonNullable<ReturnType<typeof externalRefundRefusal>>;
/** Settling books the refund, and may first apply the payment's success as its provider confirms it. */
type SettleDeps = Uses<
  PaymentStore & OrderStore & RefundStore & Commit,
  'clock' | 'metrics' | 'logger' | 'providers' | 'refunds'
>;

/** Our id for the refund a notification reports: the provider's number for it, else its notification's. */
export const externalIdOf = (notification: RefundNotification) =>
  externalRefundId(
    notification.provider,
    notification.providerRefundId ?? notification.refundId ?? notification.eventId,
  );

/** Records the notification as decided (`parked`) together with its difference and event, in one transaction. */
export async function parkRefundNotification(
  deps: Uses<Commit, 'clock' | 'metrics' | 'logger'>,
  payment: Payment,
  notification: RefundNotification,
  amount: Fen,
  refusal: Refusal,
  dedupe: Write,
) {
  const now = deps.clock.now();
  const date = businessDateOf(now);
  const difference: ReconciliationDifference = {
    kind: refusal.kind,
    paymentId: payment.paymentId,
    refundId: notification.providerRefundId ?? notification.refundId ?? notification.eventId,
    ...(notification.providerTransactionId ? { providerTransactionId: notification.providerTransactionId } : {}),
    ours: { status: payment.status, amount: payment.amount },
    theirs: { status: notification.providerStatus, amount },
    healed: false,
    resolution: refusal.why,
    notification,
  };
  const writes: Write[] = [dedupe, { kind: 'recordDifference', provider: notification.provider, date, difference }];
  // A refund is news that the payment succeeded: the sweeper asks its provider on its next run.
  if (payment.status === 'processing' && !payment.needsReview) {
    const nudged = {
      ...payment,
      nextQueryAt: now.toISOString(),
      updatedAt: now.toISOString(),
      version: payment.version + 1,
    };
    writes.push({ kind: 'updatePayment', before: payment, after: nudged });
  }
  try {
    await commitWithEvents(deps, writes, [differenceEvent(now, notification.provider, date, difference, payment)]);
  } catch (error) {
    // Another notification of the same refund parked it today already.
    if (!(error instanceof AlreadyExistsError)) throw error;
    await deps.repo.commit([dedupe]);
  }
  deps.metrics.count(Metric.RefundNotificationParked, 1, { provider: notification.provider, kind: refusal.kind });
  deps.logger.error('refund notification parked', {
    paymentId: payment.paymentId,
    eventId: notification.eventId,
    amount,
    why: refusal.why,
  });
  return 'parked' as const;
}

/**
 * Tries to book a parked refund once more: a payment not yet succeeded is first confirmed by its
 * provider's query and the success applied as a late callback would be, then the refund is
 * applied as its notification. How it was settled, or undefined while it still does not fit.
 */
export async function settleParkedRefund(
  deps: SettleDeps,
  difference: ReconciliationDifference,
  apply: (notification: RefundNotification) => Promise<unknown>,
): Promise<string | undefined> {
  const { notification } = difference;
  if (!PARKED_KINDS.includes(difference.kind) || !notification) return undefined;
  const payment = await deps.repo.getPayment(notification.paymentId);
  if (!payment) return undefined;
  const confirmed = payment.status === 'succeeded' ? '' : await confirmedPaid(deps, payment);
  if (confirmed === undefined) return undefined;
  // A new dedupe id for this attempt, the same refund id: the refund is recorded under the id it would have had.
  const refundId = notification.refundId ?? (notification.providerRefundId ? undefined : notification.eventId);
  await apply({
    ...notification,
    eventId: `${notification.eventId}:settled:${deps.clock.now().toISOString()}`,
    ...(refundId ? { refundId } : {}),
  });
  if (!(await deps.repo.getRefund(externalIdOf(notification)))) return undefined;
  return `${confirmed}refund recorded as an external refund`;
}

/** The payment confirmed paid by its provider's query and that success applied; undefined when the provider does not say paid. */
async function confirmedPaid(deps: SettleDeps, payment: Payment): Promise<string | undefined> {
  const provider = deps.providers[payment.method];
  if (!provider?.queryPayment) return undefined;
  try {
    const state = await provider.queryPayment(payment.paymentId, deps.clock.now());
    const notification = state.status === 'paid' ? notificationFromQuery(payment, state, deps.clock.now()) : undefined;
    if (!notification) return undefined;
    await applyNotification(deps, notification);
  } catch (error) {
    deps.logger.warn('parked refund: the payment could not be confirmed', {
      paymentId: payment.paymentId,
      error: String(error),
    });
    return undefined;
  }
  return (await deps.repo.getPayment(payment.paymentId))?.status === 'succeeded'
    ? "payment confirmed by the provider's query; "
    : undefined;
}
