/**
 * The single DynamoDB table, declared once: the CDK stack and the emulator setup both build it
 * from this. Items (see src/persistence/dynamo-repository.ts):
 *   ORDER#<orderId>      / ORDER     the order (items, status, open payment slot)
 *   PAYMENT#<paymentId>  / PAYMENT   the payment with its append-only log
 *   PRODUCT#<sku>        / PRODUCT   name, price, stock
 *   IDEMP#<customer>#<key> / IDEMP   the first response to a creating request       (TTL)
 *   EVENT#<provider>#<eventId> / EVENT  a provider notification already applied     (TTL)
 *   OUTBOX#<id>          / OUTBOX    domain events of a change that rewrote no order, payment or refund (TTL),
 *                                    or events parked for an operator; other changes' events ride on those items
 *   CUSTOMER#<customerId> / CUSTOMER  the customer's count of pending orders (capped on create)
 *   REFUND#<refundId>    / REFUND    a refund with its log (its payment lists it in refundIds)
 *   RECON#<date>         / RUN#<provider>    one provider's reconciliation of a Beijing day
 *   RECON#<date>         / DIFF#<provider>#<kind>#<id>  one difference it found (healed or open)
 *   RECON#<date>         / ACCOUNTED#<provider>#<kind>:<id>  a ledger item of that day another day's bill accounted for
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
   * so the sweeper never scans the table.
   */
  dueIndex: { name: 'DueByTime', partitionKey: 'dueShard', sortKey: 'dueAt', projection: 'ALL' },
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
} as const;

/** Every secondary index, for the CDK stack and the emulator. */
export const INDEXES = [TABLE.dueIndex, TABLE.catalogIndex, TABLE.ledgerIndex] as const;

/** Open payments and unpaid orders are spread over a few index partitions each so no single key runs hot. */
export const OPEN_PAYMENT_SHARDS = 4;
export const UNPAID_ORDER_SHARDS = 4;
export const OPEN_REFUND_SHARDS = 4;
/** A busy day's ledger is spread likewise: a day's writes never all land on one index partition. */
export const LEDGER_SHARDS = 4;

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
