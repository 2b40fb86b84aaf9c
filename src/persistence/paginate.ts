import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { InvalidCursorError } from '../domain/errors';
import type { DynamoTable } from './table';

/** Where a walk over partitions stopped: the partition, and the key to resume from inside it. */
interface Position {
  partition: number;
  startKey?: Record<string, unknown>;
}

export interface PaginateRequest {
  /**
   * One query per partition, walked in order: a single one for a partition key, one per shard for
   * a sharded index. TableName and ExclusiveStartKey are paginate's.
   */
  partitions: ReadonlyArray<Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Limit'>>;
  /** Stop once this many items are read (each request asks only for what is missing); the cursor resumes after them. */
  limit?: number;
  /** A cursor an earlier call returned. */
  cursor?: string;
}

export interface PaginateResult {
  items: Array<Record<string, unknown>>;
  /** The items counted (what `Select: 'COUNT'` queries answer instead of items). */
  count: number;
  /** Absent once every partition is read to its end. */
  cursor?: string;
}

/**
 * Every query of this adapter goes through here: the pages of each partition, one request a page,
 * partition after partition, until all are read or `limit` items are.
 */
export async function paginate(table: DynamoTable, request: PaginateRequest): Promise<PaginateResult> {
  const limit = request.limit ?? Infinity;
  let { partition, startKey } = decodeCursor(request.cursor);
  const items: Array<Record<string, unknown>> = [];
  let count = 0;
  while (partition < request.partitions.length && items.length < limit) {
    const page = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        ...request.partitions[partition],
        ExclusiveStartKey: startKey,
        ...(limit === Infinity ? {} : { Limit: limit - items.length }),
      }),
    );
    items.push(...(page.Items ?? []));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
    if (!startKey) partition += 1;
  }
  const done = partition >= request.partitions.length;
  return { items, count, cursor: done ? undefined : encodeCursor({ partition, startKey }) };
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Position {
  if (!cursor) return { partition: 0 };
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
}

/** One partition of a list: its query (TableName, ExclusiveStartKey and Limit are listPage's), and the key attribute and value it reads. */
export interface ListPartition {
  query: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Limit' | 'ScanIndexForward'>;
  /** The index's (or table's) partition key attribute and this partition's value: a cursor's start key must name it. */
  key: { name: string; value: string };
  /** The sort key attribute: pages of several partitions are merged on it. */
  sortKey: string;
}

export interface ListRequest {
  partitions: readonly ListPartition[];
  /** Items a page answers at most. */
  limit: number;
  cursor?: string;
  /** What this list is (the query with its filters): a cursor handed out for another list is refused. */
  binding: string;
  /**
   * Items each query evaluates, when a FilterExpression may drop some (default: `limit`): a page
   * is then as full as that window allows, and still one request per partition.
   */
  window?: number;
}

/** Where a list's partition stands: a key to resume after, its start, or read to its end. */
type ListPosition = Record<string, string> | 'start' | 'done';

/**
 * A page of a list, newest first: one query per partition (in parallel), merged on the sort key.
 * An item is answered only when no partition can still hold a newer one unread (every partition
 * that has more has read past it), so a list of several shards stays in order page after page.
 * The cursor is bound to `binding` and each start key to its partition: anything else is
 * INVALID_CURSOR, so a cursor cannot be turned into a read of another customer's partition.
 */
export async function listPage(table: DynamoTable, request: ListRequest): Promise<PaginateResult> {
  const positions = decodeListCursor(request);
  const read = await Promise.all(
    request.partitions.map(async (partition, index) => {
      const position = positions[index]!;
      if (position === 'done') return { items: [], last: undefined };
      const page = await table.doc.send(
        new QueryCommand({
          TableName: table.name,
          ...partition.query,
          ScanIndexForward: false,
          // One more than a page: a partition that ends exactly at a page's end says so (no cursor to an empty page).
          Limit: (request.window ?? request.limit) + 1,
          ...(position === 'start' ? {} : { ExclusiveStartKey: position }),
        }),
      );
      return { items: (page.Items ?? []).map((item) => ({ item, index })), last: page.LastEvaluatedKey };
    }),
  );
  const sortOf = (index: number, item: Record<string, unknown>) => String(item[request.partitions[index]!.sortKey]);
  // Partitions with more to read hold nothing newer than where they stopped: only what is at least that new is answered.
  const horizon = read
    .map((page, index) => (page.last ? sortOf(index, page.last) : ''))
    .reduce((newest, at) => (at > newest ? at : newest), '');
  const taken = read
    .flatMap((page) => page.items)
    .filter(({ item, index }) => sortOf(index, item) >= horizon)
    .sort((a, b) => sortOf(b.index, b.item).localeCompare(sortOf(a.index, a.item)))
    .slice(0, request.limit);
  const next = read.map((page, index): ListPosition => {
    const mine = taken.filter((entry) => entry.index === index);
    if (mine.length < page.items.length)
      return mine.length > 0 ? startKeyOf(request.partitions[index]!, mine.at(-1)!.item) : positions[index]!;
    return page.last ? (page.last as Record<string, string>) : 'done';
  });
  const done = next.every((position) => position === 'done');
  return {
    items: taken.map(({ item }) => item),
    count: taken.length,
    cursor: done ? undefined : encodeListCursor(request.binding, next),
  };
}

/** The key DynamoDB resumes after: the table's keys and the index's, as LastEvaluatedKey names them. */
function startKeyOf(partition: ListPartition, item: Record<string, unknown>): Record<string, string> {
  const names = new Set(['pk', 'sk', partition.key.name, partition.sortKey]);
  return Object.fromEntries([...names].map((name) => [name, String(item[name])]));
}

const bindingHash = (binding: string) => createHash('sha256').update(binding).digest('base64url').slice(0, 16);

function encodeListCursor(binding: string, positions: readonly ListPosition[]): string {
  return Buffer.from(JSON.stringify({ q: bindingHash(binding), p: positions })).toString('base64url');
}

function decodeListCursor(request: ListRequest): ListPosition[] {
  if (!request.cursor) return request.partitions.map(() => 'start');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(request.cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('it does not decode');
  }
  const { q, p } = (typeof decoded === 'object' && decoded !== null ? decoded : {}) as { q?: unknown; p?: unknown };
  if (q !== bindingHash(request.binding)) throw new InvalidCursorError('it belongs to another list or query');
  if (!Array.isArray(p) || p.length !== request.partitions.length)
    throw new InvalidCursorError('its positions do not fit this list');
  return p.map((position: unknown, index) => checkedPosition(position, request.partitions[index]!));
}

function checkedPosition(position: unknown, partition: ListPartition): ListPosition {
  if (position === 'start' || position === 'done') return position;
  if (typeof position !== 'object' || position === null) throw new InvalidCursorError('a position is not a key');
  const entries = Object.entries(position);
  const expected = new Set(['pk', 'sk', partition.key.name, partition.sortKey]);
  if (
    entries.length !== expected.size ||
    entries.some(([name, value]) => !expected.has(name) || typeof value !== 'string')
  )
    throw new InvalidCursorError('a position is not a key of this list');
  if ((position as Record<string, string>)[partition.key.name] !== partition.key.value)
    throw new InvalidCursorError('a position is in another partition');
  return position as Record<string, string>;
}
