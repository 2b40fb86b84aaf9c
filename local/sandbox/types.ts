import type { Currency, Fen } from '../../shared/domain/money';
import type { ProviderName } from '../../shared/providers/types';

/**
 * The sandbox stands in for the three providers on one machine. Each provider has a simulator
 * module (this interface) that speaks that provider's real wire format from the provider's side:
 * it checks the merchant's signed requests, answers them signed, and signs the callbacks it sends.
 */

/** A checkout the sandbox holds, as the provider would. */
export interface SandboxCheckout {
  provider: ProviderName;
  paymentId: string;
  amount: Fen;
  currency: Currency;
  description: string;
  notifyUrl: string;
  returnUrl?: string;
  expiresAt: string;
  /** pending: awaiting the customer; paid / failed / closed: decided. */
  state: 'pending' | 'paid' | 'failed' | 'closed';
  transactionId?: string;
  paidAt?: string;
  /** Id the provider uses for the notification it sends about this checkout's outcome. */
  notificationId?: string;
}

export interface CheckoutStore {
  get(paymentId: string): SandboxCheckout | undefined;
  put(checkout: SandboxCheckout): void;
  /** Absolute URL of the sandbox checkout page for a payment (the "pay URL" a customer opens). */
  checkoutUrl(paymentId: string): string;
}

/** A request the merchant (our provider module) sent to the provider, base path stripped. */
export interface SandboxRequest {
  method: string;
  /** Path below the provider's base, e.g. `/v3/pay/transactions/native` or `/gateway.do`. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface SandboxResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A callback the provider sends to the merchant's notify URL, ready to POST. */
export interface OutboundCallback {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ProviderSimulator {
  readonly name: ProviderName;
  /** Answers the merchant's calls to this provider's API (create checkout, query, close, pay-page entry). */
  handle(request: SandboxRequest, store: CheckoutStore, now: Date): Promise<SandboxResponse>;
  /**
   * The callback the provider sends once `checkout.state` is decided, in its real format and
   * signed with the provider-side keys. Undefined when this provider would not push that outcome.
   */
  buildCallback(checkout: SandboxCheckout, now: Date): OutboundCallback | undefined;
  /** Whether a response from the merchant's callback endpoint counts as acknowledged for this provider. */
  isAcknowledged(statusCode: number, body: string): boolean;
}
