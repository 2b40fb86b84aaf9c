import type { ListWindow, Page } from '../core/kernel/page';
import type { RefundWrite } from '../core/refunds/ports';
import { AlreadyExistsError, NotFoundError, StaleStateError } from '../domain/errors';
import type { Refund, RefundStatus } from '../domain/refund';
import { browsePage, countAttention, readInOrder, recentPage, tableKeys } from './browse';
import { type DueOptions, duePage, dueQueries } from './due-index';
import { attentionKey, attentionPlace, duePlace, key, ledgerPlace, recentPlace } from './keys';
import { paginate } from './paginate';
import { pickState, putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/**
 * An open refund is in the due index by its next provider call (an ended one drops out); one that
 * succeeded at its provider is in the ledger (one a person paid back offline is not); an abnormal
 * one is in the attention set, by when it became so.
 */
export function refundItem(refund: Refund): Record<string, unknown> {
  const inLedger = refund.status === 'succeeded' && !refund.offline;
  return {
    ...key.refund(refund.refundId),
    kind: 'refund',
    ...refund,
    ...duePlace('REFUND', refund.refundId, refund.nextAttemptAt),
    ...ledgerPlace('REFUND', refund.method, refund.refundId, inLedger ? refund.succeededAt : undefined),
    ...recentPlace('REFUND', refund.refundId, refund.createdAt),
    ...attentionPlace('REFUND', refund.status === 'abnormal' ? abnormalSince(refund) : undefined),
  };
}

/** When the refund last became abnormal (its log says), so that its place stays put while it waits. */
const abnormalSince = (refund: Refund) =>
  refund.logs.findLast((entry) => entry.to === 'abnormal' && entry.from !== 'abnormal')?.at ?? refund.updatedAt;

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
  return duePage<Refund>(table, page, (refund) => refund.nextAttemptAt ?? '');
}

/** Open refunds, and only those, sit in the sparse due index (few at a time): they are read for their creation times. */
export async function oldestOpenRefundCreatedAt(table: DynamoTable): Promise<string | undefined> {
  const { items } = await paginate(table, { partitions: dueQueries('REFUND') });
  const refunds = await table.batchGet<Refund>(tableKeys(items));
  return refunds.map((refund) => refund.createdAt).sort()[0];
}

/** Refunds newest first: abnormal ones from their attention set, any other status checked on every refund's Recent shards. */
export async function listRefunds(
  table: DynamoTable,
  filter: { status?: RefundStatus },
  window: ListWindow,
): Promise<Page<Refund>> {
  const binding = `refunds|${filter.status ?? ''}|${window.from ?? ''}|${window.to ?? ''}`;
  const page =
    filter.status === 'abnormal'
      ? await browsePage(table, attentionKey('REFUND'), { window, binding })
      : await recentPage(table, 'REFUND', { window, binding, filteredAfterRead: filter.status !== undefined });
  const refunds = await readInOrder<Refund>(table, tableKeys(page.items));
  return { items: refunds.filter((refund) => !filter.status || refund.status === filter.status), cursor: page.cursor };
}

export function countAbnormalRefunds(table: DynamoTable): Promise<number> {
  return countAttention(table, 'REFUND');
}
