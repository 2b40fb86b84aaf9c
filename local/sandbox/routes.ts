import { fenToYuan, isFen } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';
import QRCode from 'qrcode';
import { simulatorBase } from './alipay-trades';
import { checkoutPage, decisionPage, messagePage } from './checkout-page';
import {
  CUSTOMER_DECISIONS,
  type CheckoutStore,
  type CustomerDecision,
  type ProviderSimulator,
  type Sandbox,
  type SandboxCheckout,
  type SandboxHttpRequest,
  type SandboxResponse,
} from './types';

/** What the sandbox's routes answer from. */
export interface SandboxRoutes {
  store: CheckoutStore;
  simulators: Partial<Record<ProviderName, ProviderSimulator>>;
  now: () => Date;
  decide: Sandbox['decide'];
  refund: Sandbox['refund'];
}

const PROVIDER_PATH = /^\/sandbox\/(wechat|alipay|bank)(\/.*)?$/;
const CONSOLE_REFUNDS_PATH = '/sandbox/refunds';
const REFUSALS_PATH = '/sandbox/refusals';
const CHECKOUT_PATH = /^\/sandbox\/checkout\/([^/]+)(?:\/([^/]+))?$/;
const CLIENT_PATH = /^\/sandbox\/client\/(wechat|alipay)\/([a-z]+)$/;

/** The answer to a request under `/sandbox`, or undefined for any other path. */
export async function handleSandboxRequest(
  routes: SandboxRoutes,
  request: SandboxHttpRequest,
): Promise<SandboxResponse | undefined> {
  if (request.path !== '/sandbox' && !request.path.startsWith('/sandbox/')) return undefined;

  if (request.path === CONSOLE_REFUNDS_PATH) return consoleRefundResponse(request, routes.refund);
  if (request.path === REFUSALS_PATH) return refusalResponse(request, routes.simulators);
  const clientMatch = CLIENT_PATH.exec(request.path);
  if (clientMatch) return clientResponse(routes, request, clientMatch[1] as ProviderName, clientMatch[2]!);
  const providerMatch = PROVIDER_PATH.exec(request.path);
  if (providerMatch) {
    const provider = providerMatch[1] as ProviderName;
    const simulator = routes.simulators[provider];
    if (!simulator)
      return {
        statusCode: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: `the sandbox holds no ${provider} keys`,
      };
    return simulator.handle({ ...request, path: providerMatch[2] ?? '/' }, routes.store, routes.now());
  }

  const checkoutMatch = CHECKOUT_PATH.exec(request.path);
  const paymentId = checkoutMatch?.[1] === undefined ? undefined : decodedSegment(checkoutMatch[1]);
  if (paymentId === undefined) return html(404, messagePage('Not found', 'No sandbox page lives at this address.'));
  return checkoutResponse(routes, request, paymentId, checkoutMatch?.[2]);
}

/** A pending checkout past its expiry can no longer be paid (as past a real order's time_expire). */
export function isExpired(checkout: SandboxCheckout, now: Date): boolean {
  return checkout.state === 'pending' && Date.parse(checkout.expiresAt) <= now.getTime();
}

async function checkoutResponse(
  routes: SandboxRoutes,
  request: SandboxHttpRequest,
  paymentId: string,
  action: string | undefined,
): Promise<SandboxResponse> {
  const { store } = routes;
  if (action === undefined) {
    if (request.method !== 'GET')
      return html(405, messagePage('Method not allowed', 'Open this page with GET.'), { allow: 'GET' });
    const checkout = store.get(paymentId);
    if (!checkout)
      return html(404, messagePage('Payment not found', `The sandbox holds no checkout for payment ${paymentId}.`));
    return html(
      200,
      checkoutPage(
        checkout,
        isExpired(checkout, routes.now()),
        (decision) => `${store.checkoutUrl(paymentId)}/${decision}`,
        store.refunds.list(paymentId),
        await qrSvgOf(checkout, store),
      ),
    );
  }
  if (!isDecision(action)) return html(404, messagePage('Not found', `There is no sandbox action "${action}".`));
  if (request.method !== 'POST')
    return html(405, messagePage('Method not allowed', 'Decide with POST.'), { allow: 'POST' });
  return decisionResponse(routes, request, paymentId, action);
}

/** The QR a pending QR-scene checkout is paid through (WeChat Native's code_url, Alipay's qr_code), drawn with qrcode. */
async function qrSvgOf(checkout: SandboxCheckout, store: CheckoutStore): Promise<string | undefined> {
  if (checkout.state !== 'pending') return undefined;
  const content =
    checkout.provider === 'wechat' && !checkout.scene
      ? store.checkoutUrl(checkout.paymentId)
      : checkout.scene?.tradeType === 'alipay.trade.precreate'
        ? `${simulatorBase(store)}/qr/${encodeURIComponent(checkout.paymentId)}`
        : undefined;
  return content === undefined ? undefined : QRCode.toString(content, { type: 'svg', margin: 1, width: 200 });
}

async function decisionResponse(
  routes: SandboxRoutes,
  request: SandboxHttpRequest,
  paymentId: string,
  decision: CustomerDecision,
): Promise<SandboxResponse> {
  const wantsJson = request.headers.accept?.includes('application/json') ?? false;
  const notify = request.query.get('notify');
  if (notify !== null && notify !== 'true' && notify !== 'false') {
    const message = 'notify is true (the default) or false (decide without sending the callback).';
    return wantsJson
      ? json(400, { error: 'invalid_request', message })
      : html(400, messagePage('Bad request', message));
  }
  const amountText = request.query.get('amount');
  if (amountText !== null && (decision !== 'pay' || !/^[1-9]\d{0,9}$/.test(amountText))) {
    const message = 'amount is what the provider takes instead, in fen (a positive integer), and only with pay.';
    return wantsJson
      ? json(400, { error: 'invalid_request', message })
      : html(400, messagePage('Bad request', message));
  }
  const outcome = await routes.decide(paymentId, decision, {
    notify: notify !== 'false',
    ...(amountText === null ? {} : { amount: Number(amountText) }),
  });
  if (outcome.result !== 'decided') {
    const statusCode = outcome.result === 'not_found' ? 404 : 409;
    if (wantsJson) return json(statusCode, { error: outcome.result, message: outcome.message });
    const title =
      outcome.result === 'not_found'
        ? 'Payment not found'
        : outcome.result === 'expired'
          ? 'Checkout expired'
          : 'Already decided';
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

/**
 * `POST /sandbox/client/<provider>/<client>`: a client stand-in (docs/PROVIDERS.md#sandbox) is
 * handed what the shop's front end got; it checks it as the real client does, and when the
 * customer pays, the checkout is decided and notified as from the checkout page.
 */
async function clientResponse(
  routes: SandboxRoutes,
  request: SandboxHttpRequest,
  provider: ProviderName,
  client: string,
): Promise<SandboxResponse> {
  if (request.method !== 'POST')
    return { ...json(405, { error: 'method_not_allowed', message: 'Call with POST.' }), headers: { allow: 'POST' } };
  const simulator = routes.simulators[provider];
  if (!simulator?.client) return json(404, { error: 'not_found', message: `the sandbox has no ${provider} client` });
  const verdict = simulator.client(client, request.body, routes.store, routes.now());
  if (!verdict.accepted) return json(verdict.statusCode, verdict.answer);
  const outcome = await routes.decide(verdict.paymentId, verdict.decision);
  if (outcome.result !== 'decided')
    return json(409, { ...verdict.answer, error: outcome.result, message: outcome.message });
  return json(200, { ...verdict.answer, paymentId: outcome.checkout.paymentId, state: outcome.checkout.state });
}

/** `POST /sandbox/refunds {paymentId, amount, notify?}`: JSON in, JSON out. */
function consoleRefundResponse(request: SandboxHttpRequest, refund: Sandbox['refund']): SandboxResponse {
  if (request.method !== 'POST')
    return { ...json(405, { error: 'method_not_allowed', message: 'Refund with POST.' }), headers: { allow: 'POST' } };
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    body = undefined;
  }
  const { paymentId, amount, notify } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  if (
    typeof paymentId !== 'string' ||
    !isFen(amount) ||
    amount < 1 ||
    (notify !== undefined && typeof notify !== 'boolean')
  ) {
    return json(400, {
      error: 'invalid_request',
      message: 'Send {"paymentId": string, "amount": fen ≥ 1, "notify"?: boolean}.',
    });
  }
  const outcome = refund(paymentId, amount, { notify });
  if (outcome.result !== 'refunded')
    return json(outcome.result === 'not_found' ? 404 : 409, { error: outcome.result, message: outcome.message });
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

/**
 * `POST /sandbox/refusals {provider, code, paymentId?, times?}`: the next checkout creation (of
 * that payment only, when named; `times` of them, default 1) is refused with the provider's code
 * in its real wire shape (refusals.ts lists the codes).
 */
function refusalResponse(request: SandboxHttpRequest, simulators: SandboxRoutes['simulators']): SandboxResponse {
  if (request.method !== 'POST')
    return { ...json(405, { error: 'method_not_allowed', message: 'Arm with POST.' }), headers: { allow: 'POST' } };
  const body = parsedObject(request.body);
  const { provider, code, paymentId, times } = body;
  const arms = typeof provider === 'string' ? simulators[provider as ProviderName]?.refusals : undefined;
  const valid =
    arms &&
    typeof code === 'string' &&
    (paymentId === undefined || typeof paymentId === 'string') &&
    (times === undefined || typeof times === 'number') &&
    arms.arm(code, { ...(paymentId ? { paymentId } : {}), ...(times === undefined ? {} : { times }) });
  if (!valid)
    return json(400, {
      error: 'invalid_request',
      message:
        'Send {"provider": "wechat" | "alipay", "code": one of its codes (docs/PROVIDERS.md#sandbox-controls), "paymentId"?: string, "times"?: integer ≥ 1}.',
    });
  return json(200, { provider, code, ...(paymentId ? { paymentId } : {}), times: times ?? 1 });
}

function parsedObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isDecision(action: string): action is CustomerDecision {
  return (CUSTOMER_DECISIONS as readonly string[]).includes(action);
}

function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
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
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(payload),
  };
}
