import { DomainError } from '../domain/errors';
import type { HttpEvent } from './route';

/** A PATCH without If-Match would overwrite a change it never saw: 428, read the item first. */
export class PreconditionRequiredError extends DomainError {
  constructor() {
    super('PRECONDITION_REQUIRED', 'Send If-Match with the version you read (GET it first)');
  }
}

/** The version an If-Match header names: `3` or the ETag form `"3"` (weak `W/"3"` too). */
export function ifMatchVersion(event: HttpEvent): number {
  const header = event.headers['if-match']?.trim();
  const match = header ? /^(?:W\/)?"?(\d{1,12})"?$/.exec(header) : null;
  if (!match) throw new PreconditionRequiredError();
  return Number(match[1]);
}
