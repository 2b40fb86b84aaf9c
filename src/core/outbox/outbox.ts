import { createHash } from 'node:crypto';
import type { DomainEvent } from '../../domain/events';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { OutboxEntry, OutboxStore, PublishFailure } from './ports';
import type { Commit, Write } from '../kernel/ports';

/**
 * Transactional outbox (docs/ARCHITECTURE.md#transactional-outbox). The events of a state
 * change are written in the same transaction as the change, as one outbox entry (the repository
 * lays it on an item the change writes anyway); nothing on the request path publishes them. The
 * table's stream brings each committed entry to the outbox publisher (publishOutboxEntries), which
 * puts its events on the bus; a failure is retried from that entry by the stream's event source,
 * so a committed change never loses its events. Event ids are deterministic, so an event published
 * again after a retry carries the same id.
 */
/** How many writes commitWithEvents commits of its own: `writes`, plus the outbox entry when there are events. */
export function commitSize(writes: readonly Write[], events: readonly DomainEvent[]): number {
  return writes.length + (events.length > 0 ? 1 : 0);
}

export async function commitWithEvents(
  deps: Uses<Commit, 'clock'>,
  writes: readonly Write[],
  events: readonly DomainEvent[],
  outboxId?: string,
): Promise<void> {
  if (events.length === 0) {
    await deps.repo.commit(writes);
    return;
  }
  const entry: OutboxEntry = {
    outboxId:
      outboxId ??
      createHash('sha256')
        .update(events.map((event) => event.id).join('|'))
        .digest('hex')
        .slice(0, 32),
    events: [...events],
    createdAt: deps.clock.now().toISOString(),
  };
  await deps.repo.commit([...writes, { kind: 'addToOutbox', entry }]);
}

/**
 * An entry the bus still refuses this long after its commit is parked instead of retried: the
 * stream keeps a record 24 hours, and an entry riding on an item is gone from the item at its next write.
 */
export const OUTBOX_PARK_AFTER_HOURS = 20;

/**
 * Publishes committed outbox entries, in the order the stream brought them. Answers the position
 * of the first entry with an event the bus did not take and may take later: the event source
 * retries from there (entries after it are published again, under the same event ids). An event
 * the bus can never take (too large), or still refuses after OUTBOX_PARK_AFTER_HOURS, is logged as
 * an error, counted, and parked in an item of its own for an operator, so it neither blocks the
 * stream nor is lost.
 */
export async function publishOutboxEntries(
  deps: Uses<OutboxStore, 'events' | 'metrics' | 'logger' | 'clock'>,
  entries: readonly OutboxEntry[],
): Promise<{ firstToRetry?: number }> {
  const events = entries.flatMap((entry) => entry.events);
  if (events.length === 0) return {};
  let failed: PublishFailure[];
  try {
    ({ failed } = await deps.events.publish(events));
  } catch (error) {
    failed = events.map((event) => ({ event, reason: String(error), retryable: true }));
  }
  const published = events.length - failed.length;
  if (published > 0) deps.metrics.count(Metric.EventsPublished, published);
  const entryIndex = new Map(entries.flatMap((entry, index) => entry.events.map((event) => [event, index] as const)));
  const entryOf = (event: DomainEvent) => entryIndex.get(event)!;

  const parkBefore = deps.clock.now().getTime() - OUTBOX_PARK_AFTER_HOURS * 3_600_000;
  const overdue = (event: DomainEvent) => Date.parse(entries[entryOf(event)]!.createdAt) < parkBefore;
  const retry = failed.filter((failure) => failure.retryable && !overdue(failure.event));
  const firstToRetry = retry.length > 0 ? Math.min(...retry.map(({ event }) => entryOf(event))) : undefined;
  // Failures the retry will not bring back (entries before the first retried one) are parked now.
  const parked = failed.filter(
    (failure) => !retry.includes(failure) && entryOf(failure.event) < (firstToRetry ?? entries.length),
  );
  for (const { event, reason } of parked) {
    deps.metrics.count(Metric.EventsUndeliverable, 1, { type: event.type });
    deps.logger.error('event cannot be published: parked for an operator', {
      eventId: event.id,
      type: event.type,
      reason,
    });
  }
  for (const entry of new Set(parked.map(({ event }) => entries[entryOf(event)]!))) {
    const undeliverable = parked.filter(({ event }) => entry.events.includes(event)).map(({ event }) => event);
    await deps.repo.parkUndeliverable({
      ...entry,
      events: entry.events.filter((event) => !undeliverable.includes(event)),
      undeliverable,
    });
  }
  if (firstToRetry === undefined) return {};
  deps.metrics.count(Metric.OutboxPublishFailed);
  deps.logger.warn('event publish failed; the stream retries it', {
    eventIds: retry.map(({ event }) => event.id),
    reason: retry[0]!.reason,
  });
  return { firstToRetry };
}
