import type { ProductWrite } from '../core/orders/ports';
import { AlreadyExistsError, NotFoundError, OutOfStockError, StaleStateError } from '../domain/errors';
import type { Product } from '../domain/order';
import { key } from './keys';
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
          ConditionExpression: reserving
            ? `attribute_exists(pk) AND stock >= :needed${priced ? ' AND price = :price' : ''}`
            : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':delta': delta,
            ...(reserving ? { ':needed': -delta } : {}),
            ...(priced ? { ':price': price } : {}),
          },
          ...returnOld,
        },
      },
      onConditionFailed: (current) => {
        if (!current) return new NotFoundError('product', sku);
        // Priced from an out-of-date copy of the catalogue: the caller decides again on a fresh one.
        if (priced && current.price !== price) return new StaleStateError('product', sku);
        return new OutOfStockError(sku, -delta, typeof current.stock === 'number' ? current.stock : undefined);
      },
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
