import { type BusinessDate } from '../../domain/bill';
import type { PaymentMethod } from '../../domain/payment';
import { type DifferenceKind, PARKED_KINDS } from '../../domain/reconciliation';
import { Metric } from '../kernel/metric-names';
import { pastCutoff, reconcileDay, type ReconcileDeps, type ReconciliationTiming } from './reconciliation';

/**
 * Kinds a run heals by itself (a lost payment callback confirmed, a console refund recorded, an
 * open refund the bill shows succeeded, a parked refund booked once it fits). One still open means
 * its heal failed (the provider's query timed out, a write lost a race): running its day again
 * retries it. The other kinds wait for a person.
 */
export const SELF_HEALING_KINDS: readonly DifferenceKind[] = [
  'missing_in_ledger',
  'refund_missing_in_ledger',
  'status_mismatch',
  ...PARKED_KINDS,
];

/** Days re-run per hourly retry at most: a bound on provider calls (each day fetches its bill again). */
export const MAX_DAYS_PER_HEAL_RETRY = 7;

export interface ProviderDay {
  provider: PaymentMethod;
  date: BusinessDate;
}

/** One provider's day run again, exactly as the daily schedule runs it (a person's re-run, the hourly retry). */
export function rerunProviderDay(deps: ReconcileDeps, day: ProviderDay, timing: ReconciliationTiming) {
  return reconcileDay(deps, {
    date: day.date,
    providers: [day.provider],
    final: pastCutoff(day.date, deps.clock.now(), timing),
    carryMinutes: timing.carryMinutes,
  });
}

/**
 * The hourly retry: every provider day holding an open difference of a self-healing kind (newest
 * first, at most MAX_DAYS_PER_HEAL_RETRY) is run again, until healed; what stays open is counted
 * (ReconciliationUnhealed, alarmed) for a person to resolve or re-run.
 */
export async function retryFailedHeals(deps: ReconcileDeps, timing: ReconciliationTiming) {
  const days = await healableDays(deps);
  for (const day of days.slice(0, MAX_DAYS_PER_HEAL_RETRY)) await rerunProviderDay(deps, day, timing);
  const unhealed = (await healableDays(deps)).length;
  deps.metrics.observe(Metric.ReconciliationUnhealed, unhealed, 'Count');
  deps.logger.info('reconciliation heal retry', { days: days.length, unhealed });
  return { retried: days.slice(0, MAX_DAYS_PER_HEAL_RETRY), unhealedDays: unhealed };
}

/** Provider days with an open self-healing difference (the open set is small: a sparse index, one Query a page). */
async function healableDays(deps: ReconcileDeps): Promise<ProviderDay[]> {
  const days = new Map<string, ProviderDay>();
  let cursor: string | undefined;
  do {
    const page = await deps.repo.listOpenDifferences({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const difference of page.items)
      if (SELF_HEALING_KINDS.includes(difference.kind))
        days.set(`${difference.provider}:${difference.date}`, { provider: difference.provider, date: difference.date });
    cursor = page.cursor;
  } while (cursor);
  return [...days.values()];
}
