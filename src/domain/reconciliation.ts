import {
  type BillPayment,
  type BillRefund,
  type BusinessDate,
  businessDateOf,
  businessDayWindow,
  type ProviderBill,
} from './bill';
import type { DomainEvent } from './events';
import type { RefundNotification } from './notification';
import type { Payment, PaymentMethod } from './payment';
import { externalRefundId, type Refund, type RefundStatus } from './refund';

/**
 * The outcome of reconciling one provider's day (docs/ARCHITECTURE.md#reconciliation): what the
 * bill and our ledger agree on, and every way they differ.
 */

export const DIFFERENCE_KINDS = [
  'missing_in_ledger', // the provider took money we do not show as succeeded (a lost callback)
  'missing_in_bill', // we show a success the provider does not
  'amount_mismatch', // both have it, with different amounts
  'status_mismatch', // both have it, in states that contradict each other
  'refund_missing_in_ledger', // a refund made outside this system
  'refund_missing_in_bill', // a refund we show as succeeded that the provider does not
  'refund_exceeds_payment', // a refund the provider reported that our books cannot hold: more than the payment has left
  'refund_before_payment', // a refund the provider reported for a payment we do not hold as succeeded
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/**
 * Differences no bill comparison finds: a refund notification we could not book, parked with the
 * notification itself. The reconciliation settles them by booking it once it fits (the payment
 * confirmed, room on it); a later run not finding them means nothing.
 */
export const PARKED_KINDS: readonly DifferenceKind[] = ['refund_exceeds_payment', 'refund_before_payment'];

/** One side's view of the item that differs. */
export interface DifferenceSide {
  status?: string;
  /** Fen. */
  amount?: number;
}

export interface ReconciliationDifference {
  kind: DifferenceKind;
  paymentId?: string;
  refundId?: string;
  providerTransactionId?: string;
  ours?: DifferenceSide;
  theirs?: DifferenceSide;
  /** Set right by the reconciliation itself (applied through the notification path); otherwise open for a person. */
  healed: boolean;
  /** How it was healed, or why it could not be. */
  resolution?: string;
  /** A parked kind's refund notification, as verified, to book once it fits. */
  notification?: RefundNotification;
  /** Settled by a person (`resolve`, with `resolution` their note): no longer open, still shown. */
  resolvedBy?: string;
  resolvedAt?: string;
}

/** Open: neither healed by the system nor resolved by a person; what the open count and its alarm count. */
export const isOpenDifference = (difference: Pick<ReconciliationDifference, 'healed' | 'resolvedBy'>): boolean =>
  !difference.healed && !difference.resolvedBy;

/**
 * `reconciled`: the bill was compared. `bill_not_ready`: not published yet, asked again later.
 * `bill_missing`: still not published at the cut-off (alarmed). `failed`: the bill could not be
 * fetched or read (alarmed; retried on the next run). `not_run`: no run of the day yet, only
 * refund notifications parked on it (PARKED_KINDS).
 */
export const RECONCILIATION_STATUSES = ['reconciled', 'bill_not_ready', 'bill_missing', 'failed', 'not_run'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

export interface ProviderReconciliation {
  provider: PaymentMethod;
  date: BusinessDate;
  status: ReconciliationStatus;
  /** Rows in the bill (payments and refunds). */
  billRows: number;
  /** Bill rows that agree with the ledger. */
  matched: number;
  /** Differences healed (this run or an earlier run of the same day). */
  healed: number;
  /** Ledger items that ended within minutes of the day's end and are not in this bill: checked against the next day's. */
  carried: number;
  differences: ReconciliationDifference[];
  /** Absent for `not_run`. */
  ranAt?: string;
  /** Why the bill could not be had (`failed`, `bill_missing`). */
  detail?: string;
}

export interface ReconciliationDay {
  date: BusinessDate;
  providers: ProviderReconciliation[];
}

/** A difference is the same one when its kind and ids are: a day's run records each key once. */
export function differenceKey(
  difference: Pick<ReconciliationDifference, 'kind' | 'paymentId' | 'refundId' | 'providerTransactionId'>,
): string {
  return `${difference.kind}#${difference.refundId ?? `${difference.paymentId ?? ''}#${difference.providerTransactionId ?? ''}`}`;
}

/** Ledger items that ended this close to the day's end may be in the next day's bill instead. */
export const DEFAULT_CARRY_MINUTES = 10;

/** A payment or refund of our ledger, by kind and id (`payment:<id>`, `refund:<id>`). */
export type LedgerKey = `${'payment' | 'refund'}:${string}`;

/** How a difference can be set right without a person. */
export type Remedy =
  /** Ask the provider about the payment and apply its answer as a notification (a lost callback). */
  | { action: 'confirm_payment'; row: BillPayment }
  /** Record the refund made outside this system, as its notification would have. */
  | { action: 'record_external_refund'; row: BillRefund }
  /** Ask the provider about our open refund and apply its answer. */
  | { action: 'confirm_refund'; row: BillRefund; refund: Refund };

export interface ComparisonInput {
  bill: ProviderBill;
  /** The day's ledger for this provider (paid / succeeded in the day), plus what the previous day's run carried in. */
  ledgerPayments: readonly Payment[];
  ledgerRefunds: readonly Refund[];
  /** Every payment and refund a bill row names, whatever its day. */
  paymentsById: ReadonlyMap<string, Payment>;
  refundsById: ReadonlyMap<string, Refund>;
  /**
   * The refunds of every payment a refund row names: an external refund we recorded from its
   * notification has our own id (`ext_…`), not the number in the bill, and is found by the
   * provider's number in it or, when the notification named none (Alipay), by payment and amount.
   */
  refundsOfPayment: ReadonlyMap<string, readonly Refund[]>;
  /** Ledger items of this day that another day's bill accounted for (a boundary, a later heal): not expected in this one. */
  accountedHere: ReadonlySet<LedgerKey>;
  carryMinutes: number;
}

export interface Comparison {
  matched: number;
  found: Array<{ difference: ReconciliationDifference; remedy?: Remedy }>;
  /** Ledger items of the day's last minutes this bill lacks: checked against the next day's. */
  carried: LedgerKey[];
  /** Ledger items of other days this bill accounts for, with their day: that day's run must not miss them. */
  accountedElsewhere: Array<{ key: LedgerKey; date: BusinessDate }>;
}

type RowVerdict = { matched: true } | { matched: false; difference: ReconciliationDifference; remedy?: Remedy };
const differs = (difference: Omit<ReconciliationDifference, 'healed'>, remedy?: Remedy): RowVerdict => ({
  matched: false,
  difference: { ...difference, healed: false },
  ...(remedy ? { remedy } : {}),
});

function judgePayment(row: BillPayment, payment: Payment | undefined, provider: PaymentMethod): RowVerdict {
  const ids = { paymentId: row.paymentId, providerTransactionId: row.providerTransactionId };
  const theirs = { status: row.providerStatus, amount: row.amount };
  const ours = payment?.method === provider ? payment : undefined;
  const captures = ours
    ? [ours.providerTransactionId, ...(ours.extraCaptures ?? []).map((capture) => capture.providerTransactionId)]
    : [];
  const recorded = ours?.status === 'succeeded' && captures.includes(row.providerTransactionId);
  // A reversed row moved no money in the end: it differs only from a success we hold for it.
  if (row.status === 'reversed')
    return recorded
      ? differs({ kind: 'status_mismatch', ...ids, ours: { status: ours!.status, amount: ours!.amount }, theirs })
      : { matched: true };
  if (!ours)
    return differs({
      kind: 'missing_in_ledger',
      ...ids,
      theirs,
      resolution: `no ${provider} payment ${row.paymentId} in the ledger`,
    });
  const ourSide = { status: ours.status, amount: ours.amount };
  if (!recorded)
    return differs({ kind: 'missing_in_ledger', ...ids, ours: ourSide, theirs }, { action: 'confirm_payment', row });
  const recordedAmount =
    row.providerTransactionId === ours.providerTransactionId
      ? ours.amount
      : ours.extraCaptures?.find((capture) => capture.providerTransactionId === row.providerTransactionId)?.amount;
  return recordedAmount === row.amount
    ? { matched: true }
    : differs({ kind: 'amount_mismatch', ...ids, ours: { ...ourSide, amount: recordedAmount }, theirs });
}

/**
 * How a refund row and our refund relate, by the bill's status (rows) and ours (columns):
 * `match`, a `mismatch` a person settles, or `confirm` (the bill says it succeeded, ours is still
 * open: ask the provider and apply its answer).
 */
const REFUND_AGREEMENT: Readonly<
  Record<BillRefund['status'], Readonly<Record<RefundStatus, 'match' | 'mismatch' | 'confirm'>>>
> = {
  succeeded: { pending: 'confirm', processing: 'confirm', abnormal: 'confirm', succeeded: 'match', failed: 'mismatch' },
  processing: { pending: 'match', processing: 'match', abnormal: 'match', succeeded: 'match', failed: 'mismatch' },
  failed: { pending: 'match', processing: 'match', abnormal: 'match', succeeded: 'mismatch', failed: 'match' },
};

function judgeRefund(
  row: BillRefund,
  refund: Refund | undefined,
  payment: Payment | undefined,
  provider: PaymentMethod,
): RowVerdict {
  const ids = { paymentId: row.paymentId, refundId: row.refundId, providerTransactionId: row.providerTransactionId };
  const theirs = { status: row.providerStatus, amount: row.amount };
  if (!refund || refund.method !== provider) {
    // A refund that failed at the provider moved no money: nothing to record.
    if (row.status === 'failed') return { matched: true };
    const recordable = row.status === 'succeeded' && payment?.method === provider;
    return recordable
      ? differs({ kind: 'refund_missing_in_ledger', ...ids, theirs }, { action: 'record_external_refund', row })
      : differs({
          kind: 'refund_missing_in_ledger',
          ...ids,
          theirs,
          resolution: payment
            ? `the provider's refund is ${row.providerStatus}`
            : `no ${provider} payment ${row.paymentId} in the ledger`,
        });
  }
  const ours = { status: refund.status, amount: refund.amount };
  if (refund.amount !== row.amount) return differs({ kind: 'amount_mismatch', ...ids, ours, theirs });
  const agreement = REFUND_AGREEMENT[row.status][refund.status];
  if (agreement === 'match') return { matched: true };
  return differs(
    { kind: 'status_mismatch', ...ids, ours, theirs },
    agreement === 'confirm' ? { action: 'confirm_refund', row, refund } : undefined,
  );
}

/** Where a ledger item sits in time, for the day it belongs to. */
const ledgerTime = {
  payment: (payment?: Payment) => payment?.paidAt,
  refund: (refund?: Refund) => refund?.succeededAt,
};

/**
 * Compares a provider's bill for a day with our ledger: every bill row is judged against the
 * payment or refund it names (found by id, whatever its day), then every ledger item of the day
 * that no row named is missing from the bill, unless it ended in the day's last minutes (carried
 * to the next day's bill) or the previous day's bill already accounted for it.
 */
export function compareBill(input: ComparisonInput): Comparison {
  const { start, end } = businessDayWindow(input.bill.date);
  const inDay = (at: string | undefined) =>
    at !== undefined && Date.parse(at) >= start.getTime() && Date.parse(at) < end.getTime();
  const rows = judgeRows(input, inDay);
  const missing = missingFromBill(input, rows.named, end.getTime() - input.carryMinutes * 60_000, inDay);
  return {
    matched: rows.matched,
    found: [...rows.found, ...missing.found],
    carried: missing.carried,
    accountedElsewhere: rows.accountedElsewhere,
  };
}

/** Every bill row judged against the payment or refund it names, found by id whatever its day. */
function judgeRows(input: ComparisonInput, inDay: (at: string | undefined) => boolean) {
  const { bill, paymentsById, refundsById } = input;
  const named = new Set<LedgerKey>();
  const accountedElsewhere: Comparison['accountedElsewhere'] = [];
  const found: Comparison['found'] = [];
  let matched = 0;

  // An external refund recorded under the provider's number for it is that row's; by amount, only one no row names so.
  const externalIdOf = (row: BillRefund) => externalRefundId(bill.provider, row.providerRefundId ?? row.refundId);
  const claimed = new Set(bill.rows.flatMap((row) => (row.kind === 'refund' ? [externalIdOf(row)] : [])));
  /** Our refund a refund row is about: by its id, else an external refund of its payment by number, else for the same amount. */
  const refundFor = (row: BillRefund): Refund | undefined =>
    refundsById.get(row.refundId) ??
    refundsById.get(externalIdOf(row)) ??
    input.refundsOfPayment
      .get(row.paymentId)
      ?.find(
        (refund) =>
          refund.external &&
          refund.amount === row.amount &&
          !claimed.has(refund.refundId) &&
          !named.has(`refund:${refund.refundId}`) &&
          refund.method === bill.provider,
      );

  for (const row of bill.rows) {
    const refund = row.kind === 'refund' ? refundFor(row) : undefined;
    const ledgerKey: LedgerKey =
      row.kind === 'payment' ? `payment:${row.paymentId}` : `refund:${refund?.refundId ?? row.refundId}`;
    named.add(ledgerKey);
    const verdict =
      row.kind === 'payment'
        ? judgePayment(row, paymentsById.get(row.paymentId), bill.provider)
        : judgeRefund(row, refund, paymentsById.get(row.paymentId), bill.provider);
    if (verdict.matched) matched += 1;
    else found.push({ difference: verdict.difference, ...(verdict.remedy ? { remedy: verdict.remedy } : {}) });
    const at = row.kind === 'payment' ? ledgerTime.payment(paymentsById.get(row.paymentId)) : ledgerTime.refund(refund);
    // An item across midnight from the provider's time sits on another day's ledger.
    if (at !== undefined && !inDay(at)) accountedElsewhere.push({ key: ledgerKey, date: businessDateOf(new Date(at)) });
  }
  return { named, matched, found, accountedElsewhere };
}

/**
 * The ledger items of the day no row named: missing from the bill, unless they ended after
 * `carryFrom` (carried to the next day's bill) or the previous day's bill accounted for them.
 */
function missingFromBill(
  input: ComparisonInput,
  named: ReadonlySet<LedgerKey>,
  carryFrom: number,
  inDay: (at: string | undefined) => boolean,
) {
  const carried: LedgerKey[] = [];
  const unbilled = <T>(
    kind: 'payment' | 'refund',
    items: readonly T[],
    idOf: (item: T) => string,
    timeOf: (item: T) => string | undefined,
  ) =>
    items.filter((item) => {
      const ledgerKey: LedgerKey = `${kind}:${idOf(item)}`;
      if (named.has(ledgerKey) || input.accountedHere.has(ledgerKey)) return false;
      if (Date.parse(timeOf(item) ?? '') >= carryFrom && inDay(timeOf(item))) {
        carried.push(ledgerKey);
        return false;
      }
      return true;
    });
  const found: Comparison['found'] = [
    ...unbilled('payment', input.ledgerPayments, (p) => p.paymentId, ledgerTime.payment).map((payment) => ({
      difference: {
        kind: 'missing_in_bill' as const,
        paymentId: payment.paymentId,
        providerTransactionId: payment.providerTransactionId,
        ours: { status: payment.status, amount: payment.amount },
        healed: false,
      },
    })),
    ...unbilled('refund', input.ledgerRefunds, (r) => r.refundId, ledgerTime.refund).map((refund) => ({
      difference: {
        kind: 'refund_missing_in_bill' as const,
        paymentId: refund.paymentId,
        refundId: refund.refundId,
        ours: { status: refund.status, amount: refund.amount },
        healed: false,
      },
    })),
  ];
  return { found, carried };
}

/** A difference's event, once per day and key (its id); without a parked notification's body. */
export function differenceEvent(
  at: Date,
  provider: PaymentMethod,
  date: BusinessDate,
  difference: ReconciliationDifference,
  payment?: Payment,
): DomainEvent {
  const { notification: _parked, ...shown } = difference;
  return {
    id: `reconciliation:${provider}:${date}:${differenceKey(difference)}`,
    type: 'ReconciliationDifference',
    occurredAt: at.toISOString(),
    detail: {
      // Empty when the bill names a payment we never had.
      orderId: payment?.orderId ?? '',
      customerId: payment?.customerId ?? '',
      ...(difference.paymentId ? { paymentId: difference.paymentId } : {}),
      method: provider,
      date,
      ...shown,
    },
  };
}
