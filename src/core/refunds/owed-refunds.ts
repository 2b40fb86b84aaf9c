import type { Payment } from '../../domain/payment';
import { createRefund, type Refund, type RefundOrigin } from '../../domain/refund';
import { owedParts } from '../../domain/waiting';
import type { Deps } from '../kernel/deps';
import { newId } from '../kernel/ids';

/**
 * Refunds of everything a payment owes back (owedParts in src/domain/waiting.ts): its own money
 * above what its order keeps, and each extra capture not yet being refunded, with the payment as
 * it is once they are reserved on it. Pure: the caller commits the refunds and the payment in the
 * SAME transaction as whatever made the money owed, so no crash in between leaves it without them.
 * Each refund is left pending and due now.
 */
export function owedRefunds(
  payment: Payment,
  now: Date,
  ask: { origin: RefundOrigin; reason?: string },
): { payment: Payment; refunds: Refund[] } {
  const refunds: Refund[] = [];
  let after = payment;
  for (const part of owedParts(payment)) {
    const refund = createRefund({
      refundId: newId('ref', now),
      payment,
      amount: part.amount,
      origin: ask.origin,
      reason: ask.reason ?? (part.captureTransactionId ? 'charged twice' : 'payment the order could not use'),
      captureTransactionId: part.captureTransactionId,
      sendAt: now.toISOString(),
      now,
    });
    refunds.push(refund);
    after = { ...after, refundIds: [...(after.refundIds ?? []), refund.refundId] };
    after = part.captureTransactionId
      ? {
          ...after,
          extraCaptures: after.extraCaptures!.map((capture) =>
            capture.providerTransactionId === part.captureTransactionId
              ? { ...capture, refundId: refund.refundId }
              : capture,
          ),
        }
      : { ...after, refundReserved: (after.refundReserved ?? 0) + part.amount };
  }
  return { payment: after, refunds };
}

/**
 * Money the order cannot use (a late or duplicate payment, a second capture) goes back by itself
 * when AUTO_REFUND_UNUSABLE_PAYMENTS is on. The worker that applies notifications commits these
 * with the notification that flagged the money and calls no provider: the sweeper sends them.
 */
export function automaticRefunds(deps: Pick<Deps, 'refunds'>, payment: Payment, now: Date) {
  if (!deps.refunds.autoRefundUnusablePayments || !payment.refundRequired) return { payment, refunds: [] };
  return owedRefunds(payment, now, { origin: 'auto' });
}
