import type { ListWindow } from '../core/kernel/page';
import { type AttentionSet, attentionKey, type ItemKey, RECENT_SHARDS, type RecentKind, recentKey } from './keys';
import { type ListPartition, listPage, paginate, type PaginateResult } from './paginate';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

/**
 * The reads behind every list staff and customers page through (docs/ARCHITECTURE.md#lists): one
 * Query per partition of the Browse or Recent index (index.ts layout in keys.ts), then the items
 * themselves in one consistent batch read. Each aggregate module builds its lists from these.
 */

/** Items a filtered query evaluates per page: pages stay nearly full while one request still reads a bounded amount. */
export const FILTER_WINDOW = 100;

/** A filter the index can apply (it carries the attribute): a FilterExpression with its names and values. */
export interface IndexFilter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** `field = value` for every field given; undefined when none is. */
export function equalsFilter(fields: Record<string, string | undefined>): IndexFilter | undefined {
  const given = Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (given.length === 0) return undefined;
  return {
    expression: given.map(([name]) => `#f_${name} = :f_${name}`).join(' AND '),
    names: Object.fromEntries(given.map(([name]) => [`#f_${name}`, name])),
    values: Object.fromEntries(given.map(([name, value]) => [`:f_${name}`, value])),
  };
}

export function bothFilters(a: IndexFilter | undefined, b: IndexFilter | undefined): IndexFilter | undefined {
  if (!a || !b) return a ?? b;
  return {
    expression: `(${a.expression}) AND (${b.expression})`,
    names: { ...a.names, ...b.names },
    values: { ...a.values, ...b.values },
  };
}

/** One partition of an index, its sort key bounded by the window's `from` and `to`, with an index-side filter. */
function partition(
  index: { name: string; partitionKey: string; sortKey: string },
  value: string,
  window: ListWindow,
  filter?: IndexFilter,
): ListPartition {
  const range =
    window.from && window.to
      ? ' AND #sk BETWEEN :from AND :to'
      : window.from
        ? ' AND #sk >= :from'
        : window.to
          ? ' AND #sk <= :to'
          : '';
  return {
    query: {
      IndexName: index.name,
      KeyConditionExpression: `#pk = :pk${range}`,
      ExpressionAttributeNames: {
        '#pk': index.partitionKey,
        ...(range ? { '#sk': index.sortKey } : {}),
        ...filter?.names,
      },
      ExpressionAttributeValues: {
        ':pk': value,
        ...(window.from ? { ':from': window.from } : {}),
        ...(window.to ? { ':to': window.to } : {}),
        ...filter?.values,
      },
      ...(filter ? { FilterExpression: filter.expression } : {}),
    },
    key: { name: index.partitionKey, value },
    sortKey: index.sortKey,
  };
}

export interface BrowseRequest {
  window: ListWindow;
  /** What the list is, for its cursor (the partition is bound too). */
  binding: string;
  filter?: IndexFilter;
  /** Filters applied to the items after they are read (the index does not carry those attributes). */
  filteredAfterRead?: boolean;
}

/** A page of one Browse partition (a customer's orders, an attention set): one Query. */
export function browsePage(table: DynamoTable, value: string, request: BrowseRequest): Promise<PaginateResult> {
  return listPage(table, {
    partitions: [partition(TABLE.browseIndex, value, request.window, request.filter)],
    limit: request.window.limit,
    cursor: request.window.cursor,
    binding: `browse|${value}|${request.binding}`,
    ...(request.filter || request.filteredAfterRead ? { window: Math.max(request.window.limit, FILTER_WINDOW) } : {}),
  });
}

/** A page of every item of a kind, newest first over its Recent shards: one Query per shard, in parallel. */
export function recentPage(table: DynamoTable, kind: RecentKind, request: BrowseRequest): Promise<PaginateResult> {
  const shards = Array.from({ length: RECENT_SHARDS }, (_, shard) =>
    partition(TABLE.recentIndex, recentKey(kind, shard), request.window, request.filter),
  );
  return listPage(table, {
    partitions: shards,
    limit: request.window.limit,
    cursor: request.window.cursor,
    binding: `recent|${kind}|${request.binding}`,
    ...(request.filter || request.filteredAfterRead ? { window: Math.max(request.window.limit, FILTER_WINDOW) } : {}),
  });
}

/** How many items an attention set holds (that pass `filter`): a COUNT query, its pages followed. */
export async function countAttention(table: DynamoTable, set: AttentionSet, filter?: IndexFilter): Promise<number> {
  const { query } = partition(TABLE.browseIndex, attentionKey(set), { limit: 0 }, filter);
  return (await paginate(table, { partitions: [{ ...query, Select: 'COUNT' }] })).count;
}

/** The table keys of index entries, for the batch read of the items. */
export const tableKeys = (items: ReadonlyArray<Record<string, unknown>>): ItemKey[] =>
  items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));

/** The items of `keys` that exist, in the order of `keys` (one consistent batch read per 100). */
export async function readInOrder<T>(table: DynamoTable, keys: readonly ItemKey[]): Promise<T[]> {
  if (keys.length === 0) return [];
  const found = await table.batchGetWithKeys<T>(keys);
  return keys.flatMap((itemKey) => found.get(`${itemKey.pk}|${itemKey.sk}`) ?? []);
}
