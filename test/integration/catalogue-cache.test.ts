import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { CATALOGUE_CACHE_MS } from '../../src/core/orders/catalogue';
import { type CustomerApi, customerApi, itemsOfKind, stockOf } from '../support/api-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { RequestCounter } from '../support/request-counter';

/**
 * A create prices from the container's cached copy of the catalogue, and its transaction checks
 * that copy against the product (price and stock): a stale copy is read again, never ordered from.
 */

let env: TestEnv;
let api: CustomerApi;
const order = (sku: string, quantity: number, key?: string) =>
  api('POST /api/orders', { body: { items: [{ sku, quantity }] }, idempotencyKey: key });

/** Someone else (an admin tool, another container) changes a product behind this container's cache. */
async function changeProduct(sku: string, set: { price?: number; stock?: number }) {
  const names = Object.keys(set);
  await env.client.send(
    new UpdateItemCommand({
      TableName: env.tableName,
      Key: { pk: { S: `PRODUCT#${sku}` }, sk: { S: 'PRODUCT' } },
      UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: Object.fromEntries(
        Object.entries(set).map(([name, value]) => [`:${name}`, { N: String(value) }]),
      ),
    }),
  );
}

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
  expect((await order('TEA-001', 1)).statusCode).toBe(201); // the catalogue is now cached
});

describe('the catalogue cached per container', () => {
  it('orders at the new price when the price changed behind the cache, reading the product once more', async () => {
    await changeProduct('TEA-001', { price: 13_000 });
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');

    const response = await counter.during(async () => {
      const created = await order('TEA-001', 2);
      expect(created.statusCode).toBe(201);
      expect(created.body.order.totalAmount).toBe(26_000);
    });

    expect(response).toEqual({ 'DynamoDB.BatchGetItem': 1, 'DynamoDB.TransactWriteItems': 2 });
    expect(await stockOf(env, 'TEA-001')).toBe(97);
  });

  it('answers OUT_OF_STOCK naming the SKU when the stock ran out behind the cache, writing nothing', async () => {
    await changeProduct('CUP-002', { stock: 1 });

    const response = await order('CUP-002', 2);

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { sku: 'CUP-002', requested: 2, available: 1 },
    });
    expect(await itemsOfKind(env, 'order')).toHaveLength(1);
    expect(await stockOf(env, 'CUP-002')).toBe(1);
  });

  it('sells stock added behind a cache that says there is too little', async () => {
    expect((await order('CUP-002', 5)).statusCode).toBe(201);
    await changeProduct('CUP-002', { stock: 10 });

    const response = await order('CUP-002', 3);

    expect(response.statusCode).toBe(201);
    expect(await stockOf(env, 'CUP-002')).toBe(7);
  });

  it('reads the catalogue again once its copy is older than CATALOGUE_CACHE_MS', async () => {
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');
    const within = await counter.during(() => order('TEA-001', 1));
    env.clock.advance(CATALOGUE_CACHE_MS + 1);
    const after = await counter.during(() => order('TEA-001', 1));

    expect(within['DynamoDB.BatchGetItem']).toBeUndefined();
    expect(after['DynamoDB.BatchGetItem']).toBe(1);
  });
});
