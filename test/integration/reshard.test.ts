import { beforeEach, describe, expect, it } from 'vitest';
import { rebalanceStock } from '../../src/core/sweeper/rebalance';
import type { Product } from '../../src/domain/order';
import { ADMIN_SCOPE } from '../../src/http/routes';
import { type CustomerApi, customerApi, itemsOfKind, stockOf, tableSnapshot } from '../support/api-fixtures';
import { createTestEnv, type TestEnv } from '../support/harness';
import { checkInvariants } from '../support/invariants';
import { RequestCounter } from '../support/request-counter';

/**
 * Re-sharding a product before a sale (PATCH /api/products/{sku} with `stockShards`): its stock
 * moves to the new layout in one transaction, units held by orders taken under the old layout come
 * back to the items they left and the sweeper's rebalance brings them in; the total never changes.
 * Against DynamoDB Local, through the real handlers.
 */

let env: TestEnv;
let api: CustomerApi;
const LIN = { customerId: 'staff_lin', scope: ADMIN_SCOPE };
const KETTLE: Product = { sku: 'KETTLE-1', name: 'Kettle', price: 9_900, stock: 10 };

beforeEach(async () => {
  env = await createTestEnv();
  api = customerApi(env);
  await env.seedProducts([KETTLE]);
});

const reshard = (stockShards: number, ifMatch: string, extra: Record<string, unknown> = {}) =>
  api('PATCH /api/products/{sku}', {
    ...LIN,
    params: { sku: KETTLE.sku },
    body: { stockShards, reason: 'Singles Day sale', ...extra },
    headers: { 'if-match': ifMatch },
  });

const order = (quantity: number, customerId = 'cust_alice') =>
  api('POST /api/orders', { customerId, body: { items: [{ sku: KETTLE.sku, quantity }], paymentMethod: 'wechat' } });

const cancel = (orderId: string, customerId = 'cust_alice') =>
  api('POST /api/orders/{orderId}/cancel', { customerId, params: { orderId } });

/** The product item's own units and each shard item's, by shard number. */
async function placement() {
  const product = (await itemsOfKind(env, 'product')).find((item) => item.sku === KETTLE.sku)!;
  const shards = (await itemsOfKind(env, 'stockShard'))
    .filter((item) => item.sku === KETTLE.sku)
    .sort((a, b) => (a.shard as number) - (b.shard as number))
    .map((item) => item.available as number);
  return { pool: (product.stock as number | undefined) ?? 0, shards };
}

const sum = (units: number[]) => units.reduce((a, b) => a + b, 0);

describe('PATCH stockShards', () => {
  it('spreads an unsharded product over shards in one audited transaction; a held order comes back to the product item and the rebalance brings it in', async () => {
    const held = await order(2);
    expect(held.statusCode).toBe(201);
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');

    const resharded = await counter.during(async () => {
      const response = await reshard(4, '1');
      expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
      expect(response.body.product).toMatchObject({ sku: KETTLE.sku, stock: 8, stockShards: 4, version: 2 });
    });

    // The product read (a sharded one's shards are a second read), then one transaction.
    expect(resharded).toEqual({ 'DynamoDB.BatchGetItem': 1, 'DynamoDB.TransactWriteItems': 1 });
    expect(await placement()).toEqual({ pool: 0, shards: [2, 2, 2, 2] });
    const [audit] = await itemsOfKind(env, 'audit');
    expect(audit).toMatchObject({ action: 'reshard', actor: 'staff_lin', after: { stockShards: 4, shardItems: 4 } });

    expect((await cancel(held.body.order.orderId)).statusCode).toBe(200);
    expect(await placement()).toEqual({ pool: 2, shards: [2, 2, 2, 2] }); // back where it was taken from
    expect(await stockOf(env, KETTLE.sku)).toBe(10); // and counted

    expect(await rebalanceStock(env.deps)).toBe(1);
    const after = await placement();
    expect(after.pool).toBe(0);
    expect(sum(after.shards)).toBe(10);
    expect(await rebalanceStock(env.deps)).toBe(0);
  });

  it('shrinks to fewer shards, keeping the unused shard items so held orders give back there', async () => {
    expect((await reshard(4, '1')).statusCode).toBe(200);
    const held = await order(3);
    const taken = (await env.repo.getOrder(held.body.order.orderId))!.stockTaken![KETTLE.sku]!;

    const shrunk = await reshard(2, '2');

    expect(shrunk.statusCode).toBe(200);
    expect(shrunk.body.product).toMatchObject({ stock: 7, stockShards: 2 });
    const after = await placement();
    expect(after.shards).toHaveLength(4);
    expect(after.shards.slice(2)).toEqual([0, 0]);
    expect(sum(after.shards)).toBe(7);

    expect((await cancel(held.body.order.orderId)).statusCode).toBe(200);
    const returned = await placement();
    for (const { shard, quantity } of taken) expect(returned.shards[shard]).toBeGreaterThanOrEqual(quantity);
    expect(await stockOf(env, KETTLE.sku)).toBe(10);
    await rebalanceStock(env.deps);
    expect((await placement()).shards.slice(2)).toEqual([0, 0]);
    expect(sum((await placement()).shards)).toBe(10);
  });

  it('goes back to one: the stock on the product item, orders take from it, shard returns are folded in', async () => {
    expect((await reshard(4, '1')).statusCode).toBe(200);
    const held = await order(1);

    expect((await reshard(1, '2')).statusCode).toBe(200);
    expect(await placement()).toEqual({ pool: 9, shards: [0, 0, 0, 0] });
    expect((await order(4, 'cust_bob')).statusCode).toBe(201);
    expect((await placement()).pool).toBe(5);

    expect((await cancel(held.body.order.orderId)).statusCode).toBe(200);
    await rebalanceStock(env.deps);
    expect(await placement()).toEqual({ pool: 6, shards: [0, 0, 0, 0] });
  });

  it('an order priced from a catalogue copy read before the re-shard decides again on the new layout', async () => {
    expect((await order(1)).statusCode).toBe(201); // this container now holds the unsharded product
    expect((await reshard(4, '1')).statusCode).toBe(200);

    const next = await order(1, 'cust_bob');

    expect(next.statusCode, JSON.stringify(next.body)).toBe(201);
    expect((await env.repo.getOrder(next.body.order.orderId))!.stockTaken?.[KETTLE.sku]).toHaveLength(1);
    expect(sum((await placement()).shards)).toBe(8);
  });

  it('keeps every unit under orders running while it moves stock: sold + left = the stock, nothing below zero', async () => {
    const [answers, resharded] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, (_, i) => order(1, `cust_${i}`))),
      reshard(4, '1'),
    ]);

    expect([200, 409]).toContain(resharded.statusCode);
    const sold = answers.filter((answer) => answer.statusCode === 201).length;
    expect(sold).toBe(8);
    expect(await stockOf(env, KETTLE.sku)).toBe(2);
    const report = checkInvariants({
      items: await env.scan(),
      events: [],
      initialStock: new Map([[KETTLE.sku, 10]]),
      now: env.clock.now(),
      sweepIntervalSeconds: 60,
      expiryGraceSeconds: 0,
    });
    expect(report.violations.filter((v) => v.invariant === 'stock-conserved')).toEqual([]);
  });

  it('refuses a stale version (412), other fields beside it, and more shards than a transaction holds, writing nothing', async () => {
    const before = await tableSnapshot(env);

    const stale = await reshard(4, '7');
    const mixed = await reshard(4, '1', { name: 'Kettle II' });
    const wide = await reshard(98, '1');

    expect(stale.statusCode).toBe(412);
    expect(mixed.statusCode).toBe(400);
    expect(mixed.body.error.message).toMatch(/stockShards/);
    expect(wide.statusCode).toBe(400);
    expect(await tableSnapshot(env)).toEqual(before);
  });
});
