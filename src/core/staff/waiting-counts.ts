import type { WaitingState } from '../../domain/waiting';
import type { Uses } from '../kernel/deps';
import { Metric, type MetricName } from '../kernel/metric-names';
import type { NotificationStore } from '../payments/notification-ports';
import type { PaymentStore } from '../payments/ports';
import type { ReconciliationStore } from '../reconciliation/ports';
import type { RefundStore } from '../refunds/ports';

/** Each waiting state's gauge: the dashboard's open counts and the alarm a person settles (docs/DEPLOY.md). */
export const WAITING_METRICS: Readonly<Record<WaitingState, MetricName>> = {
  needsReview: Metric.WaitingNeedsReview,
  refundOwed: Metric.WaitingRefundOwed,
  abnormalRefund: Metric.WaitingAbnormalRefund,
  openDifference: Metric.WaitingOpenDifference,
  deadLetter: Metric.WaitingDeadLetter,
};

type CountDeps = Uses<PaymentStore & RefundStore & ReconciliationStore & NotificationStore>;

/** How many items wait in each state: one COUNT query of its small attention set each. */
export async function countWaiting(deps: CountDeps): Promise<Record<WaitingState, number>> {
  const [needsReview, refundOwed, abnormalRefund, openDifference, deadLetter] = await Promise.all([
    deps.repo.countPaymentsWith('needsReview'),
    deps.repo.countPaymentsWith('refundOwed'),
    deps.repo.countAbnormalRefunds(),
    deps.repo.countOpenDifferences(),
    deps.repo.countDeadLetters(),
  ]);
  return { needsReview, refundOwed, abnormalRefund, openDifference, deadLetter };
}

/** Once per sweeper run, the open counts as gauges; a failed reading is only logged (the run's work is done). */
export async function recordWaitingForStaff(deps: CountDeps & Uses<unknown, 'metrics' | 'logger'>): Promise<void> {
  try {
    const counts = await countWaiting(deps);
    for (const [state, count] of Object.entries(counts))
      deps.metrics.observe(WAITING_METRICS[state as WaitingState], count, 'Count');
  } catch (error) {
    deps.logger.warn('waiting items not counted', { error: String(error) });
  }
}
