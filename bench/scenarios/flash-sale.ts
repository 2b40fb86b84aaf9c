import { performance } from 'node:perf_hooks';
import { startDynamoEmulator } from '../../local/dynamodb-emulator';
import { createOrders } from '../../src/core/orders/orders';
import { newProductWrites } from '../../src/core/orders/stock';
import { CapacityExceededError, OutOfStockError } from '../../src/domain/errors';
import { ShardRefusedError } from '../../src/domain/stock';
import { createEnvAt, type TestEnv } from '../../test/support/harness';
import { PartitionModel } from '../../test/support/partition-model';
import { RequestCounter } from '../../test/support/request-counter';
import { marshall } from '@aws-sdk/util-dynamodb';
import { percentile, round } from '../common';
import { itemBytes } from '../write-units';

/**
 * One SKU's flash sale under the partition model (test/support/partition-model.ts): 10,000 units,
 * 64 orders in flight, each from a customer of its own, through the create use case and its
 * repository on DynamoDB Local, until the product answers sold out; then 1,000 orders more, to
 * count what a sold-out answer writes. Unsharded against 4, 16 and 64 shards.
 */
export const FLASH_SALE = {
  units: Number(process.env.FLASH_UNITS ?? 10_000),
  inFlight: 64,
  shards: (process.env.FLASH_SHARDS ?? '1,4,16,64').split(',').map(Number),
  /** The model's limit per partition, scaled down from AWS's 1,000 so this machine can reach it. */
  unitsPerSecond: Number(process.env.FLASH_PARTITION_UNITS ?? 100),
  afterSale: Number(process.env.FLASH_AFTER_SALE ?? 1_000),
  /** A sale that has not sold out by then is cut off (its row says how many were sold). */
  maxSeconds: Number(process.env.FLASH_MAX_SECONDS ?? 150),
};

export interface FlashSaleRow {
  shards: number;
  ordersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  sold: number;
  /** Units sold beyond the stock: orders plus units left over the units put on sale. */
  oversold: number;
  /** False when the sale was cut off at maxSeconds. */
  soldOut: boolean;
  left: number;
  /** Requests the model refused (each retried by the product or the SDK). */
  throttledRequests: number;
  /** Orders answered 503 CAPACITY_EXCEEDED (throttled past the retries). */
  capacityAnswers: number;
  /** Orders answered OUT_OF_STOCK while units were left (three refusals in a row). */
  refusedWithStockLeft: number;
  /** DynamoDB Local's lock timeouts (an emulator limit, not DynamoDB's), counted and not retried. */
  emulatorErrors?: number;
  soldOutAnswers: number;
  /** Write requests the sold-out answers sent (the design says none). */
  soldOutWrites: number;
  hottest: Array<{ partition: string; unitsPerSecond: number }>;
  /** A new payment's size as the table bills it: what its due-index entry writes per order. */
  paymentItemBytes: number;
}

const systemClock = { now: () => new Date() };

/**
 * Each row on an emulator of its own: DynamoDB Local slows as its data grows (one SKU's orders at 16
 * in flight: 34 orders/s on a fresh emulator, 8/s after three sales in it), which made every row
 * after the first look slower than it is.
 */
export async function flashSale(): Promise<FlashSaleRow[]> {
  const rows: FlashSaleRow[] = [];
  for (const shards of FLASH_SALE.shards) {
    const emulator = await startDynamoEmulator();
    try {
      const env = await createEnvAt(emulator.endpoint, { clock: systemClock });
      env.deps.orders = { ...env.deps.orders, maxPendingPerCustomer: 1_000_000 };
      rows.push(await oneSale(env, shards));
    } finally {
      await emulator.stop();
    }
    console.error(JSON.stringify(rows.at(-1)));
  }
  return rows;
}

async function oneSale(env: TestEnv, shards: number): Promise<FlashSaleRow> {
  const sku = `FLASH-${shards}`;
  await env.repo.commit(
    newProductWrites({ sku, name: 'Flash sale', price: 100, stock: FLASH_SALE.units, stockShards: shards }),
  );
  const model = new PartitionModel(FLASH_SALE.unitsPerSecond).attach(env.client);
  const counter = new RequestCounter().attach(env.client, 'DynamoDB');
  let customer = 0;
  const order = () =>
    createOrders(env.deps, {
      customerId: `flash-${shards}-${customer++}`,
      orders: [{ items: [{ sku, quantity: 1 }] }],
      method: 'wechat',
    });

  const sale = await sellOut(order);
  const seconds = (sale.lastAcceptedAt - sale.start) / 1000;

  // What a sold-out answer costs: only once sold out (a sale cut off short of it is still selling).
  let soldOutAnswers = 0;
  const afterSale = !sale.soldOut
    ? {}
    : await counter.during(() =>
        inParallel(FLASH_SALE.inFlight, async (worker) => {
          for (let i = worker; i < FLASH_SALE.afterSale; i += FLASH_SALE.inFlight)
            await order().catch((error: unknown) => {
              if (!isSoldOut(error)) throw error;
              soldOutAnswers++;
            });
        }),
      );
  const items = await env.scan();
  const sold = items.filter((item) => item.kind === 'order').length;
  const left = stockLeft(items, sku, shards);
  return {
    shards,
    ordersPerSecond: round(sale.latencies.length / seconds),
    p50Ms: round(percentile(sale.latencies, 50)),
    p99Ms: round(percentile(sale.latencies, 99)),
    seconds: round(seconds),
    sold,
    oversold: Math.max(0, sold + left - FLASH_SALE.units),
    soldOut: sale.soldOut,
    left,
    throttledRequests: model.stats.throttledRequests,
    capacityAnswers: sale.capacity,
    refusedWithStockLeft: sale.refusedWithStockLeft,
    emulatorErrors: sale.emulatorErrors,
    soldOutAnswers,
    soldOutWrites: Object.entries(afterSale)
      .filter(([operation]) => /TransactWriteItems|PutItem|UpdateItem|DeleteItem/.test(operation))
      .reduce((sum, [, requests]) => sum + requests, 0),
    hottest: model.hottest(3),
    paymentItemBytes: itemBytes(marshall(items.find((item) => item.kind === 'payment')!)),
  };
}

/** Orders from every worker until the product answers sold out (or the time limit). */
async function sellOut(order: () => Promise<unknown>) {
  const sale = {
    latencies: [] as number[],
    capacity: 0,
    refusedWithStockLeft: 0,
    emulatorErrors: 0,
    lastAcceptedAt: 0,
    soldOut: false,
  };
  const start = performance.now();
  await inParallel(FLASH_SALE.inFlight, async () => {
    while (!sale.soldOut && performance.now() - start < FLASH_SALE.maxSeconds * 1000) {
      const began = performance.now();
      try {
        await order();
        sale.latencies.push(performance.now() - began);
        sale.lastAcceptedAt = performance.now();
      } catch (error) {
        if (error instanceof CapacityExceededError) sale.capacity++;
        else if (isSoldOut(error)) sale.soldOut = true;
        else if (error instanceof OutOfStockError) sale.refusedWithStockLeft++;
        // DynamoDB Local's own lock timeout under this load ("will succeed in actual DynamoDB"): counted, not fatal.
        else if (error instanceof Error && error.name === 'InternalServerError') sale.emulatorErrors++;
        else throw error;
      }
    }
  });
  return { ...sale, start };
}

/** Every unit gone: the product (or all its shards) read empty, not one shard's refusal. */
const isSoldOut = (error: unknown) =>
  error instanceof OutOfStockError && !(error instanceof ShardRefusedError) && error.available === 0;

function stockLeft(items: Array<Record<string, unknown>>, sku: string, shards: number): number {
  if (shards === 1) return items.find((item) => item.kind === 'product' && item.sku === sku)!.stock as number;
  const own = items.filter((item) => item.kind === 'stockShard' && item.sku === sku);
  if (own.some((item) => (item.available as number) < 0)) throw new Error(`${sku}: a shard went below zero`);
  return own.reduce((sum, item) => sum + (item.available as number), 0);
}

async function inParallel(workers: number, work: (worker: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: workers }, (_, worker) => work(worker)));
}
