import type { ProviderName } from '../core/payments/provider';
import type { ListWindow, Page } from '../core/kernel/page';
import type {
  LedgerRef,
  ReconciliationRun,
  ReconciliationWrite,
  StoredDifference,
  StoredReconciliationDay,
} from '../core/reconciliation/ports';
import type { BusinessDate } from '../domain/bill';
import { AlreadyExistsError, StaleStateError } from '../domain/errors';
import type { Payment } from '../domain/payment';
import { isOpenDifference, type ReconciliationDifference } from '../domain/reconciliation';
import type { Refund } from '../domain/refund';
import { attentionKey, attentionPlace, type ItemKey, key, LEDGER_SHARDS, ledgerDay, stripStorage } from './keys';
import { paginate } from './paginate';
import { browsePage, countAttention, readInOrder, tableKeys } from './browse';
import { putIfAbsent, unconditionalPut, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

/** `kind` is the item's storage kind, so the difference's own kind is kept as `differenceKind`. */
function differenceItem(
  provider: ProviderName,
  date: BusinessDate,
  difference: ReconciliationDifference,
): Record<string, unknown> & { sk: string } {
  const { kind: differenceKind, ...rest } = difference;
  return {
    ...key.difference(date, provider, difference),
    kind: 'difference',
    provider,
    date,
    differenceKind,
    ...rest,
    ...attentionPlace('DIFFERENCE', isOpenDifference(difference) ? date : undefined),
  };
}

function fromDifferenceItem(item: Record<string, unknown>): ReconciliationDifference & { provider: ProviderName } {
  const {
    differenceKind,
    date: _date,
    ...rest
  } = stripStorage<
    Omit<ReconciliationDifference, 'kind'> & { provider: ProviderName; differenceKind: string; date: string }
  >(item);
  return { kind: differenceKind as ReconciliationDifference['kind'], ...rest };
}

export const reconciliationWrites: WriteBuilders<ReconciliationWrite['kind']> = {
  recordDifference: ({ provider, date, difference }, TableName) => {
    const item = differenceItem(provider, date, difference);
    return putIfAbsent(TableName, item, () => new AlreadyExistsError('reconciliation difference', item.sk));
  },
  healDifference: ({ provider, date, difference }, TableName) => ({
    item: {
      Put: {
        TableName,
        Item: differenceItem(provider, date, { ...difference, healed: true }),
        // A person's resolve and the system's heal race for the same open difference: one wins.
        ConditionExpression: 'attribute_exists(pk) AND healed = :open AND attribute_not_exists(resolvedBy)',
        ExpressionAttributeValues: { ':open': false },
      },
    },
    onConditionFailed: () => new StaleStateError('reconciliation difference', `${date}/${provider}/${difference.kind}`),
  }),
  resolveDifference: ({ provider, date, difference }, TableName) => ({
    item: {
      Put: {
        TableName,
        Item: differenceItem(provider, date, difference),
        ConditionExpression: 'attribute_exists(pk) AND healed = :open AND attribute_not_exists(resolvedBy)',
        ExpressionAttributeValues: { ':open': false },
      },
    },
    onConditionFailed: () => new StaleStateError('reconciliation difference', `${date}/${provider}/${difference.kind}`),
  }),
  saveReconciliationRun: ({ run }, TableName) =>
    unconditionalPut(TableName, {
      ...key.reconciliationRun(run.date, run.provider),
      kind: 'reconciliationRun',
      ...run,
    }),
  // `kind` is the item's storage kind: the ledger item's kind is kept as `ledgerKind`.
  markAccounted: ({ provider, date, ref }, TableName) =>
    unconditionalPut(TableName, {
      ...key.accounted(date, provider, ref),
      kind: 'accounted',
      provider,
      ledgerKind: ref.kind,
      ledgerId: ref.id,
    }),
};

/** Every item of a day: the runs, the differences they recorded, the ledger items other days accounted for. */
export async function getReconciliation(table: DynamoTable, date: BusinessDate): Promise<StoredReconciliationDay> {
  const { items } = await paginate(table, {
    partitions: [
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': key.reconciliationDay(date) },
        ConsistentRead: true,
      },
    ],
  });
  const day: StoredReconciliationDay = { runs: [], differences: [], accounted: [] };
  for (const item of items) {
    if (item.kind === 'reconciliationRun') day.runs.push(stripStorage<ReconciliationRun>(item));
    else if (item.kind === 'accounted')
      day.accounted.push({
        provider: item.provider as ProviderName,
        kind: item.ledgerKind as LedgerRef['kind'],
        id: item.ledgerId as string,
      });
    else day.differences.push(fromDifferenceItem(item));
  }
  return day;
}

/** A provider's ledger of one Beijing day. The index holds keys only: the day's keys, then the items themselves. */
export async function listLedger(
  table: DynamoTable,
  provider: ProviderName,
  date: BusinessDate,
): Promise<{ payments: Payment[]; refunds: Refund[] }> {
  const keysOf = async (kind: 'PAYMENT' | 'REFUND'): Promise<ItemKey[]> => {
    const partitions = Array.from({ length: LEDGER_SHARDS }, (_, shard) => ({
      IndexName: TABLE.ledgerIndex.name,
      KeyConditionExpression: 'ledgerDay = :day',
      ExpressionAttributeValues: { ':day': ledgerDay(kind, provider, date, shard) },
    }));
    const { items } = await paginate(table, { partitions });
    return items.map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
  };
  const [payments, refunds] = await Promise.all([
    keysOf('PAYMENT').then((keys) => table.batchGet<Payment>(keys)),
    keysOf('REFUND').then((keys) => table.batchGet<Refund>(keys)),
  ]);
  return { payments, refunds };
}

/** A difference as stored, with its day. */
function storedDifferenceOf(item: Record<string, unknown>): StoredDifference {
  return { ...fromDifferenceItem(item), date: item.date as BusinessDate };
}

export async function getDifference(
  table: DynamoTable,
  date: BusinessDate,
  provider: ProviderName,
  differenceKey: string,
): Promise<StoredDifference | undefined> {
  const itemKey = { pk: key.reconciliationDay(date), sk: `DIFF#${provider}#${differenceKey}` };
  const item = await table.getItem<Record<string, unknown>>(itemKey);
  return item && storedDifferenceOf({ ...item, date });
}

/** Open differences, the newest day first: their attention set, then the differences themselves. */
export async function listOpenDifferences(table: DynamoTable, window: ListWindow): Promise<Page<StoredDifference>> {
  const page = await browsePage(table, attentionKey('DIFFERENCE'), {
    window,
    binding: `differences|${window.from ?? ''}|${window.to ?? ''}`,
  });
  const items = await readInOrder<Record<string, unknown>>(table, tableKeys(page.items));
  return { items: items.map(storedDifferenceOf), cursor: page.cursor };
}

export function countOpenDifferences(table: DynamoTable): Promise<number> {
  return countAttention(table, 'DIFFERENCE');
}
