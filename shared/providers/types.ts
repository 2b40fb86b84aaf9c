import type { Currency, Fen } from '../domain/money';
import type { PaymentNotification } from '../domain/notification';
import type { PaymentMethod } from '../domain/payment';

export type ProviderName = PaymentMethod;

/** A callback exactly as it reached us: lower-cased header names and the raw body bytes. */
export interface RawCallback {
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/** An HTTP reply in the provider's own format (acknowledgement or failure). */
export interface ProviderReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Why a callback was not accepted; each one is counted under its own name. */
export const REJECTION_REASONS = [
  'malformed', // not the provider's format at all, or a required header/field missing
  'bad_signature', // signature does not verify
  'signature_probe', // WeChat WECHATPAY/SIGNTEST/ probe: rejected, counted apart
  'unknown_key', // Wechatpay-Serial names no configured key
  'stale_timestamp', // outside the replay window
  'decrypt_failed', // AES-GCM resource could not be opened with our APIv3 key
  'merchant_mismatch', // mchid / appid / app_id / seller_id not ours
  'amount_mismatch', // amount differs from the payment's
  'currency_mismatch',
  'unknown_payment', // no such payment (only where the caller chose to check)
  'unsupported_event', // a verified event we do not act on (e.g. a refund event)
  'not_configured', // the provider is not configured in this deployment
  'too_large', // the body is over the size bound: refused before any verification
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type CallbackVerification =
  | { ok: true; notification: PaymentNotification }
  | { ok: false; reason: RejectionReason; detail: string };

/** What the provider needs to know about a payment to create its checkout. */
export interface PayablePayment {
  paymentId: string;
  orderId: string;
  amount: Fen;
  currency: Currency;
  expiresAt: string;
  description: string;
}

export interface PayUrlRequest {
  payment: PayablePayment;
  /** Our callback URL for this provider. */
  notifyUrl: string;
  /** Where the customer's browser returns after paying (Alipay, bank). */
  returnUrl: string;
  /** Alipay: `page` = alipay.trade.page.pay (desktop), `wap` = alipay.trade.wap.pay (mobile). */
  channel?: 'page' | 'wap';
  now: Date;
}

/** The provider's view of a payment, from our query. */
export type ProviderPaymentState =
  | { status: 'paid'; providerTransactionId: string; amount: Fen; currency: Currency; paidAt: string; providerStatus: string }
  | { status: 'pending' | 'closed' | 'failed' | 'not_found'; providerStatus: string };

export class ProviderNotSupportedError extends Error {
  readonly code = 'PROVIDER_NOT_SUPPORTED';
  constructor(readonly provider: ProviderName, readonly operation: string) {
    super(`${provider} does not support ${operation}`);
    this.name = 'ProviderNotSupportedError';
  }
}

/** A provider answered an outbound call with an error, or its answer failed verification. */
export class ProviderCallError extends Error {
  readonly code = 'PROVIDER_CALL_FAILED';
  constructor(readonly provider: ProviderName, readonly operation: string, message: string, readonly retryable = true) {
    super(`${provider} ${operation}: ${message}`);
    this.name = 'ProviderCallError';
  }
}

/**
 * One payment provider. Every provider module implements exactly this, so a fourth provider is
 * one new file plus its tests.
 */
export interface PaymentProvider {
  readonly name: ProviderName;
  /** Creates the provider-side checkout for a payment and returns where the customer pays. */
  createPayUrl(request: PayUrlRequest): Promise<{ payUrl: string }>;
  /**
   * Verifies a callback (signature, replay window, keys, decryption, merchant ids) and normalises
   * it. Amount checks against our payment record happen in the caller (see `checkAgainstPayment`).
   */
  verifyCallback(callback: RawCallback, now: Date): CallbackVerification;
  /** The provider's "received, stop retrying" answer. */
  acknowledge(): ProviderReply;
  /** The provider's failure answer; `retryable` picks a 5xx (provider retries) over a 4xx. */
  reject(message: string, retryable: boolean): ProviderReply;
  /** Asks the provider for the payment's state (lost callbacks, expiry). */
  queryPayment(paymentId: string, now: Date): Promise<ProviderPaymentState>;
  /** Closes the payment at the provider so it can no longer be paid. */
  closePayment(paymentId: string, now: Date): Promise<void>;
}

export type FetchLike = (input: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;
