import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { NOTIFICATION_MAX_RECEIVES } from '../src/core/payments/notification-ports';
import { INDEXES, OUTBOX_STREAM_FILTER, TABLE } from '../src/persistence/table-definition';
import { PAYMENT_METHODS, type PaymentMethod } from '../src/domain/payment';
import { API_ROUTES, type ApiRoute } from '../src/http/routes';
import { BACKGROUND_FUNCTIONS, type FunctionAccess } from '../src/runtime/functions';
import { readDeployConfig } from './deploy-config';
import { PaymentsApi } from './payments-api';
import { PaymentsObservability } from './observability';
import { PaymentsFunction } from './payments-function';
import {
  dueQueueResources,
  type DueQueueResources,
  EXPIRY_WORKER_TIMEOUT,
  expiryWaveSettings,
  feedExpiryWorker,
} from './expiry-wave';
import {
  DELIVERER_TIMEOUT,
  feedDeliverer,
  grantWebhookAccess,
  webhookEnvironment,
  webhookResources,
  type WebhookResources,
} from './webhooks';

const WORKER_TIMEOUT = Duration.seconds(30);
const PROVIDER_LABELS: Record<PaymentMethod, string> = {
  wechat: 'WeChat Pay',
  alipay: 'Alipay',
  bank: 'the bank gateway',
};

/**
 * Everything the payments backend runs on: the single table, the callback → worker queue, the
 * event bus, the provider secret, one function per HTTP route, the worker, the every-minute
 * sweeper, and the dashboard and alarms. Each function is granted, and told the name of, exactly
 * what its entry in the route table (`access`) lists. Context is read by readDeployConfig:
 * required jwtIssuer, jwtAudience, returnUrl; optional paymentsSecretArn, publicBaseUrl,
 * allowedOrigins, throttleBurstLimit, throttleRateLimit, paymentTtlMinutes,
 * paymentReminderMinutes, alarmEmail (docs/DEPLOY.md).
 */
export class PaymentsStack extends Stack {
  readonly table: TableV2;
  /** Every function with the access it was granted. */
  readonly functions: { readonly fn: PaymentsFunction; readonly access: FunctionAccess }[] = [];
  /** The routes served without a JWT, each with its API Gateway route. */
  readonly publicRoutes: { readonly route: ApiRoute; readonly construct: IConstruct }[] = [];
  /** Where the outbox publisher's event source puts stream records it gave up on (an on-failure destination). */
  readonly outboxDeadLetters: Queue;
  /** Where webhook messages end that the deliverer or the bus rule gave up on. */
  readonly webhookDeadLetters: Queue;
  /** The provider secret when the stack created it (no paymentsSecretArn given). */
  readonly createdSecret?: Secret;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const config = readDeployConfig(this.node);
    const table = paymentsTable(this);
    this.table = table;
    const { deadLetterQueue, notificationQueue } = notificationQueues(this);
    const bus = new EventBus(this, 'Bus', { eventBusName: 'payments' });
    bus.archive('Archive', { eventPattern: { account: [this.account] }, retention: Duration.days(90) });
    const providerConfig = providerSecret(this, config.paymentsSecretArn);
    const webhooks = webhookResources(this, bus);
    this.webhookDeadLetters = webhooks.deadLetterQueue;
    this.createdSecret = providerConfig instanceof Secret ? providerConfig : undefined;

    // Created before the functions: they are told its URL, and it only needs them for its routes.
    const api = new PaymentsApi(this, 'Api', { config });
    const publicBaseUrl = config.publicBaseUrl ?? api.endpoint;
    const resources: FunctionResources = {
      table,
      providerConfig,
      notificationQueue,
      deadLetterQueue,
      bus,
      webhooks,
      dueQueues: dueQueueResources(this),
      sharedEnvironment: {
        PUBLIC_BASE_URL: publicBaseUrl,
        PAYMENT_RETURN_URL: config.returnUrl,
        PAYMENT_TTL_MINUTES: String(config.timing.ttlMinutes),
        PAYMENT_REMINDER_MINUTES: String(config.timing.reminderMinutes),
        ...(config.payerClaims.openid ? { PAYER_OPENID_CLAIM: config.payerClaims.openid } : {}),
        ...(config.payerClaims.alipayOpenId ? { PAYER_ALIPAY_OPEN_ID_CLAIM: config.payerClaims.alipayOpenId } : {}),
      },
    };
    for (const route of API_ROUTES) {
      const fn = this.paymentsFunction(resources, route.fn, route.access, {
        description: `${route.method} ${route.path}: ${route.summary}`,
      });
      const construct = api.addRoute(route, fn);
      if (route.auth === 'public') this.publicRoutes.push({ route, construct });
    }
    const { worker, publisher, outboxDeadLetters } = this.backgroundFunctions(resources);
    this.outboxDeadLetters = outboxDeadLetters;
    const observability = new PaymentsObservability(this, 'Observability', {
      functions: this.functions.map(({ fn }) => fn),
      worker,
      publisher,
      outboxDeadLetters,
      deadLetterQueue,
      dueDeadLetters: resources.dueQueues.deadLetterQueue,
      webhooks,
      alarmEmail: config.alarmEmail,
    });
    this.outputs({ api, publicBaseUrl, notificationQueue, deadLetterQueue, bus, observability, providerConfig });
  }

  /** A function with the grants and the resource names its access entry lists, and nothing else. */
  private paymentsFunction(
    {
      table,
      providerConfig,
      notificationQueue,
      deadLetterQueue,
      bus,
      webhooks,
      dueQueues,
      sharedEnvironment,
    }: FunctionResources,
    name: string,
    access: FunctionAccess,
    {
      environment: own = {},
      ...props
    }: {
      description: string;
      timeout?: Duration;
      reservedConcurrentExecutions?: number;
      environment?: Record<string, string>;
    },
  ): PaymentsFunction {
    const environment = {
      ...sharedEnvironment,
      ...own,
      ...(access.dueQueue && { DUE_PAYMENT_QUEUE_URL: dueQueues.queue.queueUrl }),
      ...(access.table !== 'none' && { TABLE_NAME: table.tableName }),
      ...(access.providers && { PAYMENTS_SECRET_ARN: providerConfig.secretArn }),
      ...((access.queue || access.redrive) && { NOTIFICATION_QUEUE_URL: notificationQueue.queueUrl }),
      ...(access.redrive && { NOTIFICATION_DLQ_URL: deadLetterQueue.queueUrl }),
      ...(access.events && { EVENT_BUS_NAME: bus.eventBusName }),
      ...webhookEnvironment(webhooks, access),
    };
    const fn = new PaymentsFunction(this, name, { name, environment, ...props });
    if (access.table === 'read') table.grantReadData(fn);
    if (access.table === 'readWrite') table.grantReadWriteData(fn);
    if (access.providers) providerConfig.grantRead(fn);
    if (access.queue) notificationQueue.grantSendMessages(fn);
    if (access.redrive) grantRedrive(fn, deadLetterQueue, notificationQueue);
    if (access.events) bus.grantPutEventsTo(fn);
    if (access.dueQueue) dueQueues.queue.grantSendMessages(fn);
    grantWebhookAccess(webhooks, fn, access);
    this.functions.push({ fn, access });
    return fn;
  }

  /** The worker on the queue, the sweeper and the reconciliation on their schedules, the outbox publisher on the table's stream. */
  private backgroundFunctions(resources: FunctionResources) {
    const {
      worker: workerEntry,
      sweeper: sweeperEntry,
      reconciler: reconcilerEntry,
      publisher: publisherEntry,
    } = BACKGROUND_FUNCTIONS;
    const worker = this.paymentsFunction(resources, workerEntry.fn, workerEntry.access, {
      description: 'Applies queued provider notifications',
      timeout: WORKER_TIMEOUT,
    });
    // Consuming is the worker's by being the queue's event source (receive, delete, change visibility).
    worker.addEventSource(
      new SqsEventSource(resources.notificationQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(2),
        reportBatchItemFailures: true,
      }),
    );

    this.expiryWorker(resources);

    const sweeper = this.paymentsFunction(resources, sweeperEntry.fn, sweeperEntry.access, {
      description: 'Every minute: due payments to the expiry worker, unpaid orders, refunds',
      timeout: Duration.seconds(60),
      // Two overlapping sweeps would race for the same due payments.
      reservedConcurrentExecutions: 1,
    });
    new Rule(this, 'SweeperSchedule', {
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed run is not retried: the next minute's sweep picks up the same work.
      targets: [new LambdaFunction(sweeper, { retryAttempts: 0 })],
    });

    const reconciler = this.paymentsFunction(resources, reconcilerEntry.fn, reconcilerEntry.access, {
      description: "Daily: yesterday's bill of each provider against the ledger; differences recorded and healed",
      timeout: Duration.minutes(15),
      // Two runs of one day would heal the same differences side by side (safely, but twice the calls).
      reservedConcurrentExecutions: 1,
    });
    new Rule(this, 'ReconciliationSchedule', {
      // 10:30 to 18:30 Beijing time (UTC+8), hourly: the bills appear from about 10:00; each run
      // skips providers already reconciled, and the last one calls a bill still absent missing.
      schedule: Schedule.cron({ minute: '30', hour: '2-10' }),
      targets: [new LambdaFunction(reconciler, { retryAttempts: 0 })],
    });
    new Rule(this, 'HealRetrySchedule', {
      // Hourly: days holding a difference whose heal failed are run again until healed (heal-retries.ts).
      schedule: Schedule.cron({ minute: '45' }),
      targets: [
        new LambdaFunction(reconciler, { retryAttempts: 0, event: RuleTargetInput.fromObject({ retryHeals: true }) }),
      ],
    });

    const publisher = this.paymentsFunction(resources, publisherEntry.fn, publisherEntry.access, {
      description: "New outbox entries' domain events onto the bus",
    });
    const deliverer = this.paymentsFunction(
      resources,
      BACKGROUND_FUNCTIONS.deliverer.fn,
      BACKGROUND_FUNCTIONS.deliverer.access,
      {
        description: "Bus events, retries and replays from the webhook queue → signed POSTs to the shops' endpoints",
        timeout: DELIVERER_TIMEOUT,
      },
    );
    feedDeliverer(resources.webhooks, deliverer);
    return { worker, publisher, outboxDeadLetters: this.streamToPublisher(resources.table, publisher) };
  }

  /** The expiry worker on the due-payment queue, as wide as the deployment says, each container with its share of the call rate. */
  private expiryWorker(resources: FunctionResources): PaymentsFunction {
    const wave = expiryWaveSettings(this.node);
    const expiryWorker = this.paymentsFunction(
      resources,
      BACKGROUND_FUNCTIONS.expiryWorker.fn,
      BACKGROUND_FUNCTIONS.expiryWorker.access,
      {
        description: 'Due payments from the sweeper: reminders, query-then-close-then-expire, stock back',
        timeout: EXPIRY_WORKER_TIMEOUT,
        environment: {
          PROVIDER_CALLS_PER_SECOND: String(wave.providerCallsPerSecond),
          EXPIRY_WORKER_MAX_CONCURRENCY: String(wave.maxConcurrency),
        },
      },
    );
    feedExpiryWorker(resources.dueQueues, expiryWorker, wave.maxConcurrency);
    return expiryWorker;
  }

  /** The outbox publisher's event source on the table's stream, with where it puts the records it gave up on. */
  private streamToPublisher(table: TableV2, publisher: PaymentsFunction): Queue {
    // Records the publisher could not publish for the stream's whole 24 hours: their entries stay in the table (docs/DEPLOY.md).
    const outboxDeadLetters = new Queue(this, 'OutboxPublisherDLQ', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    publisher.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        // Retried from the first entry not published, for as long as the stream keeps the record.
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        onFailure: new SqsDlq(outboxDeadLetters),
        filters: [FilterCriteria.filter(OUTBOX_STREAM_FILTER)],
      }),
    );
    return outboxDeadLetters;
  }

  private outputs(o: {
    api: PaymentsApi;
    publicBaseUrl: string;
    notificationQueue: Queue;
    deadLetterQueue: Queue;
    bus: EventBus;
    observability: PaymentsObservability;
    providerConfig: ISecret;
  }): void {
    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the payments API', value: o.api.endpoint });
    for (const provider of PAYMENT_METHODS) {
      new CfnOutput(this, `CallbackUrl${provider.charAt(0).toUpperCase()}${provider.slice(1)}`, {
        description: `Register at ${PROVIDER_LABELS[provider]} as the payment notification URL`,
        value: `${o.publicBaseUrl}/api/payments/callback/${provider}`,
      });
    }
    new CfnOutput(this, 'NotificationQueueUrl', {
      description: 'NOTIFICATION_QUEUE_URL for npm run dlq:replay',
      value: o.notificationQueue.queueUrl,
    });
    new CfnOutput(this, 'NotificationDlqUrl', {
      description: 'NOTIFICATION_DLQ_URL for npm run dlq:replay',
      value: o.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'EventBusName', { description: 'Domain events are published here', value: o.bus.eventBusName });
    new CfnOutput(this, 'DashboardUrl', { description: 'The payments dashboard', value: o.observability.dashboardUrl });
    new CfnOutput(this, 'ProviderSecretArn', {
      description: 'Put the provider config document here',
      value: o.providerConfig.secretArn,
    });
  }
}

/** What a function may be granted and told the name of. */
interface FunctionResources {
  table: TableV2;
  providerConfig: ISecret;
  notificationQueue: Queue;
  deadLetterQueue: Queue;
  bus: EventBus;
  webhooks: WebhookResources;
  dueQueues: DueQueueResources;
  sharedEnvironment: Record<string, string>;
}

/** The single table, built from src/persistence/table-definition.ts. */
function paymentsTable(scope: Construct): TableV2 {
  return new TableV2(scope, 'Table', {
    partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
    sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
    globalSecondaryIndexes: INDEXES.map((index) => ({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType[index.projection],
      ...(index.nonKeyAttributes ? { nonKeyAttributes: [...index.nonKeyAttributes] } : {}),
    })),
    timeToLiveAttribute: TABLE.ttlAttribute,
    // The outbox publisher reads new outbox entries from here (docs/ARCHITECTURE.md#transactional-outbox).
    dynamoStream: StreamViewType[TABLE.streamView],
    billing: Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/** The callback → worker queue, with the dead-letter queue the worker's failures end in. */
/** What an SQS message move task from the DLQ back to the worker's queue needs (and the one-by-one redrive). */
function grantRedrive(fn: IGrantable, deadLetterQueue: Queue, notificationQueue: Queue): void {
  deadLetterQueue.grantConsumeMessages(fn);
  deadLetterQueue.grant(fn, 'sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks');
  notificationQueue.grantSendMessages(fn);
}

function notificationQueues(scope: Construct): { deadLetterQueue: Queue; notificationQueue: Queue } {
  const deadLetterQueue = new Queue(scope, 'NotificationDLQ', {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const notificationQueue = new Queue(scope, 'NotificationQueue', {
    // AWS's rule for Lambda consumers: a message stays hidden while six worker attempts could run.
    visibilityTimeout: Duration.seconds(6 * WORKER_TIMEOUT.toSeconds()),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: NOTIFICATION_MAX_RECEIVES },
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  return { deadLetterQueue, notificationQueue };
}

/** The provider secret: the one named by paymentsSecretArn, else one created (retained) holding `{}`. */
function providerSecret(scope: Construct, paymentsSecretArn: string | undefined): ISecret {
  return paymentsSecretArn
    ? Secret.fromSecretCompleteArn(scope, 'ProviderConfig', paymentsSecretArn)
    : new Secret(scope, 'ProviderConfig', {
        description: 'Payment provider config document (docs/DEPLOY.md); {} means no provider is configured yet.',
        secretStringValue: SecretValue.unsafePlainText('{}'),
        removalPolicy: RemovalPolicy.RETAIN,
      });
}
