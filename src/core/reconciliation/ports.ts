import type { BusinessDate } from '../../domain/bill';
import type { Payment } from '../../domain/payment';
import type { ProviderReconciliation, ReconciliationDifference } from '../../domain/reconciliation';
import type { Refund } from '../../domain/refund';
import type { ListWindow, Page } from '../kernel/page';
import type { ProviderName } from '../payments/provider';

/** A difference as stored: with the provider and the Beijing day it was recorded under. */
export type StoredDifference = ReconciliationDifference & { provider: ProviderName; date: BusinessDate };

/** A payment or refund of the ledger, by id. */
export interface LedgerRef {
  kind: 'payment' | 'refund';
  id: string;
}

/** One provider's reconciliation of one day as stored: the summary, and what the next day's run needs. */
export interface ReconciliationRun extends Omit<ProviderReconciliation, 'differences'> {
  /** Ledger items of this day's last minutes that this bill lacks: the next day's bill should have them. */
  carriedRefs: LedgerRef[];
}

/** A day as stored: every provider's run with the differences each recorded. */
export interface StoredReconciliationDay {
  runs: ReconciliationRun[];
  differences: Array<ReconciliationDifference & { provider: ProviderName }>;
  /** Ledger items of the day other days' bills accounted for. */
  accounted: Array<LedgerRef & { provider: ProviderName }>;
}

export interface ReconciliationStore {
  /** A provider's ledger of one Beijing day: payments paid and refunds succeeded in it. */
  listLedger(provider: ProviderName, date: BusinessDate): Promise<{ payments: Payment[]; refunds: Refund[] }>;
  getReconciliation(date: BusinessDate): Promise<StoredReconciliationDay>;
  /** One recorded difference, by its day, provider and key (differenceKey). */
  getDifference(date: BusinessDate, provider: ProviderName, key: string): Promise<StoredDifference | undefined>;
  /** Open differences (neither healed nor resolved), the newest day first. */
  listOpenDifferences(window: ListWindow): Promise<Page<StoredDifference>>;
  countOpenDifferences(): Promise<number>;
}

export type ReconciliationWrite =
  /** A difference found by a reconciliation, once: AlreadyExistsError when a run of the day recorded it before. */
  | { kind: 'recordDifference'; provider: ProviderName; date: BusinessDate; difference: ReconciliationDifference }
  /** Marks a recorded difference healed (conditional on it being recorded and still open). */
  | { kind: 'healDifference'; provider: ProviderName; date: BusinessDate; difference: ReconciliationDifference }
  /** A person's resolution of a difference (`resolvedBy` set), conditional on it being still open (else StaleStateError). */
  | { kind: 'resolveDifference'; provider: ProviderName; date: BusinessDate; difference: ReconciliationDifference }
  /** The run's summary, replacing an earlier run's of the same provider and day. */
  | { kind: 'saveReconciliationRun'; run: ReconciliationRun }
  /** A ledger item of `date` that another day's bill accounted for: `date`'s run does not miss it. */
  | { kind: 'markAccounted'; provider: ProviderName; date: BusinessDate; ref: LedgerRef };
