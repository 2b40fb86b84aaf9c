import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { businessDateOf, isBusinessDate } from '../../src/domain/bill';
import { CURRENCY, isFen } from '../../src/domain/money';
import type { BankCallbackBody, BankRefund, BankRefundEvent, BankStatus } from '../../src/providers/bank';
import type { BankConfig } from '../../src/providers/config';
import { bankCheckout, REFUND_STATUS, reportCsv } from './bank-report';
import type {
  CheckoutStore,
  OutboundCallback,
  ProviderSimulator,
  RefundRefusal,
  SandboxCheckout,
  SandboxRefund,
  SandboxRequest,
  SandboxResponse,
} from './types';

/**
 * The bank gateway, from the bank's side. Its signing is written here independently of the
 * merchant module (src/providers/bank/), so a mistake on either side shows up in the tests
 * instead of being shared by both.
 *
 * Refund API under the gateway URL: POST /refunds (Idempotency-Key = refund_id) answers `pending`
 * and the refund ends shortly after (SANDBOX_REFUND_OUTCOME: succeeded, failed or requires_action)
 * with its refund.* webhook; GET /refunds/{refund_id}. Requests are checked against the
 * merchant's signing secret; answers are signed like webhooks.
 *
 * Settlement report: GET /settlement-reports/{YYYY-MM-DD}, signed like the refund requests,
 * answers the day's CSV (its bytes signed like every answer) from the store's activity at once,
 * an empty report for a quiet day, and `409 report_not_ready` for a day after today.
 */

/** What the bank holds: the webhook secrets it signs callbacks with (the first one is current)
 * and the merchant's pay-URL signing secret. */
export interface BankSandboxKeys {
  webhookSecrets: string[];
  signingSecret: string;
}

const PAY_PATHS = new Set(['/pay', '/']);
/** The refund API below the gateway URL (`/pay` in the generated config); the signed path starts at `/refunds`. */
const REFUNDS_PATH = /^(?:\/pay)?(\/refunds(?:\/([^/]+))?)$/;
/** The settlement report below the gateway URL; the signed path starts at `/settlement-reports`. */
const REPORT_PATH = /^(?:\/pay)?(\/settlement-reports\/([^/]*))$/;
const TOLERANCE_SECONDS = 300;
const REQUIRED_PAY_PARAMS = ['payment_id', 'amount', 'currency', 'expires_at', 'return_url', 'notify_url'] as const;

const CALLBACK_STATUS: Readonly<Record<Exclude<SandboxCheckout['state'], 'pending'>, BankStatus>> = {
  paid: 'SUCCEEDED',
  failed: 'FAILED',
  closed: 'CANCELLED',
};

function secret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('hex')}`;
}

/** Both halves share the secrets (HMAC is symmetric); the merchant lists a "previous" webhook
 * secret after the current one, as during a rotation. */
export function generateBankKeys(sandboxBaseUrl: string): { merchant: BankConfig; sandbox: BankSandboxKeys } {
  const webhookSecrets = [secret('whsec'), secret('whsec')];
  const signingSecret = secret('sk');
  return {
    merchant: { webhookSecrets, gatewayUrl: `${sandboxBaseUrl}/pay`, signingSecret },
    sandbox: { webhookSecrets, signingSecret },
  };
}

function textError(statusCode: number, message: string): SandboxResponse {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message };
}

function hmacHex(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

/** Sorted `key=value&...` over every parameter but `signature`, raw values; one value per key. */
function payParamsSigned(query: URLSearchParams, signingSecret: string): boolean {
  const keys = [...query.keys()].filter((key) => key !== 'signature');
  if (new Set(keys).size !== keys.length || query.getAll('signature').length !== 1) return false;
  const content = keys
    .sort()
    .map((key) => `${key}=${query.get(key)}`)
    .join('&');
  const expected = Buffer.from(hmacHex(signingSecret, content), 'utf8');
  const given = Buffer.from(query.get('signature')?.toLowerCase() ?? '', 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

type PayEntry = Pick<SandboxCheckout, 'paymentId' | 'amount' | 'expiresAt' | 'notifyUrl' | 'returnUrl'>;

/** The signed parameters as a checkout, or the name of the first one that is missing or invalid. */
function readPayEntry(query: URLSearchParams): PayEntry | string {
  const missing = REQUIRED_PAY_PARAMS.find((key) => !query.get(key));
  if (missing) return `missing ${missing}`;
  const amountText = query.get('amount') ?? '';
  const amount = Number(amountText);
  if (!/^\d+$/.test(amountText) || !isFen(amount)) return 'invalid amount';
  if (query.get('currency') !== CURRENCY) return 'unsupported currency';
  const expiresAt = new Date(query.get('expires_at') ?? '');
  if (Number.isNaN(expiresAt.getTime())) return 'invalid expires_at';
  return {
    paymentId: query.get('payment_id') ?? '',
    amount,
    expiresAt: expiresAt.toISOString(),
    notifyUrl: query.get('notify_url') ?? '',
    returnUrl: query.get('return_url') ?? '',
  };
}

// ---------------------------------------------------------------------------------------------
// Refund API
// ---------------------------------------------------------------------------------------------

const REFUND_EVENT: Readonly<Record<Exclude<SandboxRefund['state'], 'processing'>, string>> = {
  succeeded: 'refund.succeeded',
  failed: 'refund.failed',
  abnormal: 'refund.requires_action',
};

/** Why the sandbox fails a refund under SANDBOX_REFUND_OUTCOME=fail (one of Stripe's failure reasons). */
const FAILURE_REASON = 'declined';

const REFUSALS: Readonly<Record<RefundRefusal, [number, string, string]>> = {
  not_found: [404, 'payment_not_found', 'no such payment'],
  not_paid: [409, 'payment_not_refundable', 'the payment was not paid'],
  exceeds_refundable: [409, 'amount_exceeds_refundable', 'the amount is more than what remains to refund'],
  number_reused: [409, 'idempotency_key_reused', 'this refund_id was used with other parameters'],
};

/** `t=<seconds>,v1=<hex>`: the request signature with the merchant's signing secret over `${t}.${METHOD}.${path}.${body}`. */
function requestSigned(keys: BankSandboxKeys, request: SandboxRequest, signedPath: string, now: Date): boolean {
  const parts = new Map(
    (request.headers['bank-signature'] ?? '').split(',').map((part) => part.split('=', 2) as [string, string]),
  );
  const timestamp = parts.get('t') ?? '';
  const given = Buffer.from(parts.get('v1')?.toLowerCase() ?? '', 'utf8');
  if (
    !/^\d{1,12}$/.test(timestamp) ||
    Math.abs(Number(timestamp) - Math.floor(now.getTime() / 1000)) > TOLERANCE_SECONDS
  )
    return false;
  const expected = Buffer.from(
    hmacHex(keys.signingSecret, `${timestamp}.${request.method}.${signedPath}.${request.body}`),
    'utf8',
  );
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function refundOf(checkout: SandboxCheckout, refund: SandboxRefund): BankRefund {
  return {
    refund_id: refund.refundId ?? refund.key,
    payment_id: checkout.paymentId,
    amount: refund.amount,
    currency: checkout.currency,
    status: REFUND_STATUS[refund.state],
    ...(refund.state === 'failed' ? { failure_reason: FAILURE_REASON } : {}),
    created_at: refund.createdAt,
    ...(refund.state === 'succeeded' ? { succeeded_at: refund.settledAt ?? refund.createdAt } : {}),
  };
}

interface RefundBody {
  refund_id: string;
  payment_id: string;
  amount: number;
  reason?: string;
}

function readRefundBody(request: SandboxRequest): RefundBody | string {
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'body is not a JSON object';
  const { refund_id: refundId, payment_id: paymentId, amount, currency, reason } = body as Record<string, unknown>;
  if (typeof refundId !== 'string' || !/^[\w-]{1,64}$/.test(refundId))
    return 'refund_id must be 1-64 letters, digits, _ or -';
  if (request.headers['idempotency-key'] !== refundId) return 'Idempotency-Key must be the refund_id';
  if (typeof paymentId !== 'string' || paymentId === '') return 'payment_id is missing';
  if (!isFen(amount) || amount < 1) return 'amount must be a positive integer of minor units';
  if (currency !== CURRENCY) return 'unsupported currency';
  if (reason !== undefined && typeof reason !== 'string') return 'reason must be text';
  return { refund_id: refundId, payment_id: paymentId, amount, ...(reason ? { reason } : {}) };
}

function refundApi(
  keys: BankSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  sign: SignedJson,
): SandboxResponse {
  const match = REFUNDS_PATH.exec(request.path);
  const [, signedPath = '', refundIdSegment] = match ?? [];
  const fail = (statusCode: number, code: string, message: string) =>
    sign(statusCode, { error: { code, message } }, now);
  if (!requestSigned(keys, request, signedPath, now))
    return fail(401, 'invalid_signature', 'Bank-Signature does not verify with the signing secret');

  if (request.method === 'GET' && refundIdSegment !== undefined) {
    const refund = store.refunds.find(decodeURIComponent(refundIdSegment));
    const checkout = refund && bankCheckout(store, refund.paymentId);
    return refund && checkout
      ? sign(200, refundOf(checkout, refund), now)
      : fail(404, 'refund_not_found', 'no such refund');
  }
  if (request.method !== 'POST' || refundIdSegment !== undefined)
    return fail(405, 'method_not_allowed', 'POST /refunds or GET /refunds/{refund_id}');

  const body = readRefundBody(request);
  if (typeof body === 'string') return fail(400, 'invalid_request', body);
  const checkout = bankCheckout(store, body.payment_id);
  if (!checkout) return fail(...REFUSALS.not_found);
  const opened = store.refunds.open(
    {
      paymentId: checkout.paymentId,
      refundId: body.refund_id,
      amount: body.amount,
      reason: body.reason,
      settle: 'later',
    },
    now,
  );
  if (opened.result === 'refused') return fail(...REFUSALS[opened.refusal]);
  return sign(200, refundOf(checkout, opened.refund), now);
}

// ---------------------------------------------------------------------------------------------
// Settlement report
// ---------------------------------------------------------------------------------------------

function settlementReport(
  keys: BankSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  sign: SignedAnswers,
): SandboxResponse {
  // The date is taken as it stands, undecoded: anything percent-encoded is simply not a date.
  const [, signedPath = '', date = ''] = REPORT_PATH.exec(request.path) ?? [];
  const fail = (statusCode: number, code: string, message: string) =>
    sign.json(statusCode, { error: { code, message } }, now);
  if (!requestSigned(keys, request, signedPath, now))
    return fail(401, 'invalid_signature', 'Bank-Signature does not verify with the signing secret');
  if (request.method !== 'GET') return fail(405, 'method_not_allowed', 'GET /settlement-reports/{YYYY-MM-DD}');
  if (!isBusinessDate(date)) return fail(400, 'invalid_request', 'the report date must be YYYY-MM-DD');
  if (date > businessDateOf(now))
    return fail(409, 'report_not_ready', `the report for ${date} is made once the day is over`);
  return sign.csv(reportCsv(date, store), `settlement-${date}.csv`, now);
}

function enterPayPage(
  keys: BankSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  if (!payParamsSigned(request.query, keys.signingSecret)) return textError(400, 'signature does not verify');
  const entry = readPayEntry(request.query);
  if (typeof entry === 'string') return textError(400, entry);
  if (Date.parse(entry.expiresAt) <= now.getTime()) return textError(400, 'payment has expired');
  const existing = store.get(entry.paymentId);
  // A decided payment id is never reopened: the customer must not pay twice.
  if (existing && existing.state !== 'pending') return textError(409, `payment is already ${existing.state}`);
  store.put({
    ...entry,
    provider: 'bank',
    currency: CURRENCY,
    description: `Payment ${entry.paymentId}`,
    state: 'pending',
  });
  return { statusCode: 302, headers: { location: store.checkoutUrl(entry.paymentId) }, body: '' };
}

function callbackBody(checkout: SandboxCheckout, status: BankStatus, now: Date): BankCallbackBody {
  return {
    event_id: checkout.notificationId ?? `evt_${randomBytes(12).toString('hex')}`,
    payment_id: checkout.paymentId,
    transaction_id: checkout.transactionId ?? `txn_${randomBytes(12).toString('hex')}`,
    status,
    amount: checkout.amount,
    currency: checkout.currency,
    occurred_at: checkout.paidAt ?? now.toISOString(),
  };
}

type SignedJson = (statusCode: number, payload: unknown, now: Date) => SandboxResponse;

interface SignedAnswers {
  json: SignedJson;
  /** A 200 CSV file, its bytes signed. */
  csv: (text: string, filename: string, now: Date) => SandboxResponse;
}

function refundEvent(
  checkout: SandboxCheckout,
  refund: SandboxRefund,
  state: Exclude<SandboxRefund['state'], 'processing'>,
  now: Date,
): BankRefundEvent {
  return {
    event_id: refund.notificationId,
    type: REFUND_EVENT[state],
    refund_id: refund.refundId ?? refund.key,
    payment_id: checkout.paymentId,
    amount: refund.amount,
    currency: checkout.currency,
    occurred_at: refund.settledAt ?? now.toISOString(),
    ...(state === 'failed' ? { failure_reason: FAILURE_REASON } : {}),
  };
}

export function createBankSimulator(keys: BankSandboxKeys): ProviderSimulator {
  const [currentWebhookSecret] = keys.webhookSecrets;
  if (currentWebhookSecret === undefined) throw new Error('bank sandbox needs at least one webhook secret');

  /** Webhooks and API answers alike: `Bank-Signature: t=<seconds>,v1=<HMAC of `${t}.${body}`>` with the current webhook secret. */
  const signature = (body: string, now: Date) => {
    const timestamp = Math.floor(now.getTime() / 1000);
    return `t=${timestamp},v1=${hmacHex(currentWebhookSecret, `${timestamp}.${body}`)}`;
  };
  const webhook = (url: string, payload: unknown, now: Date): OutboundCallback => {
    const body = JSON.stringify(payload);
    return { url, headers: { 'Content-Type': 'application/json', 'Bank-Signature': signature(body, now) }, body };
  };
  const signedJson: SignedJson = (statusCode, payload, now) => {
    const body = JSON.stringify(payload);
    return {
      statusCode,
      headers: { 'content-type': 'application/json', 'bank-signature': signature(body, now) },
      body,
    };
  };

  const signedCsv = (text: string, filename: string, now: Date): SandboxResponse => ({
    statusCode: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'bank-signature': signature(text, now),
    },
    body: '',
    bytes: Buffer.from(text, 'utf8'),
  });

  return {
    name: 'bank',
    handle: async (request, store, now) => {
      if (REFUNDS_PATH.test(request.path)) return refundApi(keys, request, store, now, signedJson);
      if (REPORT_PATH.test(request.path))
        return settlementReport(keys, request, store, now, { json: signedJson, csv: signedCsv });
      if (!PAY_PATHS.has(request.path)) return textError(404, 'not found');
      if (request.method !== 'GET') return textError(405, 'method not allowed');
      return enterPayPage(keys, request, store, now);
    },
    buildCallback: (checkout, now) =>
      checkout.state === 'pending'
        ? undefined
        : webhook(checkout.notifyUrl, callbackBody(checkout, CALLBACK_STATUS[checkout.state], now), now),
    buildRefundCallback: (checkout, refund, now) =>
      refund.state === 'processing'
        ? undefined
        : webhook(checkout.notifyUrl, refundEvent(checkout, refund, refund.state, now), now),
    isAcknowledged: (statusCode) => statusCode >= 200 && statusCode < 300,
  };
}
