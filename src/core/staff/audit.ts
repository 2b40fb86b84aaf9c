import { randomBytes } from 'node:crypto';
import { auditedEntity, auditEvent, type AuditedKind, type AuditEntry, type AuditSubject } from '../../domain/audit';
import type { DomainEvent } from '../../domain/events';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import { commitWithEvents } from '../outbox/outbox';

/** Who acts and why: every staff action carries both (the token's `sub`, a required reason). */
export interface StaffNote {
  actor: string;
  reason: string;
}

/** What a staff action did to one item: its kind and id, the action, and the item's relevant fields before and after. */
export interface AuditedChange {
  kind: AuditedKind;
  id: string;
  action: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  subject?: AuditSubject;
}

/** A time-ordered audit id: the action's time, then randomness (two actions in one millisecond stay apart). */
const auditId = (now: Date) => `aud_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;

/** A staff action's audit entry, with the write that records it and its StaffActionRecorded event. */
export function auditRecord(now: Date, note: StaffNote, change: AuditedChange) {
  const entry: AuditEntry = {
    auditId: auditId(now),
    entity: auditedEntity(change.kind, change.id),
    action: change.action,
    actor: note.actor,
    at: now.toISOString(),
    reason: note.reason,
    before: change.before,
    after: change.after,
  };
  return { entry, write: { kind: 'recordAudit', entry } satisfies Write, event: auditEvent(entry, change.subject) };
}

/**
 * Commits a staff action's effect with its audit entry and the entry's StaffActionRecorded event
 * in ONE transaction: the effect is never without its entry, the entry never without its effect.
 */
export async function commitAudited(
  deps: Uses<Commit, 'clock'>,
  note: StaffNote,
  change: AuditedChange,
  effect: { writes: readonly Write[]; events: readonly DomainEvent[] },
  /** The request's idempotency record, given the entry (the response shows it). */
  remember: (entry: AuditEntry) => Write[] = () => [],
): Promise<AuditEntry> {
  const audit = auditRecord(deps.clock.now(), note, change);
  await commitWithEvents(
    deps,
    [...effect.writes, audit.write, ...remember(audit.entry)],
    [...effect.events, audit.event],
  );
  return audit.entry;
}
