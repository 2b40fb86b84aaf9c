import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { restockWrites } from '../../../src/core/orders/stock';
import { OutOfStockError } from '../../../src/domain/errors';
import type { Order } from '../../../src/domain/order';
import {
  dealTakes,
  planTakes,
  placeForLayout,
  type PlacementChanges,
  rebalanceChanges,
  returnsFor,
  type StockPlacement,
  strayUnits,
  SoldOutError,
  splitStock,
} from '../../../src/domain/stock';

describe('splitStock', () => {
  it('spreads the stock evenly, the remainder on the first shards, the total kept', () => {
    expect(splitStock(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitStock(2, 4)).toEqual([1, 1, 0, 0]);
    expect(splitStock(10_000, 97).reduce((a, b) => a + b)).toBe(10_000);
  });

  it('refuses a shard count outside 1..97 (a re-shard of every shard fits one 100-item transaction)', () => {
    expect(() => splitStock(10, 0)).toThrow(/stockShards/);
    expect(() => splitStock(10, 98)).toThrow(/stockShards/);
  });
});

describe('planTakes', () => {
  it('takes the whole line from the first shard from the random start that holds enough', () => {
    expect(planTakes('S', [5, 0, 1, 5], 2, 1)).toEqual([{ shard: 3, quantity: 2 }]);
    expect(planTakes('S', [5, 0, 1, 5], 1, 2)).toEqual([{ shard: 2, quantity: 1 }]);
  });

  it('splits a line over shards from the start when none holds enough alone', () => {
    expect(planTakes('S', [2, 1, 0, 2], 4, 3)).toEqual([
      { shard: 3, quantity: 2 },
      { shard: 0, quantity: 2 },
    ]);
  });

  it('answers OUT_OF_STOCK with what the shards hold, and sold out when they hold nothing', () => {
    expect(() => planTakes('S', [1, 1], 3, 0)).toThrow(OutOfStockError);
    expect(() => planTakes('S', [1, 1], 3, 0)).not.toThrow(SoldOutError);
    expect(() => planTakes('S', [0, 0], 1, 0)).toThrow(SoldOutError);
  });
});

describe('dealTakes and returnsFor', () => {
  it('deals a batch of takes to its lines so each order remembers its own shards', () => {
    const takes = [
      { shard: 1, quantity: 2 },
      { shard: 3, quantity: 3 },
    ];
    expect(dealTakes(takes, [1, 0, 4])).toEqual([
      [{ shard: 1, quantity: 1 }],
      [],
      [
        { shard: 1, quantity: 1 },
        { shard: 3, quantity: 3 },
      ],
    ]);
  });

  it('returns units to the shards they came from, each at most what it gave', () => {
    const takes = [
      { shard: 0, quantity: 1 },
      { shard: 2, quantity: 2 },
    ];
    expect(returnsFor(takes, 2)).toEqual([
      { shard: 0, quantity: 1 },
      { shard: 2, quantity: 1 },
    ]);
  });
});

describe('restockWrites', () => {
  const order = { stockTaken: { SALE: [{ shard: 2, quantity: 3 }] } } as unknown as Order;

  it("gives a sharded line back to its shards and clears the product's sold-out marker", () => {
    expect(restockWrites(order, [{ sku: 'SALE', quantity: 3 }])).toEqual([
      { kind: 'returnToShard', sku: 'SALE', shard: 2, quantity: 3 },
      { kind: 'clearSoldOut', sku: 'SALE' },
    ]);
  });

  it("gives an unsharded line back to the product's stock, as before", () => {
    expect(restockWrites(order, [{ sku: 'TEA', quantity: 2 }])).toEqual([
      { kind: 'adjustStock', sku: 'TEA', delta: 2 },
    ]);
  });
});

/** The placement after the changes are applied, every item present. */
function applied({ pool, shards }: StockPlacement, changes: PlacementChanges): StockPlacement {
  const after = [...shards];
  for (const { shard, quantity } of changes.shards) after[shard] = (after[shard] ?? 0) + quantity;
  return { pool: pool + changes.pool, shards: after };
}

const total = ({ pool, shards }: StockPlacement) => shards.reduce((sum, units) => sum + units, pool);

describe('rebalanceChanges', () => {
  it('evens drifted shards with changes that sum to zero', () => {
    const before = { pool: 0, shards: [0, 0, 1, 7] };
    const after = applied(before, rebalanceChanges(4, before)!);
    expect(after.pool).toBe(0);
    expect([...after.shards].sort()).toEqual([2, 2, 2, 2]);
  });

  it('leaves even enough shards alone: none empty, or nothing worth moving', () => {
    expect(rebalanceChanges(4, { pool: 0, shards: [3, 1, 2, 5] })).toBeUndefined();
    expect(rebalanceChanges(4, { pool: 0, shards: [0, 1, 0, 1] })).toBeUndefined();
    expect(rebalanceChanges(1, { pool: 9, shards: [0, 0] })).toBeUndefined();
  });

  it("brings in strays: a sharded product's pool and shards past the count, or an unsharded one's shards", () => {
    const sharded = { pool: 3, shards: [2, 2, 1, 0] };
    expect(strayUnits(2, sharded)).toBe(4);
    expect(applied(sharded, rebalanceChanges(2, sharded)!)).toEqual({ pool: 0, shards: [4, 4, 0, 0] });
    const unsharded = { pool: 1, shards: [2, 0, 5] };
    expect(applied(unsharded, rebalanceChanges(1, unsharded)!)).toEqual({ pool: 8, shards: [0, 0, 0] });
  });
});

describe('placeForLayout (a re-shard)', () => {
  it('spreads an unsharded product over new shards, listing each new shard even at zero (it is created)', () => {
    const changes = placeForLayout(4, { pool: 2, shards: [] });
    expect(changes.pool).toBe(-2);
    expect(changes.shards).toEqual([
      { shard: 0, quantity: 1 },
      { shard: 1, quantity: 1 },
      { shard: 2, quantity: 0 },
      { shard: 3, quantity: 0 },
    ]);
  });

  it('keeps the total and puts every unit where orders of the new layout take it, for any placement', () => {
    const placement = fc.record({
      pool: fc.nat({ max: 1_000 }),
      shards: fc.array(fc.nat({ max: 1_000 }), { maxLength: 97 }),
    });
    fc.assert(
      fc.property(placement, fc.integer({ min: 1, max: 97 }), (before, stockShards) => {
        const after = applied(before, placeForLayout(stockShards, before));
        expect(total(after)).toBe(total(before));
        expect(strayUnits(stockShards, after)).toBe(0);
        expect([after.pool, ...after.shards].every((units) => units >= 0)).toBe(true);
        const active = stockShards > 1 ? after.shards.slice(0, stockShards) : [after.pool];
        expect(Math.max(...active) - Math.min(...active)).toBeLessThanOrEqual(1);
        expect(after.shards.length).toBeGreaterThanOrEqual(stockShards > 1 ? stockShards : 0);
      }),
    );
  });
});
