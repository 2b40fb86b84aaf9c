import { DomainError } from '../../domain/errors';

/** The first response to a creating request, kept so a retry with the same key gets it again. */
export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export interface IdempotencyRecord {
  customerId: string;
  key: string;
  requestHash: string;
  response: StoredResponse;
  createdAt: string;
  expiresAt: string;
}

export interface IdempotencyStore {
  getIdempotencyRecord(customerId: string, key: string): Promise<IdempotencyRecord | undefined>;
}

/** Once per key: IdempotencyRecordExistsError when a request with the key committed first. */
export type IdempotencyWrite = { kind: 'recordIdempotency'; record: IdempotencyRecord };

/** The idempotency key was used by a request that committed first: read its record and replay. */
export class IdempotencyRecordExistsError extends DomainError {
  /** `existing`: the record that won, as the failed write returned it (absent if it could not). */
  constructor(
    readonly customerId: string,
    readonly key: string,
    readonly existing?: IdempotencyRecord,
  ) {
    super('IDEMPOTENCY_RECORD_EXISTS', 'A request with this Idempotency-Key already committed');
  }
}
