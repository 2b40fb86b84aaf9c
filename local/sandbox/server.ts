import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/core/deps';
import type { Clock } from '../../shared/core/ports';
import { fenToYuan } from '../../shared/domain/money';
import type { ProviderName } from '../../shared/providers/types';
import { createAlipaySimulator } from './alipay';
import { createBankSimulator } from './bank';
import { checkoutPage, decisionPage, messagePage } from './checkout-page';
import type { SandboxKeys } from './keys';
import type { CheckoutStore, OutboundCallback, ProviderSimulator, SandboxCheckout, SandboxResponse } from './types';
import { createWechatSimulator } from './wechat';

/**
 * The sandbox provider of a local run (docs/PROVIDERS.md#sandbox), mounted under `/sandbox`:
 * - `/sandbox/<wechat|alipay|bank>/...`: that provider's API, answered by its simulator;
 * - `GET /sandbox/checkout/<paymentId>`: the pay URL's page, where a person or a test decides;
 * - `POST /sandbox/checkout/<paymentId>/<pay|fail|cancel>`: the decision, after which the
 *   provider's callback is sent to the merchant's notify URL and retried until acknowledged.
 */

export const CUSTOMER_DECISIONS = ['pay', 'fail', 'cancel'] as const;
export type CustomerDecision = (typeof CUSTOMER_DECISIONS)[number];

/**
 * WeChat's callback retry schedule (about 24 h), the default for every provider. A local run
 * passes a scaled-down copy, e.g. `WECHAT_RETRY_DELAYS_MS.map((ms) => ms / 1000)`.
 */
export const WECHAT_RETRY_DELAYS_MS: readonly number[] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600].map(
  (seconds) => seconds * 1000,
);

/** How long the merchant has to answer one callback before the attempt counts as failed. */
const CALLBACK_TIMEOUT_MS = 5000;

/** One attempt to deliver a callback: the merchant's HTTP status, or why none came back. */
export type CallbackDelivery = { attempt: number; at: string; acknowledged: boolean } & (
  | { statusCode: number; error?: undefined }
  | { statusCode?: undefined; error: string }
);

export type Decision =
  | { result: 'decided'; checkout: SandboxCheckout; delivery: CallbackDelivery | undefined; retrying: boolean }
  | { result: 'not_found'; message: string }
  | { result: 'already_decided' | 'expired'; checkout: SandboxCheckout; message: string };

/** Node's global fetch fits; so does the providers' FetchLike (it ignores what it does not know). */
export type CallbackFetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface SandboxOptions {
  keys: SandboxKeys;
  /** Where browsers and merchant modules reach this runtime, e.g. http://127.0.0.1:3000. */
  publicBaseUrl: string;
  fetch?: CallbackFetch;
  /** Delays between callback attempts; the first attempt is immediate. */
  retryDelaysMs?: readonly number[];
  clock?: Clock;
  log?: Logger;
}

export interface SandboxHttpRequest {
  method: string;
  /** The full URL path, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface Sandbox {
  /** The answer to a request under `/sandbox`, or undefined for any other path. */
  handle(request: SandboxHttpRequest): Promise<SandboxResponse | undefined>;
  readonly store: CheckoutStore;
  decide(paymentId: string, decision: CustomerDecision): Promise<Decision>;
  /** Every callback attempt for a payment, oldest first. */
  deliveries(paymentId: string): CallbackDelivery[];
  /** Cancels pending retries and waits for attempts under way. */
  stop(): Promise<void>;
}

const DECIDED_STATE: Readonly<Record<CustomerDecision, Exclude<SandboxCheckout['state'], 'pending'>>> = {
  pay: 'paid',
  fail: 'failed',
  cancel: 'closed',
};

/** A pending checkout past its expiry can no longer be paid (as past a real order's time_expire). */
function isExpired(checkout: SandboxCheckout, now: Date): boolean {
  return checkout.state === 'pending' && Date.parse(checkout.expiresAt) <= now.getTime();
}

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join('');
}

/** Ids in each provider's own style, fixed at the decision so every retry repeats them. */
const PROVIDER_IDS: Readonly<Record<ProviderName, { transactionId(now: Date): string; notificationId(): string }>> = {
  wechat: { transactionId: () => `4200${randomDigits(24)}`, notificationId: () => randomUUID() },
  alipay: {
    transactionId: (now) => `${now.toISOString().slice(0, 10).replaceAll('-', '')}${randomDigits(20)}`,
    notificationId: () => randomBytes(16).toString('hex'),
  },
  bank: { transactionId: () => `txn_${randomBytes(12).toString('hex')}`, notificationId: () => `evt_${randomBytes(12).toString('hex')}` },
};

function createCheckoutStore(publicBaseUrl: string): CheckoutStore {
  const checkouts = new Map<string, SandboxCheckout>();
  return {
    get: (paymentId) => checkouts.get(paymentId),
    put: (checkout) => void checkouts.set(checkout.paymentId, checkout),
    checkoutUrl: (paymentId) => `${publicBaseUrl}/sandbox/checkout/${encodeURIComponent(paymentId)}`,
  };
}

function createSimulators(keys: SandboxKeys): Partial<Record<ProviderName, ProviderSimulator>> {
  return {
    ...(keys.wechat ? { wechat: createWechatSimulator(keys.wechat) } : {}),
    ...(keys.alipay ? { alipay: createAlipaySimulator(keys.alipay) } : {}),
    ...(keys.bank ? { bank: createBankSimulator(keys.bank) } : {}),
  };
}

function html(statusCode: number, body: string, extraHeaders: Record<string, string> = {}): SandboxResponse {
  return {
    statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The pages need nothing but their inline style: an escaping slip could not run a script.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      ...extraHeaders,
    },
    body,
  };
}

function json(statusCode: number, payload: unknown): SandboxResponse {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(payload) };
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const PROVIDER_PATH = /^\/sandbox\/(wechat|alipay|bank)(\/.*)?$/;
const CHECKOUT_PATH = /^\/sandbox\/checkout\/([^/]+)(?:\/([^/]+))?$/;

function isDecision(action: string): action is CustomerDecision {
  return (CUSTOMER_DECISIONS as readonly string[]).includes(action);
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const { clock, log } = options;
  const fetchCallback: CallbackFetch = options.fetch ?? globalThis.fetch;
  const retryDelaysMs = options.retryDelaysMs ?? WECHAT_RETRY_DELAYS_MS;
  const store = createCheckoutStore(publicBaseUrl);
  const simulators = createSimulators(options.keys);
  const deliveryLog = new Map<string, CallbackDelivery[]>();
  const retryTimers = new Set<NodeJS.Timeout>();
  const attemptsUnderWay = new Set<Promise<unknown>>();
  let stopped = false;

  const now = () => clock?.now() ?? new Date();

  function simulatorFor(checkout: SandboxCheckout): ProviderSimulator {
    const simulator = simulators[checkout.provider];
    // Only a simulator puts checkouts in the store, so its provider always has one.
    if (!simulator) throw new Error(`no ${checkout.provider} simulator for payment ${checkout.paymentId}`);
    return simulator;
  }

  async function post(simulator: ProviderSimulator, callback: OutboundCallback, attempt: number, at: Date): Promise<CallbackDelivery> {
    const base = { attempt, at: at.toISOString() };
    try {
      const response = await fetchCallback(callback.url, {
        method: 'POST',
        headers: callback.headers,
        body: callback.body,
        // A provider does not follow redirects: a 3xx is simply not an acknowledgement.
        redirect: 'manual',
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      const body = await response.text();
      return { ...base, statusCode: response.status, acknowledged: simulator.isAcknowledged(response.status, body) };
    } catch (error) {
      return { ...base, error: describeError(error), acknowledged: false };
    }
  }

  /** Whether another attempt follows the given one. */
  function hasRetryAfter(attempt: number): boolean {
    return !stopped && retryDelaysMs[attempt - 1] !== undefined;
  }

  /** One attempt, signed afresh (a new timestamp) with the notification id fixed at the decision. */
  async function deliver(checkout: SandboxCheckout, attempt: number): Promise<CallbackDelivery | undefined> {
    const simulator = simulatorFor(checkout);
    const at = now();
    const callback = simulator.buildCallback(checkout, at);
    if (!callback) return undefined;
    const delivery = await post(simulator, callback, attempt, at);
    deliveryLog.set(checkout.paymentId, [...(deliveryLog.get(checkout.paymentId) ?? []), delivery]);
    const fields = { provider: checkout.provider, paymentId: checkout.paymentId, ...delivery };
    if (delivery.acknowledged) log?.info('sandbox callback acknowledged', fields);
    else if (hasRetryAfter(attempt)) {
      log?.warn('sandbox callback not acknowledged; will retry', fields);
      scheduleRetry(checkout.paymentId, attempt);
    } else log?.warn('sandbox callback not acknowledged; no retry left', fields);
    return delivery;
  }

  function scheduleRetry(paymentId: string, attempt: number): void {
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      const checkout = store.get(paymentId);
      if (!checkout) return;
      const underWay = deliver(checkout, attempt + 1)
        .catch((error: unknown) => log?.error('sandbox callback retry crashed', { paymentId, attempt: attempt + 1, error: describeError(error) }))
        .finally(() => attemptsUnderWay.delete(underWay));
      attemptsUnderWay.add(underWay);
    }, retryDelaysMs[attempt - 1]);
    // Pending retries do not keep a process alive on their own.
    timer.unref();
    retryTimers.add(timer);
  }

  async function decide(paymentId: string, decision: CustomerDecision): Promise<Decision> {
    const checkout = store.get(paymentId);
    if (!checkout) return { result: 'not_found', message: `The sandbox holds no checkout for payment ${paymentId}.` };
    if (checkout.state !== 'pending') {
      return { result: 'already_decided', checkout, message: `Payment ${paymentId} is already ${checkout.state}; a checkout is decided once.` };
    }
    const decidedAt = now();
    if (decision === 'pay' && isExpired(checkout, decidedAt)) {
      return { result: 'expired', checkout, message: `Payment ${paymentId} expired at ${checkout.expiresAt}; it can no longer be paid.` };
    }
    const ids = PROVIDER_IDS[checkout.provider];
    const decided: SandboxCheckout = {
      ...checkout,
      state: DECIDED_STATE[decision],
      notificationId: ids.notificationId(),
      ...(decision === 'pay' ? { transactionId: ids.transactionId(decidedAt), paidAt: decidedAt.toISOString() } : {}),
    };
    // Written before the first await: a second decision arriving meanwhile sees it decided.
    store.put(decided);
    const delivery = await deliver(decided, 1);
    return { result: 'decided', checkout: decided, delivery, retrying: delivery !== undefined && !delivery.acknowledged && hasRetryAfter(1) };
  }

  async function checkoutResponse(request: SandboxHttpRequest, paymentId: string, action: string | undefined): Promise<SandboxResponse> {
    if (action === undefined) {
      if (request.method !== 'GET') return html(405, messagePage('Method not allowed', 'Open this page with GET.'), { allow: 'GET' });
      const checkout = store.get(paymentId);
      if (!checkout) return html(404, messagePage('Payment not found', `The sandbox holds no checkout for payment ${paymentId}.`));
      return html(200, checkoutPage(checkout, isExpired(checkout, now()), (decision) => `${store.checkoutUrl(paymentId)}/${decision}`));
    }
    if (!isDecision(action)) return html(404, messagePage('Not found', `There is no sandbox action "${action}".`));
    if (request.method !== 'POST') return html(405, messagePage('Method not allowed', 'Decide with POST.'), { allow: 'POST' });
    return decisionResponse(request, paymentId, action);
  }

  async function decisionResponse(request: SandboxHttpRequest, paymentId: string, decision: CustomerDecision): Promise<SandboxResponse> {
    const wantsJson = request.headers.accept?.includes('application/json') ?? false;
    const outcome = await decide(paymentId, decision);
    if (outcome.result !== 'decided') {
      const statusCode = outcome.result === 'not_found' ? 404 : 409;
      if (wantsJson) return json(statusCode, { error: outcome.result, message: outcome.message });
      const title = outcome.result === 'not_found' ? 'Payment not found' : outcome.result === 'expired' ? 'Checkout expired' : 'Already decided';
      return html(statusCode, messagePage(title, outcome.message));
    }
    const { checkout, delivery, retrying } = outcome;
    if (!wantsJson) return html(200, decisionPage(checkout, delivery, retrying));
    return json(200, {
      paymentId: checkout.paymentId,
      provider: checkout.provider,
      state: checkout.state,
      amount: checkout.amount,
      amountYuan: fenToYuan(checkout.amount),
      currency: checkout.currency,
      transactionId: checkout.transactionId,
      returnUrl: checkout.returnUrl,
      delivery,
      retrying,
    });
  }

  async function handle(request: SandboxHttpRequest): Promise<SandboxResponse | undefined> {
    if (request.path !== '/sandbox' && !request.path.startsWith('/sandbox/')) return undefined;

    const providerMatch = PROVIDER_PATH.exec(request.path);
    if (providerMatch) {
      const provider = providerMatch[1] as ProviderName;
      const simulator = simulators[provider];
      if (!simulator) return { statusCode: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `the sandbox holds no ${provider} keys` };
      return simulator.handle({ ...request, path: providerMatch[2] ?? '/' }, store, now());
    }

    const checkoutMatch = CHECKOUT_PATH.exec(request.path);
    const paymentId = checkoutMatch?.[1] === undefined ? undefined : decodedSegment(checkoutMatch[1]);
    if (paymentId === undefined) return html(404, messagePage('Not found', 'No sandbox page lives at this address.'));
    return checkoutResponse(request, paymentId, checkoutMatch?.[2]);
  }

  return {
    handle,
    store,
    decide,
    deliveries: (paymentId) => [...(deliveryLog.get(paymentId) ?? [])],
    async stop() {
      stopped = true;
      for (const timer of retryTimers) clearTimeout(timer);
      retryTimers.clear();
      await Promise.allSettled([...attemptsUnderWay]);
    },
  };
}
