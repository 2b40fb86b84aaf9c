import { WAITING_METRICS } from '../../src/core/staff/waiting-counts';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DEFAULT_THROTTLE, REQUIRED_CONTEXT } from '../../cdk/deploy-config';
import { ACCESS_LOG_FIELDS } from '../../cdk/payments-api';
import { acknowledgeNagFindings, nagAcknowledgments } from '../../cdk/nag-suppressions';
import { createPaymentsApp } from '../../cdk/payments-app';
import { INDEXES, OUTBOX_STREAM_FILTER, TABLE, TABLE_ATTRIBUTES } from '../../src/persistence/table-definition';
import type { Deps } from '../../src/core/kernel/deps';
import { METRICS_NAMESPACE, Metric } from '../../src/core/kernel/metric-names';
import { notifyUrl } from '../../src/core/payments/payments';
import { PAYMENT_METHODS } from '../../src/domain/payment';
import { ADMIN_SCOPE, API_ROUTES } from '../../src/http/routes';
import { ALL_FUNCTIONS, BACKGROUND_FUNCTIONS, type FunctionAccess } from '../../src/runtime/functions';
import { DEFAULT_PROVIDER_CALLS_PER_SECOND } from '../../src/providers/kit/http';
import { DEFAULT_EXPIRY_WORKER_MAX_CONCURRENCY } from '../../cdk/expiry-wave';
import { CDK_JSON, ENV, PACKAGE_JSON, TEST_CONTEXT, appProps, synth, type Statement, type Synthesized } from './synth';

const FUNCTION_NAMES = ALL_FUNCTIONS.map((entry) => entry.fn);
const stack = synth();

/** The dashboard body with its CloudFormation tokens (region) blanked, parsed. */
function dashboardWidgets(): { properties: { title: string; metrics: unknown[][] } }[] {
  const [, dashboard] = stack.only('AWS::CloudWatch::Dashboard');
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')).widgets;
}

/**
 * What a function may do, read back from its IAM statements: each (action, resource) pair is named
 * by what it reaches. Anything else is reported as `unexpected …`, so it fails the comparison.
 */
function grantsOf(synthesized: Synthesized, name: string): string[] {
  const refersTo = (resource: unknown, path: string) =>
    JSON.stringify(resource).includes(`"${synthesized.logicalId(path)}"`);
  const ownLogGroup = synthesized.fn(name).LoggingConfig.LogGroup.Ref as string;
  const secret = synthesized.fn(name).Environment.Variables.PAYMENTS_SECRET_ARN ?? {
    Ref: synthesized.logicalId('ProviderConfig'),
  };
  const grant = (action: string, resource: unknown): string => {
    const [service, verb] = action.split(':') as [string, string];
    if (service === 'dynamodb' && refersTo(resource, 'Table')) {
      return /^(Get|BatchGet|Query|Scan|ConditionCheck|Describe|GetRecords|GetShardIterator)/.test(verb)
        ? 'table:read'
        : 'table:write';
    }
    if (
      service === 'secretsmanager' &&
      JSON.stringify(resource) === JSON.stringify(secret) &&
      /^(GetSecretValue|DescribeSecret)$/.test(verb)
    )
      return 'secret:read';
    if (service === 'sqs' && refersTo(resource, 'NotificationQueue')) {
      if (verb === 'SendMessage') return 'queue:send';
      if (/^(ReceiveMessage|DeleteMessage|ChangeMessageVisibility)$/.test(verb)) return 'queue:consume';
      if (/^(GetQueueAttributes|GetQueueUrl)$/.test(verb)) return 'queue:describe';
    }
    if (service === 'sqs' && refersTo(resource, 'NotificationDLQ')) {
      if (/^(ReceiveMessage|DeleteMessage|ChangeMessageVisibility)$/.test(verb)) return 'dlq:consume';
      if (/^(StartMessageMoveTask|ListMessageMoveTasks)$/.test(verb)) return 'dlq:move';
      if (/^(GetQueueAttributes|GetQueueUrl)$/.test(verb)) return 'dlq:describe';
    }
    if (
      service === 'sqs' &&
      refersTo(resource, 'OutboxPublisherDLQ') &&
      /^(SendMessage|GetQueueAttributes|GetQueueUrl)$/.test(verb)
    )
      return 'outbox-dlq:send';
    if (action === 'events:PutEvents' && refersTo(resource, 'Bus')) return 'bus:put';
    if (service === 'sqs' && refersTo(resource, 'WebhookQueue')) {
      if (verb === 'SendMessage') return 'webhook-queue:send';
      if (/^(ReceiveMessage|DeleteMessage|ChangeMessageVisibility)$/.test(verb)) return 'webhook-queue:consume';
      if (/^(GetQueueAttributes|GetQueueUrl)$/.test(verb)) return 'webhook-queue:describe';
    }
    if (service === 'sqs' && refersTo(resource, 'DuePaymentQueue')) {
      if (verb === 'SendMessage') return 'due-queue:send';
      if (/^(ReceiveMessage|DeleteMessage|ChangeMessageVisibility)$/.test(verb)) return 'due-queue:consume';
      if (/^(GetQueueAttributes|GetQueueUrl)$/.test(verb)) return 'due-queue:describe';
    }
    if (action === 'kms:GenerateDataKey' && refersTo(resource, 'WebhookKey')) return 'webhook-key:seal';
    if (action === 'kms:Decrypt' && refersTo(resource, 'WebhookKey')) return 'webhook-key:open';
    if (/^logs:(CreateLogStream|PutLogEvents)$/.test(action) && JSON.stringify(resource).includes(`"${ownLogGroup}"`))
      return 'logs:own';
    if (/^xray:(PutTraceSegments|PutTelemetryRecords)$/.test(action) && resource === '*') return 'tracing';
    return `unexpected ${action} on ${JSON.stringify(resource)}`;
  };
  const pairs = synthesized
    .statements(name)
    .flatMap((statement: Statement) =>
      [statement.Action]
        .flat()
        .flatMap((action) => [statement.Resource].flat().map((resource) => grant(action, resource))),
    );
  return [...new Set(pairs)].sort();
}

/** The grants an access entry calls for: its own logs and traces, plus exactly what it lists. */
function expectedGrants(
  access: FunctionAccess,
  { consumesQueue = false, readsStream = false, consumesWebhookQueue = false, consumesDueQueue = false } = {},
): string[] {
  const grants = ['logs:own', 'tracing'];
  if (access.table !== 'none') grants.push('table:read');
  if (access.table === 'readWrite') grants.push('table:write');
  if (access.providers) grants.push('secret:read');
  if (access.queue) grants.push('queue:send', 'queue:describe');
  // The staff replay moves the DLQ's messages back to the worker's queue.
  if (access.redrive) grants.push('dlq:consume', 'dlq:move', 'dlq:describe', 'queue:send', 'queue:describe');
  if (consumesQueue) grants.push('queue:consume', 'queue:describe');
  if (access.events) grants.push('bus:put');
  if (access.webhookQueue) grants.push('webhook-queue:send', 'webhook-queue:describe');
  if (consumesWebhookQueue) grants.push('webhook-queue:consume', 'webhook-queue:describe');
  if (access.webhookKeys) grants.push(`webhook-key:${access.webhookKeys}`);
  if (access.dueQueue) grants.push('due-queue:send', 'due-queue:describe');
  if (consumesDueQueue) grants.push('due-queue:consume', 'due-queue:describe');
  // The stream's event source reads with the function's role (table:read) and sends what it gives up on to its DLQ.
  if (readsStream) grants.push('table:read', 'outbox-dlq:send');
  return [...new Set(grants)].sort();
}

/** What a function consumes by its event source: the worker the queue, the outbox publisher the table's stream. */
const consumerOf = (name: string) => ({
  consumesQueue: name === BACKGROUND_FUNCTIONS.worker.fn,
  readsStream: name === BACKGROUND_FUNCTIONS.publisher.fn,
  consumesWebhookQueue: name === BACKGROUND_FUNCTIONS.deliverer.fn,
  consumesDueQueue: name === BACKGROUND_FUNCTIONS.expiryWorker.fn,
});

/** The environment an access entry calls for: shared settings plus the names of what it may touch. */
function expectedEnvironment(synthesized: Synthesized, access: FunctionAccess, settings: Record<string, unknown>) {
  return {
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: 'payments',
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    ...settings,
    ...(access.table !== 'none' && { TABLE_NAME: { Ref: synthesized.logicalId('Table') } }),
    ...(access.providers && {
      PAYMENTS_SECRET_ARN: settings.PAYMENTS_SECRET_ARN ?? { Ref: synthesized.logicalId('ProviderConfig') },
    }),
    ...((access.queue || access.redrive) && {
      NOTIFICATION_QUEUE_URL: { Ref: synthesized.logicalId('NotificationQueue') },
    }),
    ...(access.redrive && { NOTIFICATION_DLQ_URL: { Ref: synthesized.logicalId('NotificationDLQ') } }),
    ...(access.events && { EVENT_BUS_NAME: { Ref: synthesized.logicalId('Bus') } }),
    ...(access.webhookQueue && { WEBHOOK_QUEUE_URL: { Ref: synthesized.logicalId('WebhookQueue') } }),
    ...(access.webhookKeys && { WEBHOOK_KEY_ARN: { 'Fn::GetAtt': [synthesized.logicalId('WebhookKey'), 'Arn'] } }),
    ...(access.dueQueue && { DUE_PAYMENT_QUEUE_URL: { Ref: synthesized.logicalId('DuePaymentQueue') } }),
    // The expiry worker's share of each merchant's call rate (cdk/expiry-wave.ts).
    ...(access === BACKGROUND_FUNCTIONS.expiryWorker.access && {
      PROVIDER_CALLS_PER_SECOND: String(DEFAULT_PROVIDER_CALLS_PER_SECOND),
      EXPIRY_WORKER_MAX_CONCURRENCY: String(DEFAULT_EXPIRY_WORKER_MAX_CONCURRENCY),
    }),
  };
}

const API_ENDPOINT = () => ({ 'Fn::GetAtt': [stack.logicalId('Api/HttpApi'), 'ApiEndpoint'] });

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
    expect(p.AttributeDefinitions).toEqual(
      expect.arrayContaining(TABLE_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' }))),
    );
    expect(p.GlobalSecondaryIndexes).toHaveLength(INDEXES.length);
    for (const index of INDEXES) {
      expect(p.GlobalSecondaryIndexes).toContainEqual({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: index.projection,
          ...(index.nonKeyAttributes ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
        },
      });
    }
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.ttlAttribute, Enabled: true });
    expect(p.Replicas).toEqual([
      expect.objectContaining({
        Region: 'ap-east-1',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
  });

  it('serves every API route from its own function, behind the JWT authorizer unless public, admin routes with the admin scope', () => {
    const routes = Object.values(stack.resources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(
      API_ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
    const [authorizerId, authorizer] = stack.only('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
    });
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

  it('runs every function on Node 22 / arm64 with active tracing and a month of logs', () => {
    expect(Object.keys(stack.resources('AWS::Lambda::Function'))).toHaveLength(FUNCTION_NAMES.length);
    const timeouts: Record<string, number> = {
      [BACKGROUND_FUNCTIONS.worker.fn]: 30,
      [BACKGROUND_FUNCTIONS.sweeper.fn]: 60,
      [BACKGROUND_FUNCTIONS.reconciler.fn]: 900,
      [BACKGROUND_FUNCTIONS.deliverer.fn]: 60,
      [BACKGROUND_FUNCTIONS.expiryWorker.fn]: 60,
    };
    const logGroups = stack.resources('AWS::Logs::LogGroup');
    for (const name of FUNCTION_NAMES) {
      const fn = stack.fn(name);
      expect(fn, name).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Handler: 'index.handler',
        Timeout: timeouts[name] ?? 10,
      });
      expect(fn.TracingConfig, name).toEqual({ Mode: 'Active' });
      expect(logGroups[fn.LoggingConfig.LogGroup.Ref]!.Properties.RetentionInDays, name).toBe(30);
    }
  });

  it("tells each function the names of exactly what its access entry lets it touch, and the shop's return URL", () => {
    const settings = {
      PUBLIC_BASE_URL: API_ENDPOINT(),
      PAYMENT_RETURN_URL: TEST_CONTEXT.returnUrl,
      PAYMENT_TTL_MINUTES: '30',
      PAYMENT_REMINDER_MINUTES: '5',
    };
    for (const { fn: name, access } of ALL_FUNCTIONS) {
      expect(stack.fn(name).Environment.Variables, name).toEqual(expectedEnvironment(stack, access, settings));
    }
    expect(stack.fn('openapi').Environment.Variables).not.toHaveProperty('TABLE_NAME');
  });

  it('grants each function exactly what its route-table access lists: table read or read/write, provider secret, queue send, bus; the worker consumes the queue, the outbox publisher the stream', () => {
    for (const { fn: name, access } of ALL_FUNCTIONS) {
      expect(grantsOf(stack, name), name).toEqual(expectedGrants(access, consumerOf(name)));
      const actions = stack.statements(name).flatMap((statement) => [statement.Action].flat());
      expect(
        actions.filter((action) => action === '*' || action.endsWith(':*')),
        name,
      ).toEqual([]);
      // No AWS managed policy (AWSLambdaBasicExecutionRole may write every log group in the account).
      expect(stack.resources('AWS::IAM::Role')[stack.roleId(name)]!.Properties.ManagedPolicyArns, name).toBeUndefined();
    }
    expect(grantsOf(stack, 'openapi')).toEqual(['logs:own', 'tracing']);
    expect(grantsOf(stack, 'get-order')).not.toContain('table:write');
  });

  it('refuses to synthesize without the required context, naming every missing key at once', () => {
    const missingAll = Object.fromEntries(REQUIRED_CONTEXT.map((key) => [key, undefined]));
    expect(() => synth(missingAll)).toThrow(
      'Missing required context: jwtIssuer, jwtAudience, returnUrl. Pass each with -c key=value (see docs/DEPLOY.md).',
    );
    expect(() => synth({ returnUrl: undefined })).toThrow(/^Missing required context: returnUrl\./);
    // Required means cdk.json does not quietly supply it; `npm run synth` passes example values instead.
    for (const key of REQUIRED_CONTEXT) {
      expect(CDK_JSON.context, key).not.toHaveProperty(key);
      expect(PACKAGE_JSON.scripts.synth, key).toContain(` -c ${key}=`);
    }
  });

  it('refuses a return URL, issuer or public URL that is not https, every problem in one message', () => {
    expect(() => synth({ returnUrl: 'http://shop.example/orders/{orderId}' })).toThrow(
      'returnUrl must be an https URL',
    );
    expect(() => synth({ returnUrl: '/orders/{orderId}', jwtIssuer: 'http://auth.example.com/' })).toThrow(
      'Invalid context: jwtIssuer must be an https URL; returnUrl is not a URL.',
    );
    expect(() => synth({ publicBaseUrl: 'pay.example.com' })).toThrow('publicBaseUrl is not a URL');
  });

  it('creates an empty provider secret and no e-mail subscription by default; the issuer and audience come from context', () => {
    const [, secret] = stack.only('AWS::SecretsManager::Secret');
    expect(secret.Properties.SecretString).toBe('{}');
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(stack.only('AWS::ApiGatewayV2::Authorizer')[1].Properties.JwtConfiguration).toEqual({
      Issuer: TEST_CONTEXT.jwtIssuer,
      Audience: [TEST_CONTEXT.jwtAudience],
    });
    expect(stack.resources('AWS::SNS::Subscription')).toEqual({});
  });

  it('takes the secret, public URL, timing and alarm e-mail from context, and grants the given secret to provider functions only', () => {
    const secretArn = 'arn:aws:secretsmanager:ap-east-1:111111111111:secret:payments/providers-AbCdEf';
    const configured = synth({
      paymentsSecretArn: secretArn,
      publicBaseUrl: 'https://pay.example.com/',
      paymentTtlMinutes: 15,
      paymentReminderMinutes: '3',
      alarmEmail: 'oncall@example.com',
    });
    expect(configured.resources('AWS::SecretsManager::Secret')).toEqual({});
    const settings = {
      PUBLIC_BASE_URL: 'https://pay.example.com',
      PAYMENT_RETURN_URL: TEST_CONTEXT.returnUrl,
      PAYMENT_TTL_MINUTES: '15',
      PAYMENT_REMINDER_MINUTES: '3',
      PAYMENTS_SECRET_ARN: secretArn,
    };
    for (const { fn: name, access } of ALL_FUNCTIONS) {
      const { PAYMENTS_SECRET_ARN: _, ...shared } = settings;
      expect(configured.fn(name).Environment.Variables, name).toEqual(
        expectedEnvironment(configured, access, access.providers ? settings : shared),
      );
      expect(grantsOf(configured, name), name).toEqual(expectedGrants(access, consumerOf(name)));
    }
    expect(configured.only('AWS::SNS::Subscription')[1].Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const outputs = configured.template.findOutputs('*');
    for (const method of PAYMENT_METHODS) {
      // The URL registered at the provider is the one the functions send as notify_url.
      const sent = notifyUrl({ publicBaseUrl: 'https://pay.example.com' } as Deps, { method });
      expect(Object.values(outputs).map((output) => output.Value)).toContain(sent);
    }
    expect(outputs.ProviderSecretArn!.Value).toBe(secretArn);
  });

  it('refuses at synth a payment TTL the functions would refuse at cold start', () => {
    expect(() => synth({ paymentTtlMinutes: 0 })).toThrow(/PAYMENT_TTL_MINUTES/);
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

  const mappingOf = (fn: string) =>
    Object.values(stack.resources('AWS::Lambda::EventSourceMapping')).find(
      (mapping) => mapping.Properties.FunctionName.Ref === stack.logicalId(fn),
    )!;

  it('feeds the worker batches of 10 from the queue and lets it report the failed records alone', () => {
    const mapping = mappingOf(BACKGROUND_FUNCTIONS.worker.fn);
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: stack.logicalId(BACKGROUND_FUNCTIONS.worker.fn) },
      EventSourceArn: { 'Fn::GetAtt': [stack.logicalId('NotificationQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThanOrEqual(1);
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(5);
  });

  it("feeds the outbox publisher the table's new outbox entries, in order, retried from the first not published, with a DLQ after the stream's 24 hours", () => {
    const [, table] = stack.only('AWS::DynamoDB::GlobalTable');
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    // The worker's queue, the table's stream, the webhook queue (test/cdk/webhooks.test.ts), the due-payment queue.
    expect(Object.keys(stack.resources('AWS::Lambda::EventSourceMapping'))).toHaveLength(4);
    const mapping = mappingOf(BACKGROUND_FUNCTIONS.publisher.fn);
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [stack.logicalId('Table'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(OUTBOX_STREAM_FILTER) }] },
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [stack.logicalId('OutboxPublisherDLQ'), 'Arn'] } },
      },
    });
    // Retried for as long as the stream keeps the record (no retry cap, no age cap).
    expect(mapping.Properties.MaximumRetryAttempts ?? -1).toBe(-1);
    expect(mapping.Properties.MaximumRecordAgeInSeconds ?? -1).toBe(-1);
  });

  const scheduleOf = (fn: string) =>
    Object.values(stack.resources('AWS::Events::Rule')).find((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(JSON.stringify({ 'Fn::GetAtt': [stack.logicalId(fn), 'Arn'] })),
    )?.Properties;

  it('runs the sweeper every minute, one at a time', () => {
    expect(scheduleOf(BACKGROUND_FUNCTIONS.sweeper.fn)?.ScheduleExpression).toBe('rate(1 minute)');
    expect(stack.fn(BACKGROUND_FUNCTIONS.sweeper.fn).ReservedConcurrentExecutions).toBe(1);
  });

  it('reconciles hourly from 10:30 to 18:30 Beijing time (02:30–10:30 UTC), retries failed heals hourly, one run at a time, and schedules nothing else', () => {
    const reconcilerRules = Object.values(stack.resources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(
        JSON.stringify({ 'Fn::GetAtt': [stack.logicalId(BACKGROUND_FUNCTIONS.reconciler.fn), 'Arn'] }),
      ),
    );
    expect(reconcilerRules.map((rule) => rule.Properties.ScheduleExpression)).toEqual([
      'cron(30 2-10 * * ? *)',
      'cron(45 * * * ? *)',
    ]);
    // The hourly retry of failed heals tells the function so by its input.
    expect(JSON.parse(reconcilerRules[1]!.Properties.Targets[0].Input)).toEqual({ retryHeals: true });
    expect(stack.fn(BACKGROUND_FUNCTIONS.reconciler.fn).ReservedConcurrentExecutions).toBe(1);
    // The three schedules and the webhook rule on the bus (test/cdk/webhooks.test.ts).
    expect(Object.keys(stack.resources('AWS::Events::Rule'))).toHaveLength(4);
  });

  it('throttles the $default stage (burst 200, rate 100 unless configured) and logs every request as JSON to a 90-day log group', () => {
    const [, stage] = stack.only('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({
      ApiId: { Ref: stack.logicalId('Api/HttpApi') },
      StageName: '$default',
      AutoDeploy: true,
    });
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit,
      ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit,
    });
    expect(DEFAULT_THROTTLE).toEqual({ burstLimit: 200, rateLimit: 100 });
    const logs = stage.Properties.AccessLogSettings;
    expect(logs.DestinationArn).toEqual({ 'Fn::GetAtt': [stack.logicalId('Api/AccessLogs'), 'Arn'] });
    expect(JSON.parse(logs.Format)).toEqual(ACCESS_LOG_FIELDS);
    expect(JSON.parse(logs.Format)).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
      ip: '$context.identity.sourceIp',
    });
    expect(stack.resources('AWS::Logs::LogGroup')[stack.logicalId('Api/AccessLogs')]!.Properties.RetentionInDays).toBe(
      90,
    );

    const tuned = synth({ throttleBurstLimit: 50, throttleRateLimit: '20' });
    expect(tuned.only('AWS::ApiGatewayV2::Stage')[1].Properties.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: 50,
      ThrottlingRateLimit: 20,
    });
    expect(() => synth({ throttleBurstLimit: 0, throttleRateLimit: 'fast' })).toThrow(
      'Invalid context: throttleBurstLimit must be an integer from 1 to 100000, got "0"; throttleRateLimit must be an integer from 1 to 100000, got "fast".',
    );
  });

  it('has no CORS without allowedOrigins; with them, exactly those origins, bearer tokens and no credentials', () => {
    expect(stack.only('AWS::ApiGatewayV2::Api')[1].Properties).not.toHaveProperty('CorsConfiguration');
    const withCors = synth({ allowedOrigins: 'https://shop.example, https://admin.shop.example' });
    expect(withCors.only('AWS::ApiGatewayV2::Api')[1].Properties.CorsConfiguration).toEqual({
      AllowOrigins: ['https://shop.example', 'https://admin.shop.example'],
      AllowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
      AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
      ExposeHeaders: ['idempotent-replayed'],
      AllowCredentials: false,
      MaxAge: 3600,
    });
    expect(() => synth({ allowedOrigins: '*' })).toThrow('allowedOrigins must list origins, not *');
    expect(() => synth({ allowedOrigins: 'https://shop.example/checkout' })).toThrow(
      'allowedOrigins must be an origin like https://shop.example',
    );
    expect(() => synth({ allowedOrigins: 'http://shop.example' })).toThrow('allowedOrigins must be https');
  });

  it('outputs the API URL, the callback URL per provider, both queue URLs, the bus, the dashboard and the secret', () => {
    const outputs = stack.template.findOutputs('*');
    const value = (key: string) => outputs[key]?.Value;
    expect(value('ApiUrl')).toEqual(API_ENDPOINT());
    expect(value('CallbackUrlWechat')).toEqual({ 'Fn::Join': ['', [API_ENDPOINT(), '/api/payments/callback/wechat']] });
    expect(value('CallbackUrlAlipay')).toEqual({ 'Fn::Join': ['', [API_ENDPOINT(), '/api/payments/callback/alipay']] });
    expect(value('CallbackUrlBank')).toEqual({ 'Fn::Join': ['', [API_ENDPOINT(), '/api/payments/callback/bank']] });
    expect(value('NotificationQueueUrl')).toEqual({ Ref: stack.logicalId('NotificationQueue') });
    expect(value('NotificationDlqUrl')).toEqual({ Ref: stack.logicalId('NotificationDLQ') });
    expect(value('EventBusName')).toEqual({ Ref: stack.logicalId('Bus') });
    expect(JSON.stringify(value('DashboardUrl'))).toContain(
      JSON.stringify({ Ref: stack.logicalId('Observability/Dashboard') }),
    );
    expect(JSON.stringify(value('DashboardUrl'))).toContain('.console.aws.amazon.com/cloudwatch/home?region=');
    expect(value('ProviderSecretArn')).toEqual({ Ref: stack.logicalId('ProviderConfig') });
  });
  it("shows the seed's five figures and the operational ones on the dashboard", () => {
    const widgets = dashboardWidgets();
    const metricNames = (title: string) => {
      const widget = widgets.find((w) => w.properties.title === title);
      expect(widget, title).toBeDefined();
      return JSON.stringify(widget!.properties.metrics);
    };
    const expected: Record<string, string[]> = {
      'Payment success rate': [
        Metric.PaymentSucceeded,
        Metric.PaymentFailed,
        Metric.PaymentCancelled,
        Metric.PaymentExpired,
      ],
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

  it('alarms to the on-call topic on dead letters, duplicates, mismatches, oversized callbacks, undeliverable events, an outbox publisher behind or giving up, signature failures, worker errors, sweeper lag, close failures, refunds failed, abnormal, external or stuck, reconciliation differences left open, bills missing or unreadable, and anything waiting for a person in each waiting state', () => {
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
      {
        MetricName: Metric.DuplicatePayment,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.TradeTypeMismatch,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.SceneNotEnabled,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.AmountMismatch,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.CallbackTooLarge,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.EventsUndeliverable,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: stack.logicalId(BACKGROUND_FUNCTIONS.worker.fn) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.SweeperLagSeconds,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 300,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      },
      {
        MetricName: Metric.ExpiryLagSeconds,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 300,
        ComparisonOperator: 'GreaterThanThreshold',
      },
      {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.ProviderCloseFailed,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 5,
        Period: 900,
        Statistic: 'Sum',
      },
      {
        MetricName: Metric.RefundFailed,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.RefundAbnormal,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.ExternalRefund,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.RefundNotificationParked,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
      {
        MetricName: Metric.OldestOpenRefundAgeSeconds,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 86_400,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
      },
      {
        MetricName: Metric.ReconciliationOpenDifferences,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        Statistic: 'Maximum',
        Period: 3600,
      },
      {
        MetricName: Metric.ReconciliationUnhealed,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        Statistic: 'Minimum',
        Period: 10_800,
      },
      {
        MetricName: Metric.ReconciliationBillMissing,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        Statistic: 'Sum',
        Period: 3600,
      },
      {
        MetricName: Metric.ReconciliationFailed,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        Statistic: 'Sum',
        Period: 3600,
      },
      {
        MetricName: 'IteratorAge',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: stack.logicalId(BACKGROUND_FUNCTIONS.publisher.fn) } }],
        Threshold: 300_000,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
      },
      {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.logicalId('OutboxPublisherDLQ'), 'QueueName'] } },
        ],
        Threshold: 1,
      },
      // Each waiting state's open count, while anything waits (its description names the settling API call).
      ...Object.values(WAITING_METRICS).map((MetricName) => ({
        MetricName,
        Namespace: METRICS_NAMESPACE,
        Dimensions: ours,
        Threshold: 1,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmDescription: expect.stringMatching(/(POST|GET) \/api\/admin\//),
      })),
    ];
    for (const want of expected)
      expect(alarms, want.MetricName).toContainEqual(expect.objectContaining({ ...want, AlarmActions: [topic] }));

    const signature = alarms.find((alarm) => JSON.stringify(alarm.Metrics ?? []).includes(Metric.SignatureFailure));
    expect(signature).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topic],
    });
    const names = signature!.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map(
      (m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName,
    );
    expect(names.sort()).toEqual([Metric.CallbackReceived, Metric.SignatureFailure]);
    expect(signature!.Metrics.find((m: { Expression?: string }) => m.Expression).Expression).toMatch(/>= 20/);
    // + the signature rate, + webhook delivery's four (test/cdk/webhooks.test.ts).
    expect(alarms).toHaveLength(expected.length + 1 + 4);
  });
});

describe('cdk-nag AWS Solutions checks', () => {
  it('finds no unacknowledged error or warning in the app cdk synth builds', () => {
    // synth() already ran the plugin (it throws on a finding); this reads the report itself.
    expect(new AwsSolutionsChecks().validateScope(stack.stack).violations).toEqual([]);
    const configured = synth({
      paymentsSecretArn: 'arn:aws:secretsmanager:ap-east-1:111111111111:secret:p-AbCdEf',
      allowedOrigins: 'https://shop.example',
      alarmEmail: 'a@shop.example',
    });
    expect(new AwsSolutionsChecks().validateScope(configured.stack).violations).toEqual([]);
  });

  it('acknowledges only findings that occur, on the constructs they occur on, each with a reason', () => {
    const bare = synth({}, { bare: true }).stack;
    const findings = new AwsSolutionsChecks().validateScope(bare).violations;
    expect(findings.length).toBeGreaterThan(0);
    for (const { id, reason, on } of nagAcknowledgments(bare)) {
      expect(reason.length, id).toBeGreaterThan(80);
      for (const construct of on) {
        const path = construct.node.path;
        const hit = findings.some(
          (finding) =>
            finding.ruleName === id &&
            finding.violatingResources.some(
              ({ constructPath = '' }) => constructPath === path || constructPath.startsWith(`${path}/`),
            ),
        );
        expect(hit, `${id} on ${path}`).toBe(true);
      }
    }
    acknowledgeNagFindings(bare);
    expect(new AwsSolutionsChecks().validateScope(bare).violations).toEqual([]);
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    const { app, stack: unchecked } = createPaymentsApp(appProps(), ENV);
    new Topic(unchecked, 'UncheckedTopic');
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  });
});
