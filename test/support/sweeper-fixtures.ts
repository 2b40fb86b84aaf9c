import { randomInt } from 'node:crypto';
import { generateBankKeys } from '../../local/sandbox/bank';
import type { ProviderSimulator, SandboxCheckout } from '../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../local/sandbox/wechat';
import { createAlipaySimulator } from '../../local/sandbox/alipay';
import { isRefundNotification, type PaymentNotification } from '../../src/domain/notification';
import { createAlipayProvider } from '../../src/providers/alipay';
import type { FetchLike } from '../../src/providers/kit/http';
import type { PaymentProvider } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';
import {
  alipayTestKeys,
  memoryCheckoutStore,
  openInSimulator,
  simulatorFetch as alipaySimulatorFetch,
  toRawCallback,
} from './alipay-fixtures';
import { BANK_SANDBOX_BASE } from './bank-fixtures';
import { simulatorFetch as wechatSimulatorFetch, WECHAT_SANDBOX_BASE } from './wechat-fixtures';

/** The providers with query and close APIs (the bank has neither). */
export type QueryableMethod = 'wechat' | 'alipay';
export type ProviderOperation = 'create' | 'query' | 'close';

/** RSA pairs are slow to make: generate once per test file. */
export function sandboxKeys() {
  return {
    wechat: generateWechatKeys(WECHAT_SANDBOX_BASE),
    alipay: alipayTestKeys(),
    bank: generateBankKeys(BANK_SANDBOX_BASE),
  };
}
export type SandboxKeys = ReturnType<typeof sandboxKeys>;

/** A provider's real merchant module, wired in-process to that provider's sandbox simulator. */
export interface ProviderSandbox {
  readonly provider: PaymentProvider;
  /** Every request the merchant module sent to the provider, oldest first. */
  readonly requests: ProviderOperation[];
  /** While true, the provider's close API is down: it answers HTTP 500. */
  closeOutage: boolean;
  /** Called as each request reaches the provider: lets a test act at that moment. */
  onRequest?: (operation: ProviderOperation) => void;
  /** The customer's browser opening the pay URL, after which the checkout exists at the provider. */
  openPayUrl(payUrl: string): Promise<void>;
  checkout(paymentId: string): SandboxCheckout | undefined;
  /**
   * The provider decides the checkout. No callback is sent: it is lost on the way. `amount` makes
   * the provider report another amount than the one we asked for (a tampered or broken checkout).
   */
  decide(paymentId: string, state: 'paid' | 'closed', options?: { amount?: number }): void;
  /** The success callback the provider would send for the checkout, verified by the merchant module. */
  successNotification(paymentId: string): PaymentNotification;
  /** Arms the provider's refusal `code` for the next checkout creation(s) (local/sandbox/refusals.ts). */
  refuse(code: string, options?: { paymentId?: string; times?: number }): void;
}

function operationOf(input: string, init: { method?: string; body?: string }): ProviderOperation {
  const alipayMethod = new URLSearchParams(init.body ?? '').get('method');
  if (input.endsWith('/close') || alipayMethod === 'alipay.trade.close') return 'close';
  if (init.method === 'GET' || alipayMethod === 'alipay.trade.query') return 'query';
  return 'create';
}

const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');

/** `callsPerSecond`: the provider's limit on queries and closes, each (0 or absent: none). */
export function providerSandbox(
  method: QueryableMethod,
  keys: SandboxKeys,
  now: () => Date,
  limits: { callsPerSecond?: number } = {},
): ProviderSandbox {
  const store = memoryCheckoutStore();
  const simulator: ProviderSimulator =
    method === 'wechat'
      ? createWechatSimulator(keys.wechat.sandbox, limits)
      : createAlipaySimulator(keys.alipay.sandbox, limits);
  // The Alipay adapter takes a fixed time: build it per request so the simulator sees the test clock.
  const toSimulator: FetchLike =
    method === 'wechat'
      ? wechatSimulatorFetch(simulator, store, { now })
      : (input, init) => alipaySimulatorFetch(simulator, store, now())(input, init);

  const fetch: FetchLike = async (input, init = {}) => {
    const operation = operationOf(input, init);
    sandbox.requests.push(operation);
    sandbox.onRequest?.(operation);
    if (operation === 'close' && sandbox.closeOutage)
      return { status: 500, headers: new Headers(), text: async () => 'Internal Server Error' };
    return toSimulator(input, init);
  };
  const provider =
    method === 'wechat'
      ? createWechatProvider({ config: keys.wechat.merchant, fetch })
      : createAlipayProvider({ config: keys.alipay.merchant, fetch });

  const existing = (paymentId: string) => {
    const checkout = store.get(paymentId);
    if (!checkout) throw new Error(`${method} has no checkout for ${paymentId}`);
    return checkout;
  };
  const paid = (checkout: SandboxCheckout): SandboxCheckout => ({
    ...checkout,
    state: 'paid',
    transactionId: `${method === 'wechat' ? '4200' : '2026'}${digits(24)}`,
    paidAt: now().toISOString(),
  });

  const sandbox: ProviderSandbox = {
    provider,
    requests: [],
    closeOutage: false,
    async openPayUrl(payUrl) {
      if (method === 'wechat') return; // WeChat created the checkout when we asked for the code_url
      const response = await openInSimulator(simulator, store, payUrl, now());
      if (response.statusCode !== 302)
        throw new Error(`Alipay refused the pay URL: ${response.statusCode} ${response.body}`);
    },
    checkout: (paymentId) => store.get(paymentId),
    decide(paymentId, state, options = {}) {
      const checkout = { ...existing(paymentId), ...(options.amount === undefined ? {} : { amount: options.amount }) };
      store.put(state === 'paid' ? paid(checkout) : { ...checkout, state });
    },
    successNotification(paymentId) {
      const callback = simulator.buildCallback(paid(existing(paymentId)), now());
      if (!callback) throw new Error(`${method} sends no callback for a paid checkout`);
      const verification = provider.verifyCallback(toRawCallback(callback), now());
      if (!verification.ok)
        throw new Error(
          `the ${method} module refused its own provider's callback: ${verification.reason} ${verification.detail}`,
        );
      if (isRefundNotification(verification.notification))
        throw new Error(`the ${method} module read a payment callback as a refund`);
      return verification.notification;
    },
    refuse(code, options) {
      if (!simulator.refusals?.arm(code, options)) throw new Error(`${method} has no refusal ${code}`);
    },
  };
  return sandbox;
}
