import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ArchivedCallback, CallbackArchiveWrite } from '../core/payments/notification-ports';
import type { ProviderName } from '../core/payments/provider';
import { epochSeconds, key, stripStorage } from './keys';
import { unconditionalPut, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

export const callbackArchiveWrites: WriteBuilders<CallbackArchiveWrite['kind']> = {
  archiveCallback: ({ record: { bodyBase64, ...record } }, TableName) =>
    unconditionalPut(TableName, {
      ...key.callback(record.provider, record.eventId, record.receivedAt),
      kind: 'callback',
      ...record,
      // Gzipped binary rather than base64 text: a body of the largest accepted size makes an
      // item a fraction of DynamoDB's 400 KB limit (base64 alone would add a third).
      bodyGzip: gzipSync(Buffer.from(bodyBase64, 'base64')),
      expiresAtEpoch: epochSeconds(record.expiresAt),
    }),
};

export async function getArchivedCallbacks(
  table: DynamoTable,
  provider: ProviderName,
  eventId: string,
): Promise<ArchivedCallback[]> {
  // One query, not paginated: past 1 MB of archives (a large body retried many times) the rest is not returned.
  const page = await table.doc.send(
    new QueryCommand({
      TableName: table.name,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': key.callback(provider, eventId).pk },
      ConsistentRead: true,
    }),
  );
  return (page.Items ?? []).map((item) => {
    const { bodyGzip, ...record } = stripStorage<Omit<ArchivedCallback, 'bodyBase64'> & { bodyGzip: Uint8Array }>(item);
    return { ...record, bodyBase64: gunzipSync(bodyGzip).toString('base64') };
  });
}
