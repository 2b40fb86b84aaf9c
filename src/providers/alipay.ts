import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import type { BusinessDate } from '../domain/bill';
import { CURRENCY, fenToYuan, yuanToFen, type Fen } from '../domain/money';
import type { NotificationOutcome, RefundNotification } from '../domain/notification';
import type { AlipayConfig } from './config';
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

/**
 * Alipay OpenAPI gateway, RSA2 (docs/PROVIDERS.md#alipay), from the merchant's side.
 *
 * Everything is a flat set of string parameters signed with RSA-SHA256 over the sorted
 * `key=value&...` of the raw (decoded) values:
 * - our requests (pay URL, query, close) are signed with the app private key over every
 *   parameter but `sign`;
 * - Alipay's notifications are signed with Alipay's key over every parameter but `sign` and
 *   `sign_type` (the official SDKs also accept the variant that keeps `sign_type`: so do we);
 * - Alipay's JSON answers are signed over the exact text of the `<method>_response` node.
 * Times on the wire are "yyyy-MM-dd HH:mm:ss" in GMT+8; amounts are yuan strings with two decimals.
 */

const PROVIDER = 'alipay';
export const ALIPAY_FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded;charset=utf-8';

// ---------------------------------------------------------------------------------------------
// Wire types and status mapping
// ---------------------------------------------------------------------------------------------

export const ALIPAY_TRADE_STATUSES = ['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED'] as const;
export type AlipayTradeStatus = (typeof ALIPAY_TRADE_STATUSES)[number];

/** Every trade_status: what a notification of it asserts, and what a query answer of it means. */
export const ALIPAY_TRADE_STATUS_MAPPING: Readonly<
  Record<AlipayTradeStatus, { outcome: NotificationOutcome | undefined; state: 'pending' | 'paid' | 'closed' }>
> = {
  // Trade created, buyer has not paid yet; Alipay does not notify it by default.
  WAIT_BUYER_PAY: { outcome: undefined, state: 'pending' },
  TRADE_SUCCESS: { outcome: 'succeeded', state: 'paid' },
  // Paid and past the refund period.
  TRADE_FINISHED: { outcome: 'succeeded', state: 'paid' },
  // Closed unpaid (timeout or close call), or fully refunded. A notification of a full refund
  // carries refund fields and is read as a refund (isRefundNotice); a query cannot tell the two
  // apart, but the caller's state machine does (a succeeded payment cannot become cancelled).
  TRADE_CLOSED: { outcome: 'cancelled', state: 'closed' },
};

export type AlipayMethod =
  | 'alipay.trade.page.pay'
  | 'alipay.trade.wap.pay'
  | 'alipay.trade.query'
  | 'alipay.trade.close'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query'
  | 'alipay.data.dataservice.bill.downloadurl.query';

/** Common request parameters; `sign` signs all the others. */
export interface AlipayRequestParams {
  app_id: string;
  method: AlipayMethod;
  format: 'JSON';
  charset: 'utf-8';
  sign_type: 'RSA2';
  timestamp: string;
  version: '1.0';
  notify_url?: string;
  return_url?: string;
  /** JSON text of the method's business parameters. */
  biz_content: string;
}

/** biz_content of alipay.trade.page.pay / alipay.trade.wap.pay. */
export interface AlipayPayBizContent {
  out_trade_no: string;
  total_amount: string;
  subject: string;
  product_code: 'FAST_INSTANT_TRADE_PAY' | 'QUICK_WAP_WAY';
  time_expire: string;
}

/** biz_content of alipay.trade.query / alipay.trade.close. */
export interface AlipayTradeRef {
  out_trade_no: string;
}

/** biz_content of alipay.trade.refund. */
export interface AlipayRefundBizContent {
  out_trade_no: string;
  /** Yuan, two decimals: this refund's amount. */
  refund_amount: string;
  /** Our refund id: one per refund, reused on every retry (a new one is a second refund). */
  out_request_no: string;
  refund_reason?: string;
}

/** biz_content of alipay.trade.fastpay.refund.query; gmt_refund_pay is only answered when asked for. */
export interface AlipayRefundQueryBizContent {
  out_trade_no: string;
  out_request_no: string;
  query_options: ['gmt_refund_pay'];
}

/** biz_content of alipay.data.dataservice.bill.downloadurl.query: `trade` is the bill of the merchant's trades and refunds. */
export interface AlipayBillUrlQueryBizContent {
  bill_type: 'trade';
  /** yyyy-MM-dd, a Beijing day. */
  bill_date: BusinessDate;
}

type AlipayBizContent = AlipayPayBizContent | AlipayTradeRef | AlipayRefundBizContent | AlipayRefundQueryBizContent | AlipayBillUrlQueryBizContent;

const present = z.string().check(z.minLength(1));

/** The asynchronous notification (form fields). trade_status stays a plain string so an unknown
 * word is reported as such. */
export const AlipayNotificationSchema = z.object({
  notify_time: present,
  notify_type: z.optional(z.string()),
  notify_id: present,
  app_id: present,
  charset: z.optional(z.string()),
  version: z.optional(z.string()),
  sign_type: z.literal('RSA2'),
  sign: present,
  trade_no: present,
  out_trade_no: present,
  trade_status: present,
  total_amount: present,
  receipt_amount: z.optional(z.string()),
  buyer_pay_amount: z.optional(z.string()),
  gmt_create: z.optional(z.string()),
  gmt_payment: z.optional(z.string()),
  gmt_close: z.optional(z.string()),
  seller_id: z.optional(z.string()),
  subject: z.optional(z.string()),
  /** Refund fields, on the notification Alipay sends after a refund: out_biz_no is the refund's
   * out_request_no, refund_fee the CUMULATIVE amount refunded on the trade (yuan). */
  out_biz_no: z.optional(z.string()),
  refund_fee: z.optional(z.string()),
  gmt_refund: z.optional(z.string()),
});
export type AlipayNotification = z.infer<typeof AlipayNotificationSchema>;

export const ALIPAY_CODE_SUCCESS = '10000';
export const ALIPAY_CODE_INVALID_ARGUMENTS = '40002';
export const ALIPAY_CODE_BUSINESS_FAILED = '40004';

/** Fields every answer node carries. */
const ResponseNodeSchema = z.object({
  code: z.string(),
  msg: z.optional(z.string()),
  sub_code: z.optional(z.string()),
  sub_msg: z.optional(z.string()),
});
export type AlipayResponseNode = z.infer<typeof ResponseNodeSchema>;

export const AlipayTradeQueryResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  trade_status: z.optional(z.string()),
  total_amount: z.optional(z.string()),
  buyer_pay_amount: z.optional(z.string()),
  send_pay_date: z.optional(z.string()),
});
export type AlipayTradeQueryResponse = z.infer<typeof AlipayTradeQueryResponseSchema>;

export const AlipayTradeCloseResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
});
export type AlipayTradeCloseResponse = z.infer<typeof AlipayTradeCloseResponseSchema>;

export const AlipayTradeRefundResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  buyer_logon_id: z.optional(z.string()),
  /** Y: this call moved money; N (or absent): it did not, e.g. a retry of a finished refund. */
  fund_change: z.optional(z.string()),
  /** CUMULATIVE refunded on the trade, never this refund's amount. */
  refund_fee: z.optional(z.string()),
  gmt_refund_pay: z.optional(z.string()),
});
export type AlipayTradeRefundResponse = z.infer<typeof AlipayTradeRefundResponseSchema>;

export const AlipayRefundQueryResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  out_request_no: z.optional(z.string()),
  total_amount: z.optional(z.string()),
  /** This refund's amount (yuan). */
  refund_amount: z.optional(z.string()),
  /** REFUND_SUCCESS when done; absent while not done, and for a number Alipay never received. */
  refund_status: z.optional(z.string()),
  gmt_refund_pay: z.optional(z.string()),
});
export type AlipayRefundQueryResponse = z.infer<typeof AlipayRefundQueryResponseSchema>;

export const ALIPAY_REFUND_SUCCESS = 'REFUND_SUCCESS';

export const AlipayBillUrlQueryResponseSchema = z.extend(ResponseNodeSchema, {
  /** Where the day's bill ZIP can be fetched with a plain GET, for 30 seconds. */
  bill_download_url: z.optional(z.string()),
});
export type AlipayBillUrlQueryResponse = z.infer<typeof AlipayBillUrlQueryResponseSchema>;

/** The bill-URL query's "no bill for that day": not published yet, or no trades; Alipay does not say which. */
export const ALIPAY_BILL_NOT_EXIST = 'isp.bill_not_exist';

/** Gateway codes that refuse a request outright: missing or invalid arguments, business refusal, no permission. */
const REFUSAL_CODES: ReadonlySet<string> = new Set(['40001', ALIPAY_CODE_INVALID_ARGUMENTS, ALIPAY_CODE_BUSINESS_FAILED, '40006']);
/** Business-failed answers that are not refusals: Alipay's "system error, call again with the same
 * parameters" (it spells it both ways). */
const SYSTEM_ERROR_SUB_CODES: ReadonlySet<string> = new Set(['ACQ.SYSTEM_ERROR', 'AQC.SYSTEM_ERROR']);

/** The JSON member holding a method's answer: alipay.trade.query → alipay_trade_query_response. */
export function alipayResponseNodeName(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

function isTradeStatus(status: string): status is AlipayTradeStatus {
  return (ALIPAY_TRADE_STATUSES as readonly string[]).includes(status);
}

// ---------------------------------------------------------------------------------------------
// Times and amounts
// ---------------------------------------------------------------------------------------------

const GMT8_OFFSET_MS = 8 * 60 * 60 * 1000;
const ALIPAY_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** "yyyy-MM-dd HH:mm:ss" in GMT+8 (Beijing time, no daylight saving). */
export function toAlipayTime(instant: Date): string {
  return new Date(instant.getTime() + GMT8_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** "yyyy-MM-dd HH:mm:ss" GMT+8 → ISO UTC; undefined unless it is a real calendar time. */
export function fromAlipayTime(text: string): string | undefined {
  if (!ALIPAY_TIME.test(text)) return undefined;
  const instant = new Date(`${text.replace(' ', 'T')}+08:00`);
  // Date rolls impossible dates over (02-30 → 03-01); the round trip refuses them.
  if (Number.isNaN(instant.getTime()) || toAlipayTime(instant) !== text) return undefined;
  return instant.toISOString();
}

function yuanToFenOrUndefined(yuan: string): Fen | undefined {
  try {
    return yuanToFen(yuan);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

/**
 * The signed string: sorted `key=value` joined by `&`, raw (decoded) values, leaving out the
 * `excluded` keys and empty values (the official SDKs skip empty values). Keys are ASCII, so the
 * code-unit sort the SDKs use is byte order.
 */
export function alipaySignContent(params: Readonly<Record<string, string | undefined>>, excluded: readonly string[]): string {
  return Object.keys(params)
    .filter((key) => !excluded.includes(key) && params[key])
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/** Base64 that decodes to the same text it re-encodes to: a signature has exactly one spelling. */
function strictBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text ? bytes : undefined;
}

function rsa2Sign(content: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(content, 'utf8'), privateKey).toString('base64');
}

function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  const bytes = strictBase64(signature);
  return bytes !== undefined && verify('sha256', Buffer.from(content, 'utf8'), publicKey, bytes);
}

/** Verifies a notification's `sign`: the documented string (without sign_type), then the
 * SDK-accepted variant that keeps sign_type. */
function notificationSigned(params: Readonly<Record<string, string>>, alipayPublicKey: KeyObject): boolean {
  const signature = params.sign ?? '';
  return (
    rsa2Verify(alipaySignContent(params, ['sign', 'sign_type']), signature, alipayPublicKey) ||
    rsa2Verify(alipaySignContent(params, ['sign']), signature, alipayPublicKey)
  );
}

/** Form fields as a record, or undefined when a key repeats (which copy would be the signed one?). */
export function parseAlipayForm(text: string): Record<string, string> | undefined {
  // No prototype, so a field named __proto__ is kept as data (and so covered by the signature).
  const params = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, key)) return undefined;
    params[key] = value;
  }
  return params;
}

/** `key=value&...` with every key and value percent-encoded (UTF-8), undefined values left out. */
function encodeParams(params: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
}

// ---------------------------------------------------------------------------------------------
// Signed JSON answers
// ---------------------------------------------------------------------------------------------

/** Index just past the string literal opening at `start`. */
function stringEnd(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i + 1;
  }
  return json.length;
}

/** Index just past the object or array opening at `start`. */
function containerEnd(json: string, start: number): number {
  let depth = 0;
  for (let i = start; i < json.length; i++) {
    const char = json[i];
    if (char === '"') i = stringEnd(json, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return json.length;
}

/**
 * The exact text of a top-level member's object value in a valid JSON document. Alipay signs
 * those bytes as sent, so the node is cut out of the body, never re-serialised.
 */
function topLevelObjectText(json: string, name: string): string | undefined {
  const colon = /\s*:\s*/y;
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '"') {
      const end = stringEnd(json, i);
      colon.lastIndex = end;
      const afterKey = depth === 1 ? colon.exec(json) : null;
      if (afterKey && JSON.parse(json.slice(i, end)) === name) {
        const valueStart = end + afterKey[0].length;
        return json[valueStart] === '{' ? json.slice(valueStart, containerEnd(json, valueStart)) : undefined;
      }
      i = end - 1;
    } else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') depth--;
  }
  return undefined;
}

/** The `nodeName` member of Alipay's answer, only if `sign` verifies over its exact text. */
function signedNode(body: string, nodeName: string, alipayPublicKey: KeyObject): unknown {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof document !== 'object' || document === null || !('sign' in document) || typeof document.sign !== 'string') return undefined;
  const nodeText = topLevelObjectText(body, nodeName);
  if (nodeText === undefined || !rsa2Verify(nodeText, document.sign, alipayPublicKey)) return undefined;
  return JSON.parse(nodeText);
}

// ---------------------------------------------------------------------------------------------
// Callback verification
// ---------------------------------------------------------------------------------------------

interface Merchant {
  config: AlipayConfig;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  send: ProviderSender;
}

function refuse(reason: RejectionReason, detail: string): CallbackVerification {
  return { ok: false, reason, detail };
}

/**
 * Order of checks: form syntax, `sign` present and RSA2 (anything else is not the format we
 * configured: 'malformed'), signature, then the fields, merchant ids and status. Fields are read
 * only once they are known to come from Alipay.
 */
function verifyNotification(merchant: Merchant, body: unknown): CallbackVerification {
  if (!Buffer.isBuffer(body)) return refuse('malformed', 'body is not raw bytes');
  const params = parseAlipayForm(body.toString('utf8'));
  if (!params) return refuse('malformed', 'a form field appears more than once');
  if (!params.sign) return refuse('malformed', 'sign is missing');
  if (params.sign_type !== 'RSA2') return refuse('malformed', 'sign_type is not RSA2');
  if (!notificationSigned(params, merchant.alipayPublicKey)) return refuse('bad_signature', 'sign does not verify with the Alipay public key');

  const parsed = AlipayNotificationSchema.safeParse(params);
  if (!parsed.success) return refuse('malformed', `missing or invalid ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  const notification = parsed.data;
  const { appId, sellerId } = merchant.config;
  if (notification.app_id !== appId) return refuse('merchant_mismatch', 'app_id is not ours');
  if (sellerId !== undefined && notification.seller_id !== sellerId) return refuse('merchant_mismatch', 'seller_id is not ours');

  const status = notification.trade_status;
  if (!isTradeStatus(status)) return refuse('malformed', `unknown trade_status ${status}`);
  if (isRefundNotice(notification)) return refundNotification(notification);
  const { outcome } = ALIPAY_TRADE_STATUS_MAPPING[status];
  if (!outcome) return refuse('unsupported_event', `trade_status ${status} has no payment outcome`);
  const amount = yuanToFenOrUndefined(notification.total_amount);
  if (amount === undefined) return refuse('malformed', 'total_amount is not yuan with at most two decimals');
  // The event time: payment or close time, else when Alipay sent the notification.
  const occurredAt = fromAlipayTime(notification.gmt_payment || notification.gmt_close || notification.notify_time);
  if (!occurredAt) return refuse('malformed', 'gmt_payment / gmt_close / notify_time is not yyyy-MM-dd HH:mm:ss');

  return {
    ok: true,
    notification: {
      provider: PROVIDER,
      eventId: notification.notify_id,
      paymentId: notification.out_trade_no,
      providerTransactionId: notification.trade_no,
      outcome,
      amount,
      currency: CURRENCY,
      occurredAt,
      providerStatus: status,
      via: 'callback',
    },
  };
}

/**
 * Alipay has no refund notification of its own: after a refund it sends the ordinary
 * trade_status_sync, with refund_fee > 0 (and out_biz_no, gmt_refund), trade_status TRADE_SUCCESS
 * after a partial refund or TRADE_CLOSED after a full one. That is a refund, never a closed or a
 * second payment. (A TRADE_FINISHED, sent when the refund period ends, may repeat earlier refund
 * fields but announces no refund: it stays a payment notification.)
 */
function isRefundNotice(notification: AlipayNotification): boolean {
  const { refund_fee: refundFee, trade_status: status } = notification;
  if (!refundFee || (status !== 'TRADE_SUCCESS' && status !== 'TRADE_CLOSED')) return false;
  // An unreadable refund_fee is a malformed refund notification, not a payment one.
  return yuanToFenOrUndefined(refundFee) !== 0;
}

/**
 * The notification names the refund (out_biz_no, when we made it) and the trade's CUMULATIVE
 * refunded amount, not this refund's: `amount` is 0 (unknown) and `refundedTotal` carries
 * refund_fee, from which the core derives this refund's amount (see RefundNotification).
 */
function refundNotification(notification: AlipayNotification): CallbackVerification {
  const refundedTotal = yuanToFenOrUndefined(notification.refund_fee ?? '');
  const paymentAmount = yuanToFenOrUndefined(notification.total_amount);
  if (refundedTotal === undefined || paymentAmount === undefined)
    return refuse('malformed', 'refund_fee or total_amount is not yuan with at most two decimals');
  if (refundedTotal > paymentAmount) return refuse('malformed', 'refund_fee is more than total_amount');
  const occurredAt = fromAlipayTime(notification.gmt_refund || notification.notify_time);
  if (!occurredAt) return refuse('malformed', 'gmt_refund / notify_time is not yyyy-MM-dd HH:mm:ss');

  const refund: RefundNotification = {
    type: 'refund',
    provider: PROVIDER,
    eventId: notification.notify_id,
    ...(notification.out_biz_no ? { refundId: notification.out_biz_no } : {}),
    paymentId: notification.out_trade_no,
    providerTransactionId: notification.trade_no,
    outcome: 'succeeded',
    amount: 0,
    paymentAmount,
    refundedTotal,
    currency: CURRENCY,
    occurredAt,
    providerStatus: notification.trade_status,
    via: 'callback',
  };
  return { ok: true, notification: refund };
}

// ---------------------------------------------------------------------------------------------
// Outbound requests
// ---------------------------------------------------------------------------------------------

type SignedParams = AlipayRequestParams & { sign: string };

function signedRequest(
  merchant: Merchant,
  method: AlipayMethod,
  bizContent: AlipayBizContent,
  now: Date,
  urls: Pick<AlipayRequestParams, 'notify_url' | 'return_url'> = {},
): SignedParams {
  const params: AlipayRequestParams = {
    app_id: merchant.config.appId,
    method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: toAlipayTime(now),
    version: '1.0',
    ...urls,
    biz_content: JSON.stringify(bizContent),
  };
  return { ...params, sign: rsa2Sign(alipaySignContent({ ...params }, ['sign']), merchant.privateKey) };
}

/** Built locally: Alipay creates the trade only when the buyer opens the page and logs in or scans. */
function buildPayUrl(merchant: Merchant, { payment, notifyUrl, returnUrl, channel, now }: PayUrlRequest): string {
  const wap = channel === 'wap';
  const bizContent: AlipayPayBizContent = {
    out_trade_no: payment.paymentId,
    total_amount: fenToYuan(payment.amount),
    subject: payment.description,
    product_code: wap ? 'QUICK_WAP_WAY' : 'FAST_INSTANT_TRADE_PAY',
    time_expire: toAlipayTime(new Date(payment.expiresAt)),
  };
  const method = wap ? 'alipay.trade.wap.pay' : 'alipay.trade.page.pay';
  const params = signedRequest(merchant, method, bizContent, now, { notify_url: notifyUrl, return_url: returnUrl });
  return `${merchant.config.gateway}?${encodeParams({ ...params })}`;
}

/** POSTs a signed request (retried and timed out by the sender) and returns the verified answer node. */
async function callGateway<T extends AlipayResponseNode>(
  merchant: Merchant,
  method: AlipayMethod,
  schema: z.ZodMiniType<T>,
  bizContent: AlipayBizContent,
  now: Date,
  operation: string,
): Promise<T> {
  const response = await merchant.send(operation, () => ({
    url: merchant.config.gateway,
    method: 'POST',
    headers: { 'content-type': ALIPAY_FORM_CONTENT_TYPE },
    body: encodeParams({ ...signedRequest(merchant, method, bizContent, now) }),
  }));
  // Alipay answers everything with 200: after anything else a refund's outcome is unknown, so worth asking again.
  const retryable = isRetryableStatus(response.status) || operation === 'refund' || operation === 'queryRefund';
  if (response.status !== 200) throw new ProviderCallError(PROVIDER, operation, `gateway answered HTTP ${response.status}`, retryable);
  const nodeName = alipayResponseNodeName(method);
  const node = schema.safeParse(signedNode(response.body, nodeName, merchant.alipayPublicKey));
  if (!node.success) throw new ProviderCallError(PROVIDER, operation, `answer has no ${nodeName} signed by Alipay`);
  return node.data;
}

function describeFailure(node: AlipayResponseNode): string {
  return `code ${node.code}${node.sub_code ? ` ${node.sub_code}` : ''}`;
}

function isTradeNotExist(node: AlipayResponseNode): boolean {
  return node.code === ALIPAY_CODE_BUSINESS_FAILED && node.sub_code === 'ACQ.TRADE_NOT_EXIST';
}

function tradeState(node: AlipayTradeQueryResponse, paymentId: string): ProviderPaymentState {
  const fail = (message: string) => new ProviderCallError(PROVIDER, 'queryPayment', message);
  if (node.out_trade_no !== paymentId) throw fail('answer is about another out_trade_no');
  const status = node.trade_status ?? '';
  if (!isTradeStatus(status)) throw fail(`unknown trade_status ${status}`);
  const { state } = ALIPAY_TRADE_STATUS_MAPPING[status];
  if (state !== 'paid') return { status: state, providerStatus: status };

  const amount = yuanToFenOrUndefined(node.total_amount ?? '');
  const paidAt = fromAlipayTime(node.send_pay_date ?? '');
  if (!node.trade_no || amount === undefined || !paidAt) throw fail('paid trade lacks a valid trade_no, total_amount or send_pay_date');
  return { status: 'paid', providerTransactionId: node.trade_no, amount, currency: CURRENCY, paidAt, providerStatus: status };
}

async function queryTrade(merchant: Merchant, paymentId: string, now: Date): Promise<ProviderPaymentState> {
  const node = await callGateway(merchant, 'alipay.trade.query', AlipayTradeQueryResponseSchema, { out_trade_no: paymentId }, now, 'queryPayment');
  if (node.code === ALIPAY_CODE_SUCCESS) return tradeState(node, paymentId);
  if (isTradeNotExist(node)) return { status: 'not_found', providerStatus: 'ACQ.TRADE_NOT_EXIST' };
  throw new ProviderCallError(PROVIDER, 'queryPayment', describeFailure(node));
}

async function closeTrade(merchant: Merchant, paymentId: string, now: Date): Promise<void> {
  const node = await callGateway(merchant, 'alipay.trade.close', AlipayTradeCloseResponseSchema, { out_trade_no: paymentId }, now, 'closePayment');
  // Alipay creates the trade only when the buyer opens the pay page and logs in or scans: no
  // trade means nothing can be paid, which is what closing is for.
  if (node.code === ALIPAY_CODE_SUCCESS || isTradeNotExist(node)) return;
  if (node.sub_code === 'ACQ.TRADE_STATUS_ERROR') {
    throw new ProviderCallError(PROVIDER, 'closePayment', 'ACQ.TRADE_STATUS_ERROR: trade is already paid or closed', false);
  }
  throw new ProviderCallError(PROVIDER, 'closePayment', describeFailure(node));
}

// Refunds: every error is retryable (the outcome is unknown; the same out_request_no is safe to
// send again or to query), and only a refusal code from the gateway is `failed`.

function refusalOf(node: AlipayResponseNode): ProviderRefundState | undefined {
  if (!REFUSAL_CODES.has(node.code) || SYSTEM_ERROR_SUB_CODES.has(node.sub_code ?? '')) return undefined;
  const providerStatus = node.sub_code ?? node.code;
  return { status: 'failed', providerStatus, reason: `${providerStatus}${node.sub_msg ? `: ${node.sub_msg}` : ''}` };
}

/**
 * Done only when code 10000 AND fund_change Y; then this refund's amount is the one we asked for
 * (refund_fee is the trade's cumulative refunded amount, never this refund's). 10000 with
 * fund_change N (or none) is not a failure: most often a retry of a refund already done, so the
 * refund is asked for by query. Alipay answers refunds synchronously, so there is no refund id.
 */
async function refundTrade(merchant: Merchant, request: RefundRequest): Promise<ProviderRefundState> {
  const bizContent: AlipayRefundBizContent = {
    out_trade_no: request.paymentId,
    refund_amount: fenToYuan(request.amount),
    out_request_no: request.refundId,
    ...(request.reason ? { refund_reason: request.reason } : {}),
  };
  const node = await callGateway(merchant, 'alipay.trade.refund', AlipayTradeRefundResponseSchema, bizContent, request.now, 'refund');
  const fail = (message: string) => new ProviderCallError(PROVIDER, 'refund', message);
  if (node.code !== ALIPAY_CODE_SUCCESS) {
    const refusal = refusalOf(node);
    if (refusal) return refusal;
    throw fail(describeFailure(node));
  }
  if (node.out_trade_no !== undefined && node.out_trade_no !== request.paymentId) throw fail('answer is about another out_trade_no');
  if (node.fund_change !== 'Y') return queryRefund(merchant, { ...request, operation: 'refund' });
  const refundedTotal = yuanToFenOrUndefined(node.refund_fee ?? '');
  if (refundedTotal === undefined || refundedTotal < request.amount) throw fail('fund_change Y with a refund_fee below this refund');
  return {
    status: 'succeeded',
    amount: request.amount,
    // gmt_refund_pay is documented for this answer; when missing, the answer's time stands in.
    succeededAt: fromAlipayTime(node.gmt_refund_pay ?? '') ?? request.now.toISOString(),
    providerStatus: 'fund_change=Y',
  };
}

/**
 * REFUND_SUCCESS is done (refund_amount is this refund's); no refund_status means not done yet,
 * and equally that Alipay never received the refund: sending it again with the same number tells.
 * `code` 10000 says only that the query worked (an unknown number answers it too).
 */
async function queryRefund(
  merchant: Merchant,
  { refundId, paymentId, now, operation = 'queryRefund' }: { refundId: string; paymentId: string; now: Date; operation?: 'refund' | 'queryRefund' },
): Promise<ProviderRefundState> {
  const bizContent: AlipayRefundQueryBizContent = { out_trade_no: paymentId, out_request_no: refundId, query_options: ['gmt_refund_pay'] };
  const node = await callGateway(merchant, 'alipay.trade.fastpay.refund.query', AlipayRefundQueryResponseSchema, bizContent, now, operation);
  const fail = (message: string) => new ProviderCallError(PROVIDER, operation, message);
  if (isTradeNotExist(node)) return { status: 'not_found', providerStatus: 'ACQ.TRADE_NOT_EXIST' };
  if (node.code !== ALIPAY_CODE_SUCCESS) throw fail(describeFailure(node));
  if ((node.out_trade_no ?? paymentId) !== paymentId || (node.out_request_no ?? refundId) !== refundId) throw fail('answer is about another refund');
  if (node.refund_status === undefined || node.refund_status === '') return { status: 'processing', providerStatus: 'refund_status absent' };
  if (node.refund_status !== ALIPAY_REFUND_SUCCESS) throw fail(`unknown refund_status ${node.refund_status}`);
  const amount = yuanToFenOrUndefined(node.refund_amount ?? '');
  if (amount === undefined) throw fail('REFUND_SUCCESS without a valid refund_amount');
  return { status: 'succeeded', amount, succeededAt: fromAlipayTime(node.gmt_refund_pay ?? '') ?? now.toISOString(), providerStatus: ALIPAY_REFUND_SUCCESS };
}

/**
 * The day's bill: the signed bill-URL query, then a plain GET of its bill_download_url (valid 30
 * seconds; the file itself is neither signed nor hashed, so its footer totals are its only check,
 * see alipay-bill.ts). isp.bill_not_exist is `not_ready`: Alipay answers it alike for a day not
 * published yet and a day without trades, so only the caller's cut-off can tell the two apart.
 */
async function fetchBill(merchant: Merchant, { date, now }: { date: BusinessDate; now: Date }): Promise<BillFetch> {
  const bizContent: AlipayBillUrlQueryBizContent = { bill_type: 'trade', bill_date: date };
  const method = 'alipay.data.dataservice.bill.downloadurl.query';
  const node = await callGateway(merchant, method, AlipayBillUrlQueryResponseSchema, bizContent, now, 'fetchBill');
  if (node.code === ALIPAY_CODE_BUSINESS_FAILED && node.sub_code === ALIPAY_BILL_NOT_EXIST)
    return { status: 'not_ready', providerStatus: ALIPAY_BILL_NOT_EXIST };
  if (node.code !== ALIPAY_CODE_SUCCESS) throw new ProviderCallError(PROVIDER, 'fetchBill', describeFailure(node));
  const url = node.bill_download_url;
  if (!url) throw new ProviderCallError(PROVIDER, 'fetchBill', 'answer has no bill_download_url');
  const download = await merchant.send('fetchBill', () => ({ url, method: 'GET', headers: {}, binary: true }));
  // An expired URL answers an error: asking again gets a fresh one.
  if (download.status !== 200 || !download.bytes) throw new ProviderCallError(PROVIDER, 'fetchBill', `bill download answered HTTP ${download.status}`);
  // Loaded on first use: only the daily reconciliation reads bills, and fflate builds its tables at load.
  const { alipayBillFromZip } = await import('./alipay-bill');
  return { status: 'ready', bill: alipayBillFromZip(download.bytes, date) };
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

function textReply(statusCode: number, body: string): ProviderReply {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

export interface AlipayProviderOptions {
  config: AlipayConfig;
  fetch: FetchLike;
  http?: ProviderHttpConfig;
}

/** Keys are parsed once, here, so a bad PEM fails at start-up rather than on the first callback. */
export function createAlipayProvider({ config, fetch, http = DEFAULT_PROVIDER_HTTP }: AlipayProviderOptions): PaymentProvider {
  const merchant: Merchant = {
    config,
    privateKey: createPrivateKey(config.privateKey),
    alipayPublicKey: createPublicKey(config.alipayPublicKey),
    send: providerSender(PROVIDER, fetch, http),
  };
  return {
    name: PROVIDER,
    createPayUrl: async (request) => ({ payUrl: buildPayUrl(merchant, request) }),
    // Alipay signs no timestamp worth a replay window: retries reuse notify_id, the dedupe key.
    verifyCallback: (callback) => verifyNotification(merchant, callback.body),
    acknowledge: () => textReply(200, 'success'),
    // Anything but `success` makes Alipay retry; the message is for our logs, never for Alipay.
    reject: (_message, retryable) => textReply(retryable ? 500 : 400, 'fail'),
    queryPayment: (paymentId, now) => queryTrade(merchant, paymentId, now),
    closePayment: (paymentId, now) => closeTrade(merchant, paymentId, now),
    refund: (request) => refundTrade(merchant, request),
    queryRefund: (request) => queryRefund(merchant, request),
    fetchBill: (request) => fetchBill(merchant, request),
  };
}
