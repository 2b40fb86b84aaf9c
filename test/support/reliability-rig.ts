import { randomInt, randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import { makeHandler as makeCallbackHandler } from '../../functions/payment-callback/handler';
import { makeHandler as makeWorkerHandler } from '../../functions/payment-worker/handler';
import { makeHandler as makeSweeperHandler } from '../../functions/sweeper/handler';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-emulator';
import { type LocalQueues, startLocalQueues } from '../../local/queues';
import { createAlipaySimulator } from '../../local/sandbox/alipay';
import { createBankSimulator } from '../../local/sandbox/bank';
import type { CheckoutStore, ProviderSimulator, SandboxCheckout } from '../../local/sandbox/types';
import { createWechatSimulator } from '../../local/sandbox/wechat';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { eventBridgePublisher } from '../../src/aws/eventbridge-publisher';
import { redriveDeadLetters, sqsClient, sqsNotificationQueue } from '../../src/aws/sqs-queue';
import type { SweepReport } from '../../src/core/sweeper/sweeper';
import type { DomainEvent } from '../../src/domain/events';
import type { Product } from '../../src/domain/order';
import { PAYMENT_METHODS, type PaymentMethod } from '../../src/domain/payment';
import { createAlipayProvider } from '../../src/providers/alipay';
import { createBankProvider } from '../../src/providers/bank';
import type { FetchLike } from '../../src/providers/kit/http';
import type { PaymentProvider, RawCallback } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';
import { memoryCheckoutStore, openInSimulator, simulatorFetch as alipaySimulatorFetch } from './alipay-fixtures';
import { CUSTOMER_ROUTES, type ApiRequest, type CustomerRoute } from './api-fixtures';
import { openInSimulator as openBankPayPage } from './bank-fixtures';
import { callbackEvent, queueDepth } from './callback-fixtures';
import { AwsFaults, CrashSwitch, DynamoWriteLog, type ProviderStandIn, providerStandIn, quickRetries } from './faults';
import { createEnvAt, type TestEnv } from './harness';
import { sweepAndSettle } from './sweep';
import { localWiring } from '../../src/runtime/wiring';
import { httpEvent, invoke, type JsonResponse, lambdaContext } from './http';
import { checkInvariants, type InvariantReport } from './invariants';
import type { SandboxKeys } from './sweeper-fixtures';
import { simulatorFetch as wechatSimulatorFetch } from './wechat-fixtures';

/**
 * The whole service on real parts, with its weather under the test's control: DynamoDB Local and
 * the SQS stand-in (fauxqs) reached through SDK clients that carry the fault middleware, an
 * EventBridge stand-in behind a real EventBridgeClient, the three providers' real merchant modules
 * talking to their sandbox simulators through stand-ins that can fail, and every Lambda handler
 * (API, callback, worker on an SQS event source, sweeper) invoked on deps that can crash.
 * Used by the reliability scenarios and by the soak.
 */

export const RIG_CUSTOMER = 'cust_reliability';
export const SWEEP_INTERVAL_SECONDS = 60;
const SECOND = 1000;

export const RIG_PRODUCTS: Product[] = [
  { sku: 'TEA-OOLONG', name: 'Oolong tea 100 g', price: 6_800, stock: 1_000_000 },
  { sku: 'CUP-JADE', name: 'Jade cup', price: 2_350, stock: 1_000_000 },
  { sku: 'PEN-WOLF', name: 'Wolf-hair brush', price: 199, stock: 1_000_000 },
];

/** What API Gateway answers when the function throws instead of answering. */
const LAMBDA_ERROR = { statusCode: 500, headers: {}, body: { message: 'Internal Server Error' } };

/** What a caller gets from a process that died mid-request: no answer. */
export const NO_ANSWER = 'no answer' as const;
export type Answer<T> = T | typeof NO_ANSWER;

export interface ProviderWorld {
  method: PaymentMethod;
  merchant: PaymentProvider;
  simulator: ProviderSimulator;
  store: CheckoutStore;
  /** The provider's API as the merchant module reaches it (none for the bank: it has no API). */
  standIn?: ProviderStandIn;
}

export interface EventBridgeStandIn {
  client: EventBridgeClient;
  /** Every event PutEvents accepted, repeats included, oldest first. */
  events: DomainEvent[];
}

/** A real EventBridgeClient whose HTTP handler is the bus: the SDK's serializer, retries and middleware all run. */
export function eventBridgeStandIn(): EventBridgeStandIn {
  const events: DomainEvent[] = [];
  const handle = async (request: { body?: unknown }) => {
    const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
    const body = JSON.parse(text) as { Entries: Array<{ DetailType: string; Detail: string; Time?: number }> };
    for (const entry of body.Entries) {
      const { eventId, ...detail } = JSON.parse(entry.Detail) as { eventId: string } & DomainEvent['detail'];
      events.push({
        id: eventId,
        type: entry.DetailType as DomainEvent['type'],
        occurredAt: new Date((entry.Time ?? 0) * 1000).toISOString(),
        detail,
      });
    }
    const answer = { FailedEntryCount: 0, Entries: body.Entries.map(() => ({ EventId: randomUUID() })) };
    return {
      response: {
        statusCode: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: Buffer.from(JSON.stringify(answer)),
      },
    };
  };
  const client = new EventBridgeClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: { handle } as never,
  });
  return { client, events };
}

export interface RigOptions {
  dynamoEndpoint: string;
  keys: SandboxKeys;
  /** Seeds the AWS faults (and anything else random the caller derives from it). */
  seed?: number;
  products?: Product[];
  /** Bounds a provider hang (the soak must end); tests leave hangs unbounded. */
  hangReleaseMs?: number;
  /** The SDK's real retry backoff (the soak); the suite shortens it (see quickRetries). */
  realBackoff?: boolean;
  /**
   * SQS visibility timeout. 0 by default: the one poller takes the next batch only once the last
   * is handled, so a failed message comes back at once instead of after the stack's 180 s.
   */
  visibilityTimeoutSeconds?: number;
}

export class Rig {
  readonly faults: AwsFaults;
  readonly crash = new CrashSwitch();
  readonly writes = new DynamoWriteLog();
  readonly bus: EventBridgeStandIn;
  readonly providers: Record<PaymentMethod, ProviderWorld>;
  /** Worker invocations that threw or whose batch failed as a whole. */
  workerErrors = 0;
  /** Callback requests that reached the callback function, hostile or genuine. */
  callbacksReceived = 0;
  /** API requests and sweeper runs invoked. */
  apiRequests = 0;
  sweeps = 0;
  readonly keys: SandboxKeys;
  private readonly senderClient: SQSClient;
  private stopEventSource?: () => Promise<void>;

  private constructor(
    readonly env: TestEnv,
    readonly queues: LocalQueues,
    private readonly workerClient: SQSClient,
    readonly initialStock: ReadonlyMap<string, number>,
    options: RigOptions,
  ) {
    this.faults = new AwsFaults(options.seed ?? 1);
    this.keys = options.keys;
    const senderClient = (this.senderClient = sqsClient({
      endpoint: queues.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }));
    this.bus = eventBridgeStandIn();
    if (!options.realBackoff)
      for (const client of [env.client, senderClient, workerClient, this.bus.client]) quickRetries(client);
    this.writes.attach(env.client);
    this.faults.attach(env.client, 'dynamodb');
    this.faults.attach(this.bus.client, 'eventbridge');
    env.deps.events = eventBridgePublisher(this.bus.client, 'payments');
    this.faults.attach(senderClient, 'sqs');
    this.faults.attach(workerClient, 'sqs');
    env.deps.queue = sqsNotificationQueue(senderClient, queues.queueUrl);
    this.providers = providerWorlds(options.keys, env.clock.now, options.hangReleaseMs);
    env.deps.providers = Object.fromEntries(
      Object.values(this.providers).map((world) => [world.method, world.merchant]),
    );
  }

  static async start(options: RigOptions): Promise<Rig> {
    const products = options.products ?? RIG_PRODUCTS;
    const env = await createEnvAt(options.dynamoEndpoint);
    await env.seedProducts(products);
    const queues = await startLocalQueues({
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 0,
      maxReceiveCount: 5,
    });
    const workerClient = sqsClient({ endpoint: queues.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const rig = new Rig(
      env,
      queues,
      workerClient,
      new Map(products.map((product) => [product.sku, product.stock])),
      options,
    );
    rig.startWorker();
    return rig;
  }

  get clock() {
    return this.env.clock;
  }

  get deps() {
    return this.env.deps;
  }

  async stop(): Promise<void> {
    for (const world of Object.values(this.providers)) world.standIn?.releaseHung();
    // Stopping the queue server first ends the worker's long poll at once instead of waiting out the second.
    const stopped = this.stopEventSource?.();
    await this.queues.stop();
    await stopped;
    this.workerClient.destroy();
    this.senderClient.destroy();
    this.bus.client.destroy();
    this.env.client.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // The functions, as Lambda invokes them
  // -------------------------------------------------------------------------------------------

  /** One API request through the route's handler module; NO_ANSWER when the process died mid-way. */
  async api<T = unknown>(
    route: CustomerRoute,
    { params = {}, ...request }: ApiRequest = {},
  ): Promise<Answer<JsonResponse<T>>> {
    this.apiRequests++;
    const invocation = this.crash.invocation('api', this.deps);
    const [method = '', template = ''] = route.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);
    const event = httpEvent(method, path, { customerId: RIG_CUSTOMER, ...request, pathParameters: params });
    const response = await invoke<T>(CUSTOMER_ROUTES[route](localWiring(async () => invocation.deps)), event).catch(
      () => LAMBDA_ERROR as JsonResponse<T>,
    );
    return invocation.dead ? NO_ANSWER : response;
  }

  /**
   * A well-behaved client: retries a lost answer or a 5xx with the same Idempotency-Key, a few
   * times with no delay (the test clock does not move).
   */
  async call<T = unknown>(route: CustomerRoute, request: ApiRequest = {}, attempts = 8): Promise<JsonResponse<T>> {
    let last: Answer<JsonResponse<T>> = NO_ANSWER;
    for (let attempt = 0; attempt < attempts; attempt++) {
      last = await this.api<T>(route, request);
      if (last !== NO_ANSWER && last.statusCode < 500) return last;
    }
    if (last === NO_ANSWER) throw new Error(`${route}: no answer after ${attempts} attempts`);
    return last;
  }

  /** A provider callback through the callback Lambda; NO_ANSWER when the process died. */
  async receive(provider: string, callback: RawCallback): Promise<Answer<APIGatewayProxyStructuredResultV2>> {
    this.callbacksReceived++;
    const invocation = this.crash.invocation(
      'callback',
      this.deps,
      PAYMENT_METHODS.filter((method) => method === provider),
    );
    const reply = await makeCallbackHandler(localWiring(async () => invocation.deps))(
      callbackEvent(provider, callback),
      lambdaContext,
    ).catch(() => ({
      statusCode: LAMBDA_ERROR.statusCode,
      body: JSON.stringify(LAMBDA_ERROR.body),
    }));
    return invocation.dead ? NO_ANSWER : reply;
  }

  /** One scheduled sweeper run; NO_ANSWER when it died, the error when it failed. */
  async sweep(): Promise<Answer<SweepReport> | Error> {
    this.sweeps++;
    const invocation = this.crash.invocation('sweeper', this.deps);
    try {
      // The sweeper's run and the expiry worker's pass over what it enqueued, on the same crashing deps.
      const report = await sweepAndSettle(
        invocation.deps,
        (deps) =>
          makeSweeperHandler(localWiring(async () => deps))(
            scheduledEvent(this.clock.now()),
            lambdaContext,
          ) as Promise<SweepReport>,
      );
      return invocation.dead ? NO_ANSWER : report;
    } catch (error) {
      return invocation.dead ? NO_ANSWER : (error as Error);
    }
  }

  /** Stops the worker's event source (messages wait in the queue), e.g. to watch one function's writes alone. */
  async pauseWorker(): Promise<void> {
    await this.stopEventSource?.();
    this.stopEventSource = undefined;
  }

  resumeWorker(): void {
    if (!this.stopEventSource) this.startWorker();
  }

  private startWorker(): void {
    const eventSource = startSqsEventSource({
      client: this.workerClient,
      queueUrl: this.queues.queueUrl,
      handler: async (event, context) => {
        const batch = event.Records.map((record) => (JSON.parse(record.body) as { provider: PaymentMethod }).provider);
        const invocation = this.crash.invocation('worker', this.deps, batch);
        const response = await makeWorkerHandler(localWiring(async () => invocation.deps))(event, context);
        invocation.finish();
        if (invocation.dead) throw new Error(`worker died at ${invocation.dead}`);
        return response;
      },
      waitSeconds: 1,
      onError: () => this.workerErrors++,
    });
    this.stopEventSource = () => eventSource.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Customers and providers
  // -------------------------------------------------------------------------------------------

  /** Places an order (retrying as a client does) and returns its ids and amount. */
  async placeOrder(method: PaymentMethod, items = [{ sku: 'TEA-OOLONG', quantity: 1 }]) {
    const response = await this.call<{
      order: { orderId: string };
      payment: { paymentId: string; amount: number; expiresAt: string };
    }>('POST /api/orders', {
      body: { items, paymentMethod: method },
      idempotencyKey: `order-${randomUUID()}`,
    });
    if (response.statusCode !== 201)
      throw new Error(`order refused: ${response.statusCode} ${JSON.stringify(response.body)}`);
    return {
      orderId: response.body.order.orderId,
      paymentId: response.body.payment.paymentId,
      amount: response.body.payment.amount,
      expiresAt: response.body.payment.expiresAt,
      method,
    };
  }

  /** Starts the payment and opens its pay URL, so the checkout exists at the provider. Returns the API's answer. */
  async startPayment(
    paymentId: string,
    method: PaymentMethod,
    attempts = 8,
  ): Promise<JsonResponse<{ payUrl?: string; error?: { code: string } }>> {
    const response = await this.call<{ payUrl?: string; error?: { code: string } }>(
      'POST /api/payments/{paymentId}/start',
      { params: { paymentId } },
      attempts,
    );
    const payUrl = response.body.payUrl;
    if (response.statusCode === 200 && payUrl && !this.providers[method].store.get(paymentId)) {
      const world = this.providers[method];
      const opened =
        method === 'bank'
          ? await openBankPayPage(world.simulator, world.store, payUrl, this.clock.now())
          : await openInSimulator(world.simulator, world.store, payUrl, this.clock.now());
      if (opened.statusCode !== 302)
        throw new Error(`${method} refused its pay URL: ${opened.statusCode} ${opened.body}`);
    }
    return response;
  }

  /** An order whose payment is processing at the provider. */
  async startedOrder(method: PaymentMethod, items?: Array<{ sku: string; quantity: number }>) {
    const order = await this.placeOrder(method, items);
    const started = await this.startPayment(order.paymentId, method);
    if (started.statusCode !== 200)
      throw new Error(`start refused: ${started.statusCode} ${JSON.stringify(started.body)}`);
    return order;
  }

  /**
   * The provider decides the checkout (the customer paid, failed or it closed). No callback is
   * sent: `deliver` sends it. `notificationId` is the provider's id for the callback about it.
   */
  decide(
    method: PaymentMethod,
    paymentId: string,
    state: 'paid' | 'failed' | 'closed',
    options: { notificationId?: string; transactionId?: string } = {},
  ): SandboxCheckout {
    const world = this.providers[method];
    const checkout = world.store.get(paymentId);
    if (!checkout) throw new Error(`${method} has no checkout for ${paymentId}`);
    const decided: SandboxCheckout = {
      ...checkout,
      state,
      notificationId: options.notificationId ?? `ntf-${state}-${paymentId}`,
      ...(state === 'paid'
        ? {
            transactionId: options.transactionId ?? checkout.transactionId ?? transactionId(method),
            paidAt: this.clock.now().toISOString(),
          }
        : {}),
    };
    world.store.put(decided);
    return decided;
  }

  /**
   * The callback the provider sends now about its checkout, signed with its real keys;
   * `about` overrides what the provider says (another outcome, notification or transaction id).
   */
  callbackFor(method: PaymentMethod, paymentId: string, about: Partial<SandboxCheckout> = {}): RawCallback {
    const world = this.providers[method];
    const checkout = world.store.get(paymentId);
    if (!checkout) throw new Error(`${method} has no checkout for ${paymentId}`);
    const callback = world.simulator.buildCallback({ ...checkout, ...about }, this.clock.now());
    if (!callback) throw new Error(`${method} sends no callback for ${paymentId}`);
    return {
      headers: Object.fromEntries(Object.entries(callback.headers).map(([name, value]) => [name.toLowerCase(), value])),
      body: Buffer.from(callback.body, 'utf8'),
    };
  }

  /** The provider posts its callback until it is acknowledged (bounded, no delay). Returns the attempts used, 0 if never acknowledged. */
  async deliver(method: PaymentMethod, paymentId: string, maxAttempts = 8): Promise<number> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const reply = await this.receive(method, this.callbackFor(method, paymentId));
      if (
        reply !== NO_ANSWER &&
        this.providers[method].simulator.isAcknowledged(reply.statusCode ?? 0, reply.body ?? '')
      )
        return attempt;
    }
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // Settling and checking
  // -------------------------------------------------------------------------------------------

  /** Waits until the worker has handled (or dead-lettered) every queued notification. */
  async drained(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await queueDepth(this.queues, this.queues.queueUrl)) > 0) {
      if (Date.now() > deadline) throw new Error(`the notification queue did not drain within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Moves dead-lettered notifications back, as the operator's `npm run dlq:replay` does. */
  async redriveDeadLetters(): Promise<number> {
    return redriveDeadLetters(this.queues.client, this.queues);
  }

  /**
   * Lets time pass the way production does: the queue drains and the outbox publisher reads the
   * table's stream (retrying what the bus refused), then a minute goes by and the sweeper runs,
   * `minutes` times.
   */
  async settle(minutes = 2): Promise<void> {
    for (let minute = 0; minute < minutes; minute++) {
      await this.drained();
      await this.env.publishEvents();
      this.clock.advance(SWEEP_INTERVAL_SECONDS * SECOND);
      await this.sweep();
    }
    await this.drained();
    await this.env.publishEvents();
  }

  /** The invariants over the whole table and every event the bus received (read with faults off). */
  async check(): Promise<InvariantReport> {
    const enabled = this.faults.enabled;
    this.faults.enabled = false;
    try {
      await this.env.publishEvents(); // what the stream still holds, as its publisher would retry it
      return checkInvariants({
        items: await this.env.scan(),
        events: this.bus.events,
        initialStock: this.initialStock,
        now: this.clock.now(),
        sweepIntervalSeconds: SWEEP_INTERVAL_SECONDS,
        expiryGraceSeconds: this.deps.sweeper.expiryGraceSeconds,
      });
    } finally {
      this.faults.enabled = enabled;
    }
  }

  /** Events about one payment, by type, as the bus received them (repeats included). */
  eventsOf(paymentId: string): string[] {
    return this.bus.events.filter((event) => event.detail.paymentId === paymentId).map((event) => event.type);
  }
}

function providerWorlds(
  keys: SandboxKeys,
  now: () => Date,
  hangReleaseMs?: number,
): Record<PaymentMethod, ProviderWorld> {
  const wechatStore = memoryCheckoutStore();
  const wechatSimulator = createWechatSimulator(keys.wechat.sandbox);
  const wechatStandIn = providerStandIn(
    'wechat',
    keys,
    wechatSimulatorFetch(wechatSimulator, wechatStore, { now }),
    now,
    hangReleaseMs,
  );

  const alipayStore = memoryCheckoutStore();
  const alipaySimulator = createAlipaySimulator(keys.alipay.sandbox);
  // The Alipay fixture's fetch takes a fixed time: build it per request so the simulator sees the test clock.
  const alipayUpstream: FetchLike = (input, init) =>
    alipaySimulatorFetch(alipaySimulator, alipayStore, now())(input, init);
  const alipayStandIn = providerStandIn('alipay', keys, alipayUpstream, now, hangReleaseMs);

  return {
    wechat: {
      method: 'wechat',
      merchant: createWechatProvider({ config: keys.wechat.merchant, fetch: wechatStandIn.fetch }),
      simulator: wechatSimulator,
      store: wechatStore,
      standIn: wechatStandIn,
    },
    alipay: {
      method: 'alipay',
      merchant: createAlipayProvider({ config: keys.alipay.merchant, fetch: alipayStandIn.fetch }),
      simulator: alipaySimulator,
      store: alipayStore,
      standIn: alipayStandIn,
    },
    bank: {
      method: 'bank',
      merchant: createBankProvider({ config: keys.bank.merchant }),
      simulator: createBankSimulator(keys.bank.sandbox),
      store: memoryCheckoutStore(),
    },
  };
}

function transactionId(method: PaymentMethod): string {
  const digits = Array.from({ length: 24 }, () => randomInt(10)).join('');
  return method === 'wechat' ? `4200${digits}` : method === 'alipay' ? `2026${digits}` : `txn_${digits}`;
}

function scheduledEvent(at: Date): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: at.toISOString(),
    region: LOCAL_REGION,
    resources: ['arn:aws:events:local:000000000000:rule/payments-sweeper'],
    detail: {},
  };
}
