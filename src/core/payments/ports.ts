import { DomainError } from '../../domain/errors';
import type { PaymentNotification } from '../../domain/notification';
import type { Payment, PaymentMethod, PaymentStatus } from '../../domain/payment';
import type { PaymentCondition } from '../../domain/waiting';
import type { ListWindow, Page } from '../kernel/page';

/** Which payments a list holds. A condition (a flag, or money owed back) reads the small attention set; the rest every payment's recent shards. */
export interface PaymentFilter {
  status?: PaymentStatus;
  method?: PaymentMethod;
  condition?: PaymentCondition;
}

export interface PaymentStore {
  getPayment(paymentId: string): Promise<Payment | undefined>;
  getPayments(paymentIds: readonly string[]): Promise<Payment[]>;
  /** Open payments whose next sweep time is at or before `dueBy`, earliest first within a page. */
  findDuePayments(dueBy: Date, options: { limit: number; cursor?: string }): Promise<Page<Payment>>;
  /** Open (init or processing) payments, counted on the due index: the "payments in flight". */
  countOpenPayments(): Promise<number>;
  /** Payments newest first. */
  listPayments(filter: PaymentFilter, window: ListWindow): Promise<Page<Payment>>;
  /** Payments with a condition (a flag, or money owed back), counted on the attention set. */
  countPaymentsWith(condition: PaymentCondition): Promise<number>;
}

/** Writes to a payment's item, the refund bookkeeping it carries included. */
export type PaymentWrite =
  | { kind: 'createPayment'; payment: Payment }
  /** Replaces the payment, conditional on the version and status that were read. */
  | { kind: 'updatePayment'; before: Payment; after: Payment }
  /**
   * Reserves a refund's amount on its payment without a read-modify-write race: conditional on
   * the payment being succeeded, on `refundReserved + amount <= amount` and on fewer than `limit`
   * refunds, so racing refunds can never reserve more than was paid (else RefundReservationRefusedError). Bumps the version.
   */
  | {
      kind: 'reserveRefund';
      paymentId: string;
      paymentAmount: number;
      refundId: string;
      amount: number;
      limit: number;
      now: string;
    }
  /**
   * Takes the payment's turn to call its provider about a refund: conditional on the last call
   * being at least `spacingSeconds` ago (refunds of one payment reach the provider one at a time; else RefundCallSpacedError).
   */
  | { kind: 'claimRefundCall'; paymentId: string; now: string; spacingSeconds: number }
  /**
   * Writes nothing: the transaction holds only if the notification's payment is absent or asked
   * for this provider, currency and amount (else PaymentMismatchError with the payment as stored).
   */
  | { kind: 'checkPaymentMatches'; notification: PaymentNotification };

/** A notification names a payment of another provider, currency or amount: `payment` is it, as stored. */
export class PaymentMismatchError extends DomainError {
  constructor(readonly payment: Payment) {
    super('PAYMENT_MISMATCH', `Notification does not match payment ${payment.paymentId}`);
  }
}

/** The payment's refundable amount, status or refund count did not allow this reservation (the payment as it is now). */
export class RefundReservationRefusedError extends DomainError {
  constructor(
    readonly paymentId: string,
    readonly current?: Record<string, unknown>,
  ) {
    super('REFUND_RESERVATION_REFUSED', `Payment ${paymentId} no longer allows this refund`);
  }
}

/** Another refund of the payment reached its provider less than the spacing ago. */
export class RefundCallSpacedError extends DomainError {
  constructor(
    readonly paymentId: string,
    readonly lastCallAt?: string,
  ) {
    super('REFUND_CALL_SPACED', `A refund of payment ${paymentId} was sent at ${lastCallAt}; the next must wait`);
  }
}
