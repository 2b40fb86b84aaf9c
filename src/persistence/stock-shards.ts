import type { StockShardWrite } from '../core/orders/stock-ports';
import { NotFoundError, OutOfStockError, StaleStateError } from '../domain/errors';
import type { Product } from '../domain/order';
import { ShardRefusedError } from '../domain/stock';
import { key } from './keys';
import { returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/** A shard item: a partition of its own (keys.ts), with the price so an order's take checks it without touching the product. */
const shardItem = (sku: string, shard: number, available: number, price: number) => ({
  ...key.stockShard(sku, shard),
  kind: 'stockShard',
  sku,
  shard,
  available,
  price,
});

const add = (
  TableName: string,
  sku: string,
  shard: number,
  delta: number,
  condition: string,
  values: Record<string, unknown> = {},
) => ({
  Update: {
    TableName,
    Key: key.stockShard(sku, shard),
    UpdateExpression: 'SET available = available + :delta',
    ConditionExpression: condition,
    ExpressionAttributeValues: { ':delta': delta, ...(delta < 0 ? { ':needed': -delta } : {}), ...values },
    ...returnOld,
  },
});

export const stockShardWrites: WriteBuilders<StockShardWrite['kind']> = {
  createStockShard: ({ sku, shard, stock, price }, TableName) => ({
    item: {
      Put: { TableName, Item: shardItem(sku, shard, stock, price), ConditionExpression: 'attribute_not_exists(pk)' },
    },
    onConditionFailed: () => new StaleStateError('product', sku),
  }),
  takeFromShard: ({ sku, shard, quantity, price }, TableName) => {
    const condition = 'attribute_exists(pk) AND available >= :needed AND price = :price';
    return {
      item: add(TableName, sku, shard, -quantity, condition, { ':price': price }),
      onConditionFailed: (current) => {
        if (!current) return new NotFoundError('product', sku);
        if (current.price !== price) return new StaleStateError('product', sku);
        return new ShardRefusedError(sku, quantity, current.available as number);
      },
    };
  },
  returnToShard: ({ sku, shard, quantity }, TableName) => ({
    item: add(TableName, sku, shard, quantity, 'attribute_exists(pk)'),
    onConditionFailed: () => new NotFoundError('product', sku),
  }),
  moveOutOfShard: ({ sku, shard, quantity }, TableName) => ({
    item: add(TableName, sku, shard, -quantity, 'attribute_exists(pk) AND available >= :needed'),
    onConditionFailed: (current) => new OutOfStockError(sku, quantity, current?.available as number | undefined),
  }),
  markSoldOut: ({ sku, restocksSeen }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.product(sku),
        UpdateExpression: 'SET soldOut = :true',
        ConditionExpression: restocksSeen === 0 ? 'attribute_not_exists(restocks)' : 'restocks = :seen',
        ExpressionAttributeValues: { ':true': true, ...(restocksSeen === 0 ? {} : { ':seen': restocksSeen }) },
      },
    },
    onConditionFailed: () => new StaleStateError('product', sku),
  }),
  clearSoldOut: ({ sku }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.product(sku),
        // SET, not REMOVE: commit.ts appends the update's one REMOVE clause.
        UpdateExpression: 'SET soldOut = :false ADD restocks :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1, ':false': false },
      },
    },
    onConditionFailed: () => new NotFoundError('product', sku),
  }),
};

/**
 * The products with each sharded one's shards read (one batch for all, after the products, so a
 * restock the shards miss has already raised the product's restock count) and its stock their sum.
 */
export async function withShardStock(table: DynamoTable, products: Product[]): Promise<Product[]> {
  const sharded = products.filter((product) => (product.stockShards ?? 1) > 1);
  if (sharded.length === 0) return products;
  const keys = sharded.flatMap((product) =>
    Array.from({ length: product.stockShards! }, (_, shard) => key.stockShard(product.sku, shard)),
  );
  const shards = await table.batchGet<{ sku: string; shard: number; available: number }>(keys);
  const stockOf = new Map(sharded.map((product) => [product.sku, new Array<number>(product.stockShards!).fill(0)]));
  for (const { sku, shard, available } of shards) stockOf.get(sku)![shard] = available;
  return products.map((product) => {
    const shardStock = stockOf.get(product.sku);
    if (!shardStock) return product;
    return { ...product, shardStock, stock: shardStock.reduce((sum, units) => sum + units, 0) };
  });
}
