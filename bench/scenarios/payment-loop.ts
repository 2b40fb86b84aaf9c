import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dynamoClient } from '../../local/dynamodb-emulator';
import { type Runtime } from '../../local/runtime';
import type { ProviderSimulator } from '../../local/sandbox/types';
import { Metric } from '../../src/core/kernel/metric-names';
import type { Payment } from '../../src/domain/payment';
import { type LoopUsage } from '../cost';
import { invocationLogs } from '../lambda-logs';
import { AwsWriteUnits } from '../write-units';
import { PUBLISHER_MS_ESTIMATE, SKU, percentile } from '../common';
import { bankCallback } from './callbacks';

/**
 * DynamoDB capacity units the runtime's client consumes: as DynamoDB Local reports them
 * (ReturnConsumedCapacity, with the secondary indexes' part apart), and the table's write units
 * by AWS's per-item rules (bench/write-units.ts).
 */
export function capacityMeter(runtime: Runtime) {
  const capacity = {
    read: 0,
    write: 0,
    indexWrite: 0,
    /** The indexes' part by index name, as DynamoDB Local reports it. */
    byIndex: {} as Record<string, number>,
    aws: new AwsWriteUnits(dynamoClient(runtime.dynamo.endpoint)),
    paused: false,
  };
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
      type Consumed = {
        CapacityUnits?: number;
        ReadCapacityUnits?: number;
        WriteCapacityUnits?: number;
        Table?: { CapacityUnits?: number };
        GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
      };
      for (const c of [consumed].flat() as Array<Consumed | undefined>) {
        if (!c) continue;
        const units = c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0);
        if (reading) {
          capacity.read += units;
          continue;
        }
        [capacity.write, capacity.indexWrite] = [
          capacity.write + units,
          capacity.indexWrite + units - (c.Table?.CapacityUnits ?? units),
        ];
        for (const [index, used] of Object.entries(c.GlobalSecondaryIndexes ?? {}))
          capacity.byIndex[index] = (capacity.byIndex[index] ?? 0) + (used.CapacityUnits ?? 0);
      }
      return result;
    },
    { step: 'initialize', name: 'benchCapacity' },
  );
  return capacity;
}
export type CapacityMeter = ReturnType<typeof capacityMeter>;

/** The meter's figures now, its writes named by key sized. */
export async function meterReading(meter: CapacityMeter) {
  const table = await meter.aws.settle();
  return {
    read: meter.read,
    localWrite: meter.write,
    awsWrite: table + meter.indexWrite,
    /** Write units by where they land: `table` by AWS's rules, each index as DynamoDB Local reports it. */
    byTarget: { table, ...meter.byIndex } as Record<string, number>,
  };
}

type Reading = Awaited<ReturnType<typeof meterReading>>;
/** What each target (the table, each index) took between two readings. */
const targetsBetween = (before: Reading, after: Reading) =>
  Object.fromEntries(
    Object.entries(after.byTarget)
      .map(([target, units]) => [target, units - (before.byTarget[target] ?? 0)] as const)
      .filter(([, units]) => units > 0),
  );

/** Per item of `count`, what the meter counted since `before`. */
export async function unitsSince(meter: CapacityMeter, before: Reading, count: number) {
  const now = await meterReading(meter);
  return {
    readUnits: (now.read - before.read) / count,
    writeUnits: (now.awsWrite - before.awsWrite) / count,
    localWriteUnits: (now.localWrite - before.localWrite) / count,
  };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** The function each step of the payment loop invokes. */
const FUNCTION_OF_STEP = {
  create: 'create-order',
  start: 'start-payment',
  callback: 'payment-callback',
  worker: 'payment-worker',
} as const;
type Step = keyof typeof FUNCTION_OF_STEP;

/** One payment through the loop over HTTP; `stepDone` after each step (each function's invocation), outside its time. */
async function payOnce(
  runtime: Runtime,
  simulator: ProviderSimulator,
  token: string,
  paidOrders: ReadonlySet<string>,
  stepDone: (step: Step) => Promise<void>,
) {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
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
  const started = await fetch(`${runtime.baseUrl}/api/payments/${payment.paymentId}/start`, {
    method: 'POST',
    headers: auth,
  });
  if (started.status !== 200) throw new Error(`start answered ${started.status}`);
  const stored = ((await started.json()) as { payment: Payment }).payment;
  const start = performance.now() - t;
  await stepDone('start');
  const callback = bankCallback(simulator, stored);
  t = performance.now();
  await fetch(`${runtime.baseUrl}/api/payments/callback/bank`, {
    method: 'POST',
    headers: callback.headers,
    body: callback.body,
  });
  const callbackMs = performance.now() - t;
  await stepDone('callback');
  while (!paidOrders.has(stored.orderId)) await new Promise((resolve) => setTimeout(resolve, 5));
  await stepDone('worker');
  return { create, start, callback: callbackMs };
}

/**
 * What one completed payment (create → start → callback → paid) uses, counted on this run's
 * clients: DynamoDB capacity units, events, log bytes and handler durations.
 */
export async function paymentLoopUsage(
  runtime: Runtime,
  simulator: ProviderSimulator,
  tokens: string[],
  meter: CapacityMeter,
): Promise<LoopUsage> {
  const loops = 40;
  const paidOrders = new Set<string>();
  runtime.bus.onPublish((event) => {
    if (event.type === 'OrderPaid') paidOrders.add(String(event.detail.orderId));
  });
  const pay = (i: number, stepDone: (step: Step) => Promise<void>) =>
    payOnce(runtime, simulator, tokens[i % tokens.length]!, paidOrders, stepDone);

  // Timed with the meter paused: its reads of the items written would slow the emulator under the handlers.
  meter.paused = true;
  const durations = { create: [] as number[], start: [] as number[], callback: [] as number[] };
  for (let i = 0; i < loops; i++) {
    const took = await pay(i, async () => undefined);
    for (const step of ['create', 'start', 'callback'] as const) durations[step].push(took[step]);
  }
  const workerMs = runtime.metrics.values(Metric.WorkerLatency).slice(-loops);
  meter.paused = false;
  return countedUsage(runtime, meter, loops, pay, { ...durations, worker: workerMs });
}

/** Counted: write units by step (the meter read between the steps; its reads are not metered), events, logs. */
async function countedUsage(
  runtime: Runtime,
  meter: CapacityMeter,
  loops: number,
  pay: (i: number, stepDone: (step: Step) => Promise<void>) => Promise<unknown>,
  durations: Record<'create' | 'start' | 'callback' | 'worker', number[]>,
): Promise<LoopUsage> {
  await runtime.eventsPublished(); // the earlier payments' events are not counted
  const capacity = await meterReading(meter);
  const eventsBefore = runtime.bus.published.length;
  const publishCallsBefore = runtime.metrics.values(Metric.EventsPublished).length;
  const logs = invocationLogs(runtime.deps);
  const byStep: Record<string, Record<string, number>> = { create: {}, start: {}, 'callback + worker': {} };
  let mark = capacity;
  for (let i = 0; i < loops; i++) {
    await pay(i, async (step) => {
      logs.invoked(FUNCTION_OF_STEP[step]);
      if (step === 'callback') return; // the worker runs on: the two are counted together
      const now = await meterReading(meter);
      const counted = byStep[step === 'worker' ? 'callback + worker' : step]!;
      for (const [target, units] of Object.entries(targetsBetween(mark, now)))
        counted[target] = (counted[target] ?? 0) + units;
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
      { fn: 'payment-worker', ms: median(durations.worker) },
      { fn: 'outbox-publisher', ms: PUBLISHER_MS_ESTIMATE, perPayment: publisherCalls / loops },
    ],
    ...(await unitsSince(meter, capacity, loops)),
    writeUnitsByStep: Object.fromEntries(
      Object.entries(byStep).map(([step, targets]) => [step, sum(Object.values(targets)) / loops]),
    ),
    writeUnitsByStepAndTarget: Object.fromEntries(
      Object.entries(byStep).map(([step, targets]) => [
        step,
        Object.fromEntries(Object.entries(targets).map(([target, units]) => [target, units / loops])),
      ]),
    ),
    // SendMessage by the callback; the event source's receive and delete, at one message per batch at worst.
    sqsRequests: 3,
    // The stream's GetRecords by the event source are free (DynamoDB Streams read by Lambda).
    events: (runtime.bus.published.length - eventsBefore) / loops,
    logBytes: logs.bytes() / loops,
  };
}
