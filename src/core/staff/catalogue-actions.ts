import { assertAdjustment, patchedProduct, type ProductPatch, productVersion } from '../../domain/catalogue';
import { placeForLayout, planTakes, shardItemCount, splitStock } from '../../domain/stock';
import {
  AdjustmentExceedsStockError,
  NotFoundError,
  OutOfStockError,
  PreconditionFailedError,
  ProductShardedError,
  StaleStateError,
  ValidationError,
} from '../../domain/errors';
import type { Product } from '../../domain/order';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import type { ProductStore } from '../orders/ports';
import { commitAudited, type StaffNote } from './audit';

type CatalogueDeps = Uses<ProductStore & Commit, 'clock'>;

/** A product as the API shows it, with the version PATCH's If-Match names. */
export const productView = (product: Product) => ({
  sku: product.sku,
  name: product.name,
  price: product.price,
  stock: product.stock,
  ...((product.stockShards ?? 1) > 1 ? { stockShards: product.stockShards } : {}),
  active: product.active !== false,
  version: productVersion(product),
});

async function loadProduct(deps: CatalogueDeps, sku: string): Promise<Product> {
  const product = (await deps.repo.getProducts([sku])).get(sku);
  if (!product) throw new NotFoundError('product', sku);
  return product;
}

const isSharded = (product: Product) => (product.stockShards ?? 1) > 1;

/**
 * PATCH /api/products/{sku}: the catalogue fields given (ProductPatch), conditional on the version
 * the caller read (If-Match): another change since is 412 with the product now. Orders keep the
 * prices they were made at (each order item carries its own); stock is not a field here, and
 * `stockShards` is a re-shard of its own (reshardProduct).
 */
export async function updateProduct(
  deps: CatalogueDeps,
  input: StaffNote & { sku: string; ifMatch: number; patch: ProductPatch & { stockShards?: number } },
) {
  const { stockShards, ...fields } = input.patch;
  if (stockShards !== undefined) {
    if (Object.keys(fields).length > 0)
      throw new ValidationError('stockShards moves stock: change it in a PATCH of its own', {
        fields: Object.keys(fields),
      });
    return reshardProduct(deps, { ...input, stockShards });
  }
  const product = await loadProduct(deps, input.sku);
  if (productVersion(product) !== input.ifMatch)
    throw new PreconditionFailedError('product', input.sku, productView(product));
  // The shards carry the price and are what orders take from; a change here would not reach them.
  if (isSharded(product) && (input.patch.price !== undefined || input.patch.active !== undefined))
    throw new ProductShardedError(input.sku, 'price and sale state');
  const after = patchedProduct(product, input.patch);
  const changed = Object.keys(input.patch) as Array<keyof ProductPatch>;
  const entry = await commitAudited(
    deps,
    input,
    {
      kind: 'product',
      id: input.sku,
      action: 'update',
      before: Object.fromEntries(changed.map((field) => [field, product[field]])),
      after: Object.fromEntries(changed.map((field) => [field, after[field]])),
    },
    { writes: [{ kind: 'updateProduct', before: product, after }], events: [] },
  );
  return { product: productView({ ...after, stock: product.stock }), auditId: entry.auditId };
}

/**
 * POST /api/products/{sku}/stock: `adjust` units more or fewer, as conditional increments (never a
 * read-then-write): a decrease needs that many units free, and free stock already excludes what
 * open orders hold, so it can never take stock below what they hold. A sharded product's units
 * are spread over its shards (an increase clears the sold-out marker) or taken from those that
 * hold them; an order emptying one of those first makes it read and plan again.
 */
export async function adjustProductStock(
  deps: CatalogueDeps,
  input: StaffNote & { sku: string; adjust: number },
  remember?: (body: unknown) => Write[],
) {
  const adjust = assertAdjustment(input.adjust);
  const body = (auditId: string) => ({ sku: input.sku, adjust, auditId });
  for (let attempt = 1; ; attempt++) {
    const read = await loadProduct(deps, input.sku);
    const writes = adjustmentWrites(read, adjust);
    try {
      const entry = await commitAudited(
        deps,
        input,
        {
          kind: 'product',
          id: input.sku,
          action: 'adjust-stock',
          // The stock as read before the increment: orders may move it meanwhile, the increment is exact.
          before: { stockRead: read.stock },
          after: { adjust },
        },
        { writes, events: [] },
        (entry) => remember?.(body(entry.auditId)) ?? [],
      );
      return body(entry.auditId);
    } catch (error) {
      if (!(error instanceof OutOfStockError)) throw error;
      if (!isSharded(read) || attempt === RESHARD_ATTEMPTS)
        throw new AdjustmentExceedsStockError(input.sku, adjust, error.available);
    }
  }
}

/** The stock writes of an adjustment: the product's own stock, or its shards (an increase evenly, a decrease where units are). */
function adjustmentWrites(product: Product, adjust: number): Write[] {
  const { sku } = product;
  if (!isSharded(product)) return [{ kind: 'adjustStock', sku, delta: adjust }];
  if (adjust > 0)
    return [
      ...splitStock(adjust, product.stockShards!).flatMap((quantity, shard): Write[] =>
        quantity > 0 ? [{ kind: 'returnToShard', sku, shard, quantity }] : [],
      ),
      { kind: 'clearSoldOut', sku },
    ];
  const shardStock = (product.shardStock ?? []).slice(0, product.stockShards);
  try {
    return planTakes(sku, shardStock, -adjust, 0).map((take): Write => ({ kind: 'moveOutOfShard', sku, ...take }));
  } catch (error) {
    if (error instanceof OutOfStockError) throw new AdjustmentExceedsStockError(sku, adjust, error.available);
    throw error;
  }
}

/** How often a re-shard reads the stock again after an order moved it between the read and the write. */
export const RESHARD_ATTEMPTS = 3;

/**
 * PATCH /api/products/{sku} with `stockShards`: the product's stock spread over a new number of
 * shards (1: back on the product item) in one transaction with its audit entry: each item's units
 * moved by a conditional increment, so orders running meanwhile keep every unit (one that empties
 * an item first makes the move fail, and it is read and planned again). Shard items a smaller
 * layout no longer uses are kept: orders that took from them give back there, and the sweeper's
 * rebalance brings those units in (src/core/sweeper/rebalance.ts).
 */
export async function reshardProduct(
  deps: CatalogueDeps,
  input: StaffNote & { sku: string; ifMatch: number; stockShards: number },
) {
  splitStock(0, input.stockShards); // validates the count
  for (let attempt = 1; ; attempt++) {
    const product = await loadProduct(deps, input.sku);
    if (productVersion(product) !== input.ifMatch)
      throw new PreconditionFailedError('product', input.sku, productView(product));
    try {
      return await commitReshard(deps, input, product);
    } catch (error) {
      if (!(error instanceof OutOfStockError) || attempt === RESHARD_ATTEMPTS) throw busy(error, input.sku);
    }
  }
}

const busy = (error: unknown, sku: string) =>
  error instanceof OutOfStockError ? new StaleStateError('product', sku) : error;

async function commitReshard(deps: CatalogueDeps, input: StaffNote & { stockShards: number }, product: Product) {
  const before = { stockShards: product.stockShards ?? 1, shardItems: shardItemCount(product) };
  const placement = { pool: product.poolStock ?? product.stock, shards: product.shardStock ?? [] };
  const changes = placeForLayout(input.stockShards, placement);
  const after: Product = {
    ...product,
    stockShards: input.stockShards,
    shardItems: Math.max(before.shardItems, input.stockShards > 1 ? input.stockShards : 0),
    version: productVersion(product) + 1,
  };
  const writes: Write[] = [
    { kind: 'reshardProduct', before: product, after, poolDelta: changes.pool },
    ...changes.shards.map(({ shard, quantity }): Write => ({
      kind: 'placeInShard',
      sku: product.sku,
      shard,
      delta: quantity,
      price: product.price,
    })),
  ];
  const entry = await commitAudited(
    deps,
    input,
    {
      kind: 'product',
      id: product.sku,
      action: 'reshard',
      before: { ...before, stock: product.stock },
      after: { stockShards: after.stockShards, shardItems: after.shardItems },
    },
    { writes, events: [] },
  );
  return { product: productView(after), auditId: entry.auditId };
}
