import { businessDateOf, type BillPayment, type BillRefund, type BusinessDate } from '../../domain/bill';
import { AlreadyExistsError, StaleStateError } from '../../domain/errors';
import { CURRENCY } from '../../domain/money';
import type { Payment, PaymentMethod } from '../../domain/payment';
import {
  type Comparison,
  differenceEvent,
  differenceKey,
  type LedgerKey,
  PARKED_KINDS,
  type ReconciliationDifference,
  type Remedy,
} from '../../domain/reconciliation';
import { externalRefundId, type Refund } from '../../domain/refund';
import { Metric } from '../kernel/metric-names';
import { commitWithEvents } from '../outbox/outbox';
import { applyNotification, notificationFromQuery } from '../payments/notifications';
import { settleParkedRefund } from '../refunds/parked-refunds';
import { applyRefundNotification } from '../refunds/refund-notifications';
import type { LedgerRef } from './ports';
import type { Deps, Uses } from '../kernel/deps';
import type { Commit } from '../kernel/ports';
import type { OrderStore } from '../orders/ports';
import type { NotificationStore } from '../payments/notification-ports';
import { queryRefund, type RefundCallDeps } from '../refunds/refunds';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from '../refunds/ports';

/** Healing goes through the notification and refund paths, so it touches what they touch. */
export type DifferenceDeps = Uses<
  PaymentStore & RefundStore & OrderStore & NotificationStore & Commit,
  'providers' | 'refunds'
> &
  RefundCallDeps;

/**
 * What a run does with its comparison: ledger items other days' bills accounted for are marked,
 * each difference is recorded once (with its event) and healed when it can be safely, and open
 * differences a later run no longer finds are settled.
 */
export async function settleDifferences(
  deps: DifferenceDeps,
  provider: PaymentMethod,
  date: BusinessDate,
  comparison: Comparison,
  recorded: ReadonlyArray<ReconciliationDifference & { provider: PaymentMethod }>,
): Promise<void> {
  for (const { key, date: itsDay } of comparison.accountedElsewhere)
    await markAccounted(deps, provider, itsDay, refOf(key));
  const recordedByKey = new Map(recorded.map((difference) => [differenceKey(difference), difference]));
  const settle = async ({ difference, remedy }: Comparison['found'][number]) => {
    const earlier = recordedByKey.get(differenceKey(difference));
    if (!earlier) await recordDifference(deps, provider, date, difference);
    if (remedy && !earlier?.healed) await heal(deps, provider, date, difference, remedy);
  };
  const open = recorded.filter((candidate) => !candidate.healed);
  // Payments are confirmed first, then refunds parked this day are booked if they now fit, then the
  // other remedies: a refund is booked only on a payment confirmed as paid, whatever the rows' order.
  const confirmsPayment = (found: Comparison['found'][number]) => found.remedy?.action === 'confirm_payment';
  for (const found of comparison.found.filter(confirmsPayment)) await settle(found);
  for (const difference of open.filter((candidate) => PARKED_KINDS.includes(candidate.kind))) {
    const resolution = await settleParkedRefund(deps, difference, (notification) =>
      applyRefundNotification(deps, notification, { parkRefused: false }),
    );
    if (resolution) await markHealed(deps, provider, date, { ...difference, resolution });
  }
  for (const found of comparison.found.filter((candidate) => !confirmsPayment(candidate))) await settle(found);
  // Open differences a later run no longer finds (a late callback came, a person fixed it) are settled;
  // no comparison finds a parked one.
  const foundKeys = new Set(comparison.found.map(({ difference }) => differenceKey(difference)));
  for (const difference of open.filter(
    (candidate) => !PARKED_KINDS.includes(candidate.kind) && !foundKeys.has(differenceKey(candidate)),
  )) {
    await markHealed(deps, provider, date, { ...difference, resolution: 'no longer differs on a later run' });
  }
}

export const refOf = (key: LedgerKey): LedgerRef => {
  const [kind, ...id] = key.split(':');
  return { kind: kind as LedgerRef['kind'], id: id.join(':') };
};
export const keyOf = (ref: LedgerRef): LedgerKey => `${ref.kind}:${ref.id}`;

/** Records a difference and its event in one transaction, once per day and key (a re-run finds it recorded). */
async function recordDifference(
  deps: DifferenceDeps,
  provider: PaymentMethod,
  date: BusinessDate,
  difference: ReconciliationDifference,
): Promise<void> {
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

async function markHealed(
  deps: Uses<Commit, 'metrics'>,
  provider: PaymentMethod,
  date: BusinessDate,
  difference: ReconciliationDifference,
): Promise<void> {
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
async function heal(
  deps: DifferenceDeps,
  provider: PaymentMethod,
  date: BusinessDate,
  difference: ReconciliationDifference,
  remedy: Remedy,
): Promise<void> {
  let resolution: string | undefined;
  try {
    resolution = await applyRemedy(deps, provider, remedy);
  } catch (error) {
    deps.logger.warn('reconciliation could not heal a difference; it stays open', {
      provider,
      date,
      kind: difference.kind,
      error: String(error),
    });
  }
  if (!resolution) return;
  await markHealed(deps, provider, date, { ...difference, resolution });
  // Healed now, the item sits on today's ledger (a payment is paid when we learn of it): today's run must not miss it.
  const healed = await healedItem(deps, provider, remedy);
  if (healed.at && businessDateOf(new Date(healed.at)) !== date)
    await markAccounted(deps, provider, businessDateOf(new Date(healed.at)), healed.ref);
}

/** The ledger item a remedy set right, and when it entered the ledger. */
async function healedItem(
  deps: Uses<PaymentStore & RefundStore>,
  provider: PaymentMethod,
  remedy: Remedy,
): Promise<{ ref: LedgerRef; at?: string }> {
  if (remedy.action === 'confirm_payment')
    return {
      ref: { kind: 'payment', id: remedy.row.paymentId },
      at: (await deps.repo.getPayment(remedy.row.paymentId))?.paidAt,
    };
  const refundId =
    remedy.action === 'confirm_refund'
      ? remedy.refund.refundId
      : externalRefundId(provider, remedy.row.providerRefundId ?? remedy.row.refundId);
  return { ref: { kind: 'refund', id: refundId }, at: (await deps.repo.getRefund(refundId))?.succeededAt };
}

async function markAccounted(
  deps: Uses<Commit>,
  provider: PaymentMethod,
  date: BusinessDate,
  ref: LedgerRef,
): Promise<void> {
  await deps.repo.commit([{ kind: 'markAccounted', provider, date, ref }]);
}

/** How the remedy healed, or undefined when it could not (the difference stays open). */
function applyRemedy(deps: DifferenceDeps, provider: PaymentMethod, remedy: Remedy): Promise<string | undefined> {
  switch (remedy.action) {
    case 'confirm_payment':
      return confirmPayment(deps, provider, remedy.row);
    case 'record_external_refund':
      return recordExternalRefund(deps, provider, remedy.row);
    case 'confirm_refund':
      return confirmRefund(deps, remedy.refund);
  }
}

async function confirmPayment(
  deps: DifferenceDeps,
  provider: PaymentMethod,
  row: BillPayment,
): Promise<string | undefined> {
  const payment = await deps.repo.getPayment(row.paymentId);
  const confirmation = payment && (await providerConfirms(deps, provider, payment));
  if (!payment || !confirmation) return undefined;
  // The bill row names the capture (a second one is money to refund): it is applied as the provider's word.
  const paid = {
    status: 'paid',
    providerTransactionId: row.providerTransactionId,
    amount: row.amount,
    currency: CURRENCY,
    paidAt: row.finishedAt,
  } as const;
  const result = await applyNotification(
    deps,
    notificationFromQuery(payment, { ...paid, providerStatus: row.providerStatus }, deps.clock.now())!,
  );
  return result === 'amount_mismatch' ? undefined : `confirmed by ${confirmation}; notification ${result}`;
}

async function recordExternalRefund(
  deps: DifferenceDeps,
  provider: PaymentMethod,
  row: BillRefund,
): Promise<string | undefined> {
  await applyRefundNotification(
    deps,
    {
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
    },
    { parkRefused: false },
  ); // what does not fit stays this difference, open
  // Recorded now, or already from its own notification or a parked one: either way the ledger has it.
  return (await deps.repo.getRefund(externalRefundId(provider, row.providerRefundId ?? row.refundId)))
    ? 'recorded as an external refund'
    : undefined;
}

async function confirmRefund(deps: DifferenceDeps, refund: Refund): Promise<string | undefined> {
  const current = await queryRefund(deps, refund);
  return current.status === 'succeeded' ? "confirmed by the provider's query" : undefined;
}

/**
 * Whether the provider confirms a payment its bill shows paid: its query must say paid; a provider
 * with no query (the bank) has said so in the verified bill itself, signed as a callback is.
 */
async function providerConfirms(
  deps: Pick<Deps, 'providers' | 'clock'>,
  provider: PaymentMethod,
  payment: Payment,
): Promise<string | undefined> {
  const module = deps.providers[provider];
  if (!module?.queryPayment) return "the provider's signed bill";
  const state = await module.queryPayment(payment.paymentId, deps.clock.now());
  return state.status === 'paid' ? "the provider's query" : undefined;
}
