import type { ListWindow, Page } from '../core/kernel/page';
import type { AuditWrite } from '../core/staff/ports';
import type { AuditedEntity, AuditEntry } from '../domain/audit';
import { AlreadyExistsError } from '../domain/errors';
import { key, stripStorage } from './keys';
import { listPage } from './paginate';
import { putIfAbsent, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/** An audit entry is an item of its own under the item it is about, sorted by when: that item's trail is one partition. */
export const auditWrites: WriteBuilders<AuditWrite['kind']> = {
  recordAudit: ({ entry }, TableName) =>
    putIfAbsent(
      TableName,
      { ...key.audit(entry.entity, entry.at, entry.auditId), kind: 'audit', ...entry },
      () => new AlreadyExistsError('audit entry', entry.auditId),
    ),
};

/** An item's trail, newest first: one Query a page on its own partition (strongly consistent: an action just taken is there). */
export async function listAudit(
  table: DynamoTable,
  entity: AuditedEntity,
  window: ListWindow,
): Promise<Page<AuditEntry>> {
  const range =
    window.from && window.to
      ? ' AND sk BETWEEN :from AND :to'
      : window.from
        ? ' AND sk >= :from'
        : window.to
          ? ' AND sk <= :to'
          : '';
  const page = await listPage(table, {
    partitions: [
      {
        query: {
          KeyConditionExpression: `pk = :pk${range}`,
          ExpressionAttributeValues: {
            ':pk': key.auditTrail(entity),
            ...(window.from ? { ':from': `AT#${window.from}` } : {}),
            // Everything at `to` itself, whatever its id.
            ...(window.to ? { ':to': `AT#${window.to}#~` } : {}),
          },
          ConsistentRead: true,
        },
        key: { name: 'pk', value: key.auditTrail(entity) },
        sortKey: 'sk',
      },
    ],
    limit: window.limit,
    cursor: window.cursor,
    binding: `audit|${window.from ?? ''}|${window.to ?? ''}`,
  });
  return { items: page.items.map((item) => stripStorage<AuditEntry>(item)), cursor: page.cursor };
}
