/**
 * Each product's units on hand: its own stock (the pool) plus every shard item of it, whatever the
 * layout (a re-shard leaves units returned to an earlier layout's items until the rebalance moves
 * them). Neither the pool nor any shard may be below zero.
 */
export function productStock(
  items: ReadonlyArray<Record<string, unknown>>,
  violate: (subject: string, detail: string) => void,
): Array<{ sku: string; stock: number }> {
  const shards = items.filter((item) => item.kind === 'stockShard');
  for (const shard of shards)
    if ((shard.available as number) < 0)
      violate(`${String(shard.sku)}#${String(shard.shard)}`, `shard below zero: ${String(shard.available)}`);
  return items
    .filter((item) => item.kind === 'product')
    .map((item) => {
      const sku = item.sku as string;
      const pool = (item.stock as number | undefined) ?? 0;
      if (pool < 0) violate(sku, `product stock below zero: ${pool}`);
      const own = shards.filter((shard) => shard.sku === sku);
      return { sku, stock: own.reduce((sum, shard) => sum + (shard.available as number), pool) };
    });
}
