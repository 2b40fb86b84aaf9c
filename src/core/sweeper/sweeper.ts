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
import { ProviderNotSupportedError, type ProviderPaymentState } from '../payments/provider';
import type { Deps } from '../kernel/deps';
import { recordPaymentsInFlight } from './in-flight';
import { Metric } from '../kernel/metric-names';
import { applyNotification, notificationFromQuery } from '../payments/notifications';
import { orderChangeWrites } from '../orders/order-writes';
import { commitWithEvents } from '../outbox/outbox';
import { providerFor } from '../payments/payments';
import { queryRefund, sendRefund } from '../refunds/refunds';
import type { Refund } from '../../domain/refund';
import type { Page } from '../kernel/ports';
import { type LaneTask, WorkLanes } from './work-lanes';

/**
 * Due work runs in lanes: one per provider for work that calls it, one for work that calls none
 * (unstarted expiries, reminders, unpaid orders). Each lane has this many workers, so a provider
 * that hangs or fails holds up only its own lane, and every lane has the run's whole budget.
 */
export const PROVIDER_CONCURRENCY = 4;
const NO_PROVIDER_LANE = 'no-provider';
/** Pages of due work read ahead of the workers: enough to reach other lanes past a stuck one. */
const READ_AHEAD_PAGES = 10;
/** How long past its budget a run waits for calls in flight (not for hung ones) so that it can report them. */
export const IN_FLIGHT_GRACE_MS = 5_000;
/** A failed provider close is retried on the next run after this long. */
const CLOSE_RETRY_MS = 60_000;

export type SweepAction =
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
  | 'skipped';

export interface SweepReport {
  handled: number;
  actions: Partial<Record<SweepAction, number>>;
  /** True when the time budget ran out with due work left for the next run. */
  budgetExhausted: boolean;
  /** Seconds the oldest due payment left unhandled has been waiting (0 when none was left). */
  lagSeconds: number;
}

/**
 * One scheduled run: walks the due index page by page (never a table scan) until the time budget
 * is spent, and for each due payment does what is due: expire it, remind the customer, or ask the
 * provider about it, in the lane of the provider it calls (see PROVIDER_CONCURRENCY); and it
 * cancels orders left unpaid too long. Every write is conditional, so overlapping runs, racing
 * callbacks and calls left hanging at the end of a run settle on exactly one outcome; whatever is
 * left is picked up by the next run.
 */
export async function sweep(deps: Deps): Promise<SweepReport> {
  const lanes = new WorkLanes(PROVIDER_CONCURRENCY, performance.now() + deps.sweeper.budgetMs);
  const now = deps.clock.now();
  const report: SweepReport = { handled: 0, actions: {}, budgetExhausted: false, lagSeconds: 0 };
  let reported = false;
  const task = (dueAt: string, what: Record<string, string>, handle: () => Promise<SweepAction>): LaneTask => ({
    dueAt,
    run: () =>
      handle().then(
        (action) => {
          if (reported) return; // a call that hung past the run's end: the next run sees what it did
          report.handled++;
          report.actions[action] = (report.actions[action] ?? 0) + 1;
        },
        (error) => deps.logger.error('sweeper could not handle due work; next run retries', { ...what, error: String(error) }),
      ),
  });
  const unpaidSince = new Date(now.getTime() - deps.orders.unpaidCancelMinutes * 60_000);
  try {
    const moreDue = await Promise.all([
      feed(
        deps,
        lanes,
        (cursor) => deps.repo.findDuePayments(now, { limit: deps.sweeper.batchSize, cursor }),
        (payment) => {
          const lane = providerLookDue(payment, now) ? payment.method : NO_PROVIDER_LANE;
          lanes.add(
            lane,
            task(dueAt(payment), { paymentId: payment.paymentId }, () => handleDuePayment(deps, payment, now)),
          );
        },
      ),
      feed(
        deps,
        lanes,
        (cursor) => deps.repo.findDueRefunds(now, { limit: deps.sweeper.batchSize, cursor }),
        (refund) => {
          lanes.add(
            refund.method,
            task(refund.nextAttemptAt ?? refund.updatedAt, { refundId: refund.refundId }, () => handleDueRefund(deps, refund, now)),
          );
        },
      ),
      feed(
        deps,
        lanes,
        (cursor) => deps.repo.findUnpaidOrders(unpaidSince, { limit: deps.sweeper.batchSize, cursor }),
        (order) => {
          const dueAt = unpaidCancelAt(order, deps.orders.unpaidCancelMinutes) ?? order.updatedAt;
          lanes.add(
            NO_PROVIDER_LANE,
            task(dueAt, { orderId: order.orderId }, () => cancelUnpaidOrder(deps, order, now)),
          );
        },
      ),
    ]);
    await lanes.until(() => lanes.unfinished().length === 0);
    await lanes.until(() => lanes.running() === 0, IN_FLIGHT_GRACE_MS);
    const left = lanes
      .unfinished()
      .map((work) => work.dueAt)
      .sort();
    report.budgetExhausted = moreDue.includes(true) || left.length > 0;
    report.lagSeconds = left[0] ? Math.max(0, Math.round((now.getTime() - Date.parse(left[0])) / 1000)) : 0;
  } finally {
    reported = true;
  }

  await recordPaymentsInFlight(deps, now);
  deps.metrics.count(Metric.SweeperHandled, report.handled);
  deps.metrics.observe(Metric.SweeperLagSeconds, report.lagSeconds, 'Seconds');
  deps.logger.info('sweep finished', { ...report });
  return report;
}

/**
 * Reads one kind of due work into the lanes, a few pages ahead of the workers, until it is read
 * or the time is up. Out of time, the next page is still read (and left whole, nothing starts
 * after the deadline): only it tells whether due work is left and how late it is. True when some is.
 */
async function feed<T>(deps: Deps, lanes: WorkLanes, readPage: (cursor?: string) => Promise<Page<T>>, add: (item: T) => void): Promise<boolean> {
  const readAhead = READ_AHEAD_PAGES * deps.sweeper.batchSize;
  let cursor: string | undefined;
  for (;;) {
    const page = await readPage(cursor);
    page.items.forEach(add);
    cursor = page.cursor;
    if (!cursor) return false;
    if (lanes.outOfTime()) return true;
    await lanes.until(() => lanes.queued() < readAhead);
  }
}

/**
 * An order left without an open payment for the policy's unpaid minutes: cancelled, its stock
 * released. Conditional on the order as read, so a customer paying again meanwhile wins.
 */
async function cancelUnpaidOrder(deps: Deps, order: Order, now: Date): Promise<SweepAction> {
  const cancelAt = unpaidCancelAt(order, deps.orders.unpaidCancelMinutes);
  if (!cancelAt || cancelAt > now.toISOString()) return 'skipped';
  const cancelled = cancelledOrder(order, now, 'unpaid');
  const event = orderEvent('OrderCancelled', cancelled, { reason: cancelled.cancelReason, unpaidSince: order.unpaidSince });
  try {
    await commitWithEvents(deps, orderChangeWrites(order, cancelled), [event]);
  } catch (error) {
    if (error instanceof StaleStateError) return 'skipped';
    throw error;
  }
  deps.metrics.count(Metric.OrdersCancelled, 1, { reason: 'unpaid' });
  return 'order_cancelled';
}

/**
 * An open refund whose time has come: a pending one is sent (again, under the same id: one refund
 * at the provider however often), a processing or abnormal one is queried. Never ended on a local timer.
 */
async function handleDueRefund(deps: Deps, refund: Refund, now: Date): Promise<SweepAction> {
  const current = await deps.repo.getRefund(refund.refundId);
  if (!current?.nextAttemptAt || current.nextAttemptAt > now.toISOString()) return 'skipped';
  if (current.status === 'pending') {
    await sendRefund(deps, current);
    return 'refund_sent';
  }
  await queryRefund(deps, current);
  return 'refund_queried';
}

const dueAt = (payment: Payment) => nextSweepAt(payment) ?? payment.expiresAt;

export async function handleDuePayment(deps: Deps, payment: Payment, now: Date): Promise<SweepAction> {
  const due = nextSweepAt(payment);
  if (due === undefined) return 'skipped'; // ended or parked since the page was read
  const isDue = (at?: string) => at !== undefined && at <= now.toISOString();
  if (!isDue(due)) return 'waiting';
  const expired = isDue(payment.expiresAt);
  if (payment.status === 'init') return expired ? expire(deps, payment, now, 'not started before expiry') : remind(deps, payment, now);
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
async function remind(deps: Deps, payment: Payment, now: Date): Promise<SweepAction> {
  if (!payment.remindAt || payment.reminderSentAt || payment.remindAt > now.toISOString()) return 'skipped';
  const after: Payment = { ...payment, reminderSentAt: now.toISOString(), updatedAt: now.toISOString(), version: payment.version + 1 };
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

async function expire(deps: Deps, payment: Payment, now: Date, reason: string): Promise<SweepAction> {
  const order = await deps.repo.getOrder(payment.orderId);
  if (!order) return 'skipped';
  const settlement = settlePayment(payment, order, { to: 'expired', now, source: 'sweeper', reason });
  if (settlement.kind !== 'applied') return 'skipped';
  try {
    await commitWithEvents(
      deps,
      [{ kind: 'updatePayment', before: payment, after: settlement.payment }, ...(settlement.order ? orderChangeWrites(order, settlement.order) : [])],
      settlement.events,
    );
  } catch (error) {
    if (error instanceof StaleStateError) return 'skipped'; // a callback or the customer got there first
    throw error;
  }
  deps.metrics.count(Metric.PaymentExpired, 1, { provider: payment.method });
  return 'expired';
}

/**
 * A processing payment past its expiry may have been paid at 29:59 with the callback still on its
 * way: ask the provider first. Paid → applied as a success. Otherwise close it there, and only
 * once the provider can no longer take money, expire it here.
 */
async function expireProcessing(deps: Deps, payment: Payment, now: Date): Promise<SweepAction> {
  const provider = providerFor(deps, payment);
  const state = await queryProvider(deps, payment, now);
  if (state === 'unsupported') {
    // No query or close (the bank): its pay URL carries a signed expiry; wait out the clock skew grace.
    const providerClosesAt = closesAt(payment, deps.sweeper.expiryGraceSeconds);
    return now >= providerClosesAt
      ? expire(deps, payment, now, 'expired (provider refuses payment after the signed expiry)')
      : postpone(deps, payment, now, providerClosesAt.getTime() - now.getTime());
  }
  if (state === 'error') return postpone(deps, payment, now, CLOSE_RETRY_MS);
  if (state.status === 'paid' || state.status === 'failed') return settleFromQuery(deps, payment, state, now, CLOSE_RETRY_MS);
  if (state.status !== 'closed') {
    try {
      await provider.closePayment(payment.paymentId, now);
    } catch (error) {
      if (!(error instanceof ProviderNotSupportedError)) {
        deps.metrics.count(Metric.ProviderCloseFailed, 1, { provider: payment.method });
        deps.logger.warn('provider close failed; the payment stays processing until it succeeds', { paymentId: payment.paymentId, error: String(error) });
        await postpone(deps, payment, now, CLOSE_RETRY_MS);
        return 'close_failed';
      }
    }
  }
  return expire(deps, payment, now, state.status === 'closed' ? 'closed at the provider; expired' : 'expired unpaid; closed at the provider');
}

/** Lost callbacks: a processing payment is asked about at +60 s and then every few minutes. */
async function queryStuck(deps: Deps, payment: Payment, now: Date): Promise<SweepAction> {
  const state = await queryProvider(deps, payment, now);
  if (state === 'unsupported') return postpone(deps, payment, now, Date.parse(payment.expiresAt) - now.getTime());
  const queryEveryMs = deps.sweeper.queryEverySeconds * 1000;
  if (state === 'error' || state.status === 'pending' || state.status === 'not_found') return postpone(deps, payment, now, queryEveryMs);
  return settleFromQuery(deps, payment, state, now, queryEveryMs);
}

async function queryProvider(deps: Deps, payment: Payment, now: Date): Promise<ProviderPaymentState | 'unsupported' | 'error'> {
  try {
    return await providerFor(deps, payment).queryPayment(payment.paymentId, now);
  } catch (error) {
    if (error instanceof ProviderNotSupportedError) return 'unsupported';
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
async function settleFromQuery(deps: Deps, payment: Payment, state: ProviderPaymentState, now: Date, retryMs: number): Promise<SweepAction> {
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
async function postpone(deps: Deps, payment: Payment, now: Date, delayMs: number): Promise<SweepAction> {
  try {
    await deps.repo.commit([{ kind: 'updatePayment', before: payment, after: scheduleNextLook(payment, now, delayMs) }]);
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
  }
  return 'queried';
}
