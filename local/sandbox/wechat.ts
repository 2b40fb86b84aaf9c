import { createCipheriv, createHash, generateKeyPairSync, randomBytes, randomInt, randomUUID, sign, verify } from 'node:crypto';
import { businessDateOf, isBusinessDate } from '../../src/domain/bill';
import { CURRENCY, isFen } from '../../src/domain/money';
import type { WechatConfig } from '../../src/providers/config';
import {
  toBeijingRfc3339,
  type WechatCallbackEnvelope,
  type WechatRefundRequest,
  type WechatRefundStatus,
  type WechatTradeState,
} from '../../src/providers/wechat';
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
import { wechatBillFile, type WechatBillType } from './wechat-bill';

/**
 * WeChat Pay API v3, from WeChat's side. Signing, verification and encryption are written here
 * independently of the merchant module (src/providers/wechat.ts), so a mistake on either side
 * shows up in the tests instead of being shared by both.
 *
 * Serves: POST /v3/pay/transactions/native, GET /v3/pay/transactions/out-trade-no/{id}?mchid=,
 * POST /v3/pay/transactions/out-trade-no/{id}/close, POST /v3/refund/domestic/refunds and
 * GET /v3/refund/domestic/refunds/{out_refund_no}. The code_url it hands out is the sandbox
 * checkout page (store.checkoutUrl), where the payment is decided. A refund answers PROCESSING and
 * ends shortly after (SANDBOX_REFUND_OUTCOME: SUCCESS, CLOSED or ABNORMAL) with its REFUND.* notification.
 * GET /v3/bill/tradebill?bill_date=&bill_type= answers where the day's bill file is: GET
 * /v3/billdownload/file?token= (signed like every call, valid 5 minutes; the file is not signed).
 *
 * Local convenience (not real WeChat): besides TRANSACTION.SUCCESS it also pushes
 * TRANSACTION.PAYERROR and TRANSACTION.CLOSED callbacks, in the same envelope.
 */

/** What WeChat holds: its platform private key (and that key's serial), the merchant's public key. */
export interface WechatSandboxKeys {
  mchid: string;
  appid: string;
  apiV3Key: string;
  merchantSerial: string;
  merchantPublicKey: string;
  platformSerial: string;
  platformPrivateKey: string;
}

const SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
const WINDOW_SECONDS = 300;
const NATIVE_PATH = '/v3/pay/transactions/native';
const ORDER_PATH = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/;
const CLOSE_PATH = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/;
const REFUNDS_PATH = '/v3/refund/domestic/refunds';
const REFUND_PATH = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/;
/** WeChat's rule for out_refund_no: up to 64 of these characters. */
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
/** WeChat takes at most 50 refunds of one payment. */
const MAX_REFUNDS_PER_PAYMENT = 50;
/** WeChat's rule for out_trade_no: 6 to 32 of these characters. */
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

type DecidedState = Exclude<SandboxCheckout['state'], 'pending'>;

const TRADE_STATE: Readonly<Record<SandboxCheckout['state'], WechatTradeState>> = {
  pending: 'NOTPAY',
  paid: 'SUCCESS',
  failed: 'PAYERROR',
  closed: 'CLOSED',
};
const TRADE_STATE_DESC: Readonly<Record<SandboxCheckout['state'], string>> = {
  pending: '订单未支付',
  paid: '支付成功',
  failed: '支付失败',
  closed: '订单已关闭',
};

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

function randomAlphanumeric(length: number): string {
  return Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
}

/** A merchant key pair and a platform key pair; the merchant trusts the platform key by its id. */
export function generateWechatKeys(sandboxBaseUrl: string): { merchant: WechatConfig; sandbox: WechatSandboxKeys } {
  const merchantPair = rsaKeyPair();
  const platformPair = rsaKeyPair();
  const ids = {
    mchid: '1900000001',
    appid: 'wx8888888888888888',
    apiV3Key: randomAlphanumeric(32),
    merchantSerial: randomBytes(20).toString('hex').toUpperCase(),
  };
  const platformSerial = `PUB_KEY_ID_0113${randomBytes(14).toString('hex').toUpperCase()}`;
  return {
    merchant: {
      ...ids,
      merchantPrivateKey: merchantPair.privateKey,
      platformPublicKeys: { [platformSerial]: platformPair.publicKey },
      apiBase: sandboxBaseUrl,
    },
    sandbox: { ...ids, merchantPublicKey: merchantPair.publicKey, platformSerial, platformPrivateKey: platformPair.privateKey },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing (WeChat's side)
// ---------------------------------------------------------------------------------------------

/** The Wechatpay-* headers over `timestamp\nnonce\nbody\n`, signed with the platform key. */
function wechatpayHeaders(keys: WechatSandboxKeys, body: string, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = randomAlphanumeric(32);
  const signature = sign('sha256', Buffer.from(`${timestamp}\n${nonce}\n${body}\n`, 'utf8'), keys.platformPrivateKey).toString('base64');
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': keys.platformSerial,
    'Wechatpay-Signature-Type': SIGNATURE_TYPE,
    'Request-ID': randomUUID(),
  };
}

function answer(keys: WechatSandboxKeys, statusCode: number, payload: unknown, now: Date): SandboxResponse {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const contentType: Record<string, string> = body ? { 'Content-Type': 'application/json' } : {};
  return { statusCode, headers: { ...contentType, ...wechatpayHeaders(keys, body, now) }, body };
}

function error(keys: WechatSandboxKeys, statusCode: number, code: string, message: string, now: Date): SandboxResponse {
  return answer(keys, statusCode, { code, message }, now);
}

const AUTHORIZATION_FIELDS = ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'] as const;
type AuthorizationFields = Record<(typeof AUTHORIZATION_FIELDS)[number], string>;

/** `WECHATPAY2-SHA256-RSA2048 k="v",k="v",...` → its fields, or undefined when not that shape. */
function parseAuthorization(header: string | undefined): AuthorizationFields | undefined {
  const prefix = `${SIGNATURE_TYPE} `;
  if (!header?.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(prefix.length).split(',')) {
    const match = /^\s*(\w+)="([^"]*)"\s*$/.exec(part);
    if (!match?.[1] || match[2] === undefined || fields.has(match[1])) return undefined;
    fields.set(match[1], match[2]);
  }
  const entries = AUTHORIZATION_FIELDS.map((name) => [name, fields.get(name)] as const);
  if (entries.some(([, value]) => !value)) return undefined;
  return Object.fromEntries(entries) as AuthorizationFields;
}

/** Why the request's Authorization fails, or undefined when it verifies (as WeChat checks it). */
function authorizationProblem(keys: WechatSandboxKeys, request: SandboxRequest, now: Date): string | undefined {
  const auth = parseAuthorization(request.headers.authorization);
  if (!auth) return 'Authorization header is not WECHATPAY2-SHA256-RSA2048 with mchid, nonce_str, signature, timestamp, serial_no';
  if (auth.mchid !== keys.mchid) return 'mchid is not a known merchant';
  if (auth.serial_no !== keys.merchantSerial) return 'serial_no is not the merchant certificate serial';
  if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(Number(auth.timestamp) - Math.floor(now.getTime() / 1000)) > WINDOW_SECONDS) {
    return 'timestamp is outside the 5 minute window';
  }
  const query = request.query.toString();
  const url = `${request.path}${query ? `?${query}` : ''}`;
  const message = `${request.method}\n${url}\n${auth.timestamp}\n${auth.nonce_str}\n${request.body}\n`;
  const signature = Buffer.from(auth.signature, 'base64');
  return verify('sha256', Buffer.from(message, 'utf8'), keys.merchantPublicKey, signature) ? undefined : 'signature does not verify';
}

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------

/** Stable per payment (a WeChat-like 28-digit id), so queries and callbacks agree. */
function transactionIdOf(checkout: SandboxCheckout): string {
  if (checkout.transactionId) return checkout.transactionId;
  const digest = createHash('sha256').update(checkout.paymentId).digest();
  return `4200${Array.from(digest.subarray(0, 24), (byte) => byte % 10).join('')}`;
}

/**
 * The transaction resource: what a query answers and what a callback encrypts. A query names a
 * paid order with a refund REFUND ("转入退款"); the success callback keeps saying SUCCESS.
 */
function transactionOf(keys: WechatSandboxKeys, checkout: SandboxCheckout, now: Date, refunded = false): Record<string, unknown> {
  const paid = checkout.state === 'paid';
  return {
    appid: keys.appid,
    mchid: keys.mchid,
    out_trade_no: checkout.paymentId,
    ...(paid ? { transaction_id: transactionIdOf(checkout) } : {}),
    trade_type: 'NATIVE',
    trade_state: paid && refunded ? 'REFUND' : TRADE_STATE[checkout.state],
    trade_state_desc: paid && refunded ? '转入退款' : TRADE_STATE_DESC[checkout.state],
    ...(paid ? { bank_type: 'OTHERS', success_time: toBeijingRfc3339(checkout.paidAt ?? now), payer: { openid: 'sandbox-openid' } } : {}),
    amount: {
      total: checkout.amount,
      ...(paid ? { payer_total: checkout.amount } : {}),
      currency: CURRENCY,
      payer_currency: CURRENCY,
    },
  };
}

/** This provider's checkout for an out_trade_no (another provider's is none of WeChat's business). */
function wechatCheckout(store: CheckoutStore, paymentId: string): SandboxCheckout | undefined {
  const checkout = store.get(paymentId);
  return checkout?.provider === 'wechat' ? checkout : undefined;
}

interface NativeOrder {
  paymentId: string;
  amount: number;
  description: string;
  notifyUrl: string;
  expiresAt: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The order fields WeChat requires, or the first problem found (WeChat's PARAM_ERROR). */
function readNativeOrder(keys: WechatSandboxKeys, body: string, now: Date): NativeOrder | string {
  let order: unknown;
  try {
    order = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  if (!isRecord(order)) return 'body is not a JSON object';
  const { appid, mchid, description, out_trade_no: outTradeNo, notify_url: notifyUrl, amount, time_expire: timeExpire } = order;
  if (appid !== keys.appid || mchid !== keys.mchid) return 'appid and mchid do not match';
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo)) return 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]';
  if (typeof description !== 'string' || description.length === 0 || description.length > 127) return 'description must be 1-127 characters';
  if (typeof notifyUrl !== 'string' || !URL.canParse(notifyUrl)) return 'notify_url must be an absolute URL';
  if (!isRecord(amount) || !isFen(amount.total) || amount.total < 1) return 'amount.total must be a positive integer of fen';
  if (amount.currency !== undefined && amount.currency !== CURRENCY) return 'amount.currency must be CNY';
  if (timeExpire !== undefined && (typeof timeExpire !== 'string' || !RFC3339.test(timeExpire))) return 'time_expire must be RFC 3339';
  return {
    paymentId: outTradeNo,
    amount: amount.total,
    description,
    notifyUrl,
    // Without time_expire WeChat keeps a native order payable for 2 hours.
    expiresAt: new Date(timeExpire ?? now.getTime() + 2 * 60 * 60 * 1000).toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

function createNativeOrder(keys: WechatSandboxKeys, request: SandboxRequest, store: CheckoutStore, now: Date): SandboxResponse {
  const order = readNativeOrder(keys, request.body, now);
  if (typeof order === 'string') return error(keys, 400, 'PARAM_ERROR', order, now);
  const existing = store.get(order.paymentId);
  // The same order again (a retry) gets the same code_url; another order under that number does not.
  if (existing && (existing.provider !== 'wechat' || existing.amount !== order.amount)) {
    return error(keys, 400, 'OUT_TRADE_NO_USED', 'out_trade_no already used for another order', now);
  }
  if (existing?.state === 'paid') return error(keys, 400, 'ORDERPAID', 'order already paid', now);
  if (existing && existing.state !== 'pending') return error(keys, 400, 'ORDERCLOSED', 'order already closed', now);
  if (!existing) store.put({ provider: 'wechat', currency: CURRENCY, state: 'pending', ...order });
  return answer(keys, 200, { code_url: store.checkoutUrl(order.paymentId) }, now);
}

function queryOrder(keys: WechatSandboxKeys, request: SandboxRequest, paymentId: string, store: CheckoutStore, now: Date): SandboxResponse {
  if (request.query.get('mchid') !== keys.mchid) return error(keys, 400, 'PARAM_ERROR', 'mchid query parameter does not match', now);
  const checkout = wechatCheckout(store, paymentId);
  if (!checkout) return error(keys, 404, 'ORDER_NOT_EXIST', 'order does not exist', now);
  const refunded = store.refunds.list(paymentId).some((refund) => refund.state !== 'failed');
  return answer(keys, 200, transactionOf(keys, checkout, now, refunded), now);
}

function closeOrder(keys: WechatSandboxKeys, request: SandboxRequest, paymentId: string, store: CheckoutStore, now: Date): SandboxResponse {
  let mchid: unknown;
  try {
    mchid = (JSON.parse(request.body) as { mchid?: unknown }).mchid;
  } catch {
    return error(keys, 400, 'PARAM_ERROR', 'body is not JSON', now);
  }
  if (mchid !== keys.mchid) return error(keys, 400, 'PARAM_ERROR', 'mchid does not match', now);
  const checkout = wechatCheckout(store, paymentId);
  if (!checkout) return error(keys, 404, 'ORDER_NOT_EXIST', 'order does not exist', now);
  if (checkout.state === 'paid') return error(keys, 400, 'ORDERPAID', 'order already paid', now);
  if (checkout.state !== 'closed') store.put({ ...checkout, state: 'closed' });
  return answer(keys, 204, undefined, now);
}

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

const REFUND_STATUS: Readonly<Record<SandboxRefund['state'], WechatRefundStatus>> = {
  processing: 'PROCESSING',
  succeeded: 'SUCCESS',
  failed: 'CLOSED',
  abnormal: 'ABNORMAL',
};

/** The refund as the create and query calls answer it. */
function refundOf(checkout: SandboxCheckout, refund: SandboxRefund): Record<string, unknown> {
  return {
    refund_id: refund.key,
    out_refund_no: refund.refundId ?? refund.key,
    transaction_id: transactionIdOf(checkout),
    out_trade_no: checkout.paymentId,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(refund.state === 'succeeded' ? { success_time: toBeijingRfc3339(refund.settledAt ?? refund.createdAt) } : {}),
    create_time: toBeijingRfc3339(refund.createdAt),
    status: REFUND_STATUS[refund.state],
    funds_account: 'AVAILABLE',
    amount: {
      total: checkout.amount,
      refund: refund.amount,
      from: [],
      payer_total: checkout.amount,
      payer_refund: refund.amount,
      settlement_refund: refund.amount,
      settlement_total: checkout.amount,
      discount_refund: 0,
      currency: CURRENCY,
    },
    promotion_detail: [],
  };
}

/** The refund fields WeChat requires, or the first problem found (PARAM_ERROR). */
function readRefundRequest(body: string): WechatRefundRequest | string {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  if (!isRecord(request)) return 'body is not a JSON object';
  const { out_trade_no: outTradeNo, out_refund_no: outRefundNo, reason, notify_url: notifyUrl, amount } = request;
  // WeChat also takes transaction_id instead; the sandbox looks orders up by out_trade_no only.
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo)) return 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]';
  if (typeof outRefundNo !== 'string' || !OUT_REFUND_NO.test(outRefundNo)) return 'out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]';
  if (reason !== undefined && (typeof reason !== 'string' || [...reason].length > 80)) return 'reason must be at most 80 characters';
  if (notifyUrl !== undefined && (typeof notifyUrl !== 'string' || !URL.canParse(notifyUrl) || new URL(notifyUrl).search !== '')) {
    return 'notify_url must be an absolute URL without a query string';
  }
  if (!isRecord(amount) || !isFen(amount.refund) || amount.refund < 1 || !isFen(amount.total) || amount.currency !== CURRENCY) {
    return 'amount must be {refund ≥ 1, total, currency: CNY} in fen';
  }
  return {
    out_trade_no: outTradeNo,
    out_refund_no: outRefundNo,
    ...(reason ? { reason } : {}),
    notify_url: typeof notifyUrl === 'string' ? notifyUrl : '',
    amount: { refund: amount.refund, total: amount.total, currency: CURRENCY },
  };
}

const REFUSALS: Readonly<Record<RefundRefusal, [number, string, string]>> = {
  not_found: [404, 'RESOURCE_NOT_EXISTS', '订单不存在'],
  not_paid: [400, 'INVALID_REQUEST', '订单未支付，不能退款'],
  exceeds_refundable: [400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额'],
  number_reused: [400, 'INVALID_REQUEST', '同一退款单号的退款金额或订单号与之前请求不一致'],
};

interface RefundRules {
  /** Least time between two refunds of one payment (WeChat asks for a minute); 0 checks nothing. */
  refundSpacingMs: number;
}

function createRefund(keys: WechatSandboxKeys, request: SandboxRequest, store: CheckoutStore, now: Date, rules: RefundRules): SandboxResponse {
  const refundRequest = readRefundRequest(request.body);
  if (typeof refundRequest === 'string') return error(keys, 400, 'PARAM_ERROR', refundRequest, now);
  const { out_trade_no: paymentId, out_refund_no: refundId, amount } = refundRequest;
  const checkout = wechatCheckout(store, paymentId);
  const refuse = (refusal: RefundRefusal) => error(keys, ...REFUSALS[refusal], now);
  if (!checkout) return refuse('not_found');
  if (amount.total !== checkout.amount) return error(keys, 400, 'INVALID_REQUEST', 'amount.total 与订单金额不一致', now);

  // The same out_refund_no again is answered with that refund, whatever the limits below say.
  if (!store.refunds.find(refundId)) {
    const earlier = store.refunds.list(paymentId);
    const last = earlier.at(-1);
    if (last && now.getTime() - Date.parse(last.createdAt) < rules.refundSpacingMs) {
      return error(keys, 429, 'FREQUENCY_LIMITED', '同一笔订单多次退款的请求需相隔1分钟', now);
    }
    if (earlier.length >= MAX_REFUNDS_PER_PAYMENT) return error(keys, 400, 'INVALID_REQUEST', '部分退款次数超过50次', now);
  }
  const opened = store.refunds.open(
    { paymentId, refundId, amount: amount.refund, reason: refundRequest.reason, notifyUrl: refundRequest.notify_url || undefined, settle: 'later' },
    now,
  );
  if (opened.result === 'refused') return refuse(opened.refusal);
  return answer(keys, 200, refundOf(checkout, opened.refund), now);
}

function queryRefund(keys: WechatSandboxKeys, refundId: string, store: CheckoutStore, now: Date): SandboxResponse {
  const refund = store.refunds.find(refundId);
  const checkout = refund && wechatCheckout(store, refund.paymentId);
  if (!refund || !checkout) return error(keys, 404, 'RESOURCE_NOT_EXISTS', '退款单不存在', now);
  return answer(keys, 200, refundOf(checkout, refund), now);
}

// ---------------------------------------------------------------------------------------------
// Bills
// ---------------------------------------------------------------------------------------------

const TRADEBILL_PATH = '/v3/bill/tradebill';
const BILL_DOWNLOAD_PATH = '/v3/billdownload/file';
const BILL_TYPES: readonly WechatBillType[] = ['ALL', 'SUCCESS', 'REFUND'];
/** How long a download_url works. */
const BILL_URL_LIFETIME_MS = 5 * 60 * 1000;

/** Bill files handed out, by download token: the file is fixed when its hash is given. */
type BillFiles = Map<string, { file: Buffer; expiresAt: number }>;

/**
 * Where the simulator is reached: the sandbox serves every provider's API beside its checkout
 * pages, at /sandbox/<provider>, so it is found from the checkout page's URL.
 */
function simulatorBaseUrl(store: CheckoutStore): string {
  return new URL('../wechat', store.checkoutUrl('')).href;
}

/**
 * The day's bill, served at once for any day up to today (no waiting for 10:00 the next day, as
 * WeChat makes you): a later day is STATEMENT_CREATING, a day without activity NO_STATEMENT_EXIST.
 */
function tradeBill(keys: WechatSandboxKeys, request: SandboxRequest, store: CheckoutStore, now: Date, files: BillFiles): SandboxResponse {
  const date = request.query.get('bill_date') ?? '';
  const billType = (request.query.get('bill_type') ?? 'ALL') as WechatBillType;
  if (!isBusinessDate(date)) return error(keys, 400, 'PARAM_ERROR', 'bill_date must be yyyy-MM-dd', now);
  if (!BILL_TYPES.includes(billType)) return error(keys, 400, 'PARAM_ERROR', 'bill_type must be ALL, SUCCESS or REFUND', now);
  if (request.query.has('tar_type')) return error(keys, 400, 'PARAM_ERROR', 'the sandbox serves uncompressed bills only (no tar_type)', now);
  if (date > businessDateOf(now)) return error(keys, 400, 'STATEMENT_CREATING', '账单生成中', now);

  const activity = store.activity('wechat', date);
  const refunds = activity.refunds.flatMap((refund) => {
    const checkout = wechatCheckout(store, refund.paymentId);
    return checkout ? [{ refund, checkout }] : [];
  });
  if (activity.payments.length === 0 && refunds.length === 0) return error(keys, 400, 'NO_STATEMENT_EXIST', '账单不存在', now);

  const file = wechatBillFile({ appid: keys.appid, mchid: keys.mchid, payments: activity.payments, refunds, transactionIdOf }, billType);
  for (const [token, held] of files) if (held.expiresAt <= now.getTime()) files.delete(token);
  const token = randomBytes(32).toString('base64url');
  files.set(token, { file, expiresAt: now.getTime() + BILL_URL_LIFETIME_MS });
  const downloadUrl = `${simulatorBaseUrl(store)}${BILL_DOWNLOAD_PATH}?token=${token}`;
  return answer(keys, 200, { hash_type: 'SHA1', hash_value: createHash('sha1').update(file).digest('hex'), download_url: downloadUrl }, now);
}

/** The file itself: not signed (the merchant checks its SHA1); an unknown or expired token is refused. */
function billDownload(keys: WechatSandboxKeys, request: SandboxRequest, now: Date, files: BillFiles): SandboxResponse {
  const held = files.get(request.query.get('token') ?? '');
  if (!held || held.expiresAt <= now.getTime()) return error(keys, 400, 'INVALID_REQUEST', '下载链接无效或已过期', now);
  return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream', 'Request-ID': randomUUID() }, body: '', bytes: held.file };
}

function route(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  state: { rules: RefundRules; billFiles: BillFiles },
): SandboxResponse {
  const closeMatch = CLOSE_PATH.exec(request.path);
  const orderMatch = ORDER_PATH.exec(request.path);
  const refundMatch = REFUND_PATH.exec(request.path);
  if (request.method === 'POST' && request.path === NATIVE_PATH) return createNativeOrder(keys, request, store, now);
  if (request.method === 'GET' && orderMatch?.[1]) return queryOrder(keys, request, decodeURIComponent(orderMatch[1]), store, now);
  if (request.method === 'POST' && closeMatch?.[1]) return closeOrder(keys, request, decodeURIComponent(closeMatch[1]), store, now);
  if (request.method === 'POST' && request.path === REFUNDS_PATH) return createRefund(keys, request, store, now, state.rules);
  if (request.method === 'GET' && refundMatch?.[1]) return queryRefund(keys, decodeURIComponent(refundMatch[1]), store, now);
  if (request.method === 'GET' && request.path === TRADEBILL_PATH) return tradeBill(keys, request, store, now, state.billFiles);
  if (request.method === 'GET' && request.path === BILL_DOWNLOAD_PATH) return billDownload(keys, request, now, state.billFiles);
  return error(keys, 404, 'NOT_FOUND', `no API at ${request.method} ${request.path}`, now);
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------

const EVENT_TYPE: Readonly<Record<DecidedState, string>> = {
  paid: 'TRANSACTION.SUCCESS',
  failed: 'TRANSACTION.PAYERROR',
  closed: 'TRANSACTION.CLOSED',
};

/** AES-256-GCM with the APIv3 key; ciphertext = base64(encrypted bytes ‖ 16-byte tag). */
function encryptResource(apiV3Key: string, plaintext: string, originalType: 'transaction' | 'refund'): WechatCallbackEnvelope['resource'] {
  const associatedData = originalType;
  const nonce = randomAlphanumeric(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: encrypted.toString('base64'),
    nonce,
    associated_data: associatedData,
    original_type: originalType,
  };
}

/** Signed and ready to POST: the envelope around an encrypted resource. */
function signedEnvelope(keys: WechatSandboxKeys, url: string, envelope: WechatCallbackEnvelope, now: Date): OutboundCallback {
  const body = JSON.stringify(envelope);
  return { url, headers: { 'Content-Type': 'application/json', ...wechatpayHeaders(keys, body, now) }, body };
}

function buildCallback(keys: WechatSandboxKeys, checkout: SandboxCheckout, now: Date): OutboundCallback | undefined {
  if (checkout.state === 'pending') return undefined;
  const transaction = transactionOf(keys, checkout, now);
  const envelope: WechatCallbackEnvelope = {
    id: checkout.notificationId ?? randomUUID(),
    create_time: toBeijingRfc3339(now),
    event_type: EVENT_TYPE[checkout.state],
    resource_type: 'encrypt-resource',
    summary: TRADE_STATE_DESC[checkout.state],
    resource: encryptResource(keys.apiV3Key, JSON.stringify(transaction), 'transaction'),
  };
  return signedEnvelope(keys, checkout.notifyUrl, envelope, now);
}

const REFUND_EVENT: Readonly<Record<Exclude<SandboxRefund['state'], 'processing'>, { eventType: string; summary: string }>> = {
  succeeded: { eventType: 'REFUND.SUCCESS', summary: '退款成功' },
  failed: { eventType: 'REFUND.CLOSED', summary: '退款关闭' },
  abnormal: { eventType: 'REFUND.ABNORMAL', summary: '退款异常' },
};

/** REFUND.SUCCESS / CLOSED / ABNORMAL: the refund resource has no appid. Processing is never pushed. */
function buildRefundCallback(keys: WechatSandboxKeys, checkout: SandboxCheckout, refund: SandboxRefund, now: Date): OutboundCallback | undefined {
  if (refund.state === 'processing') return undefined;
  const resource = {
    mchid: keys.mchid,
    out_trade_no: checkout.paymentId,
    transaction_id: transactionIdOf(checkout),
    out_refund_no: refund.refundId ?? refund.key,
    refund_id: refund.key,
    refund_status: REFUND_STATUS[refund.state],
    ...(refund.state === 'succeeded' ? { success_time: toBeijingRfc3339(refund.settledAt ?? now) } : {}),
    user_received_account: '支付用户零钱',
    amount: { total: checkout.amount, refund: refund.amount, payer_total: checkout.amount, payer_refund: refund.amount },
  };
  const { eventType, summary } = REFUND_EVENT[refund.state];
  const envelope: WechatCallbackEnvelope = {
    id: refund.notificationId,
    create_time: toBeijingRfc3339(now),
    event_type: eventType,
    resource_type: 'encrypt-resource',
    summary,
    resource: encryptResource(keys.apiV3Key, JSON.stringify(resource), 'refund'),
  };
  return signedEnvelope(keys, refund.notifyUrl ?? checkout.notifyUrl, envelope, now);
}

export function createWechatSimulator(keys: WechatSandboxKeys, rules: Partial<RefundRules> = {}): ProviderSimulator {
  const state = { rules: { refundSpacingMs: rules.refundSpacingMs ?? 0 }, billFiles: new Map() as BillFiles };
  return {
    name: 'wechat',
    handle: async (request, store, now) => {
      const problem = authorizationProblem(keys, request, now);
      if (problem) return error(keys, 401, 'SIGN_ERROR', problem, now);
      return route(keys, request, store, now, state);
    },
    buildCallback: (checkout, now) => buildCallback(keys, checkout, now),
    buildRefundCallback: (checkout, refund, now) => buildRefundCallback(keys, checkout, refund, now),
    isAcknowledged: (statusCode) => statusCode === 200 || statusCode === 204,
  };
}
