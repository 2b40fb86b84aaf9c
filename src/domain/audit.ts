import type { DomainEvent } from './events';

/**
 * The audit trail of staff actions: who (the token's `sub`), what, to which item, when, why, and
 * how the item stood before and after. Each entry is written in the transaction of its effect and
 * published as a `StaffActionRecorded` event with it, so an action is never without its entry.
 */

/** What an audited item is: the kind of thing and its id, as `GET /api/admin/audit?entity=` names it. */
export const AUDITED_KINDS = ['payment', 'refund', 'difference', 'product', 'dead-letters', 'reconciliation'] as const;
export type AuditedKind = (typeof AUDITED_KINDS)[number];

/** `<kind>:<id>`, e.g. `payment:pay_…`, `product:TEA-LONGJING-250`, `dead-letters:notifications`. */
export type AuditedEntity = `${AuditedKind}:${string}`;

export const auditedEntity = (kind: AuditedKind, id: string): AuditedEntity => `${kind}:${id}`;

export interface AuditEntry {
  /** Time-ordered. */
  auditId: string;
  entity: AuditedEntity;
  /** The action taken (accept, refund, retry, settled-offline, resolve, re-run, replay, update, adjust-stock). */
  action: string;
  /** Who: the token's `sub`. */
  actor: string;
  at: string;
  reason: string;
  /** The item's relevant fields before and after the action (a summary, not the whole record). */
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** What the entry's event says about the order and customer it concerns, when it concerns one. */
export interface AuditSubject {
  orderId?: string;
  customerId?: string;
  paymentId?: string;
}

/** Whom an action on a payment or a refund concerns: its order, customer and payment. */
export const subjectOf = ({ orderId, customerId, paymentId }: Required<AuditSubject>): AuditSubject => ({
  orderId,
  customerId,
  paymentId,
});

export function auditEvent(entry: AuditEntry, subject: AuditSubject = {}): DomainEvent {
  return {
    id: `audit:${entry.auditId}`,
    type: 'StaffActionRecorded',
    occurredAt: entry.at,
    detail: {
      orderId: subject.orderId ?? '',
      customerId: subject.customerId ?? '',
      ...(subject.paymentId ? { paymentId: subject.paymentId } : {}),
      auditId: entry.auditId,
      entity: entry.entity,
      action: entry.action,
      actor: entry.actor,
      reason: entry.reason,
      before: entry.before,
      after: entry.after,
    },
  };
}
