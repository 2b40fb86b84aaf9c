import { createSecretKey } from 'node:crypto';
import { assertFen } from '../../domain/money';
import type { BankConfig } from '../config';
import { DEFAULT_PROVIDER_HTTP, providerSender, type ProviderHttpConfig, type FetchLike } from '../kit/http';
import type { CheckoutRequest, PaymentProvider } from '../../core/payments/provider';
import { jsonReply } from '../kit/replies';
import { createRefund, fetchSettlementReport, queryRefund } from './api';
import { verifyBankCallback } from './callbacks';
import { type KeyedBankConfig, signPayParams } from './signatures';
import type { BankPayParams } from './wire';

/**
 * Pay URL: `${gatewayUrl}?payment_id&amount&currency&expires_at&return_url&notify_url&signature`.
 * The gateway refuses to take payment after `expires_at`, so once that time has passed the
 * payment can no longer be paid at the bank: that is what lets the sweeper expire a bank payment
 * locally without a close call (which this scheme does not have).
 */
function buildPayUrl(config: BankConfig, { payment, notifyUrl, returnUrl }: CheckoutRequest): string {
  const params: BankPayParams = {
    payment_id: payment.paymentId,
    amount: String(assertFen(payment.amount)),
    currency: payment.currency,
    expires_at: new Date(payment.expiresAt).toISOString(),
    return_url: returnUrl,
    notify_url: notifyUrl,
  };
  const url = new URL(config.gatewayUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  url.searchParams.set('signature', signPayParams(params, config.signingSecret));
  return url.toString();
}

export interface BankProviderOptions {
  config: BankConfig;
  /** Serves the refund API and the settlement report: payments need no outbound call. */
  fetch?: FetchLike;
  http?: ProviderHttpConfig;
}

export function createBankProvider({
  config,
  fetch = globalThis.fetch,
  http = DEFAULT_PROVIDER_HTTP,
}: BankProviderOptions): PaymentProvider {
  const sender = providerSender('bank', fetch, http);
  const keyed: KeyedBankConfig = {
    ...config,
    webhookKeys: config.webhookSecrets.map((secret) => createSecretKey(secret, 'utf8')),
  };
  return {
    name: 'bank',
    // One scene, the bank's pay page; no query, no close (its signed expiry is the only word).
    scenes: new Map([['page', { configured: true, action: 'redirect' }]]),
    startCheckout: async (request) => ({ ref: buildPayUrl(config, request) }),
    checkoutAction: ({ ref }) => ({ type: 'redirect', url: ref }),
    verifyCallback: (callback, now) => verifyBankCallback(keyed, callback.headers, callback.body, now),
    acknowledge: () => jsonReply(200, { received: true }),
    reject: (message, retryable) => jsonReply(retryable ? 500 : 400, { received: false, error: message }),
    refund: (request) => createRefund(keyed, sender, request),
    queryRefund: (request) => queryRefund(keyed, sender, request),
    fetchBill: (request) => fetchSettlementReport(keyed, sender, request),
  };
}
