import {
  type AttributeValue,
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createTable, dynamoClient } from '../../local/dynamodb-emulator';
import { localDataKeys } from '../../local/webhooks/local-keys';
import { webhookSender } from '../../src/aws/webhook-sender';
import { startOutboxPublisher } from '../../local/outbox-stream';
import { localWiring } from '../../src/runtime/wiring';
import { DynamoRepository } from '../../src/persistence/dynamo-repository';
import { RecordedMetrics } from '../../local/recorded-metrics';
import { RecordingEventBus } from '../../local/recording-event-bus';
import type { Deps, Logger } from '../../src/core/kernel/deps';
import { buildDeps } from '../../src/runtime/build-deps';
import type { NotificationQueue } from '../../src/core/payments/notification-ports';
import type { PaymentNotification, RefundNotification } from '../../src/domain/notification';
import type { Product } from '../../src/domain/order';
import { newProductWrites } from '../../src/core/orders/stock';
import { DEFAULT_REFUND_POLICY } from '../../src/domain/refund';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private current = new Date('2026-11-25T04:00:00.000Z')) {}
  now = (): Date => new Date(this.current);
  set(at: Date | string): void {
    this.current = new Date(at);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  advanceMinutes(minutes: number): void {
    this.advance(minutes * 60_000);
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Collects what would go to SQS, for tests of the callback handler alone. */
export class CollectingQueue implements NotificationQueue {
  readonly sent: Array<PaymentNotification | RefundNotification> = [];
  failNext = 0;
  async enqueue(notification: PaymentNotification | RefundNotification): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unavailable');
    }
    this.sent.push(notification);
  }
  /** Dead letters the test put here stand for the DLQ: a replay moves them to `sent`. */
  readonly deadLetters: Array<PaymentNotification | RefundNotification> = [];
  async replayDeadLetters(): Promise<{ moved: number; detail: string }> {
    const moved = this.deadLetters.splice(0);
    this.sent.push(...moved);
    return { moved: moved.length, detail: 'test queue' };
  }
}

export interface TestEnv {
  deps: Deps;
  clock: TestClock;
  bus: RecordingEventBus;
  metrics: RecordedMetrics;
  queue: CollectingQueue;
  repo: DynamoRepository;
  /** The DynamoDB client under `repo`: tests attach SDK middleware to it (request counts, fault injection, write counting). */
  client: DynamoDBClient;
  tableName: string;
  /** Every item in the table, storage keys included: for asserting that nothing else was written. */
  scan(): Promise<Array<Record<string, unknown>>>;
  seedProducts(products: Product[]): Promise<void>;
  /**
   * Runs the outbox publisher over the table's stream, as its event source does in AWS, until
   * every entry written so far has been handled: events reach `bus` only then.
   */
  publishEvents(): Promise<void>;
  /** `bus` once publishEvents has run: what reached the bus of everything committed so far. */
  drainedBus(): Promise<RecordingEventBus>;
}

/** A fresh table in the shared emulator and real adapters around it. */
export function createTestEnv(overrides: Partial<Deps> = {}): Promise<TestEnv> {
  return createEnvAt(inject('dynamoEndpoint'), overrides);
}

/** The same, on the emulator at `endpoint` (for runs outside vitest, such as the soak). */
export async function createEnvAt(endpoint: string, overrides: Partial<Deps> = {}): Promise<TestEnv> {
  const client = dynamoClient(endpoint);
  const tableName = `payments-${randomUUID()}`;
  await createTable(client, tableName);
  const repo = new DynamoRepository({ client, tableName });
  const clock = new TestClock();
  const bus = new RecordingEventBus();
  const metrics = new RecordedMetrics(() => clock.now().getTime());
  const queue = new CollectingQueue();
  const deps: Deps = {
    ...buildDeps(
      {
        publicBaseUrl: 'http://127.0.0.1:3000',
        returnUrlTemplate: 'https://shop.example/orders/{orderId}',
        refunds: { ...DEFAULT_REFUND_POLICY, spacingSeconds: 0 },
      },
      {
        repo,
        queue,
        events: bus,
        metrics,
        clock,
        logger: silentLogger,
        providers: {},
        // Webhook ports that touch no network: no host name resolves, a test key seals, requests are kept.
        webhookSender: webhookSender({ resolve: async () => [] }),
        webhookKeys: localDataKeys(randomBytes(32)),
        webhookQueue: { enqueue: async () => undefined },
      },
    ),
    ...overrides,
  };
  let publisher: ReturnType<typeof startOutboxPublisher> | undefined;
  const publishEvents = async () => {
    // deps read on each invocation: a test may swap deps.events (a real EventBridge client, faults).
    publisher ??= startOutboxPublisher({
      dynamo: client,
      endpoint,
      tableName,
      publisher: { wiring: localWiring(async () => deps) },
    });
    await (await publisher).idle();
  };
  return {
    deps,
    clock,
    bus,
    metrics,
    queue,
    repo,
    client,
    tableName,
    async scan() {
      const items: Array<Record<string, unknown>> = [];
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page: ScanCommandOutput = await client.send(
          new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }),
        );
        items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    },
    async seedProducts(products) {
      for (const product of products) await repo.commit(newProductWrites(product));
    },
    publishEvents,
    async drainedBus() {
      await publishEvents();
      return bus;
    },
  };
}

export { DEMO_PRODUCTS } from './demo-products';
