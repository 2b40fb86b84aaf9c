import type { Logger } from '../../src/core/kernel/deps';
import type { Clock } from '../../src/core/kernel/ports';
import { fenToYuan, isFen } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';
import { createAlipaySimulator } from './alipay';
import { createBankSimulator } from './bank';
import { checkoutPage, decisionPage, messagePage } from './checkout-page';
import type { SandboxKeys } from './keys';
import { createCheckoutStore, PROVIDER_IDS } from './store';
import type {
  CheckoutStore,
  OutboundCallback,
  ProviderSimulator,
  RefundRefusal,
  SandboxCheckout,
  SandboxRefund,
  SandboxRefundOutcome,
  SandboxResponse,
} from './types';
import { createWechatSimulator } from './wechat';

/**
 * The sandbox provider of a local run (docs/PROVIDERS.md#sandbox), mounted under `/sandbox`:
 * - `/sandbox/<wechat|alipay|bank>/...`: that provider's API, answered by its simulator;
 * - `GET /sandbox/checkout/<paymentId>`: the pay URL's page, where a person or a test decides;
 * - `POST /sandbox/checkout/<paymentId>/<pay|fail|cancel>`: the decision, after which the
 *   provider's callback is sent to the merchant's notify URL and retried until acknowledged
 *   (`?notify=false`: none is sent, a lost callback for query and reconciliation tests);
 * - `POST /sandbox/refunds {paymentId, amount, notify?}`: a refund made on the provider's own
 *   console, outside the merchant's system; notified unless `notify` is false.
 * Refunds the merchant asks for through a provider's API end as `refundOutcome` says
 * (SANDBOX_REFUND_OUTCOME) and are notified in that provider's format, retried like callbacks.
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
  { statusCode: number; error?: undefined } | { statusCode?: undefined; error: string }
);

export type ConsoleRefund =
  | { result: 'refunded'; refund: SandboxRefund; refundedAmount: number; refundableAmount: number }
  | { result: 'not_found'; message: string }
  | { result: RefundRefusal; message: string };

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
  /** SANDBOX_REFUND_OUTCOME (default succeed). */
  refundOutcome?: SandboxRefundOutcome;
  /** How long after the API accepted it a WeChat or bank refund ends (default 200 ms). */
  refundSettleDelayMs?: number;
  /** WeChat's least time between two refunds of one payment (default 0: not enforced). */
  refundSpacingMs?: number;
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
  /** `notify: false` decides without sending the callback: a callback lost for good. */
  decide(paymentId: string, decision: CustomerDecision, options?: { notify?: boolean }): Promise<Decision>;
  /** A refund made on the provider's console (outside the merchant's system); it succeeds. */
  refund(paymentId: string, amount: number, options?: { notify?: boolean }): ConsoleRefund;
  /** Every callback attempt for a payment, oldest first. */
  deliveries(paymentId: string): CallbackDelivery[];
  /** Every refund notification attempt for a payment's refunds, oldest first. */
  refundDeliveries(paymentId: string): (CallbackDelivery & { refundKey: string })[];
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

function createSimulators(keys: SandboxKeys, refundSpacingMs: number): Partial<Record<ProviderName, ProviderSimulator>> {
  return {
    ...(keys.wechat ? { wechat: createWechatSimulator(keys.wechat, { refundSpacingMs }) } : {}),
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
const CONSOLE_REFUNDS_PATH = '/sandbox/refunds';
const CHECKOUT_PATH = /^\/sandbox\/checkout\/([^/]+)(?:\/([^/]+))?$/;

function isDecision(action: string): action is CustomerDecision {
  return (CUSTOMER_DECISIONS as readonly string[]).includes(action);
}

/** A notification the provider owes the merchant, rebuilt (signed afresh) at every attempt. */
interface Notice {
  provider: ProviderName;
  paymentId: string;
  /** Set for a refund's notification. */
  refundKey?: string;
  build(at: Date): OutboundCallback | undefined;
}

const DEFAULT_REFUND_SETTLE_DELAY_MS = 200;

function refusalMessage(refusal: RefundRefusal, paymentId: string, store: CheckoutStore): string {
  if (refusal === 'not_paid') return `Payment ${paymentId} is not paid: there is nothing to refund.`;
  if (refusal === 'exceeds_refundable') return `Only ${store.refunds.refundableAmount(paymentId)} fen of payment ${paymentId} can still be refunded.`;
  return `The provider refused the refund (${refusal}).`;
}

/** `POST /sandbox/refunds {paymentId, amount, notify?}`: JSON in, JSON out. */
function consoleRefundResponse(request: SandboxHttpRequest, refund: Sandbox['refund']): SandboxResponse {
  if (request.method !== 'POST') return { ...json(405, { error: 'method_not_allowed', message: 'Refund with POST.' }), headers: { allow: 'POST' } };
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    body = undefined;
  }
  const { paymentId, amount, notify } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof paymentId !== 'string' || !isFen(amount) || amount < 1 || (notify !== undefined && typeof notify !== 'boolean')) {
    return json(400, { error: 'invalid_request', message: 'Send {"paymentId": string, "amount": fen ≥ 1, "notify"?: boolean}.' });
  }
  const outcome = refund(paymentId, amount, { notify });
  if (outcome.result !== 'refunded') return json(outcome.result === 'not_found' ? 404 : 409, { error: outcome.result, message: outcome.message });
  const { refund: made, refundedAmount, refundableAmount } = outcome;
  return json(200, {
    paymentId,
    refundId: made.refundId,
    providerRefundId: made.key,
    amount: made.amount,
    state: made.state,
    notified: made.notify,
    refundedAmount,
    refundableAmount,
  });
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const { clock, log } = options;
  const fetchCallback: CallbackFetch = options.fetch ?? globalThis.fetch;
  const retryDelaysMs = options.retryDelaysMs ?? WECHAT_RETRY_DELAYS_MS;
  const simulators = createSimulators(options.keys, options.refundSpacingMs ?? 0);
  const deliveryLog = new Map<string, CallbackDelivery[]>();
  const refundDeliveryLog = new Map<string, (CallbackDelivery & { refundKey: string })[]>();
  const timers = new Set<NodeJS.Timeout>();
  const attemptsUnderWay = new Set<Promise<unknown>>();
  let stopped = false;

  const now = () => clock?.now() ?? new Date();
  const store = createCheckoutStore({
    publicBaseUrl,
    refundOutcome: options.refundOutcome,
    clock: now,
    defer: (task) => later(task, options.refundSettleDelayMs ?? DEFAULT_REFUND_SETTLE_DELAY_MS),
    onRefundSettled: (checkout, refund) => {
      if (refund.notify && !stopped) track(deliver(refundNotice(checkout, refund), 1), { paymentId: checkout.paymentId, refundKey: refund.key });
    },
  });

  function simulatorFor(provider: ProviderName): ProviderSimulator {
    const simulator = simulators[provider];
    // Only a simulator puts checkouts in the store, so its provider always has one.
    if (!simulator) throw new Error(`no ${provider} simulator`);
    return simulator;
  }

  /** Runs `task` after `delayMs` unless the sandbox stops first; the timer keeps no process alive. */
  function later(task: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, delayMs);
    timer.unref();
    timers.add(timer);
  }

  function track(attempt: Promise<unknown>, fields: Record<string, unknown>): void {
    const underWay = attempt
      .catch((error: unknown) => log?.error('sandbox notification crashed', { ...fields, error: describeError(error) }))
      .finally(() => attemptsUnderWay.delete(underWay));
    attemptsUnderWay.add(underWay);
  }

  /** The payment's callback, rebuilt from the checkout as it is at each attempt. */
  function checkoutNotice(checkout: SandboxCheckout): Notice {
    const simulator = simulatorFor(checkout.provider);
    return {
      provider: checkout.provider,
      paymentId: checkout.paymentId,
      build: (at) => simulator.buildCallback(store.get(checkout.paymentId) ?? checkout, at),
    };
  }

  function refundNotice(checkout: SandboxCheckout, refund: SandboxRefund): Notice {
    const simulator = simulatorFor(checkout.provider);
    return {
      provider: checkout.provider,
      paymentId: checkout.paymentId,
      refundKey: refund.key,
      build: (at) => simulator.buildRefundCallback(checkout, refund, at),
    };
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

  /** One attempt, signed afresh (a new timestamp) with the notification id fixed when it was decided. */
  async function deliver(notice: Notice, attempt: number): Promise<CallbackDelivery | undefined> {
    const simulator = simulatorFor(notice.provider);
    const at = now();
    const callback = notice.build(at);
    if (!callback) return undefined;
    const delivery = await post(simulator, callback, attempt, at);
    const { paymentId, refundKey } = notice;
    if (refundKey === undefined) deliveryLog.set(paymentId, [...(deliveryLog.get(paymentId) ?? []), delivery]);
    else refundDeliveryLog.set(paymentId, [...(refundDeliveryLog.get(paymentId) ?? []), { ...delivery, refundKey }]);
    const fields = { provider: notice.provider, paymentId, ...(refundKey === undefined ? {} : { refundKey }), ...delivery };
    if (delivery.acknowledged) log?.info('sandbox callback acknowledged', fields);
    else if (hasRetryAfter(attempt)) {
      log?.warn('sandbox callback not acknowledged; will retry', fields);
      later(() => track(deliver(notice, attempt + 1), { paymentId, attempt: attempt + 1 }), retryDelaysMs[attempt - 1] ?? 0);
    } else log?.warn('sandbox callback not acknowledged; no retry left', fields);
    return delivery;
  }

  function consoleRefund(paymentId: string, amount: number, { notify }: { notify?: boolean } = {}): ConsoleRefund {
    if (!store.get(paymentId)) return { result: 'not_found', message: `The sandbox holds no payment ${paymentId}.` };
    const opened = store.refunds.open({ paymentId, amount, external: true, notify, settle: 'never' }, now());
    if (opened.result === 'refused') return { result: opened.refusal, message: refusalMessage(opened.refusal, paymentId, store) };
    const refund = store.refunds.settle(paymentId, opened.refund.key, now(), 'succeeded');
    return { result: 'refunded', refund, refundedAmount: store.refunds.refundedAmount(paymentId), refundableAmount: store.refunds.refundableAmount(paymentId) };
  }

  async function decide(paymentId: string, decision: CustomerDecision, { notify = true }: { notify?: boolean } = {}): Promise<Decision> {
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
    const delivery = notify ? await deliver(checkoutNotice(decided), 1) : undefined;
    return { result: 'decided', checkout: decided, delivery, retrying: delivery !== undefined && !delivery.acknowledged && hasRetryAfter(1) };
  }

  async function checkoutResponse(request: SandboxHttpRequest, paymentId: string, action: string | undefined): Promise<SandboxResponse> {
    if (action === undefined) {
      if (request.method !== 'GET') return html(405, messagePage('Method not allowed', 'Open this page with GET.'), { allow: 'GET' });
      const checkout = store.get(paymentId);
      if (!checkout) return html(404, messagePage('Payment not found', `The sandbox holds no checkout for payment ${paymentId}.`));
      return html(
        200,
        checkoutPage(checkout, isExpired(checkout, now()), (decision) => `${store.checkoutUrl(paymentId)}/${decision}`, store.refunds.list(paymentId)),
      );
    }
    if (!isDecision(action)) return html(404, messagePage('Not found', `There is no sandbox action "${action}".`));
    if (request.method !== 'POST') return html(405, messagePage('Method not allowed', 'Decide with POST.'), { allow: 'POST' });
    return decisionResponse(request, paymentId, action);
  }

  async function decisionResponse(request: SandboxHttpRequest, paymentId: string, decision: CustomerDecision): Promise<SandboxResponse> {
    const wantsJson = request.headers.accept?.includes('application/json') ?? false;
    const notify = request.query.get('notify');
    if (notify !== null && notify !== 'true' && notify !== 'false') {
      const message = 'notify is true (the default) or false (decide without sending the callback).';
      return wantsJson ? json(400, { error: 'invalid_request', message }) : html(400, messagePage('Bad request', message));
    }
    const outcome = await decide(paymentId, decision, { notify: notify !== 'false' });
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

    if (request.path === CONSOLE_REFUNDS_PATH) return consoleRefundResponse(request, consoleRefund);
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
    refund: consoleRefund,
    deliveries: (paymentId) => [...(deliveryLog.get(paymentId) ?? [])],
    refundDeliveries: (paymentId) => [...(refundDeliveryLog.get(paymentId) ?? [])],
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...attemptsUnderWay]);
    },
  };
}
