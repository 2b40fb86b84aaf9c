import type { BusinessDate } from './bill';
import type { PaymentMethod } from './payment';

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
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

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
}

/**
 * `reconciled`: the bill was compared. `bill_not_ready`: not published yet, asked again later.
 * `bill_missing`: still not published at the cut-off (alarmed). `failed`: the bill could not be
 * fetched or read (alarmed; retried on the next run).
 */
export const RECONCILIATION_STATUSES = ['reconciled', 'bill_not_ready', 'bill_missing', 'failed'] as const;
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
  ranAt: string;
  /** Why the bill could not be had (`failed`, `bill_missing`). */
  detail?: string;
}

export interface ReconciliationDay {
  date: BusinessDate;
  providers: ProviderReconciliation[];
}
