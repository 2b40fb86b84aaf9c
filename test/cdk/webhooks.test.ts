import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, Metric } from '../../src/core/kernel/metric-names';
import { ALL_FUNCTIONS, BACKGROUND_FUNCTIONS } from '../../src/runtime/functions';
import { synth } from './synth';

/** Webhook delivery's AWS side (cdk/webhooks.ts): key, queue and DLQ, the bus rule, the deliverer, least privilege, alarms. */
const stack = synth();
const DELIVERER = BACKGROUND_FUNCTIONS.deliverer.fn;
const ref = (path: string) => ({ Ref: stack.logicalId(path) });
const arnOf = (path: string) => ({ 'Fn::GetAtt': [stack.logicalId(path), 'Arn'] });
const actionsOn = (name: string, path: string) =>
  stack
    .statements(name)
    .filter((statement) => JSON.stringify(statement.Resource).includes(`"${stack.logicalId(path)}"`))
    .flatMap((statement) => [statement.Action].flat())
    .sort();

describe('webhook delivery in AWS', () => {
  it('puts every event of the bus on the webhook queue, with a DLQ for what the rule cannot put', () => {
    const rule = stack.resources('AWS::Events::Rule')[stack.logicalId('WebhookRule')]!.Properties;
    expect(rule).toMatchObject({ EventBusName: ref('Bus'), EventPattern: { source: ['payments'] } });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf('WebhookQueue'),
        DeadLetterConfig: { Arn: arnOf('WebhookDLQ') },
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
      }),
    ]);
  });

  it('dead-letters a webhook message after 5 receives, hides it 6 deliverer timeouts, encrypts both queues', () => {
    const queues = stack.resources('AWS::SQS::Queue');
    expect(queues[stack.logicalId('WebhookQueue')]!.Properties).toMatchObject({
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: arnOf('WebhookDLQ'), maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
    expect(queues[stack.logicalId('WebhookDLQ')]!.Properties).toMatchObject({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
  });

  it('feeds the deliverer batches of 10 from the webhook queue, failures reported per record', () => {
    const mapping = Object.values(stack.resources('AWS::Lambda::EventSourceMapping')).find(
      (candidate) => JSON.stringify(candidate.Properties.FunctionName) === JSON.stringify(ref(DELIVERER)),
    )!.Properties;
    expect(mapping).toMatchObject({
      EventSourceArn: arnOf('WebhookQueue'),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    expect(stack.fn(DELIVERER).Timeout).toBe(60);
  });

  it('keeps the secrets under a rotating KMS key: only the routes that make a secret may GenerateDataKey, only the deliverer may Decrypt', () => {
    const [, key] = stack.only('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const byGrant = Object.fromEntries(ALL_FUNCTIONS.map(({ fn }) => [fn, actionsOn(fn, 'WebhookKey')]));
    expect(Object.entries(byGrant).filter(([, actions]) => actions.length > 0)).toEqual([
      ['create-webhook-endpoint', ['kms:GenerateDataKey']],
      ['rotate-webhook-secret', ['kms:GenerateDataKey']],
      [DELIVERER, ['kms:Decrypt']],
    ]);
    expect(stack.fn(DELIVERER).Environment.Variables.WEBHOOK_KEY_ARN).toEqual(arnOf('WebhookKey'));
  });

  it('lets only the replays and the deliverer send to the webhook queue', () => {
    const senders = ALL_FUNCTIONS.filter(({ fn }) => actionsOn(fn, 'WebhookQueue').includes('sqs:SendMessage')).map(
      ({ fn }) => fn,
    );
    expect(senders).toEqual(['replay-webhook-delivery', 'replay-webhook-range', DELIVERER]);
  });

  it('alarms on dead letters, a deliverer behind, the worst endpoint failing, and an endpoint disabled', () => {
    const alarms = Object.values(stack.resources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const topic = { Ref: stack.only('AWS::SNS::Topic')[0] };
    const find = (text: string) => alarms.find((alarm) => alarm.AlarmDescription.includes(text));
    expect(find('webhook DLQ')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.logicalId('WebhookDLQ'), 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [topic],
    });
    expect(find('oldest pending webhook message')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.logicalId('WebhookQueue'), 'QueueName'] } }],
      Threshold: 1200,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const failing = find('worst webhook endpoint');
    expect(failing).toMatchObject({ Threshold: 0.5, ComparisonOperator: 'GreaterThanThreshold' });
    expect(failing!.Metrics[0].Expression).toBe(
      `SELECT AVG(${Metric.WebhookAttemptFailed}) FROM SCHEMA("${METRICS_NAMESPACE}", endpoint, service) WHERE service = 'payments' GROUP BY endpoint ORDER BY AVG() DESC LIMIT 1`,
    );
    expect(find('webhook endpoint was disabled')).toMatchObject({
      MetricName: Metric.WebhookEndpointDisabled,
      Namespace: METRICS_NAMESPACE,
      Threshold: 1,
    });
  });
});
