import { createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import { BillFormatError, isBusinessDate, type BusinessDate } from '../domain/bill';
import { CURRENCY, assertFen, isFen } from '../domain/money';
import type { NotificationOutcome, RefundNotification, RefundOutcome } from '../domain/notification';
import type { WechatConfig } from './config';
import { parseWechatBill } from './wechat-bill';
import { DEFAULT_PROVIDER_HTTP, isRetryableStatus, providerSender, type ProviderHttpConfig, type ProviderSender, type FetchLike } from './http';
import {
  ProviderCallError,
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

export { parseWechatBill } from './wechat-bill';

/**
 * WeChat Pay API v3 (docs/PROVIDERS.md#wechat-pay-api-v3), merchant side.
 *
 * Inbound (callbacks) and WeChat's answers to our calls are signed the same way: RSA-SHA256
 * (PKCS#1 v1.5) over `${Wechatpay-Timestamp}\n${Wechatpay-Nonce}\n${raw body}\n`, with the platform
 * public key named by `Wechatpay-Serial`. A callback's `resource` is AES-256-GCM encrypted with
 * our APIv3 key. Outbound requests carry an `Authorization: WECHATPAY2-SHA256-RSA2048 ...` header
 * signed with our merchant key over `METHOD\nURL\ntimestamp\nnonce\nbody\n`.
 */

export const WECHAT_SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** WeChat's probe requests carry signatures with this prefix; they are counted apart. */
export const WECHAT_SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';
/** Replay window for callbacks and answers: 5 minutes either way, the boundary included. */
export const WECHAT_REPLAY_WINDOW_SECONDS = 300;

// ---------------------------------------------------------------------------------------------
// Wire types and status mapping
// ---------------------------------------------------------------------------------------------

export const WECHAT_TRADE_STATES = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'] as const;
export type WechatTradeState = (typeof WECHAT_TRADE_STATES)[number];

/**
 * A callback's trade_state → our outcome; null = verified but nothing to act on. Mapped from the
 * decrypted trade_state, not event_type: real WeChat only pushes TRANSACTION.SUCCESS, the sandbox
 * also pushes PAYERROR / CLOSED in the same envelope. A REFUND push means the payment succeeded
 * earlier (its SUCCESS was the event to act on); refunds are not handled here.
 */
export const WECHAT_CALLBACK_OUTCOMES: Readonly<Record<WechatTradeState, NotificationOutcome | null>> = {
  SUCCESS: 'succeeded',
  PAYERROR: 'failed',
  CLOSED: 'cancelled',
  REVOKED: 'cancelled',
  NOTPAY: null,
  USERPAYING: null,
  REFUND: null,
};

/** A queried trade_state → the provider's view of the payment. */
export const WECHAT_QUERY_STATUSES: Readonly<Record<WechatTradeState, ProviderPaymentState['status']>> = {
  SUCCESS: 'paid',
  // REFUND: the customer paid and was (partly) refunded since. The payment did succeed, so it is
  // 'paid'; the refund is a separate matter, not a reason to expire or close the payment.
  REFUND: 'paid',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'closed',
  REVOKED: 'closed',
  PAYERROR: 'failed',
};

/** RFC 3339 with seconds and an explicit offset, e.g. 2026-11-25T12:30:00+08:00. */
const Rfc3339Schema = z.iso.datetime({ offset: true });

/** The callback body. Unknown fields are ignored (WeChat adds fields without notice). */
export const WechatCallbackEnvelopeSchema = z.object({
  id: z.string().check(z.minLength(1)),
  create_time: Rfc3339Schema,
  event_type: z.string().check(z.minLength(1)),
  resource_type: z.literal('encrypt-resource'),
  summary: z.optional(z.string()),
  resource: z.object({
    algorithm: z.literal('AEAD_AES_256_GCM'),
    /** base64 of the ciphertext followed by the 16-byte GCM tag. */
    ciphertext: z.string().check(z.minLength(1)),
    /** The GCM IV, as UTF-8 text (12 characters). */
    nonce: z.string().check(z.minLength(1)),
    /** The GCM additional authenticated data, as UTF-8 text; may be empty or absent. */
    associated_data: z.optional(z.string()),
    /** 'transaction' for payment notifications, 'refund' for refund ones. */
    original_type: z.optional(z.string()),
  }),
});
export type WechatCallbackEnvelope = z.infer<typeof WechatCallbackEnvelopeSchema>;

const AmountSchema = z.object({
  /** Order total in fen. */
  total: z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen')),
  payer_total: z.optional(z.number()),
  /** Kept a plain string so a foreign currency is reported as currency_mismatch. */
  currency: z.string().check(z.minLength(1)),
  payer_currency: z.optional(z.string()),
});

/** The transaction: a callback's decrypted resource, and the answer to a query. */
export const WechatTransactionSchema = z.object({
  appid: z.string().check(z.minLength(1)),
  mchid: z.string().check(z.minLength(1)),
  out_trade_no: z.string().check(z.minLength(1)),
  transaction_id: z.optional(z.string().check(z.minLength(1))),
  /** Kept a plain string so an unknown state is reported as such rather than as malformed. */
  trade_state: z.string().check(z.minLength(1)),
  trade_state_desc: z.optional(z.string()),
  success_time: z.optional(Rfc3339Schema),
  amount: AmountSchema,
});
export type WechatTransaction = z.infer<typeof WechatTransactionSchema>;

/** `POST /v3/pay/transactions/native` request body. */
export interface WechatNativeOrderRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  notify_url: string;
  amount: { total: number; currency: typeof CURRENCY };
  /** RFC 3339 in Beijing time (+08:00). */
  time_expire: string;
}

const NativeOrderResponseSchema = z.object({ code_url: z.string().check(z.minLength(1)) });
/** WeChat's error body, e.g. {"code":"ORDER_NOT_EXIST","message":"..."}. */
const ErrorResponseSchema = z.object({ code: z.string().check(z.minLength(1)), message: z.optional(z.string()) });

export function isWechatTradeState(state: string): state is WechatTradeState {
  return (WECHAT_TRADE_STATES as readonly string[]).includes(state);
}

// Refunds ---------------------------------------------------------------------------------------

export const WECHAT_REFUND_STATUSES = ['SUCCESS', 'PROCESSING', 'ABNORMAL', 'CLOSED'] as const;
export type WechatRefundStatus = (typeof WECHAT_REFUND_STATUSES)[number];

/**
 * A refund's status (create and query answers, notifications) → our outcome. CLOSED is final: the
 * refund will not happen under that out_refund_no. ABNORMAL means the money could not reach the
 * customer's original account (card cancelled or frozen): a person resolves it on the merchant
 * platform (or through apply-abnormal-refund), so it is not a plain failure.
 */
export const WECHAT_REFUND_OUTCOMES: Readonly<Record<WechatRefundStatus, RefundOutcome>> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
  ABNORMAL: 'abnormal',
  CLOSED: 'failed',
};

/** The refund notification events and the refund_status each must carry (WeChat never pushes PROCESSING). */
export const WECHAT_REFUND_EVENTS: Readonly<Record<string, WechatRefundStatus>> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

const fen = z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen'));

/** `POST /v3/refund/domestic/refunds` request body. */
export interface WechatRefundRequest {
  out_trade_no: string;
  /** ≤ 64 of [0-9A-Za-z_-|*@]; the same number again is the same refund. */
  out_refund_no: string;
  /** ≤ 80 characters, shown to the customer. */
  reason?: string;
  notify_url: string;
  /** `total` is the ORIGINAL payment's amount, `refund` this refund's. */
  amount: { refund: number; total: number; currency: typeof CURRENCY };
}

/** A refund, as the create and query calls answer it. */
export const WechatRefundSchema = z.object({
  refund_id: z.string().check(z.minLength(1)),
  out_refund_no: z.string().check(z.minLength(1)),
  transaction_id: z.optional(z.string()),
  out_trade_no: z.string().check(z.minLength(1)),
  channel: z.optional(z.string()),
  user_received_account: z.optional(z.string()),
  success_time: z.optional(Rfc3339Schema),
  create_time: z.optional(Rfc3339Schema),
  /** Kept a plain string so an unknown status is reported as such. */
  status: z.string().check(z.minLength(1)),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: z.optional(z.number()),
    payer_refund: z.optional(z.number()),
    currency: z.string().check(z.minLength(1)),
  }),
});
export type WechatRefund = z.infer<typeof WechatRefundSchema>;

/** A refund notification's decrypted resource. It has no appid (unlike a transaction). */
export const WechatRefundResourceSchema = z.object({
  mchid: z.string().check(z.minLength(1)),
  out_trade_no: z.string().check(z.minLength(1)),
  transaction_id: z.string().check(z.minLength(1)),
  out_refund_no: z.string().check(z.minLength(1)),
  refund_id: z.string().check(z.minLength(1)),
  refund_status: z.string().check(z.minLength(1)),
  success_time: z.optional(Rfc3339Schema),
  user_received_account: z.optional(z.string()),
  amount: z.object({ total: fen, refund: fen, payer_total: z.optional(z.number()), payer_refund: z.optional(z.number()) }),
});
export type WechatRefundResource = z.infer<typeof WechatRefundResourceSchema>;

export function isWechatRefundStatus(status: string): status is WechatRefundStatus {
  return (WECHAT_REFUND_STATUSES as readonly string[]).includes(status);
}

/** WeChat's limit on `reason`; a longer one would refuse the whole refund, so it is cut instead. */
const REFUND_REASON_MAX_CHARACTERS = 80;

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/**
 * An instant rendered as WeChat writes times: RFC 3339 in Beijing time, whole seconds, e.g.
 * 2026-11-25T04:30:00.900Z → 2026-11-25T12:30:00+08:00. Milliseconds are dropped (rounded down),
 * so a time_expire never lands later than our own expiry.
 */
export function toBeijingRfc3339(instant: Date | string): string {
  const ms = new Date(instant).getTime();
  if (Number.isNaN(ms)) throw new RangeError('not a valid instant');
  return `${new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** Any RFC 3339 time (already validated by the schema) → ISO-8601 UTC. */
function toIsoUtc(rfc3339: string): string {
  return new Date(rfc3339).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Signatures and decryption
// ---------------------------------------------------------------------------------------------

/** The `Wechatpay-*` headers that sign a callback or an answer, as received. */
interface WechatpayHeaders {
  timestamp: unknown;
  nonce: unknown;
  signature: unknown;
  serial: unknown;
  signatureType: unknown;
}

type Refusal = { ok: false; reason: RejectionReason; detail: string };

function refuse(reason: RejectionReason, detail: string): Refusal {
  return { ok: false, reason, detail };
}

/** A header value we can read: some runtimes hand over arrays or nothing; neither is a value. */
function isPresent(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Canonical base64 only: a non-canonical spelling of the same bytes is not the signature sent. */
function decodeBase64Strict(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text ? bytes : undefined;
}

/** `${timestamp}\n${nonce}\n${body}\n` over the body's raw bytes (never re-encoded). */
function signedMessage(timestamp: string, nonce: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), rawBody, Buffer.from('\n', 'utf8')]);
}

/**
 * Order of checks: headers present, SIGNTEST probe (before any crypto, so probes are counted
 * apart), key by serial, signature, then the replay window. Checking the signature before the
 * window means 'stale_timestamp' is only reported for a genuine WeChat message (a late retry or
 * a replay), which is worth telling apart from a forgery.
 */
function verifyWechatpaySignature(headers: WechatpayHeaders, rawBody: Buffer, platformKeys: ReadonlyMap<string, KeyObject>, now: Date): { ok: true } | Refusal {
  const { timestamp, nonce, signature, serial, signatureType } = headers;
  if (!isPresent(timestamp) || !isPresent(nonce) || !isPresent(signature) || !isPresent(serial)) {
    return refuse('malformed', 'missing Wechatpay-Timestamp, -Nonce, -Signature or -Serial header');
  }
  if (signatureType !== undefined && signatureType !== WECHAT_SIGNATURE_TYPE) {
    return refuse('malformed', 'Wechatpay-Signature-Type is not WECHATPAY2-SHA256-RSA2048');
  }
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('malformed', 'Wechatpay-Timestamp is not unix seconds');
  if (signature.startsWith(WECHAT_SIGNTEST_PREFIX)) return refuse('signature_probe', 'WeChat signature probe (WECHATPAY/SIGNTEST/)');

  const key = platformKeys.get(serial);
  if (!key) return refuse('unknown_key', 'Wechatpay-Serial names no configured platform key');
  const signatureBytes = decodeBase64Strict(signature);
  if (!signatureBytes || !verify('sha256', signedMessage(timestamp, nonce, rawBody), key, signatureBytes)) {
    return refuse('bad_signature', 'Wechatpay-Signature does not verify with the platform key');
  }

  const offsetSeconds = Number(timestamp) - Math.floor(now.getTime() / 1000);
  if (Math.abs(offsetSeconds) > WECHAT_REPLAY_WINDOW_SECONDS) {
    return refuse('stale_timestamp', `signed ${offsetSeconds} s from now, window ${WECHAT_REPLAY_WINDOW_SECONDS} s`);
  }
  return { ok: true };
}

const GCM_TAG_BYTES = 16;

/** AES-256-GCM open of a callback resource; undefined when it does not authenticate. */
function decryptResource(apiV3Key: string, resource: WechatCallbackEnvelope['resource']): string | undefined {
  const sealed = decodeBase64Strict(resource.ciphertext);
  if (!sealed || sealed.length <= GCM_TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(resource.nonce, 'utf8'), {
      authTagLength: GCM_TAG_BYTES,
    });
    decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    // Wrong key, wrong IV or AAD, tampered ciphertext: all the same to us.
    return undefined;
  }
}

/** Parses JSON and validates it; undefined when either fails (never throws). */
function parseJson<T>(text: string, schema: z.ZodMiniType<T>): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** A random nonce_str: 32 hex characters. */
function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The Authorization header for a request: RSA-SHA256 with the merchant key over
 * `METHOD\nURL\ntimestamp\nnonce\nbody\n`, URL being the path from `/v3` on plus the query string.
 */
function authorization(config: WechatConfig, merchantKey: KeyObject, method: string, signedUrl: string, body: string, now: Date): string {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = newNonce();
  const message = `${method}\n${signedUrl}\n${timestamp}\n${nonce}\n${body}\n`;
  const signature = sign('sha256', Buffer.from(message, 'utf8'), merchantKey).toString('base64');
  return (
    `${WECHAT_SIGNATURE_TYPE} mchid="${config.mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${config.merchantSerial}"`
  );
}

// ---------------------------------------------------------------------------------------------
// Callback verification
// ---------------------------------------------------------------------------------------------

interface WechatKeys {
  merchantKey: KeyObject;
  platformKeys: ReadonlyMap<string, KeyObject>;
}

/** PEMs → key objects once, at start-up: a broken PEM fails the deployment, not a callback. */
function loadKeys(config: WechatConfig): WechatKeys {
  return {
    merchantKey: createPrivateKey(config.merchantPrivateKey),
    platformKeys: new Map(Object.entries(config.platformPublicKeys).map(([serial, pem]) => [serial, createPublicKey(pem)])),
  };
}

/** Reads the Wechatpay-* headers; `get` takes a lower-case name (callbacks and fetch answers alike). */
function wechatpayHeaders(get: (name: string) => unknown): WechatpayHeaders {
  return {
    timestamp: get('wechatpay-timestamp'),
    nonce: get('wechatpay-nonce'),
    signature: get('wechatpay-signature'),
    serial: get('wechatpay-serial'),
    signatureType: get('wechatpay-signature-type'),
  };
}

/**
 * Signature (see verifyWechatpaySignature), then the envelope and, by its `original_type`, a
 * payment (`transaction`) or a refund (`refund`) resource. The body is parsed only once it is
 * known to be WeChat's.
 */
function verifyWechatCallback(
  config: WechatConfig,
  platformKeys: ReadonlyMap<string, KeyObject>,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Buffer,
  now: Date,
): CallbackVerification {
  const signature = verifyWechatpaySignature(
    wechatpayHeaders((name) => headers[name]),
    rawBody,
    platformKeys,
    now,
  );
  if (!signature.ok) return signature;

  const envelope = parseJson(rawBody.toString('utf8'), WechatCallbackEnvelopeSchema);
  if (!envelope) return refuse('malformed', 'body is not a WeChat v3 notification envelope');
  // Payment notifications name their type 'transaction'; an envelope without one is read by its event.
  const originalType = envelope.resource.original_type ?? (envelope.event_type.startsWith('REFUND.') ? 'refund' : 'transaction');
  if (originalType === 'transaction') return verifyTransactionResource(config, envelope);
  if (originalType === 'refund') return verifyRefundResource(config, envelope);
  return refuse('unsupported_event', `resource original_type ${originalType} is neither a transaction nor a refund`);
}

/** A payment notification: our mchid / appid, the trade_state, currency. */
function verifyTransactionResource(config: WechatConfig, envelope: WechatCallbackEnvelope): CallbackVerification {
  const plaintext = decryptResource(config.apiV3Key, envelope.resource);
  if (plaintext === undefined) return refuse('decrypt_failed', 'resource does not decrypt with the APIv3 key');
  const transaction = parseJson(plaintext, WechatTransactionSchema);
  if (!transaction) return refuse('malformed', 'decrypted resource is not a WeChat transaction');

  if (transaction.mchid !== config.mchid) return refuse('merchant_mismatch', 'mchid is not ours');
  if (transaction.appid !== config.appid) return refuse('merchant_mismatch', 'appid is not ours');
  const state = transaction.trade_state;
  const outcome = isWechatTradeState(state) ? WECHAT_CALLBACK_OUTCOMES[state] : null;
  if (!outcome) return refuse('unsupported_event', `trade_state ${state} has no payment outcome`);
  if (transaction.amount.currency !== CURRENCY) {
    return refuse('currency_mismatch', `currency ${transaction.amount.currency}, expected ${CURRENCY}`);
  }
  if (outcome === 'succeeded' && (!transaction.transaction_id || !transaction.success_time)) {
    return refuse('malformed', 'SUCCESS without transaction_id or success_time');
  }

  return {
    ok: true,
    notification: {
      provider: 'wechat',
      eventId: envelope.id,
      paymentId: transaction.out_trade_no,
      ...(transaction.transaction_id ? { providerTransactionId: transaction.transaction_id } : {}),
      outcome,
      amount: transaction.amount.total,
      currency: CURRENCY,
      occurredAt: toIsoUtc(transaction.success_time ?? envelope.create_time),
      providerStatus: state,
      via: 'callback',
    },
  };
}

/**
 * A refund notification (REFUND.SUCCESS / ABNORMAL / CLOSED): the same signature and AES-GCM as a
 * payment's, but the resource has no appid, so only mchid says it is ours; its refund_status must
 * be the one the event names. All four ids and both amounts are carried on for the core to check
 * against its refund.
 */
function verifyRefundResource(config: WechatConfig, envelope: WechatCallbackEnvelope): CallbackVerification {
  const eventStatus = WECHAT_REFUND_EVENTS[envelope.event_type];
  if (!eventStatus) return refuse('unsupported_event', `event_type ${envelope.event_type} is not a refund outcome`);
  const plaintext = decryptResource(config.apiV3Key, envelope.resource);
  if (plaintext === undefined) return refuse('decrypt_failed', 'resource does not decrypt with the APIv3 key');
  const refund = parseJson(plaintext, WechatRefundResourceSchema);
  if (!refund) return refuse('malformed', 'decrypted resource is not a WeChat refund');

  if (refund.mchid !== config.mchid) return refuse('merchant_mismatch', 'mchid is not ours');
  if (refund.refund_status !== eventStatus) return refuse('malformed', `refund_status ${refund.refund_status} disagrees with ${envelope.event_type}`);
  if (eventStatus === 'SUCCESS' && !refund.success_time) return refuse('malformed', 'SUCCESS without success_time');

  const notification: RefundNotification = {
    type: 'refund',
    provider: 'wechat',
    eventId: envelope.id,
    refundId: refund.out_refund_no,
    paymentId: refund.out_trade_no,
    providerRefundId: refund.refund_id,
    providerTransactionId: refund.transaction_id,
    outcome: WECHAT_REFUND_OUTCOMES[eventStatus],
    amount: refund.amount.refund,
    paymentAmount: refund.amount.total,
    currency: CURRENCY,
    occurredAt: toIsoUtc(refund.success_time ?? envelope.create_time),
    providerStatus: refund.refund_status,
    via: 'callback',
  };
  return { ok: true, notification };
}

// ---------------------------------------------------------------------------------------------
// Outbound calls
// ---------------------------------------------------------------------------------------------

interface VerifiedAnswer {
  status: number;
  body: string;
  /** The answer's bytes, when the request asked for them (bill files). */
  bytes: Buffer | undefined;
  /** WeChat's error code from an error body, when there is one. */
  errorCode: string | undefined;
  /** WeChat's Request-ID: what its support asks for about a failed call. */
  requestId: string | undefined;
}

type Operation = 'createPayUrl' | 'queryPayment' | 'closePayment' | 'refund' | 'queryRefund' | 'fetchBill';

function callError(operation: Operation, message: string, retryable = true): ProviderCallError {
  return new ProviderCallError('wechat', operation, message, retryable);
}

function describeAnswer({ status, errorCode, requestId }: VerifiedAnswer): string {
  return `HTTP ${status}${errorCode ? ` ${errorCode}` : ''}${requestId ? ` (Request-ID ${requestId})` : ''}`;
}

function unexpectedAnswer(operation: Operation, answer: VerifiedAnswer): ProviderCallError {
  return callError(operation, describeAnswer(answer), isRetryableStatus(answer.status));
}

/**
 * Sends one signed request (retried and timed out by `sender`). `path` starts at `/v3`: that is
 * what WeChat signs. `apiBase` may carry a path prefix (the local sandbox serves under
 * `/sandbox/wechat`); the prefix is sent but not signed, because the real API's paths start at
 * `/v3` and the sandbox strips its base first.
 *
 * Every 2xx answer must be signed by the platform and verify (same rules as callbacks), except a
 * bill file (`fileDownload`: WeChat does not sign it, its SHA1 is checked instead). An error
 * answer is verified when it carries Wechatpay-* headers; WeChat does not promise to sign errors
 * (the official SDKs check the status before the signature), so an unsigned one is read as is.
 */
async function send(
  config: WechatConfig,
  keys: WechatKeys,
  sender: ProviderSender,
  operation: Operation,
  request: { method: 'GET' | 'POST'; path: string; body: string; now: Date; fileDownload?: boolean },
): Promise<VerifiedAnswer> {
  const { method, path, body, now, fileDownload = false } = request;
  const response = await sender(operation, () => ({
    url: `${apiBaseOf(config)}${path}`,
    method,
    headers: {
      Authorization: authorization(config, keys.merchantKey, method, path, body, now),
      Accept: 'application/json',
      'Content-Type': 'application/json',
      // WeChat refuses requests without a User-Agent.
      'User-Agent': 'payments-backend wechatpay-v3',
    },
    ...(method === 'POST' ? { body } : {}),
    ...(fileDownload ? { binary: true } : {}),
  }));

  const answerHeaders = wechatpayHeaders((name) => response.headers.get(name) ?? undefined);
  const isSuccess = response.status >= 200 && response.status < 300;
  if ((isSuccess && !fileDownload) || answerHeaders.signature !== undefined) {
    const check = verifyWechatpaySignature(answerHeaders, Buffer.from(response.body, 'utf8'), keys.platformKeys, now);
    if (!check.ok) throw callError(operation, `answer refused (${check.reason}): ${check.detail}`);
  }
  const errorCode = isSuccess ? undefined : parseJson(response.body, ErrorResponseSchema)?.code;
  return { status: response.status, body: response.body, bytes: response.bytes, errorCode, requestId: response.headers.get('request-id') ?? undefined };
}

function apiBaseOf(config: WechatConfig): string {
  return config.apiBase.replace(/\/+$/, '');
}

/** A queried transaction must be the order we asked about, for our merchant. */
function checkQueriedTransaction(config: WechatConfig, paymentId: string, transaction: WechatTransaction): void {
  if (transaction.mchid !== config.mchid || transaction.appid !== config.appid) {
    throw callError('queryPayment', 'answer names another merchant (mchid / appid)', false);
  }
  if (transaction.out_trade_no !== paymentId) throw callError('queryPayment', 'answer is for another out_trade_no', false);
}

function paymentStateOf(transaction: WechatTransaction): ProviderPaymentState {
  const state = transaction.trade_state;
  if (!isWechatTradeState(state)) throw callError('queryPayment', `unknown trade_state ${state}`, false);
  const status = WECHAT_QUERY_STATUSES[state];
  if (status !== 'paid') return { status, providerStatus: state };

  const { transaction_id: providerTransactionId, success_time: successTime, amount } = transaction;
  if (!providerTransactionId || !successTime) throw callError('queryPayment', `${state} without transaction_id or success_time`, false);
  if (amount.currency !== CURRENCY) throw callError('queryPayment', `currency ${amount.currency}, expected ${CURRENCY}`, false);
  return { status, providerTransactionId, amount: amount.total, currency: CURRENCY, paidAt: toIsoUtc(successTime), providerStatus: state };
}

/**
 * A refund answer about the refund we asked for → its state. Anything we cannot read or that names
 * another refund leaves the outcome unknown: a retryable error, never `failed`.
 */
function refundStateOf(
  operation: 'refund' | 'queryRefund',
  body: string,
  expected: { refundId: string; paymentId: string; amount?: number; paymentAmount?: number },
): ProviderRefundState {
  const refund = parseJson(body, WechatRefundSchema);
  if (!refund) throw callError(operation, 'answer is not a WeChat refund');
  if (refund.out_refund_no !== expected.refundId || refund.out_trade_no !== expected.paymentId) {
    throw callError(operation, 'answer is about another out_refund_no or out_trade_no');
  }
  const { refund: amount, total } = refund.amount;
  if ((expected.amount ?? amount) !== amount || (expected.paymentAmount ?? total) !== total) {
    throw callError(operation, `answer is for ${amount} of ${total} fen, asked ${expected.amount} of ${expected.paymentAmount}`);
  }
  const { status, refund_id: providerRefundId } = refund;
  if (!isWechatRefundStatus(status)) throw callError(operation, `unknown refund status ${status}`);
  const outcome = WECHAT_REFUND_OUTCOMES[status];
  if (outcome === 'failed') return { status: 'failed', providerStatus: status, reason: 'WeChat closed the refund (CLOSED)' };
  if (outcome !== 'succeeded') return { status: outcome, providerRefundId, providerStatus: status };
  if (!refund.success_time) throw callError(operation, 'SUCCESS without success_time');
  if (refund.amount.currency !== CURRENCY) throw callError(operation, `currency ${refund.amount.currency}, expected ${CURRENCY}`);
  return { status: 'succeeded', providerRefundId, amount: refund.amount.refund, succeededAt: toIsoUtc(refund.success_time), providerStatus: status };
}

/**
 * A 4xx with WeChat's error code is a definite refusal: nothing was refunded under that number
 * (PARAM_ERROR, INVALID_REQUEST such as an amount over the refundable one or the same
 * out_refund_no with other amounts, NOT_ENOUGH, USER_ACCOUNT_ABNORMAL, RESOURCE_NOT_EXISTS,
 * SIGN_ERROR...). 429 FREQUENCY_LIMITED is not a refusal: asked again later, it may pass.
 */
function refusalOf(answer: VerifiedAnswer): ProviderRefundState | undefined {
  if (answer.status < 400 || answer.status >= 500 || answer.status === 429 || !answer.errorCode) return undefined;
  const message = parseJson(answer.body, ErrorResponseSchema)?.message;
  return { status: 'failed', providerStatus: answer.errorCode, reason: `${answer.errorCode}${message ? `: ${message}` : ''}` };
}

function refundRequestBody({ refundId, paymentId, amount, paymentAmount, reason, notifyUrl }: RefundRequest): WechatRefundRequest {
  return {
    out_trade_no: paymentId,
    out_refund_no: refundId,
    ...(reason ? { reason: [...reason].slice(0, REFUND_REASON_MAX_CHARACTERS).join('') } : {}),
    notify_url: notifyUrl,
    amount: { refund: assertFen(amount), total: assertFen(paymentAmount), currency: CURRENCY },
  };
}

// Bills ------------------------------------------------------------------------------------------

/** The tradebill answer: where the day's file is (for 5 minutes) and the SHA1 of its content. */
const TradeBillSchema = z.object({ hash_type: z.string().check(z.minLength(1)), hash_value: z.string().check(z.minLength(1)), download_url: z.url() });

/** `tradebill` error codes that are answers, not failures. */
const BILL_NOT_FETCHED: Readonly<Record<string, Exclude<BillFetch['status'], 'ready'>>> = {
  STATEMENT_CREATING: 'not_ready',
  NO_STATEMENT_EXIST: 'no_trades',
};

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * The part of download_url that is signed: what follows `apiBase` (path from `/v3` and query), as
 * for every other call. A download_url elsewhere is refused: our signed request goes nowhere
 * but WeChat's API.
 */
function signedDownloadPath(config: WechatConfig, downloadUrl: string): string {
  const base = apiBaseOf(config);
  if (!downloadUrl.startsWith(`${base}/`)) throw callError('fetchBill', `download_url is not under the configured apiBase ${base}`, false);
  return downloadUrl.slice(base.length);
}

/**
 * The day's ALL bill: ask where it is (signed answer), download it (a signed GET; the file is not
 * signed), check its SHA1 against the signed hash_value, then read it. A failed download or a
 * hash that does not match is retryable: asking again gets a new URL and a new copy.
 */
async function fetchBill(config: WechatConfig, keys: WechatKeys, sender: ProviderSender, date: BusinessDate, now: Date): Promise<BillFetch> {
  if (!isBusinessDate(date)) throw callError('fetchBill', `not a date: ${JSON.stringify(date)}`, false);
  const path = `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL`;
  const answer = await send(config, keys, sender, 'fetchBill', { method: 'GET', path, body: '', now });
  const notFetched = answer.status === 400 && answer.errorCode ? BILL_NOT_FETCHED[answer.errorCode] : undefined;
  if (notFetched) return { status: notFetched, providerStatus: answer.errorCode ?? '' };
  if (answer.status !== 200) throw unexpectedAnswer('fetchBill', answer);
  const bill = parseJson(answer.body, TradeBillSchema);
  if (!bill) throw callError('fetchBill', 'answer has no hash_type, hash_value and download_url', false);
  if (bill.hash_type !== 'SHA1') throw callError('fetchBill', `hash_type ${bill.hash_type}, expected SHA1`, false);

  const file = await send(config, keys, sender, 'fetchBill', {
    method: 'GET',
    path: signedDownloadPath(config, bill.download_url),
    body: '',
    now,
    fileDownload: true,
  });
  if (file.status !== 200 || !file.bytes) throw callError('fetchBill', `download: ${describeAnswer(file)}`);
  // We never ask for tar_type=GZIP; a compressed file would need inflating before its hash is checked.
  if (file.bytes.subarray(0, 2).equals(GZIP_MAGIC)) throw callError('fetchBill', 'the bill file is gzip-compressed, which is not supported', false);
  const sha1 = createHash('sha1').update(file.bytes).digest('hex');
  if (sha1 !== bill.hash_value.toLowerCase()) throw callError('fetchBill', `the file's SHA1 ${sha1} is not hash_value ${bill.hash_value}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    throw new BillFormatError('the bill file is not UTF-8');
  }
  return { status: 'ready', bill: parseWechatBill(text, date) };
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

function jsonReply(statusCode: number, body: unknown): ProviderReply {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export interface WechatProviderOptions {
  config: WechatConfig;
  fetch: FetchLike;
  http?: ProviderHttpConfig;
}

export function createWechatProvider({ config, fetch, http = DEFAULT_PROVIDER_HTTP }: WechatProviderOptions): PaymentProvider {
  const keys = loadKeys(config);
  const sender = providerSender('wechat', fetch, http);
  const orderPath = (paymentId: string) => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentId)}`;

  return {
    name: 'wechat',

    async createPayUrl({ payment, notifyUrl, now }: PayUrlRequest) {
      const order: WechatNativeOrderRequest = {
        appid: config.appid,
        mchid: config.mchid,
        description: payment.description,
        out_trade_no: payment.paymentId,
        notify_url: notifyUrl,
        amount: { total: assertFen(payment.amount), currency: CURRENCY },
        time_expire: toBeijingRfc3339(payment.expiresAt),
      };
      const answer = await send(config, keys, sender, 'createPayUrl', {
        method: 'POST',
        path: '/v3/pay/transactions/native',
        body: JSON.stringify(order),
        now,
      });
      if (answer.status !== 200) throw unexpectedAnswer('createPayUrl', answer);
      const created = parseJson(answer.body, NativeOrderResponseSchema);
      if (!created) throw callError('createPayUrl', 'answer has no code_url', false);
      return { payUrl: created.code_url };
    },

    verifyCallback: (callback, now) => verifyWechatCallback(config, keys.platformKeys, callback.headers, callback.body, now),

    acknowledge: () => ({ statusCode: 204, headers: {}, body: '' }),

    reject: (message, retryable) => jsonReply(retryable ? 500 : 400, { code: 'FAIL', message }),

    async queryPayment(paymentId, now) {
      const path = `${orderPath(paymentId)}?mchid=${encodeURIComponent(config.mchid)}`;
      const answer = await send(config, keys, sender, 'queryPayment', { method: 'GET', path, body: '', now });
      if (answer.status === 404 && answer.errorCode === 'ORDER_NOT_EXIST') return { status: 'not_found', providerStatus: 'ORDER_NOT_EXIST' };
      if (answer.status !== 200) throw unexpectedAnswer('queryPayment', answer);
      const transaction = parseJson(answer.body, WechatTransactionSchema);
      if (!transaction) throw callError('queryPayment', 'answer is not a WeChat transaction', false);
      checkQueriedTransaction(config, paymentId, transaction);
      return paymentStateOf(transaction);
    },

    async closePayment(paymentId, now) {
      const body = JSON.stringify({ mchid: config.mchid });
      const answer = await send(config, keys, sender, 'closePayment', { method: 'POST', path: `${orderPath(paymentId)}/close`, body, now });
      if (answer.status !== 204) throw unexpectedAnswer('closePayment', answer);
    },

    // A 200 means accepted, not done: its status is usually PROCESSING, settled by a REFUND.*
    // notification or a query. The same out_refund_no again answers that refund's current state.
    async refund(request) {
      const body = JSON.stringify(refundRequestBody(request));
      const answer = await send(config, keys, sender, 'refund', { method: 'POST', path: '/v3/refund/domestic/refunds', body, now: request.now });
      if (answer.status === 200) return refundStateOf('refund', answer.body, request);
      const refusal = refusalOf(answer);
      if (refusal) return refusal;
      // Anything else (5xx, 429, an unexpected status) leaves the outcome unknown.
      throw callError('refund', describeAnswer(answer));
    },

    async queryRefund({ refundId, paymentId, now }) {
      const path = `/v3/refund/domestic/refunds/${encodeURIComponent(refundId)}`;
      const answer = await send(config, keys, sender, 'queryRefund', { method: 'GET', path, body: '', now });
      if (answer.status === 404 && answer.errorCode === 'RESOURCE_NOT_EXISTS') return { status: 'not_found', providerStatus: 'RESOURCE_NOT_EXISTS' };
      if (answer.status === 200) return refundStateOf('queryRefund', answer.body, { refundId, paymentId });
      throw callError('queryRefund', describeAnswer(answer));
    },
    fetchBill: ({ date, now }) => fetchBill(config, keys, sender, date, now),
  };
}
