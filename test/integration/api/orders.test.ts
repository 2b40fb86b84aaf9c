import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ORDER_POLICY } from '../../../src/core/kernel/deps';
import type { Product } from '../../../src/domain';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import {
  ALICE,
  BOB,
  type CustomerApi,
  customerApi,
  itemsOfKind,
  placeOrder,
  settleAsPaid,
  stockOf,
  tableSnapshot,
} from '../../support/api-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';

const MINUTE = 60_000;
const inMinutes = (env: TestEnv, minutes: number) =>
  new Date(env.clock.now().getTime() + minutes * MINUTE).toISOString();

let env: TestEnv;
let api: CustomerApi;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
});

describe('POST /api/orders', () => {
  it('creates a pending order with an init payment for its total, expiring after the TTL, and reserves the stock', async () => {
    const response = await api('POST /api/orders', {
      body: {
        items: [
          { sku: 'TEA-001', quantity: 2 },
          { sku: 'CUP-002', quantity: 1 },
        ],
      },
    });

    expect(response.statusCode).toBe(201);
    const { order, payment } = response.body;
    expect(order).toMatchObject({
      customerId: ALICE,
      status: 'pending',
      totalAmount: 2 * 12_800 + 4_550,
      currency: 'CNY',
      openPaymentId: payment.paymentId,
      createdAt: env.clock.now().toISOString(),
      items: [
        { sku: 'TEA-001', quantity: 2, unitPrice: 12_800, lineTotal: 25_600 },
        { sku: 'CUP-002', quantity: 1, unitPrice: 4_550, lineTotal: 4_550 },
      ],
    });
    expect(payment).toMatchObject({
      orderId: order.orderId,
      status: 'init',
      method: 'wechat',
      amount: order.totalAmount,
      expiresAt: inMinutes(env, 30),
    });
    expect(await stockOf(env, 'TEA-001')).toBe(98);
    expect(await stockOf(env, 'CUP-002')).toBe(4);
    expect((await env.drainedBus()).ofType('OrderCreated').map((event) => event.detail.orderId)).toEqual([
      order.orderId,
    ]);
  });

  it('narrows the payment TTL to ttlMinutes, and refuses to widen it past the deployment TTL', async () => {
    const { payment } = await placeOrder(api, { items: [{ sku: 'PEN-003', quantity: 1 }], ttlMinutes: 10 });
    expect(payment.expiresAt).toBe(inMinutes(env, 10));

    const tooLong = await api('POST /api/orders', {
      body: { items: [{ sku: 'PEN-003', quantity: 1 }], ttlMinutes: 31 },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { ttlMinutes: 31 } });
    expect(await itemsOfKind(env, 'order')).toHaveLength(1);
  });

  const invalidField = (path: string) => ({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path })] });
  it.each([
    [
      'an unknown SKU',
      [
        { sku: 'TEA-001', quantity: 1 },
        { sku: 'NOPE-404', quantity: 1 },
      ],
      undefined,
      { code: 'UNKNOWN_SKU', details: { skus: ['NOPE-404'] } },
    ],
    ['a zero quantity', [{ sku: 'TEA-001', quantity: 0 }], undefined, invalidField('items.0.quantity')],
    ['a negative quantity', [{ sku: 'TEA-001', quantity: -1 }], undefined, invalidField('items.0.quantity')],
    ['a fractional quantity', [{ sku: 'TEA-001', quantity: 1.5 }], undefined, invalidField('items.0.quantity')],
    ['an unknown payment method', [{ sku: 'TEA-001', quantity: 1 }], 'paypal', invalidField('paymentMethod')],
    ['no items', [], undefined, invalidField('items')],
  ])('answers 400 naming the field for %s, and writes nothing', async (_case, items, paymentMethod, error) => {
    const before = await tableSnapshot(env);

    const response = await api('POST /api/orders', { body: { items, paymentMethod } });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toMatchObject(error);
    expect(await tableSnapshot(env)).toEqual(before);
  });

  it('answers 400 INVALID_JSON for a malformed body', async () => {
    const response = await api('POST /api/orders', { rawBody: '{"items": [{"sku": "TEA-001"' });
    expect(response.statusCode).toBe(400);
    expect(response.body.error.code).toBe('INVALID_JSON');
  });

  it('answers 413 for a body over 64 KiB, before parsing it', async () => {
    const oversized = JSON.stringify({ items: [{ sku: 'TEA-001', quantity: 1 }], note: 'x'.repeat(64 * 1024) });
    const response = await api('POST /api/orders', { rawBody: oversized });
    expect(response.statusCode).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 401 without a bearer token', async () => {
    const response = await api('POST /api/orders', {
      customerId: undefined,
      body: { items: [{ sku: 'TEA-001', quantity: 1 }] },
    });
    expect(response.statusCode).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
    expect(await itemsOfKind(env, 'order')).toEqual([]);
  });

  it.each([
    ['without an Idempotency-Key', undefined],
    ['with an Idempotency-Key', 'out-of-stock-1'],
  ])('answers 409 OUT_OF_STOCK naming the SKU and changes nothing, %s', async (_case, idempotencyKey) => {
    const before = await tableSnapshot(env);

    const body = {
      items: [
        { sku: 'TEA-001', quantity: 1 },
        { sku: 'CUP-002', quantity: 6 },
      ],
    };
    const response = await api('POST /api/orders', { idempotencyKey, body });

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { sku: 'CUP-002', requested: 6, available: 5 },
    });
    const after = await tableSnapshot(env);
    expect(after.filter((item) => item.kind !== 'idempotency')).toEqual(before);
    expect(after.filter((item) => item.kind === 'idempotency')).toHaveLength(idempotencyKey ? 1 : 0);
    expect((await env.drainedBus()).published).toEqual([]);
  });

  it('sells the last units once when two customers order them at the same time', async () => {
    const order = (customerId: string) =>
      api('POST /api/orders', { customerId, body: { items: [{ sku: 'CUP-002', quantity: 3 }] } });

    const responses = await Promise.all([order(ALICE), order(BOB)]);

    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409]);
    expect(await stockOf(env, 'CUP-002')).toBe(2);
    expect(await itemsOfKind(env, 'order')).toHaveLength(1);
  });
});

describe('pending orders per customer', () => {
  const PEN = { items: [{ sku: 'PEN-003', quantity: 1 }] };
  const pendingOf = async (customerId: string) =>
    (await itemsOfKind(env, 'order')).filter((order) => order.customerId === customerId && order.status === 'pending');

  it('are capped: the next create answers 409 TOO_MANY_PENDING_ORDERS, even when they race, and writes nothing', async () => {
    expect(DEFAULT_ORDER_POLICY.maxPendingPerCustomer).toBe(20);
    env.deps.orders = { ...DEFAULT_ORDER_POLICY, maxPendingPerCustomer: 3 };

    const responses = await Promise.all(Array.from({ length: 5 }, () => api('POST /api/orders', { body: PEN })));

    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 201, 201, 409, 409]);
    expect(responses.find((response) => response.statusCode === 409)!.body.error).toMatchObject({
      code: 'TOO_MANY_PENDING_ORDERS',
      details: { limit: 3 },
    });
    expect(await pendingOf(ALICE)).toHaveLength(3);
    expect(await stockOf(env, 'PEN-003')).toBe(997);
    const batch = await api('POST /api/orders/batch', { body: { orders: [PEN] } });
    expect(batch.statusCode).toBe(409);
    expect(batch.body.error.code).toBe('TOO_MANY_PENDING_ORDERS');
    // Another customer has places of their own.
    expect((await api('POST /api/orders', { customerId: BOB, body: PEN })).statusCode).toBe(201);
  });

  it('free a place once one is paid or cancelled', async () => {
    env.deps.orders = { ...DEFAULT_ORDER_POLICY, maxPendingPerCustomer: 2 };
    const first = await placeOrder(api, PEN);
    const second = await placeOrder(api, PEN);
    expect((await api('POST /api/orders', { body: PEN })).statusCode).toBe(409);

    await settleAsPaid(env, first.payment);
    expect((await api('POST /api/orders', { body: PEN })).statusCode).toBe(201);
    expect((await api('POST /api/orders', { body: PEN })).statusCode).toBe(409);

    await api('POST /api/orders/{orderId}/cancel', { params: { orderId: second.order.orderId } });
    expect((await api('POST /api/orders/batch', { body: { orders: [PEN] } })).statusCode).toBe(201);
    expect(await pendingOf(ALICE)).toHaveLength(2);
  });
});

describe('POST /api/orders/batch', () => {
  it('creates every order with the same payment method and reserves the sum of a SKU across orders', async () => {
    const orders = [
      { items: [{ sku: 'TEA-001', quantity: 2 }] },
      {
        items: [
          { sku: 'TEA-001', quantity: 3 },
          { sku: 'PEN-003', quantity: 1 },
        ],
      },
    ];
    const response = await api('POST /api/orders/batch', { body: { paymentMethod: 'alipay', orders } });

    expect(response.statusCode).toBe(201);
    const { results } = response.body;
    expect(results).toHaveLength(2);
    for (const { order, payment } of results) {
      expect(order.status).toBe('pending');
      expect(payment).toMatchObject({
        orderId: order.orderId,
        method: 'alipay',
        status: 'init',
        amount: order.totalAmount,
      });
    }
    expect(results.map(({ order }: { order: { totalAmount: number } }) => order.totalAmount)).toEqual([25_600, 38_401]);
    expect(await stockOf(env, 'TEA-001')).toBe(95);
    expect(await stockOf(env, 'PEN-003')).toBe(999);
    expect((await env.drainedBus()).ofType('OrderCreated')).toHaveLength(2);
  });

  it('writes nothing when one order of the batch is out of stock', async () => {
    const before = await tableSnapshot(env);

    const orders = [{ items: [{ sku: 'TEA-001', quantity: 1 }] }, { items: [{ sku: 'CUP-002', quantity: 6 }] }];
    const response = await api('POST /api/orders/batch', { body: { orders } });

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'OUT_OF_STOCK', details: { sku: 'CUP-002' } });
    expect(await tableSnapshot(env)).toEqual(before);
  });

  it('refuses two orders that each fit the stock but together exceed it', async () => {
    const threeCups = { items: [{ sku: 'CUP-002', quantity: 3 }] };
    const response = await api('POST /api/orders/batch', { body: { orders: [threeCups, threeCups] } });

    expect(response.statusCode).toBe(409);
    expect(response.body.error.details).toMatchObject({ sku: 'CUP-002', requested: 6, available: 5 });
    expect(await stockOf(env, 'CUP-002')).toBe(5);
  });
});

describe('POST /api/orders/batch against the 100-write transaction', () => {
  // With an Idempotency-Key a batch writes 2 items per order, 1 stock item per distinct SKU, the
  // customer's pending-order count, 1 outbox entry and 1 idempotency record: 20 orders and 57 SKUs are exactly 100.
  const SKUS = Array.from({ length: 58 }, (_, i) => `SKU-${String(i).padStart(2, '0')}`);
  /** 20 orders over the first `distinct` SKUs; every order but the first also takes SKU-00, which stays one stock write. */
  const twentyOrders = (distinct: number) =>
    Array.from({ length: 20 }, (_, i) => {
      const own = SKUS.slice(0, distinct).filter((_, j) => j % 20 === i);
      return { items: [...own, ...(i === 0 ? [] : [SKUS[0]!])].map((sku) => ({ sku, quantity: 1 })) };
    });

  beforeEach(() => env.seedProducts(SKUS.map((sku) => ({ sku, name: `Sample ${sku}`, price: 100, stock: 1_000 }))));

  it('exactly at the limit: all 20 orders created, the shared SKU reserved once for all', async () => {
    const response = await api('POST /api/orders/batch', {
      body: { orders: twentyOrders(57) },
      idempotencyKey: 'batch-at-the-limit',
    });

    expect(response.statusCode, JSON.stringify(response.body)).toBe(201);
    expect(response.body.results).toHaveLength(20);
    expect(await stockOf(env, 'SKU-00')).toBe(1_000 - 20);
    expect(await stockOf(env, 'SKU-56')).toBe(999);
    expect(await itemsOfKind(env, 'order')).toHaveLength(20);
  });

  it('one write over: 400 BATCH_TOO_LARGE naming the limit and what the batch needs, no order, payment or stock written', async () => {
    const before = await tableSnapshot(env);

    const response = await api('POST /api/orders/batch', {
      body: { orders: twentyOrders(58) },
      idempotencyKey: 'batch-one-over',
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'BATCH_TOO_LARGE',
      details: { limit: 100, needed: 101 },
      message: expect.stringContaining('100'),
    });
    // Only the answer itself is kept, under its Idempotency-Key, as for every 4xx.
    const after = await tableSnapshot(env);
    expect(after.filter((item) => item.kind !== 'idempotency')).toEqual(before);
    expect(await itemsOfKind(env, 'idempotency')).toEqual([expect.objectContaining({ key: 'batch-one-over' })]);
    expect(await env.repo.getIdempotencyRecord(ALICE, 'batch-one-over')).toMatchObject({
      response: { statusCode: 400, body: response.body },
    });
  });
});

describe('GET /api/orders/{orderId} and GET /api/payments/{paymentId}', () => {
  it('shows the customer their order with its payments', async () => {
    const { order, payment } = await placeOrder(api, { items: [{ sku: 'TEA-001', quantity: 1 }] });

    const response = await api('GET /api/orders/{orderId}', { params: { orderId: order.orderId } });

    expect(response.statusCode).toBe(200);
    expect(response.body).toEqual({ order, payments: [payment], refunds: [] });
    expect((await api('GET /api/payments/{paymentId}', { params: { paymentId: payment.paymentId } })).body).toEqual(
      payment,
    );
  });

  it("answers 404 for another customer's order and payment, as for ones that do not exist", async () => {
    const { order, payment } = await placeOrder(api, { items: [{ sku: 'TEA-001', quantity: 1 }] });

    const otherOrder = await api('GET /api/orders/{orderId}', { customerId: BOB, params: { orderId: order.orderId } });
    const otherPayment = await api('GET /api/payments/{paymentId}', {
      customerId: BOB,
      params: { paymentId: payment.paymentId },
    });
    const missing = await api('GET /api/orders/{orderId}', { params: { orderId: `ord_${'0'.repeat(22)}` } });

    expect([otherOrder.statusCode, otherPayment.statusCode, missing.statusCode]).toEqual([404, 404, 404]);
    expect(otherOrder.body.error.code).toBe('ORDER_NOT_FOUND');
    expect(otherPayment.body.error.code).toBe('PAYMENT_NOT_FOUND');
  });

  it('answers 400 for an id that is not an order id', async () => {
    const response = await api('GET /api/orders/{orderId}', { params: { orderId: 'ord_1' } });
    expect(response.statusCode).toBe(400);
    expect(response.body.error.details).toEqual([expect.objectContaining({ path: 'orderId' })]);
  });

  it('reads an unpaid payment as expired once past its expiry, before any sweeper has run', async () => {
    const { order, payment } = await placeOrder(api, { items: [{ sku: 'TEA-001', quantity: 1 }] });
    const read = async () =>
      (await api('GET /api/payments/{paymentId}', { params: { paymentId: payment.paymentId } })).body.status;

    env.clock.advance(30 * MINUTE - 1);
    expect(await read()).toBe('init');
    env.clock.advance(1);
    expect(await read()).toBe('expired');
    expect(
      (await api('GET /api/orders/{orderId}', { params: { orderId: order.orderId } })).body.payments[0].status,
    ).toBe('expired');
    expect((await env.repo.getPayment(payment.paymentId))?.status).toBe('init');
  });
});

describe('POST /api/orders/{orderId}/cancel', () => {
  it('cancels the order and its open payment, releases the stock and announces both', async () => {
    const { order, payment } = await placeOrder(api, { items: [{ sku: 'CUP-002', quantity: 2 }] });
    expect(await stockOf(env, 'CUP-002')).toBe(3);

    const response = await api('POST /api/orders/{orderId}/cancel', { params: { orderId: order.orderId } });

    expect(response.statusCode).toBe(200);
    expect(response.body.order).toMatchObject({ status: 'cancelled', cancelledAt: env.clock.now().toISOString() });
    expect(response.body.order.openPaymentId).toBeUndefined();
    const { body } = await api('GET /api/orders/{orderId}', { params: { orderId: order.orderId } });
    expect(body.order.status).toBe('cancelled');
    expect(body.payments.map((p: { paymentId: string; status: string }) => [p.paymentId, p.status])).toEqual([
      [payment.paymentId, 'cancelled'],
    ]);
    expect(await stockOf(env, 'CUP-002')).toBe(5);
    expect((await env.drainedBus()).ofType('OrderCancelled').map((event) => event.detail.orderId)).toEqual([
      order.orderId,
    ]);
    expect((await env.drainedBus()).ofType('PaymentCancelled').map((event) => event.detail.paymentId)).toEqual([
      payment.paymentId,
    ]);
  });

  it('answers the same when cancelled again, without releasing the stock twice', async () => {
    const { order } = await placeOrder(api, { items: [{ sku: 'CUP-002', quantity: 2 }] });
    const cancel = () => api('POST /api/orders/{orderId}/cancel', { params: { orderId: order.orderId } });

    const first = await cancel();
    const second = await cancel();

    expect(second.statusCode).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await stockOf(env, 'CUP-002')).toBe(5);
    expect((await env.drainedBus()).ofType('OrderCancelled')).toHaveLength(1);
  });

  it('answers both of two simultaneous cancels with the cancelled order, releasing the stock once', async () => {
    for (let round = 0; round < 5; round++) {
      const { order } = await placeOrder(api, { items: [{ sku: 'CUP-002', quantity: 1 }] });
      const cancel = () => api('POST /api/orders/{orderId}/cancel', { params: { orderId: order.orderId } });

      const responses = await Promise.all([cancel(), cancel()]);

      expect(
        responses.map((response) => [response.statusCode, response.body.error?.code]),
        `round ${round}`,
      ).toEqual([
        [200, undefined],
        [200, undefined],
      ]);
      expect(responses[1]!.body).toEqual(responses[0]!.body);
      expect(await stockOf(env, 'CUP-002')).toBe(5);
    }
    expect((await env.drainedBus()).ofType('OrderCancelled')).toHaveLength(5);
  });

  it('answers 409 ORDER_NOT_PENDING for a paid order and keeps its stock reserved', async () => {
    const { order, payment } = await placeOrder(api, { items: [{ sku: 'CUP-002', quantity: 2 }] });
    await settleAsPaid(env, payment);

    const response = await api('POST /api/orders/{orderId}/cancel', { params: { orderId: order.orderId } });

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'ORDER_NOT_PENDING', details: { status: 'paid' } });
    expect(await stockOf(env, 'CUP-002')).toBe(3);
  });

  it("answers 404 for another customer's order and leaves it pending", async () => {
    const { order } = await placeOrder(api, { items: [{ sku: 'CUP-002', quantity: 2 }] });

    const response = await api('POST /api/orders/{orderId}/cancel', {
      customerId: BOB,
      params: { orderId: order.orderId },
    });

    expect(response.statusCode).toBe(404);
    expect((await env.repo.getOrder(order.orderId))?.status).toBe('pending');
  });
});

describe('products', () => {
  const kettle = { sku: 'KETTLE-004', name: 'Iron kettle', price: 39_900, stock: 7 };

  it('lists the catalogue by sku with names, prices and the stock orders left', async () => {
    await placeOrder(api, {
      items: [
        { sku: 'TEA-001', quantity: 2 },
        { sku: 'CUP-002', quantity: 1 },
      ],
    });

    const response = await api('GET /api/products');

    expect(response.statusCode).toBe(200);
    const [tea, cup, pen] = DEMO_PRODUCTS as [Product, Product, Product];
    expect(response.body.products).toEqual([{ ...cup, stock: cup.stock - 1 }, pen, { ...tea, stock: tea.stock - 2 }]);
  });

  it('adds a product only with the admin scope', async () => {
    const withoutScope = await api('POST /api/products', { body: kettle });
    expect(withoutScope.statusCode).toBe(403);
    expect(withoutScope.body.error.code).toBe('FORBIDDEN');
    expect(await stockOf(env, kettle.sku)).toBeUndefined();

    const withScope = await api('POST /api/products', { scope: `openid ${ADMIN_SCOPE}`, body: kettle });
    expect(withScope.statusCode).toBe(201);
    expect(withScope.body).toEqual(kettle);
    expect((await api('GET /api/products')).body.products).toContainEqual(kettle);
  });

  it('answers 409 ALREADY_EXISTS for a SKU already in the catalogue, keeping the original', async () => {
    const response = await api('POST /api/products', { scope: ADMIN_SCOPE, body: { ...DEMO_PRODUCTS[0], stock: 0 } });

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('ALREADY_EXISTS');
    expect(await stockOf(env, 'TEA-001')).toBe(100);
  });
});
