import type { Page } from '../core/kernel/page';
import type { RefundWrite } from '../core/refunds/ports';
import { AlreadyExistsError, NotFoundError, StaleStateError } from '../domain/errors';
import type { Refund } from '../domain/refund';
import { type DueOptions, duePage, dueQueries } from './due-index';
import { duePlace, key, ledgerPlace } from './keys';
import { paginate } from './paginate';
import { pickState, putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/** An open refund is in the due index by its next provider call (an ended one drops out); a succeeded one is in the ledger. */
export function refundItem(refund: Refund): Record<string, unknown> {
  return {
    ...key.refund(refund.refundId),
    kind: 'refund',
    ...refund,
    ...duePlace('REFUND', refund.refundId, refund.nextAttemptAt),
    ...ledgerPlace(
      'REFUND',
      refund.method,
      refund.refundId,
      refund.status === 'succeeded' ? refund.succeededAt : undefined,
    ),
  };
}

export const refundWrites: WriteBuilders<RefundWrite['kind']> = {
  createRefund: ({ refund }, TableName) =>
    putIfAbsent(TableName, refundItem(refund), () => new AlreadyExistsError('refund', refund.refundId)),
  updateRefund: ({ before, after }, TableName) => ({
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
      current
        ? new StaleStateError('refund', before.refundId, pickState(current))
        : new NotFoundError('refund', before.refundId),
  }),
};

export function getRefund(table: DynamoTable, refundId: string): Promise<Refund | undefined> {
  return table.getItem<Refund>(key.refund(refundId));
}

export function getRefunds(table: DynamoTable, refundIds: readonly string[]): Promise<Refund[]> {
  return table.getInOrder<Refund>(refundIds, key.refund, (refund) => refund.refundId);
}

export async function findDueRefunds(table: DynamoTable, dueBy: Date, options: DueOptions): Promise<Page<Refund>> {
  const page = await paginate(table, { partitions: dueQueries('REFUND', dueBy), ...options });
  return duePage<Refund>(page, (refund) => refund.nextAttemptAt ?? '');
}

/** Open refunds, and only those, sit in the sparse due index (few at a time): their creation times are read. */
export async function oldestOpenRefundCreatedAt(table: DynamoTable): Promise<string | undefined> {
  const { items } = await paginate(table, {
    partitions: dueQueries('REFUND', undefined, { ProjectionExpression: 'createdAt' }),
  });
  let oldest: string | undefined;
  for (const item of items)
    if (typeof item.createdAt === 'string' && (!oldest || item.createdAt < oldest)) oldest = item.createdAt;
  return oldest;
}
