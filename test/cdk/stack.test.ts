import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PaymentsStack } from '../../cdk/payments-stack';
import { PROJECT_ROOT } from '../../cdk/payments-function';
import { TABLE, TABLE_ATTRIBUTES } from '../../shared/adapters/table-definition';
import { METRICS_NAMESPACE, Metric } from '../../shared/core/metric-names';
import { ADMIN_SCOPE, API_ROUTES, BACKGROUND_FUNCTIONS } from '../../shared/http/routes';

/** A CloudFormation resource as Template.findResources returns it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = { Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const CDK_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const FUNCTION_NAMES = [...API_ROUTES.map((route) => route.fn), BACKGROUND_FUNCTIONS.worker.fn, BACKGROUND_FUNCTIONS.sweeper.fn];

/** The stack as `cdk synth` builds it (cdk.json's feature flags), minus bundling and template linting, which the CLI test covers. */
function synth(context: Record<string, unknown> = {}) {
  const app = new App({ builtinCloudFormationValidation: false, context: { ...CDK_JSON.context, 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new PaymentsStack(app, 'Payments', { env: { account: '111111111111', region: 'ap-east-1' } });
  const template = Template.fromStack(stack);
  const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
  const only = (type: string) => {
    const found = Object.entries(resources(type));
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };
  const logicalId = (path: string) => stack.getLogicalId(stack.node.findChild(path).node.defaultChild as CfnElement);
  const fn = (name: string) => resources('AWS::Lambda::Function')[logicalId(name)]!.Properties;
  /** Every IAM statement attached to the function's role. */
  const statements = (name: string) => {
    const role = { Ref: fn(name).Role['Fn::GetAtt'][0] };
    return Object.values(resources('AWS::IAM::Policy'))
      .filter((policy) => policy.Properties.Roles.some((r: unknown) => JSON.stringify(r) === JSON.stringify(role)))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  };
  const actions = (name: string) => statements(name).flatMap((statement) => [statement.Action].flat());
  return { template, resources, only, logicalId, fn, statements, actions };
}

const stack = synth();

/** The dashboard body with its CloudFormation tokens (region) blanked, parsed. */
function dashboardWidgets(): { properties: { title: string; metrics: unknown[][] } }[] {
  const [, dashboard] = stack.only('AWS::CloudWatch::Dashboard');
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')).widgets;
}

describe('PaymentsStack', () => {
  it('builds the table from the shared definition: string keys, both GSIs, TTL, PITR, deletion protection, retained', () => {
    const [, table] = stack.only('AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    const p = table.Properties;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(p.AttributeDefinitions).toHaveLength(TABLE_ATTRIBUTES.length);
    expect(p.AttributeDefinitions).toEqual(expect.arrayContaining(TABLE_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' }))));
    for (const index of [TABLE.dueIndex, TABLE.catalogIndex]) {
      expect(p.GlobalSecondaryIndexes).toContainEqual({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      });
    }
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.ttlAttribute, Enabled: true });
    expect(p.Replicas).toEqual([
      expect.objectContaining({ Region: 'ap-east-1', DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    ]);
  });

  it('serves every API route from its own function, behind the JWT authorizer unless public, admin routes with the admin scope', () => {
    const routes = Object.values(stack.resources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(API_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
    const [authorizerId, authorizer] = stack.only('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    const integrations = stack.resources('AWS::ApiGatewayV2::Integration');
    for (const route of API_ROUTES) {
      const key = `${route.method} ${route.path}`;
      const deployed = routes.find((r) => r.RouteKey === key);
      if (route.auth !== 'public') {
        expect(deployed, key).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
        if (route.auth === 'admin') expect(deployed.AuthorizationScopes, key).toEqual([ADMIN_SCOPE]);
        else expect(deployed, key).not.toHaveProperty('AuthorizationScopes');
      } else {
        expect(deployed.AuthorizationType, key).toBe('NONE');
        expect(deployed, key).not.toHaveProperty('AuthorizerId');
      }
      const integration = integrations[deployed.Target['Fn::Join'][1][1].Ref]!;
      expect(integration.Properties.IntegrationUri, key).toEqual({ 'Fn::GetAtt': [stack.logicalId(route.fn), 'Arn'] });
    }
  });

  it('queues callbacks for the worker: dead-lettered after 5 receives, kept 14 days, hidden 6 worker timeouts, SQS-managed encryption', () => {
    const queues = stack.resources('AWS::SQS::Queue');
    const queue = queues[stack.logicalId('NotificationQueue')]!.Properties;
    const dlqId = queue.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(queues[dlqId]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * stack.fn(BACKGROUND_FUNCTIONS.worker.fn).Timeout);
    for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('feeds the worker batches of 10 from the queue and lets it report the failed records alone', () => {
    const [, mapping] = stack.only('AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: stack.logicalId(BACKGROUND_FUNCTIONS.worker.fn) },
      EventSourceArn: { 'Fn::GetAtt': [stack.logicalId('NotificationQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThanOrEqual(1);
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(5);
  });

  it('runs the sweeper every minute, one at a time', () => {
    const [, rule] = stack.only('AWS::Events::Rule');
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [stack.logicalId(BACKGROUND_FUNCTIONS.sweeper.fn), 'Arn'] } })]);
    expect(stack.fn(BACKGROUND_FUNCTIONS.sweeper.fn).ReservedConcurrentExecutions).toBe(1);
  });

  it('runs every function on Node 22 / arm64 with the shared wiring in its environment and a month of logs', () => {
    expect(Object.keys(stack.resources('AWS::Lambda::Function'))).toHaveLength(FUNCTION_NAMES.length);
    const timeouts: Record<string, number> = { [BACKGROUND_FUNCTIONS.worker.fn]: 30, [BACKGROUND_FUNCTIONS.sweeper.fn]: 60 };
    const logGroups = stack.resources('AWS::Logs::LogGroup');
    for (const name of FUNCTION_NAMES) {
      const fn = stack.fn(name);
      expect(fn, name).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 512, Handler: 'index.handler', Timeout: timeouts[name] ?? 10 });
      expect(fn.Environment.Variables, name).toEqual({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'payments',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        TABLE_NAME: { Ref: stack.logicalId('Table') },
        NOTIFICATION_QUEUE_URL: { Ref: stack.logicalId('NotificationQueue') },
        EVENT_BUS_NAME: { Ref: stack.logicalId('Bus') },
        PAYMENTS_SECRET_ARN: { Ref: stack.logicalId('ProviderConfig') },
        PUBLIC_BASE_URL: { 'Fn::GetAtt': [stack.logicalId('Api'), 'ApiEndpoint'] },
        PAYMENT_TTL_MINUTES: '30',
        PAYMENT_REMINDER_MINUTES: '5',
      });
      expect(logGroups[fn.LoggingConfig.LogGroup.Ref]!.Properties.RetentionInDays, name).toBe(30);
    }
  });

  it('grants least privilege: table data but never dynamodb:*, the secret and the bus to all, the queue only to callback (send) and worker (consume)', () => {
    const tableArn = { 'Fn::GetAtt': [stack.logicalId('Table'), 'Arn'] };
    for (const name of FUNCTION_NAMES) {
      const statements = stack.statements(name);
      const actions = stack.actions(name);
      expect(actions.filter((action) => action === '*' || action.endsWith(':*')), name).toEqual([]);
      expect(actions, name).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
      for (const statement of statements.filter((s) => [s.Action].flat().some((action) => action.startsWith('dynamodb:')))) {
        expect(statement.Resource, name).toContainEqual(tableArn);
      }
      expect(statements, name).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['secretsmanager:GetSecretValue']), Resource: { Ref: stack.logicalId('ProviderConfig') } }));
      expect(statements, name).toContainEqual(expect.objectContaining({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [stack.logicalId('Bus'), 'Arn'] } }));
      expect(actions.includes('sqs:SendMessage'), name).toBe(name === 'payment-callback');
      expect(actions.includes('sqs:ReceiveMessage'), name).toBe(name === BACKGROUND_FUNCTIONS.worker.fn);
    }
  });

  it('creates a placeholder provider secret, a placeholder issuer and no e-mail subscription by default', () => {
    const [, secret] = stack.only('AWS::SecretsManager::Secret');
    expect(secret.Properties.SecretString).toBe('{}');
    expect(stack.only('AWS::ApiGatewayV2::Authorizer')[1].Properties.JwtConfiguration).toEqual({ Issuer: 'https://issuer.example.com/', Audience: ['payments-api'] });
    expect(stack.resources('AWS::SNS::Subscription')).toEqual({});
  });

  it('takes the secret, public URL, issuer, audience, timing and alarm e-mail from context', () => {
    const secretArn = 'arn:aws:secretsmanager:ap-east-1:111111111111:secret:payments/providers-AbCdEf';
    const configured = synth({
      paymentsSecretArn: secretArn,
      publicBaseUrl: 'https://pay.example.com',
      jwtIssuer: 'https://auth.example.com/',
      jwtAudience: 'shop',
      paymentTtlMinutes: 15,
      paymentReminderMinutes: '3',
      alarmEmail: 'oncall@example.com',
    });
    expect(configured.resources('AWS::SecretsManager::Secret')).toEqual({});
    for (const name of FUNCTION_NAMES) {
      expect(configured.fn(name).Environment.Variables, name).toMatchObject({
        PAYMENTS_SECRET_ARN: secretArn,
        PUBLIC_BASE_URL: 'https://pay.example.com',
        PAYMENT_TTL_MINUTES: '15',
        PAYMENT_REMINDER_MINUTES: '3',
      });
      expect(configured.statements(name), name).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['secretsmanager:GetSecretValue']), Resource: secretArn }));
    }
    expect(configured.only('AWS::ApiGatewayV2::Authorizer')[1].Properties.JwtConfiguration).toEqual({ Issuer: 'https://auth.example.com/', Audience: ['shop'] });
    expect(configured.only('AWS::SNS::Subscription')[1].Properties).toMatchObject({ Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('refuses at synth a payment TTL the functions would refuse at cold start', () => {
    expect(() => synth({ paymentTtlMinutes: 0 })).toThrow(/PAYMENT_TTL_MINUTES/);
  });

  it("shows the seed's five figures and the operational ones on the dashboard", () => {
    const widgets = dashboardWidgets();
    const metricNames = (title: string) => {
      const widget = widgets.find((w) => w.properties.title === title);
      expect(widget, title).toBeDefined();
      return JSON.stringify(widget!.properties.metrics);
    };
    const expected: Record<string, string[]> = {
      'Payment success rate': [Metric.PaymentSucceeded, Metric.PaymentFailed, Metric.PaymentCancelled, Metric.PaymentExpired],
      'Callback latency (ms)': [Metric.CallbackLatency, '"stat":"p50"', '"stat":"p99"'],
      'Signature failure rate': [Metric.SignatureFailure, Metric.CallbackReceived],
      'Timeout rate': [Metric.PaymentExpired, Metric.PaymentsCreated],
      Concurrency: ['ConcurrentExecutions', Metric.PaymentsInFlight],
      'Dead-letter queue depth': ['ApproximateNumberOfMessagesVisible'],
      'Late and duplicate payments': [Metric.LatePayment, Metric.DuplicatePayment],
      'Sweeper lag (s)': [Metric.SweeperLagSeconds],
      'Provider close failures': [Metric.ProviderCloseFailed],
    };
    for (const [title, names] of Object.entries(expected)) {
      for (const name of names) expect(metricNames(title), title).toContain(name);
    }
    const concurrency = widgets.find((w) => w.properties.title === 'Concurrency')!.properties.metrics;
    expect(concurrency.filter((row) => row[1] === 'ConcurrentExecutions')).toHaveLength(FUNCTION_NAMES.length);
    // Our own metrics are read with the namespace and Powertools' service dimension they are emitted with.
    const ours = widgets.flatMap((w) => w.properties.metrics).filter((row) => row[0] === METRICS_NAMESPACE);
    expect(ours.length).toBeGreaterThan(0);
    for (const row of ours) expect(row.slice(2, 4)).toEqual(['service', 'payments']);
  });

  it('alarms to the on-call topic on dead letters, duplicates, mismatches, signature failures, worker errors, sweeper lag and close failures', () => {
    const alarms = Object.values(stack.resources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const topic = { Ref: stack.only('AWS::SNS::Topic')[0] };
    const ours = [{ Name: 'service', Value: 'payments' }];
    const expected = [
      {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.logicalId('NotificationDLQ'), 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      { MetricName: Metric.DuplicatePayment, Namespace: METRICS_NAMESPACE, Dimensions: ours, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
      { MetricName: Metric.AmountMismatch, Namespace: METRICS_NAMESPACE, Dimensions: ours, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
      { MetricName: 'Errors', Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: { Ref: stack.logicalId(BACKGROUND_FUNCTIONS.worker.fn) } }], Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
      { MetricName: Metric.SweeperLagSeconds, Namespace: METRICS_NAMESPACE, Dimensions: ours, Threshold: 300, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'breaching' },
      { MetricName: Metric.ProviderCloseFailed, Namespace: METRICS_NAMESPACE, Dimensions: ours, Threshold: 5, Period: 900, Statistic: 'Sum' },
    ];
    for (const want of expected) expect(alarms, want.MetricName).toContainEqual(expect.objectContaining({ ...want, AlarmActions: [topic] }));

    const signature = alarms.find((alarm) => JSON.stringify(alarm.Metrics ?? []).includes(Metric.SignatureFailure));
    expect(signature).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
    const names = signature!.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName);
    expect(names.sort()).toEqual([Metric.CallbackReceived, Metric.SignatureFailure]);
    expect(signature!.Metrics.find((m: { Expression?: string }) => m.Expression).Expression).toMatch(/>= 20/);
    expect(alarms).toHaveLength(expected.length + 1);
  });
});

const run = promisify(execFile);

/** Imports each bundle (file URLs in argv) in plain Node, as Lambda does, and prints typeof its `handler`. */
const LOAD_BUNDLES = 'const types = []; for (const url of process.argv.slice(1)) types.push(typeof (await import(url)).handler); console.log(JSON.stringify(types));';

describe('cdk synth on the command line', () => {
  it('synthesizes offline and bundles every function into an ESM file that loads and exports handler', { timeout: 300_000 }, async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'payments-cdk-'));
    try {
      const out = join(scratch, 'cdk.out');
      await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', out], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_HOME: scratch, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      });
      const template = JSON.parse(readFileSync(join(out, 'Payments.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code: { S3Key: string } } }> };
      const bundles = Object.values(template.Resources)
        .filter((resource) => resource.Type === 'AWS::Lambda::Function')
        .map((fn) => join(out, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'));
      expect(bundles).toHaveLength(FUNCTION_NAMES.length);
      for (const bundle of bundles) expect(existsSync(bundle), bundle).toBe(true);
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', LOAD_BUNDLES, ...bundles.map((bundle) => pathToFileURL(bundle).href)], {
        env: { ...process.env, AWS_REGION: 'ap-east-1' },
      });
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(bundles.map(() => 'function'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
