import { describe, expect, it } from 'vitest';
import { restockWrites } from '../../../src/core/orders/stock';
import { OutOfStockError } from '../../../src/domain/errors';
import type { Order } from '../../../src/domain/order';
import {
  dealTakes,
  planTakes,
  rebalanceChanges,
  returnsFor,
  SoldOutError,
  splitStock,
} from '../../../src/domain/stock';

describe('splitStock', () => {
  it('spreads the stock evenly, the remainder on the first shards, the total kept', () => {
    expect(splitStock(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitStock(2, 4)).toEqual([1, 1, 0, 0]);
    expect(splitStock(10_000, 98).reduce((a, b) => a + b)).toBe(10_000);
  });

  it('refuses a shard count outside 1..98', () => {
    expect(() => splitStock(10, 0)).toThrow(/stockShards/);
    expect(() => splitStock(10, 99)).toThrow(/stockShards/);
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

describe('rebalanceChanges', () => {
  it('evens drifted shards with changes that sum to zero', () => {
    const changes = rebalanceChanges([0, 0, 1, 7]);
    expect(changes.reduce((sum, change) => sum + change.quantity, 0)).toBe(0);
    const after = [0, 0, 1, 7];
    for (const { shard, quantity } of changes) after[shard]! += quantity;
    expect(after.sort()).toEqual([2, 2, 2, 2]);
  });

  it('leaves even enough shards alone: none empty, or nothing worth moving', () => {
    expect(rebalanceChanges([3, 1, 2, 5])).toEqual([]);
    expect(rebalanceChanges([0, 1, 0, 1])).toEqual([]);
  });
});
