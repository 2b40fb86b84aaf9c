import type { ProductWrite } from '../core/orders/ports';
import { PATCHABLE_PRODUCT_FIELDS, productVersion } from '../domain/catalogue';
import {
  AlreadyExistsError,
  NotFoundError,
  OutOfStockError,
  PreconditionFailedError,
  StaleStateError,
} from '../domain/errors';
import type { Product } from '../domain/order';
import { key, stripStorage } from './keys';
import { paginate } from './paginate';
import { withShardStock } from './stock-shards';
import { putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

/** In the catalogue index under `catalog = PRODUCT`. A sharded product's stock is in its shards (stock-shards.ts). */
const productItem = (product: Product) => ({
  ...key.product(product.sku),
  kind: 'product',
  catalog: 'PRODUCT',
  ...((product.stockShards ?? 1) > 1 ? withoutStock(product) : product),
});

/** An order priced from a cached copy that predates a re-shard must not take from the product item. */
const UNSHARDED = '(attribute_not_exists(stockShards) OR stockShards = :one)';

/** Units into or out of the product item's own stock (absent on a product created sharded); any move in clears the sold-out marker. */
const POOL_MOVE = 'stock = if_not_exists(stock, :zero) + :poolDelta, soldOut = :false';
const poolMoveValues = (delta: number) => ({
  ':zero': 0,
  ':poolDelta': delta,
  ':false': false,
  ':one': 1,
  ...(delta < 0 ? { ':needed': -delta } : {}),
});

const versionIs = (before: Product) =>
  productVersion(before) === 1
    ? 'attribute_exists(pk) AND (attribute_not_exists(#version) OR #version = :read)'
    : 'attribute_exists(pk) AND #version = :read';

const withoutStock = ({ stock: _stock, shardStock: _shardStock, ...product }: Product) => product;

export const productWrites: WriteBuilders<ProductWrite['kind']> = {
  putProduct: ({ product }, TableName) =>
    putIfAbsent(TableName, productItem(product), () => new AlreadyExistsError('product', product.sku)),
  adjustStock: ({ sku, delta, price }, TableName) => {
    const reserving = delta < 0;
    const priced = reserving && price !== undefined;
    return {
      item: {
        Update: {
          TableName,
          Key: key.product(sku),
          UpdateExpression: 'SET stock = stock + :delta',
          // An order priced from a cached catalogue also needs the product still at that price and on sale.
          ConditionExpression: reserving
            ? `attribute_exists(pk) AND stock >= :needed${priced ? ` AND price = :price AND (attribute_not_exists(active) OR active = :onSale) AND ${UNSHARDED}` : ''}`
            : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':delta': delta,
            ...(reserving ? { ':needed': -delta } : {}),
            ...(priced ? { ':price': price, ':onSale': true, ':one': 1 } : {}),
          },
          ...returnOld,
        },
      },
      onConditionFailed: (current) => {
        if (!current) return new NotFoundError('product', sku);
        // Priced from an out-of-date copy of the catalogue: the caller decides again on a fresh one.
        const resharded = ((current.stockShards as number | undefined) ?? 1) > 1;
        if (priced && (current.price !== price || current.active === false || resharded))
          return new StaleStateError('product', sku);
        return new OutOfStockError(sku, -delta, typeof current.stock === 'number' ? current.stock : undefined);
      },
    };
  },
  reshardProduct: ({ before, after, poolDelta }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.product(after.sku),
        UpdateExpression: `SET stockShards = :shards, shardItems = :items, ${POOL_MOVE}, #version = :version ADD restocks :one`,
        ConditionExpression: `${versionIs(before)}${poolDelta < 0 ? ' AND stock >= :needed' : ''}`,
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: {
          ':shards': after.stockShards,
          ':items': after.shardItems,
          ':version': productVersion(after),
          ':read': productVersion(before),
          ...poolMoveValues(poolDelta),
        },
        ...returnOld,
      },
    },
    onConditionFailed: (current) => {
      if (!current) return new NotFoundError('product', after.sku);
      if (productVersion(stripStorage<Product>(current)) !== productVersion(before))
        return new PreconditionFailedError('product', after.sku, stripStorage<Product>(current));
      return new OutOfStockError(after.sku, -poolDelta, current.stock as number | undefined);
    },
  }),
  movePoolStock: ({ sku, delta }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.product(sku),
        UpdateExpression: `SET ${POOL_MOVE} ADD restocks :one`,
        ConditionExpression: `attribute_exists(pk)${delta < 0 ? ' AND stock >= :needed' : ''}`,
        ExpressionAttributeValues: poolMoveValues(delta),
        ...returnOld,
      },
    },
    onConditionFailed: (current) =>
      current
        ? new OutOfStockError(sku, -delta, current.stock as number | undefined)
        : new NotFoundError('product', sku),
  }),
  // The catalogue fields named, never the stock (orders move it meanwhile), conditional on the version read.
  updateProduct: ({ before, after }, TableName) => {
    const fields = PATCHABLE_PRODUCT_FIELDS.filter((field) => after[field] !== undefined);
    return {
      item: {
        Update: {
          TableName,
          Key: key.product(after.sku),
          UpdateExpression: `SET ${[...fields, 'version'].map((field) => `#${field} = :${field}`).join(', ')}`,
          ConditionExpression: versionIs(before),
          ExpressionAttributeNames: Object.fromEntries([...fields, 'version'].map((field) => [`#${field}`, field])),
          ExpressionAttributeValues: {
            ...Object.fromEntries(fields.map((field) => [`:${field}`, after[field]])),
            ':version': productVersion(after),
            ':read': productVersion(before),
          },
          ...returnOld,
        },
      },
      onConditionFailed: (current) =>
        current
          ? new PreconditionFailedError('product', after.sku, stripStorage<Product>(current))
          : new NotFoundError('product', after.sku),
    };
  },
};

export async function getProducts(table: DynamoTable, skus: readonly string[]): Promise<Map<string, Product>> {
  const products = await withShardStock(table, await table.batchGet<Product>([...new Set(skus)].map(key.product)));
  return new Map(products.map((product) => [product.sku, product]));
}

/**
 * The index holds keys only, so a stock change writes no index entry: the skus are collected in
 * catalogue order, then the products themselves read (consistently, so the stock is current).
 */
export async function listProducts(table: DynamoTable): Promise<Product[]> {
  const { items } = await paginate(table, {
    partitions: [
      {
        IndexName: TABLE.catalogIndex.name,
        // CATALOG is a DynamoDB reserved word: it must go through a name placeholder.
        KeyConditionExpression: '#catalog = :catalog',
        ExpressionAttributeNames: { '#catalog': TABLE.catalogIndex.partitionKey },
        ExpressionAttributeValues: { ':catalog': 'PRODUCT' },
      },
    ],
  });
  const skus = items.map((item) => item[TABLE.catalogIndex.sortKey] as string);
  const products = await getProducts(table, skus);
  return skus.map((sku) => products.get(sku)).filter((product): product is Product => product !== undefined);
}
