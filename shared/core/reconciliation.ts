import { addBusinessDays, type BillPayment, type BillRefund, type BusinessDate, businessDateOf, businessDayWindow, type ProviderBill } from '../domain/bill';
import { CURRENCY } from '../domain/money';
import { AlreadyExistsError, StaleStateError } from '../domain/errors';
import type { Payment, PaymentMethod } from '../domain/payment';
import {
  compareBill,
  DEFAULT_CARRY_MINUTES,
  differenceEvent,
  differenceKey,
  PARKED_KINDS,
  type LedgerKey,
  type ProviderReconciliation,
  type ReconciliationDay,
  type ReconciliationDifference,
  type ReconciliationStatus,
  type Remedy,
} from '../domain/reconciliation';
import { externalRefundId, type Refund } from '../domain/refund';
import { type PaymentProvider, ProviderNotSupportedError } from '../providers/types';
import type { Deps } from './deps';
import { Metric } from './metric-names';
import { applyNotification, notificationFromQuery } from './notifications';
import { commitWithEvents } from './outbox';
import type { LedgerRef, ReconciliationRun, Repository } from './ports';
import { settleParkedRefund } from './parked-refunds';
import { applyRefundNotification } from './refund-notifications';
import { queryRefund } from './refunds';

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

export const DEFAULT_RECONCILIATION_TIMING: ReconciliationTiming = { carryMinutes: DEFAULT_CARRY_MINUTES, cutoffHour: 18 };

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

export async function reconcileDay(deps: Deps, request: ReconcileRequest): Promise<ReconciliationDay> {
  const configured = Object.keys(deps.providers) as PaymentMethod[];
  const wanted = configured.filter((provider) => !request.providers || request.providers.includes(provider));
  // Read once for every provider: each run writes only its own provider's items of the day.
  const stored = await deps.repo.getReconciliation(request.date);
  const pending = wanted.filter((provider) => !request.skipReconciled || storedFor(stored, provider).run?.status !== 'reconciled');
  // Each provider on its own: one provider's outage or bad file does not stop the others.
  await Promise.all(pending.map((provider) => reconcileProvider(deps, deps.providers[provider]!, request, storedFor(stored, provider))));
  return reconciliationReport(deps, request.date);
}

/** What the API and the CLI show for a day: every provider's latest run with its differences. */
export async function reconciliationReport(deps: Deps, date: BusinessDate): Promise<ReconciliationDay> {
  const { runs, differences } = await deps.repo.getReconciliation(date);
  // A provider whose day has not run yet shows the notifications parked on it.
  const notRun = [...new Set(differences.map((difference) => difference.provider))]
    .filter((provider) => !runs.some((run) => run.provider === provider))
    .map((provider): ReconciliationRun => ({ provider, date, status: 'not_run', billRows: 0, matched: 0, healed: 0, carried: 0, carriedRefs: [] }));
  return {
    date,
    providers: [...runs, ...notRun]
      .map(({ carriedRefs: _carried, ...run }) => ({
        ...run,
        differences: differences.filter((difference) => difference.provider === run.provider).map(({ provider: _provider, ...difference }) => difference),
      }))
      .sort((a, b) => a.provider.localeCompare(b.provider)),
  };
}

type StoredDay = Awaited<ReturnType<Repository['getReconciliation']>>;

/** One provider's part of a stored day: its run, the differences it recorded, the items other days accounted for. */
function storedFor(day: StoredDay, provider: PaymentMethod) {
  return {
    run: day.runs.find((run) => run.provider === provider),
    differences: day.differences.filter((difference) => difference.provider === provider),
    accounted: day.accounted.filter((ref) => ref.provider === provider),
  };
}

async function reconcileProvider(deps: Deps, provider: PaymentProvider, request: ReconcileRequest, stored: ReturnType<typeof storedFor>): Promise<void> {
  const { date } = request;
  const ranAt = deps.clock.now().toISOString();
  const dimensions = { provider: provider.name };
  const unreconciled = async (status: ReconciliationStatus, detail: string) => {
    // A re-run without a bill keeps what an earlier run of the day carried to the next day:
    // otherwise the next day would not expect it.
    const carriedRefs = stored.run?.carriedRefs ?? [];
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
  };
  let bill: ProviderBill;
  try {
    const fetched = await provider.fetchBill({ date, now: deps.clock.now() });
    // Alipay says "no bill" both before publishing and for a day without trades: at the cut-off, a
    // day our ledger has nothing for is the latter.
    const noTradesAtCutoff = fetched.status === 'not_ready' && request.final && (await ledgerIsEmpty(deps, provider.name, date));
    if (fetched.status === 'not_ready' && !noTradesAtCutoff) {
      if (request.final) deps.metrics.count(Metric.ReconciliationBillMissing, 1, dimensions);
      return unreconciled(request.final ? 'bill_missing' : 'bill_not_ready', `${provider.name}: ${fetched.providerStatus}`);
    }
    bill =
      fetched.status === 'ready' ? fetched.bill : { provider: provider.name, date, rows: [], totals: { paymentCount: 0, paymentAmount: 0, refundAmount: 0 } };
  } catch (error) {
    deps.metrics.count(Metric.ReconciliationFailed, 1, dimensions);
    deps.logger.error('bill could not be fetched or read', { ...dimensions, date, error: String(error) });
    return unreconciled('failed', error instanceof Error ? error.message : String(error));
  }

  const comparison = compareBill({ ...(await ledgerFor(deps, bill, stored.accounted)), bill, carryMinutes: request.carryMinutes });
  for (const { key, date: itsDay } of comparison.accountedElsewhere) await markAccounted(deps, provider.name, itsDay, refOf(key));
  const recorded = stored.differences;
  const recordedByKey = new Map(recorded.map((difference) => [differenceKey(difference), difference]));
  const foundKeys = new Set<string>();
  // Payments first: a refund is booked only on a payment confirmed as paid.
  for (const { difference, remedy } of [...comparison.found].sort(byRemedy)) {
    foundKeys.add(differenceKey(difference));
    const earlier = recordedByKey.get(differenceKey(difference));
    if (!earlier) await recordDifference(deps, provider.name, date, difference);
    if (remedy && !earlier?.healed) await heal(deps, provider.name, date, difference, remedy);
  }
  const open = recorded.filter((candidate) => !candidate.healed);
  // Open differences a later run no longer finds (a late callback came, a person fixed it) are settled.
  for (const difference of open.filter((candidate) => !PARKED_KINDS.includes(candidate.kind) && !foundKeys.has(differenceKey(candidate)))) {
    await markHealed(deps, provider.name, date, { ...difference, resolution: 'no longer differs on a later run' });
  }
  // Refund notifications parked this day: booked now if they fit.
  for (const difference of open.filter((candidate) => PARKED_KINDS.includes(candidate.kind))) {
    const resolution = await settleParkedRefund(deps, difference, (notification) => applyRefundNotification(deps, notification, { parkRefused: false }));
    if (resolution) await markHealed(deps, provider.name, date, { ...difference, resolution });
  }

  // Read again: this run recorded and healed differences.
  const now = storedFor(await deps.repo.getReconciliation(date), provider.name).differences;
  const stillOpen = now.filter((difference) => !difference.healed).length;
  deps.metrics.observe(Metric.ReconciliationOpenDifferences, stillOpen, 'Count', dimensions);
  await saveRun(deps, {
    provider: provider.name,
    date,
    status: 'reconciled',
    billRows: bill.rows.length,
    matched: comparison.matched,
    healed: now.length - stillOpen,
    carried: comparison.carried.length,
    ranAt,
    carriedRefs: comparison.carried.map(refOf),
  });
}

/** Differences whose remedy confirms a payment come before those that book a refund on one. */
const byRemedy = (a: { remedy?: Remedy }, b: { remedy?: Remedy }) =>
  Number(a.remedy?.action !== 'confirm_payment') - Number(b.remedy?.action !== 'confirm_payment');

/** Ledger items to compare: the day's, those the previous day carried, and every one a bill row names. */
async function ledgerFor(deps: Deps, bill: ProviderBill, accountedHere: readonly LedgerRef[]) {
  const previous = storedFor(await deps.repo.getReconciliation(addBusinessDays(bill.date, -1)), bill.provider).run;
  const day = await deps.repo.listLedger(bill.provider, bill.date);
  const carriedIn = previous?.carriedRefs ?? [];
  const paymentIds = new Set([...carriedIn.filter((ref) => ref.kind === 'payment').map((ref) => ref.id), ...bill.rows.map((row) => row.paymentId)]);
  const refundIds = new Set([
    ...carriedIn.filter((ref) => ref.kind === 'refund').map((ref) => ref.id),
    ...bill.rows.flatMap((row) => (row.kind === 'refund' ? [row.refundId] : [])),
  ]);
  const payments = byId([...day.payments, ...(await deps.repo.getPayments([...paymentIds]))], (payment) => payment.paymentId);
  const refunds = byId([...day.refunds, ...(await deps.repo.getRefunds([...refundIds]))], (refund) => refund.refundId);
  // Refunds of the payments a refund row names, to find external refunds we recorded under our own id.
  const refundedPayments = [...new Set(bill.rows.flatMap((row) => (row.kind === 'refund' ? [row.paymentId] : [])))];
  const theirRefundIds = refundedPayments.flatMap((paymentId) => payments.get(paymentId)?.refundIds ?? []);
  for (const refund of await deps.repo.getRefunds(theirRefundIds.filter((id) => !refunds.has(id)))) refunds.set(refund.refundId, refund);
  const inCarried = (kind: LedgerRef['kind'], id: string) => carriedIn.some((ref) => ref.kind === kind && ref.id === id);
  return {
    ledgerPayments: [...day.payments, ...[...payments.values()].filter((payment) => inCarried('payment', payment.paymentId))],
    ledgerRefunds: [...day.refunds, ...[...refunds.values()].filter((refund) => inCarried('refund', refund.refundId))],
    paymentsById: payments,
    refundsById: refunds,
    refundsOfPayment: new Map(
      refundedPayments.map((paymentId) => [paymentId, (payments.get(paymentId)?.refundIds ?? []).flatMap((id) => refunds.get(id) ?? [])]),
    ),
    accountedHere: new Set(accountedHere.map(keyOf)),
  };
}

async function ledgerIsEmpty(deps: Deps, provider: PaymentMethod, date: BusinessDate): Promise<boolean> {
  const { payments, refunds } = await deps.repo.listLedger(provider, date);
  return payments.length === 0 && refunds.length === 0;
}

function byId<T>(items: readonly T[], idOf: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [idOf(item), item]));
}

const refOf = (key: LedgerKey): LedgerRef => {
  const [kind, ...id] = key.split(':');
  return { kind: kind as LedgerRef['kind'], id: id.join(':') };
};
const keyOf = (ref: LedgerRef): LedgerKey => `${ref.kind}:${ref.id}`;

/** Records a difference and its event in one transaction, once per day and key (a re-run finds it recorded). */
async function recordDifference(deps: Deps, provider: PaymentMethod, date: BusinessDate, difference: ReconciliationDifference): Promise<void> {
  const payment = difference.paymentId ? await deps.repo.getPayment(difference.paymentId) : undefined;
  try {
    await commitWithEvents(
      deps,
      [{ kind: 'recordDifference', provider, date, difference }],
      [differenceEvent(deps.clock.now(), provider, date, difference, payment)],
    );
    deps.metrics.count(Metric.ReconciliationDifference, 1, { provider, kind: difference.kind });
    deps.logger.warn('reconciliation difference', { provider, date, ...difference });
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
}

async function markHealed(deps: Deps, provider: PaymentMethod, date: BusinessDate, difference: ReconciliationDifference): Promise<void> {
  try {
    await deps.repo.commit([{ kind: 'healDifference', provider, date, difference: { ...difference, healed: true } }]);
    deps.metrics.count(Metric.ReconciliationHealed, 1, { provider, kind: difference.kind });
  } catch (error) {
    // Another run healed it first.
    if (!(error instanceof StaleStateError)) throw error;
  }
}

/**
 * Sets a difference right through the path a notification takes, so the order and the events
 * follow exactly as for a late callback; anything the provider does not confirm stays open.
 */
async function heal(deps: Deps, provider: PaymentMethod, date: BusinessDate, difference: ReconciliationDifference, remedy: Remedy): Promise<void> {
  let resolution: string | undefined;
  try {
    resolution = await applyRemedy(deps, provider, remedy);
  } catch (error) {
    deps.logger.warn('reconciliation could not heal a difference; it stays open', { provider, date, kind: difference.kind, error: String(error) });
  }
  if (!resolution) return;
  await markHealed(deps, provider, date, { ...difference, resolution });
  // Healed now, the item sits on today's ledger (a payment is paid when we learn of it): today's run must not miss it.
  const healed = await healedItem(deps, provider, remedy);
  if (healed.at && businessDateOf(new Date(healed.at)) !== date) await markAccounted(deps, provider, businessDateOf(new Date(healed.at)), healed.ref);
}

/** The ledger item a remedy set right, and when it entered the ledger. */
async function healedItem(deps: Deps, provider: PaymentMethod, remedy: Remedy): Promise<{ ref: LedgerRef; at?: string }> {
  if (remedy.action === 'confirm_payment')
    return { ref: { kind: 'payment', id: remedy.row.paymentId }, at: (await deps.repo.getPayment(remedy.row.paymentId))?.paidAt };
  const refundId = remedy.action === 'confirm_refund' ? remedy.refund.refundId : externalRefundId(provider, remedy.row.providerRefundId ?? remedy.row.refundId);
  return { ref: { kind: 'refund', id: refundId }, at: (await deps.repo.getRefund(refundId))?.succeededAt };
}

async function markAccounted(deps: Deps, provider: PaymentMethod, date: BusinessDate, ref: LedgerRef): Promise<void> {
  await deps.repo.commit([{ kind: 'markAccounted', provider, date, ref }]);
}

/** How the remedy healed, or undefined when it could not (the difference stays open). */
function applyRemedy(deps: Deps, provider: PaymentMethod, remedy: Remedy): Promise<string | undefined> {
  switch (remedy.action) {
    case 'confirm_payment':
      return confirmPayment(deps, provider, remedy.row);
    case 'record_external_refund':
      return recordExternalRefund(deps, provider, remedy.row);
    case 'confirm_refund':
      return confirmRefund(deps, remedy.refund);
  }
}

async function confirmPayment(deps: Deps, provider: PaymentMethod, row: BillPayment): Promise<string | undefined> {
  const payment = await deps.repo.getPayment(row.paymentId);
  const confirmation = payment && (await providerConfirms(deps, provider, payment));
  if (!payment || !confirmation) return undefined;
  // The bill row names the capture (a second one is money to refund): it is applied as the provider's word.
  const paid = { status: 'paid', providerTransactionId: row.providerTransactionId, amount: row.amount, currency: CURRENCY, paidAt: row.finishedAt } as const;
  const result = await applyNotification(deps, notificationFromQuery(payment, { ...paid, providerStatus: row.providerStatus }, deps.clock.now())!);
  return result === 'amount_mismatch' ? undefined : `confirmed by ${confirmation}; notification ${result}`;
}

async function recordExternalRefund(deps: Deps, provider: PaymentMethod, row: BillRefund): Promise<string | undefined> {
  const result = await applyRefundNotification(deps, {
    type: 'refund',
    provider,
    eventId: `bill:${row.refundId}`,
    refundId: row.refundId,
    paymentId: row.paymentId,
    ...(row.providerRefundId ? { providerRefundId: row.providerRefundId } : {}),
    providerTransactionId: row.providerTransactionId,
    outcome: 'succeeded',
    amount: row.amount,
    currency: CURRENCY,
    occurredAt: row.finishedAt,
    providerStatus: row.providerStatus,
    via: 'query',
  });
  return result === 'applied' || result === 'duplicate' ? 'recorded as an external refund' : undefined;
}

async function confirmRefund(deps: Deps, refund: Refund): Promise<string | undefined> {
  const current = await queryRefund(deps, refund);
  return current.status === 'succeeded' ? "confirmed by the provider's query" : undefined;
}

/**
 * Whether the provider confirms a payment its bill shows paid: its query must say paid; a provider
 * with no query (the bank) has said so in the verified bill itself, signed as a callback is.
 */
async function providerConfirms(deps: Deps, provider: PaymentMethod, payment: Payment): Promise<string | undefined> {
  try {
    const state = await deps.providers[provider]!.queryPayment(payment.paymentId, deps.clock.now());
    return state.status === 'paid' ? "the provider's query" : undefined;
  } catch (error) {
    if (error instanceof ProviderNotSupportedError) return "the provider's signed bill";
    throw error;
  }
}

async function saveRun(deps: Deps, run: ReconciliationRun): Promise<void> {
  await deps.repo.commit([{ kind: 'saveReconciliationRun', run }]);
  if (run.status !== 'reconciled')
    deps.logger.warn('reconciliation did not run', { provider: run.provider, date: run.date, status: run.status, detail: run.detail });
}

/** Each provider's most recent reconciled-or-attempted day, looking back `days` from `today` (the local dashboard). */
export async function latestReconciliations(deps: Deps, today: BusinessDate, days = 7): Promise<ProviderReconciliation[]> {
  const latest = new Map<PaymentMethod, ProviderReconciliation>();
  for (let back = 0; back < days && latest.size < Object.keys(deps.providers).length; back++) {
    for (const run of (await reconciliationReport(deps, addBusinessDays(today, -back))).providers) if (!latest.has(run.provider)) latest.set(run.provider, run);
  }
  return [...latest.values()];
}
