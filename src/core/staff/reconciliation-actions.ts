import type { ReconciliationDay } from '../../domain/reconciliation';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import { providerFor } from '../payments/payments';
import { rerunProviderDay, type ProviderDay } from '../reconciliation/heal-retries';
import { reconciliationReport, type ReconcileDeps, type ReconciliationTiming } from '../reconciliation/reconciliation';
import { commitAudited, type StaffNote } from './audit';

/** What a person sees of one provider's day before and after: its run's status and counts, the differences still open. */
function summaryOf(day: ReconciliationDay, provider: ProviderDay['provider']) {
  const run = day.providers.find((candidate) => candidate.provider === provider);
  if (!run) return { status: 'not_run' };
  const open = run.differences.filter((difference) => !difference.healed && !difference.resolvedBy).length;
  return { status: run.status, billRows: run.billRows, matched: run.matched, healed: run.healed, open };
}

/**
 * A person's re-run of one provider's day: the very run the daily schedule makes (bill fetched and
 * verified again, differences recorded once, heals retried), then its audit entry with the day's
 * counts before and after. A run is many transactions (one per difference healed), so the entry
 * follows the run rather than sharing one transaction with it: it records what the run did.
 */
export async function rerunReconciliation(
  deps: ReconcileDeps & Uses<Commit, 'clock'>,
  input: StaffNote & ProviderDay & { timing: ReconciliationTiming },
  remember?: (body: unknown) => Write[],
) {
  providerFor(deps, { method: input.provider }); // 503 PROVIDER_NOT_CONFIGURED before anything runs
  const before = summaryOf(await reconciliationReport(deps, input.date), input.provider);
  const day = await rerunProviderDay(deps, input, input.timing);
  const ran = { date: day.date, providers: day.providers.filter((run) => run.provider === input.provider) };
  let body: unknown;
  const entry = await commitAudited(
    deps,
    input,
    {
      kind: 'reconciliation',
      id: `${input.provider}:${input.date}`,
      action: 're-run',
      before,
      after: summaryOf(day, input.provider),
    },
    { writes: [], events: [] },
    (audit) => remember?.((body = { ...ran, auditId: audit.auditId })) ?? [],
  );
  return body ?? { ...ran, auditId: entry.auditId };
}
