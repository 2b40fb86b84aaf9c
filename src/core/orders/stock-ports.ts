/** Units of a capped product a customer holds (pending and paid); a rise is conditional on staying within `limit`. */
export type PurchaseCountWrite = {
  kind: 'countPurchases';
  customerId: string;
  sku: string;
  delta: number;
  limit?: number;
};

/** The writes of sharded stock (src/domain/stock.ts); an unsharded product's stock is `adjustStock` (./ports). */
export type StockShardWrite =
  /** A new shard with its units and the product's price. */
  | { kind: 'createStockShard'; sku: string; shard: number; stock: number; price: number }
  /** Conditional on the shard holding `quantity` and on the price the line was priced at. */
  | { kind: 'takeFromShard'; sku: string; shard: number; quantity: number; price: number }
  | { kind: 'returnToShard'; sku: string; shard: number; quantity: number }
  /** Units a re-shard moves into (+) or out of (−, conditional on holding them) a shard, creating it if new. */
  | { kind: 'placeInShard'; sku: string; shard: number; delta: number; price: number }
  /** Units a rebalance moves out of a shard that holds them (and into another by returnToShard, one transaction). */
  | { kind: 'moveOutOfShard'; sku: string; shard: number; quantity: number }
  /** Every shard was read empty; conditional on no restock since (`restocksSeen`), which would have cleared it. */
  | { kind: 'markSoldOut'; sku: string; restocksSeen: number }
  /** Written with every restock of a sharded product: the marker goes, the restock count rises. */
  | { kind: 'clearSoldOut'; sku: string };
