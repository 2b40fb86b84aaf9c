import type { Currency, Fen } from './money';
import type { PaymentMethod } from './payment';

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
  /** How we learned it: a pushed callback or our own query of the provider. */
  via: 'callback' | 'query';
}
