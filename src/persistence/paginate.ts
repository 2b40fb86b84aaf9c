import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
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
