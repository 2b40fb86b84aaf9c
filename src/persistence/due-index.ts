import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../core/kernel/page';
import { DUE_SHARDS, type DuePrefix, stripStorage } from './keys';
import type { PaginateResult } from './paginate';
import { TABLE } from './table-definition';

/** A page of due work asked for: at most `limit` items, resuming at `cursor`. */
export interface DueOptions {
  limit: number;
  cursor?: string;
}

/** One query per shard of `prefix` in the due index: what is due by `dueBy`, or, without it, everything there. */
export function dueQueries(
  prefix: DuePrefix,
  dueBy?: Date,
  read: Pick<QueryCommandInput, 'ProjectionExpression' | 'Select'> = {},
) {
  return Array.from({ length: DUE_SHARDS[prefix] }, (_, shard) => ({
    IndexName: TABLE.dueIndex.name,
    KeyConditionExpression: dueBy ? 'dueShard = :shard AND dueAt <= :dueBy' : 'dueShard = :shard',
    ExpressionAttributeValues: { ':shard': `${prefix}#${shard}`, ...(dueBy ? { ':dueBy': dueBy.toISOString() } : {}) },
    ...read,
  }));
}

/** Due items as the domain knows them; each shard comes back in time order, a page spanning shards is merged back into it. */
export function duePage<T>(result: PaginateResult, dueAtOf: (item: T) => string): Page<T> {
  const items = result.items.map((item) => stripStorage<T>(item));
  items.sort((a, b) => dueAtOf(a).localeCompare(dueAtOf(b)));
  return { items, cursor: result.cursor };
}
