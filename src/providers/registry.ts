import type { PaymentMethod } from '../domain/payment';
import { createAlipayProvider } from './alipay';
import { createBankProvider } from './bank';
import type { PaymentsConfig } from './config';
import {
  DEFAULT_PROVIDER_CALLS_PER_SECOND,
  DEFAULT_PROVIDER_HTTP,
  type FetchLike,
  type ProviderHttpConfig,
} from './kit/http';
import type { PaymentProvider } from '../core/payments/provider';
import { withCallRate } from './kit/rate-limit';
import { createWechatProvider } from './wechat';

/**
 * The configured providers; a method missing from the config document is simply not offered.
 * Outbound calls are bounded by `http` (the deployment's, from PROVIDER_TIMEOUT_MS: src/aws/env.ts),
 * queries and closes held to its per-merchant rate (withCallRate).
 */
export function createProviders(
  config: PaymentsConfig,
  fetch: FetchLike = globalThis.fetch,
  http: ProviderHttpConfig = DEFAULT_PROVIDER_HTTP,
): Partial<Record<PaymentMethod, PaymentProvider>> {
  // One config names one merchant per provider: each provider's calls are held to that merchant's rate.
  const held = (provider: PaymentProvider) =>
    withCallRate(provider, http.backgroundCallsPerSecond ?? DEFAULT_PROVIDER_CALLS_PER_SECOND);
  return {
    ...(config.wechat ? { wechat: held(createWechatProvider({ config: config.wechat, fetch, http })) } : {}),
    ...(config.alipay ? { alipay: held(createAlipayProvider({ config: config.alipay, fetch, http })) } : {}),
    ...(config.bank ? { bank: held(createBankProvider({ config: config.bank, fetch, http })) } : {}),
  };
}
