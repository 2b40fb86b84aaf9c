import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AttributeValue, ConditionalCheckFailedException, TransactionCanceledException, type CancellationReason } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { AlreadyExistsError, NotFoundError, OutOfStockError, StaleStateError, TooManyPendingOrdersError } from '../domain/errors';
import { type BusinessDate, businessDateOf } from '../domain/bill';
import type { Order, Product } from '../domain/order';
import { nextSweepAt, type Payment } from '../domain/payment';
import { differenceKey, type ReconciliationDifference } from '../domain/reconciliation';
import type { Refund } from '../domain/refund';
import type { ProviderName } from '../core/payments/provider';
import { type ArchivedCallback, type DedupeRecord, NotificationAlreadyAppliedError } from '../core/payments/notification-ports';
import { type IdempotencyRecord, IdempotencyRecordExistsError, type StoredResponse } from '../core/kernel/idempotency';
import type { OutboxEntry } from '../core/outbox/ports';
import { PaymentMismatchError, RefundCallSpacedError, RefundReservationRefusedError } from '../core/payments/ports';
import type { Page, Repository, Write } from '../core/kernel/ports';
import type { LedgerRef, ReconciliationRun, StoredReconciliationDay } from '../core/reconciliation/ports';
import { LEDGER_SHARDS, OPEN_PAYMENT_SHARDS, OPEN_REFUND_SHARDS, OUTBOX_ATTRIBUTE, TABLE, UNPAID_ORDER_SHARDS } from './table-definition';

const key = {
  order: (orderId: string) => ({ pk: `ORDER#${orderId}`, sk: 'ORDER' }),
  payment: (paymentId: string) => ({ pk: `PAYMENT#${paymentId}`, sk: 'PAYMENT' }),
  product: (sku: string) => ({ pk: `PRODUCT#${sku}`, sk: 'PRODUCT' }),
  idempotency: (customerId: string, idempotencyKey: string) => ({ pk: `IDEMP#${customerId}#${idempotencyKey}`, sk: 'IDEMP' }),
  notification: (provider: string, eventId: string) => ({ pk: `EVENT#${provider}#${eventId}`, sk: 'EVENT' }),
  outbox: (outboxId: string) => ({ pk: `OUTBOX#${outboxId}`, sk: 'OUTBOX' }),
  callback: (provider: string, eventId: string, receivedAt?: string) => ({ pk: `CALLBACK#${provider}#${eventId}`, sk: `RECEIVED#${receivedAt ?? ''}` }),
  customer: (customerId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: 'CUSTOMER' }),
  refund: (refundId: string) => ({ pk: `REFUND#${refundId}`, sk: 'REFUND' }),
  reconciliationRun: (date: BusinessDate, provider: string) => ({ pk: `RECON#${date}`, sk: `RUN#${provider}` }),
  difference: (date: BusinessDate, provider: string, difference: ReconciliationDifference) => ({
    pk: `RECON#${date}`,
    sk: `DIFF#${provider}#${differenceKey(difference)}`,
  }),
};

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Which due-index partition an item lives in: a stable hash of its id, so it never moves. */
function dueShard(prefix: DuePrefix, id: string): string {
  return `${prefix}#${createHash('sha256').update(id).digest().readUInt32BE(0) % DUE_SHARDS[prefix]}`;
}
type DuePrefix = 'PAYMENT' | 'ORDER' | 'REFUND';
const DUE_SHARDS: Record<DuePrefix, number> = { PAYMENT: OPEN_PAYMENT_SHARDS, ORDER: UNPAID_ORDER_SHARDS, REFUND: OPEN_REFUND_SHARDS };

export const paymentShard = (paymentId: string) => dueShard('PAYMENT', paymentId);

/** Which ledger-index partition a succeeded payment or refund lives in: its kind, provider, Beijing day and a stable shard. */
function ledgerDay(kind: 'PAYMENT' | 'REFUND', provider: string, date: BusinessDate, shard: number): string {
  return `${kind}#${provider}#${date}#${shard}`;
}
function ledgerPlace(kind: 'PAYMENT' | 'REFUND', provider: string, id: string, at: string | undefined): Record<string, string> {
  if (!at) return {};
  const shard = createHash('sha256').update(id).digest().readUInt32BE(0) % LEDGER_SHARDS;
  return { ledgerDay: ledgerDay(kind, provider, businessDateOf(new Date(at)), shard), ledgerAt: at };
}

/** Which put left an item that a lone put replaced (DynamoRepository.replaceOne). */
const WRITE_TOKEN = 'writeToken';

const STORAGE_ATTRIBUTES = [
  'pk',
  'sk',
  'kind',
  TABLE.dueIndex.partitionKey,
  TABLE.dueIndex.sortKey,
  TABLE.catalogIndex.partitionKey,
  TABLE.ledgerIndex.partitionKey,
  TABLE.ledgerIndex.sortKey,
  TABLE.ttlAttribute,
  OUTBOX_ATTRIBUTE,
  WRITE_TOKEN,
];

function stripStorage<T>(item: Record<string, unknown>): T {
  const domain = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete domain[attribute];
  return domain as T;
}

function paymentItem(payment: Payment): Record<string, unknown> {
  const dueAt = nextSweepAt(payment);
  // A terminal payment has no dueAt: leaving the attributes out drops it from the sparse index.
  return {
    ...key.payment(payment.paymentId),
    kind: 'payment',
    ...payment,
    ...(dueAt ? { dueShard: paymentShard(payment.paymentId), dueAt } : {}),
    // In the ledger once the provider took the money.
    ...ledgerPlace('PAYMENT', payment.method, payment.paymentId, payment.status === 'succeeded' ? payment.paidAt : undefined),
  };
}

/**
 * A separate outbox entry (a commit that rewrites no order, payment or refund whole) is kept well
 * past the stream's 24 hours, then removed by TTL (a free delete): by then the stream's publisher
 * has published it, or parked it (docs/ARCHITECTURE.md#transactional-outbox).
 */
export const OUTBOX_RETENTION_DAYS = 7;

/** Whole-item puts conditional on the version read (each transition bumps it). */
const REPLACEMENTS: ReadonlySet<Write['kind']> = new Set(['updateOrder', 'updatePayment', 'updateRefund']);

/** The items a commit rewrites whole, so an attribute left on them cannot outlive the next write. */
const OUTBOX_CARRIERS: ReadonlySet<Write['kind']> = new Set(['createOrder', 'createPayment', 'updateOrder', 'updatePayment', 'createRefund', 'updateRefund']);

/** An outbox entry with no item to ride on: an item of its own, in no index. */
function outboxItem(entry: OutboxEntry): Record<string, unknown> {
  return {
    ...key.outbox(entry.outboxId),
    kind: 'outbox',
    [OUTBOX_ATTRIBUTE]: entry,
    expiresAtEpoch: epochSeconds(entry.createdAt) + OUTBOX_RETENTION_DAYS * 86_400,
  };
}

/**
 * The outbox entry a stream record's write committed (NEW_IMAGE), or undefined for any other
 * record (a removal has no new image). Only a write that carries an entry has the attribute: every
 * write of a carrier replaces the item whole (or, an update, removes it), so an entry is never seen twice.
 */
export function committedOutboxEntry(record: { dynamodb?: { NewImage?: Record<string, unknown> } }): OutboxEntry | undefined {
  const carried = (record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined)?.[OUTBOX_ATTRIBUTE];
  return carried?.M ? (unmarshall(carried.M) as OutboxEntry) : undefined;
}

function orderItem(order: Order): Record<string, unknown> {
  // Pending with no open payment: indexed by when it became unpaid; in any other state it drops out.
  const unpaidSince = order.status === 'pending' && !order.openPaymentId ? order.unpaidSince : undefined;
  return { ...key.order(order.orderId), kind: 'order', ...order, ...(unpaidSince ? { dueShard: dueShard('ORDER', order.orderId), dueAt: unpaidSince } : {}) };
}
/** An open refund is in the due index by its next provider call; an ended one drops out. */
function refundItem(refund: Refund): Record<string, unknown> {
  const dueAt = refund.nextAttemptAt;
  return {
    ...key.refund(refund.refundId),
    kind: 'refund',
    ...refund,
    ...(dueAt ? { dueShard: dueShard('REFUND', refund.refundId), dueAt } : {}),
    ...ledgerPlace('REFUND', refund.method, refund.refundId, refund.status === 'succeeded' ? refund.succeededAt : undefined),
  };
}

/** `kind` is the item's storage kind, so the difference's own kind is kept as `differenceKind`. */
function differenceItem(provider: ProviderName, date: BusinessDate, difference: ReconciliationDifference): Record<string, unknown> & { sk: string } {
  const { kind: differenceKind, ...rest } = difference;
  return { ...key.difference(date, provider, difference), kind: 'difference', provider, date, differenceKind, ...rest };
}

function fromDifferenceItem(item: Record<string, unknown>): ReconciliationDifference & { provider: ProviderName } {
  const {
    differenceKind,
    date: _date,
    ...rest
  } = stripStorage<Omit<ReconciliationDifference, 'kind'> & { provider: ProviderName; differenceKind: string; date: string }>(item);
  return { kind: differenceKind as ReconciliationDifference['kind'], ...rest };
}

const productItem = (product: Product) => ({ ...key.product(product.sku), kind: 'product', catalog: 'PRODUCT', ...product });

/**
 * The stored response is kept gzipped in one binary attribute: it is only ever replayed whole; as
 * nested maps it slowed the create's transaction, as JSON text it cost a write unit more
 * (docs/ARCHITECTURE.md#idempotency).
 */
const idempotencyItem = ({ response, ...record }: IdempotencyRecord) => ({
  ...key.idempotency(record.customerId, record.key),
  kind: 'idempotency',
  ...record,
  responseGzip: gzipSync(JSON.stringify(response)),
  expiresAtEpoch: epochSeconds(record.expiresAt),
});

type StoredIdempotencyRecord = Omit<IdempotencyRecord, 'response'> & { responseGzip?: Uint8Array; response?: StoredResponse };

/** A record as stored (its storage attributes stripped); one written by an earlier version (kept a day) holds its response as a map. */
function idempotencyRecordOf({ responseGzip, response, ...record }: StoredIdempotencyRecord): IdempotencyRecord {
  return { ...record, response: responseGzip ? (JSON.parse(gunzipSync(responseGzip).toString('utf8')) as StoredResponse) : response! };
}

const ONCE_ONLY: ReadonlySet<Write['kind']> = new Set(['recordIdempotency', 'recordNotification']);

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface PreparedWrite {
  item: TransactItem;
  /** The typed error for this write's failed condition, given the item as it was (if any). */
  onConditionFailed(current: Record<string, unknown> | undefined): Error;
}

export interface DynamoRepositoryOptions {
  tableName: string;
  client: DynamoDBClient;
  /** How often a transaction that conflicted with another in-flight transaction is retried. */
  conflictRetries?: number;
}

export class DynamoRepository implements Repository {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly conflictRetries: number;

  constructor(options: DynamoRepositoryOptions) {
    this.table = options.tableName;
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.conflictRetries = options.conflictRetries ?? 5;
  }

  async commit(writes: readonly Write[]): Promise<void> {
    if (writes.length === 0) return;
    const [prepared, kinds] = this.prepareAll(writes);
    if (prepared.length === 1 && REPLACEMENTS.has(kinds[0]!)) return this.replaceOne(prepared[0]!);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: prepared.map((write) => write.item) }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        const failed = reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : []));
        // A request that already committed (same idempotency key or notification) explains every
        // other failed condition too, so it is the error to report.
        const decisive = failed.find((index) => ONCE_ONLY.has(kinds[index]!)) ?? failed[0];
        if (decisive !== undefined) throw prepared[decisive]!.onConditionFailed(itemOf(reasons[decisive]));
        // Only conflicts with another in-flight transaction are worth retrying; they resolve quickly.
        const conflicted = reasons.some((reason) => reason.Code === 'TransactionConflict');
        if (!conflicted || attempt >= this.conflictRetries) throw error;
        await sleep(15 * 2 ** attempt + Math.random() * 25);
      }
    }
  }

  /**
   * The writes as DynamoDB items, with their kinds. An outbox entry rides on the smallest item the
   * commit rewrites whole (write units are billed per item and KB), or is an item of its own.
   */
  private prepareAll(writes: readonly Write[]): [PreparedWrite[], Array<Write['kind']>] {
    const entry = writes.find((write) => write.kind === 'addToOutbox')?.entry;
    const rest = entry ? writes.filter((write) => write.kind !== 'addToOutbox') : writes;
    const prepared = rest.map((write) => this.prepare(write));
    const kinds = rest.map((write) => write.kind);
    // An update keeps the attributes it does not name: it takes off an entry an earlier write left
    // on the item, so the stream never brings that entry again. (No update here has a REMOVE clause of its own.)
    for (const { item } of prepared) if (item.Update) item.Update.UpdateExpression += ` REMOVE ${OUTBOX_ATTRIBUTE}`;
    if (!entry) return [prepared, kinds];
    let carrier: PreparedWrite | undefined;
    let carrierSize = Infinity;
    prepared.forEach((write, index) => {
      const size = OUTBOX_CARRIERS.has(kinds[index]!) && write.item.Put ? JSON.stringify(write.item.Put.Item).length : Infinity;
      if (size < carrierSize) [carrier, carrierSize] = [write, size];
    });
    if (carrier) {
      carrier.item.Put!.Item = { ...carrier.item.Put!.Item, [OUTBOX_ATTRIBUTE]: entry };
      return [prepared, kinds];
    }
    return [
      [...prepared, this.prepare({ kind: 'addToOutbox', entry })],
      [...kinds, 'addToOutbox'],
    ];
  }

  /**
   * A commit of one versioned replacement needs no transaction: a conditional put of its own, half
   * the write units. The SDK may send it twice (a first attempt committed, its answer lost): the
   * retry then finds the item with this write's own token, which is success, as a transaction's
   * ClientRequestToken would answer; another writer's identical decision is still a conflict.
   * Creates and updates that are alone stay transactions for that token.
   */
  private async replaceOne({ item, onConditionFailed }: PreparedWrite): Promise<void> {
    const writeToken = randomBytes(12).toString('base64url');
    try {
      await this.doc.send(new PutCommand({ ...item.Put!, Item: { ...item.Put!.Item, [WRITE_TOKEN]: writeToken } }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = error.Item ? unmarshall(error.Item) : undefined;
      if (current?.[WRITE_TOKEN] === writeToken) return;
      throw onConditionFailed(current);
    }
  }

  private prepare(write: Write): PreparedWrite {
    const TableName = this.table;
    const returnOld = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
    /** Every create: the item must not exist yet. */
    const putIfAbsent = (Item: Record<string, unknown>, onConditionFailed: () => Error): PreparedWrite => ({
      item: { Put: { TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } },
      onConditionFailed,
    });
    switch (write.kind) {
      case 'createOrder':
        return putIfAbsent(orderItem(write.order), () => new AlreadyExistsError('order', write.order.orderId));
      case 'createPayment':
        return putIfAbsent(paymentItem(write.payment), () => new AlreadyExistsError('payment', write.payment.paymentId));
      case 'updateOrder': {
        const { before, after } = write;
        const slot = before.openPaymentId === undefined ? 'attribute_not_exists(openPaymentId)' : 'openPaymentId = :slot';
        return {
          item: {
            Put: {
              TableName,
              Item: orderItem(after),
              ConditionExpression: `version = :version AND #status = :status AND ${slot}`,
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':version': before.version,
                ':status': before.status,
                ...(before.openPaymentId === undefined ? {} : { ':slot': before.openPaymentId }),
              },
              ...returnOld,
            },
          },
          onConditionFailed: (current) =>
            current ? new StaleStateError('order', before.orderId, pickState(current)) : new NotFoundError('order', before.orderId),
        };
      }
      case 'updatePayment': {
        const { before, after } = write;
        return {
          item: {
            Put: {
              TableName,
              Item: paymentItem(after),
              ConditionExpression: 'version = :version AND #status = :status',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':version': before.version, ':status': before.status },
              ...returnOld,
            },
          },
          onConditionFailed: (current) =>
            current ? new StaleStateError('payment', before.paymentId, pickState(current)) : new NotFoundError('payment', before.paymentId),
        };
      }
      case 'adjustStock': {
        const reserving = write.delta < 0;
        const priced = reserving && write.price !== undefined;
        return {
          item: {
            Update: {
              TableName,
              Key: key.product(write.sku),
              UpdateExpression: 'SET stock = stock + :delta',
              ConditionExpression: reserving ? `attribute_exists(pk) AND stock >= :needed${priced ? ' AND price = :price' : ''}` : 'attribute_exists(pk)',
              ExpressionAttributeValues: {
                ':delta': write.delta,
                ...(reserving ? { ':needed': -write.delta } : {}),
                ...(priced ? { ':price': write.price } : {}),
              },
              ...returnOld,
            },
          },
          onConditionFailed: (current) => {
            if (!current) return new NotFoundError('product', write.sku);
            // Priced from an out-of-date copy of the catalogue: the caller decides again on a fresh one.
            if (priced && current.price !== write.price) return new StaleStateError('product', write.sku);
            return new OutOfStockError(write.sku, -write.delta, typeof current.stock === 'number' ? current.stock : undefined);
          },
        };
      }
      case 'countPendingOrders': {
        const { customerId, delta, limit } = write;
        const capped = delta > 0 && limit !== undefined;
        return {
          item: {
            Update: {
              TableName,
              Key: key.customer(customerId),
              UpdateExpression: 'SET #kind = :kind ADD pendingOrders :delta',
              ...(capped ? { ConditionExpression: 'attribute_not_exists(pendingOrders) OR pendingOrders <= :room' } : {}),
              ExpressionAttributeNames: { '#kind': 'kind' },
              ExpressionAttributeValues: { ':kind': 'customer', ':delta': delta, ...(capped ? { ':room': limit - delta } : {}) },
            },
          },
          onConditionFailed: () => new TooManyPendingOrdersError(limit ?? 0),
        };
      }
      case 'createRefund':
        return putIfAbsent(refundItem(write.refund), () => new AlreadyExistsError('refund', write.refund.refundId));
      case 'updateRefund': {
        const { before, after } = write;
        return {
          item: {
            Put: {
              TableName,
              Item: refundItem(after),
              ConditionExpression: 'version = :version',
              ExpressionAttributeValues: { ':version': before.version },
              ...returnOld,
            },
          },
          onConditionFailed: (current) =>
            current ? new StaleStateError('refund', before.refundId, pickState(current)) : new NotFoundError('refund', before.refundId),
        };
      }
      case 'reserveRefund': {
        // DynamoDB conditions cannot add: `refundReserved <= amount − this refund` says the same.
        return {
          item: {
            Update: {
              TableName,
              Key: key.payment(write.paymentId),
              UpdateExpression:
                'SET refundReserved = if_not_exists(refundReserved, :zero) + :amount, refundIds = list_append(if_not_exists(refundIds, :none), :ids), version = version + :one, updatedAt = :now',
              ConditionExpression:
                '#status = :succeeded AND amount = :paymentAmount AND (attribute_not_exists(refundReserved) OR refundReserved <= :room) AND (attribute_not_exists(refundIds) OR size(refundIds) < :limit)',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':zero': 0,
                ':one': 1,
                ':amount': write.amount,
                ':none': [],
                ':ids': [write.refundId],
                ':now': write.now,
                ':succeeded': 'succeeded',
                ':paymentAmount': write.paymentAmount,
                ':room': write.paymentAmount - write.amount,
                ':limit': write.limit,
              },
              ...returnOld,
            },
          },
          onConditionFailed: (current) =>
            current ? new RefundReservationRefusedError(write.paymentId, current) : new NotFoundError('payment', write.paymentId),
        };
      }
      case 'claimRefundCall': {
        const cutoff = new Date(Date.parse(write.now) - write.spacingSeconds * 1000).toISOString();
        return {
          item: {
            Update: {
              TableName,
              Key: key.payment(write.paymentId),
              UpdateExpression: 'SET refundCallAt = :now, version = version + :one',
              ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(refundCallAt) OR refundCallAt <= :cutoff)',
              ExpressionAttributeValues: { ':now': write.now, ':cutoff': cutoff, ':one': 1 },
              ...returnOld,
            },
          },
          onConditionFailed: (current) => new RefundCallSpacedError(write.paymentId, current?.refundCallAt as string | undefined),
        };
      }
      case 'putProduct':
        return putIfAbsent(productItem(write.product), () => new AlreadyExistsError('product', write.product.sku));
      case 'recordIdempotency': {
        const { record } = write;
        // The winner's record comes back with the failure, so a replay answers without reading it.
        return {
          item: { Put: { TableName, Item: idempotencyItem(record), ConditionExpression: 'attribute_not_exists(pk)', ...returnOld } },
          onConditionFailed: (current) =>
            new IdempotencyRecordExistsError(
              record.customerId,
              record.key,
              current ? idempotencyRecordOf(stripStorage<StoredIdempotencyRecord>(current)) : undefined,
            ),
        };
      }
      case 'recordNotification': {
        const { record } = write;
        const item = { ...key.notification(record.provider, record.eventId), kind: 'notification', ...record, expiresAtEpoch: epochSeconds(record.expiresAt) };
        return putIfAbsent(item, () => new NotificationAlreadyAppliedError(record.provider, record.eventId));
      }
      case 'addToOutbox':
        return putIfAbsent(outboxItem(write.entry), () => new AlreadyExistsError('outbox entry', write.entry.outboxId));
      case 'checkPaymentMatches': {
        const { notification } = write;
        return {
          item: {
            ConditionCheck: {
              TableName,
              Key: key.payment(notification.paymentId),
              ConditionExpression: 'attribute_not_exists(pk) OR (#method = :method AND #currency = :currency AND #amount = :amount)',
              ExpressionAttributeNames: { '#method': 'method', '#currency': 'currency', '#amount': 'amount' },
              ExpressionAttributeValues: { ':method': notification.provider, ':currency': notification.currency, ':amount': notification.amount },
              ...returnOld,
            },
          },
          onConditionFailed: (current) =>
            current ? new PaymentMismatchError(stripStorage<Payment>(current)) : new NotFoundError('payment', notification.paymentId),
        };
      }
      case 'recordDifference': {
        const item = differenceItem(write.provider, write.date, write.difference);
        return putIfAbsent(item, () => new AlreadyExistsError('reconciliation difference', item.sk));
      }
      case 'healDifference': {
        const { provider, date, difference } = write;
        return {
          item: {
            Put: {
              TableName,
              Item: differenceItem(provider, date, { ...difference, healed: true }),
              ConditionExpression: 'attribute_exists(pk) AND healed = :open',
              ExpressionAttributeValues: { ':open': false },
            },
          },
          onConditionFailed: () => new StaleStateError('reconciliation difference', `${date}/${provider}/${difference.kind}`),
        };
      }
      case 'saveReconciliationRun': {
        const { run } = write;
        return {
          item: { Put: { TableName, Item: { ...key.reconciliationRun(run.date, run.provider), kind: 'reconciliationRun', ...run } } },
          onConditionFailed: () => new Error('unconditional write cannot fail a condition'),
        };
      }
      case 'markAccounted': {
        const { provider, date, ref } = write;
        // `kind` is the item's storage kind: the ledger item's kind is kept as `ledgerKind`.
        const item = {
          pk: `RECON#${date}`,
          sk: `ACCOUNTED#${provider}#${ref.kind}:${ref.id}`,
          kind: 'accounted',
          provider,
          ledgerKind: ref.kind,
          ledgerId: ref.id,
        };
        return { item: { Put: { TableName, Item: item } }, onConditionFailed: () => new Error('unconditional write cannot fail a condition') };
      }
      case 'archiveCallback': {
        const { bodyBase64, ...record } = write.record;
        // Gzipped binary rather than base64 text: a body of the largest accepted size makes an
        // item a fraction of DynamoDB's 400 KB limit (base64 alone would add a third).
        const bodyGzip = gzipSync(Buffer.from(bodyBase64, 'base64'));
        return {
          item: {
            Put: {
              TableName,
              Item: {
                ...key.callback(record.provider, record.eventId, record.receivedAt),
                kind: 'callback',
                ...record,
                bodyGzip,
                expiresAtEpoch: epochSeconds(record.expiresAt),
              },
            },
          },
          onConditionFailed: () => new Error('unconditional write cannot fail a condition'),
        };
      }
    }
  }

  private async getItem<T>(itemKey: { pk: string; sk: string }): Promise<T | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.table, Key: itemKey, ConsistentRead: true }));
    return result.Item ? stripStorage<T>(result.Item) : undefined;
  }

  async getProducts(skus: readonly string[]): Promise<Map<string, Product>> {
    const products = await this.batchGet<Product>([...new Set(skus)].map(key.product));
    return new Map(products.map((product) => [product.sku, product]));
  }

  async listProducts(): Promise<Product[]> {
    // The index holds keys only, so a stock change writes no index entry: collect the skus in
    // catalogue order, then read the products themselves (consistent, so the stock is current).
    const skus: string[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: TABLE.catalogIndex.name,
          // CATALOG is a DynamoDB reserved word: it must go through a name placeholder.
          KeyConditionExpression: '#catalog = :catalog',
          ExpressionAttributeNames: { '#catalog': TABLE.catalogIndex.partitionKey },
          ExpressionAttributeValues: { ':catalog': 'PRODUCT' },
          ExclusiveStartKey,
        }),
      );
      skus.push(...(page.Items ?? []).map((item) => item[TABLE.catalogIndex.sortKey] as string));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const products = await this.getProducts(skus);
    return skus.map((sku) => products.get(sku)).filter((product): product is Product => product !== undefined);
  }

  getOrder(orderId: string): Promise<Order | undefined> {
    return this.getItem<Order>(key.order(orderId));
  }

  getPayment(paymentId: string): Promise<Payment | undefined> {
    return this.getItem<Payment>(key.payment(paymentId));
  }

  async getPayments(paymentIds: readonly string[]): Promise<Payment[]> {
    const payments = await this.batchGet<Payment>(paymentIds.map(key.payment));
    const byId = new Map(payments.map((payment) => [payment.paymentId, payment]));
    return paymentIds.map((id) => byId.get(id)).filter((payment): payment is Payment => payment !== undefined);
  }

  getRefund(refundId: string): Promise<Refund | undefined> {
    return this.getItem<Refund>(key.refund(refundId));
  }

  async getRefunds(refundIds: readonly string[]): Promise<Refund[]> {
    const refunds = await this.batchGet<Refund>(refundIds.map(key.refund));
    const byId = new Map(refunds.map((refund) => [refund.refundId, refund]));
    return refundIds.map((id) => byId.get(id)).filter((refund): refund is Refund => refund !== undefined);
  }

  findDueRefunds(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Refund>> {
    return this.findDue<Refund>('REFUND', dueBy, options, (refund) => refund.nextAttemptAt ?? '');
  }

  async getIdempotencyRecord(customerId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const stored = await this.getItem<StoredIdempotencyRecord>(key.idempotency(customerId, idempotencyKey));
    return stored && idempotencyRecordOf(stored);
  }

  getNotificationRecord(provider: ProviderName, eventId: string): Promise<DedupeRecord | undefined> {
    return this.getItem<DedupeRecord>(key.notification(provider, eventId));
  }

  async getArchivedCallbacks(provider: ProviderName, eventId: string): Promise<ArchivedCallback[]> {
    const { pk } = key.callback(provider, eventId);
    const page = await this.doc.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }),
    );
    return (page.Items ?? []).map((item) => {
      const { bodyGzip, ...record } = stripStorage<Omit<ArchivedCallback, 'bodyBase64'> & { bodyGzip: Uint8Array }>(item);
      return { ...record, bodyBase64: gunzipSync(bodyGzip).toString('base64') };
    });
  }

  findDuePayments(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Payment>> {
    return this.findDue<Payment>('PAYMENT', dueBy, options, (payment) => nextSweepAt(payment) ?? '');
  }

  findUnpaidOrders(unpaidSince: Date, options: { limit: number; cursor?: string }): Promise<Page<Order>> {
    return this.findDue<Order>('ORDER', unpaidSince, options, (order) => order.unpaidSince ?? '');
  }

  /** Items of one kind in the due index, due by `dueBy`, a page at a time. */
  private async findDue<T>(prefix: DuePrefix, dueBy: Date, options: { limit: number; cursor?: string }, dueAtOf: (item: T) => string): Promise<Page<T>> {
    // The cursor walks the shards in order, resuming inside one where the last page stopped.
    let { shard, startKey } = decodeCursor(options.cursor);
    const items: T[] = [];
    while (shard < DUE_SHARDS[prefix] && items.length < options.limit) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: TABLE.dueIndex.name,
          KeyConditionExpression: 'dueShard = :shard AND dueAt <= :dueBy',
          ExpressionAttributeValues: { ':shard': `${prefix}#${shard}`, ':dueBy': dueBy.toISOString() },
          ExclusiveStartKey: startKey,
          Limit: options.limit - items.length,
        }),
      );
      items.push(...(page.Items ?? []).map((item) => stripStorage<T>(item)));
      startKey = page.LastEvaluatedKey;
      if (!startKey) shard += 1;
    }
    const done = shard >= DUE_SHARDS[prefix];
    // Each shard comes back in time order; a page spanning shards is merged back into it.
    items.sort((a, b) => dueAtOf(a).localeCompare(dueAtOf(b)));
    return { items, cursor: done ? undefined : encodeCursor({ shard, startKey }) };
  }

  async parkUndeliverable(entry: OutboxEntry): Promise<void> {
    // An item of its own without the outbox attribute (the stream's filter passes over it) nor a TTL: an operator's to resolve.
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...key.outbox(entry.outboxId), kind: 'outbox', parked: entry } }));
  }

  async oldestOpenRefundCreatedAt(): Promise<string | undefined> {
    // Open refunds, and only those, sit in the sparse due index (few at a time): read their creation times.
    let oldest: string | undefined;
    await this.walkDueShards('REFUND', { ProjectionExpression: 'createdAt' }, (page) => {
      for (const item of page.Items ?? []) if (typeof item.createdAt === 'string' && (!oldest || item.createdAt < oldest)) oldest = item.createdAt;
    });
    return oldest;
  }

  async countOpenPayments(): Promise<number> {
    // Every open payment, and only those, has a place in the sparse due index: a COUNT query per
    // shard reads nothing else (its cost is the size of the open payments, paid once a minute).
    let open = 0;
    await this.walkDueShards('PAYMENT', { Select: 'COUNT' }, (page) => (open += page.Count ?? 0));
    return open;
  }

  async listLedger(provider: ProviderName, date: BusinessDate): Promise<{ payments: Payment[]; refunds: Refund[] }> {
    // The index holds keys only: collect the day's keys, then read the items themselves.
    const keysOf = async (kind: 'PAYMENT' | 'REFUND') => {
      const keys: Array<{ pk: string; sk: string }> = [];
      for (let shard = 0; shard < LEDGER_SHARDS; shard++) {
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        do {
          const page = await this.doc.send(
            new QueryCommand({
              TableName: this.table,
              IndexName: TABLE.ledgerIndex.name,
              KeyConditionExpression: 'ledgerDay = :day',
              ExpressionAttributeValues: { ':day': ledgerDay(kind, provider, date, shard) },
              ExclusiveStartKey,
            }),
          );
          keys.push(...(page.Items ?? []).map((item) => ({ pk: item.pk as string, sk: item.sk as string })));
          ExclusiveStartKey = page.LastEvaluatedKey;
        } while (ExclusiveStartKey);
      }
      return keys;
    };
    const [payments, refunds] = await Promise.all([
      keysOf('PAYMENT').then((keys) => this.batchGet<Payment>(keys)),
      keysOf('REFUND').then((keys) => this.batchGet<Refund>(keys)),
    ]);
    return { payments, refunds };
  }

  async getReconciliation(date: BusinessDate): Promise<StoredReconciliationDay> {
    const runs: ReconciliationRun[] = [];
    const differences: Array<ReconciliationDifference & { provider: ProviderName }> = [];
    const accounted: Array<LedgerRef & { provider: ProviderName }> = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': key.reconciliationRun(date, '').pk },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.kind === 'reconciliationRun') runs.push(stripStorage<ReconciliationRun>(item));
        else if (item.kind === 'accounted')
          accounted.push({ provider: item.provider as ProviderName, kind: item.ledgerKind as LedgerRef['kind'], id: item.ledgerId as string });
        else differences.push(fromDifferenceItem(item));
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return { runs, differences, accounted };
  }

  /** Every page of every shard of one kind in the due index, whatever is due when. */
  private async walkDueShards(
    prefix: DuePrefix,
    read: Pick<QueryCommandInput, 'ProjectionExpression' | 'Select'>,
    onPage: (page: QueryCommandOutput) => void,
  ): Promise<void> {
    for (let shard = 0; shard < DUE_SHARDS[prefix]; shard++) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: TABLE.dueIndex.name,
            KeyConditionExpression: 'dueShard = :shard',
            ExpressionAttributeValues: { ':shard': `${prefix}#${shard}` },
            ...read,
            ExclusiveStartKey,
          }),
        );
        onPage(page);
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
  }

  private async batchGet<T>(keys: Array<{ pk: string; sk: string }>): Promise<T[]> {
    const found: T[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let pending: Array<Record<string, unknown>> | undefined = keys.slice(start, start + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        const result: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...(result.Responses?.[this.table] ?? []).map((item: Record<string, unknown>) => stripStorage<T>(item)));
        pending = result.UnprocessedKeys?.[this.table]?.Keys;
        if (pending?.length) await sleep(20 * 2 ** Math.min(attempt, 5));
      }
    }
    return found;
  }
}

function itemOf(reason: CancellationReason | undefined): Record<string, unknown> | undefined {
  return reason?.Item ? unmarshall(reason.Item) : undefined;
}

function pickState(item: Record<string, unknown>): { status?: string; version?: number } {
  return { status: item.status as string | undefined, version: item.version as number | undefined };
}

function encodeCursor(cursor: { shard: number; startKey?: Record<string, unknown> }): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): { shard: number; startKey?: Record<string, unknown> } {
  if (!cursor) return { shard: 0 };
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
