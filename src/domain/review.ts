import { ReviewNotSettleableError } from './errors';
import { type DomainEvent, statusEvent } from './events';
import { type Order, withoutOpenPayment } from './order';
import { type Payment, transitionPayment } from './payment';
import { settlePayment, type SettlementRequest } from './settlement';

/**
 * A person's decision on a payment parked for review (its provider reported another amount):
 * `accept` the provider's amount, or `refund` all of it. Either way the money the provider took is
 * recorded; what the order does not keep is owed back (owedParts in ./waiting.ts) and the caller
 * refunds it in the same transaction.
 */
export const REVIEW_DECISIONS = ['accept', 'refund'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export interface ReviewOutcome {
  payment: Payment;
  /** The order after the decision, when it changed. */
  order?: Order;
  events: DomainEvent[];
  /** Another payment still open for an order this decision just paid: it must be cancelled. */
  supersededPaymentId?: string;
}

/**
 * Accepting: the order is paid when the provider's amount covers its total (more than that is owed
 * back); an amount short of it pays nothing and is owed back whole. Refunding: owed back whole.
 */
export function settleReview(
  payment: Payment,
  order: Order,
  decision: ReviewDecision,
  note: { now: Date; reason: string },
): ReviewOutcome {
  const reported = payment.review;
  if (!reported) throw new ReviewNotSettleableError(payment.paymentId, 'the provider report was not kept');
  if (
    reported.outcome !== 'succeeded' ||
    reported.provider !== payment.method ||
    reported.currency !== payment.currency
  )
    throw new ReviewNotSettleableError(
      payment.paymentId,
      `${reported.provider} reported ${reported.outcome} in ${reported.currency}; only a success in ${payment.currency} from ${payment.method} can be accepted or refunded`,
    );
  const cleared: Payment = { ...payment };
  delete cleared.needsReview;
  delete cleared.reviewReason;
  delete cleared.review;
  const request: SettlementRequest = {
    to: 'succeeded',
    now: note.now,
    source: 'staff',
    reason: `${decision === 'accept' ? 'provider amount accepted' : 'refunded in full'} by staff: ${note.reason}`,
    ref: reported.eventId,
    providerTransactionId: reported.providerTransactionId,
    amount: reported.amount,
  };
  if (payment.status === 'succeeded') return reviewOfPaid(cleared, order, decision, request);
  const taken: Payment = { ...cleared, amount: reported.amount };
  if (decision === 'accept' && reported.amount >= order.totalAmount) return accepted(taken, order, request);
  return owedWhole(taken, order, request);
}

/** The order is paid by it (or, already paid or cancelled, it keeps nothing); above the order's total is owed back. */
function accepted(taken: Payment, order: Order, request: SettlementRequest): ReviewOutcome {
  const settled = settlePayment(taken, order, request);
  if (settled.kind !== 'applied') throw new ReviewNotSettleableError(taken.paymentId, `it settles as ${settled.kind}`);
  const paidByIt = settled.order?.paidByPaymentId === taken.paymentId;
  const payment =
    paidByIt && taken.amount > order.totalAmount
      ? { ...settled.payment, keptAmount: order.totalAmount }
      : settled.payment;
  return {
    payment,
    order: settled.order,
    events: settled.events,
    supersededPaymentId: settled.supersededPaymentId,
  };
}

/** The money is recorded as taken and owed back whole; the order does not count on it (its slot is free). */
function owedWhole(taken: Payment, order: Order, request: SettlementRequest): ReviewOutcome {
  const transition = transitionPayment(taken, {
    ...request,
    set: { paidAt: request.now.toISOString(), providerTransactionId: request.providerTransactionId },
  });
  const payment: Payment = { ...transition.after, refundRequired: true, keptAmount: 0 };
  const freesSlot = order.status === 'pending' && order.openPaymentId === taken.paymentId;
  const event = statusEvent(payment);
  return {
    payment,
    ...(freesSlot ? { order: withoutOpenPayment(order, request.now) } : {}),
    events: event ? [event] : [],
  };
}

/**
 * A payment that had succeeded before the differing report: another transaction is a second
 * capture (kept, owed back); the same one in another amount takes the provider's amount, and what
 * exceeds ours is owed back (all of it when refunding).
 */
function reviewOfPaid(
  cleared: Payment,
  order: Order,
  decision: ReviewDecision,
  request: SettlementRequest,
): ReviewOutcome {
  const settled = settlePayment(cleared, order, request);
  if (settled.kind === 'extra_capture') return { payment: settled.payment, events: settled.events };
  const reported = request.amount ?? cleared.amount;
  const kept = decision === 'refund' ? 0 : Math.min(cleared.keptAmount ?? cleared.amount, cleared.amount, reported);
  const payment: Payment = {
    ...cleared,
    amount: reported,
    keptAmount: kept,
    ...(decision === 'refund' ? { refundRequired: true } : {}),
    updatedAt: request.now.toISOString(),
    version: cleared.version + 1,
    logs: [
      ...cleared.logs,
      {
        at: request.now.toISOString(),
        from: 'succeeded',
        to: 'succeeded',
        reason: request.reason,
        source: 'staff',
        ...(request.ref ? { ref: request.ref } : {}),
      },
    ],
  };
  return { payment, events: [] };
}
