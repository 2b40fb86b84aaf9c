import { NoLongerWaitingError, NotFoundError } from '../../domain/errors';
import { type Refund, transitionRefund } from '../../domain/refund';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import type { OrderStore } from '../orders/ports';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from '../refunds/ports';
import { settleRefund } from '../refunds/refunds';
import { refundView } from '../refunds/views';
import { auditRecord, type StaffNote } from './audit';
import { subjectOf } from '../../domain/audit';

export type RefundActionDeps = Uses<
  RefundStore & PaymentStore & OrderStore & Commit,
  'clock' | 'metrics' | 'logger' | 'sweeper'
>;

export const refundSummary = (refund: Refund) => ({
  status: refund.status,
  amount: refund.amount,
  ...(refund.providerStatus ? { providerStatus: refund.providerStatus } : {}),
  ...(refund.offline ? { offline: true } : {}),
});

/**
 * An abnormal refund (the provider could not pay it back: WeChat ABNORMAL, the card cancelled or
 * frozen) that a person paid back another way (cash, a transfer): it ends `succeeded`, marked
 * offline (the provider's bill will not show it), its payment and order refunded with it, and the
 * audit entry in the same transaction. No longer abnormal: NO_LONGER_WAITING with the refund now.
 */
export function settleRefundOffline(
  deps: RefundActionDeps,
  input: StaffNote & { refundId: string },
  remember?: (body: unknown) => Write[],
) {
  return decideAgainOnStale(async () => {
    const now = deps.clock.now();
    const refund = await deps.repo.getRefund(input.refundId);
    if (!refund) throw new NotFoundError('refund', input.refundId);
    if (refund.status !== 'abnormal')
      throw new NoLongerWaitingError(
        'refund',
        refund.refundId,
        refundView(refund),
        `is ${refund.status}, not abnormal`,
      );
    const change = {
      to: 'succeeded' as const,
      now,
      reason: `settled offline by ${input.actor}: ${input.reason}`,
      set: { offline: true, succeededAt: now.toISOString() },
    };
    // What settleRefund stores: the response (and its idempotency record) shows exactly that.
    const after = transitionRefund(refund, change);
    const audit = auditRecord(now, input, {
      kind: 'refund',
      id: refund.refundId,
      action: 'settled-offline',
      before: refundSummary(refund),
      after: refundSummary(after),
      subject: subjectOf(refund),
    });
    const body = { refund: { ...refundView(after), offline: true }, auditId: audit.entry.auditId };
    await settleRefund(deps, refund, change, [audit.write, ...(remember?.(body) ?? [])], [audit.event]);
    return body;
  });
}
