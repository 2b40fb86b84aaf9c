import { createHash } from 'node:crypto';
import { DomainError, IdempotencyKeyReusedError, ValidationError } from '../domain/errors';
import type { Uses } from '../core/kernel/deps';
import {
  type IdempotencyRecord,
  IdempotencyRecordExistsError,
  type IdempotencyStore,
  type StoredResponse,
} from '../core/kernel/idempotency-ports';
import type { Commit, Write } from '../core/kernel/ports';
import { toErrorResponse } from './errors';

/** Kept at least 24 h, like Stripe; DynamoDB TTL removes it some time after. */
const RETENTION_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

export interface IdempotencyScope {
  customerId: string;
  key: string;
  /** Hash of the route and the canonical request body: the same key with another body is refused. */
  fingerprint: string;
  successStatus: number;
}

export type Remember = (body: unknown) => Write[];

export function validateKey(key: string): string {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key))
    throw new ValidationError('Idempotency-Key must be 8–128 characters of letters, digits, _ . : -');
  return key;
}

export function fingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs a creating request at most once per (customer, key). The first response is committed in
 * the same transaction as what it created, so "created" and "remembered" cannot disagree; a
 * retry or a concurrent twin loses that transaction on the key's condition and replays the
 * winner's response, which the failed condition returns. Business errors (4xx) are remembered too; 5xx are not, so a retry can succeed.
 */
export async function runIdempotent(
  deps: Uses<IdempotencyStore & Commit, 'clock'>,
  scope: IdempotencyScope,
  run: (remember: Remember) => Promise<unknown>,
): Promise<StoredResponse & { replayed: boolean }> {
  const record = (response: StoredResponse): IdempotencyRecord => {
    const now = deps.clock.now();
    return {
      customerId: scope.customerId,
      key: scope.key,
      requestHash: scope.fingerprint,
      response,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + RETENTION_MS).toISOString(),
    };
  };
  const remember: Remember = (body) => [
    { kind: 'recordIdempotency', record: record({ statusCode: scope.successStatus, body }) },
  ];

  // No read first: the record is written conditionally in the request's own transaction, and a
  // failed condition returns the winner's record. A replay costs that one failed transaction.
  const replay = (existing: IdempotencyRecord) => {
    if (existing.requestHash !== scope.fingerprint) throw new IdempotencyKeyReusedError();
    return { ...existing.response, replayed: true };
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return { statusCode: scope.successStatus, body: await run(remember), replayed: false };
    } catch (error) {
      if (error instanceof IdempotencyRecordExistsError) {
        const existing = error.existing ?? (await deps.repo.getIdempotencyRecord(scope.customerId, scope.key));
        if (existing) return replay(existing);
        continue;
      }
      if (!(error instanceof DomainError)) throw error;
      const response = toErrorResponse(error);
      if (response.statusCode >= 500) throw error;
      try {
        await deps.repo.commit([{ kind: 'recordIdempotency', record: record(response) }]);
      } catch (storeError) {
        if (!(storeError instanceof IdempotencyRecordExistsError)) throw storeError;
        const existing = storeError.existing ?? (await deps.repo.getIdempotencyRecord(scope.customerId, scope.key));
        if (existing) return replay(existing);
        continue;
      }
      throw error;
    }
  }
  throw new Error('Idempotency record vanished between conflict and read');
}
