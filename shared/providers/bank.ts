import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { CURRENCY, assertFen, isFen } from '../domain/money';
import type { NotificationOutcome } from '../domain/notification';
import type { BankConfig } from './config';
import {
  ProviderNotSupportedError,
  type CallbackVerification,
  type FetchLike,
  type PayUrlRequest,
  type PaymentProvider,
  type ProviderPaymentState,
  type ProviderReply,
  type RejectionReason,
} from './types';

/**
 * Bank gateway (docs/PROVIDERS.md#bank-gateway): a Stripe-style HMAC webhook scheme.
 *
 * Callback: POST JSON, header `Bank-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each
 * v1 is HMAC-SHA256(secret, `${t}.${rawBody}`). Several v1 values and several configured secrets
 * may be live at once (rotation): any pair that matches passes.
 *
 * Pay URL: built locally (no network), signed with HMAC-SHA256 over the sorted parameters.
 * The scheme has no query or close API; see `queryPayment` / `closePayment`.
 */

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

/** The callback body. `status` and `currency` stay plain strings here so that an unknown value
 * is reported as what it is (unsupported_event, currency_mismatch) rather than as 'malformed'. */
export const BankCallbackBodySchema = z.object({
  event_id: z.string().min(1),
  payment_id: z.string().min(1),
  transaction_id: z.string().min(1),
  status: z.string().min(1),
  /** Minor units (fen): a safe non-negative integer within the project's amount range. */
  amount: z.number().refine(isFen, 'must be a non-negative integer number of fen'),
  currency: z.string().min(1),
  occurred_at: z.iso.datetime({ offset: true }),
});
export type BankCallbackBody = z.infer<typeof BankCallbackBodySchema>;

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

/** HMAC-SHA256 over `${t}.` followed by the raw body bytes (never re-encoded through a string). */
function callbackDigest(secret: string, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** Constant-time; a candidate that is not exactly 64 hex digits (either case) is simply not a match.
 * The regex matters: Buffer.from(hex) silently drops a non-hex tail. */
function digestMatches(expected: Buffer, candidateHex: string): boolean {
  if (!HEX_SHA256.test(candidateHex)) return false;
  const candidate = Buffer.from(candidateHex, 'hex');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

interface SignatureHeader {
  timestamp: string;
  signatures: string[];
}

const HEADER_ELEMENT = /^(t|v\d+)=([^,=\s]+)$/;

/**
 * Strict parse of `t=<digits>,v1=<value>[,v1=<value>...]`: elements in any order, exactly one `t`,
 * at least one `v1`. Other `v<n>=` schemes are skipped (as Stripe skips v0) so a future scheme can
 * be added by the bank without breaking us. v1 values are not checked for hex here: a garbled
 * signature is a bad signature, not a malformed request.
 */
function parseBankSignatureHeader(header: string): SignatureHeader | undefined {
  const timestamps: string[] = [];
  const signatures: string[] = [];
  for (const element of header.trim().split(',')) {
    const match = HEADER_ELEMENT.exec(element);
    if (!match) return undefined;
    const [, key, value = ''] = match;
    if (key === 't') timestamps.push(value);
    else if (key === 'v1') signatures.push(value);
  }
  const [timestamp] = timestamps;
  if (timestamps.length !== 1 || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return undefined;
  if (signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

function signatureMatches(secrets: readonly string[], header: SignatureHeader, rawBody: Buffer): boolean {
  // Every pair is tried (no early exit) so timing does not reveal which secret or position matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = callbackDigest(secret, header.timestamp, rawBody);
    for (const candidate of header.signatures) matched = digestMatches(expected, candidate) || matched;
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
  return createHmac('sha256', signingSecret).update(bankPayParamsSigningString({ ...params })).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Callback verification
// ---------------------------------------------------------------------------------------------

function reject(reason: RejectionReason, detail: string): CallbackVerification {
  return { ok: false, reason, detail };
}

function parseBody(rawBody: Buffer): BankCallbackBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = BankCallbackBodySchema.safeParse(json);
  return result.success ? result.data : undefined;
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
function verifyBankCallback(config: BankConfig, headers: Readonly<Record<string, string | undefined>>, rawBody: Buffer, now: Date): CallbackVerification {
  const headerValue = headers[BANK_SIGNATURE_HEADER];
  if (headerValue === undefined) return reject('malformed', 'missing Bank-Signature header');
  const header = parseBankSignatureHeader(headerValue);
  if (!header) return reject('malformed', 'Bank-Signature header is not t=<seconds>,v1=<hex>');

  if (!signatureMatches(config.webhookSecrets, header, rawBody)) {
    return reject('bad_signature', 'no v1 signature matches any configured webhook secret');
  }
  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(header.timestamp);
  if (Math.abs(ageSeconds) > BANK_TOLERANCE_SECONDS) {
    return reject('stale_timestamp', `timestamp is ${Math.abs(ageSeconds)} s off, tolerance ${BANK_TOLERANCE_SECONDS} s`);
  }

  const body = parseBody(rawBody);
  if (!body) return reject('malformed', 'body is not the bank callback JSON');
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
      occurredAt: new Date(body.occurred_at).toISOString(),
      providerStatus: body.status,
      via: 'callback',
    },
  };
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

/** `fetch` is accepted for a uniform factory signature; this scheme makes no outbound calls. */
export function createBankProvider({ config }: { config: BankConfig; fetch?: FetchLike }): PaymentProvider {
  return {
    name: 'bank',
    createPayUrl: async (request) => ({ payUrl: buildPayUrl(config, request) }),
    verifyCallback: (callback, now) => verifyBankCallback(config, callback.headers, callback.body, now),
    acknowledge: () => jsonReply(200, { received: true }),
    reject: (message, retryable) => jsonReply(retryable ? 500 : 400, { received: false, error: message }),
    // The bank scheme defines no query or close API: say so rather than guess a state.
    queryPayment: async (): Promise<ProviderPaymentState> => {
      throw new ProviderNotSupportedError('bank', 'query');
    },
    closePayment: async (): Promise<void> => {
      throw new ProviderNotSupportedError('bank', 'close');
    },
  };
}
