import {
  addBusinessDays,
  type BusinessDate,
  businessDateOf,
  businessDayWindow,
  type ProviderBill,
} from '../../domain/bill';
import type { PaymentMethod } from '../../domain/payment';
import {
  compareBill,
  DEFAULT_CARRY_MINUTES,
  type ProviderReconciliation,
  type ReconciliationDay,
  type ReconciliationStatus,
} from '../../domain/reconciliation';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { Commit } from '../kernel/ports';
import type { PaymentStore } from '../payments/ports';
import type { PaymentProvider } from '../payments/provider';
import type { RefundStore } from '../refunds/ports';
import { type DifferenceDeps, keyOf, refOf, settleDifferences } from './differences';
import type { LedgerRef, ReconciliationRun, ReconciliationStore, StoredReconciliationDay } from './ports';

/** A run reads the ledger and the stored day, and settles the differences it finds. */
export type ReconcileDeps = DifferenceDeps & Uses<ReconciliationStore>;

/**
 * The daily reconciliation (docs/ARCHITECTURE.md#reconciliation): per provider and Beijing day,
 * fetch and verify the bill, compare it with the ledger, record each difference once (with its
 * event), heal what is safe through the notification path, and keep a summary. Every step is
 * idempotent, so a day can be run again: the same differences, nothing healed twice.
 */

export interface ReconciliationTiming {
  /** Ledger items that ended this close to midnight may be in the next day's bill instead. */
  carryMinutes: number;
  /** Beijing hour after which a bill still not published is missing (alarmed), not late. */
  cutoffHour: number;
}

export const DEFAULT_RECONCILIATION_TIMING: ReconciliationTiming = {
  carryMinutes: DEFAULT_CARRY_MINUTES,
  cutoffHour: 18,
};

/** Whether a day's bills are past their cut-off: the next Beijing day at `cutoffHour`. */
export function pastCutoff(date: BusinessDate, now: Date, timing: ReconciliationTiming): boolean {
  return now.getTime() >= businessDayWindow(date).end.getTime() + timing.cutoffHour * 3_600_000;
}

/**
 * A scheduled run reconciles yesterday (Beijing), skipping providers already reconciled: the
 * schedule fires hourly from 10:30 Beijing time until the bills are in, the runs from the cut-off
 * hour on calling a bill still missing.
 */
export function scheduledRun(now: Date, timing: ReconciliationTiming): ReconcileRequest {
  const date = addBusinessDays(businessDateOf(now), -1);
  return { date, final: pastCutoff(date, now, timing), skipReconciled: true, carryMinutes: timing.carryMinutes };
}

export interface ReconcileRequest {
  date: BusinessDate;
  /** Only these providers (default: every configured one). */
  providers?: readonly PaymentMethod[];
  /** The cut-off has passed: a bill still not published is `bill_missing` (alarmed), not `bill_not_ready`. */
  final?: boolean;
  /** Skip providers whose day is already `reconciled` (the scheduled retries); a person's run redoes them. */
  skipReconciled?: boolean;
  carryMinutes: number;
}

export async function reconcileDay(deps: ReconcileDeps, request: ReconcileRequest): Promise<ReconciliationDay> {
  const configured = Object.keys(deps.providers) as PaymentMethod[];
  const wanted = configured.filter((provider) => !request.providers || request.providers.includes(provider));
  // Read once for every provider: each run writes only its own provider's items of the day.
  const stored = await deps.repo.getReconciliation(request.date);
  const pending = wanted.filter(
    (provider) => !request.skipReconciled || storedFor(stored, provider).run?.status !== 'reconciled',
  );
  // Each provider on its own: one provider's outage or bad file does not stop the others.
  await Promise.all(
    pending.map((provider) => reconcileProvider(deps, deps.providers[provider]!, request, storedFor(stored, provider))),
  );
  return reconciliationReport(deps, request.date);
}

/** What the API and the CLI show for a day: every provider's latest run with its differences. */
export async function reconciliationReport(
  deps: Uses<ReconciliationStore>,
  date: BusinessDate,
): Promise<ReconciliationDay> {
  const { runs, differences } = await deps.repo.getReconciliation(date);
  // A provider whose day has not run yet shows the notifications parked on it.
  const notRun = [...new Set(differences.map((difference) => difference.provider))]
    .filter((provider) => !runs.some((run) => run.provider === provider))
    .map((provider): ReconciliationRun => ({
      provider,
      date,
      status: 'not_run',
      billRows: 0,
      matched: 0,
      healed: 0,
      carried: 0,
      carriedRefs: [],
    }));
  return {
    date,
    providers: [...runs, ...notRun]
      .map(({ carriedRefs: _carried, ...run }) => ({
        ...run,
        differences: differences
          .filter((difference) => difference.provider === run.provider)
          .map(({ provider: _provider, ...difference }) => difference),
      }))
      .sort((a, b) => a.provider.localeCompare(b.provider)),
  };
}

/** One provider's part of a stored day: its run, the differences it recorded, the items other days accounted for. */
function storedFor(day: StoredReconciliationDay, provider: PaymentMethod) {
  return {
    run: day.runs.find((run) => run.provider === provider),
    differences: day.differences.filter((difference) => difference.provider === provider),
    accounted: day.accounted.filter((ref) => ref.provider === provider),
  };
}

async function reconcileProvider(
  deps: ReconcileDeps,
  provider: PaymentProvider,
  request: ReconcileRequest,
  stored: StoredForProvider,
): Promise<void> {
  const { date } = request;
  const ranAt = deps.clock.now().toISOString();
  const fetched = await billOf(deps, provider, request);
  if ('unreconciled' in fetched) {
    // A re-run without a bill keeps what an earlier run of the day carried to the next day:
    // otherwise the next day would not expect it.
    const carriedRefs = stored.run?.carriedRefs ?? [];
    const { unreconciled: status, detail } = fetched;
    return saveRun(deps, {
      provider: provider.name,
      date,
      status,
      billRows: 0,
      matched: 0,
      healed: 0,
      carried: carriedRefs.length,
      ranAt,
      detail,
      carriedRefs,
    });
  }
  const { bill } = fetched;
  const comparison = compareBill({
    ...(await ledgerFor(deps, bill, stored.accounted)),
    bill,
    carryMinutes: request.carryMinutes,
  });
  await settleDifferences(deps, provider.name, date, comparison, stored.differences);

  // Read again: this run recorded and healed differences.
  const now = storedFor(await deps.repo.getReconciliation(date), provider.name).differences;
  const open = now.filter((difference) => !difference.healed).length;
  deps.metrics.observe(Metric.ReconciliationOpenDifferences, open, 'Count', { provider: provider.name });
  await saveRun(deps, {
    provider: provider.name,
    date,
    status: 'reconciled',
    billRows: bill.rows.length,
    matched: comparison.matched,
    healed: now.length - open,
    carried: comparison.carried.length,
    ranAt,
    carriedRefs: comparison.carried.map(refOf),
  });
}

/**
 * The day's bill, or why there is none to reconcile. The caller saves the unreconciled run outside
 * this try: a failed save is not a failed fetch, and propagates.
 */
async function billOf(
  deps: Uses<ReconciliationStore, 'clock' | 'metrics' | 'logger'>,
  provider: PaymentProvider,
  request: ReconcileRequest,
): Promise<{ bill: ProviderBill } | { unreconciled: ReconciliationStatus; detail: string }> {
  const { date } = request;
  const dimensions = { provider: provider.name };
  try {
    const fetched = await provider.fetchBill({ date, now: deps.clock.now() });
    // Alipay says "no bill" both before publishing and for a day without trades: at the cut-off, a
    // day our ledger has nothing for is the latter.
    const noTradesAtCutoff =
      fetched.status === 'not_ready' && request.final && (await ledgerIsEmpty(deps, provider.name, date));
    if (fetched.status === 'not_ready' && !noTradesAtCutoff) {
      if (request.final) deps.metrics.count(Metric.ReconciliationBillMissing, 1, dimensions);
      return {
        unreconciled: request.final ? 'bill_missing' : 'bill_not_ready',
        detail: `${provider.name}: ${fetched.providerStatus}`,
      };
    }
    return {
      bill:
        fetched.status === 'ready'
          ? fetched.bill
          : { provider: provider.name, date, rows: [], totals: { paymentCount: 0, paymentAmount: 0, refundAmount: 0 } },
    };
  } catch (error) {
    deps.metrics.count(Metric.ReconciliationFailed, 1, dimensions);
    deps.logger.error('bill could not be fetched or read', { ...dimensions, date, error: String(error) });
    return { unreconciled: 'failed', detail: error instanceof Error ? error.message : String(error) };
  }
}

/** Ledger items to compare: the day's, those the previous day carried, and every one a bill row names. */
async function ledgerFor(
  deps: Uses<ReconciliationStore & PaymentStore & RefundStore>,
  bill: ProviderBill,
  accountedHere: readonly LedgerRef[],
) {
  const previous = storedFor(await deps.repo.getReconciliation(addBusinessDays(bill.date, -1)), bill.provider).run;
  const day = await deps.repo.listLedger(bill.provider, bill.date);
  const carriedIn = previous?.carriedRefs ?? [];
  const paymentIds = new Set([
    ...carriedIn.filter((ref) => ref.kind === 'payment').map((ref) => ref.id),
    ...bill.rows.map((row) => row.paymentId),
  ]);
  const refundIds = new Set([
    ...carriedIn.filter((ref) => ref.kind === 'refund').map((ref) => ref.id),
    ...bill.rows.flatMap((row) => (row.kind === 'refund' ? [row.refundId] : [])),
  ]);
  const payments = byId(
    [...day.payments, ...(await deps.repo.getPayments([...paymentIds]))],
    (payment) => payment.paymentId,
  );
  const refunds = byId([...day.refunds, ...(await deps.repo.getRefunds([...refundIds]))], (refund) => refund.refundId);
  // Refunds of the payments a refund row names, to find external refunds we recorded under our own id.
  const refundedPayments = [...new Set(bill.rows.flatMap((row) => (row.kind === 'refund' ? [row.paymentId] : [])))];
  const theirRefundIds = refundedPayments.flatMap((paymentId) => payments.get(paymentId)?.refundIds ?? []);
  for (const refund of await deps.repo.getRefunds(theirRefundIds.filter((id) => !refunds.has(id))))
    refunds.set(refund.refundId, refund);
  const inCarried = (kind: LedgerRef['kind'], id: string) =>
    carriedIn.some((ref) => ref.kind === kind && ref.id === id);
  return {
    ledgerPayments: [
      ...day.payments,
      ...[...payments.values()].filter((payment) => inCarried('payment', payment.paymentId)),
    ],
    ledgerRefunds: [...day.refunds, ...[...refunds.values()].filter((refund) => inCarried('refund', refund.refundId))],
    paymentsById: payments,
    refundsById: refunds,
    refundsOfPayment: new Map(
      refundedPayments.map((paymentId) => [
        paymentId,
        (payments.get(paymentId)?.refundIds ?? []).flatMap((id) => refunds.get(id) ?? []),
      ]),
    ),
    accountedHere: new Set(accountedHere.map(keyOf)),
  };
}

async function ledgerIsEmpty(
  deps: Uses<ReconciliationStore>,
  provider: PaymentMethod,
  date: BusinessDate,
): Promise<boolean> {
  const { payments, refunds } = await deps.repo.listLedger(provider, date);
  return payments.length === 0 && refunds.length === 0;
}

function byId<T>(items: readonly T[], idOf: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [idOf(item), item]));
}

async function saveRun(deps: Uses<Commit, 'logger'>, run: ReconciliationRun): Promise<void> {
  await deps.repo.commit([{ kind: 'saveReconciliationRun', run }]);
  if (run.status !== 'reconciled')
    deps.logger.warn('reconciliation did not run', {
      provider: run.provider,
      date: run.date,
      status: run.status,
      detail: run.detail,
    });
}

type StoredForProvider = ReturnType<typeof storedFor>;

/** Each provider's most recent reconciled-or-attempted day, looking back `days` from `today` (the local dashboard). */
export async function latestReconciliations(
  deps: Uses<ReconciliationStore, 'providers'>,
  today: BusinessDate,
  days = 7,
): Promise<ProviderReconciliation[]> {
  const latest = new Map<PaymentMethod, ProviderReconciliation>();
  for (let back = 0; back < days && latest.size < Object.keys(deps.providers).length; back++) {
    for (const run of (await reconciliationReport(deps, addBusinessDays(today, -back))).providers)
      if (!latest.has(run.provider)) latest.set(run.provider, run);
  }
  return [...latest.values()];
}
