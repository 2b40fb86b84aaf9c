import {
  type DedupeRecord,
  NotificationAlreadyAppliedError,
  type NotificationWrite,
} from '../core/payments/notification-ports';
import type { ProviderName } from '../core/payments/provider';
import { epochSeconds, key } from './keys';
import { putIfAbsent, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

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
};

export function getNotificationRecord(
  table: DynamoTable,
  provider: ProviderName,
  eventId: string,
): Promise<DedupeRecord | undefined> {
  return table.getItem<DedupeRecord>(key.notification(provider, eventId));
}
