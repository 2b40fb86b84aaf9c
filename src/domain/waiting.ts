import type { Fen } from './money';
import type { Payment } from './payment';
import { refundableAmount } from './refund';

/**
 * What waits for a person (docs/ARCHITECTURE.md#staff-actions): five states the system parks work
 * in, each with an alarm, a list and the actions that settle it.
 * - `needsReview`: a payment whose provider reported another amount (or currency) than ours;
 * - `refundOwed`: money a payment took that its order does not keep and no refund gives back
 *   (its automatic refund failed, or automatic refunds are off);
 * - `abnormalRefund`: a refund the provider could not pay back (WeChat ABNORMAL, bank requires_action);
 * - `openDifference`: a reconciliation difference neither healed nor resolved by a person;
 * - `deadLetter`: a provider notification the worker gave up on.
 */
export const WAITING_STATES = ['needsReview', 'refundOwed', 'abnormalRefund', 'openDifference', 'deadLetter'] as const;
export type WaitingState = (typeof WAITING_STATES)[number];

/** The flags a payment carries, as the admin payment list filters by them. */
export const PAYMENT_FLAGS = ['needsReview', 'latePayment', 'refundRequired', 'extraCapture'] as const;
export type PaymentFlag = (typeof PAYMENT_FLAGS)[number];

/** A payment's flags and, when money is owed back, `refundOwed`: what it is listed under for staff. */
export type PaymentCondition = PaymentFlag | 'refundOwed';

/** One piece of money owed back: the payment's own (what its order does not keep), or one extra capture. */
export interface OwedPart {
  amount: Fen;
  /** The extra capture this part is (refunded by its own transaction); absent: the payment's own money. */
  captureTransactionId?: string;
}

/**
 * What a payment took that its order does not keep and that no refund (not failed) covers yet: the
 * part of its own money above `keptAmount`, and every extra capture without a refund under way.
 */
export function owedParts(payment: Payment): OwedPart[] {
  if (payment.status !== 'succeeded') return [];
  const own = Math.max(0, refundableAmount(payment) - (payment.keptAmount ?? payment.amount));
  return [
    ...(own > 0 ? [{ amount: own }] : []),
    ...(payment.extraCaptures ?? [])
      .filter((capture) => !capture.refundId)
      .map((capture) => ({ amount: capture.amount, captureTransactionId: capture.providerTransactionId })),
  ];
}

export function refundOwed(payment: Payment): Fen {
  return owedParts(payment).reduce((sum, part) => sum + part.amount, 0);
}

/** Every flag and condition of a payment, in a stable order; empty for an ordinary one. */
export function paymentConditions(payment: Payment): PaymentCondition[] {
  const conditions: PaymentCondition[] = [];
  if (payment.needsReview) conditions.push('needsReview');
  if (payment.latePayment) conditions.push('latePayment');
  if (payment.refundRequired) conditions.push('refundRequired');
  if (payment.extraCaptures?.length) conditions.push('extraCapture');
  if (refundOwed(payment) > 0) conditions.push('refundOwed');
  return conditions;
}
