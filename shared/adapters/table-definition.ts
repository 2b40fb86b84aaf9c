/**
 * The single DynamoDB table, declared once: the CDK stack and the emulator setup both build it
 * from this. Items (see shared/adapters/dynamo-repository.ts):
 *   ORDER#<orderId>      / ORDER     the order (items, status, open payment slot)
 *   PAYMENT#<paymentId>  / PAYMENT   the payment with its append-only log
 *   PRODUCT#<sku>        / PRODUCT   name, price, stock
 *   IDEMP#<customer>#<key> / IDEMP   the first response to a creating request       (TTL)
 *   EVENT#<provider>#<eventId> / EVENT  a provider notification already applied     (TTL)
 *   OUTBOX#<id>          / OUTBOX    domain events committed but not yet published
 *   CUSTOMER#<customerId> / CUSTOMER  the customer's count of pending orders (capped on create)
 *   REFUND#<refundId>    / REFUND    a refund with its log (its payment lists it in refundIds)
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; only idempotency and dedupe records carry it. Financial records never expire. */
  ttlAttribute: 'expiresAtEpoch',
  /**
   * Sparse index of work the sweeper must do, ordered by when: open payments (by their next
   * reminder / provider query / expiry), open refunds (by their next provider call), pending orders with no open payment (by when they became
   * unpaid) and unpublished outbox entries. Items leave it by having the two attributes removed,
   * so the sweeper never scans the table.
   */
  dueIndex: { name: 'DueByTime', partitionKey: 'dueShard', sortKey: 'dueAt' },
  /** Sparse index listing the product catalogue without a scan. */
  catalogIndex: { name: 'Catalog', partitionKey: 'catalog', sortKey: 'sku' },
} as const;

/** Open payments and unpaid orders are spread over a few index partitions each so no single key runs hot. */
export const OPEN_PAYMENT_SHARDS = 4;
export const UNPAID_ORDER_SHARDS = 4;
export const OPEN_REFUND_SHARDS = 4;
export const OUTBOX_SHARD = 'OUTBOX';

/** Every key attribute is a string. */
export const TABLE_ATTRIBUTES = [
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.dueIndex.partitionKey,
  TABLE.dueIndex.sortKey,
  TABLE.catalogIndex.partitionKey,
  TABLE.catalogIndex.sortKey,
] as const;
