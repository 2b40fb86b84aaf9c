import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../core/kernel/page';
import { tableKeys } from './browse';
import { DUE_SHARDS, type DuePrefix } from './keys';
import type { PaginateResult } from './paginate';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

/** A page of due work asked for: at most `limit` items, resuming at `cursor`. */
export interface DueOptions {
  limit: number;
  cursor?: string;
}

/** One query per shard of `prefix` in the due index: what is due by `dueBy`, or, without it, everything there. */
export function dueQueries(prefix: DuePrefix, dueBy?: Date, read: Pick<QueryCommandInput, 'Select'> = {}) {
  return Array.from({ length: DUE_SHARDS[prefix] }, (_, shard) => ({
    IndexName: TABLE.dueIndex.name,
    KeyConditionExpression: dueBy ? 'dueShard = :shard AND dueAt <= :dueBy' : 'dueShard = :shard',
    ExpressionAttributeValues: { ':shard': `${prefix}#${shard}`, ...(dueBy ? { ':dueBy': dueBy.toISOString() } : {}) },
    ...read,
  }));
}

/**
 * Due items as the domain knows them: the index holds keys only, so the page's items are read by
 * key (one BatchGetItem per 100, consistently: the sweeper sees each as it is now, and one gone
 * since the query is left out). Each shard comes back in time order; a page spanning shards is
 * merged back into it.
 */
export async function duePage<T>(
  table: DynamoTable,
  result: PaginateResult,
  dueAtOf: (item: T) => string,
): Promise<Page<T>> {
  const items = await table.batchGet<T>(tableKeys(result.items));
  items.sort((a, b) => dueAtOf(a).localeCompare(dueAtOf(b)));
  return { items, cursor: result.cursor };
}
