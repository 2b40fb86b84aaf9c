import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OutboxEntry, OutboxWrite } from '../core/outbox/ports';
import { AlreadyExistsError } from '../domain/errors';
import { epochSeconds, key } from './keys';
import { putIfAbsent, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';
import { OUTBOX_ATTRIBUTE } from './table-definition';

/**
 * A separate outbox entry (a commit that rewrites no order, payment or refund whole) is kept well
 * past the stream's 24 hours, then removed by TTL (a free delete): by then the stream's publisher
 * has published it, or parked it (docs/ARCHITECTURE.md#transactional-outbox).
 */
export const OUTBOX_RETENTION_DAYS = 7;

/** An outbox entry with no item to ride on (commit.ts chooses): an item of its own, in no index. */
function outboxItem(entry: OutboxEntry): Record<string, unknown> {
  return {
    ...key.outbox(entry.outboxId),
    kind: 'outbox',
    [OUTBOX_ATTRIBUTE]: entry,
    expiresAtEpoch: epochSeconds(entry.createdAt) + OUTBOX_RETENTION_DAYS * 86_400,
  };
}

export const outboxWrites: WriteBuilders<OutboxWrite['kind']> = {
  addToOutbox: ({ entry }, TableName) =>
    putIfAbsent(TableName, outboxItem(entry), () => new AlreadyExistsError('outbox entry', entry.outboxId)),
};

/**
 * The outbox entry a stream record's write committed (NEW_IMAGE), or undefined for any other
 * record (a removal has no new image). Only a write that carries an entry has the attribute: every
 * write of a carrier replaces the item whole (or, an update, removes it), so an entry is never seen twice.
 */
export function committedOutboxEntry(record: {
  dynamodb?: { NewImage?: Record<string, unknown> };
}): OutboxEntry | undefined {
  const carried = (record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined)?.[OUTBOX_ATTRIBUTE];
  return carried?.M ? (unmarshall(carried.M) as OutboxEntry) : undefined;
}

/** An item of its own without the outbox attribute (the stream's filter passes over it) nor a TTL: an operator's to resolve. */
export async function parkUndeliverable(table: DynamoTable, entry: OutboxEntry): Promise<void> {
  await table.doc.send(
    new PutCommand({ TableName: table.name, Item: { ...key.outbox(entry.outboxId), kind: 'outbox', parked: entry } }),
  );
}
