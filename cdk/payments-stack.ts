import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { timingFromEnv } from '../shared/adapters/env';
import { TABLE } from '../shared/adapters/table-definition';
import { ADMIN_SCOPE, API_ROUTES, BACKGROUND_FUNCTIONS } from '../shared/http/routes';
import { PaymentsObservability } from './observability';
import { PaymentsFunction } from './payments-function';

/** The route whose function receives provider notifications and queues them for the worker. */
const CALLBACK_FUNCTION = 'payment-callback';
const WORKER_TIMEOUT = Duration.seconds(30);

/**
 * Everything the payments backend runs on: the single table, the callback → worker queue, the
 * event bus, the provider secret, one function per HTTP route, the worker, the every-minute
 * sweeper, and the dashboard and alarms. Optional context (`-c key=value`): paymentsSecretArn (use
 * an existing secret), publicBaseUrl, jwtIssuer, jwtAudience, paymentTtlMinutes,
 * paymentReminderMinutes, alarmEmail.
 */
export class PaymentsStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const context = (key: string): string | undefined => this.node.tryGetContext(key)?.toString();
    // The runtime's own parser, so synth rejects what the functions would reject at cold start.
    const timing = timingFromEnv({ PAYMENT_TTL_MINUTES: context('paymentTtlMinutes'), PAYMENT_REMINDER_MINUTES: context('paymentReminderMinutes') });

    const table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [TABLE.dueIndex, TABLE.catalogIndex].map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      })),
      timeToLiveAttribute: TABLE.ttlAttribute,
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const deadLetterQueue = new Queue(this, 'NotificationDLQ', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const notificationQueue = new Queue(this, 'NotificationQueue', {
      // AWS's rule for Lambda consumers: a message stays hidden while six worker attempts could run.
      visibilityTimeout: Duration.seconds(6 * WORKER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const bus = new EventBus(this, 'Bus', { eventBusName: 'payments' });
    bus.archive('Archive', { eventPattern: { account: [this.account] }, retention: Duration.days(90) });

    const paymentsSecretArn = context('paymentsSecretArn');
    const providerConfig: ISecret = paymentsSecretArn
      ? Secret.fromSecretCompleteArn(this, 'ProviderConfig', paymentsSecretArn)
      : new Secret(this, 'ProviderConfig', {
          description: 'Payment provider config document (API.md shape); {} means no provider is configured yet.',
          secretStringValue: SecretValue.unsafePlainText('{}'),
          removalPolicy: RemovalPolicy.RETAIN,
        });

    // Created before the functions: they are told its URL, and it only needs them for its routes.
    const api = new HttpApi(this, 'Api', { apiName: 'payments' });
    const environment = {
      TABLE_NAME: table.tableName,
      NOTIFICATION_QUEUE_URL: notificationQueue.queueUrl,
      EVENT_BUS_NAME: bus.eventBusName,
      PAYMENTS_SECRET_ARN: providerConfig.secretArn,
      PUBLIC_BASE_URL: context('publicBaseUrl') ?? api.apiEndpoint,
      PAYMENT_TTL_MINUTES: String(timing.ttlMinutes),
      PAYMENT_REMINDER_MINUTES: String(timing.reminderMinutes),
    };
    const paymentsFunction = (name: string, props: { description: string; timeout?: Duration; reservedConcurrentExecutions?: number }) => {
      const fn = new PaymentsFunction(this, name, { name, environment, ...props });
      // Every function builds the same production wiring (shared/adapters/aws-deps.ts): table, secret, bus.
      table.grantReadWriteData(fn);
      providerConfig.grantRead(fn);
      bus.grantPutEventsTo(fn);
      return fn;
    };

    const jwt = new HttpJwtAuthorizer('Jwt', context('jwtIssuer') ?? 'https://issuer.example.com/', {
      jwtAudience: [context('jwtAudience') ?? 'payments-api'],
    });
    const routeFunctions = new Map<string, PaymentsFunction>();
    for (const route of API_ROUTES) {
      const fn = paymentsFunction(route.fn, { description: `${route.method} ${route.path}: ${route.summary}` });
      routeFunctions.set(route.fn, fn);
      api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.fn}-integration`, fn),
        authorizer: route.auth === 'public' ? undefined : jwt,
        authorizationScopes: route.auth === 'admin' ? [ADMIN_SCOPE] : undefined,
      });
    }
    const callback = routeFunctions.get(CALLBACK_FUNCTION);
    if (!callback) throw new Error(`API_ROUTES has no ${CALLBACK_FUNCTION} route`);
    notificationQueue.grantSendMessages(callback);

    const worker = paymentsFunction(BACKGROUND_FUNCTIONS.worker.fn, { description: 'Applies queued provider notifications', timeout: WORKER_TIMEOUT });
    worker.addEventSource(
      new SqsEventSource(notificationQueue, { batchSize: 10, maxBatchingWindow: Duration.seconds(2), reportBatchItemFailures: true }),
    );

    const sweeper = paymentsFunction(BACKGROUND_FUNCTIONS.sweeper.fn, {
      description: 'Every minute: reminders, query-then-expire, provider close, outbox relay',
      timeout: Duration.seconds(60),
      // Two overlapping sweeps would race for the same due payments.
      reservedConcurrentExecutions: 1,
    });
    new Rule(this, 'SweeperSchedule', {
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed run is not retried: the next minute's sweep picks up the same work.
      targets: [new LambdaFunction(sweeper, { retryAttempts: 0 })],
    });

    new PaymentsObservability(this, 'Observability', {
      functions: [...routeFunctions.values(), worker, sweeper],
      worker,
      deadLetterQueue,
      alarmEmail: context('alarmEmail'),
    });

    new CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ProviderConfigSecretArn', { value: providerConfig.secretArn });
  }
}
