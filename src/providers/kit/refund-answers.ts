import { CURRENCY } from '../../domain/money';
import { ProviderCallError, type ProviderName } from '../../core/payments/provider';

/** What a refund answer (create or query) must be about: the refund we asked for, nothing else. */
export interface ExpectedRefund {
  refundId: string;
  paymentId: string;
  /** This refund's amount, when the call named one (a create). */
  amount?: number;
  /** The original payment's amount, when the call named one (WeChat's amount.total). */
  paymentAmount?: number;
}

/** The same facts as the provider's answer spells them; undefined where its format has none. */
export interface AnsweredRefund {
  refundId?: string;
  paymentId?: string;
  amount?: number;
  paymentAmount?: number;
  currency?: string;
}

/**
 * An answer about another refund, another payment or another amount leaves the outcome unknown:
 * a retryable ProviderCallError, never a failure (the same refund number is safe to send again).
 */
export function checkRefundAnswer(
  provider: ProviderName,
  operation: 'refund' | 'queryRefund' | 'retryAbnormalRefund',
  expected: ExpectedRefund,
  answered: AnsweredRefund,
): void {
  const fail = (message: string) => new ProviderCallError(provider, operation, message);
  if (
    (answered.refundId ?? expected.refundId) !== expected.refundId ||
    (answered.paymentId ?? expected.paymentId) !== expected.paymentId
  )
    throw fail('answer is about another refund or payment');
  const amountDiffers =
    expected.amount !== undefined && answered.amount !== undefined && answered.amount !== expected.amount;
  const totalDiffers =
    expected.paymentAmount !== undefined &&
    answered.paymentAmount !== undefined &&
    answered.paymentAmount !== expected.paymentAmount;
  if (amountDiffers || totalDiffers)
    throw fail(
      `answer is for ${answered.amount} of ${answered.paymentAmount ?? '?'} fen, asked ${expected.amount} of ${expected.paymentAmount ?? '?'}`,
    );
  if (answered.currency !== undefined && answered.currency !== CURRENCY)
    throw fail(`currency ${answered.currency}, expected ${CURRENCY}`);
}
