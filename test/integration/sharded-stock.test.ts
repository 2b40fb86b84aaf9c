import { TransactionCanceledException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeHandler as makeSweeperHandler } from '../../functions/sweeper/handler';
import { SOLD_OUT_RECHECK_MS } from '../../src/core/orders/catalogue';
import { rebalanceStock } from '../../src/core/sweeper/rebalance';
import { localWiring } from '../../src/runtime/wiring';
import type { Product } from '../../src/domain/order';
import { ADMIN_SCOPE } from '../../src/http/routes';
import { type CustomerApi, customerApi, itemsOfKind, stockOf } from '../support/api-fixtures';
import { createTestEnv, type TestEnv } from '../support/harness';
import { checkInvariants } from '../support/invariants';
import { PartitionModel } from '../support/partition-model';
import { RequestCounter } from '../support/request-counter';
import { lambdaContext } from '../support/http';
import { sweepAndSettle } from '../support/sweep';

/**
 * A flash-sale product's stock spread over shards (src/domain/stock.ts): an order takes from one
 * shard chosen at random, probes others on refusal, splits a line when no shard holds enough, and
 * a sold-out product is refused without a write. Against DynamoDB Local, through the real handlers.
 */

let env: TestEnv;
let api: CustomerApi;
const SALE: Product = { sku: 'SALE-001', name: 'Flash-sale kettle', price: 9_900, stock: 8, stockShards: 4 };

const order = (quantity: number, customerId = 'cust_alice') =>
  api('POST /api/orders', { customerId, body: { items: [{ sku: SALE.sku, quantity }], paymentMethod: 'wechat' } });

async function shards(sku = SALE.sku): Promise<number[]> {
  const items = await itemsOfKind(env, 'stockShard');
  return items
    .filter((item) => item.sku === sku)
    .sort((a, b) => (a.shard as number) - (b.shard as number))
    .map((item) => item.available as number);
}

/** Someone else's orders empty a shard behind this container's cached copy of the shards. */
async function setShard(shard: number, available: number) {
  await env.client.send(
    new UpdateItemCommand({
      TableName: env.tableName,
      Key: { pk: { S: `PRODUCT#${SALE.sku}#SHARD#${shard}` }, sk: { S: 'SHARD' } },
      UpdateExpression: 'SET available = :available',
      ExpressionAttributeValues: { ':available': { N: String(available) } },
    }),
  );
}

beforeEach(async () => {
  env = await createTestEnv();
  api = customerApi(env);
  const created = await api('POST /api/products', { scope: ADMIN_SCOPE, body: SALE });
  expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('creating and listing a sharded product', () => {
  it('spreads the stock over its shards, keeps none on the product, and lists the sum', async () => {
    expect(await shards()).toEqual([2, 2, 2, 2]);
    const [product] = await itemsOfKind(env, 'product');
    expect(product).not.toHaveProperty('stock');
    expect(product).toMatchObject({ sku: SALE.sku, stockShards: 4 });

    const listed = await api('GET /api/products');
    expect(listed.body.products).toEqual([
      { sku: SALE.sku, name: SALE.name, price: SALE.price, stock: 8, stockShards: 4 },
    ]);
  });

  it('keeps an unsharded product (stockShards 1) in one item as before', async () => {
    const body = { sku: 'PLAIN-1', name: 'Plain', price: 100, stock: 5, stockShards: 1 };
    expect((await api('POST /api/products', { scope: ADMIN_SCOPE, body })).statusCode).toBe(201);
    const plain = (await itemsOfKind(env, 'product')).find((item) => item.sku === 'PLAIN-1');
    expect(plain).toMatchObject({ stock: 5 });
    expect(plain).not.toHaveProperty('stockShards');
    expect((await itemsOfKind(env, 'stockShard')).filter((item) => item.sku === 'PLAIN-1')).toEqual([]);
  });

  it('refuses more shards than fit the creating transaction, writing nothing', async () => {
    const body = { ...SALE, sku: 'TOO-WIDE', stockShards: 99 };
    const response = await api('POST /api/products', { scope: ADMIN_SCOPE, body });
    expect(response.statusCode).toBe(400);
    expect(await stockOf(env, 'TOO-WIDE')).toBeUndefined();
  });
});

describe('an order on a sharded product', () => {
  it('takes from one shard in one transaction in the steady state, and remembers which', async () => {
    expect((await order(1)).statusCode).toBe(201); // the container's catalogue is warm
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');

    let orderId = '';
    const requests = await counter.during(async () => {
      const created = await order(1, 'cust_bob');
      expect(created.statusCode).toBe(201);
      orderId = created.body.order.orderId as string;
    });

    expect(requests).toEqual({ 'DynamoDB.TransactWriteItems': 1 });
    const stored = (await env.repo.getOrder(orderId))!;
    expect(stored.stockTaken?.[SALE.sku]).toHaveLength(1);
    expect(await shards()).toEqual(expect.arrayContaining([2, 2]));
    expect((await shards()).reduce((a, b) => a + b)).toBe(6);
  });

  it('on a refusal reads the shards once and takes from one that holds enough, probing from a random start', async () => {
    expect((await order(1)).statusCode).toBe(201); // warm: the cache believes every shard holds units
    for (const shard of [0, 1, 2]) await setShard(shard, 0);
    await setShard(3, 3);
    vi.spyOn(Math, 'random').mockReturnValue(0); // start at shard 0, which is empty now
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');

    let orderId = '';
    const requests = await counter.during(async () => {
      const created = await order(2, 'cust_bob');
      expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
      orderId = created.body.order.orderId as string;
    });

    // The refused transaction, one read of the product and one of its shards, the accepted transaction.
    expect(requests).toEqual({ 'DynamoDB.BatchGetItem': 2, 'DynamoDB.TransactWriteItems': 2 });
    expect((await env.repo.getOrder(orderId))!.stockTaken).toEqual({ [SALE.sku]: [{ shard: 3, quantity: 2 }] });
    expect(await shards()).toEqual([0, 0, 0, 1]);
  });

  it('splits a line over several shards in one transaction when no single shard holds enough', async () => {
    const created = await order(7);

    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    const taken = (await env.repo.getOrder(created.body.order.orderId as string))!.stockTaken![SALE.sku]!;
    expect(taken.length).toBeGreaterThanOrEqual(4);
    expect(taken.reduce((sum, take) => sum + take.quantity, 0)).toBe(7);
    expect((await shards()).reduce((a, b) => a + b)).toBe(1);
  });

  it('cancel gives the units back to the shards they came from', async () => {
    const created = await order(7);
    const orderId = created.body.order.orderId as string;
    const taken = (await env.repo.getOrder(orderId))!.stockTaken![SALE.sku]!;
    const after = await shards();

    const cancelled = await api('POST /api/orders/{orderId}/cancel', { params: { orderId } });

    expect(cancelled.statusCode).toBe(200);
    const expected = [...after];
    for (const { shard, quantity } of taken) expected[shard]! += quantity;
    expect(await shards()).toEqual(expected);
    expect(await shards()).toEqual([2, 2, 2, 2]);
  });

  it("an expired payment cancels its order at once, whatever the shop's unpaid-order time: the units are back on sale", async () => {
    expect(env.deps.orders.unpaidCancelMinutes).toBe(24 * 60);
    const created = await order(3);
    const orderId = created.body.order.orderId as string;
    expect(await shards()).not.toEqual([2, 2, 2, 2]);

    env.clock.advanceMinutes(env.deps.timing.ttlMinutes + 1);
    const report = await sweepAndSettle(env.deps);

    expect(report.actions.expired).toBe(1);
    expect((await env.repo.getOrder(orderId))!.status).toBe('cancelled');
    // All 8 back (the sweep's rebalance may have moved units between shards meanwhile).
    expect((await shards()).reduce((sum, units) => sum + units, 0)).toBe(SALE.stock);
    expect(await stockOf(env, SALE.sku)).toBe(SALE.stock);
  });

  it('answers OUT_OF_STOCK for more than all shards hold, writing nothing', async () => {
    const response = await order(9);

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'OUT_OF_STOCK', details: { sku: SALE.sku, available: 8 } });
    expect(await shards()).toEqual([2, 2, 2, 2]);
  });
});

describe('sold out', () => {
  it('marks the product once every shard is empty, then refuses without a request until a restock clears it', async () => {
    const first = await order(8);
    expect(first.statusCode).toBe(201);

    const refused = await order(1, 'cust_bob');
    expect(refused.statusCode).toBe(409);
    expect(refused.body.error.code).toBe('OUT_OF_STOCK');
    expect((await itemsOfKind(env, 'product'))[0]).toMatchObject({ soldOut: true });
    expect((await api('GET /api/products')).body.products[0]).toMatchObject({ stock: 0, soldOut: true });

    const counter = new RequestCounter().attach(env.client, 'DynamoDB');
    const requests = await counter.during(async () => expect((await order(1, 'cust_carol')).statusCode).toBe(409));
    expect(requests).toEqual({});

    const orderId = first.body.order.orderId as string;
    expect((await api('POST /api/orders/{orderId}/cancel', { params: { orderId } })).statusCode).toBe(200);
    expect((await itemsOfKind(env, 'product'))[0]).toMatchObject({ soldOut: false, restocks: 1 });
    env.clock.advance(SOLD_OUT_RECHECK_MS + 1);
    expect((await order(1, 'cust_carol')).statusCode).toBe(201);
  });

  it('concurrent orders sell exactly the stock, never a unit more, and the invariants hold', async () => {
    const answers = await Promise.all(Array.from({ length: 14 }, (_, i) => order(1, `cust_${i}`)));

    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(8);
    expect(answers.filter((answer) => answer.statusCode === 409).map((a) => a.body.error.code)).toEqual(
      Array(6).fill('OUT_OF_STOCK'),
    );
    expect(await shards()).toEqual([0, 0, 0, 0]);
    const report = checkInvariants({
      items: await env.scan(),
      events: [],
      initialStock: new Map([[SALE.sku, 8]]),
      now: env.clock.now(),
      sweepIntervalSeconds: 60,
      expiryGraceSeconds: 0,
    });
    expect(report.violations.filter((v) => v.invariant === 'stock-conserved')).toEqual([]);
  });
});

describe('rebalance', () => {
  it('evens out drifted shards in one transaction, the total unchanged', async () => {
    for (const [shard, units] of [0, 0, 1, 7].entries()) await setShard(shard, units);

    expect(await rebalanceStock(env.deps)).toBe(1);

    expect(await shards()).toEqual([2, 2, 2, 2]);
    expect(await rebalanceStock(env.deps)).toBe(0); // even: nothing to do
  });

  it('keeps the total under concurrent orders: sold + left = the stock, no shard below zero', async () => {
    for (const [shard, units] of [0, 0, 0, 8].entries()) await setShard(shard, units);

    const [answers] = await Promise.all([
      Promise.all(Array.from({ length: 6 }, (_, i) => order(1, `cust_${i}`))),
      rebalanceStock(env.deps),
      rebalanceStock(env.deps),
    ]);

    const sold = answers.filter((answer) => answer.statusCode === 201).length;
    const left = await shards();
    expect(left.every((units) => units >= 0)).toBe(true);
    expect(sold + left.reduce((a, b) => a + b)).toBe(8);
  });

  it('is run by the sweeper', async () => {
    for (const [shard, units] of [0, 0, 0, 8].entries()) await setShard(shard, units);
    await makeSweeperHandler(localWiring(async () => env.deps))({} as never, lambdaContext);
    expect(await shards()).toEqual([2, 2, 2, 2]);
  });
});

describe('a per-customer cap (maxPerCustomer)', () => {
  const CAPPED: Product = { ...SALE, sku: 'CAPPED-1', maxPerCustomer: 2 };
  const capped = (quantity: number) =>
    api('POST /api/orders', { body: { items: [{ sku: CAPPED.sku, quantity }], paymentMethod: 'wechat' } });

  beforeEach(async () => {
    expect((await api('POST /api/products', { scope: ADMIN_SCOPE, body: CAPPED })).statusCode).toBe(201);
  });

  it('refuses what would take a customer past the cap in the order transaction, writing nothing; a cancel frees it', async () => {
    const first = await capped(2);
    expect(first.statusCode).toBe(201);

    const refused = await capped(1);
    expect(refused.statusCode).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'PURCHASE_LIMIT_REACHED',
      details: { sku: CAPPED.sku, limit: 2 },
    });
    expect((await shards(CAPPED.sku)).reduce((a, b) => a + b)).toBe(6);
    expect(
      await api('POST /api/orders', { customerId: 'cust_bob', body: { items: [{ sku: CAPPED.sku, quantity: 2 }] } }),
    ).toMatchObject({ statusCode: 201 });

    const orderId = first.body.order.orderId as string;
    expect((await api('POST /api/orders/{orderId}/cancel', { params: { orderId } })).statusCode).toBe(200);
    expect((await capped(2)).statusCode).toBe(201);
  });

  it('holds under racing orders of one customer: exactly the cap is sold to them', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => capped(1)));

    expect(answers.filter((answer) => answer.statusCode === 201)).toHaveLength(2);
    expect(new Set(answers.filter((a) => a.statusCode !== 201).map((a) => a.body.error.code))).toEqual(
      new Set(['PURCHASE_LIMIT_REACHED']),
    );
    expect((await shards(CAPPED.sku)).reduce((a, b) => a + b)).toBe(6);
  });

  it('refuses a single order over the cap before any write', async () => {
    const refused = await capped(3);
    expect(refused.body.error.code).toBe('PURCHASE_LIMIT_REACHED');
    expect(await itemsOfKind(env, 'order')).toEqual([]);
  });
});

describe('a throttled transaction', () => {
  /** DynamoDB's answer when a partition is over its limit inside a transaction. */
  function throttleTransactions(times: number) {
    let left = times;
    env.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && left-- > 0)
          throw new TransactionCanceledException({
            message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]',
            $metadata: {},
            CancellationReasons: [{ Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' }],
          });
        return next(args);
      },
      { step: 'initialize', name: 'throttle' },
    );
  }

  it('is retried, never answered as out of stock', async () => {
    throttleTransactions(2);
    const created = await order(1);
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    expect((await shards()).reduce((a, b) => a + b)).toBe(7);
  });

  it('under the partition model, a hot item past its limit is 503 CAPACITY_EXCEEDED, never OUT_OF_STOCK, until the next second', async () => {
    let at = Date.parse('2026-11-11T00:00:00Z');
    const model = new PartitionModel(4, () => at).attach(env.client); // 2 transactional writes of a shard a second
    vi.spyOn(Math, 'random').mockReturnValue(0); // every order starts at shard 0: one hot item
    expect((await order(1)).statusCode).toBe(201); // 2 of shard 0's 4 units this second
    expect((await order(1, 'cust_bob')).statusCode).toBe(201); // 4 of 4

    const refused = await order(1, 'cust_carol');

    expect(refused.statusCode).toBe(503);
    expect(refused.body.error.code).toBe('CAPACITY_EXCEEDED');
    expect(model.stats.throttledRequests).toBe(6); // the first attempt and its 5 retries
    expect(await shards()).toEqual([0, 2, 2, 2]);
    at += 1_000;
    expect((await order(1, 'cust_carol')).statusCode).toBe(201);
  });

  it('past the retries answers 503 CAPACITY_EXCEEDED, writing nothing', async () => {
    throttleTransactions(1_000);
    const refused = await order(1);
    expect(refused.statusCode).toBe(503);
    expect(refused.body.error.code).toBe('CAPACITY_EXCEEDED');
    expect(await shards()).toEqual([2, 2, 2, 2]);
    expect(await itemsOfKind(env, 'order')).toEqual([]);
  });
});
