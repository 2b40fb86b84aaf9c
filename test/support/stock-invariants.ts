/** Each product's units on hand: its own stock, or the sum of its shards (each of which must be at or above zero). */
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
      if (((item.stockShards as number | undefined) ?? 1) <= 1) return { sku, stock: item.stock as number };
      const own = shards.filter((shard) => shard.sku === sku);
      return { sku, stock: own.reduce((sum, shard) => sum + (shard.available as number), 0) };
    });
}
