import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import { BillFormatError, isBusinessDate, type BusinessDate } from '../domain/bill';
import { CURRENCY, assertFen, isFen } from '../domain/money';
import type { NotificationOutcome, RefundNotification, RefundOutcome } from '../domain/notification';
import { parseBankSettlementReport } from './bank-settlement';
import type { BankConfig } from './config';
import { DEFAULT_PROVIDER_HTTP, providerSender, type ProviderHttpConfig, type ProviderSender, type FetchLike } from './http';
import {
  ProviderCallError,
  ProviderNotSupportedError,
  type BillFetch,
  type CallbackVerification,
  type PayUrlRequest,
  type PaymentProvider,
  type ProviderPaymentState,
  type ProviderRefundState,
  type ProviderReply,
  type RefundRequest,
  type RejectionReason,
} from '../core/payments/provider';

/**
 * Bank gateway (docs/PROVIDERS.md#bank-gateway): a Stripe-style HMAC webhook scheme.
 *
 * Callback: POST JSON, header `Bank-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each
 * v1 is HMAC-SHA256(secret, `${t}.${rawBody}`). Several v1 values and several configured secrets
 * may be live at once (rotation): any pair that matches passes.
 *
 * Pay URL: built locally (no network), signed with HMAC-SHA256 over the sorted parameters.
 * The scheme has no query or close API for payments; see `queryPayment` / `closePayment`.
 *
 * Refund API (ours, Stripe-like, under `gatewayUrl`): `POST /refunds` with `Idempotency-Key` = our
 * refund id and `GET /refunds/{refund_id}`. Requests carry `Bank-Signature` signed with
 * `signingSecret` over `${t}.${METHOD}.${path}.${rawBody}`; the bank's answers carry `Bank-Signature`
 * over `${t}.${rawBody}` with a webhook secret, exactly like its webhooks. `refund.*` webhooks
 * share the payment webhooks' URL and signature.
 *
 * Settlement report (ours too): `GET /settlement-reports/{YYYY-MM-DD}` under `gatewayUrl`, signed
 * like the refund requests; the CSV answer's bytes are signed like every answer. Its format is
 * read by ./bank-settlement.ts.
 */

export { parseBankSettlementReport } from './bank-settlement';

export const BANK_SIGNATURE_HEADER = 'bank-signature';
/** Replay window, as Stripe's default: a callback signed more than 5 minutes from now is refused. */
export const BANK_TOLERANCE_SECONDS = 300;

// ---------------------------------------------------------------------------------------------
// Wire types and status mapping
// ---------------------------------------------------------------------------------------------

export const BANK_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type BankStatus = (typeof BANK_STATUSES)[number];

/** Every bank status has an outcome; anything else is a verified event we do not act on. */
export const BANK_STATUS_OUTCOMES: Readonly<Record<BankStatus, NotificationOutcome>> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

const nonEmpty = z.string().check(z.minLength(1));
/** Minor units (fen): a safe non-negative integer within the project's amount range. */
const fen = z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen'));
const isoWithOffset = z.iso.datetime({ offset: true });

/** The callback body. `status` and `currency` stay plain strings here so that an unknown value
 * is reported as what it is (unsupported_event, currency_mismatch) rather than as 'malformed'. */
export const BankCallbackBodySchema = z.object({
  event_id: nonEmpty,
  payment_id: nonEmpty,
  transaction_id: nonEmpty,
  status: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  occurred_at: isoWithOffset,
});
export type BankCallbackBody = z.infer<typeof BankCallbackBodySchema>;

export const BANK_REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'requires_action'] as const;
export type BankRefundStatus = (typeof BANK_REFUND_STATUSES)[number];

/**
 * A refund's status in the bank's answers → our outcome. requires_action: the bank could not pay
 * the money back to the card (closed or blocked) and a person has to settle it, as Stripe's refund
 * status of that name (hyperswitch reads it as manual review).
 */
export const BANK_REFUND_OUTCOMES: Readonly<Record<BankRefundStatus, RefundOutcome>> = {
  pending: 'processing',
  succeeded: 'succeeded',
  failed: 'failed',
  requires_action: 'abnormal',
};

/** The refund webhooks (the bank never announces pending). */
export const BANK_REFUND_EVENTS: Readonly<Record<string, RefundOutcome>> = {
  'refund.succeeded': 'succeeded',
  'refund.failed': 'failed',
  'refund.requires_action': 'abnormal',
};

/** A refund webhook body (told apart from a payment webhook by its `type`). */
export const BankRefundEventSchema = z.object({
  event_id: nonEmpty,
  type: nonEmpty,
  /** Our refund id; for a refund made on the bank's own console, the bank's id for it. */
  refund_id: nonEmpty,
  payment_id: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  occurred_at: isoWithOffset,
  failure_reason: z.optional(z.string()),
});
export type BankRefundEvent = z.infer<typeof BankRefundEventSchema>;

/** `POST /refunds` body. */
export interface BankRefundRequestBody {
  refund_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  reason?: string;
}

/** A refund as `POST /refunds` and `GET /refunds/{refund_id}` answer it. */
export const BankRefundSchema = z.object({
  refund_id: nonEmpty,
  payment_id: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  status: nonEmpty,
  failure_reason: z.optional(z.string()),
  created_at: isoWithOffset,
  succeeded_at: z.optional(isoWithOffset),
});
export type BankRefund = z.infer<typeof BankRefundSchema>;

/** The bank API's error body, e.g. {"error":{"code":"amount_exceeds_refundable","message":"..."}}. */
export const BankErrorSchema = z.object({ error: z.object({ code: nonEmpty, message: z.optional(z.string()) }) });

/** Query parameters of the pay URL; `signature` signs all the others. */
export interface BankPayParams {
  payment_id: string;
  amount: string;
  currency: string;
  expires_at: string;
  return_url: string;
  notify_url: string;
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** The configuration with its webhook secrets as key objects, made once: createHmac would otherwise
 * encode a string key on every call. */
interface KeyedBankConfig extends BankConfig {
  webhookKeys: readonly KeyObject[];
}

/** HMAC-SHA256 over `${t}.` followed by the raw body bytes (never re-encoded through a string). */
function callbackDigest(key: KeyObject, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', key).update(`${timestamp}.`).update(rawBody).digest();
}

interface SignatureHeader {
  timestamp: string;
  /** The v1 values that are digests at all, decoded once; a garbled one is kept out, as it can match nothing. */
  digests: Buffer[];
}

const HEADER_ELEMENT = /^(t|v\d+)=([^,=\s]+)$/;
/** The header as the bank sends it outside a rotation: one t, then one well-formed v1. */
const SINGLE_SIGNATURE_HEADER = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/i;

/**
 * Strict parse of `t=<digits>,v1=<value>[,v1=<value>...]`: elements in any order, exactly one `t`,
 * at least one `v1`. Other `v<n>=` schemes are skipped (as Stripe skips v0) so a future scheme can
 * be added by the bank without breaking us. A v1 value that is not 64 hex digits (either case)
 * still counts as a v1: a garbled signature is a bad signature, not a malformed request. The hex
 * check matters: Buffer.from(hex) silently drops a non-hex tail.
 */
function parseBankSignatureHeader(header: string): SignatureHeader | undefined {
  // The usual header in one match: the same result as the element-wise reading below, without its split and matches.
  const single = SINGLE_SIGNATURE_HEADER.exec(header);
  if (single) return { timestamp: single[1] ?? '', digests: [Buffer.from(single[2] ?? '', 'hex')] };
  const timestamps: string[] = [];
  const digests: Buffer[] = [];
  let hasV1 = false;
  for (const element of header.trim().split(',')) {
    const match = HEADER_ELEMENT.exec(element);
    if (!match) return undefined;
    const [, key, value = ''] = match;
    if (key === 't') timestamps.push(value);
    else if (key === 'v1') {
      hasV1 = true;
      if (HEX_SHA256.test(value)) digests.push(Buffer.from(value, 'hex'));
    }
  }
  const [timestamp] = timestamps;
  if (timestamps.length !== 1 || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return undefined;
  if (!hasV1) return undefined;
  return { timestamp, digests };
}

function signatureMatches(keys: readonly KeyObject[], header: SignatureHeader, rawBody: Buffer): boolean {
  // Every pair is tried (no early exit) so timing does not reveal which secret or position matched;
  // each comparison is constant-time (the decoded v1 values are all 32 bytes, as the digest).
  let matched = false;
  for (const key of keys) {
    const expected = callbackDigest(key, header.timestamp, rawBody);
    for (const candidate of header.digests) matched = timingSafeEqual(candidate, expected) || matched;
  }
  return matched;
}

/**
 * The pay-URL signing string: every parameter except `signature`, sorted by key (code-unit
 * order), `key=value` joined by `&`, with raw (not URL-encoded) values. The signature is the hex
 * HMAC-SHA256 of that string with `signingSecret`.
 */
function bankPayParamsSigningString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

function signPayParams(params: BankPayParams, signingSecret: string): string {
  return createHmac('sha256', signingSecret)
    .update(bankPayParamsSigningString({ ...params }))
    .digest('hex');
}

/** The bank's answer to an API request is signed like a webhook: same header, secrets and window. */
function answerSigned(config: KeyedBankConfig, header: string | null, rawBody: Buffer, now: Date): boolean {
  const parsed = header === null ? undefined : parseBankSignatureHeader(header);
  if (!parsed || !signatureMatches(config.webhookKeys, parsed, rawBody)) return false;
  return Math.abs(Math.floor(now.getTime() / 1000) - Number(parsed.timestamp)) <= BANK_TOLERANCE_SECONDS;
}

/** `Bank-Signature` of a request to the bank: HMAC-SHA256(signingSecret, `${t}.${METHOD}.${path}.${rawBody}`). */
function requestSignature(signingSecret: string, method: string, path: string, body: string, now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${createHmac('sha256', signingSecret).update(`${timestamp}.${method}.${path}.${body}`).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Callback verification
// ---------------------------------------------------------------------------------------------

function reject(reason: RejectionReason, detail: string): CallbackVerification {
  return { ok: false, reason, detail };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A refund webhook names its `type`; a payment webhook has none. */
function isRefundEvent(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'type' in json && typeof json.type === 'string' && json.type.startsWith('refund.');
}

function isBankStatus(status: string): status is BankStatus {
  return (BANK_STATUSES as readonly string[]).includes(status);
}

/**
 * Order of checks: header syntax, signature, then the replay window (Stripe's order). Checking
 * the signature first means 'stale_timestamp' is only ever reported for a genuine bank message
 * (a late retry or a replay), which is worth telling apart from a forgery; a forger learns
 * nothing from it either way. The body is parsed only once it is known to come from the bank.
 */
function verifyBankCallback(config: KeyedBankConfig, headers: Readonly<Record<string, string | undefined>>, rawBody: Buffer, now: Date): CallbackVerification {
  const headerValue = headers[BANK_SIGNATURE_HEADER];
  if (headerValue === undefined) return reject('malformed', 'missing Bank-Signature header');
  const header = parseBankSignatureHeader(headerValue);
  if (!header) return reject('malformed', 'Bank-Signature header is not t=<seconds>,v1=<hex>');

  if (!signatureMatches(config.webhookKeys, header, rawBody)) {
    return reject('bad_signature', 'no v1 signature matches any configured webhook secret');
  }
  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(header.timestamp);
  if (Math.abs(ageSeconds) > BANK_TOLERANCE_SECONDS) {
    return reject('stale_timestamp', `timestamp is ${Math.abs(ageSeconds)} s off, tolerance ${BANK_TOLERANCE_SECONDS} s`);
  }

  const json = parseJson(rawBody.toString('utf8'));
  if (isRefundEvent(json)) return refundNotification(json);
  const parsed = BankCallbackBodySchema.safeParse(json);
  if (!parsed.success) return reject('malformed', 'body is not the bank callback JSON');
  const body = parsed.data;
  if (!isBankStatus(body.status)) return reject('unsupported_event', `status ${body.status} has no payment outcome`);
  if (body.currency !== CURRENCY) return reject('currency_mismatch', `currency ${body.currency}, expected ${CURRENCY}`);

  return {
    ok: true,
    notification: {
      provider: 'bank',
      eventId: body.event_id,
      paymentId: body.payment_id,
      providerTransactionId: body.transaction_id,
      outcome: BANK_STATUS_OUTCOMES[body.status],
      amount: body.amount,
      currency: CURRENCY,
      occurredAt: utcIso(body.occurred_at),
      providerStatus: body.status,
      via: 'callback',
    },
  };
}

const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A webhook time (validated ISO 8601 with offset) as canonical UTC; the bank's usual form is kept as is, a tenth of the cost of a Date round trip. */
function utcIso(time: string): string {
  return CANONICAL_UTC.test(time) ? time : new Date(time).toISOString();
}

function refundNotification(json: unknown): CallbackVerification {
  const parsed = BankRefundEventSchema.safeParse(json);
  if (!parsed.success) return reject('malformed', 'body is not the bank refund webhook JSON');
  const event = parsed.data;
  const outcome = BANK_REFUND_EVENTS[event.type];
  if (!outcome) return reject('unsupported_event', `type ${event.type} has no refund outcome`);
  if (event.currency !== CURRENCY) return reject('currency_mismatch', `currency ${event.currency}, expected ${CURRENCY}`);
  const notification: RefundNotification = {
    type: 'refund',
    provider: 'bank',
    eventId: event.event_id,
    refundId: event.refund_id,
    paymentId: event.payment_id,
    outcome,
    amount: event.amount,
    currency: CURRENCY,
    occurredAt: utcIso(event.occurred_at),
    providerStatus: event.type,
    via: 'callback',
  };
  return { ok: true, notification };
}

// ---------------------------------------------------------------------------------------------
// Bank API: refunds (and the transport the settlement report shares)
// ---------------------------------------------------------------------------------------------

type RefundOperation = 'refund' | 'queryRefund';
type BankOperation = RefundOperation | 'fetchBill';

interface BankAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
  /** The exact bytes the bank signed. */
  bytes: Buffer;
}

function isBankRefundStatus(status: string): status is BankRefundStatus {
  return (BANK_REFUND_STATUSES as readonly string[]).includes(status);
}

/**
 * One signed request to the bank's API (retried and timed out by `sender`; a retry of a refund is
 * the same refund, by its Idempotency-Key). A network failure, a 5xx or an answer the bank did not
 * sign leaves the outcome unknown: retryable, never a refusal. `csv` asks for the settlement
 * report, whose signature covers its raw bytes.
 */
async function sendToBank(
  config: KeyedBankConfig,
  sender: ProviderSender,
  operation: BankOperation,
  request: { method: 'GET' | 'POST'; path: string; body: string; headers?: Record<string, string>; csv?: boolean; now: Date },
): Promise<BankAnswer> {
  const { method, path, body, csv = false, now } = request;
  const url = new URL(config.gatewayUrl);
  url.search = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  const response = await sender(operation, () => ({
    url: url.toString(),
    method,
    headers: {
      Accept: csv ? 'text/csv, application/json' : 'application/json',
      ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}),
      'Bank-Signature': requestSignature(config.signingSecret, method, path, body, now),
      ...request.headers,
    },
    ...(method === 'POST' ? { body } : {}),
    ...(csv ? { binary: true } : {}),
  }));
  if (response.status >= 500) throw new ProviderCallError('bank', operation, `HTTP ${response.status}`);
  const bytes = response.bytes ?? Buffer.from(response.body, 'utf8');
  if (!answerSigned(config, response.headers.get(BANK_SIGNATURE_HEADER), bytes, now)) {
    throw new ProviderCallError('bank', operation, `HTTP ${response.status} answer is not signed by the bank`);
  }
  return { status: response.status, headers: response.headers, body: response.body, bytes };
}

/** A refund object about the refund we asked for → its state; anything else is unknown (retryable). */
function refundStateOf(
  operation: RefundOperation,
  answer: BankAnswer,
  expected: { refundId: string; paymentId: string; amount?: number },
): ProviderRefundState {
  const fail = (message: string) => new ProviderCallError('bank', operation, message);
  const parsed = BankRefundSchema.safeParse(parseJson(answer.body));
  if (!parsed.success) throw fail(`HTTP ${answer.status} answer is not a bank refund`);
  const refund = parsed.data;
  if (refund.refund_id !== expected.refundId || refund.payment_id !== expected.paymentId) throw fail('answer is about another refund');
  if (expected.amount !== undefined && refund.amount !== expected.amount) throw fail(`answer is for ${refund.amount} fen, asked ${expected.amount}`);
  if (refund.currency !== CURRENCY) throw fail(`currency ${refund.currency}, expected ${CURRENCY}`);
  if (!isBankRefundStatus(refund.status)) throw fail(`unknown refund status ${refund.status}`);
  const outcome = BANK_REFUND_OUTCOMES[refund.status];
  if (outcome === 'failed') return { status: 'failed', providerStatus: refund.status, reason: refund.failure_reason ?? 'the bank failed the refund' };
  if (outcome !== 'succeeded') return { status: outcome, providerStatus: refund.status };
  if (!refund.succeeded_at) throw fail('succeeded without succeeded_at');
  return { status: 'succeeded', amount: refund.amount, succeededAt: new Date(refund.succeeded_at).toISOString(), providerStatus: refund.status };
}

/** A signed 4xx with the bank's error code is a definite refusal (429, rate limiting, is not). */
function refusalOf(answer: BankAnswer): ProviderRefundState | undefined {
  if (answer.status < 400 || answer.status === 429) return undefined;
  const parsed = BankErrorSchema.safeParse(parseJson(answer.body));
  if (!parsed.success) return undefined;
  const { code, message } = parsed.data.error;
  return { status: 'failed', providerStatus: code, reason: `${code}${message ? `: ${message}` : ''}` };
}

async function createRefund(config: KeyedBankConfig, sender: ProviderSender, request: RefundRequest): Promise<ProviderRefundState> {
  const body: BankRefundRequestBody = {
    refund_id: request.refundId,
    payment_id: request.paymentId,
    amount: assertFen(request.amount),
    currency: request.currency,
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const answer = await sendToBank(config, sender, 'refund', {
    method: 'POST',
    path: '/refunds',
    body: JSON.stringify(body),
    headers: { 'Idempotency-Key': request.refundId },
    now: request.now,
  });
  if (answer.status === 200 || answer.status === 201) return refundStateOf('refund', answer, request);
  const refusal = refusalOf(answer);
  if (refusal) return refusal;
  throw new ProviderCallError('bank', 'refund', `HTTP ${answer.status}`);
}

async function queryRefund(
  config: KeyedBankConfig,
  sender: ProviderSender,
  request: { refundId: string; paymentId: string; now: Date },
): Promise<ProviderRefundState> {
  const path = `/refunds/${encodeURIComponent(request.refundId)}`;
  const answer = await sendToBank(config, sender, 'queryRefund', { method: 'GET', path, body: '', now: request.now });
  if (answer.status === 200) return refundStateOf('queryRefund', answer, request);
  const error = BankErrorSchema.safeParse(parseJson(answer.body));
  if (answer.status === 404 && error.success && error.data.error.code === 'refund_not_found')
    return { status: 'not_found', providerStatus: 'refund_not_found' };
  throw new ProviderCallError('bank', 'queryRefund', `HTTP ${answer.status}${error.success ? ` ${error.data.error.code}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Settlement report
// ---------------------------------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The signed 200's bytes as text: it must say it is UTF-8 CSV, and be it. */
function reportText(answer: BankAnswer): string {
  const contentType = answer.headers.get('content-type') ?? '';
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  if (mediaType !== 'text/csv' || (charset !== undefined && charset.replace(/"/g, '') !== 'charset=utf-8')) {
    throw new BillFormatError(`the report answer is ${JSON.stringify(contentType)}, not UTF-8 text/csv`);
  }
  try {
    return UTF8.decode(answer.bytes);
  } catch {
    throw new BillFormatError('the report is not valid UTF-8');
  }
}

/**
 * The day's settlement report: 200 CSV → `ready`; `409 report_not_ready` (the day is not over)
 * → `not_ready`. A day without activity is a 200 report with no rows: `ready` with an empty bill,
 * the bank's signed word that nothing happened. Anything else is thrown, retryable.
 */
async function fetchSettlementReport(config: KeyedBankConfig, sender: ProviderSender, { date, now }: { date: BusinessDate; now: Date }): Promise<BillFetch> {
  if (!isBusinessDate(date)) throw new ProviderCallError('bank', 'fetchBill', `${JSON.stringify(date)} is not a YYYY-MM-DD date`, false);
  const answer = await sendToBank(config, sender, 'fetchBill', { method: 'GET', path: `/settlement-reports/${date}`, body: '', csv: true, now });
  if (answer.status === 200) return { status: 'ready', bill: parseBankSettlementReport(reportText(answer), date) };
  const error = BankErrorSchema.safeParse(parseJson(answer.body));
  const code = error.success ? error.data.error.code : undefined;
  if (answer.status === 409 && code === 'report_not_ready') return { status: 'not_ready', providerStatus: code };
  throw new ProviderCallError('bank', 'fetchBill', `HTTP ${answer.status}${code ? ` ${code}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

function jsonReply(statusCode: number, body: unknown): ProviderReply {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Pay URL: `${gatewayUrl}?payment_id&amount&currency&expires_at&return_url&notify_url&signature`.
 * The gateway refuses to take payment after `expires_at`, so once that time has passed the
 * payment can no longer be paid at the bank: that is what lets the sweeper expire a bank payment
 * locally without a close call (which this scheme does not have).
 */
function buildPayUrl(config: BankConfig, { payment, notifyUrl, returnUrl }: PayUrlRequest): string {
  const params: BankPayParams = {
    payment_id: payment.paymentId,
    amount: String(assertFen(payment.amount)),
    currency: payment.currency,
    expires_at: new Date(payment.expiresAt).toISOString(),
    return_url: returnUrl,
    notify_url: notifyUrl,
  };
  const url = new URL(config.gatewayUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  url.searchParams.set('signature', signPayParams(params, config.signingSecret));
  return url.toString();
}

export interface BankProviderOptions {
  config: BankConfig;
  /** Serves the refund API and the settlement report: payments need no outbound call. */
  fetch?: FetchLike;
  http?: ProviderHttpConfig;
}

export function createBankProvider({ config, fetch = globalThis.fetch, http = DEFAULT_PROVIDER_HTTP }: BankProviderOptions): PaymentProvider {
  const sender = providerSender('bank', fetch, http);
  const keyed: KeyedBankConfig = { ...config, webhookKeys: config.webhookSecrets.map((secret) => createSecretKey(secret, 'utf8')) };
  return {
    name: 'bank',
    createPayUrl: async (request) => ({ payUrl: buildPayUrl(config, request) }),
    verifyCallback: (callback, now) => verifyBankCallback(keyed, callback.headers, callback.body, now),
    acknowledge: () => jsonReply(200, { received: true }),
    reject: (message, retryable) => jsonReply(retryable ? 500 : 400, { received: false, error: message }),
    // The bank scheme defines no query or close API: say so rather than guess a state.
    queryPayment: async (): Promise<ProviderPaymentState> => {
      throw new ProviderNotSupportedError('bank', 'query');
    },
    closePayment: async (): Promise<void> => {
      throw new ProviderNotSupportedError('bank', 'close');
    },
    refund: (request) => createRefund(keyed, sender, request),
    queryRefund: (request) => queryRefund(keyed, sender, request),
    fetchBill: (request) => fetchSettlementReport(keyed, sender, request),
  };
}
