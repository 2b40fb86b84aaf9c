import type { ListWindow, Page } from '../core/kernel/page';
import {
  type DedupeRecord,
  NotificationAlreadyAppliedError,
  type NotificationFailure,
  type NotificationWrite,
} from '../core/payments/notification-ports';
import type { ProviderName } from '../core/payments/provider';
import { StaleStateError } from '../domain/errors';
import { browsePage, countAttention, readInOrder, tableKeys } from './browse';
import { attentionKey, epochSeconds, key } from './keys';
import { putIfAbsent, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

export const notificationWrites: WriteBuilders<NotificationWrite['kind']> = {
  recordNotification: ({ record }, TableName) => {
    const item = {
      ...key.notification(record.provider, record.eventId),
      kind: 'notification',
      ...record,
      expiresAtEpoch: epochSeconds(record.expiresAt),
    };
    return putIfAbsent(TableName, item, () => new NotificationAlreadyAppliedError(record.provider, record.eventId));
  },
  // One update per failure, whatever came before: counted up, the last error kept; dead-lettered, it joins the attention set.
  recordNotificationFailure: ({ failure }, TableName) => {
    const { provider, eventId, lastFailedAt, deadLettered, ...rest } = failure;
    const fields = { ...rest, provider, eventId, lastFailedAt, deadLettered, kind: 'notificationFailure' };
    const sets = Object.keys(fields).map((name) => `#${name} = :${name}`);
    const index = TABLE.browseIndex;
    return {
      item: {
        Update: {
          TableName,
          Key: key.notificationFailure(provider, eventId),
          UpdateExpression: [
            `SET ${[...sets, '#firstFailedAt = if_not_exists(#firstFailedAt, :lastFailedAt)', ...(deadLettered ? ['#bk = :bk', '#ba = :lastFailedAt'] : [])].join(', ')}`,
            'ADD #failures :one',
            'REMOVE #recoveredAt',
          ].join(' '),
          ExpressionAttributeNames: {
            ...Object.fromEntries(Object.keys(fields).map((name) => [`#${name}`, name])),
            '#firstFailedAt': 'firstFailedAt',
            '#failures': 'failures',
            '#recoveredAt': 'recoveredAt',
            ...(deadLettered ? { '#bk': index.partitionKey, '#ba': index.sortKey } : {}),
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(Object.entries(fields).map(([name, value]) => [`:${name}`, value])),
            ':one': 1,
            ...(deadLettered ? { ':bk': attentionKey('DEAD_LETTER') } : {}),
          },
        },
      },
      onConditionFailed: () => new Error('an unconditional update cannot fail a condition'),
    };
  },
  recoverNotification: ({ provider, eventId, at }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.notificationFailure(provider, eventId),
        UpdateExpression: 'SET recoveredAt = :at REMOVE browseKey, browseAt',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      },
    },
    onConditionFailed: () => new StaleStateError('notification failure', `${provider}/${eventId}`),
  }),
  markReplayed: ({ provider, eventId, at, by }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.notificationFailure(provider, eventId),
        UpdateExpression: 'SET replayedAt = :at, replayedBy = :by REMOVE browseKey, browseAt',
        ConditionExpression: 'attribute_exists(browseKey)',
        ExpressionAttributeValues: { ':at': at, ':by': by },
      },
    },
    onConditionFailed: () => new StaleStateError('dead letter', `${provider}/${eventId}`),
  }),
};

export function getNotificationRecord(
  table: DynamoTable,
  provider: ProviderName,
  eventId: string,
): Promise<DedupeRecord | undefined> {
  return table.getItem<DedupeRecord>(key.notification(provider, eventId));
}

/** Dead letters not replayed since, the latest failure first: their attention set, then the failure records. */
export async function listDeadLetters(table: DynamoTable, window: ListWindow): Promise<Page<NotificationFailure>> {
  const page = await browsePage(table, attentionKey('DEAD_LETTER'), {
    window,
    binding: `dead-letters|${window.from ?? ''}|${window.to ?? ''}`,
  });
  return { items: await readInOrder<NotificationFailure>(table, tableKeys(page.items)), cursor: page.cursor };
}

export function countDeadLetters(table: DynamoTable): Promise<number> {
  return countAttention(table, 'DEAD_LETTER');
}
