import type { Currency, Fen } from './money';
import type { PaymentMethod } from './payment';
import type { PaymentScene } from './scene';

/** What a provider told us happened to a payment: the outcome it asserts. */
export const NOTIFICATION_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

/**
 * One verified provider notification, normalised from any provider's wire format (or from the
 * answer to our own query when a callback was lost). It is what the callback Lambda enqueues
 * and what the worker applies.
 */
export interface PaymentNotification {
  provider: PaymentMethod;
  /** The provider's own id for this notification; the dedupe key together with `provider`. */
  eventId: string;
  paymentId: string;
  providerTransactionId?: string;
  outcome: NotificationOutcome;
  amount: Fen;
  currency: Currency;
  occurredAt: string;
  /** Provider's wording of the state (trade_state, trade_status, status) for the audit log. */
  providerStatus: string;
  /** How the provider says it was paid (WeChat trade_type), when its format tells. */
  tradeType?: string;
  /** The scene that trade type (and appid) stands for at this provider, when it can tell. */
  scene?: PaymentScene;
  /** How we learned it: a pushed callback or our own query of the provider. */
  via: 'callback' | 'query';
}

/** What a provider told us happened to a refund. Providers never push `processing`; queries may say it. */
export const REFUND_OUTCOMES = ['succeeded', 'failed', 'abnormal', 'processing'] as const;
export type RefundOutcome = (typeof REFUND_OUTCOMES)[number];

/**
 * One verified provider notification about a refund (WeChat REFUND.*, an Alipay trade_status_sync
 * carrying refund fields, a bank refund.* webhook), normalised like PaymentNotification. A refund
 * made outside this system (the provider's merchant console) arrives the same way: its `refundId`
 * is then absent or names no refund of ours.
 */
export interface RefundNotification {
  type: 'refund';
  provider: PaymentMethod;
  /** The provider's own id for this notification; the dedupe key together with `provider`. */
  eventId: string;
  /** Our refund id (WeChat out_refund_no, Alipay out_biz_no, bank refund_id); absent when the provider names none. */
  refundId?: string;
  paymentId: string;
  /** The provider's id for the refund (WeChat refund_id). */
  providerRefundId?: string;
  providerTransactionId?: string;
  outcome: RefundOutcome;
  /**
   * This refund's amount. Alipay's notification does not carry it, only the payment's cumulative
   * refunded amount (`refundedTotal`): there `amount` is 0 (unknown) and the core derives it, see
   * `refundedTotal`.
   */
  amount: Fen;
  /** The original payment's amount, where the format carries it (WeChat amount.total, Alipay total_amount). */
  paymentAmount?: Fen;
  /**
   * Alipay only: everything refunded on the payment so far, this refund included (`refund_fee`,
   * cumulative). The core derives this refund's amount: when `refundId` names a refund of ours,
   * it is that refund's own amount (confirmed with `queryRefund`, which answers per refund);
   * otherwise (a refund made outside this system) it is `refundedTotal` minus what the core has
   * already recorded as refunded on the payment, and nothing when that difference is not positive
   * (a repeat of a notification it has already applied). See docs/PROVIDERS.md#refunds-rules-for-the-core.
   */
  refundedTotal?: Fen;
  currency: Currency;
  occurredAt: string;
  /** Provider's wording of the state (refund_status, trade_status, webhook type) for the audit log. */
  providerStatus: string;
  via: 'callback' | 'query';
}

export function isRefundNotification(
  notification: PaymentNotification | RefundNotification,
): notification is RefundNotification {
  return 'type' in notification && notification.type === 'refund';
}
