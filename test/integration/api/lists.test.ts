import { beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import { ALICE, BOB, type CustomerApi, customerApi, placeOrder } from '../../support/api-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';
import { RequestCounter } from '../../support/request-counter';

const TEA = { items: [{ sku: 'TEA-001', quantity: 1 }] };

let env: TestEnv;
let api: CustomerApi;
let counter: RequestCounter;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
  counter = new RequestCounter().attach(env.client, 'DynamoDB');
});

/** `count` orders of `customerId`, a minute apart: their ids, oldest first. */
async function ordersOf(customerId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    env.clock.advanceMinutes(1);
    const response = await api('POST /api/orders', { body: TEA, customerId });
    expect(response.statusCode).toBe(201);
    ids.push(response.body.order.orderId);
  }
  return ids;
}

/** Every page of a list, following nextCursor: the pages' bodies. */
async function allPages(route: Parameters<CustomerApi>[0], request: Parameters<CustomerApi>[1] & object) {
  const pages: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  do {
    const query: Record<string, string> = { ...request.query, ...(cursor ? { cursor } : {}) };
    const response = await api(route, { ...request, query });
    expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
    pages.push(response.body);
    cursor = response.body.nextCursor;
  } while (cursor && pages.length < 50);
  return pages;
}

describe('GET /api/orders: the caller’s own orders', () => {
  it('pages through them newest first, each with its payment, never another customer’s', async () => {
    const alice = await ordersOf(ALICE, 5);
    await ordersOf(BOB, 3);

    const pages = await allPages('GET /api/orders', { customerId: ALICE, query: { limit: '2' } });

    expect(pages.map((page) => (page.orders as unknown[]).length)).toEqual([2, 2, 1]);
    expect(pages.at(-1)!.nextCursor).toBeUndefined();
    // A last page exactly full carries no cursor to an empty one.
    const exact = await allPages('GET /api/orders', { customerId: ALICE, query: { limit: '5' } });
    expect(exact.map((page) => (page.orders as unknown[]).length)).toEqual([5]);
    const orders = pages.flatMap(
      (page) => page.orders as Array<{ orderId: string; customerId: string; totalAmount: number; payment?: unknown }>,
    );
    expect(orders.map((order) => order.orderId)).toEqual([...alice].reverse());
    expect(orders.every((order) => order.customerId === ALICE)).toBe(true);
    expect(orders[0]!.payment).toMatchObject({ orderId: alice.at(-1), status: 'init', amount: orders[0]!.totalAmount });
  });

  it('reads one page with one Query and one batch read', async () => {
    await ordersOf(ALICE, 3);
    const first = await api('GET /api/orders', { query: { limit: '2' } });

    const counts = await counter.during(() =>
      api('GET /api/orders', { query: { limit: '2', cursor: first.body.nextCursor } }),
    );

    expect(counts).toEqual({ 'DynamoDB.BatchGetItem': 1, 'DynamoDB.Query': 1 });
  });

  it('filters by status in the query, and a page with none is empty', async () => {
    const [first] = await ordersOf(ALICE, 2);
    await api('POST /api/orders/{orderId}/cancel', { params: { orderId: first! } });

    const cancelled = await api('GET /api/orders', { query: { status: 'cancelled' } });
    const refunded = await api('GET /api/orders', { query: { status: 'refunded' } });

    expect(cancelled.body.orders.map((order: { orderId: string }) => order.orderId)).toEqual([first]);
    expect(refunded.body).toEqual({ orders: [] });
  });

  it('refuses a cursor that was edited, or handed to another customer or another filter: 400 INVALID_CURSOR', async () => {
    await ordersOf(ALICE, 3);
    await ordersOf(BOB, 3);
    const { nextCursor } = (await api('GET /api/orders', { customerId: ALICE, query: { limit: '1' } })).body;
    const decoded = JSON.parse(Buffer.from(nextCursor, 'base64url').toString('utf8'));
    const forged = Buffer.from(
      JSON.stringify({ ...decoded, p: [{ ...decoded.p[0], browseKey: `ORDERS#${BOB}` }] }),
    ).toString('base64url');

    const asBob = await api('GET /api/orders', { customerId: BOB, query: { cursor: nextCursor } });
    const edited = await api('GET /api/orders', { customerId: ALICE, query: { cursor: forged } });
    const otherFilter = await api('GET /api/orders', {
      customerId: ALICE,
      query: { cursor: nextCursor, status: 'paid' },
    });
    const garbage = await api('GET /api/orders', { customerId: ALICE, query: { cursor: 'not-a-cursor' } });

    for (const response of [asBob, edited, otherFilter, garbage]) {
      expect(response.statusCode).toBe(400);
      expect(response.body.error.code).toBe('INVALID_CURSOR');
    }
  });

  it('answers 400 for a limit outside 1–100', async () => {
    for (const limit of ['0', '101', 'ten']) {
      const response = await api('GET /api/orders', { query: { limit } });
      expect(response.statusCode, limit).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('GET /api/admin/orders and /api/admin/payments', () => {
  const staff = { customerId: 'staff_lin', scope: ADMIN_SCOPE };

  it('refuses a token without the admin scope', async () => {
    const response = await api('GET /api/admin/orders', { customerId: ALICE });
    expect(response.statusCode).toBe(403);
  });

  it('pages through every customer’s orders newest first over the Recent shards: one Query per shard and two batch reads a page', async () => {
    const made = [...(await ordersOf(ALICE, 4)), ...(await ordersOf(BOB, 3))];

    const pages = await allPages('GET /api/admin/orders', { ...staff, query: { limit: '3' } });
    const counts = await counter.during(() => api('GET /api/admin/orders', { ...staff, query: { limit: '3' } }));

    const listed = pages.flatMap((page) => (page.orders as Array<{ orderId: string }>).map((order) => order.orderId));
    expect(listed).toEqual([...made].reverse());
    expect(pages.map((page) => (page.orders as unknown[]).length)).toEqual([3, 3, 1]);
    // Recent is keys only: the orders in one batch, then their payments in another.
    expect(counts).toEqual({ 'DynamoDB.BatchGetItem': 2, 'DynamoDB.Query': 4 });
  });

  it('lists one customer’s orders from their own partition', async () => {
    await ordersOf(ALICE, 2);
    const bob = await ordersOf(BOB, 2);

    const response = await api('GET /api/admin/orders', { ...staff, query: { customerId: BOB } });

    expect(response.body.orders.map((order: { orderId: string }) => order.orderId)).toEqual([...bob].reverse());
  });

  it('filters payments by method and a time window', async () => {
    env.clock.set('2026-11-25T04:00:00.000Z');
    await placeOrder(api, TEA);
    env.clock.set('2026-11-25T05:00:00.000Z');
    const bank = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });
    env.clock.set('2026-11-25T06:00:00.000Z');
    await placeOrder(api, { ...TEA, paymentMethod: 'bank' });

    const response = await api('GET /api/admin/payments', {
      ...staff,
      query: { method: 'bank', from: '2026-11-25T04:30:00.000Z', to: '2026-11-25T05:30:00.000Z' },
    });

    expect(response.statusCode).toBe(200);
    expect(response.body.payments.map((payment: { paymentId: string }) => payment.paymentId)).toEqual([
      bank.payment.paymentId,
    ]);
    expect(response.body.payments[0]).toMatchObject({ customerId: ALICE, method: 'bank', flags: [] });
  });
});
