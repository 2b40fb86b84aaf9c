import { Duration } from 'aws-cdk-lib';
import { GraphWidget, type IMetric, Metric as CloudWatchMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE } from '../src/core/kernel/metric-names';
import { WAITING_METRICS } from '../src/core/staff/waiting-counts';
import type { WaitingState } from '../src/domain/waiting';
import { SERVICE_NAME } from './payments-function';

/**
 * What waits for a person, by waiting state: the sweeper counts each state's attention set every
 * minute (src/core/staff/waiting-counts.ts). Each alarm names the list that finds the items and
 * the API call that settles them (docs/DEPLOY.md#waiting-for-a-person).
 */
export const WAITING_ALARMS: Readonly<Record<WaitingState, { id: string; description: string }>> = {
  needsReview: {
    id: 'WaitingNeedsReview',
    description:
      'Payments parked for review (the provider reported another amount): GET /api/admin/payments?flag=needsReview, then POST /api/admin/payments/{paymentId}/review {decision: accept|refund, reason}.',
  },
  refundOwed: {
    id: 'WaitingRefundOwed',
    description:
      'Money a payment took that its order does not keep and no refund gives back (an automatic refund failed): GET /api/admin/payments?flag=refundOwed, then POST /api/admin/payments/{paymentId}/refund-owed {reason}.',
  },
  abnormalRefund: {
    id: 'WaitingAbnormalRefund',
    description:
      'Refunds the provider could not pay back (WeChat ABNORMAL): GET /api/admin/refunds?status=abnormal; re-submit on the merchant platform, or pay the customer another way and POST /api/admin/refunds/{refundId}/settle {action: settled-offline, reason}.',
  },
  openDifference: {
    id: 'WaitingOpenDifference',
    description:
      'Reconciliation differences neither healed nor resolved: GET /api/admin/differences, then POST /api/admin/differences/{differenceId}/resolve {reason}.',
  },
  deadLetter: {
    id: 'WaitingDeadLetter',
    description:
      'Provider notifications the worker gave up on: GET /api/admin/dead-letters (what failed, why, how often); fix the cause, then POST /api/admin/dead-letters/replay {reason} (or npm run dlq:replay).',
  },
};

// No label on the alarms' metric: a labelled metric makes CloudFormation's metric-query form of an alarm.
const waitingMetric = (state: WaitingState, label?: string) =>
  new CloudWatchMetric({
    namespace: METRICS_NAMESPACE,
    metricName: WAITING_METRICS[state],
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Maximum',
    period: Duration.minutes(5),
    ...(label ? { label } : {}),
  });

const STATES = Object.keys(WAITING_ALARMS) as WaitingState[];

export function waitingWidget(): GraphWidget {
  return new GraphWidget({
    title: 'Waiting for a person (open counts)',
    left: STATES.map((state) => waitingMetric(state, state)),
    width: 24,
  });
}

/** One alarm per waiting state, while anything waits in it (missing data: the sweeper's own alarm covers it). */
export function waitingAlarms(alarm: (id: string, description: string, metric: IMetric, threshold: number) => void) {
  for (const state of STATES)
    alarm(WAITING_ALARMS[state].id, WAITING_ALARMS[state].description, waitingMetric(state), 1);
}
