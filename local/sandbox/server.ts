import type { Logger } from '../../src/core/kernel/deps';
import type { Clock } from '../../src/core/kernel/ports';
import type { ProviderName } from '../../src/core/payments/provider';
import type { Fen } from '../../src/domain/money';
import { createAlipaySimulator } from './alipay';
import { createBankSimulator } from './bank';
import type { SandboxKeys } from './keys';
import { type Notice, Notifier } from './notifier';
import { handleSandboxRequest, isExpired } from './routes';
import { createCheckoutStore, PROVIDER_IDS } from './store';
import type {
  CallbackFetch,
  CheckoutStore,
  ConsoleRefund,
  CustomerDecision,
  Decision,
  ProviderSimulator,
  RefundRefusal,
  Sandbox,
  SandboxCheckout,
  SandboxRefund,
  SandboxRefundOutcome,
} from './types';
import { createWechatSimulator, type WechatRules } from './wechat';

/**
 * The sandbox provider of a local run (docs/PROVIDERS.md#sandbox), mounted under `/sandbox`:
 * - `/sandbox/<wechat|alipay|bank>/...`: that provider's API, answered by its simulator;
 * - `GET /sandbox/checkout/<paymentId>`: the pay URL's page, where a person or a test decides;
 * - `POST /sandbox/checkout/<paymentId>/<pay|fail|cancel>`: the decision, after which the
 *   provider's callback is sent to the merchant's notify URL and retried until acknowledged
 *   (`?notify=false`: none is sent, a lost callback for query and reconciliation tests;
 *   `pay?amount=<fen>`: the provider takes that amount instead, a mismatch parked for review);
 * - `POST /sandbox/refunds {paymentId, amount, notify?}`: a refund made on the provider's own
 *   console, outside the merchant's system; notified unless `notify` is false.
 * Refunds the merchant asks for through a provider's API end as `refundOutcome` says
 * (SANDBOX_REFUND_OUTCOME) and are notified in that provider's format, retried like callbacks.
 */

/**
 * WeChat's callback retry schedule (about 24 h), the default for every provider. A local run
 * passes a scaled-down copy, e.g. `WECHAT_RETRY_DELAYS_MS.map((ms) => ms / 1000)`.
 */
export const WECHAT_RETRY_DELAYS_MS: readonly number[] = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((seconds) => seconds * 1000);

export interface SandboxOptions {
  keys: SandboxKeys;
  /** Where browsers and merchant modules reach this runtime, e.g. http://127.0.0.1:3000. */
  publicBaseUrl: string;
  fetch?: CallbackFetch;
  /** Delays between callback attempts; the first attempt is immediate. */
  retryDelaysMs?: readonly number[];
  clock?: Clock;
  log?: Logger;
  /** SANDBOX_REFUND_OUTCOME (default succeed). */
  refundOutcome?: SandboxRefundOutcome;
  /** How long after the API accepted it a WeChat or bank refund ends (default 200 ms). */
  refundSettleDelayMs?: number;
  /** WeChat's least time between two refunds of one payment (default 0: not enforced). */
  refundSpacingMs?: number;
  /** WeChat JSAPI 支付授权目录 besides the sandbox's own origin (SANDBOX_WECHAT_JSAPI_DIRECTORIES). */
  jsapiDirectories?: readonly string[];
  /** WeChat H5 支付域名 besides the sandbox's own host, whose pages (the local return page) it serves (SANDBOX_WECHAT_H5_DOMAINS). */
  h5Domains?: readonly string[];
  /** Payment queries and closes per second each provider takes, past which it answers as it does when limited (default 0: none). */
  callsPerSecond?: number;
}

const DEFAULT_REFUND_SETTLE_DELAY_MS = 200;

const DECIDED_STATE: Readonly<Record<CustomerDecision, Exclude<SandboxCheckout['state'], 'pending'>>> = {
  pay: 'paid',
  fail: 'failed',
  cancel: 'closed',
};

export function createSandbox(options: SandboxOptions): Sandbox {
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const now = () => options.clock?.now() ?? new Date();
  const simulators = createSimulators(options.keys, {
    refundSpacingMs: options.refundSpacingMs ?? 0,
    jsapiDirectories: [`${new URL(publicBaseUrl).origin}/`, ...(options.jsapiDirectories ?? [])],
    h5Domains: [new URL(publicBaseUrl).hostname, ...(options.h5Domains ?? [])],
    callsPerSecond: options.callsPerSecond ?? 0,
  });
  const simulatorFor = (provider: ProviderName): ProviderSimulator => {
    // Only a simulator puts checkouts in the store, so its provider always has one.
    const simulator = simulators[provider];
    if (!simulator) throw new Error(`no ${provider} simulator`);
    return simulator;
  };
  const notifier = new Notifier({
    fetch: options.fetch ?? globalThis.fetch,
    retryDelaysMs: options.retryDelaysMs ?? WECHAT_RETRY_DELAYS_MS,
    now,
    log: options.log,
    simulatorFor,
  });
  const store = createCheckoutStore({
    publicBaseUrl,
    refundOutcome: options.refundOutcome,
    clock: now,
    defer: (task) => notifier.later(task, options.refundSettleDelayMs ?? DEFAULT_REFUND_SETTLE_DELAY_MS),
    onRefundSettled: (checkout, refund) => {
      if (refund.notify && !notifier.isStopped)
        notifier.send(refundNotice(simulatorFor, checkout, refund), 1, {
          paymentId: checkout.paymentId,
          refundKey: refund.key,
        });
    },
  });
  const decide: Sandbox['decide'] = (paymentId, decision, decideOptions) =>
    decideCheckout({ store, notifier, now, simulatorFor }, paymentId, decision, decideOptions);
  const refund: Sandbox['refund'] = (paymentId, amount, refundOptions) =>
    consoleRefund(store, now(), paymentId, amount, refundOptions);
  return {
    handle: (request) => handleSandboxRequest({ store, simulators, now, decide, refund }, request),
    store,
    decide,
    refund,
    deliveries: (paymentId) => notifier.deliveries(paymentId),
    refundDeliveries: (paymentId) => notifier.refundDeliveries(paymentId),
    stop: () => notifier.stop(),
  };
}

function createSimulators(
  keys: SandboxKeys,
  wechatRules: WechatRules,
): Partial<Record<ProviderName, ProviderSimulator>> {
  return {
    ...(keys.wechat ? { wechat: createWechatSimulator(keys.wechat, wechatRules) } : {}),
    ...(keys.alipay
      ? { alipay: createAlipaySimulator(keys.alipay, { callsPerSecond: wechatRules.callsPerSecond }) }
      : {}),
    ...(keys.bank ? { bank: createBankSimulator(keys.bank) } : {}),
  };
}

interface Deciding {
  store: CheckoutStore;
  notifier: Notifier;
  now: () => Date;
  simulatorFor(provider: ProviderName): ProviderSimulator;
}

async function decideCheckout(
  { store, notifier, now, simulatorFor }: Deciding,
  paymentId: string,
  decision: CustomerDecision,
  { notify = true, amount }: { notify?: boolean; amount?: Fen } = {},
): Promise<Decision> {
  const checkout = store.get(paymentId);
  if (!checkout) return { result: 'not_found', message: `The sandbox holds no checkout for payment ${paymentId}.` };
  if (checkout.state !== 'pending') {
    return {
      result: 'already_decided',
      checkout,
      message: `Payment ${paymentId} is already ${checkout.state}; a checkout is decided once.`,
    };
  }
  const decidedAt = now();
  if (decision === 'pay' && isExpired(checkout, decidedAt)) {
    return {
      result: 'expired',
      checkout,
      message: `Payment ${paymentId} expired at ${checkout.expiresAt}; it can no longer be paid.`,
    };
  }
  const ids = PROVIDER_IDS[checkout.provider];
  const decided: SandboxCheckout = {
    ...checkout,
    state: DECIDED_STATE[decision],
    notificationId: ids.notificationId(),
    // Deciding means the customer reached the cashier: a scanned QR's trade now exists.
    ...(checkout.scene ? { scene: { ...checkout.scene, unscanned: false } } : {}),
    ...(decision === 'pay'
      ? { transactionId: checkout.transactionId ?? ids.transactionId(decidedAt), paidAt: decidedAt.toISOString() }
      : {}),
    ...(decision === 'pay' && amount !== undefined ? { amount } : {}),
  };
  // Written before the first await: a second decision arriving meanwhile sees it decided.
  store.put(decided);
  const delivery = notify ? await notifier.deliver(checkoutNotice(simulatorFor, store, decided), 1) : undefined;
  return {
    result: 'decided',
    checkout: decided,
    delivery,
    retrying: delivery !== undefined && !delivery.acknowledged && notifier.hasRetryAfter(1),
  };
}

/** The payment's callback, rebuilt from the checkout as it is at each attempt. */
function checkoutNotice(
  simulatorFor: Deciding['simulatorFor'],
  store: CheckoutStore,
  checkout: SandboxCheckout,
): Notice {
  const simulator = simulatorFor(checkout.provider);
  return {
    provider: checkout.provider,
    paymentId: checkout.paymentId,
    build: (at) => simulator.buildCallback(store.get(checkout.paymentId) ?? checkout, at),
  };
}

function refundNotice(
  simulatorFor: Deciding['simulatorFor'],
  checkout: SandboxCheckout,
  refund: SandboxRefund,
): Notice {
  const simulator = simulatorFor(checkout.provider);
  return {
    provider: checkout.provider,
    paymentId: checkout.paymentId,
    refundKey: refund.key,
    build: (at) => simulator.buildRefundCallback(checkout, refund, at),
  };
}

/** A refund made on the provider's console, outside the merchant's system: it succeeds at once. */
function consoleRefund(
  store: CheckoutStore,
  now: Date,
  paymentId: string,
  amount: number,
  { notify }: { notify?: boolean } = {},
): ConsoleRefund {
  if (!store.get(paymentId)) return { result: 'not_found', message: `The sandbox holds no payment ${paymentId}.` };
  const opened = store.refunds.open({ paymentId, amount, external: true, notify, settle: 'never' }, now);
  if (opened.result === 'refused')
    return { result: opened.refusal, message: refusalMessage(opened.refusal, paymentId, store) };
  const refund = store.refunds.settle(paymentId, opened.refund.key, now, 'succeeded');
  return {
    result: 'refunded',
    refund,
    refundedAmount: store.refunds.refundedAmount(paymentId),
    refundableAmount: store.refunds.refundableAmount(paymentId),
  };
}

function refusalMessage(refusal: RefundRefusal, paymentId: string, store: CheckoutStore): string {
  if (refusal === 'not_paid') return `Payment ${paymentId} is not paid: there is nothing to refund.`;
  if (refusal === 'exceeds_refundable')
    return `Only ${store.refunds.refundableAmount(paymentId)} fen of payment ${paymentId} can still be refunded.`;
  return `The provider refused the refund (${refusal}).`;
}
