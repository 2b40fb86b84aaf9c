import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { MathExpression, Metric as CloudWatchMetric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { type EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EVENT_SOURCE } from '../src/aws/eventbridge-publisher';
import { METRICS_NAMESPACE, Metric } from '../src/core/kernel/metric-names';
import type { FunctionAccess } from '../src/runtime/functions';
import { SERVICE_NAME } from './payments-function';

/**
 * Webhook delivery's AWS side (docs/ARCHITECTURE.md#webhooks): the KMS key that wraps the
 * endpoints' secret data keys, the webhook queue fed by a rule on the bus (and by the deliverer's
 * own retry hops and replays), its DLQ, the deliverer's event source, and its alarms.
 */

/** One message's worst case: the order hold (1 s), waiting for a predecessor (≤ 12 s), the attempt (≤ 10 s), the writes. */
export const DELIVERER_TIMEOUT = Duration.seconds(60);
/** Receives before a webhook message is dead-lettered (the local runtime uses the same). */
export const WEBHOOK_MAX_RECEIVE_COUNT = 5;

export interface WebhookResources {
  queue: Queue;
  deadLetterQueue: Queue;
  key: Key;
}

export function webhookResources(scope: Construct, bus: EventBus): WebhookResources {
  const key = new Key(scope, 'WebhookKey', {
    description: "Wraps the data keys that encrypt webhook endpoints' signing secrets (envelope encryption)",
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const deadLetterQueue = new Queue(scope, 'WebhookDLQ', {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new Queue(scope, 'WebhookQueue', {
    // AWS's rule for Lambda consumers: hidden while six deliverer invocations could run.
    visibilityTimeout: Duration.seconds(6 * DELIVERER_TIMEOUT.toSeconds()),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: WEBHOOK_MAX_RECEIVE_COUNT },
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  new Rule(scope, 'WebhookRule', {
    description: 'Every domain event to the webhook queue: the deliverer sends it to each subscribed endpoint',
    eventBus: bus,
    eventPattern: { source: [EVENT_SOURCE] },
    // EventBridge retries its target for a day; what it still cannot put is kept in the DLQ.
    targets: [new SqsQueue(queue, { deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
  });
  new CfnOutput(scope, 'WebhookQueueUrl', {
    description: 'NOTIFICATION_QUEUE_URL for npm run dlq:replay of webhook messages',
    value: queue.queueUrl,
  });
  new CfnOutput(scope, 'WebhookDlqUrl', {
    description: 'NOTIFICATION_DLQ_URL for npm run dlq:replay of webhook messages',
    value: deadLetterQueue.queueUrl,
  });
  return { queue, deadLetterQueue, key };
}

/** The environment a function's webhook access calls for. */
export function webhookEnvironment(resources: WebhookResources, access: FunctionAccess): Record<string, string> {
  return {
    ...(access.webhookQueue && { WEBHOOK_QUEUE_URL: resources.queue.queueUrl }),
    ...(access.webhookKeys && { WEBHOOK_KEY_ARN: resources.key.keyArn }),
  };
}

/** The grants a function's webhook access lists: send to the queue; GenerateDataKey to seal, Decrypt to open. */
export function grantWebhookAccess(resources: WebhookResources, fn: IFunction, access: FunctionAccess): void {
  if (access.webhookQueue) resources.queue.grantSendMessages(fn);
  if (access.webhookKeys === 'seal') resources.key.grant(fn, 'kms:GenerateDataKey');
  if (access.webhookKeys === 'open') resources.key.grantDecrypt(fn);
}

/** The deliverer on the webhook queue: batches of 10 run side by side, failed records reported alone. */
export function feedDeliverer(resources: WebhookResources, deliverer: IFunction): void {
  deliverer.addEventSource(
    new SqsEventSource(resources.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 20 }),
  );
}

type AlarmOf = (
  id: string,
  description: string,
  metric: IMetric,
  threshold: number,
  options?: { above?: boolean },
) => void;

const FIVE_MINUTES = Duration.minutes(5);

/** Alarms of webhook delivery, each naming what a person does (docs/DEPLOY.md#webhooks). */
export function webhookAlarms(alarm: AlarmOf, resources: Pick<WebhookResources, 'queue' | 'deadLetterQueue'>): void {
  alarm(
    'WebhookDeadLetters',
    'Webhook messages the deliverer or the bus rule gave up on are in the webhook DLQ: read one, fix the cause, replay with npm run dlq:replay (the webhook queue URLs).',
    resources.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }),
    1,
  );
  // A retry hop waits at most 15 minutes in the queue: anything older is not being taken.
  alarm(
    'WebhookDeliveryBehind',
    'The oldest pending webhook message is over 20 minutes old: the deliverer is failing or throttled (its errors and concurrency).',
    resources.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: FIVE_MINUTES }),
    1_200,
    { above: true },
  );
  alarm(
    'WebhookEndpointFailing',
    'The worst webhook endpoint failed over half its attempts in 15 minutes: GET /api/admin/webhooks shows its lastError; tell the shop (it is disabled after 3 days).',
    new MathExpression({
      label: 'Failed share of the worst endpoint’s attempts',
      expression: `SELECT AVG(${Metric.WebhookAttemptFailed}) FROM SCHEMA("${METRICS_NAMESPACE}", endpoint, service) WHERE service = '${SERVICE_NAME}' GROUP BY endpoint ORDER BY AVG() DESC LIMIT 1`,
      usingMetrics: {},
      period: Duration.minutes(15),
    }),
    0.5,
    { above: true },
  );
  alarm(
    'WebhookEndpointDisabled',
    'A webhook endpoint was disabled (410 Gone, or failing for 3 days): its disabledReason says why; once the shop is fixed, PATCH enabled: true and replay the range.',
    new CloudWatchMetric({
      namespace: METRICS_NAMESPACE,
      metricName: Metric.WebhookEndpointDisabled,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    }),
    1,
  );
}
