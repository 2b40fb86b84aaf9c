import { createHash } from 'node:crypto';
import { DOMAIN_EVENT_TYPES, type DomainEvent } from '../../domain/events';

/**
 * Where a delivery lives and where it stands among its order's events, all derived from the
 * event, so a bus event delivered twice finds the delivery it made the first time.
 */

/** `20261125040000123`: the event's time to the millisecond, in fixed-width digits that sort as time does. */
const compactTime = (iso: string) => new Date(iso).toISOString().replace(/\D/g, '');
const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

export const DELIVERY_ID_PATTERN = /^whd_\d{17}_[0-9a-f]{16}$/;

/** `whd_<event time>_<hash of the event id>`: unique per endpoint and event, ordered by when the event happened. */
export function deliveryIdOf(event: Pick<DomainEvent, 'id' | 'occurredAt'>): string {
  return `whd_${compactTime(event.occurredAt)}_${digest(event.id)}`;
}

/** The first and last delivery ids of events that happened from `from` to `to` (inclusive). */
export function deliveryIdRange(from: string, to: string): { first: string; last: string } {
  return { first: `whd_${compactTime(from)}_`, last: `whd_${compactTime(to)}_g` };
}

/** An endpoint's deliveries of one order (or of one event that names no order) form a lane. */
export function laneOf(endpointId: string, event: Pick<DomainEvent, 'id' | 'detail'>): string {
  return `${endpointId}#${event.detail.orderId || event.id}`;
}

/**
 * An event's place in its lane: when it happened, then its type's place in DOMAIN_EVENT_TYPES,
 * which lists the events one change emits in the order they happen (PaymentSucceeded before
 * OrderPaid, RefundSucceeded before OrderRefunded, PaymentCancelled before OrderCancelled).
 */
export function lanePosition(event: Pick<DomainEvent, 'id' | 'type' | 'occurredAt'>): string {
  const rank = String(DOMAIN_EVENT_TYPES.indexOf(event.type)).padStart(2, '0');
  return `${compactTime(event.occurredAt)}.${rank}.${digest(event.id)}`;
}
