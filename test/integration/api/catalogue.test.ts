import { beforeEach, describe, expect, it } from 'vitest';
import { SOLD_OUT_RECHECK_MS } from '../../../src/core/orders/catalogue';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import { type CustomerApi, customerApi, itemsOfKind, placeOrder, stockOf } from '../../support/api-fixtures';
import { createTestEnv, type TestEnv } from '../../support/harness';

const LIN = { customerId: 'staff_lin', scope: ADMIN_SCOPE };
const TEA = { sku: 'TEA-LJ', name: 'Longjing 250 g', price: 12_800, stock: 10 };

let env: TestEnv;
let api: CustomerApi;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts([TEA]);
  api = customerApi(env);
});

const patch = (body: Record<string, unknown>, ifMatch?: string) =>
  api('PATCH /api/products/{sku}', {
    ...LIN,
    params: { sku: TEA.sku },
    body: { reason: 'autumn price list', ...body },
    headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
  });

const adjust = (by: number, key?: string) =>
  api('POST /api/products/{sku}/stock', {
    ...LIN,
    params: { sku: TEA.sku },
    body: { adjust: by, reason: 'stock count' },
    ...(key ? { idempotencyKey: key } : {}),
  });

describe('PATCH /api/products/{sku}', () => {
  it('changes the price under If-Match; existing orders keep theirs; a stale version is 412 with the product now', async () => {
    const before = await placeOrder(api, { items: [{ sku: TEA.sku, quantity: 1 }] });

    const changed = await patch({ price: 9_900 }, '"1"');
    const stale = await patch({ name: 'Longjing' }, '"1"');

    expect(changed.statusCode, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.product).toMatchObject({ price: 9_900, version: 2, active: true });
    expect(stale.statusCode).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'PRECONDITION_FAILED', details: { current: { version: 2 } } });
    expect((await env.repo.getOrder(before.order.orderId))?.totalAmount).toBe(12_800);
    const after = await placeOrder(api, { items: [{ sku: TEA.sku, quantity: 1 }] });
    expect(after.order.totalAmount).toBe(9_900);
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `product:${TEA.sku}` } });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ action: 'update', before: { price: 12_800 }, after: { price: 9_900 } }),
    ]);
  });

  it('answers 428 without If-Match, and takes a product off sale so orders refuse it', async () => {
    expect((await patch({ active: false })).statusCode).toBe(428);

    expect((await patch({ active: false }, '1')).statusCode).toBe(200);
    const order = await api('POST /api/orders', { body: { items: [{ sku: TEA.sku, quantity: 1 }] } });

    expect(order.statusCode).toBe(409);
    expect(order.body.error.code).toBe('PRODUCT_UNAVAILABLE');
  });
});

describe('POST /api/products/{sku}/stock', () => {
  it('adds and takes stock, never below what is free of open orders (409 ADJUSTMENT_EXCEEDS_STOCK)', async () => {
    await placeOrder(api, { items: [{ sku: TEA.sku, quantity: 4 }] });

    expect((await adjust(+5)).statusCode).toBe(200);
    const tooMuch = await adjust(-12);
    const allFree = await adjust(-11);

    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.body.error).toMatchObject({ code: 'ADJUSTMENT_EXCEEDS_STOCK', details: { available: 11 } });
    expect(allFree.statusCode).toBe(200);
    expect(await stockOf(env, TEA.sku)).toBe(0);
    expect(await itemsOfKind(env, 'audit')).toHaveLength(2);
  });

  it('a double click with one Idempotency-Key adjusts once', async () => {
    await adjust(+3, 'count-2026-11-25');
    const again = await adjust(+3, 'count-2026-11-25');

    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await stockOf(env, TEA.sku)).toBe(13);
  });

  it('racing concurrent orders: stock never goes negative, never below what orders hold', async () => {
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => api('POST /api/orders', { body: { items: [{ sku: TEA.sku, quantity: 1 }] } })),
      adjust(-5),
      adjust(-3),
    ]);

    const ordered = results.slice(0, 6).filter((response) => response.statusCode === 201).length;
    const taken = [5, 3].filter((_, index) => results[6 + index]!.statusCode === 200).reduce((a, b) => a + b, 0);
    const stock = (await stockOf(env, TEA.sku))!;
    expect(stock).toBeGreaterThanOrEqual(0);
    expect(stock).toBe(10 - ordered - taken);
    const held = (await itemsOfKind(env, 'order')).length;
    expect(held).toBe(ordered);
  });
});

describe('a product with sharded stock', () => {
  const KETTLE = { sku: 'SALE-KETTLE', name: 'Flash-sale kettle', price: 9_900, stock: 8, stockShards: 4 };
  const at = (body: Record<string, unknown>) =>
    api('PATCH /api/products/{sku}', {
      ...LIN,
      params: { sku: KETTLE.sku },
      body: { reason: 'sale prep', ...body },
      headers: { 'if-match': '1' },
    });
  const adjustKettle = (by: number) =>
    api('POST /api/products/{sku}/stock', {
      ...LIN,
      params: { sku: KETTLE.sku },
      body: { adjust: by, reason: 'stock count' },
    });
  const shards = async () =>
    (await itemsOfKind(env, 'stockShard'))
      .sort((a, b) => (a.shard as number) - (b.shard as number))
      .map((item) => item.available as number);

  beforeEach(async () => {
    expect((await api('POST /api/products', { ...LIN, body: KETTLE })).statusCode).toBe(201);
  });

  it('refuses a price or sale-state change its shards would not see (409 PRODUCT_SHARDED), changing nothing; a name changes', async () => {
    const repriced = await at({ price: 8_800 });
    const offSale = await at({ active: false });
    const renamed = await at({ name: 'Kettle, flash sale' });

    for (const refused of [repriced, offSale]) {
      expect(refused.statusCode).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'PRODUCT_SHARDED', details: { sku: KETTLE.sku } });
    }
    expect(renamed.statusCode, JSON.stringify(renamed.body)).toBe(200);
    const order = await placeOrder(api, { items: [{ sku: KETTLE.sku, quantity: 1 }] });
    expect(order.order.totalAmount).toBe(9_900);
    const listed = await api('GET /api/products', {});
    expect(listed.body.products.find((p: { sku: string }) => p.sku === KETTLE.sku)).toMatchObject({ stock: 7 });
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `product:${KETTLE.sku}` } });
    expect(audit.body.entries).toHaveLength(1);
  });

  it('adds stock over its shards and clears the sold-out marker; takes stock from the shards that hold it, never more than is free', async () => {
    for (let i = 0; i < 8; i++) await placeOrder(api, { items: [{ sku: KETTLE.sku, quantity: 1 }] });
    const soldOut = await api('POST /api/orders', {
      body: { items: [{ sku: KETTLE.sku, quantity: 1 }], paymentMethod: 'bank' },
    });
    expect(soldOut.statusCode).toBe(409);
    expect((await itemsOfKind(env, 'product')).find((item) => item.sku === KETTLE.sku)).toMatchObject({
      soldOut: true,
    });

    expect((await adjustKettle(+6)).statusCode).toBe(200);
    expect(await shards()).toEqual([2, 2, 1, 1]);
    expect((await itemsOfKind(env, 'product')).find((item) => item.sku === KETTLE.sku)).toMatchObject({
      soldOut: false,
    });
    env.clock.advance(SOLD_OUT_RECHECK_MS); // a container trusts the marker it read that long
    expect((await placeOrder(api, { items: [{ sku: KETTLE.sku, quantity: 1 }] })).order.status).toBe('pending');

    const tooMuch = await adjustKettle(-6);
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.body.error).toMatchObject({ code: 'ADJUSTMENT_EXCEEDS_STOCK' });
    expect((await adjustKettle(-3)).statusCode).toBe(200);
    expect((await shards()).reduce((a, b) => a + b)).toBe(2);
    expect((await shards()).every((units) => units >= 0)).toBe(true);
  });

  it('a decrease racing orders: every unit accounted for, no shard below zero', async () => {
    const [answers, taken] = await Promise.all([
      Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api('POST /api/orders', {
            customerId: `cust_${i}`,
            body: { items: [{ sku: KETTLE.sku, quantity: 1 }], paymentMethod: 'bank' },
          }),
        ),
      ),
      adjustKettle(-2),
    ]);

    const sold = answers.filter((answer) => answer.statusCode === 201).length;
    const removed = taken.statusCode === 200 ? 2 : 0;
    expect([200, 409]).toContain(taken.statusCode);
    const left = await shards();
    expect(left.every((units) => units >= 0)).toBe(true);
    expect(sold + removed + left.reduce((a, b) => a + b)).toBe(8);
  });
});
