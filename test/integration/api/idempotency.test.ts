import { beforeEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  BOB,
  type CustomerApi,
  customerApi,
  itemsOfKind,
  stockOf,
  tableSnapshot,
} from '../../support/api-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';

const TEA = { items: [{ sku: 'TEA-001', quantity: 2 }] };

let env: TestEnv;
let api: CustomerApi;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
});

const createOrder = (idempotencyKey: string | undefined, body: unknown, customerId = ALICE) =>
  api('POST /api/orders', { idempotencyKey, body, customerId });

describe('Idempotency-Key on POST /api/orders', () => {
  it('replays the first response for the same key and body, creating the order once', async () => {
    const first = await createOrder('checkout-0001', TEA);
    const retry = await createOrder('checkout-0001', TEA);

    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await itemsOfKind(env, 'order')).toHaveLength(1);
    expect(await stockOf(env, 'TEA-001')).toBe(98);
  });

  it('answers 409 IDEMPOTENCY_KEY_REUSED for the same key with another body, creating nothing more', async () => {
    await createOrder('checkout-0001', TEA);
    const before = await tableSnapshot(env);

    const response = await createOrder('checkout-0001', { items: [{ sku: 'TEA-001', quantity: 3 }] });

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await tableSnapshot(env)).toEqual(before);
  });

  it('creates one order for 20 simultaneous requests with the same key, and answers all of them with it', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => createOrder('double-click-01', TEA)));

    expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(201));
    expect(new Set(responses.map((response) => response.body.order.orderId)).size).toBe(1);
    expect(await itemsOfKind(env, 'order')).toHaveLength(1);
    expect(await stockOf(env, 'TEA-001')).toBe(98);
  });

  it('scopes keys per customer: the same key from two customers makes two orders', async () => {
    const alice = await createOrder('checkout-0001', TEA, ALICE);
    const bob = await createOrder('checkout-0001', TEA, BOB);

    expect([alice.statusCode, bob.statusCode]).toEqual([201, 201]);
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect(bob.body.order).toMatchObject({ customerId: BOB });
    expect(bob.body.order.orderId).not.toBe(alice.body.order.orderId);
    expect(await itemsOfKind(env, 'order')).toHaveLength(2);
  });

  it('makes two orders for two identical requests without a key', async () => {
    await createOrder(undefined, TEA);
    await createOrder(undefined, TEA);

    expect(await itemsOfKind(env, 'order')).toHaveLength(2);
    expect(await itemsOfKind(env, 'idempotency')).toEqual([]);
  });

  it('remembers an OUT_OF_STOCK answer: after a restock the same key still replays the 409', async () => {
    const order = { items: [{ sku: 'CUP-002', quantity: 8 }] };
    const first = await createOrder('checkout-0001', order);
    await env.repo.commit([{ kind: 'adjustStock', sku: 'CUP-002', delta: 10 }]);

    const retry = await createOrder('checkout-0001', order);

    expect(first.statusCode).toBe(409);
    expect(retry.statusCode).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await itemsOfKind(env, 'order')).toEqual([]);
    expect((await createOrder('checkout-0002', order)).statusCode).toBe(201);
  });

  it('answers 400 for a malformed key and creates nothing', async () => {
    const response = await createOrder('short', TEA);

    expect(response.statusCode).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(await itemsOfKind(env, 'order')).toEqual([]);
  });
});

describe('Idempotency-Key on the other creating routes', () => {
  it('replays a batch with its results', async () => {
    const batch = { orders: [TEA, TEA] };
    const first = await api('POST /api/orders/batch', { idempotencyKey: 'batch-000001', body: batch });
    const retry = await api('POST /api/orders/batch', { idempotencyKey: 'batch-000001', body: batch });

    expect(first.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await itemsOfKind(env, 'order')).toHaveLength(2);
  });

  it('replays a retried re-pay with the new payment instead of PAYMENT_ALREADY_OPEN', async () => {
    const { body } = await createOrder(undefined, TEA);
    await api('POST /api/payments/{paymentId}/cancel', { params: { paymentId: body.payment.paymentId } });
    const repay = () =>
      api('POST /api/orders/{orderId}/payments', {
        idempotencyKey: 'repay-000001',
        params: { orderId: body.order.orderId },
      });

    const first = await repay();
    const retry = await repay();

    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect((await env.repo.getOrder(body.order.orderId))?.paymentIds).toHaveLength(2);
  });
});
