import type { AuditedEntity, AuditEntry } from '../../domain/audit';
import type { ListWindow, Page } from '../kernel/page';

/** The audit trail: each staff action's entry, by the item it was about. */
export interface AuditStore {
  /** An item's entries, newest first. */
  listAudit(entity: AuditedEntity, window: ListWindow): Promise<Page<AuditEntry>>;
}

/** Written in the transaction of the action's effect, once (its id is new). */
export type AuditWrite = { kind: 'recordAudit'; entry: AuditEntry };
