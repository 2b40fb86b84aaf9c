import { WAITING_STATES } from '../../src/domain/waiting';
import { CATALOGUE_LISTING_CACHE_MS } from '../../src/core/orders/catalogue';
import { ADMIN_SCOPE } from '../../src/http/routes';
import type { TransactWriteItemsCommandInput, TransactWriteItemsCommandOutput } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCallbackHandler } from '../../functions/payment-callback/handler';
import { makeHandler as makeWorkerHandler } from '../../functions/payment-worker/handler';
import { makeHandler as makeSweeperHandler } from '../../functions/sweeper/handler';
import { type LocalQueues, startLocalQueues } from '../../local/queues';
import { toRecord } from '../../local/sqs-event-source';
import { eventBridgePublisher } from '../../src/aws/eventbridge-publisher';
import { sqsNotificationQueue } from '../../src/aws/sqs-queue';
import { OPEN_PAYMENT_SHARDS, OPEN_REFUND_SHARDS, UNPAID_ORDER_SHARDS } from '../../src/persistence/keys';
import { TABLE } from '../../src/persistence/table-definition';
import type { Payment } from '../../src/domain/payment';
import { localWiring } from '../../src/runtime/wiring';
import { type CustomerApi, customerApi, itemsOfKind, placeOrder, stockOf } from '../support/api-fixtures';
import {
  callbackEvent,
  callbackKeys,
  expectAcknowledged,
  merchantProviders,
  providerCallback,
  providerSimulators,
  purgeQueues,
} from '../support/callback-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { lambdaContext } from '../support/http';
import { RequestCounter } from '../support/request-counter';
import {
  type ProviderOperation,
  type QueryableMethod,
  providerSandbox,
  sandboxKeys,
} from '../support/sweeper-fixtures';
import type { PaymentScene } from '../../src/domain/scene';

/**
 * How many AWS requests each hot path sends, counted on the wire of the real clients (DynamoDB
 * Local, the SQS stand-in) and on EventBridge's PutEvents (no local stand-in: mocked). Every
 * request is latency on the customer's path and a line on the bill, so a new one must be a decision.
 * Events leave through the table's stream, so no request path publishes: only the outbox publisher
 * calls EventBridge (its stream reads are the event source's, not the function's, and free).
 */

const keys = callbackKeys();
const simulators = providerSimulators(keys);
const TEA = { items: [{ sku: 'TEA-001', quantity: 1 }], paymentMethod: 'bank' };

let env: TestEnv;
let api: CustomerApi;
let queues: LocalQueues;
let counter: RequestCounter;
const eventBridge = new EventBridgeClient({
  region: 'local',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const eventBridgeMock = mockClient(eventBridge);

/** The requests `run` sends: DynamoDB and SQS as counted on the wire, plus EventBridge PutEvents calls. */
async function requestsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
  eventBridgeMock.resetHistory();
  const counted = await counter.during(run);
  const putEvents = eventBridgeMock.commandCalls(PutEventsCommand).length;
  return { ...counted, ...(putEvents > 0 ? { 'EventBridge.PutEvents': putEvents } : {}) };
}

beforeAll(async () => {
  queues = await startLocalQueues({ visibilityTimeoutSeconds: 1 });
});

afterAll(async () => {
  await queues?.stop();
});

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  await purgeQueues(queues);
  eventBridgeMock.reset();
  eventBridgeMock.on(PutEventsCommand).callsFake((input: { Entries?: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })),
  }));
  env.deps.providers = merchantProviders(keys);
  env.deps.queue = sqsNotificationQueue(queues.client, queues.queueUrl);
  env.deps.events = eventBridgePublisher(eventBridge, 'payments-test');
  counter = new RequestCounter().attach(env.client, 'DynamoDB').attach(queues.client, 'SQS');
  api = customerApi(env);
});

const createOrder = (idempotencyKey: string) => api('POST /api/orders', { idempotencyKey, body: TEA });

async function startedBankPayment(): Promise<Payment> {
  const { payment } = await placeOrder(api, TEA);
  const started = await api('POST /api/payments/{paymentId}/start', { params: { paymentId: payment.paymentId } });
  expect(started.statusCode).toBe(200);
  return (await env.repo.getPayment(payment.paymentId))!;
}

/** The callback a provider sends for a success, received by the callback function. */
async function receiveSuccess(payment: Payment) {
  const callback = providerCallback(simulators.bank, payment, {
    eventId: `evt-${payment.paymentId}`,
    signedAt: env.clock.now(),
  });
  const reply = await makeCallbackHandler(localWiring(async () => env.deps))(
    callbackEvent('bank', callback),
    lambdaContext,
  );
  expectAcknowledged('bank', reply as never);
}

const sceneKeys = sandboxKeys();
const PAYER = {
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  alipayOpenId: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
};

/** WeChat and Alipay wired to their sandboxes in-process, so a start's provider calls are counted too. */
function useSceneSandboxes() {
  const sandboxes = {
    wechat: providerSandbox('wechat', sceneKeys, env.clock.now),
    alipay: providerSandbox('alipay', sceneKeys, env.clock.now),
  };
  env.deps.providers = { ...env.deps.providers, wechat: sandboxes.wechat.provider, alipay: sandboxes.alipay.provider };
  return sandboxes;
}

const startIn = (paymentId: string, scene: PaymentScene) =>
  api('POST /api/payments/{paymentId}/start', { params: { paymentId }, body: { scene, payer: PAYER } });

/** The capacity units each index was charged for every transaction `run` sends, as DynamoDB reports them. */
async function indexWritesOf(run: () => Promise<unknown>): Promise<Array<Record<string, number>>> {
  const charged: Array<Record<string, number>> = [];
  const middleware =
    (next: (args: unknown) => Promise<{ output: TransactWriteItemsCommandOutput }>) => async (args: unknown) => {
      (args as { input: TransactWriteItemsCommandInput }).input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      for (const consumed of result.output.ConsumedCapacity ?? [])
        charged.push(
          Object.fromEntries(
            Object.entries(consumed.GlobalSecondaryIndexes ?? {}).map(([index, { CapacityUnits }]) => [
              index,
              CapacityUnits ?? 0,
            ]),
          ),
        );
      return result;
    };
  env.client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'indexWrites' });
  try {
    await run();
  } finally {
    env.client.middlewareStack.remove('indexWrites');
  }
  return charged;
}

describe('AWS requests per operation', () => {
  it('create order with a fresh Idempotency-Key: one transaction, nothing read, nothing published on the way', async () => {
    await createOrder('earlier-key-0001'); // the container's catalogue is warm, as in the steady state

    const requests = await requestsOf(async () => expect((await createOrder('fresh-key-0001')).statusCode).toBe(201));

    expect(requests).toEqual({ 'DynamoDB.TransactWriteItems': 1 });
  });

  it("the outbox publisher puts a stream batch's events on the bus in one call, and touches the table not at all", async () => {
    await env.publishEvents(); // the event source is set up (it finds the table's stream) outside the count
    for (const key of ['batch-key-0001', 'batch-key-0002', 'batch-key-0003']) await createOrder(key);

    const requests = await requestsOf(() => env.publishEvents());

    expect(requests).toEqual({ 'EventBridge.PutEvents': 1 });
    const published = eventBridgeMock
      .commandCalls(PutEventsCommand)[0]!
      .args[0].input.Entries!.map((entry) => entry.DetailType);
    expect(published).toEqual(['OrderCreated', 'OrderCreated', 'OrderCreated']);
    // Each entry rode on its order and stays there until the order's next write: no delete is paid for.
    expect((await itemsOfKind(env, 'order')).filter((order) => order.outbox)).toHaveLength(3);
  });

  it("create order: the stock decrement writes no catalogue index entry; the order's list entries and the open payment's due entry", async () => {
    await createOrder('earlier-key-0001');

    const charged = await indexWritesOf(async () => expect((await createOrder('fresh-key-0001')).statusCode).toBe(201));

    // The order: its customer's list (Browse) and the recent orders (Recent); the payment: due (DueByTime) and recent.
    expect(charged).toHaveLength(1);
    expect(Object.keys(charged[0]!).sort()).toEqual(
      [TABLE.browseIndex.name, TABLE.recentIndex.name, TABLE.dueIndex.name].sort(),
    );
    expect(await stockOf(env, 'TEA-001')).toBe(DEMO_PRODUCTS[0]!.stock - 2);
  });

  it('create order as the first in its container: the catalogue is read once', async () => {
    const requests = await requestsOf(async () => expect((await createOrder('fresh-key-0001')).statusCode).toBe(201));

    expect(requests).toEqual({ 'DynamoDB.BatchGetItem': 1, 'DynamoDB.TransactWriteItems': 1 });
  });

  it('create order replayed with the same key: the failed transaction returns the first response', async () => {
    const first = await createOrder('replayed-key-01');

    let replay!: Awaited<ReturnType<typeof createOrder>>;
    const requests = await requestsOf(async () => (replay = await createOrder('replayed-key-01')));

    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(requests).toEqual({ 'DynamoDB.TransactWriteItems': 1 });
  });

  it('list products: the catalogue index gives the skus, one batch read gives the products', async () => {
    const requests = await requestsOf(async () =>
      expect((await api('GET /api/products')).body.products).toHaveLength(DEMO_PRODUCTS.length),
    );

    expect(requests).toEqual({ 'DynamoDB.Query': 1, 'DynamoDB.BatchGetItem': 1 });
  });

  it("list products again within a second: the container's copy, no request; staff and a second later read", async () => {
    await api('GET /api/products');
    expect(await requestsOf(() => api('GET /api/products'))).toEqual({});
    const staff = await requestsOf(() => api('GET /api/products', { scope: ADMIN_SCOPE }));
    expect(staff).toEqual({ 'DynamoDB.Query': 1, 'DynamoDB.BatchGetItem': 1 });

    env.clock.advance(CATALOGUE_LISTING_CACHE_MS);
    expect(await requestsOf(() => api('GET /api/products'))).toEqual({
      'DynamoDB.Query': 1,
      'DynamoDB.BatchGetItem': 1,
    });
  });

  it('start payment', async () => {
    const { payment } = await placeOrder(api, TEA);

    const requests = await requestsOf(async () =>
      expect(
        (await api('POST /api/payments/{paymentId}/start', { params: { paymentId: payment.paymentId } })).statusCode,
      ).toBe(200),
    );

    // The payment's transition carries its PaymentStarted: one item, so a conditional put of its own, no transaction.
    expect(requests).toEqual({ 'DynamoDB.GetItem': 1, 'DynamoDB.PutItem': 1 });
  });

  describe('start payment in each scene: the provider asked once where it creates the checkout, never where it is built locally', () => {
    // One row per kind (mini-program is JSAPI's call, wap is page's, the bank's page is 'start payment' above).
    const ROWS: Array<[QueryableMethod, PaymentScene, ProviderOperation[]]> = [
      ['wechat', 'native', ['create']],
      ['wechat', 'jsapi', ['create']],
      ['wechat', 'h5', ['create']],
      ['wechat', 'app', ['create']],
      ['alipay', 'page', []],
      ['alipay', 'app', []],
      ['alipay', 'qr', ['create']],
      ['alipay', 'miniprogram', ['create']],
    ];

    it.each(ROWS)('%s %s', async (method, scene, providerCalls) => {
      const sandboxes = useSceneSandboxes();
      const { payment } = await placeOrder(api, { ...TEA, paymentMethod: method });

      const requests = await requestsOf(async () =>
        expect((await startIn(payment.paymentId, scene)).statusCode).toBe(200),
      );

      // The payment read, then its transition with its PaymentStarted: one item, one conditional put.
      expect(requests).toEqual({ 'DynamoDB.GetItem': 1, 'DynamoDB.PutItem': 1 });
      expect(sandboxes[method].requests).toEqual(providerCalls);
    });

    it('the same scene again while its handle lives: one read, nothing written, the provider not asked', async () => {
      const sandboxes = useSceneSandboxes();
      const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'wechat' });
      await startIn(payment.paymentId, 'jsapi');

      const requests = await requestsOf(async () =>
        expect((await startIn(payment.paymentId, 'jsapi')).statusCode).toBe(200),
      );

      expect(requests).toEqual({ 'DynamoDB.GetItem': 1 });
      expect(sandboxes.wechat.requests).toEqual(['create']);
    });

    it('a scene switch (JSAPI, then Native): the new order created and the old one closed at WeChat, one transaction here', async () => {
      const sandboxes = useSceneSandboxes();
      const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'wechat' });
      await startIn(payment.paymentId, 'jsapi');

      const requests = await requestsOf(async () =>
        expect((await startIn(payment.paymentId, 'native')).statusCode).toBe(200),
      );

      // The payment, then its order; then ONE transaction: the old payment cancelled, the new one
      // put started, the order pointed at it.
      expect(requests).toEqual({ 'DynamoDB.GetItem': 2, 'DynamoDB.TransactWriteItems': 1 });
      expect(sandboxes.wechat.requests).toEqual(['create', 'create', 'close']);
    });
  });

  it('callback received: verified, archived, enqueued', async () => {
    const payment = await startedBankPayment();

    const requests = await requestsOf(() => receiveSuccess(payment));

    // The amount check rides on the archive's transaction: no read of the payment first.
    expect(requests).toEqual({ 'DynamoDB.TransactWriteItems': 1, 'SQS.SendMessage': 1 });
  });

  it('worker applies a success (payment succeeded, order paid)', async () => {
    const payment = await startedBankPayment();
    await receiveSuccess(payment);
    const { Messages = [] } = await queues.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 1,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    const event: SQSEvent = { Records: [toRecord(Messages[0]!, 'arn:aws:sqs:local:000000000000:notifications')] };

    const requests = await requestsOf(async () =>
      expect(await makeWorkerHandler(localWiring(async () => env.deps))(event, lambdaContext)).toEqual({
        batchItemFailures: [],
      }),
    );

    expect((await env.repo.getOrder(payment.orderId))!.status).toBe('paid');
    // The payment and its order are read; the dedupe record is only written (its condition decides).
    expect(requests).toEqual({ 'DynamoDB.GetItem': 2, 'DynamoDB.TransactWriteItems': 1 });
  });

  it("the sweeper's page of due payments: their keys from each due-index shard, then the payments in one batch read", async () => {
    for (let i = 0; i < 3; i++) await placeOrder(api, TEA);
    env.clock.advanceMinutes(31);

    let found = 0;
    const requests = await requestsOf(async () => {
      found = (await env.repo.findDuePayments(env.clock.now(), { limit: 100 })).items.length;
    });

    expect(found).toBe(3);
    // The index holds keys only: a payment write that keeps its due time writes no entry.
    expect(requests).toEqual({ 'DynamoDB.Query': OPEN_PAYMENT_SHARDS, 'DynamoDB.BatchGetItem': 1 });
  });

  it('sweeper run with nothing due', async () => {
    const requests = await requestsOf(() =>
      makeSweeperHandler(localWiring(async () => env.deps))({} as never, lambdaContext),
    );

    // Each due-index shard once: open payments, unpaid orders, open refunds; then the gauges: the
    // open-payment count, the oldest open refund, one COUNT per waiting state's attention set; then the
    // catalogue (its index and one batch read of the products), for sharded stock to rebalance (none of
    // the demo products is sharded).
    expect(requests).toEqual({
      'DynamoDB.BatchGetItem': 1,
      'DynamoDB.Query':
        OPEN_PAYMENT_SHARDS +
        UNPAID_ORDER_SHARDS +
        OPEN_REFUND_SHARDS +
        OPEN_PAYMENT_SHARDS +
        OPEN_REFUND_SHARDS +
        WAITING_STATES.length +
        1,
    });
  });
});
