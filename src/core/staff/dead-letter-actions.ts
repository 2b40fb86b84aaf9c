import { NoLongerWaitingError, StaleStateError } from '../../domain/errors';
import type { Uses } from '../kernel/deps';
import { MAX_WRITES_PER_COMMIT, type Commit, type Write } from '../kernel/ports';
import type { NotificationFailure, NotificationStore } from '../payments/notification-ports';
import { commitAudited, type StaffNote } from './audit';

type ReplayDeps = Uses<NotificationStore & Commit, 'clock' | 'queue'>;

/** Dead letters one replay takes at most (the rest stay listed for the next). */
const MAX_REPLAY = 1000;

async function waitingDeadLetters(deps: ReplayDeps): Promise<NotificationFailure[]> {
  const listed: NotificationFailure[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.repo.listDeadLetters({ limit: 100, cursor });
    listed.push(...page.items);
    cursor = page.cursor;
  } while (cursor && listed.length < MAX_REPLAY);
  return listed;
}

/**
 * POST /api/admin/dead-letters/replay: once their cause is fixed, every dead-lettered notification
 * goes back to the worker's queue, by the code `npm run dlq:replay` runs (the queue port), and
 * leaves the list (marked replayed by whom). The worker dedupes, so a notification moved twice is
 * applied once; one that fails again is listed again when the queue gives up on it. The first
 * batch of marks commits with the audit entry; none waiting (another person replayed them): 409.
 */
export async function replayDeadLetters(deps: ReplayDeps, note: StaffNote, remember?: (body: unknown) => Write[]) {
  const listed = await waitingDeadLetters(deps);
  if (listed.length === 0)
    throw new NoLongerWaitingError('dead letters', 'notifications', { deadLetters: 0 }, 'none are waiting');
  const moved = await deps.queue.replayDeadLetters();
  const at = deps.clock.now().toISOString();
  const marks = listed.map((failure): Write => ({
    kind: 'markReplayed',
    provider: failure.provider,
    eventId: failure.eventId,
    at,
    by: note.actor,
  }));
  const perCommit = MAX_WRITES_PER_COMMIT - 3;
  const body = (auditId: string) => ({ replayed: listed.length, moved: moved.moved, detail: moved.detail, auditId });
  try {
    const entry = await commitAudited(
      deps,
      note,
      {
        kind: 'dead-letters',
        id: 'notifications',
        action: 'replay',
        before: { deadLetters: listed.map((failure) => `${failure.provider}:${failure.eventId}`) },
        after: { moved: moved.moved, detail: moved.detail },
      },
      { writes: marks.slice(0, perCommit), events: [] },
      (entry) => remember?.(body(entry.auditId)) ?? [],
    );
    for (let start = perCommit; start < marks.length; start += perCommit)
      await deps.repo.commit(marks.slice(start, start + perCommit));
    return body(entry.auditId);
  } catch (error) {
    if (error instanceof StaleStateError)
      throw new NoLongerWaitingError(
        'dead letters',
        'notifications',
        { replayedMeanwhile: true },
        'were replayed meanwhile',
      );
    throw error;
  }
}
