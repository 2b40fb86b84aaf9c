import { DomainError, OutOfStockError, ValidationError } from './errors';
import type { Product } from './order';

/**
 * Sharded stock (docs/ARCHITECTURE.md, "Peak day"): a product's stock split over items of their
 * own, so no single item takes every order's write. Which units a line takes, and from where, is
 * decided here; the conditions that keep every shard at or above zero are the persistence's.
 */

/**
 * Most shards a product may have: a re-shard (PATCH stockShards) moves units in and out of every
 * shard, the product item, the audit entry and its event in one 100-item transaction, so a
 * product's stock is never half moved.
 */
export const MAX_STOCK_SHARDS = 97;

/** Shard items a product has: at least the shards orders take from, more after a re-shard to fewer. */
export const shardItemCount = (product: Pick<Product, 'stockShards' | 'shardItems'>): number =>
  product.shardItems ?? ((product.stockShards ?? 1) > 1 ? product.stockShards! : 0);

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

/** Where a product's units are as read: its own item's stock (the pool) and each shard item's, by shard number. */
export interface StockPlacement {
  pool: number;
  shards: readonly number[];
}

/** Units in or out of each item to reach a layout: the product item's pool, and each shard's. */
export interface PlacementChanges {
  pool: number;
  shards: ShardTake[];
}

/**
 * Orders take from the product item when a product has one shard, else from shards 0..n-1; units
 * anywhere else are strays, returned by orders taken under an earlier layout (a re-shard).
 */
export function strayUnits(stockShards: number, { pool, shards }: StockPlacement): number {
  const inactive = shards.slice(stockShards > 1 ? stockShards : 0).reduce((sum, units) => sum + units, 0);
  return inactive + (stockShards > 1 ? pool : 0);
}

/**
 * The moves that put every unit where orders of a `stockShards` layout take from, spread evenly,
 * the fullest shards keeping the remainder (fewest units moved). Strays move in; a shard the layout
 * adds is listed even at zero (it is created). The changes sum to zero: the total never changes.
 */
export function placeForLayout(stockShards: number, placement: StockPlacement): PlacementChanges {
  const items = Math.max(placement.shards.length, stockShards > 1 ? stockShards : 0);
  const shards = Array.from({ length: items }, (_, shard) => placement.shards[shard] ?? 0);
  const total = shards.reduce((sum, units) => sum + units, placement.pool);
  const target = new Array<number>(items).fill(0);
  if (stockShards > 1) {
    const even = splitStock(total, stockShards);
    shards
      .slice(0, stockShards)
      .map((units, shard) => ({ units, shard }))
      .sort((a, b) => b.units - a.units)
      .forEach(({ shard }, rank) => (target[shard] = even[rank]!));
  }
  return {
    pool: (stockShards > 1 ? 0 : total) - placement.pool,
    shards: shards
      .map((units, shard) => ({ shard, quantity: target[shard]! - units }))
      .filter(({ shard, quantity }) => quantity !== 0 || shard >= placement.shards.length),
  };
}

/**
 * A rebalance, when one is due: strays to bring in, or shards that drifted apart (one empty while
 * another holds at least two units). Undefined when the stock already sits where orders take it.
 */
export function rebalanceChanges(stockShards: number, placement: StockPlacement): PlacementChanges | undefined {
  const active = stockShards > 1 ? placement.shards.slice(0, stockShards) : [];
  const uneven = active.some((units) => units === 0) && active.some((units) => units >= 2);
  if (!uneven && strayUnits(stockShards, placement) === 0) return undefined;
  return placeForLayout(stockShards, placement);
}
