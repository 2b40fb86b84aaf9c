import type { PaymentMethod } from '../domain/payment';
import { createAlipayProvider } from './alipay';
import { createBankProvider } from './bank';
import type { PaymentsConfig } from './config';
import { DEFAULT_PROVIDER_HTTP, type FetchLike, type ProviderHttpConfig } from './kit/http';
import type { PaymentProvider } from '../core/payments/provider';
import { createWechatProvider } from './wechat';

/**
 * The configured providers; a method missing from the config document is simply not offered.
 * Outbound calls are bounded by `http` (the deployment's, from PROVIDER_TIMEOUT_MS: src/aws/env.ts).
 */
export function createProviders(
  config: PaymentsConfig,
  fetch: FetchLike = globalThis.fetch,
  http: ProviderHttpConfig = DEFAULT_PROVIDER_HTTP,
): Partial<Record<PaymentMethod, PaymentProvider>> {
  return {
    ...(config.wechat ? { wechat: createWechatProvider({ config: config.wechat, fetch, http }) } : {}),
    ...(config.alipay ? { alipay: createAlipayProvider({ config: config.alipay, fetch, http }) } : {}),
    ...(config.bank ? { bank: createBankProvider({ config: config.bank, fetch, http }) } : {}),
  };
}
