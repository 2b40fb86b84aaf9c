import { createHash } from 'node:crypto';
import type { DomainEvent } from '../domain/events';
import type { Deps } from './deps';
import { Metric } from './metric-names';
import type { OutboxEntry, PublishFailure, Repository, Write } from './ports';

const RELAY_GRACE_MS = 60_000;

/**
 * Transactional outbox. The events of a state change are written in the same transaction as the
 * change, then published. The published entry is then removed off the request path: a background
 * batch (SETTLE_AFTER_MS later) removes every entry this container published meanwhile, in one
 * request per 25, with plain deletes (half the write units of a delete inside a transaction). If we die
 * before publishing, the entry is still there at its `publishBy` and the sweeper's relay
 * publishes it (or a redelivery of the same notification does): a committed change never loses
 * its events. Event ids are deterministic, so an event published again (the container was frozen
 * or gone before removing its published entries, see docs/ARCHITECTURE.md) carries the same id.
 */
/** How many writes commitWithEvents commits of its own: `writes`, plus the outbox entry when there are events. */
export function commitSize(writes: readonly Write[], events: readonly DomainEvent[]): number {
  return writes.length + (events.length > 0 ? 1 : 0);
}

/** Entries this container published and has not removed yet. */
const published = new WeakMap<Repository, string[]>();
const settleTimers = new WeakMap<Repository, ReturnType<typeof setTimeout>>();
/** Published entries are removed this long after the first of them, together. */
const SETTLE_AFTER_MS = 50;

function returnPublished(deps: Deps, outboxIds: readonly string[]): void {
  if (outboxIds.length === 0) return;
  published.set(deps.repo, [...(published.get(deps.repo) ?? []), ...outboxIds]);
  if (settleTimers.has(deps.repo)) return;
  const timer = setTimeout(() => {
    settleTimers.delete(deps.repo);
    void settlePublished(deps);
  }, SETTLE_AFTER_MS);
  timer.unref?.();
  settleTimers.set(deps.repo, timer);
}

/** Removes what this container published, now; a failure leaves it for later. */
export async function settlePublished(deps: Deps): Promise<void> {
  const removing = published.get(deps.repo) ?? [];
  if (removing.length === 0) return;
  published.set(deps.repo, []);
  try {
    await deps.repo.deleteOutboxEntries(removing);
  } catch (error) {
    deps.logger.warn('published outbox entries not removed yet', { count: removing.length, error: String(error) });
    returnPublished(deps, removing);
  }
}

export async function commitWithEvents(deps: Deps, writes: readonly Write[], events: readonly DomainEvent[], outboxId?: string): Promise<void> {
  const now = deps.clock.now();
  const entry: OutboxEntry | undefined =
    events.length === 0
      ? undefined
      : {
          outboxId:
            outboxId ??
            createHash('sha256')
              .update(events.map((event) => event.id).join('|'))
              .digest('hex')
              .slice(0, 32),
          events: [...events],
          createdAt: now.toISOString(),
          publishBy: new Date(now.getTime() + RELAY_GRACE_MS).toISOString(),
        };
  await deps.repo.commit(entry ? [...writes, { kind: 'addToOutbox', entry }] : writes);
  if (entry) await publishOutboxEntry(deps, entry, 'later');
}

/**
 * Publishes one entry, then removes it (`removal` 'now'; 'later': in this container's next
 * background batch, see above), or keeps in it exactly the events the bus did not take (the relay
 * retries those, with the same ids). An event the bus can never take is logged as an
 * error, counted, and parked in the entry, so it is neither lost nor retried forever. A failure
 * is left for the relay: the change itself is safe. True when nothing is left to retry.
 */
export async function publishOutboxEntry(deps: Deps, entry: OutboxEntry, removal: 'now' | 'later' = 'now'): Promise<boolean> {
  if (entry.events.length === 0) return true;
  let failed: PublishFailure[];
  try {
    ({ failed } = await deps.events.publish(entry.events));
  } catch (error) {
    failed = entry.events.map((event) => ({ event, reason: String(error), retryable: true }));
  }
  const published = entry.events.length - failed.length;
  if (published > 0) deps.metrics.count(Metric.EventsPublished, published);
  const retry = failed.filter((failure) => failure.retryable);
  const parked = failed.filter((failure) => !failure.retryable);
  for (const { event, reason } of parked) {
    deps.metrics.count(Metric.EventsUndeliverable, 1, { type: event.type });
    deps.logger.error('event cannot be published: parked in its outbox entry for an operator', {
      outboxId: entry.outboxId,
      eventId: event.id,
      type: event.type,
      reason,
    });
  }
  if (retry.length > 0) {
    deps.metrics.count(Metric.OutboxPublishFailed);
    deps.logger.warn('event publish failed; the outbox relay will retry', {
      outboxId: entry.outboxId,
      eventIds: retry.map(({ event }) => event.id),
      reason: retry[0]!.reason,
    });
  }
  try {
    const undeliverable = [...(entry.undeliverable ?? []), ...parked.map(({ event }) => event)];
    if (retry.length === 0 && undeliverable.length === 0) {
      if (removal === 'now') await deps.repo.deleteOutboxEntry(entry.outboxId);
      else returnPublished(deps, [entry.outboxId]);
    } else if (failed.length < entry.events.length || parked.length > 0) {
      await deps.repo.replaceOutboxEntry({ ...entry, events: retry.map(({ event }) => event), ...(undeliverable.length > 0 ? { undeliverable } : {}) });
    }
  } catch (error) {
    // Left as it was: the relay publishes it again, under the same event ids.
    deps.logger.warn('outbox entry not updated after publishing', { outboxId: entry.outboxId, error: String(error) });
    return false;
  }
  return retry.length === 0;
}

/** Publishes entries whose writer did not (sweeper): returns how many were published. */
export async function relayOutbox(deps: Deps, limit = 100): Promise<number> {
  // What this container published itself is not the relay's to publish again.
  await settlePublished(deps);
  const entries = await deps.repo.findPendingOutbox(deps.clock.now(), limit);
  let published = 0;
  for (const entry of entries) if (await publishOutboxEntry(deps, entry)) published++;
  return published;
}
