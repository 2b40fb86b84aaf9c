import { beforeEach, describe, expect, it } from 'vitest';
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
