import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type IdempotencyRecord,
  IdempotencyRecordExistsError,
  type IdempotencyWrite,
  type StoredResponse,
} from '../core/kernel/idempotency-ports';
import { epochSeconds, key, stripStorage } from './keys';
import { returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/**
 * The stored response is kept gzipped in one binary attribute: it is only ever replayed whole; as
 * nested maps it slowed the create's transaction, as JSON text it cost a write unit more
 * (docs/ARCHITECTURE.md#idempotency).
 */
const idempotencyItem = ({ response, ...record }: IdempotencyRecord) => ({
  ...key.idempotency(record.customerId, record.key),
  kind: 'idempotency',
  ...record,
  responseGzip: gzipSync(JSON.stringify(response)),
  expiresAtEpoch: epochSeconds(record.expiresAt),
});

type StoredIdempotencyRecord = Omit<IdempotencyRecord, 'response'> & {
  responseGzip?: Uint8Array;
  response?: StoredResponse;
};

/** A record as stored (its storage attributes stripped); one written by an earlier version (kept a day) holds its response as a map. */
function idempotencyRecordOf({ responseGzip, response, ...record }: StoredIdempotencyRecord): IdempotencyRecord {
  return {
    ...record,
    response: responseGzip ? (JSON.parse(gunzipSync(responseGzip).toString('utf8')) as StoredResponse) : response!,
  };
}

export const idempotencyWrites: WriteBuilders<IdempotencyWrite['kind']> = {
  // The winner's record comes back with the failure, so a replay answers without reading it.
  recordIdempotency: ({ record }, TableName) => ({
    item: {
      Put: { TableName, Item: idempotencyItem(record), ConditionExpression: 'attribute_not_exists(pk)', ...returnOld },
    },
    onConditionFailed: (current) =>
      new IdempotencyRecordExistsError(
        record.customerId,
        record.key,
        current ? idempotencyRecordOf(stripStorage<StoredIdempotencyRecord>(current)) : undefined,
      ),
  }),
};

export async function getIdempotencyRecord(
  table: DynamoTable,
  customerId: string,
  idempotencyKey: string,
): Promise<IdempotencyRecord | undefined> {
  const stored = await table.getItem<StoredIdempotencyRecord>(key.idempotency(customerId, idempotencyKey));
  return stored && idempotencyRecordOf(stored);
}
