import { NotFoundError } from '../../domain/errors';
import type { Payment } from '../../domain/payment';
import { refundableAmount, type Refund } from '../../domain/refund';
import type { Uses } from '../kernel/deps';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from './ports';

/** What callers see of a refund: the business fields, none of the bookkeeping. */
export function refundView(refund: Refund) {
  return {
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    orderId: refund.orderId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    ...(refund.reason ? { reason: refund.reason } : {}),
    ...(refund.providerRefundId ? { providerRefundId: refund.providerRefundId } : {}),
    createdAt: refund.createdAt,
    updatedAt: refund.updatedAt,
    ...(refund.succeededAt ? { succeededAt: refund.succeededAt } : {}),
    ...(refund.failureReason ? { failureReason: refund.failureReason } : {}),
    ...(refund.external ? { external: true } : {}),
  };
}
export type RefundView = ReturnType<typeof refundView>;

/** A payment's refunds with what has been refunded and what is left. */
export async function refundsOfPayment(deps: Uses<RefundStore>, payment: Payment) {
  const refunds = await deps.repo.getRefunds(payment.refundIds ?? []);
  return {
    refunds: refunds.map(refundView),
    refundedAmount: payment.refundedAmount ?? 0,
    refundableAmount: refundableAmount(payment),
  };
}

/** Who is asking: a customer sees their own payments' refunds, an admin anyone's (others read as not found). */
export interface Viewer {
  customerId: string;
  isAdmin: boolean;
}

async function visiblePayment(deps: Uses<PaymentStore>, viewer: Viewer, paymentId: string): Promise<Payment> {
  const payment = await deps.repo.getPayment(paymentId);
  if (!payment || (!viewer.isAdmin && payment.customerId !== viewer.customerId))
    throw new NotFoundError('payment', paymentId);
  return payment;
}

export async function listRefunds(deps: Uses<PaymentStore & RefundStore>, viewer: Viewer, paymentId: string) {
  return refundsOfPayment(deps, await visiblePayment(deps, viewer, paymentId));
}

export async function getRefund(deps: Uses<RefundStore>, viewer: Viewer, refundId: string) {
  const refund = await deps.repo.getRefund(refundId);
  if (!refund || (!viewer.isAdmin && refund.customerId !== viewer.customerId))
    throw new NotFoundError('refund', refundId);
  return { refund: refundView(refund) };
}
