import {
  ConditionalCheckFailedException,
  type CancellationReason,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import type { Write } from '../core/kernel/ports';
import { CapacityExceededError } from '../domain/errors';
import { auditWrites } from './audit';
import { callbackArchiveWrites } from './callback-archive';
import { idempotencyWrites } from './idempotency';
import { WRITE_TOKEN } from './keys';
import { notificationWrites } from './notifications';
import { orderWrites } from './orders';
import { outboxWrites } from './outbox';
import { paymentWrites } from './payments';
import type { PreparedWrite, WriteBuilders } from './prepared-write';
import { productWrites } from './products';
import { reconciliationWrites } from './reconciliation';
import { refundWrites } from './refunds';
import { webhookWrites } from './webhooks';
import { purchaseCountWrites } from './purchase-counts';
import { stockShardWrites } from './stock-shards';
import { sleep, type DynamoTable } from './table';
import { OUTBOX_ATTRIBUTE } from './table-definition';

/** Every kind of write, by the aggregate module that stores it (the compiler holds the table complete). */
const BUILDERS: WriteBuilders<Write['kind']> = {
  ...orderWrites,
  ...productWrites,
  ...stockShardWrites,
  ...purchaseCountWrites,
  ...paymentWrites,
  ...refundWrites,
  ...idempotencyWrites,
  ...notificationWrites,
  ...callbackArchiveWrites,
  ...outboxWrites,
  ...reconciliationWrites,
  ...webhookWrites,
  ...auditWrites,
};

function prepare(write: Write, tableName: string): PreparedWrite {
  return (BUILDERS[write.kind] as (write: Write, tableName: string) => PreparedWrite)(write, tableName);
}

/** Whole-item puts conditional on the version read (each transition bumps it). */
const REPLACEMENTS: ReadonlySet<Write['kind']> = new Set([
  'updateOrder',
  'updatePayment',
  'updateRefund',
  // A webhook delivery's record and each attempt on it: one item each, on the deliverer's hot path.
  'createWebhookDelivery',
  'updateWebhookDelivery',
]);

/** The items a commit rewrites whole, so an attribute left on them cannot outlive the next write. */
const OUTBOX_CARRIERS: ReadonlySet<Write['kind']> = new Set([
  'createOrder',
  'createPayment',
  'updateOrder',
  'updatePayment',
  'createRefund',
  'updateRefund',
]);

/** A request that already committed (same idempotency key or notification) explains every other failed condition too. */
const ONCE_ONLY: ReadonlySet<Write['kind']> = new Set(['recordIdempotency', 'recordNotification']);

/**
 * All writes in one transaction, or none. A failed condition becomes the typed error of the write
 * that explains it; a conflict with another in-flight transaction is retried `conflictRetries` times.
 */
export async function commit(table: DynamoTable, writes: readonly Write[], conflictRetries: number): Promise<void> {
  if (writes.length === 0) return;
  const [prepared, kinds] = prepareAll(writes, table.name);
  if (prepared.length === 1 && REPLACEMENTS.has(kinds[0]!)) return replaceOne(table, prepared[0]!);
  for (let attempt = 0; ; attempt++) {
    try {
      await table.doc.send(new TransactWriteCommand({ TransactItems: prepared.map((write) => write.item) }));
      return;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : []));
      const decisive = failed.find((index) => ONCE_ONLY.has(kinds[index]!)) ?? failed[0];
      if (decisive !== undefined) throw prepared[decisive]!.onConditionFailed(itemOf(reasons[decisive]));
      // Conflicts with another in-flight transaction and throttling (a hot partition) resolve in
      // moments: retried with jitter. Neither means a condition failed: never OUT_OF_STOCK.
      const throttled = reasons.some((reason) => reason.Code === 'ThrottlingError');
      const conflicted = reasons.some((reason) => reason.Code === 'TransactionConflict');
      if (throttled && attempt >= conflictRetries) throw new CapacityExceededError();
      if (!(conflicted || throttled) || attempt >= conflictRetries) throw error;
      await sleep(15 * 2 ** attempt + Math.random() * 25);
    }
  }
}

/**
 * The writes as DynamoDB items, with their kinds. An outbox entry rides on the smallest item the
 * commit rewrites whole (write units are billed per item and KB), or is an item of its own.
 */
function prepareAll(writes: readonly Write[], tableName: string): [PreparedWrite[], Array<Write['kind']>] {
  const entry = writes.find((write) => write.kind === 'addToOutbox')?.entry;
  const rest = entry ? writes.filter((write) => write.kind !== 'addToOutbox') : writes;
  const prepared = rest.map((write) => prepare(write, tableName));
  const kinds = rest.map((write) => write.kind);
  // An update keeps the attributes it does not name: it takes off an entry an earlier write left
  // on the item, so the stream never brings that entry again.
  for (const { item } of prepared)
    if (item.Update) item.Update.UpdateExpression = withOutboxRemoved(item.Update.UpdateExpression!);
  if (!entry) return [prepared, kinds];
  const carrier = smallestCarrier(prepared, kinds);
  if (carrier) {
    carrier.item.Put!.Item = { ...carrier.item.Put!.Item, [OUTBOX_ATTRIBUTE]: entry };
    return [prepared, kinds];
  }
  return [
    [...prepared, prepare({ kind: 'addToOutbox', entry }, tableName)],
    [...kinds, 'addToOutbox'],
  ];
}

/** An update expression that also removes the outbox attribute: in its REMOVE clause (there may be only one), or one of its own. */
function withOutboxRemoved(expression: string): string {
  return /\bREMOVE\b/.test(expression)
    ? expression.replace(/\bREMOVE\b/, `REMOVE ${OUTBOX_ATTRIBUTE},`)
    : `${expression} REMOVE ${OUTBOX_ATTRIBUTE}`;
}

/** The smallest whole-item put of an order, payment or refund, if the commit has one. */
function smallestCarrier(
  prepared: readonly PreparedWrite[],
  kinds: ReadonlyArray<Write['kind']>,
): PreparedWrite | undefined {
  let carrier: PreparedWrite | undefined;
  let carrierSize = Infinity;
  prepared.forEach((write, index) => {
    const size =
      OUTBOX_CARRIERS.has(kinds[index]!) && write.item.Put ? JSON.stringify(write.item.Put.Item).length : Infinity;
    if (size < carrierSize) [carrier, carrierSize] = [write, size];
  });
  return carrier;
}

/**
 * A commit of one versioned replacement needs no transaction: a conditional put of its own, half
 * the write units. The SDK may send it twice (a first attempt committed, its answer lost): the
 * retry then finds the item with this write's own token, which is success, as a transaction's
 * ClientRequestToken would answer; another writer's identical decision is still a conflict.
 * Creates and updates that are alone stay transactions for that token.
 */
async function replaceOne(table: DynamoTable, { item, onConditionFailed }: PreparedWrite): Promise<void> {
  const writeToken = randomBytes(12).toString('base64url');
  try {
    await table.doc.send(new PutCommand({ ...item.Put!, Item: { ...item.Put!.Item, [WRITE_TOKEN]: writeToken } }));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = error.Item ? unmarshall(error.Item) : undefined;
    if (current?.[WRITE_TOKEN] === writeToken) return;
    throw onConditionFailed(current);
  }
}

function itemOf(reason: CancellationReason | undefined): Record<string, unknown> | undefined {
  return reason?.Item ? unmarshall(reason.Item) : undefined;
}
