import { TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { execFile } from 'node:child_process';
import {
  createHmac,
  createCipheriv,
  createDecipheriv,
  createSign,
  createVerify,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { createTable, dynamoClient } from '../local/dynamodb-emulator';
import { startOutboxPublisher } from '../local/outbox-stream';
import { startRuntime, type Runtime } from '../local/runtime';
import { OUTBOX_ATTRIBUTE } from '../src/persistence/table-definition';
import { DynamoRepository } from '../src/persistence/dynamo-repository';
import { loadOrCreateSandboxKeys } from '../local/sandbox/keys';
import { createAlipaySimulator, generateAlipayKeys } from '../local/sandbox/alipay';
import { createBankSimulator, generateBankKeys } from '../local/sandbox/bank';
import { createWechatSimulator, generateWechatKeys } from '../local/sandbox/wechat';
import type { ProviderSimulator } from '../local/sandbox/types';
import { createOrders } from '../src/core/orders/orders';
import { localWiring } from '../src/runtime/wiring';
import { startPayment } from '../src/core/payments/payments';
import { sweep } from '../src/core/sweeper/sweeper';
import { Metric } from '../src/core/kernel/metric-names';
import type { Payment, PaymentMethod } from '../src/domain/payment';
import { createAlipayProvider } from '../src/providers/alipay';
import { createBankProvider } from '../src/providers/bank';
import type { PaymentProvider, RawCallback } from '../src/core/payments/provider';
import { createWechatProvider } from '../src/providers/wechat';
import { measureBundles } from './bundles';
import { PRICES, costPerMillion, expiryCostPerMillion, type LoopUsage } from './cost';
import { invocationLogs } from './lambda-logs';
import { AwsWriteUnits } from './write-units';

/**
 * `npm run bench`: the whole performance picture in one bounded run (a few minutes), written to
 * bench/results.json and docs/PERFORMANCE.md. Measurements of this machine, not assertions.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKU = 'BENCH-1';
const execFileAsync = promisify(execFile);
const CONCURRENCY = [1, 8, 32] as const;
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 4);
/**
 * The outbox publisher's duration per invocation in Lambda, an estimate: locally its bus is in
 * memory, in AWS one PutEvents round trip in the region (tens of ms).
 */
const PUBLISHER_MS_ESTIMATE = 30;
/** The cost target per 1M completed payments the bench reports against. */
const BUDGET_USD = 15;

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A create transaction to send bare: the service's own, replayed with fresh ids per transaction. */
type WriteSet = (customerTag: string, orderTag: string) => TransactWriteCommandInput;

/**
 * The floor: the same four writes a create makes (order, payment, idempotency record, stock), one
 * bare TransactWriteItems each. With a `writeSet`, that transaction instead: what DynamoDB Local
 * alone allows the service's own writes, without HTTP, the JWT check or the handler.
 */
async function floorRate(runtime: Runtime, inFlight: number, seconds: number, writeSet?: WriteSet): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  // The service's transaction goes through a document client as the repository's does (its items are captured unmarshalled).
  const doc = DynamoDBDocumentClient.from(runtime.dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  const put = (pk: string, sk: string, extra: Record<string, { S: string } | { N: string }>) => ({
    Put: { TableName: 'payments', Item: { pk: { S: pk }, sk: { S: sk }, ...extra }, ConditionExpression: 'attribute_not_exists(pk)' },
  });
  const floor = (id: string): TransactWriteItemsCommandInput => {
    const body = { S: 'x'.repeat(400) };
    return {
      TransactItems: [
        put(`ORDER#floor-${id}`, 'ORDER', { body, totalAmount: { N: '100' } }),
        put(`PAYMENT#floor-${id}`, 'PAYMENT', { body, amount: { N: '100' } }),
        put(`IDEMP#floor#${id}`, 'IDEMP', { body }),
        {
          Update: {
            TableName: 'payments',
            Key: { pk: { S: `PRODUCT#${SKU}` }, sk: { S: 'PRODUCT' } },
            UpdateExpression: 'SET stock = stock - :one',
            ConditionExpression: 'stock >= :one AND price = :price',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':price': { N: '100' } },
          },
        },
      ],
    };
  };
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      // Each worker a customer of its own, as the load generator's requests come from many.
      const customer = randomUUID();
      while (performance.now() < deadline) {
        const id = randomUUID();
        await (writeSet ? doc.send(new TransactWriteCommand(writeSet(customer, id))) : runtime.dynamo.client.send(new TransactWriteItemsCommand(floor(id))));
        done++;
      }
    }),
  );
  return done / seconds;
}

/**
 * The transaction one real `POST /api/orders` sent (items, conditions and all, as marshalled),
 * captured at the runtime's DynamoDB client; replayed with its order, payment, customer and key
 * renamed. `without` leaves out the writes to items whose key starts with it.
 */
async function capturedCreate(runtime: Runtime, token: string, customerId: string): Promise<(without?: string) => WriteSet> {
  let captured: TransactWriteCommandInput | undefined;
  runtime.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand') captured ??= structuredClone((args as { input: TransactWriteCommandInput }).input);
      return next(args);
    },
    { step: 'initialize', name: 'benchCapture' },
  );
  const idempotencyKey = `bench-capture-${randomUUID()}`;
  const response = await fetch(`${runtime.baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': idempotencyKey },
    body: JSON.stringify({ items: [{ sku: SKU, quantity: 1 }], paymentMethod: 'bank' }),
  });
  runtime.dynamo.client.middlewareStack.remove('benchCapture');
  const { order, payment } = (await response.json()) as { order: { orderId: string }; payment: { paymentId: string } };
  if (!captured) throw new Error(`the create sent no transaction (HTTP ${response.status})`);
  const template = captured;
  // The order's outbox entry kept, a byte longer, under a name the stream's filter passes over: a
  // replay must not publish its OrderCreated again.
  const replayedAttribute = (name: string) => (name === OUTBOX_ATTRIBUTE ? `${OUTBOX_ATTRIBUTE}_` : name);
  const renamed = (value: unknown, rename: (text: string) => string): unknown => {
    if (typeof value === 'string') return rename(value);
    if (Array.isArray(value)) return value.map((element) => renamed(element, rename));
    if (value && typeof value === 'object' && !(value instanceof Uint8Array))
      return Object.fromEntries(Object.entries(value).map(([name, element]) => [replayedAttribute(name), renamed(element, rename)]));
    return value;
  };
  const keyOf = (item: NonNullable<TransactWriteCommandInput['TransactItems']>[number]) =>
    String((item.Put?.Item ?? item.Update?.Key ?? item.ConditionCheck?.Key ?? item.Delete?.Key)?.pk);
  return (without) => {
    // Left out once here, not in every replayed transaction: the bench's own work shares the cores.
    const kept = { ...template, TransactItems: template.TransactItems!.filter((item) => without === undefined || !keyOf(item).startsWith(without)) };
    return (customerTag, orderTag) =>
      renamed(kept, (text) =>
        text
          .replaceAll(customerId, customerTag)
          .replaceAll(order.orderId, `o${orderTag}`)
          .replaceAll(payment.paymentId, `p${orderTag}`)
          .replaceAll(idempotencyKey, orderTag),
      ) as TransactWriteCommandInput;
  };
}

/** The service over HTTP: POST /api/orders from a load generator in its own process (bench/load.ts). */
async function serviceRate(runtime: Runtime, tokens: string[], inFlight: number, seconds: number) {
  const settingsFile = join(mkdtempSync(join(tmpdir(), 'bench-load-')), 'settings.json');
  const body = JSON.stringify({ items: [{ sku: SKU, quantity: 1 }], paymentMethod: 'bank' });
  writeFileSync(settingsFile, JSON.stringify({ url: `${runtime.baseUrl}/api/orders`, connections: inFlight, seconds, tokens, body }));
  try {
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), settingsFile], { cwd: ROOT });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { rate: number; p50: number; p99: number; non2xx: number; errors: number };
  } finally {
    rmSync(dirname(settingsFile), { recursive: true, force: true });
  }
}

async function throughput(runtime: Runtime, tokens: string[], writeSet: (without?: string) => WriteSet) {
  // Not recorded: the emulator's JIT and heap settle first (its first seconds run at half speed).
  await floorRate(runtime, 8, WINDOW_SECONDS);
  await serviceRate(runtime, tokens, 8, WINDOW_SECONDS);
  const rows = [];
  for (const inFlight of CONCURRENCY) {
    const floor: number[] = [];
    const whole: number[] = [];
    const lessCounter: number[] = [];
    const service: Array<Awaited<ReturnType<typeof serviceRate>>> = [];
    // Interleaved, so drift of the machine (other load, JIT, the emulator's heap) hits all alike.
    for (let round_ = 0; round_ < 2; round_++) {
      floor.push(await floorRate(runtime, inFlight, WINDOW_SECONDS));
      whole.push(await floorRate(runtime, inFlight, WINDOW_SECONDS, writeSet()));
      lessCounter.push(await floorRate(runtime, inFlight, WINDOW_SECONDS, writeSet('CUSTOMER#')));
      service.push(await serviceRate(runtime, tokens, inFlight, WINDOW_SECONDS));
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const floorMean = mean(floor);
    const serviceMean = mean(service.map((s) => s.rate));
    rows.push({
      inFlight,
      floorPerSecond: round(floorMean),
      writeSetPerSecond: round(mean(whole)),
      writeSetRatio: round(mean(whole) / floorMean, 2),
      lessCounterPerSecond: round(mean(lessCounter)),
      lessCounterRatio: round(mean(lessCounter) / floorMean, 2),
      servicePerSecond: round(serviceMean),
      ratio: round(serviceMean / floorMean, 2),
      serviceP50Ms: Math.max(...service.map((s) => s.p50)),
      serviceP99Ms: Math.max(...service.map((s) => s.p99)),
      non2xx: service.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
    });
  }
  return rows;
}

/** Started bank payments, as after POST /api/orders and POST …/start. */
async function startedPayments(runtime: Runtime, count: number): Promise<Payment[]> {
  const payments: Payment[] = [];
  for (let i = 0; i < count; i++) {
    const customerId = `cb-${randomUUID()}`;
    const [created] = await createOrders(runtime.deps, { customerId, orders: [{ items: [{ sku: SKU, quantity: 1 }] }], method: 'bank' });
    await startPayment(runtime.deps, { customerId, paymentId: created!.payment.paymentId });
    payments.push((await runtime.deps.repo.getPayment(created!.payment.paymentId))!);
  }
  return payments;
}

/** A checkout the simulator reports paid, for building its provider's success callback. */
function paidCheckout(provider: PaymentMethod, payment: Payment, notificationId: string, now: Date) {
  return {
    provider,
    paymentId: payment.paymentId,
    amount: payment.amount,
    currency: 'CNY' as const,
    description: 'bench',
    notifyUrl: 'http://x',
    expiresAt: payment.expiresAt,
    state: 'paid' as const,
    paidAt: now.toISOString(),
    notificationId,
  };
}

function bankCallback(simulator: ProviderSimulator, payment: Payment): RawCallback & { headers: Record<string, string> } {
  const now = new Date();
  const callback = simulator.buildCallback(paidCheckout('bank', payment, `evt-${payment.paymentId}`, now), now)!;
  return { headers: Object.fromEntries(Object.entries(callback.headers).map(([k, v]) => [k.toLowerCase(), v])), body: Buffer.from(callback.body) };
}

/**
 * When each order was committed paid: the worker's transaction that turns it paid, seen at the
 * runtime's repository (bench instrumentation; the handlers read deps.repo on every invocation).
 */
function paidCommits(runtime: Runtime, onPaid: (orderId: string) => void): void {
  const repo = runtime.deps.repo;
  runtime.deps.repo = new Proxy(repo, {
    get(target, property, receiver) {
      if (property !== 'commit') return Reflect.get(target, property, receiver);
      return async (writes: Parameters<typeof repo.commit>[0]) => {
        await target.commit(writes);
        for (const write of writes) if (write.kind === 'updateOrder' && write.after.status === 'paid') onPaid(write.after.orderId);
      };
    },
  });
}

/**
 * Callback POSTed → the order committed paid, and → OrderPaid on the bus (after the table's stream
 * and the outbox publisher): per callback alone (latency), then many at once (sustained rate).
 */
async function callbackToPaid(runtime: Runtime, simulator: ProviderSimulator) {
  const waiting = { paid: new Map<string, () => void>(), published: new Map<string, () => void>() };
  const until = (kind: keyof typeof waiting, orderId: string) => new Promise<number>((resolve) => waiting[kind].set(orderId, () => resolve(performance.now())));
  paidCommits(runtime, (orderId) => waiting.paid.get(orderId)?.());
  runtime.bus.onPublish((event) => {
    if (event.type === 'OrderPaid') waiting.published.get(String(event.detail.orderId))?.();
  });
  const send = async (payment: Payment) => {
    const callback = bankCallback(simulator, payment);
    const response = await fetch(`${runtime.baseUrl}/api/payments/callback/bank`, { method: 'POST', headers: callback.headers, body: callback.body });
    if (response.status !== 200) throw new Error(`callback answered ${response.status}: ${await response.text()}`);
  };
  const toPaid: number[] = [];
  const toEvent: number[] = [];
  for (const payment of await startedPayments(runtime, 60)) {
    const [paid, published] = [until('paid', payment.orderId), until('published', payment.orderId)];
    const started = performance.now();
    await send(payment);
    toPaid.push((await paid) - started);
    toEvent.push((await published) - started);
  }
  // Sustained: callbacks at 16 in flight, each until its order is committed paid (events follow on the stream).
  const burst = await startedPayments(runtime, 300);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < burst.length) {
        const payment = burst[next++]!;
        const paid = until('paid', payment.orderId);
        await send(payment);
        await paid;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    p50Ms: round(percentile(toPaid, 50)),
    p99Ms: round(percentile(toPaid, 99)),
    eventP50Ms: round(percentile(toEvent, 50)),
    eventP99Ms: round(percentile(toEvent, 99)),
    sustainedPerSecond: round(burst.length / seconds),
  };
}

/** Our verifyCallback per provider against the bare node:crypto operations it cannot avoid. */
function verification() {
  const base = 'http://127.0.0.1:3000/sandbox';
  const now = new Date();
  const payment = { paymentId: 'pay_bench', amount: 12_800, expiresAt: new Date(now.getTime() + 600_000).toISOString() } as Payment;
  const setups: Record<PaymentMethod, { provider: PaymentProvider; simulator: ProviderSimulator; raw: (callback: RawCallback) => void }> = (() => {
    const wechat = generateWechatKeys(`${base}/wechat`);
    const alipay = generateAlipayKeys(`${base}/alipay`);
    const bank = generateBankKeys(`${base}/bank`);
    const fetchNever = async () => {
      throw new Error('no provider calls in the bench');
    };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const message = Buffer.from('x'.repeat(900));
    const signature = createSign('sha256').update(message).sign(rsa.privateKey);
    const rsaVerify = () => {
      if (!createVerify('sha256').update(message).verify(rsa.publicKey, signature)) throw new Error('raw rsa');
    };
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(message), cipher.final()]);
    const tag = cipher.getAuthTag();
    return {
      // WeChat Pay v3: an RSA-SHA256 signature over the body, then AES-256-GCM decryption of the resource.
      wechat: {
        provider: createWechatProvider({ config: wechat.merchant, fetch: fetchNever }),
        simulator: createWechatSimulator(wechat.sandbox),
        raw: () => {
          rsaVerify();
          const d = createDecipheriv('aes-256-gcm', key, iv);
          d.setAuthTag(tag);
          Buffer.concat([d.update(sealed), d.final()]);
        },
      },
      // Alipay: an RSA2 (RSA-SHA256) signature over the sorted form.
      alipay: {
        provider: createAlipayProvider({ config: alipay.merchant, fetch: fetchNever }),
        simulator: createAlipaySimulator(alipay.sandbox),
        raw: rsaVerify,
      },
      // The bank: an HMAC-SHA256 of the same callback, compared in constant time, with one webhook
      // secret configured, as stripe-node's constructEvent takes one (two during a rotation: one HMAC each).
      bank: {
        provider: createBankProvider({ config: { ...bank.merchant, webhookSecrets: bank.merchant.webhookSecrets.slice(0, 1) } }),
        simulator: createBankSimulator(bank.sandbox),
        raw: (callback) => {
          const [, t = '', v1 = ''] = /t=(\d+),v1=([0-9a-f]+)/.exec(callback.headers['bank-signature'] ?? '') ?? [];
          const digest = createHmac('sha256', bank.merchant.webhookSecrets[0]!).update(`${t}.`).update(callback.body).digest();
          if (!timingSafeEqual(digest, Buffer.from(v1, 'hex'))) throw new Error('raw hmac');
        },
      },
    };
  })();
  const perSecond = (run: () => void, ms = 700) => {
    let n = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      run();
      n++;
    }
    return Math.round(n / (ms / 1000));
  };
  return (Object.keys(setups) as PaymentMethod[]).map((method) => {
    const { provider, simulator, raw } = setups[method];
    const built = simulator.buildCallback(paidCheckout(method, payment, 'evt-bench', now), now)!;
    const callback: RawCallback = {
      headers: Object.fromEntries(Object.entries(built.headers).map(([k, v]) => [k.toLowerCase(), v])),
      body: Buffer.from(built.body),
    };
    if (!provider.verifyCallback(callback, now).ok) throw new Error(`${method}: bench callback did not verify`);
    const ours = perSecond(() => provider.verifyCallback(callback, now));
    const bare = perSecond(() => raw(callback));
    return { provider: method, oursPerSecond: ours, rawCryptoPerSecond: bare, oursOverRaw: round(bare / ours, 2) };
  });
}

/**
 * DynamoDB capacity units the runtime's client consumes: as DynamoDB Local reports them
 * (ReturnConsumedCapacity, with the secondary indexes' part apart), and the table's write units
 * by AWS's per-item rules (bench/write-units.ts).
 */
function capacityMeter(runtime: Runtime) {
  const capacity = { read: 0, write: 0, indexWrite: 0, aws: new AwsWriteUnits(dynamoClient(runtime.dynamo.endpoint)), paused: false };
  runtime.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (capacity.paused) return next(args);
      const input = (args as { input: Record<string, unknown> }).input;
      input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      // DynamoDB Local reports CapacityUnits without the read/write split: the operation says which.
      const reading = /^(Get|BatchGet|Query|Scan)/.test(String(context.commandName));
      if (!reading) capacity.aws.record(String(context.commandName), input);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      type Consumed = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number; Table?: { CapacityUnits?: number } };
      for (const c of [consumed].flat() as Array<Consumed | undefined>) {
        if (!c) continue;
        const units = c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0);
        if (reading) capacity.read += units;
        else [capacity.write, capacity.indexWrite] = [capacity.write + units, capacity.indexWrite + units - (c.Table?.CapacityUnits ?? units)];
      }
      return result;
    },
    { step: 'initialize', name: 'benchCapacity' },
  );
  return capacity;
}
type CapacityMeter = ReturnType<typeof capacityMeter>;

/** The meter's figures now, its writes named by key sized. */
async function meterReading(meter: CapacityMeter) {
  return { read: meter.read, localWrite: meter.write, awsWrite: (await meter.aws.settle()) + meter.indexWrite };
}

/** Per item of `count`, what the meter counted since `before`. */
async function unitsSince(meter: CapacityMeter, before: Awaited<ReturnType<typeof meterReading>>, count: number) {
  const now = await meterReading(meter);
  return {
    readUnits: (now.read - before.read) / count,
    writeUnits: (now.awsWrite - before.awsWrite) / count,
    localWriteUnits: (now.localWrite - before.localWrite) / count,
  };
}

/**
 * What one completed payment (create → start → callback → paid) uses, counted on this run's
 * clients: DynamoDB capacity units, events, log bytes and handler durations.
 */
/** The function each step of the payment loop invokes. */
const FUNCTION_OF_STEP = { create: 'create-order', start: 'start-payment', callback: 'payment-callback', worker: 'payment-worker' } as const;

async function paymentLoopUsage(runtime: Runtime, simulator: ProviderSimulator, tokens: string[], meter: CapacityMeter): Promise<LoopUsage> {
  const loops = 40;
  const paidOrders = new Set<string>();
  runtime.bus.onPublish((event) => {
    if (event.type === 'OrderPaid') paidOrders.add(String(event.detail.orderId));
  });
  /** One payment through the loop; `stepDone` after each step (each function's invocation), outside its time. */
  const payOnce = async (i: number, stepDone: (step: keyof typeof FUNCTION_OF_STEP) => Promise<void>) => {
    const auth = { authorization: `Bearer ${tokens[i % tokens.length]}`, 'content-type': 'application/json' };
    let t = performance.now();
    const created = await fetch(`${runtime.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': `cost-${randomUUID()}` },
      body: JSON.stringify({ items: [{ sku: SKU, quantity: 1 }], paymentMethod: 'bank' }),
    });
    const { payment } = (await created.json()) as { payment: { paymentId: string } };
    const create = performance.now() - t;
    await stepDone('create');
    t = performance.now();
    const started = await fetch(`${runtime.baseUrl}/api/payments/${payment.paymentId}/start`, { method: 'POST', headers: auth });
    if (started.status !== 200) throw new Error(`start answered ${started.status}`);
    const stored = ((await started.json()) as { payment: Payment }).payment;
    const start = performance.now() - t;
    await stepDone('start');
    const callback = bankCallback(simulator, stored);
    t = performance.now();
    await fetch(`${runtime.baseUrl}/api/payments/callback/bank`, { method: 'POST', headers: callback.headers, body: callback.body });
    const callbackMs = performance.now() - t;
    await stepDone('callback');
    while (!paidOrders.has(stored.orderId)) await new Promise((resolve) => setTimeout(resolve, 5));
    await stepDone('worker');
    return { create, start, callback: callbackMs };
  };

  // Timed with the meter paused: its reads of the items written would slow the emulator under the handlers.
  meter.paused = true;
  const durations = { create: [] as number[], start: [] as number[], callback: [] as number[] };
  for (let i = 0; i < loops; i++) {
    const took = await payOnce(i, async () => undefined);
    for (const step of ['create', 'start', 'callback'] as const) durations[step].push(took[step]);
  }
  const workerMs = runtime.metrics.values(Metric.WorkerLatency).slice(-loops);
  meter.paused = false;

  // Counted: write units by step (the meter read between the steps; its reads are not metered), events, logs.
  await runtime.eventsPublished(); // the earlier payments' events are not counted
  const capacity = await meterReading(meter);
  const eventsBefore = runtime.bus.published.length;
  const publishCallsBefore = runtime.metrics.values(Metric.EventsPublished).length;
  const logs = invocationLogs(runtime.deps);
  const byStep = { create: 0, start: 0, 'callback + worker': 0 };
  let mark = capacity;
  for (let i = 0; i < loops; i++) {
    await payOnce(i, async (step) => {
      logs.invoked(FUNCTION_OF_STEP[step]);
      if (step === 'callback') return; // the worker runs on: the two are counted together
      const now = await meterReading(meter);
      byStep[step === 'worker' ? 'callback + worker' : step] += now.awsWrite - mark.awsWrite;
      mark = now;
    });
  }
  await runtime.eventsPublished();
  // One publisher invocation per publish call; each call is one EventsPublished data point.
  const publisherCalls = runtime.metrics.values(Metric.EventsPublished).length - publishCallsBefore;
  const median = (values: number[]) => percentile(values, 50);
  return {
    apiRequests: 3,
    invocations: [
      { fn: 'create-order', ms: median(durations.create) },
      { fn: 'start-payment', ms: median(durations.start) },
      { fn: 'payment-callback', ms: median(durations.callback) },
      { fn: 'payment-worker', ms: median(workerMs) },
      { fn: 'outbox-publisher', ms: PUBLISHER_MS_ESTIMATE, perPayment: publisherCalls / loops },
    ],
    ...(await unitsSince(meter, capacity, loops)),
    writeUnitsByStep: Object.fromEntries(Object.entries(byStep).map(([step, units]) => [step, units / loops])),
    // SendMessage by the callback; the event source's receive and delete, at one message per batch at worst.
    sqsRequests: 3,
    // The stream's GetRecords by the event source are free (DynamoDB Streams read by Lambda).
    events: (runtime.bus.published.length - eventsBefore) / loops,
    logBytes: logs.bytes() / loops,
  };
}

/**
 * An order never paid: created, reminded, its payment expired, then the order cancelled and its
 * stock released, each by a sweeper run (a clock moved by hand). Per order, sweeper runs shared by 40.
 */
async function expiryLoopUsage(runtime: Runtime, meter: CapacityMeter) {
  let now = Date.now();
  // A table of its own: the throughput runs left thousands of unpaid orders in the runtime's.
  await createTable(runtime.dynamo.client, 'expiry-loop');
  const repo = new DynamoRepository({ client: runtime.dynamo.client, tableName: 'expiry-loop' });
  await repo.commit([{ kind: 'putProduct', product: { sku: SKU, name: 'Bench item', price: 100, stock: 1_000_000 } }]);
  const deps = { ...runtime.deps, repo, clock: { now: () => new Date(now) } };
  const publisher = await startOutboxPublisher({
    dynamo: runtime.dynamo.client,
    endpoint: runtime.dynamo.endpoint,
    tableName: 'expiry-loop',
    publisher: { wiring: localWiring(async () => deps) },
  });
  const orders = 40;
  for (let i = 0; i < orders; i++)
    await createOrders(deps, { customerId: `exp-${randomUUID()}`, orders: [{ items: [{ sku: SKU, quantity: 1 }] }], method: 'bank' });
  await publisher.idle(); // the creations' events are not the expiry's
  const before = { ...(await meterReading(meter)), events: runtime.bus.published.length };
  const logs = invocationLogs(deps);
  const sweeps: number[] = [];
  const sweepAt = async (minutes: number) => {
    now += minutes * 60_000;
    const started = performance.now();
    await sweep(deps);
    sweeps.push(performance.now() - started);
    await publisher.idle();
    logs.invoked('sweeper');
  };
  await sweepAt(deps.timing.ttlMinutes - deps.timing.reminderMinutes + 1); // reminders
  await sweepAt(deps.timing.reminderMinutes + 5); // expiry, past the grace
  await sweepAt(deps.orders.unpaidCancelMinutes + 1); // unpaid orders cancelled, stock back
  await publisher.stop();
  return {
    ...(await unitsSince(meter, before, orders)),
    events: (runtime.bus.published.length - before.events) / orders,
    logBytes: logs.bytes() / orders,
    sweeperRunMs: sweeps,
  };
}

function markdown(results: Record<string, unknown> & { machine: Record<string, unknown> }): string {
  const r = results as unknown as {
    machine: { nproc: number; memoryGiB: number; node: string; loadAverage: number[]; at: string };
    throughput: Array<{
      inFlight: number;
      floorPerSecond: number;
      writeSetPerSecond: number;
      writeSetRatio: number;
      lessCounterPerSecond: number;
      lessCounterRatio: number;
      servicePerSecond: number;
      ratio: number;
      serviceP50Ms: number;
      serviceP99Ms: number;
      non2xx: number;
    }>;
    callbacks: { p50Ms: number; p99Ms: number; eventP50Ms: number; eventP99Ms: number; sustainedPerSecond: number };
    verification: Array<{ provider: string; oursPerSecond: number; rawCryptoPerSecond: number; oursOverRaw: number }>;
    bundles: Array<{ fn: string; bytes: number; initMs: number }>;
    usage: LoopUsage;
    cost: ReturnType<typeof costPerMillion>;
    expiryCost: ReturnType<typeof expiryCostPerMillion>;
  };
  const lines = [
    '# Performance',
    '',
    `Latest \`npm run bench\` (bench/run.ts; raw figures in bench/results.json), ${r.machine.at}: ${r.machine.nproc} cores, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, load average ${r.machine.loadAverage.join(' / ')} at the start. Everything runs on this one machine (DynamoDB Local, the SQS stand-in, the runtime and the load generator share the cores), so the figures compare, they do not predict AWS.`,
    '',
    '## Create order over HTTP against the floor',
    '',
    'Floor: one bare 4-item `TransactWriteItems` (order, payment, idempotency record, stock) on the same DynamoDB Local, measured in the same run, interleaved with the service. Service: `POST /api/orders` through the local runtime (JWT check, the handler module, the core), from autocannon in a process of its own (bench/load.ts).',
    '',
    "| in flight | floor /s | service's transaction sent bare /s (÷ floor) | the same less the pending-order count /s (÷ floor) | service /s | ratio | service p50 ms | service p99 ms | non-2xx |",
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.throughput.map(
      (t) =>
        `| ${t.inFlight} | ${t.floorPerSecond} | ${t.writeSetPerSecond} (${t.writeSetRatio}) | ${t.lessCounterPerSecond} (${t.lessCounterRatio}) | ${t.servicePerSecond} | ${t.ratio} | ${t.serviceP50Ms} | ${t.serviceP99Ms} | ${t.non2xx} |`,
    ),
    '',
    `Both make one DynamoDB request per order (test/integration/request-counts.test.ts): the service publishes nothing and deletes nothing on the request path, its events leave through the table's stream. Its transaction writes 5 items and 1 index entry (the order, carrying its OrderCreated outbox entry; the payment, with its place in the due index so an unpaid one expires; the stock; the customer's pending-order count; the idempotency record) to the floor's 4 items and none (the catalogue index holds keys only, so neither stock decrement writes an index entry). The third column is that very transaction, captured from a real request and sent bare with fresh ids: what DynamoDB Local alone leaves the service. The fourth leaves out its write of the customer's pending-order count (the cap of \`MAX_PENDING_ORDERS_PER_CUSTOMER\` unpaid orders, which keeps one customer from holding the stock): the part of the gap that safeguard costs on the emulator. Each rate is the mean of two windows of ${WINDOW_SECONDS} s, after an unrecorded warm-up of the emulator. The rest of the gap is the runtime's own work on the same 2 cores (HTTP in and out, the JWT check, the SDK's signing and serialisation): a CPU profile of the runtime at 8 in flight (2026-11-29, inspector, 6 s) found its process 58 % idle, the AWS SDK 12 % and socket writes 8 % of its samples, the JWT signature check 3 %: the emulator takes most of the CPU.`,
    '',
    '## Callback to order paid',
    '',
    `Bank callback POSTed → order committed \`paid\` (callback function, SQS stand-in, worker): p50 ${r.callbacks.p50Ms} ms, p99 ${r.callbacks.p99Ms} ms one at a time. → \`OrderPaid\` on the bus (then the table's stream, read four times a second as Lambda does, and the outbox publisher): p50 ${r.callbacks.eventP50Ms} ms, p99 ${r.callbacks.eventP99Ms} ms. Sustained: ${r.callbacks.sustainedPerSecond} callbacks/s, each to its order committed \`paid\`, with 16 in flight.`,
    '',
    '| provider | our verifyCallback /s | bare node:crypto /s | bare ÷ ours |',
    '| --- | ---: | ---: | ---: |',
    ...r.verification.map((v) => `| ${v.provider} | ${v.oursPerSecond} | ${v.rawCryptoPerSecond} | ${v.oursOverRaw} |`),
    '',
    'Bare: the operations verification cannot avoid: WeChat RSA-SHA256 verify + AES-256-GCM decrypt and Alipay RSA-SHA256 verify on a 900-byte message; the bank HMAC-SHA256 of the same callback with one webhook secret (as stripe-node) + constant-time compare.',
    '',
    '## Bundles',
    '',
    'Each function bundled with the CDK\'s esbuild options (ESM, minified, node22; bench/bundles.ts); init = median over 10 pairs of a fresh `node <bundle>` process minus a bare `node -e ""` started just before it.',
    '',
    '| function | KB | init ms |',
    '| --- | ---: | ---: |',
    ...r.bundles.map((b) => `| ${b.fn} | ${round(b.bytes / 1024)} | ${round(b.initMs)} |`),
    '',
    '## Cost per 1M completed payments',
    '',
    `Prices: ${PRICES.source}. Usage counted in this run over the create → start → callback → paid loop (bench/cost.ts).`,
    '',
    '| item | usage per payment | USD per 1M payments |',
    '| --- | ---: | ---: |',
    ...r.cost.items.map((item) => `| ${item.item} | ${item.usage} | ${item.usdPerMillion.toFixed(2)} |`),
    `| **total** | | **${r.cost.totalUsdPerMillion.toFixed(2)}** |`,
    '',
    `Biggest item: ${r.cost.biggest}. DynamoDB write units: the table's by AWS's per-item rules (2 per KB of every item in a transaction, bench/write-units.ts) plus the indexes' as DynamoDB Local reports them; in brackets DynamoDB Local's own count, which bills a transaction by its total size and so undercounts. Lambda durations are the local handlers' medians (HTTP round trip included; timed in a pass of their own, the write-unit meter paused), billed per ms at 512 MB; the outbox publisher's is an estimate (${PUBLISHER_MS_ESTIMATE} ms: one PutEvents round trip), one invocation per publish call counted here (one at a time: busier streams batch up to 100 entries per invocation). Log bytes are what each invocation prints in Lambda: the lines it logged and the metrics it recorded here, replayed through Powertools Logger (with the invocation's context) and Powertools Metrics (EMF, one flush per invocation, plus one document per metric with dimensions), and 400 bytes of Lambda's own START, END, REPORT and X-Ray lines (bench/lambda-logs.ts). Reading the table's stream costs nothing when Lambda reads it.`,
    '',
    `Write units per step: ${Object.entries(r.usage.writeUnitsByStep)
      .map(([step, units]) => `${step} ${units.toFixed(1)}`)
      .join(', ')}.`,
    '',
    budgetLine(r.cost),
    '',
    '### An order never paid (expiry loop)',
    '',
    'Created, reminded, its payment expired and the order cancelled with its stock released, by sweeper runs: per order, besides its create (API request, create-order invocation and its write units as above).',
    '',
    '| item | usage per order | USD per 1M orders |',
    '| --- | ---: | ---: |',
    ...r.expiryCost.items.map((item) => `| ${item.item} | ${item.usage} | ${item.usdPerMillion.toFixed(2)} |`),
    `| **total** | | **${r.expiryCost.totalUsdPerMillion.toFixed(2)}** |`,
    '',
    `The sweeper itself runs every minute whatever the traffic: ${r.expiryCost.fixedMonthly.invocations} invocations and ${r.expiryCost.fixedMonthly.queries} due-index queries a month, about $${r.expiryCost.fixedMonthly.usd.toFixed(2)}.`,
    '',
  ];
  return lines.join('\n');
}

/** What a budget of BUDGET_USD per 1M payments leaves for DynamoDB writes once everything else in the loop is paid. */
function budgetLine(cost: ReturnType<typeof costPerMillion>): string {
  const writes = cost.items.find((item) => item.item === 'DynamoDB write units')!.usdPerMillion;
  const rest = cost.totalUsdPerMillion - writes;
  const units = Math.max(0, (BUDGET_USD - rest) / PRICES.dynamoWriteUnitPerMillion);
  return `Against a budget of $${BUDGET_USD}: everything but the DynamoDB writes costs $${rest.toFixed(2)}, which leaves ${units.toFixed(1)} write units for the whole loop. A transaction bills 2 per KB of every item it writes, so the create alone (order, payment, stock and idempotency record in one transaction, the floor above) takes 8.`;
}

async function main() {
  const machine = {
    nproc: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.versions.node,
    loadAverage: loadavg().map((n) => round(n, 2)),
    at: new Date().toISOString(),
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-'));
  const runtime = await startRuntime({
    port: await freePort(),
    dataDir,
    fresh: true,
    log: () => undefined,
    env: { ...process.env, MAX_PENDING_ORDERS_PER_CUSTOMER: '10000', SWEEP_INTERVAL_SECONDS: '86400', LOCAL_VISIBILITY_TIMEOUT_SECONDS: '30' },
  });
  try {
    await runtime.deps.repo.commit([{ kind: 'putProduct', product: { sku: SKU, name: 'Bench item', price: 100, stock: 1_000_000_000 } }]);
    const tokens = await Promise.all(Array.from({ length: 256 }, (_, i) => runtime.devIssuer.sign({ sub: `bench-${i}` })));
    const simulator = createBankSimulator((await loadOrCreateSandboxKeys(dataDir, runtime.baseUrl)).sandboxKeys.bank!);
    console.error('throughput: floor and service, interleaved…');
    const captureCustomer = `capture-${randomUUID()}`;
    const writeSet = await capturedCreate(runtime, await runtime.devIssuer.sign({ sub: captureCustomer }), captureCustomer);
    const throughputRows = await throughput(runtime, tokens, writeSet);
    console.error('callbacks…');
    const callbacks = await callbackToPaid(runtime, simulator);
    console.error('cost loop…');
    const meter = capacityMeter(runtime);
    const usage = await paymentLoopUsage(runtime, simulator, tokens, meter);
    const expiry = await expiryLoopUsage(runtime, meter);
    await runtime.stop();
    console.error('verification, bundles…');
    const results = {
      machine,
      throughput: throughputRows,
      callbacks,
      verification: verification(),
      bundles: await measureBundles(10),
      usage,
      cost: costPerMillion(usage),
      expiry,
      expiryCost: expiryCostPerMillion(expiry),
    };
    writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const page = markdown(results);
    // Formatted as the lint check wants it, so a bench run leaves `npm run lint` green.
    const pagePath = join(ROOT, 'docs', 'PERFORMANCE.md');
    writeFileSync(pagePath, await format(page, { ...(await resolveConfig(pagePath)), filepath: pagePath }));
    console.log(page);
  } finally {
    await runtime.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
