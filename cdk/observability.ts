import { Aws, Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric as CloudWatchMetric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { REFUND_STUCK_SECONDS } from '../src/core/sweeper/in-flight';
import { METRICS_NAMESPACE, Metric, type MetricName } from '../src/core/kernel/metric-names';
import { SERVICE_NAME } from './payments-function';
import { webhookAlarms, type WebhookResources } from './webhooks';
import { waitingAlarms, waitingWidget } from './waiting-observability';

export interface ObservabilityProps {
  /** Every payments function, for the concurrency figure. */
  readonly functions: readonly IFunction[];
  readonly worker: IFunction;
  /** The outbox publisher (the table's stream → the bus) and where it puts records it gave up on. */
  readonly publisher: IFunction;
  readonly outboxDeadLetters: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Due payments the expiry worker gave up on (cdk/expiry-wave.ts). */
  readonly dueDeadLetters: IQueue;
  /** The webhook queue and its DLQ, for webhook delivery's alarms (cdk/webhooks.ts). */
  readonly webhooks?: Pick<WebhookResources, 'queue' | 'deadLetterQueue'>;
  /** Where alarms are e-mailed; without it the topic has no subscriber. */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/** One of our EMF metrics, as the functions emit it (namespace + Powertools `service` dimension). */
function paymentsMetric(name: MetricName, statistic = 'Sum', period = FIVE_MINUTES): CloudWatchMetric {
  return new CloudWatchMetric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
  });
}

/** A metric's name as a math-expression id (`PaymentFailed` → `paymentFailed`), so expressions read as formulas. */
const mathId = (name: MetricName) => name.charAt(0).toLowerCase() + name.slice(1);

/** `100 * numerator / (sum of denominator)` as a percentage line. */
function percentage(label: string, numerator: MetricName, denominator: readonly MetricName[]): MathExpression {
  return new MathExpression({
    label,
    expression: `100 * ${mathId(numerator)} / (${denominator.map(mathId).join(' + ')})`,
    usingMetrics: Object.fromEntries([numerator, ...denominator].map((name) => [mathId(name), paymentsMetric(name)])),
    period: FIVE_MINUTES,
  });
}

/** The payments dashboard (the seed's five figures first) and the alarms that e-mail on-call. */
export class PaymentsObservability extends Construct {
  /** The dashboard in the CloudWatch console. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: FIVE_MINUTES,
    });
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `payments-${Aws.REGION}` });
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboard.dashboardName}`;
    paymentWidgets(dashboard, props);
    operationWidgets(dashboard, deadLetters);
    dashboard.addWidgets(waitingWidget());

    const alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Payments alarms', enforceSSL: true });
    if (props.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const alarm: AlarmOf = (id, description, metric, threshold, options = {}) =>
      new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: options.above
          ? ComparisonOperator.GREATER_THAN_THRESHOLD
          : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new SnsAction(alarmTopic));
    callbackAlarms(alarm, deadLetters);
    pipelineAlarms(alarm, props);
    refundAlarms(alarm);
    reconciliationAlarms(alarm);
    if (props.webhooks) webhookAlarms(alarm, props.webhooks);
    waitingAlarms(alarm);
  }
}

type AlarmOf = (
  id: string,
  description: string,
  metric: IMetric,
  threshold: number,
  options?: { above?: boolean; missing?: TreatMissingData },
) => void;

/** The seed's five figures, callback latency and concurrency. */
function paymentWidgets(dashboard: Dashboard, props: ObservabilityProps): void {
  const successRate = percentage('Payment success rate (%)', Metric.PaymentSucceeded, [
    Metric.PaymentSucceeded,
    Metric.PaymentFailed,
    Metric.PaymentCancelled,
    Metric.PaymentExpired,
  ]);
  const signatureFailureRate = percentage('Signature failures per callback (%)', Metric.SignatureFailure, [
    Metric.CallbackReceived,
  ]);
  const timeoutRate = percentage('Payments expired per payment created (%)', Metric.PaymentExpired, [
    Metric.PaymentsCreated,
  ]);
  dashboard.addWidgets(
    new GraphWidget({ title: 'Payment success rate', left: [successRate], leftYAxis: { min: 0, max: 100 }, width: 8 }),
    new GraphWidget({ title: 'Timeout rate', left: [timeoutRate], leftYAxis: { min: 0 }, width: 8 }),
    new GraphWidget({ title: 'Signature failure rate', left: [signatureFailureRate], leftYAxis: { min: 0 }, width: 8 }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Callback latency (ms)',
      left: [paymentsMetric(Metric.CallbackLatency, 'p50'), paymentsMetric(Metric.CallbackLatency, 'p99')],
      width: 12,
    }),
    new GraphWidget({
      title: 'Concurrency',
      left: props.functions.map((fn) =>
        fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: FIVE_MINUTES }),
      ),
      right: [paymentsMetric(Metric.PaymentsInFlight, 'Maximum')],
      width: 12,
    }),
  );
}

/** Dead letters, late payments, the sweeper, refunds and the reconciliation. */
function operationWidgets(dashboard: Dashboard, deadLetters: IMetric): void {
  dashboard.addWidgets(
    new GraphWidget({ title: 'Dead-letter queue depth', left: [deadLetters], width: 6 }),
    new GraphWidget({
      title: 'Late and duplicate payments',
      left: [paymentsMetric(Metric.LatePayment), paymentsMetric(Metric.DuplicatePayment)],
      width: 6,
    }),
    new GraphWidget({
      title: 'Sweeper lag (s)',
      left: [paymentsMetric(Metric.SweeperLagSeconds, 'Maximum')],
      width: 6,
    }),
    new GraphWidget({ title: 'Provider close failures', left: [paymentsMetric(Metric.ProviderCloseFailed)], width: 6 }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Refunds',
      left: [Metric.RefundRequested, Metric.RefundSucceeded, Metric.RefundFailed, Metric.RefundAbnormal].map((name) =>
        paymentsMetric(name),
      ),
      width: 12,
    }),
    new GraphWidget({
      title: 'Reconciliation: differences found, healed, left open',
      left: [paymentsMetric(Metric.ReconciliationDifference), paymentsMetric(Metric.ReconciliationHealed)],
      right: [
        paymentsMetric(Metric.ReconciliationOpenDifferences, 'Maximum'),
        paymentsMetric(Metric.ReconciliationBillMissing),
        paymentsMetric(Metric.ReconciliationFailed),
      ],
      width: 12,
    }),
    new GraphWidget({
      title: 'Refunds needing a person',
      left: [
        paymentsMetric(Metric.ExternalRefund),
        paymentsMetric(Metric.RefundNotificationParked),
        paymentsMetric(Metric.OldestOpenRefundAgeSeconds, 'Maximum'),
      ],
      right: [paymentsMetric(Metric.RefundCallFailed), paymentsMetric(Metric.RefundQueryFailed)],
      width: 12,
    }),
  );
}

/** What a callback or its queue can go wrong with. */
function callbackAlarms(alarm: AlarmOf, deadLetters: IMetric): void {
  alarm(
    'DeadLetters',
    'Notifications the worker gave up on are waiting in the DLQ (replay with npm run dlq:replay).',
    deadLetters,
    1,
  );
  alarm(
    'DuplicatePayment',
    'An order was paid more than once: refund the extra payment.',
    paymentsMetric(Metric.DuplicatePayment),
    1,
  );
  alarm(
    'TradeTypeMismatch',
    'A payment was paid in another scene than it was started in (WeChat trade_type): check the appids in the provider secret and the front end that started it.',
    paymentsMetric(Metric.TradeTypeMismatch),
    1,
  );
  alarm(
    'SceneNotEnabled',
    'A provider refused a checkout because the scene is not enabled on the merchant account (WeChat NO_AUTH, Alipay ACQ.ACCESS_FORBIDDEN): enable the product at the provider or remove the scene from the provider secret.',
    paymentsMetric(Metric.SceneNotEnabled),
    1,
  );
  alarm(
    'AmountMismatch',
    'A provider reported a paid amount that differs from the payment.',
    paymentsMetric(Metric.AmountMismatch),
    1,
  );
  // A refused genuine bank callback is lost (the bank has no query API): someone must look.
  alarm(
    'CallbackTooLarge',
    'A callback over the size bound was refused unread: a provider changed its format, or someone probes.',
    paymentsMetric(Metric.CallbackTooLarge),
    1,
  );
  alarm(
    'EventsUndeliverable',
    'A domain event too large for EventBridge was parked in the outbox: consumers will not see it.',
    paymentsMetric(Metric.EventsUndeliverable),
    1,
  );
  const [failures, received] = [mathId(Metric.SignatureFailure), mathId(Metric.CallbackReceived)];
  alarm(
    'SignatureFailureRate',
    'More than 5% of at least 20 callbacks in 5 minutes failed signature checks: rotated keys or probing.',
    new MathExpression({
      label: 'Signature failures per callback (%), 0 below 20 callbacks',
      expression: `IF(${received} >= 20, 100 * ${failures} / ${received}, 0)`,
      usingMetrics: {
        [failures]: paymentsMetric(Metric.SignatureFailure),
        [received]: paymentsMetric(Metric.CallbackReceived),
      },
      period: FIVE_MINUTES,
    }),
    5,
    { above: true },
  );
}

/** The outbox publisher, the worker and the sweeper. */
function pipelineAlarms(alarm: AlarmOf, props: ObservabilityProps): void {
  alarm(
    'OutboxPublisherBehind',
    "Domain events are waiting more than 5 minutes on the table's stream: the outbox publisher is failing (EventBridge down?).",
    new CloudWatchMetric({
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensionsMap: { FunctionName: props.publisher.functionName },
      statistic: 'Maximum',
      period: FIVE_MINUTES,
    }),
    300_000,
    { above: true },
  );
  alarm(
    'OutboxRecordsDiscarded',
    'The outbox publisher gave up on stream records after 24 hours: their events were never published (docs/DEPLOY.md).',
    props.outboxDeadLetters.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }),
    1,
  );
  alarm(
    'WorkerErrors',
    'The notification worker failed whole invocations.',
    props.worker.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
    1,
  );
  // The sweeper reports its lag on every run, so silence means it has stopped.
  alarm(
    'SweeperLag',
    'The sweeper is more than 5 minutes behind (or not running).',
    paymentsMetric(Metric.SweeperLagSeconds, 'Maximum'),
    300,
    {
      above: true,
      missing: TreatMissingData.BREACHING,
    },
  );
  alarm(
    'ExpiryLag',
    'Due payments wait more than 5 minutes for the expiry worker: reminders, expiries and stock coming back are late.',
    paymentsMetric(Metric.ExpiryLagSeconds, 'Maximum'),
    300,
    { above: true },
  );
  alarm(
    'ExpiryDeadLetters',
    'Due payments the expiry worker gave up on (5 receives) are in its DLQ; the sweeper keeps finding them while they stay due.',
    props.dueDeadLetters.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }),
    1,
  );
}

function refundAlarms(alarm: AlarmOf): void {
  alarm(
    'RefundFailed',
    'A provider refused or closed a refund: the customer has not been paid back.',
    paymentsMetric(Metric.RefundFailed),
    1,
  );
  alarm(
    'RefundAbnormal',
    'A provider could not pay a refund back (card cancelled or frozen): settle it on the merchant platform.',
    paymentsMetric(Metric.RefundAbnormal),
    1,
  );
  alarm(
    'ExternalRefund',
    'A refund was made outside this service (a provider console); it was recorded, check it was meant.',
    paymentsMetric(Metric.ExternalRefund),
    1,
  );
  alarm(
    'RefundNotificationParked',
    'A provider reported a refund our books cannot hold (a payment not succeeded in our books, or more than it has left); parked: see GET /api/admin/reconciliation/{date}.',
    paymentsMetric(Metric.RefundNotificationParked),
    1,
  );
  alarm(
    'RefundsStuck',
    'A refund has stayed open for more than a day.',
    paymentsMetric(Metric.OldestOpenRefundAgeSeconds, 'Maximum'),
    REFUND_STUCK_SECONDS,
    {
      above: true,
    },
  );
}

/** The daily reconciliation, and closes at the providers. */
function reconciliationAlarms(alarm: AlarmOf): void {
  alarm(
    'ReconciliationOpenDifferences',
    "A provider's bill and our ledger differ in ways the reconciliation could not heal: see GET /api/admin/reconciliation/{date}.",
    paymentsMetric(Metric.ReconciliationOpenDifferences, 'Maximum', Duration.hours(1)),
    1,
  );
  alarm(
    'ReconciliationHealsFailing',
    'A difference the reconciliation heals by itself is still open after the hourly retry re-ran its day: POST /api/admin/reconciliation/{provider}/{date}/re-run once the provider answers again, or resolve it (POST /api/admin/differences/{differenceId}/resolve).',
    paymentsMetric(Metric.ReconciliationUnhealed, 'Minimum', Duration.hours(3)),
    1,
  );
  alarm(
    'ReconciliationBillMissing',
    "A provider's bill was still not published at the reconciliation cut-off: that day is not reconciled.",
    paymentsMetric(Metric.ReconciliationBillMissing, 'Sum', Duration.hours(1)),
    1,
  );
  alarm(
    'ReconciliationFailed',
    "A provider's bill could not be fetched, verified or read (retried hourly until the cut-off).",
    paymentsMetric(Metric.ReconciliationFailed, 'Sum', Duration.hours(1)),
    1,
  );
  alarm(
    'ProviderCloseFailed',
    'Closing expired payments at the provider keeps failing: customers may still pay them.',
    paymentsMetric(Metric.ProviderCloseFailed, 'Sum', Duration.minutes(15)),
    5,
  );
}
