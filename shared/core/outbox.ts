import { createHash } from 'node:crypto';
import type { DomainEvent } from '../domain/events';
import type { Deps } from './deps';
import { Metric } from './metric-names';
import type { OutboxEntry, Write } from './ports';

const RELAY_GRACE_MS = 60_000;

/**
 * Transactional outbox. The events of a state change are written in the same transaction as the
 * change, then published, then removed. If we die in between, the entry stays and is published by
 * the next sweeper run (or by a redelivery of the same notification): a committed change never
 * loses its event. Event ids are deterministic, so a repeat publish is recognisable downstream.
 */
/** How many writes commitWithEvents commits: `writes`, plus the outbox entry when there are events. */
export function commitSize(writes: readonly Write[], events: readonly DomainEvent[]): number {
  return writes.length + (events.length > 0 ? 1 : 0);
}

export async function commitWithEvents(deps: Deps, writes: readonly Write[], events: readonly DomainEvent[], outboxId?: string): Promise<void> {
  if (events.length === 0) {
    await deps.repo.commit(writes);
    return;
  }
  const now = deps.clock.now();
  const entry: OutboxEntry = {
    outboxId: outboxId ?? createHash('sha256').update(events.map((event) => event.id).join('|')).digest('hex').slice(0, 32),
    events: [...events],
    createdAt: now.toISOString(),
    publishBy: new Date(now.getTime() + RELAY_GRACE_MS).toISOString(),
  };
  await deps.repo.commit([...writes, { kind: 'addToOutbox', entry }]);
  await publishOutboxEntry(deps, entry);
}

/** Publishes and removes one entry. A failure is left for the relay: the change itself is safe. */
export async function publishOutboxEntry(deps: Deps, entry: OutboxEntry): Promise<boolean> {
  try {
    await deps.events.publish(entry.events);
    deps.metrics.count(Metric.EventsPublished, entry.events.length);
    await deps.repo.deleteOutboxEntry(entry.outboxId);
    return true;
  } catch (error) {
    deps.metrics.count(Metric.OutboxPublishFailed);
    deps.logger.warn('event publish failed; the outbox relay will retry', { outboxId: entry.outboxId, error: String(error) });
    return false;
  }
}

/** Publishes entries whose writer did not (sweeper): returns how many were published. */
export async function relayOutbox(deps: Deps, limit = 100): Promise<number> {
  const entries = await deps.repo.findPendingOutbox(deps.clock.now(), limit);
  let published = 0;
  for (const entry of entries) if (await publishOutboxEntry(deps, entry)) published++;
  return published;
}
