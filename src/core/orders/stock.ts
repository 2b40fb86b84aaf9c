import type { Order, Product, RequestedItem } from '../../domain/order';
import {
  dealTakes,
  planTakes,
  PurchaseLimitError,
  returnsFor,
  SoldOutError,
  splitStock,
  type ShardTake,
} from '../../domain/stock';
import type { Commit, Write } from '../kernel/ports';
import { rememberSoldOut } from './catalogue';
import type { ProductStore } from './ports';
import { OutOfStockError, StaleStateError } from '../../domain/errors';

/** How often an order decides again on freshly read shards after a shard refused it (no retry storm). */
export const STOCK_PROBE_ROUNDS = 3;

const isSharded = (product: Product) => (product.stockShards ?? 1) > 1;

/** A new product: the product item and, when sharded, its shards with the stock spread over them. */
export function newProductWrites(product: Product): Write[] {
  if (!isSharded(product)) {
    const { stockShards: _one, ...unsharded } = product;
    return [{ kind: 'putProduct', product: unsharded }];
  }
  const writes: Write[] = [{ kind: 'putProduct', product }];
  splitStock(product.stock, product.stockShards!).forEach((stock, shard) =>
    writes.push({ kind: 'createStockShard', sku: product.sku, shard, stock, price: product.price }),
  );
  return writes;
}

/**
 * The stock writes of a batch of new orders, one per stock item (a transaction touches an item
 * once), and the orders remembering the shards their units came from. Unsharded: the product's
 * stock, conditional on its price. Sharded: shards chosen from a random start (planTakes).
 */
export function reserveStock(
  orders: readonly Order[],
  catalogue: ReadonlyMap<string, Product>,
  random: () => number = Math.random,
): { orders: Order[]; writes: Write[] } {
  const reserved = new Map<string, number>();
  for (const order of orders)
    for (const item of order.items) reserved.set(item.sku, (reserved.get(item.sku) ?? 0) + item.quantity);
  const writes: Write[] = [];
  const taken = orders.map((): Record<string, ShardTake[]> => ({}));
  for (const [sku, quantity] of reserved) {
    const product = catalogue.get(sku)!;
    if (!isSharded(product)) {
      // Units on shard items left by an earlier layout are not takeable until the rebalance brings them in.
      const takeable = product.poolStock ?? product.stock;
      if (takeable < quantity) throw new OutOfStockError(sku, quantity, takeable);
      writes.push({ kind: 'adjustStock', sku, delta: -quantity, price: product.price });
      continue;
    }
    if (product.soldOut) throw new SoldOutError(sku, quantity, true);
    const shardStock = (product.shardStock ?? []).slice(0, product.stockShards);
    const takes = planTakes(sku, shardStock, quantity, Math.floor(random() * shardStock.length));
    for (const take of takes) writes.push({ kind: 'takeFromShard', sku, ...take, price: product.price });
    const lines = orders.map((order) => order.items.find((item) => item.sku === sku)?.quantity ?? 0);
    dealTakes(takes, lines).forEach((dealt, index) => {
      if (dealt.length > 0) taken[index]![sku] = dealt;
    });
  }
  const counted = purchaseCounts(orders[0]?.customerId ?? '', reserved, catalogue);
  return {
    orders: orders.map((order, index) => ({
      ...order,
      ...(Object.keys(taken[index]!).length > 0 ? { stockTaken: taken[index] } : {}),
      ...purchasesCountedBy(order, counted),
    })),
    writes: [...writes, ...counted],
  };
}

/**
 * A capped product's count of what the customer holds, raised in the order's transaction and
 * conditional on staying within `maxPerCustomer`, so racing orders cannot pass it together.
 */
function purchaseCounts(
  customerId: string,
  reserved: ReadonlyMap<string, number>,
  catalogue: ReadonlyMap<string, Product>,
) {
  return [...reserved].flatMap(([sku, quantity]): Array<Extract<Write, { kind: 'countPurchases' }>> => {
    const limit = catalogue.get(sku)!.maxPerCustomer;
    if (limit === undefined) return [];
    if (quantity > limit) throw new PurchaseLimitError(sku, limit);
    return [{ kind: 'countPurchases', customerId, sku, delta: quantity, limit }];
  });
}

function purchasesCountedBy(order: Order, counted: ReadonlyArray<{ sku: string }>): Partial<Order> {
  const skus = counted.filter(({ sku }) => order.items.some((item) => item.sku === sku)).map(({ sku }) => sku);
  return skus.length > 0 ? { purchasesCounted: skus } : {};
}

/** A cancelled order no longer holds its units of capped products: the customer may buy them again. */
export function purchasesReleased(order: Order): Write[] {
  return (order.purchasesCounted ?? []).map((sku): Write => ({
    kind: 'countPurchases',
    customerId: order.customerId,
    sku,
    delta: -order.items.filter((item) => item.sku === sku).reduce((sum, item) => sum + item.quantity, 0),
  }));
}

/**
 * Units back on sale: to the shards the order took them from (and the product's sold-out marker
 * cleared with them), or to an unsharded product's stock.
 */
export function restockWrites(order: Order | undefined, items: readonly RequestedItem[]): Write[] {
  return items.flatMap(({ sku, quantity }): Write[] => {
    const takes = order?.stockTaken?.[sku];
    if (!takes) return [{ kind: 'adjustStock', sku, delta: quantity }];
    return [
      ...returnsFor(takes, quantity).map((back): Write => ({ kind: 'returnToShard', sku, ...back })),
      { kind: 'clearSoldOut', sku },
    ];
  });
}

/**
 * The sold-out marker on a product whose shards were all read empty, so the next orders are
 * refused without a write. A restock since the read wins: the marker is then not set.
 */
export async function markSoldOut(deps: { repo: Commit & ProductStore }, product: Product, nowMs: number) {
  // Every order in flight finds the shards empty at once: one of this container's marks the product.
  const inFlight = marking.get(deps.repo) ?? marking.set(deps.repo, new Set()).get(deps.repo)!;
  if (product.soldOut || !isSharded(product) || inFlight.has(product.sku)) return;
  inFlight.add(product.sku);
  try {
    await deps.repo.commit([{ kind: 'markSoldOut', sku: product.sku, restocksSeen: product.restocks ?? 0 }]);
    rememberSoldOut(deps.repo, product, nowMs);
  } catch (error) {
    if (!(error instanceof StaleStateError)) throw error;
  } finally {
    inFlight.delete(product.sku);
  }
}

const marking = new WeakMap<ProductStore, Set<string>>();
