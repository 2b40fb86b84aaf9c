import { providerHttpFromEnv } from '../aws/env';
import type { PaymentMethod } from '../domain/payment';
import { createAlipayProvider } from './alipay';
import { createBankProvider } from './bank';
import type { PaymentsConfig } from './config';
import type { ProviderHttpConfig, FetchLike } from './http';
import type { PaymentProvider } from '../core/payments/provider';
import { createWechatProvider } from './wechat';

/**
 * The configured providers; a method missing from the config document is simply not offered.
 * Outbound calls are bounded by `http`, from the environment unless given (PROVIDER_TIMEOUT_MS).
 */
export function createProviders(
  config: PaymentsConfig,
  fetch: FetchLike = globalThis.fetch,
  http: ProviderHttpConfig = providerHttpFromEnv(),
): Partial<Record<PaymentMethod, PaymentProvider>> {
  return {
    ...(config.wechat ? { wechat: createWechatProvider({ config: config.wechat, fetch, http }) } : {}),
    ...(config.alipay ? { alipay: createAlipayProvider({ config: config.alipay, fetch, http }) } : {}),
    ...(config.bank ? { bank: createBankProvider({ config: config.bank, fetch, http }) } : {}),
  };
}
