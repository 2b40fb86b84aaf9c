import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Write } from '../core/kernel/ports';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One write as a DynamoDB transaction item, with the typed error its failed condition means. */
export interface PreparedWrite {
  item: TransactItem;
  /** The error for this write's failed condition, given the item as it was (if any). */
  onConditionFailed(current: Record<string, unknown> | undefined): Error;
}

/** How each kind of write becomes a DynamoDB write; every aggregate module contributes the builders of its kinds. */
export type WriteBuilders<Kind extends Write['kind']> = {
  [K in Kind]: (write: Extract<Write, { kind: K }>, tableName: string) => PreparedWrite;
};

/** A failed condition returns the item as it was, for the typed error. */
export const returnOld = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };

/** Every create: the item must not exist yet. */
export function putIfAbsent(
  TableName: string,
  Item: Record<string, unknown>,
  onConditionFailed: () => Error,
): PreparedWrite {
  return { item: { Put: { TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } }, onConditionFailed };
}

/** A put with no condition: it replaces whatever was there. */
export function unconditionalPut(TableName: string, Item: Record<string, unknown>): PreparedWrite {
  return {
    item: { Put: { TableName, Item } },
    onConditionFailed: () => new Error('unconditional write cannot fail a condition'),
  };
}

/** The state a versioned item was in, for a StaleStateError. */
export function pickState(item: Record<string, unknown>): { status?: string; version?: number } {
  return { status: item.status as string | undefined, version: item.version as number | undefined };
}
