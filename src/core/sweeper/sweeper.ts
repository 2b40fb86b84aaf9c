import type { NotificationStore } from '../payments/notification-ports';
import type { ReconciliationStore } from '../reconciliation/ports';
import { StaleStateError } from '../../domain/errors';
import { orderEvent } from '../../domain/events';
import { cancelledOrder, nextSweepAt, type Order, type Payment, unpaidCancelAt } from '../../domain';
import type { Refund } from '../../domain/refund';
import type { Deps, Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { Commit } from '../kernel/ports';
import type { Page } from '../kernel/page';
import { orderChangeWrites } from '../orders/order-writes';
import { commitWithEvents } from '../outbox/outbox';
import { queryRefund, type RefundCallDeps, sendRefund } from '../refunds/refunds';
import type { DuePaymentDeps, SweepAction } from './due-payments';
import { recordPaymentsInFlight } from './in-flight';
import { recordWaitingForStaff } from '../staff/waiting-counts';
import { rebalanceStock } from './rebalance';
import type { ProductStore } from '../orders/ports';
import { type LaneTask, WorkLanes } from './work-lanes';

/** A run touches every store: it hands due payments on, cancels orders, follows refunds up, counts what waits for staff and rebalances sharded stock. */
type SweepDeps = DuePaymentDeps &
  Pick<Deps, 'dueQueue'> &
  RefundCallDeps &
  Pick<Deps, 'orders' | 'refunds'> &
  Uses<ReconciliationStore & NotificationStore & ProductStore>;

/**
 * Refunds and unpaid orders run in lanes: one per provider for work that calls it, one for work
 * that calls none (unpaid orders); due payments go to the expiry worker (expiry-worker.ts). Each lane has this many workers, so a provider
 * that hangs or fails holds up only its own lane, and every lane has the run's whole budget.
 */
export const PROVIDER_CONCURRENCY = 4;
const NO_PROVIDER_LANE = 'no-provider';
/** Pages of due work read ahead of the workers: enough to reach other lanes past a stuck one. */
const READ_AHEAD_PAGES = 10;
/** How long past its budget a run waits for calls in flight (not for hung ones) so that it can report them. */
export const IN_FLIGHT_GRACE_MS = 5_000;

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
 * is spent. Due payments are only found and enqueued: the expiry worker expires, reminds or asks
 * the provider, as wide as its concurrency. Due refunds are sent or queried in the lane of their
 * provider (see PROVIDER_CONCURRENCY), and orders left unpaid too long are cancelled. Every write is conditional, so overlapping runs, racing
 * callbacks and calls left hanging at the end of a run settle on exactly one outcome; whatever is
 * left is picked up by the next run.
 */
export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const lanes = new WorkLanes(PROVIDER_CONCURRENCY, performance.now() + deps.sweeper.budgetMs);
  const now = deps.clock.now();
  const report: SweepReport = { handled: 0, actions: {}, budgetExhausted: false, lagSeconds: 0 };
  const tasks = reportingTasks(report, deps.logger);
  try {
    const moreDue = await feedDueWork(deps, lanes, tasks.task, now, report);
    await lanes.until(() => lanes.unfinished().length === 0);
    await lanes.until(() => lanes.running() === 0, IN_FLIGHT_GRACE_MS);
    const left = [
      ...lanes.unfinished().map((work) => work.dueAt),
      ...moreDue.filter((more): more is string => typeof more === 'string'),
    ].sort();
    report.budgetExhausted = moreDue.some((more) => more !== false) || left.length > 0;
    report.lagSeconds = left[0] ? Math.max(0, Math.round((now.getTime() - Date.parse(left[0])) / 1000)) : 0;
  } finally {
    tasks.close();
  }

  await recordPaymentsInFlight(deps, now);
  await recordWaitingForStaff(deps);
  await rebalanceStock(deps);
  deps.metrics.count(Metric.SweeperHandled, report.handled);
  deps.metrics.observe(Metric.SweeperLagSeconds, report.lagSeconds, 'Seconds');
  deps.logger.info('sweep finished', { ...report });
  return report;
}

type TaskOf = (dueAt: string, what: Record<string, string>, handle: () => Promise<SweepAction>) => LaneTask;

/** Lane tasks that count what they did into the report, until it is closed: a call that hung past the run's end counts for nothing (the next run sees what it did). */
function reportingTasks(report: SweepReport, logger: Deps['logger']): { task: TaskOf; close(): void } {
  let closed = false;
  const task: TaskOf = (dueAt, what, handle) => ({
    dueAt,
    run: () =>
      handle().then(
        (action) => {
          if (closed) return;
          report.handled++;
          report.actions[action] = (report.actions[action] ?? 0) + 1;
        },
        (error) =>
          logger.error('sweeper could not handle due work; next run retries', { ...what, error: String(error) }),
      ),
  });
  return { task, close: () => (closed = true) };
}

/** The three kinds of due work: payments onto the expiry worker's queue, the rest into the lanes; true for each that has some left. */
function feedDueWork(
  deps: SweepDeps,
  lanes: WorkLanes,
  task: TaskOf,
  now: Date,
  report: SweepReport,
): Promise<Array<boolean | string>> {
  const unpaidSince = new Date(now.getTime() - deps.orders.unpaidCancelMinutes * 60_000);
  const page = { limit: deps.sweeper.batchSize };
  return Promise.all([
    enqueueDuePayments(deps, lanes, now, report),
    feed(
      deps,
      lanes,
      (cursor) => deps.repo.findDueRefunds(now, { ...page, cursor }),
      (refund) =>
        lanes.add(
          refund.method,
          task(refund.nextAttemptAt ?? refund.updatedAt, { refundId: refund.refundId }, () =>
            handleDueRefund(deps, refund, now),
          ),
        ),
    ),
    feed(
      deps,
      lanes,
      (cursor) => deps.repo.findUnpaidOrders(unpaidSince, { ...page, cursor }),
      (order) => {
        const dueAt = unpaidCancelAt(order, deps.orders.unpaidCancelMinutes) ?? order.updatedAt;
        lanes.add(
          NO_PROVIDER_LANE,
          task(dueAt, { orderId: order.orderId }, () => cancelUnpaidOrder(deps, order, now)),
        );
      },
    ),
  ]);
}

/**
 * Due payments onto the expiry worker's queue, a page at a time (docs/ARCHITECTURE.md#the-expiry-wave):
 * finding is cheap, the provider calls are the worker's. Out of time with pages left, it reads one
 * more (enqueueing nothing) and answers the oldest due time there, for the lag; false when all were read.
 */
async function enqueueDuePayments(
  deps: SweepDeps,
  lanes: WorkLanes,
  now: Date,
  report: SweepReport,
): Promise<boolean | string> {
  let cursor: string | undefined;
  for (;;) {
    const page = await deps.repo.findDuePayments(now, { limit: deps.sweeper.batchSize, cursor });
    if (cursor && lanes.outOfTime()) return page.items[0] ? dueAt(page.items[0]) : true;
    const messages = page.items.map((payment) => ({ paymentId: payment.paymentId, dueAt: dueAt(payment) }));
    if (messages.length > 0) await deps.dueQueue.enqueue(messages);
    report.handled += messages.length;
    report.actions.enqueued = (report.actions.enqueued ?? 0) + messages.length;
    deps.metrics.count(Metric.DuePaymentsEnqueued, messages.length);
    cursor = page.cursor;
    if (!cursor) return false;
  }
}

/**
 * Reads one kind of due work into the lanes, a few pages ahead of the workers, until it is read
 * or the time is up. Out of time, the next page is still read (and left whole, nothing starts
 * after the deadline): only it tells whether due work is left and how late it is. True when some is.
 */
async function feed<T>(
  deps: Pick<Deps, 'sweeper'>,
  lanes: WorkLanes,
  readPage: (cursor?: string) => Promise<Page<T>>,
  add: (item: T) => void,
): Promise<boolean> {
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
async function cancelUnpaidOrder(
  deps: Uses<Commit, 'clock' | 'orders' | 'metrics'>,
  order: Order,
  now: Date,
): Promise<SweepAction> {
  const cancelAt = unpaidCancelAt(order, deps.orders.unpaidCancelMinutes);
  if (!cancelAt || cancelAt > now.toISOString()) return 'skipped';
  const cancelled = cancelledOrder(order, now, 'unpaid');
  const event = orderEvent('OrderCancelled', cancelled, {
    reason: cancelled.cancelReason,
    unpaidSince: order.unpaidSince,
  });
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
async function handleDueRefund(deps: SweepDeps, refund: Refund, now: Date): Promise<SweepAction> {
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
