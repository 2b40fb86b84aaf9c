import { OutOfStockError } from '../../domain/errors';
import type { Product } from '../../domain/order';
import { type PlacementChanges, rebalanceChanges } from '../../domain/stock';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import type { ProductStore } from '../orders/ports';

/**
 * Each product whose stock is not where its orders take it (src/domain/stock.ts rebalanceChanges:
 * shards drifted apart, or units returned to items of an earlier layout) set right in one
 * transaction: units out of the items that hold too many, conditional on their holding them,
 * into the others. An order that took in between fails a condition: that product waits for the
 * next run. Answers how many products were rebalanced.
 */
export async function rebalanceStock(deps: Uses<ProductStore & Commit, 'logger'>): Promise<number> {
  let rebalanced = 0;
  for (const product of await deps.repo.listProducts()) {
    if (product.shardStock === undefined) continue;
    const placement = { pool: product.poolStock ?? 0, shards: product.shardStock };
    const changes = rebalanceChanges(product.stockShards ?? 1, placement);
    if (!changes) continue;
    try {
      await deps.repo.commit(rebalanceWrites(product.sku, changes));
      rebalanced++;
      deps.logger.info('stock rebalanced', { sku: product.sku, before: placement });
    } catch (error) {
      // A shard emptied by an order since the read: this product waits for the next run.
      if (!(error instanceof OutOfStockError)) throw error;
    }
  }
  return rebalanced;
}

function rebalanceWrites(sku: Product['sku'], changes: PlacementChanges): Write[] {
  const shards = changes.shards.map(({ shard, quantity }): Write =>
    quantity < 0
      ? { kind: 'moveOutOfShard', sku, shard, quantity: -quantity }
      : { kind: 'returnToShard', sku, shard, quantity },
  );
  return changes.pool === 0 ? shards : [...shards, { kind: 'movePoolStock', sku, delta: changes.pool }];
}
