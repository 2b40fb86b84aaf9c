import { NoLongerWaitingError, NotFoundError } from '../../domain/errors';
import type { DomainEvent } from '../../domain/events';
import type { Payment } from '../../domain/payment';
import type { Refund } from '../../domain/refund';
import { refundEvent } from '../../domain/refund-events';
import { type ReviewDecision, settleReview } from '../../domain/review';
import { refundOwed } from '../../domain/waiting';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import { orderChangeWrites } from '../orders/order-writes';
import type { OrderStore } from '../orders/ports';
import type { PaymentStore } from '../payments/ports';
import { owedRefunds } from '../refunds/owed-refunds';
import { refundView } from '../refunds/views';
import { commitAudited, type StaffNote } from './audit';
import { subjectOf } from '../../domain/audit';
import { staffPaymentView } from './find';

type PaymentActionDeps = Uses<PaymentStore & OrderStore & Commit, 'clock'>;

/** What an audit entry shows of a payment. */
const paymentSummary = (payment: Payment) => ({
  status: payment.status,
  amount: payment.amount,
  flags: [...(payment.needsReview ? ['needsReview'] : []), ...(payment.refundRequired ? ['refundRequired'] : [])],
  refundOwed: refundOwed(payment),
  refundReserved: payment.refundReserved ?? 0,
});

async function loadPayment(deps: PaymentActionDeps, paymentId: string): Promise<Payment> {
  const payment = await deps.repo.getPayment(paymentId);
  if (!payment) throw new NotFoundError('payment', paymentId);
  return payment;
}

/**
 * A person's decision on a payment parked for review (its provider reported another amount):
 * `accept` the provider's amount or `refund` it whole (src/domain/review.ts). What the order does
 * not keep is refunded in the same transaction (the refunds are left due for the sweeper to send),
 * with the audit entry. Parked no longer (another person decided first): NO_LONGER_WAITING.
 */
export function settleParkedPayment(
  deps: PaymentActionDeps,
  input: StaffNote & { paymentId: string; decision: ReviewDecision },
  remember?: (body: unknown) => Write[],
) {
  return decideAgainOnStale(async () => {
    const now = deps.clock.now();
    const payment = await loadPayment(deps, input.paymentId);
    if (!payment.needsReview)
      throw new NoLongerWaitingError('payment', payment.paymentId, staffPaymentView(payment, now), 'is not parked');
    const order = await deps.repo.getOrder(payment.orderId);
    if (!order) throw new NotFoundError('order', payment.orderId);
    const outcome = settleReview(payment, order, input.decision, { now, reason: input.reason });
    const refunding = owedRefunds(outcome.payment, now, { origin: 'admin', reason: `staff ${input.decision}` });
    const writes: Write[] = [
      { kind: 'updatePayment', before: payment, after: refunding.payment },
      ...refunding.refunds.map((refund): Write => ({ kind: 'createRefund', refund })),
      ...(outcome.order ? orderChangeWrites(order, outcome.order) : []),
    ];
    const events: DomainEvent[] = [
      ...outcome.events,
      ...refunding.refunds.map((refund) => refundEvent('RefundRequested', refund)),
    ];
    const body = answerOf(refunding, now);
    const entry = await commitAudited(
      deps,
      input,
      {
        kind: 'payment',
        id: payment.paymentId,
        action: input.decision,
        before: { ...paymentSummary(payment), reported: payment.review?.amount },
        after: { ...paymentSummary(refunding.payment), orderStatus: (outcome.order ?? order).status },
        subject: subjectOf(payment),
      },
      { writes, events },
      (entry) => remember?.(body(entry.auditId)) ?? [],
    );
    return body(entry.auditId);
  });
}

/**
 * Money a payment took that its order does not keep and that no refund covers (its automatic
 * refund failed, or automatic refunds are off): a person sends it back. New refunds of what is
 * owed, due now for the sweeper, with the audit entry; nothing owed (any more): NO_LONGER_WAITING.
 */
export function refundOwedMoney(
  deps: PaymentActionDeps,
  input: StaffNote & { paymentId: string },
  remember?: (body: unknown) => Write[],
) {
  return decideAgainOnStale(async () => {
    const now = deps.clock.now();
    const payment = await loadPayment(deps, input.paymentId);
    if (payment.needsReview || refundOwed(payment) === 0)
      throw new NoLongerWaitingError(
        'payment',
        payment.paymentId,
        staffPaymentView(payment, now),
        payment.needsReview ? 'is parked for review: settle that first' : 'owes nothing back',
      );
    const refunding = owedRefunds(payment, now, { origin: 'admin', reason: input.reason.slice(0, 80) });
    const body = answerOf(refunding, now);
    const entry = await commitAudited(
      deps,
      input,
      {
        kind: 'payment',
        id: payment.paymentId,
        action: 'refund-owed',
        before: paymentSummary(payment),
        after: { ...paymentSummary(refunding.payment), refundIds: refunding.refunds.map((r) => r.refundId) },
        subject: subjectOf(payment),
      },
      {
        writes: [
          { kind: 'updatePayment', before: payment, after: refunding.payment },
          ...refunding.refunds.map((refund): Write => ({ kind: 'createRefund', refund })),
        ],
        events: refunding.refunds.map((refund) => refundEvent('RefundRequested', refund)),
      },
      (entry) => remember?.(body(entry.auditId)) ?? [],
    );
    return body(entry.auditId);
  });
}

/** What a payment action answers: the payment as staff see it and the refunds it started, with the audit id. */
const answerOf = (refunding: { payment: Payment; refunds: Refund[] }, now: Date) => (auditId: string) => ({
  payment: staffPaymentView(refunding.payment, now),
  refunds: refunding.refunds.map(refundView),
  auditId,
});
