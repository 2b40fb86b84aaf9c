import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { AlipayConfig } from '../config';
import { DEFAULT_PROVIDER_HTTP, providerSender, type ProviderHttpConfig, type FetchLike } from '../kit/http';
import { type PaymentProvider } from '../../core/payments/provider';
import { textReply } from '../kit/replies';
import { closeTrade, fetchBill, queryRefund, queryTrade, refundTrade } from './api';
import { checkoutAction, startCheckout } from './checkout';
import { alipaySceneTable } from './scenes';
import { type Merchant, verifyNotification } from './callbacks';
import { PROVIDER } from './wire';

export interface AlipayProviderOptions {
  config: AlipayConfig;
  fetch: FetchLike;
  http?: ProviderHttpConfig;
}

/** Keys are parsed once, here, so a bad PEM fails at start-up rather than on the first callback. */
export function createAlipayProvider({
  config,
  fetch,
  http = DEFAULT_PROVIDER_HTTP,
}: AlipayProviderOptions): PaymentProvider {
  const merchant: Merchant = {
    config,
    privateKey: createPrivateKey(config.privateKey),
    alipayPublicKey: createPublicKey(config.alipayPublicKey),
    send: providerSender(PROVIDER, fetch, http),
  };
  return {
    name: PROVIDER,
    scenes: alipaySceneTable(config),
    startCheckout: (request) => startCheckout(merchant, request),
    checkoutAction,
    // Alipay signs no timestamp worth a replay window: retries reuse notify_id, the dedupe key.
    verifyCallback: (callback) => verifyNotification(merchant, callback.body),
    acknowledge: () => textReply(200, 'success'),
    // Anything but `success` makes Alipay retry; the message is for our logs, never for Alipay.
    reject: (_message, retryable) => textReply(retryable ? 500 : 400, 'fail'),
    queryPayment: (paymentId, now) => queryTrade(merchant, paymentId, now),
    closePayment: (paymentId, now) => closeTrade(merchant, paymentId, now),
    refund: (request) => refundTrade(merchant, request),
    queryRefund: (request) => queryRefund(merchant, request),
    fetchBill: (request) => fetchBill(merchant, request),
  };
}
