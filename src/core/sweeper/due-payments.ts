import { StaleStateError } from '../../domain/errors';
import { orderEvent, paymentEvent } from '../../domain/events';
import {
  cancelledOrder,
  closesAt,
  nextSweepAt,
  type Order,
  type Payment,
  providerLookDue,
  scheduleNextLook,
  settlePayment,
  unpaidCancelAt,
} from '../../domain';
import { ProviderBusyError, type ProviderPaymentState } from '../payments/provider';
import type { Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import { Metric } from '../kernel/metric-names';
import { applyNotification, notificationFromQuery } from '../payments/notifications';
import { orderChangeWrites } from '../orders/order-writes';
import type { OrderStore } from '../orders/ports';
import { commitWithEvents } from '../outbox/outbox';
import { providerFor } from '../payments/payments';
import type { PaymentStore } from '../payments/ports';

/** What the sweeper did with a piece of due work (counted by action in its report). */
export type SweepAction =
  | 'enqueued'
  | 'expired'
  | 'reminded'
  | 'rescued'
  | 'settled'
  | 'parked'
  | 'queried'
  | 'close_failed'
  | 'order_cancelled'
  | 'refund_sent'
  | 'refund_queried'
  | 'waiting'
  | 'provider_busy'
  | 'skipped';

/** A failed provider close is retried on the next run after this long. */
const CLOSE_RETRY_MS = 60_000;

/** Handling a due payment: it is settled by the notification path, its order moves with it. */
export type DuePaymentDeps = Uses<
  PaymentStore & OrderStore & Commit,
  'clock' | 'sweeper' | 'providers' | 'metrics' | 'logger' | 'refunds' | 'orders'
>;

export async function handleDuePayment(deps: DuePaymentDeps, payment: Payment, now: Date): Promise<SweepAction> {
  const due = nextSweepAt(payment);
  if (due === undefined) return 'skipped'; // ended or parked since the page was read
  const isDue = (at?: string) => at !== undefined && at <= now.toISOString();
  if (!isDue(due)) return 'waiting';
  const expired = isDue(payment.expiresAt);
  if (payment.status === 'init')
    return expired ? expire(deps, payment, now, 'not started before expiry') : remind(deps, payment, now);
  const lookDue = providerLookDue(payment, now);
  if (expired) return lookDue ? expireProcessing(deps, payment, now) : 'waiting';
  let current = payment;
  if (isDue(current.remindAt)) {
    const reminded = await remind(deps, current, now);
    if (!lookDue) return reminded;
    current = (await deps.repo.getPayment(current.paymentId)) ?? current; // the reminder bumped its version
    if (current.status !== 'processing') return reminded;
  }
  return lookDue ? queryStuck(deps, current, now) : 'waiting';
}

/** The reminder, exactly once: the flag is set by a write conditional on the version we read. */
async function remind(deps: DuePaymentDeps, payment: Payment, now: Date): Promise<SweepAction> {
  if (!payment.remindAt || payment.reminderSentAt || payment.remindAt > now.toISOString()) return 'skipped';
  const after: Payment = {
    ...payment,
    reminderSentAt: now.toISOString(),
    updatedAt: now.toISOString(),
    version: payment.version + 1,
  };
  delete after.remindAt;
  const minutesLeft = Math.max(0, Math.ceil((Date.parse(payment.expiresAt) - now.getTime()) / 60_000));
  const event = paymentEvent('PaymentExpiringSoon', after, {
    expiresAt: payment.expiresAt,
    minutesLeft,
    ...(payment.payUrl ? { payUrl: payment.payUrl } : {}),
  });
  try {
    await commitWithEvents(deps, [{ kind: 'updatePayment', before: payment, after }], [event]);
  } catch (error) {
    if (error instanceof StaleStateError) return 'skipped'; // another run reminded, or the payment moved on
    throw error;
  }
  deps.metrics.count(Metric.RemindersSent, 1, { provider: payment.method });
  return 'reminded';
}

async function expire(deps: DuePaymentDeps, payment: Payment, now: Date, reason: string): Promise<SweepAction> {
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order) return 'skipped';
  const settlement = settlePayment(payment, order, { to: 'expired', now, source: 'sweeper', reason });
  if (settlement.kind !== 'applied') return 'skipped';
  const orderAfter = settlement.order && cancelledAtOnce(deps, settlement.order, now);
  try {
    await commitWithEvents(
      deps,
      [
        { kind: 'updatePayment', before: payment, after: settlement.payment },
        ...(orderAfter ? orderChangeWrites(order, orderAfter) : []),
      ],
      [
        ...settlement.events,
        ...(orderAfter?.status === 'cancelled'
          ? [orderEvent('OrderCancelled', orderAfter, { reason: 'unpaid', unpaidSince: settlement.order?.unpaidSince })]
          : []),
      ],
    );
  } catch (error) {
    if (error instanceof StaleStateError) return 'skipped'; // a callback or the customer got there first
    throw error;
  }
  deps.metrics.count(Metric.PaymentExpired, 1, { provider: payment.method });
  if (orderAfter?.status === 'cancelled') deps.metrics.count(Metric.OrdersCancelled, 1, { reason: 'unpaid' });
  return 'expired';
}

/**
 * The order an expiry leaves without an open payment, cancelled in the same transaction (its stock
 * back on sale at once) when the shop's unpaid-order time is 0 (ORDER_UNPAID_CANCEL_MINUTES: the
 * setting for a flash sale); otherwise left pending for the customer to pay again, as it was.
 */
function cancelledAtOnce(deps: Pick<DuePaymentDeps, 'orders'>, order: Order, now: Date): Order {
  const cancelAt = unpaidCancelAt(order, deps.orders.unpaidCancelMinutes);
  return cancelAt && cancelAt <= now.toISOString() ? cancelledOrder(order, now, 'unpaid') : order;
}

/**
 * A processing payment past its expiry may have been paid at 29:59 with the callback still on its
 * way: ask the provider first. Paid → applied as a success. Otherwise close it there, and only
 * once the provider can no longer take money, expire it here.
 */
async function expireProcessing(deps: DuePaymentDeps, payment: Payment, now: Date): Promise<SweepAction> {
  const provider = providerFor(deps, payment);
  const state = await queryProvider(deps, payment, now);
  // No query or close (the bank): its pay URL carries a signed expiry; wait out the clock skew grace.
  if (state === 'unsupported') return expireAfterSignedExpiry(deps, payment, now, 'the provider has no close');
  if (state === 'error') return postpone(deps, payment, now, CLOSE_RETRY_MS);
  if (state.status === 'paid' || state.status === 'failed')
    return settleFromQuery(deps, payment, state, now, CLOSE_RETRY_MS);
  if (state.status === 'closed') return expire(deps, payment, now, 'closed at the provider; expired');
  let closed: Awaited<ReturnType<NonNullable<typeof provider.closePayment>>> | 'unsupported';
  try {
    closed = provider.closePayment ? await provider.closePayment(payment.paymentId, now) : 'unsupported';
  } catch (error) {
    if (error instanceof ProviderBusyError) throw error; // not a failure: the worker asks again later
    deps.metrics.count(Metric.ProviderCloseFailed, 1, { provider: payment.method });
    deps.logger.warn('provider close failed; the payment stays processing until it succeeds', {
      paymentId: payment.paymentId,
      error: String(error),
    });
    await postpone(deps, payment, now, CLOSE_RETRY_MS);
    return 'close_failed';
  }
  // A close that found no trade (an unscanned Alipay QR) closed nothing: the checkout dies at its time_expire.
  if (closed !== 'closed')
    return expireAfterSignedExpiry(
      deps,
      payment,
      now,
      closed === 'no_trade' ? 'no trade to close' : 'the provider has no close',
    );
  return expire(deps, payment, now, 'expired unpaid; closed at the provider');
}

/**
 * A checkout the provider could not close stays payable until the expiry signed into it
 * (time_expire, the bank's expires_at): expired once that and the clock-skew grace have passed.
 * A payment that arrives later anyway is applied as a late payment.
 */
function expireAfterSignedExpiry(deps: DuePaymentDeps, payment: Payment, now: Date, why: string): Promise<SweepAction> {
  const providerClosesAt = closesAt(payment, deps.sweeper.expiryGraceSeconds);
  return now >= providerClosesAt
    ? expire(deps, payment, now, `expired (${why}: the provider refuses payment after the signed expiry)`)
    : postpone(deps, payment, now, providerClosesAt.getTime() - now.getTime());
}

/** Lost callbacks: a processing payment is asked about at +60 s and then every few minutes. */
async function queryStuck(deps: DuePaymentDeps, payment: Payment, now: Date): Promise<SweepAction> {
  const state = await queryProvider(deps, payment, now);
  if (state === 'unsupported') return postpone(deps, payment, now, Date.parse(payment.expiresAt) - now.getTime());
  const queryEveryMs = deps.sweeper.queryEverySeconds * 1000;
  if (state === 'error' || state.status === 'pending' || state.status === 'not_found')
    return postpone(deps, payment, now, queryEveryMs);
  return settleFromQuery(deps, payment, state, now, queryEveryMs);
}

async function queryProvider(
  deps: DuePaymentDeps,
  payment: Payment,
  now: Date,
): Promise<ProviderPaymentState | 'unsupported' | 'error'> {
  const provider = providerFor(deps, payment);
  if (!provider.queryPayment) return 'unsupported';
  try {
    return await provider.queryPayment(payment.paymentId, now);
  } catch (error) {
    if (error instanceof ProviderBusyError) throw error; // not a failure: the worker asks again later
    deps.metrics.count(Metric.ProviderQueryFailed, 1, { provider: payment.method });
    deps.logger.warn('provider query failed', { paymentId: payment.paymentId, error: String(error) });
    return 'error';
  }
}

/**
 * The provider's answer goes through exactly the path a callback takes (dedupe, transaction, events).
 * An answer that decides nothing (applied once already) moves the next look `retryMs` later, so a
 * payment is never asked about on every run.
 */
async function settleFromQuery(
  deps: DuePaymentDeps,
  payment: Payment,
  state: ProviderPaymentState,
  now: Date,
  retryMs: number,
): Promise<SweepAction> {
  const notification = notificationFromQuery(payment, state, deps.clock.now());
  if (!notification) return 'waiting';
  const paid = state.status === 'paid';
  const result = await applyNotification(deps, notification);
  if (result === 'applied') {
    if (!paid) return 'settled';
    deps.metrics.count(Metric.PaymentsRescuedByQuery, 1, { provider: payment.method });
    return 'rescued';
  }
  if (result === 'amount_mismatch') return 'parked';
  const current = await deps.repo.getPayment(payment.paymentId);
  return current && nextSweepAt(current) !== undefined ? postpone(deps, current, now, retryMs) : 'settled';
}

/** Moves the payment's next look later (a conditional write; losing a race just means someone else acted). */
async function postpone(deps: DuePaymentDeps, payment: Payment, now: Date, delayMs: number): Promise<SweepAction> {
  try {
    await deps.repo.commit([
      { kind: 'updatePayment', before: payment, after: scheduleNextLook(payment, now, delayMs) },
    ]);
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
  }
  return 'queried';
}
