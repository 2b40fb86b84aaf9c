import type { DomainEvent } from '../../domain/events';

/** Domain events committed with a state change (transactional outbox): the table's stream publishes them. */
export interface OutboxEntry {
  outboxId: string;
  events: DomainEvent[];
  /** Events the bus refused for good (too large, or for OUTBOX_PARK_AFTER_HOURS): kept for an operator (OutboxStore.parkUndeliverable). */
  undeliverable?: DomainEvent[];
  createdAt: string;
}

export type OutboxWrite =
  /** At most one per commit: rides on the smallest order, payment or refund the commit rewrites whole, else an item of its own. */
  { kind: 'addToOutbox'; entry: OutboxEntry };

export interface OutboxStore {
  /** Keeps an entry, with the events the bus refused for good moved to `undeliverable`, in an item of its own that never expires and is not published again (an operator's to resolve). */
  parkUndeliverable(entry: OutboxEntry): Promise<void>;
}

/** An event the bus did not take. */
export interface PublishFailure {
  event: DomainEvent;
  /** Why, for the log line: the bus's error code, or the size that made it unpublishable. */
  reason: string;
  /** False when retrying cannot help (the event is larger than the bus accepts). */
  retryable: boolean;
}

export interface EventPublisher {
  /**
   * Publishes what the bus accepts and answers which events it did not (none: all were
   * published). Rejects only when nothing can be said about the outcome.
   */
  publish(events: readonly DomainEvent[]): Promise<{ failed: PublishFailure[] }>;
}
