import type { Refund, RefundStatus } from '../../domain/refund';
import type { ListWindow, Page } from '../kernel/page';

export interface RefundStore {
  getRefund(refundId: string): Promise<Refund | undefined>;
  getRefunds(refundIds: readonly string[]): Promise<Refund[]>;
  /** Open refunds whose next provider call is at or before `dueBy`. */
  findDueRefunds(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Refund>>;
  /** When the oldest refund still open (pending, processing or abnormal) was created; undefined when none is. */
  oldestOpenRefundCreatedAt(): Promise<string | undefined>;
  /** Refunds newest first; `abnormal` ones from their attention set (newest abnormal first). */
  listRefunds(filter: { status?: RefundStatus }, window: ListWindow): Promise<Page<Refund>>;
  countAbnormalRefunds(): Promise<number>;
}

/** A refund's own item; what a refund reserves on its payment is a payment write (reserveRefund). */
export type RefundWrite =
  | { kind: 'createRefund'; refund: Refund }
  /** Replaces the refund, conditional on the version that was read. */
  | { kind: 'updateRefund'; before: Refund; after: Refund };
