import type { PaymentMethod } from '../domain/payment';
import { createAlipayProvider } from './alipay';
import { createBankProvider } from './bank';
import type { PaymentsConfig } from './config';
import type { FetchLike, PaymentProvider } from './types';
import { createWechatProvider } from './wechat';

/** The configured providers; a method missing from the config document is simply not offered. */
export function createProviders(config: PaymentsConfig, fetch: FetchLike = globalThis.fetch): Partial<Record<PaymentMethod, PaymentProvider>> {
  return {
    ...(config.wechat ? { wechat: createWechatProvider({ config: config.wechat, fetch }) } : {}),
    ...(config.alipay ? { alipay: createAlipayProvider({ config: config.alipay, fetch }) } : {}),
    ...(config.bank ? { bank: createBankProvider({ config: config.bank, fetch }) } : {}),
  };
}
