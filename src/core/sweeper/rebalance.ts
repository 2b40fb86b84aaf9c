import { OutOfStockError } from '../../domain/errors';
import { rebalanceChanges } from '../../domain/stock';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import type { ProductStore } from '../orders/ports';

/**
 * Each sharded product whose shards drifted apart (src/domain/stock.ts rebalanceChanges) evened
 * out in one transaction: units out of the fullest shards, conditional on their holding them, into
 * the empty ones. An order that took from a shard in between fails a condition: that product waits
 * for the next run. Answers how many products were rebalanced.
 */
export async function rebalanceStock(deps: Uses<ProductStore & Commit, 'logger'>): Promise<number> {
  let rebalanced = 0;
  for (const product of await deps.repo.listProducts()) {
    const changes = rebalanceChanges(product.shardStock ?? []);
    if (changes.length === 0) continue;
    const writes = changes.map(({ shard, quantity }): Write =>
      quantity < 0
        ? { kind: 'moveOutOfShard', sku: product.sku, shard, quantity: -quantity }
        : { kind: 'returnToShard', sku: product.sku, shard, quantity },
    );
    try {
      await deps.repo.commit(writes);
      rebalanced++;
      deps.logger.info('stock rebalanced', { sku: product.sku, before: product.shardStock });
    } catch (error) {
      // A shard emptied by an order since the read: this product waits for the next run.
      if (!(error instanceof OutOfStockError)) throw error;
    }
  }
  return rebalanced;
}
