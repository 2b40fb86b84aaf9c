import { DomainError, OutOfStockError, ValidationError } from './errors';

/**
 * Sharded stock (docs/ARCHITECTURE.md, "Peak day"): a product's stock split over items of their
 * own, so no single item takes every order's write. Which units a line takes, and from where, is
 * decided here; the conditions that keep every shard at or above zero are the persistence's.
 */

/**
 * Most shards a product may have: its creation (product, shards and the Idempotency-Key record)
 * must fit one 100-item transaction, so a product is never half made.
 */
export const MAX_STOCK_SHARDS = 98;

/** Units a line took from (or gives back to) one shard. */
export interface ShardTake {
  shard: number;
  quantity: number;
}

/** Every shard of the product is empty; `marked` when its sold-out marker said so, without a request. */
export class SoldOutError extends OutOfStockError {
  constructor(
    sku: string,
    requested: number,
    readonly marked = false,
  ) {
    super(sku, requested, 0);
    this.message = `${sku} is sold out`;
  }
}

/** The customer would hold more of a capped product than `maxPerCustomer` allows. */
export class PurchaseLimitError extends DomainError {
  constructor(sku: string, limit: number) {
    super('PURCHASE_LIMIT_REACHED', `At most ${limit} of ${sku} per customer`, { sku, limit });
  }
}

/** A shard held fewer units than a line asked when the transaction ran: another shard may still hold them. */
export class ShardRefusedError extends OutOfStockError {}

/** Stock spread evenly over `shards`, the remainder on the first ones. */
export function splitStock(total: number, shards: number): number[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_STOCK_SHARDS)
    throw new ValidationError(`stockShards must be an integer from 1 to ${MAX_STOCK_SHARDS}`, { stockShards: shards });
  const each = Math.floor(total / shards);
  return Array.from({ length: shards }, (_, shard) => each + (shard < total % shards ? 1 : 0));
}

/**
 * Where a line of `quantity` takes its units, given each shard's stock as last read: the first
 * shard from `start` (chosen at random by the caller, so concurrent orders spread) that holds
 * enough; else the line split over shards from `start`, in shard order. Throws OUT_OF_STOCK when
 * the shards hold fewer units in all, SoldOutError when they hold none.
 */
export function planTakes(sku: string, shardStock: readonly number[], quantity: number, start: number): ShardTake[] {
  const order = shardStock.map((_, i) => (start + i) % shardStock.length);
  const single = order.find((shard) => shardStock[shard]! >= quantity);
  if (single !== undefined) return [{ shard: single, quantity }];
  const available = shardStock.reduce((sum, units) => sum + Math.max(0, units), 0);
  if (available === 0) throw new SoldOutError(sku, quantity);
  if (available < quantity) throw new OutOfStockError(sku, quantity, available);
  const takes: ShardTake[] = [];
  let remaining = quantity;
  for (const shard of order) {
    const units = Math.min(remaining, Math.max(0, shardStock[shard]!));
    if (units > 0) takes.push({ shard, quantity: units });
    remaining -= units;
    if (remaining === 0) break;
  }
  return takes;
}

/**
 * The takes of a batch's one stock write per shard dealt out to its lines in order, so each
 * order remembers exactly the shards its own units came from.
 */
export function dealTakes(takes: readonly ShardTake[], quantities: readonly number[]): ShardTake[][] {
  const pool = takes.map((take) => ({ ...take }));
  return quantities.map((quantity) => {
    const dealt: ShardTake[] = [];
    let remaining = quantity;
    for (const take of pool) {
      const units = Math.min(remaining, take.quantity);
      if (units === 0) continue;
      dealt.push({ shard: take.shard, quantity: units });
      take.quantity -= units;
      remaining -= units;
      if (remaining === 0) break;
    }
    return dealt;
  });
}

/**
 * Where `quantity` returned units of a line go back: to the shards the line took them from, each
 * at most what it gave (a refund returns at most what its order took, orderWithRestock).
 */
export function returnsFor(takes: readonly ShardTake[], quantity: number): ShardTake[] {
  return dealTakes(takes, [quantity])[0]!;
}

/** Sums per shard, a transaction touching each item once. */
export function mergeTakes(takes: readonly ShardTake[]): ShardTake[] {
  const byShard = new Map<number, number>();
  for (const { shard, quantity } of takes) byShard.set(shard, (byShard.get(shard) ?? 0) + quantity);
  return [...byShard].map(([shard, quantity]) => ({ shard, quantity }));
}

/**
 * A rebalance of shards that have drifted apart (orders took from some more than others): when a
 * shard is empty while another holds at least two units, each shard's change to bring all back to
 * an even split (splitStock of the same total, the fullest keeping the remainder). The changes sum
 * to zero: a rebalance never changes the total. None when the shards are even enough.
 */
export function rebalanceChanges(shardStock: readonly number[]): ShardTake[] {
  const total = shardStock.reduce((sum, units) => sum + units, 0);
  const uneven = shardStock.some((units) => units === 0) && shardStock.some((units) => units >= 2);
  if (!uneven || shardStock.length < 2) return [];
  const byFullest = shardStock.map((units, shard) => ({ units, shard })).sort((a, b) => b.units - a.units);
  const even = splitStock(total, shardStock.length);
  return byFullest
    .map(({ units, shard }, rank) => ({ shard, quantity: even[rank]! - units }))
    .filter((change) => change.quantity !== 0);
}
