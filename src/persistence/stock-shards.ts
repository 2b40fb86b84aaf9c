import type { StockShardWrite } from '../core/orders/stock-ports';
import { NotFoundError, OutOfStockError, StaleStateError } from '../domain/errors';
import type { Product } from '../domain/order';
import { ShardRefusedError, shardItemCount } from '../domain/stock';
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
  placeInShard: ({ sku, shard, delta, price }, TableName) => {
    const { pk: _pk, sk: _sk, ...attributes } = shardItem(sku, shard, 0, price);
    const { available: _available, ...fields } = attributes;
    const names = Object.keys(fields);
    return {
      item: {
        Update: {
          TableName,
          Key: key.stockShard(sku, shard),
          // An upsert: a shard the new layout adds is created here, at zero plus its units.
          UpdateExpression: `SET available = if_not_exists(available, :zero) + :delta, ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
          ...(delta < 0 ? { ConditionExpression: 'available >= :needed' } : {}),
          ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
          ExpressionAttributeValues: {
            ':zero': 0,
            ':delta': delta,
            ...(delta < 0 ? { ':needed': -delta } : {}),
            ...Object.fromEntries(names.map((n) => [`:${n}`, fields[n as keyof typeof fields]])),
          },
          ...returnOld,
        },
      },
      onConditionFailed: (current) => new OutOfStockError(sku, -delta, current?.available as number | undefined),
    };
  },
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
 * The products with each shard item read (one batch for all, after the products, so a restock the
 * shards miss has already raised the product's restock count): `shardStock` by shard number,
 * `poolStock` the product item's own, `stock` the sum of every item.
 */
export async function withShardStock(table: DynamoTable, products: Product[]): Promise<Product[]> {
  const withShards = products.filter((product) => shardItemCount(product) > 0);
  if (withShards.length === 0) return products;
  const keys = withShards.flatMap((product) =>
    Array.from({ length: shardItemCount(product) }, (_, shard) => key.stockShard(product.sku, shard)),
  );
  const shards = await table.batchGet<{ sku: string; shard: number; available: number }>(keys);
  const stockOf = new Map(
    withShards.map((product) => [product.sku, new Array<number>(shardItemCount(product)).fill(0)]),
  );
  for (const { sku, shard, available } of shards) {
    const shardStock = stockOf.get(sku);
    if (shardStock && shard < shardStock.length) shardStock[shard] = available;
  }
  return products.map((product) => {
    const shardStock = stockOf.get(product.sku);
    if (!shardStock) return product;
    const poolStock = typeof product.stock === 'number' ? product.stock : 0;
    return { ...product, shardStock, poolStock, stock: shardStock.reduce((sum, units) => sum + units, poolStock) };
  });
}
