/**
 * The single DynamoDB table, declared once: the CDK stack and the emulator setup both build it
 * from this. What each item's keys are is in keys.ts.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; only idempotency, dedupe and outbox items carry it. Financial records never expire. */
  ttlAttribute: 'expiresAtEpoch',
  /** The stream the outbox publisher reads: new items as written (docs/ARCHITECTURE.md#transactional-outbox). */
  streamView: 'NEW_IMAGE',
  /**
   * Sparse index of work the sweeper must do, ordered by when: open payments (by their next
   * reminder / provider query / expiry), open refunds (by their next provider call), pending orders with no open payment (by when they became
   * unpaid). Items leave it by having the two attributes removed,
   * so the sweeper never scans the table. Keys only: a write that keeps an item's due time writes
   * no index entry, and an entry is one unit whatever the item's size; the sweeper reads the due
   * items by key (src/persistence/due-index.ts).
   */
  dueIndex: { name: 'DueByTime', partitionKey: 'dueShard', sortKey: 'dueAt', projection: 'KEYS_ONLY' },
  /**
   * Sparse index listing the product catalogue without a scan. Keys only: the stock decrement in
   * every order then writes no index entry; listing the catalogue reads the products themselves.
   */
  catalogIndex: { name: 'Catalog', partitionKey: 'catalog', sortKey: 'sku', projection: 'KEYS_ONLY' },
  /**
   * Sparse index of the ledger by Beijing business day: succeeded payments by when they were paid,
   * succeeded refunds by when they succeeded, per provider, so the daily reconciliation reads one
   * day without a scan. Keys only: the index costs little on every write, the reconciliation
   * reads the items themselves once a day.
   */
  ledgerIndex: { name: 'LedgerByDay', partitionKey: 'ledgerDay', sortKey: 'ledgerAt', projection: 'KEYS_ONLY' },
  /**
   * Sparse index of webhook deliveries whose first attempt has not finished, by lane (one
   * endpoint's deliveries of one order) and place in it: an event waits for the ones before it
   * (docs/ARCHITECTURE.md#webhooks). Keys only: the deliverer asks only whether one is there.
   */
  webhookLaneIndex: {
    name: 'WebhookLanes',
    partitionKey: 'whLane',
    sortKey: 'whLanePosition',
    projection: 'KEYS_ONLY',
  },
  /**
   * Overloaded index of what a person looks for (layout in keys.ts): a customer's orders by when
   * they were made, and the small sets that need staff (flagged payments, abnormal refunds, open
   * differences, dead letters), each under a key of its own. It carries the few attributes its
   * lists filter on and need to read the rest in one batch, so a write that changes none of them
   * writes no index entry.
   */
  browseIndex: {
    name: 'Browse',
    partitionKey: 'browseKey',
    sortKey: 'browseAt',
    projection: 'INCLUDE',
    nonKeyAttributes: ['status', 'paymentIds', 'paidByPaymentId', 'attention'],
  },
  /**
   * Every order, payment and refund by when it was made, newest first for staff, over a few shards
   * each (keys.ts) so no index partition takes every create. Keys only: an entry is written once,
   * at the create, and never again; the items are read in one batch per page.
   */
  recentIndex: { name: 'Recent', partitionKey: 'recentKey', sortKey: 'recentAt', projection: 'KEYS_ONLY' },
} as const;

/** A secondary index as declared above. */
export type IndexDefinition = {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly nonKeyAttributes?: readonly string[];
};

/** Every secondary index, for the CDK stack and the emulator. */
export const INDEXES: readonly IndexDefinition[] = [
  TABLE.dueIndex,
  TABLE.catalogIndex,
  TABLE.ledgerIndex,
  TABLE.browseIndex,
  TABLE.recentIndex,
  TABLE.webhookLaneIndex,
];

/** Every key attribute is a string. */
export const TABLE_ATTRIBUTES = [
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.dueIndex.partitionKey,
  TABLE.dueIndex.sortKey,
  TABLE.catalogIndex.partitionKey,
  TABLE.catalogIndex.sortKey,
  TABLE.ledgerIndex.partitionKey,
  TABLE.ledgerIndex.sortKey,
  TABLE.webhookLaneIndex.partitionKey,
  TABLE.webhookLaneIndex.sortKey,
  TABLE.browseIndex.partitionKey,
  TABLE.browseIndex.sortKey,
  TABLE.recentIndex.partitionKey,
  TABLE.recentIndex.sortKey,
] as const;

/**
 * The attribute holding the domain events a write committed (transactional outbox): on the order,
 * payment or refund the write rewrote whole, else on an outbox item of its own.
 */
export const OUTBOX_ATTRIBUTE = 'outbox';

/**
 * The stream records the outbox publisher is invoked for: writes that committed an outbox entry.
 * An event source filter pattern, used as is by the CDK stack and by the local stream reader
 * (local/outbox-stream.ts).
 */
export const OUTBOX_STREAM_FILTER = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { [OUTBOX_ATTRIBUTE]: { M: { outboxId: { S: [{ exists: true }] } } } } },
} as const;
