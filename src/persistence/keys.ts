import { createHash } from 'node:crypto';
import { type BusinessDate, businessDateOf } from '../domain/bill';
import { differenceKey, type ReconciliationDifference } from '../domain/reconciliation';
import { OUTBOX_ATTRIBUTE, TABLE } from './table-definition';

/**
 * The single table's key layout, in one place. Every item has `pk` and `sk` and its storage `kind`:
 *
 *   pk                          sk                                   item (module)
 *   ORDER#<orderId>             ORDER                                the order: items, status, open payment slot (orders.ts)
 *   CUSTOMER#<customerId>       CUSTOMER                             the customer's count of pending orders, capped on create (orders.ts)
 *   CUSTOMER#<customerId>       BOUGHT#<sku>                         units of a capped product the customer holds (purchase-counts.ts)
 *   PAYMENT#<paymentId>         PAYMENT                              the payment with its append-only log and refund bookkeeping (payments.ts)
 *   REFUND#<refundId>           REFUND                               a refund with its log; its payment lists it in refundIds (refunds.ts)
 *   PRODUCT#<sku>               PRODUCT                              name, price, stock; a sharded product: its shard count,
 *                                                                    sold-out marker and restock count, no stock (products.ts)
 *   PRODUCT#<sku>#SHARD#<n>     SHARD                                shard n of a sharded product's stock, with its price: a
 *                                                                    partition of its own per shard (stock-shards.ts)
 *   IDEMP#<customer>#<key>      IDEMP                                the first response to a creating request, TTL (idempotency.ts)
 *   EVENT#<provider>#<eventId>  EVENT                                a provider notification already applied, TTL (notifications.ts)
 *   CALLBACK#<provider>#<id>    RECEIVED#<receivedAt>                a verified callback as received, TTL (callback-archive.ts)
 *   OUTBOX#<outboxId>           OUTBOX                               events of a change that rewrote no order, payment or refund, TTL;
 *                                                                    or events parked for an operator, no TTL (outbox.ts)
 *   RECON#<date>                RUN#<provider>                       one provider's reconciliation of a Beijing day (reconciliation.ts)
 *   RECON#<date>                DIFF#<provider>#<kind>#<id>          one difference it found, healed or open
 *   RECON#<date>                ACCOUNTED#<provider>#<kind>:<id>     a ledger item of that day another day's bill accounted for
 *   WEBHOOKS                    ENDPOINT#<endpointId>                a webhook endpoint with its sealed secrets (webhooks.ts)
 *   WEBHOOKS                    COUNT                                how many endpoints exist, capped on create (webhooks.ts)
 *   WEBHOOK#<endpointId>        <deliveryId>                         one event's delivery to it with every attempt, TTL (webhooks.ts)
 *   AUDIT#<kind>:<id>           AT#<at>#<auditId>                    one staff action on that item: who, what, why, before/after (audit.ts)
 *   FAILED#<provider>#<eventId> FAILED                               a notification the worker could not apply: why, how often (dead-letters.ts)
 *
 * Index attributes (the indexes are sparse: an item is in one only while it carries them):
 *   dueShard, dueAt     DueByTime: open payments (next reminder, query or expiry), open refunds (next
 *                       provider call), pending orders with no open payment (since when), each in
 *                       `<PAYMENT|REFUND|ORDER>#<shard>`.
 *   catalog, sku        Catalog: every product under `catalog = PRODUCT`.
 *   ledgerDay, ledgerAt LedgerByDay: succeeded payments and refunds in `<PAYMENT|REFUND>#<provider>#<date>#<shard>`
 *                       (a refund a person paid back outside any provider is not there).
 *   browseKey, browseAt Browse, overloaded; besides its keys it carries status, paymentIds, paidByPaymentId, attention:
 *                         ORDERS#<customerId>    / createdAt       every order of a customer
 *                         ATTENTION#PAYMENT      / createdAt       payments with a flag or money owed back (`attention`:
 *                                                                  needsReview latePayment refundRequired extraCapture refundOwed)
 *                         ATTENTION#REFUND       / abnormal since  abnormal refunds
 *                         ATTENTION#DIFFERENCE   / date            reconciliation differences neither healed nor resolved
 *                         ATTENTION#DEAD_LETTER  / last failure    notifications dead-lettered and not replayed since
 *   recentKey, recentAt Recent: every order, payment and refund by createdAt in `<ORDER|PAYMENT|REFUND>#<shard>`.
 *   whLane, whLanePosition  WebhookLanes: webhook deliveries before their first attempt has finished, in
 *                       `<endpointId>#<orderId>` by the event's place in its order.
 * TTL: `expiresAtEpoch` (epoch seconds) on idempotency, dedupe, callback, outbox and webhook delivery items; financial
 * records never expire. `outbox` holds the outbox entry a write committed (commit.ts), `writeToken`
 * which lone put left the item (commit.ts).
 */
export const key = {
  order: (orderId: string) => ({ pk: `ORDER#${orderId}`, sk: 'ORDER' }),
  customer: (customerId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: 'CUSTOMER' }),
  payment: (paymentId: string) => ({ pk: `PAYMENT#${paymentId}`, sk: 'PAYMENT' }),
  refund: (refundId: string) => ({ pk: `REFUND#${refundId}`, sk: 'REFUND' }),
  product: (sku: string) => ({ pk: `PRODUCT#${sku}`, sk: 'PRODUCT' }),
  stockShard: (sku: string, shard: number) => ({ pk: `PRODUCT#${sku}#SHARD#${shard}`, sk: 'SHARD' }),
  purchases: (customerId: string, sku: string) => ({ pk: `CUSTOMER#${customerId}`, sk: `BOUGHT#${sku}` }),
  idempotency: (customerId: string, idempotencyKey: string) => ({
    pk: `IDEMP#${customerId}#${idempotencyKey}`,
    sk: 'IDEMP',
  }),
  notification: (provider: string, eventId: string) => ({ pk: `EVENT#${provider}#${eventId}`, sk: 'EVENT' }),
  callback: (provider: string, eventId: string, receivedAt?: string) => ({
    pk: `CALLBACK#${provider}#${eventId}`,
    sk: `RECEIVED#${receivedAt ?? ''}`,
  }),
  outbox: (outboxId: string) => ({ pk: `OUTBOX#${outboxId}`, sk: 'OUTBOX' }),
  reconciliationDay: (date: BusinessDate) => `RECON#${date}`,
  reconciliationRun: (date: BusinessDate, provider: string) => ({ pk: `RECON#${date}`, sk: `RUN#${provider}` }),
  difference: (date: BusinessDate, provider: string, difference: ReconciliationDifference) => ({
    pk: `RECON#${date}`,
    sk: `DIFF#${provider}#${differenceKey(difference)}`,
  }),
  accounted: (date: BusinessDate, provider: string, ref: { kind: string; id: string }) => ({
    pk: `RECON#${date}`,
    sk: `ACCOUNTED#${provider}#${ref.kind}:${ref.id}`,
  }),
  webhookEndpoints: 'WEBHOOKS',
  webhookEndpoint: (endpointId: string) => ({ pk: 'WEBHOOKS', sk: `ENDPOINT#${endpointId}` }),
  webhookEndpointCount: () => ({ pk: 'WEBHOOKS', sk: 'COUNT' }),
  webhookDeliveries: (endpointId: string) => `WEBHOOK#${endpointId}`,
  webhookDelivery: (endpointId: string, deliveryId: string) => ({ pk: `WEBHOOK#${endpointId}`, sk: deliveryId }),
  audit: (entity: string, at: string, auditId: string) => ({ pk: `AUDIT#${entity}`, sk: `AT#${at}#${auditId}` }),
  auditTrail: (entity: string) => `AUDIT#${entity}`,
  notificationFailure: (provider: string, eventId: string) => ({ pk: `FAILED#${provider}#${eventId}`, sk: 'FAILED' }),
};

export type ItemKey = { pk: string; sk: string };

/**
 * Open payments, unpaid orders and open refunds are spread over index partitions so no single key
 * runs hot. Payments the widest: on a peak day every order writes its payment's entry and the start
 * re-keys it (≈ 3 index write units an order: 15,000/s at 5,000 orders/s), so 32 partitions stay
 * under half of DynamoDB's 1,000 units/s each (docs/PERFORMANCE.md#the-expiry-wave). Widening is
 * safe: the old shards 0..3 are among the new ones, so entries written before are still read.
 */
export const OPEN_PAYMENT_SHARDS = 32;
export const UNPAID_ORDER_SHARDS = 4;
export const OPEN_REFUND_SHARDS = 4;
/** A busy day's ledger is spread likewise: a day's writes never all land on one index partition. */
export const LEDGER_SHARDS = 4;

export type DuePrefix = 'PAYMENT' | 'ORDER' | 'REFUND';
export const DUE_SHARDS: Record<DuePrefix, number> = {
  PAYMENT: OPEN_PAYMENT_SHARDS,
  ORDER: UNPAID_ORDER_SHARDS,
  REFUND: OPEN_REFUND_SHARDS,
};

const stableShard = (id: string, shards: number) => createHash('sha256').update(id).digest().readUInt32BE(0) % shards;

/** Which due-index partition an item lives in: a stable hash of its id, so it never moves. */
export function dueShard(prefix: DuePrefix, id: string): string {
  return `${prefix}#${stableShard(id, DUE_SHARDS[prefix])}`;
}

/** The due-index attributes of an item due at `dueAt`, none when it is not due (it leaves the sparse index). */
export function duePlace(prefix: DuePrefix, id: string, dueAt: string | undefined): Record<string, string> {
  return dueAt ? { dueShard: dueShard(prefix, id), dueAt } : {};
}

export const paymentShard = (paymentId: string) => dueShard('PAYMENT', paymentId);

/** Which ledger-index partition a succeeded payment or refund lives in: its kind, provider, Beijing day and a stable shard. */
export function ledgerDay(kind: 'PAYMENT' | 'REFUND', provider: string, date: BusinessDate, shard: number): string {
  return `${kind}#${provider}#${date}#${shard}`;
}

/** The ledger-index attributes of a payment or refund that succeeded `at`; none before. */
export function ledgerPlace(
  kind: 'PAYMENT' | 'REFUND',
  provider: string,
  id: string,
  at: string | undefined,
): Record<string, string> {
  if (!at) return {};
  return {
    ledgerDay: ledgerDay(kind, provider, businessDateOf(new Date(at)), stableShard(id, LEDGER_SHARDS)),
    ledgerAt: at,
  };
}

/** The Recent index's shards per kind: as many as the due index's, for the same reason (no index partition takes every create). */
export const RECENT_SHARDS = 4;
export type RecentKind = 'ORDER' | 'PAYMENT' | 'REFUND';

/** The Recent index's attributes of an item made at `createdAt`: written with its create, never changed. */
export function recentPlace(kind: RecentKind, id: string, createdAt: string): Record<string, string> {
  return { recentKey: recentKey(kind, stableShard(id, RECENT_SHARDS)), recentAt: createdAt };
}

export const recentKey = (kind: RecentKind, shard: number) => `${kind}#${shard}`;

/** Where a customer's orders are in the Browse index. */
export const customerOrdersKey = (customerId: string) => `ORDERS#${customerId}`;

/** The small sets that need staff, each a partition of the Browse index. */
export type AttentionSet = 'PAYMENT' | 'REFUND' | 'DIFFERENCE' | 'DEAD_LETTER';
export const attentionKey = (set: AttentionSet) => `ATTENTION#${set}`;

/** The Browse index's attributes of an item in an attention set since `at`; none when it is not in one (it leaves the sparse set). */
export function attentionPlace(set: AttentionSet, at: string | undefined): Record<string, string> {
  return at ? { browseKey: attentionKey(set), browseAt: at } : {};
}

/** The TTL attribute's value for an ISO time. */
export const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Which put left an item that a lone put replaced (commit.ts). */
export const WRITE_TOKEN = 'writeToken';

/** A payment's flags and conditions as a string set, for the Browse index's filter (payments.ts). */
export const ATTENTION_ATTRIBUTE = 'attention';

const STORAGE_ATTRIBUTES = [
  'pk',
  'sk',
  'kind',
  TABLE.dueIndex.partitionKey,
  TABLE.dueIndex.sortKey,
  TABLE.catalogIndex.partitionKey,
  TABLE.ledgerIndex.partitionKey,
  TABLE.ledgerIndex.sortKey,
  TABLE.webhookLaneIndex.partitionKey,
  TABLE.webhookLaneIndex.sortKey,
  TABLE.browseIndex.partitionKey,
  TABLE.browseIndex.sortKey,
  TABLE.recentIndex.partitionKey,
  TABLE.recentIndex.sortKey,
  ATTENTION_ATTRIBUTE,
  TABLE.ttlAttribute,
  OUTBOX_ATTRIBUTE,
  WRITE_TOKEN,
];

/** An item without its storage attributes: the record the domain knows. */
export function stripStorage<T>(item: Record<string, unknown>): T {
  const domain = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete domain[attribute];
  return domain as T;
}
