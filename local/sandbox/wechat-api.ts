import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { businessDateOf, isBusinessDate } from '../../src/domain/bill';
import { CURRENCY, isFen } from '../../src/domain/money';
import type { WechatRefundRequest } from '../../src/providers/wechat';
import type { CheckoutStore, RefundRefusal, SandboxRequest, SandboxResponse } from './types';
import { wechatBillFile, type WechatBillType } from './wechat-bill';
import { ABNORMAL_REFUND_PATH, applyAbnormalRefund, refundOf } from './wechat-refunds';
import { createPrepayOrder, PREPAY_TRADE_TYPES, type PrepayIndex } from './wechat-scenes';
import {
  type WechatSandboxKeys,
  CLOSE_PATH,
  MAX_REFUNDS_PER_PAYMENT,
  NATIVE_PATH,
  ORDER_PATH,
  OUT_REFUND_NO,
  OUT_TRADE_NO,
  REFUNDS_PATH,
  REFUND_PATH,
  answer,
  error,
  transactionIdOf,
  transactionOf,
  wechatCheckout,
} from './wechat-signing';

/** The WeChat sandbox's API (wechat.ts routes authorized requests here): Native orders, queries, closes, refunds and bills. */

export interface NativeOrder {
  appid: string;
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

/** The order fields every prepay requires, or the first problem found (WeChat's PARAM_ERROR); `appids`: those bound to the mchid for this trade type. */
export function readNativeOrder(
  keys: WechatSandboxKeys,
  body: string,
  now: Date,
  appids: readonly string[] = [keys.appid],
): NativeOrder | string {
  let order: unknown;
  try {
    order = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  if (!isRecord(order)) return 'body is not a JSON object';
  const {
    appid,
    mchid,
    description,
    out_trade_no: outTradeNo,
    notify_url: notifyUrl,
    amount,
    time_expire: timeExpire,
  } = order;
  if (typeof appid !== 'string' || !appids.includes(appid) || mchid !== keys.mchid)
    return 'appid and mchid do not match';
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo))
    return 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]';
  if (typeof description !== 'string' || description.length === 0 || description.length > 127)
    return 'description must be 1-127 characters';
  if (typeof notifyUrl !== 'string' || !URL.canParse(notifyUrl)) return 'notify_url must be an absolute URL';
  if (!isRecord(amount) || !isFen(amount.total) || amount.total < 1)
    return 'amount.total must be a positive integer of fen';
  if (amount.currency !== undefined && amount.currency !== CURRENCY) return 'amount.currency must be CNY';
  if (timeExpire !== undefined && (typeof timeExpire !== 'string' || !RFC3339.test(timeExpire)))
    return 'time_expire must be RFC 3339';
  return {
    appid,
    paymentId: outTradeNo,
    amount: amount.total,
    description,
    notifyUrl,
    // Without time_expire WeChat keeps a native order payable for 2 hours.
    expiresAt: new Date(timeExpire ?? now.getTime() + 2 * 60 * 60 * 1000).toISOString(),
  };
}

// API ------------------------------------------------------------------------------------------
function createNativeOrder(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  const order = readNativeOrder(keys, request.body, now);
  if (typeof order === 'string') return error(keys, 400, 'PARAM_ERROR', order, now);
  const existing = store.get(order.paymentId);
  // The same order again (a retry) gets the same code_url; another order under that number does not.
  if (existing && (existing.provider !== 'wechat' || existing.amount !== order.amount)) {
    return error(keys, 400, 'OUT_TRADE_NO_USED', 'out_trade_no already used for another order', now);
  }
  if (existing?.state === 'paid') return error(keys, 400, 'ORDERPAID', 'order already paid', now);
  if (existing && existing.state !== 'pending') return error(keys, 400, 'ORDERCLOSED', 'order already closed', now);
  const { appid: _appid, ...fields } = order;
  if (!existing) store.put({ provider: 'wechat', currency: CURRENCY, state: 'pending', ...fields });
  return answer(keys, 200, { code_url: store.checkoutUrl(order.paymentId) }, now);
}

function queryOrder(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  paymentId: string,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  if (request.query.get('mchid') !== keys.mchid)
    return error(keys, 400, 'PARAM_ERROR', 'mchid query parameter does not match', now);
  const checkout = wechatCheckout(store, paymentId);
  if (!checkout) return error(keys, 404, 'ORDER_NOT_EXIST', 'order does not exist', now);
  const refunded = store.refunds.list(paymentId).some((refund) => refund.state !== 'failed');
  return answer(keys, 200, transactionOf(keys, checkout, now, refunded), now);
}

function closeOrder(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  paymentId: string,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
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
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo))
    return 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]';
  if (typeof outRefundNo !== 'string' || !OUT_REFUND_NO.test(outRefundNo))
    return 'out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]';
  if (reason !== undefined && (typeof reason !== 'string' || [...reason].length > 80))
    return 'reason must be at most 80 characters';
  if (
    notifyUrl !== undefined &&
    (typeof notifyUrl !== 'string' || !URL.canParse(notifyUrl) || new URL(notifyUrl).search !== '')
  ) {
    return 'notify_url must be an absolute URL without a query string';
  }
  if (
    !isRecord(amount) ||
    !isFen(amount.refund) ||
    amount.refund < 1 ||
    !isFen(amount.total) ||
    amount.currency !== CURRENCY
  ) {
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

export interface RefundRules {
  /** Least time between two refunds of one payment (WeChat asks for a minute); 0 checks nothing. */
  refundSpacingMs: number;
}

function createRefund(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  rules: RefundRules,
): SandboxResponse {
  const refundRequest = readRefundRequest(request.body);
  if (typeof refundRequest === 'string') return error(keys, 400, 'PARAM_ERROR', refundRequest, now);
  const { out_trade_no: paymentId, out_refund_no: refundId, amount } = refundRequest;
  const checkout = wechatCheckout(store, paymentId);
  const refuse = (refusal: RefundRefusal) => error(keys, ...REFUSALS[refusal], now);
  if (!checkout) return refuse('not_found');
  if (amount.total !== checkout.amount)
    return error(keys, 400, 'INVALID_REQUEST', 'amount.total 与订单金额不一致', now);

  // The same out_refund_no again is answered with that refund, whatever the limits below say.
  if (!store.refunds.find(refundId)) {
    const earlier = store.refunds.list(paymentId);
    const last = earlier.at(-1);
    if (last && now.getTime() - Date.parse(last.createdAt) < rules.refundSpacingMs) {
      return error(keys, 429, 'FREQUENCY_LIMITED', '同一笔订单多次退款的请求需相隔1分钟', now);
    }
    if (earlier.length >= MAX_REFUNDS_PER_PAYMENT)
      return error(keys, 400, 'INVALID_REQUEST', '部分退款次数超过50次', now);
  }
  const opened = store.refunds.open(
    {
      paymentId,
      refundId,
      amount: amount.refund,
      reason: refundRequest.reason,
      notifyUrl: refundRequest.notify_url || undefined,
      settle: 'later',
    },
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
export type BillFiles = Map<string, { file: Buffer; expiresAt: number }>;

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
function tradeBill(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  files: BillFiles,
): SandboxResponse {
  const date = request.query.get('bill_date') ?? '';
  const billType = (request.query.get('bill_type') ?? 'ALL') as WechatBillType;
  if (!isBusinessDate(date)) return error(keys, 400, 'PARAM_ERROR', 'bill_date must be yyyy-MM-dd', now);
  if (!BILL_TYPES.includes(billType))
    return error(keys, 400, 'PARAM_ERROR', 'bill_type must be ALL, SUCCESS or REFUND', now);
  if (request.query.has('tar_type'))
    return error(keys, 400, 'PARAM_ERROR', 'the sandbox serves uncompressed bills only (no tar_type)', now);
  if (date > businessDateOf(now)) return error(keys, 400, 'STATEMENT_CREATING', '账单生成中', now);

  const activity = store.activity('wechat', date);
  const refunds = activity.refunds.flatMap((refund) => {
    const checkout = wechatCheckout(store, refund.paymentId);
    return checkout ? [{ refund, checkout }] : [];
  });
  if (activity.payments.length === 0 && refunds.length === 0)
    return error(keys, 400, 'NO_STATEMENT_EXIST', '账单不存在', now);

  const file = wechatBillFile(
    { appid: keys.appid, mchid: keys.mchid, payments: activity.payments, refunds, transactionIdOf },
    billType,
  );
  for (const [token, held] of files) if (held.expiresAt <= now.getTime()) files.delete(token);
  const token = randomBytes(32).toString('base64url');
  files.set(token, { file, expiresAt: now.getTime() + BILL_URL_LIFETIME_MS });
  const downloadUrl = `${simulatorBaseUrl(store)}${BILL_DOWNLOAD_PATH}?token=${token}`;
  return answer(
    keys,
    200,
    { hash_type: 'SHA1', hash_value: createHash('sha1').update(file).digest('hex'), download_url: downloadUrl },
    now,
  );
}

/** The file itself: not signed (the merchant checks its SHA1); an unknown or expired token is refused. */
function billDownload(keys: WechatSandboxKeys, request: SandboxRequest, now: Date, files: BillFiles): SandboxResponse {
  const held = files.get(request.query.get('token') ?? '');
  if (!held || held.expiresAt <= now.getTime()) return error(keys, 400, 'INVALID_REQUEST', '下载链接无效或已过期', now);
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/octet-stream', 'Request-ID': randomUUID() },
    body: '',
    bytes: held.file,
  };
}

export function route(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  state: { rules: RefundRules; billFiles: BillFiles; prepays: PrepayIndex },
): SandboxResponse {
  const closeMatch = CLOSE_PATH.exec(request.path);
  const orderMatch = ORDER_PATH.exec(request.path);
  const refundMatch = REFUND_PATH.exec(request.path);
  if (request.method === 'POST' && request.path === NATIVE_PATH) return createNativeOrder(keys, request, store, now);
  const prepay = request.method === 'POST' && PREPAY_TRADE_TYPES[request.path];
  if (prepay) return createPrepayOrder(keys, request, store, now, prepay, state.prepays);
  if (request.method === 'GET' && orderMatch?.[1])
    return queryOrder(keys, request, decodeURIComponent(orderMatch[1]), store, now);
  if (request.method === 'POST' && closeMatch?.[1])
    return closeOrder(keys, request, decodeURIComponent(closeMatch[1]), store, now);
  if (request.method === 'POST' && request.path === REFUNDS_PATH)
    return createRefund(keys, request, store, now, state.rules);
  const abnormalMatch = request.method === 'POST' && ABNORMAL_REFUND_PATH.exec(request.path);
  if (abnormalMatch) return applyAbnormalRefund(keys, request, decodeURIComponent(abnormalMatch[1] ?? ''), store, now);
  if (request.method === 'GET' && refundMatch?.[1])
    return queryRefund(keys, decodeURIComponent(refundMatch[1]), store, now);
  if (request.method === 'GET' && request.path === TRADEBILL_PATH)
    return tradeBill(keys, request, store, now, state.billFiles);
  if (request.method === 'GET' && request.path === BILL_DOWNLOAD_PATH)
    return billDownload(keys, request, now, state.billFiles);
  return error(keys, 404, 'NOT_FOUND', `no API at ${request.method} ${request.path}`, now);
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------
