import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { type BusinessDate, businessDateOf, isBusinessDate } from '../../src/domain/bill';
import { CURRENCY, fenToYuan, yuanToFen, type Fen } from '../../src/domain/money';
import {
  ALIPAY_BILL_NOT_EXIST,
  ALIPAY_CODE_BUSINESS_FAILED,
  ALIPAY_CODE_INVALID_ARGUMENTS,
  ALIPAY_CODE_SUCCESS,
  ALIPAY_REFUND_SUCCESS,
  alipayResponseNodeName,
  fromAlipayTime,
  toAlipayTime,
  type AlipayBillUrlQueryResponse,
  type AlipayNotification,
  type AlipayPayBizContent,
  type AlipayRefundQueryResponse,
  type AlipayResponseNode,
  type AlipayTradeCloseResponse,
  type AlipayTradeQueryResponse,
  type AlipayTradeRefundResponse,
  type AlipayTradeStatus,
} from '../../src/providers/alipay';
import type { AlipayConfig } from '../../src/providers/config';
import { alipayBillZip, type AlipayBillLine } from './alipay-bill';
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
 * The Alipay OpenAPI gateway, from Alipay's side. Signing and verifying are written here
 * independently of the merchant module (src/providers/alipay.ts), so a mistake on either side
 * shows up in the tests instead of being shared by both; only the wire types and the GMT+8 time
 * format are shared.
 *
 * Refunds are synchronous, as at Alipay: alipay.trade.refund answers fund_change Y when the money
 * moved (SANDBOX_REFUND_OUTCOME succeed / silent), refuses with ACQ.SELLER_BALANCE_NOT_ENOUGH (fail),
 * or answers fund_change N and never finishes (abnormal: Alipay has no such state, the refund just
 * stays unfinished). A finished refund is notified as a trade_status_sync carrying refund fields.
 *
 * Bills: alipay.data.dataservice.bill.downloadurl.query answers a bill_download_url on this
 * simulator, valid 30 seconds, for any Beijing day up to today (at once: no waiting for the next
 * morning), isp.bill_not_exist for a later day or a day with nothing to bill.
 */

/** What Alipay holds: the merchant's app public key (checks our requests) and its own private
 * key (signs answers and notifications). */
export interface AlipaySandboxKeys {
  appId: string;
  sellerId?: string;
  appPublicKey: string;
  alipayPrivateKey: string;
}

const GATEWAY_PATHS = new Set(['/gateway.do', '/']);
const PAY_METHODS: Readonly<Record<string, AlipayPayBizContent['product_code']>> = {
  'alipay.trade.page.pay': 'FAST_INSTANT_TRADE_PAY',
  'alipay.trade.wap.pay': 'QUICK_WAP_WAY',
};
const NOTIFICATION_CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

/** Checkout state → trade_status. Alipay has no failed state: an unpaid trade ends closed. */
const TRADE_STATUS: Readonly<Record<SandboxCheckout['state'], AlipayTradeStatus>> = {
  pending: 'WAIT_BUYER_PAY',
  paid: 'TRADE_SUCCESS',
  failed: 'TRADE_CLOSED',
  closed: 'TRADE_CLOSED',
};

function rsaKeyPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Two RSA 2048 pairs: the app's (merchant signs requests) and Alipay's (sandbox signs answers). */
export function generateAlipayKeys(sandboxBaseUrl: string): { merchant: AlipayConfig; sandbox: AlipaySandboxKeys } {
  const app = rsaKeyPair();
  const alipay = rsaKeyPair();
  const appId = '2021000000000001';
  const sellerId = '2088000000000001';
  return {
    merchant: { appId, sellerId, privateKey: app.privateKey, alipayPublicKey: alipay.publicKey, gateway: `${sandboxBaseUrl}/gateway.do` },
    sandbox: { appId, sellerId, appPublicKey: app.publicKey, alipayPrivateKey: alipay.privateKey },
  };
}

// ---------------------------------------------------------------------------------------------
// Signatures (Alipay's side)
// ---------------------------------------------------------------------------------------------

/** Sorted `k=v&...` over non-empty raw values, without the omitted keys. */
function signString(params: ReadonlyMap<string, string>, omitted: readonly string[]): string {
  return [...params]
    .filter(([key, value]) => value !== '' && !omitted.includes(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

function rsa2(content: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(content, 'utf8'), privateKey).toString('base64');
}

/** The gateway accepts a request signed over every parameter but `sign`, or also without sign_type. */
function requestSigned(params: ReadonlyMap<string, string>, appPublicKey: KeyObject): boolean {
  const signature = Buffer.from(params.get('sign') ?? '', 'base64');
  return [['sign'], ['sign', 'sign_type']].some((omitted) => verify('sha256', Buffer.from(signString(params, omitted), 'utf8'), appPublicKey, signature));
}

/** One value per key, or undefined when a key repeats. */
function uniqueParams(search: URLSearchParams): Map<string, string> | undefined {
  const params = new Map<string, string>();
  for (const [key, value] of search) {
    if (params.has(key)) return undefined;
    params.set(key, value);
  }
  return params;
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

interface GatewayError {
  code: string;
  msg: string;
  sub_code: string;
  sub_msg: string;
}

function invalidArguments(sub_code: string, sub_msg: string): GatewayError {
  return { code: ALIPAY_CODE_INVALID_ARGUMENTS, msg: 'Invalid Arguments', sub_code, sub_msg };
}

function businessFailed(sub_code: string, sub_msg: string): GatewayError {
  return { code: ALIPAY_CODE_BUSINESS_FAILED, msg: 'Business Failed', sub_code, sub_msg };
}

function textError(statusCode: number, error: GatewayError): SandboxResponse {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${error.sub_code}: ${error.sub_msg}` };
}

const TradeRefSchema = z.object({ out_trade_no: z.string().min(1) });
const RefundBizContentSchema = TradeRefSchema.extend({
  refund_amount: z.string(),
  // Optional at Alipay, which then uses out_trade_no (a single, full refund).
  out_request_no: z.string().min(1).max(64).optional(),
  refund_reason: z.string().max(256).optional(),
});
const RefundQueryBizContentSchema = TradeRefSchema.extend({
  out_request_no: z.string().min(1),
  query_options: z.array(z.string()).optional(),
});

const BILL_URL_METHOD = 'alipay.data.dataservice.bill.downloadurl.query';
const API_METHODS = new Set(['alipay.trade.query', 'alipay.trade.close', 'alipay.trade.refund', 'alipay.trade.fastpay.refund.query', BILL_URL_METHOD]);

const BillUrlQueryBizContentSchema = z.object({ bill_type: z.literal('trade'), bill_date: z.string().refine(isBusinessDate) });
const BILL_DOWNLOAD_PATH = '/downloadBillFile.resource';
const BILL_URL_TTL_MS = 30_000;

/**
 * The simulator's own absolute address (`<public base>/sandbox/alipay`), read off the store's
 * checkout page URL (`<public base>/sandbox/checkout/<id>`): the sandbox serves both, and
 * bill_download_url must be absolute.
 */
function simulatorBase(store: CheckoutStore): string {
  return new URL('../alipay', store.checkoutUrl('_')).href;
}

const REFUND_REFUSALS: Readonly<Record<RefundRefusal, [string, string]>> = {
  not_found: ['ACQ.TRADE_NOT_EXIST', 'trade does not exist'],
  not_paid: ['ACQ.TRADE_STATUS_ERROR', 'trade is not paid'],
  exceeds_refundable: ['ACQ.REASON_TRADE_REFUND_FEE_ERR', 'refund amount is more than the refundable amount'],
  number_reused: ['ACQ.DISCORDANT_REPEAT_REQUEST', 'out_request_no was used with other parameters'],
};
const PayBizContentSchema = TradeRefSchema.extend({
  total_amount: z.string(),
  subject: z.string().min(1),
  product_code: z.string(),
  time_expire: z.string(),
});

function parseBizContent<T>(params: ReadonlyMap<string, string>, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(params.get('biz_content') ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function amountOf(yuan: string): Fen | undefined {
  try {
    const fen = yuanToFen(yuan);
    return fen > 0 ? fen : undefined;
  } catch {
    return undefined;
  }
}

/** A stable 28-digit trade_no for checkouts the sandbox page marked paid without one. */
function tradeNo(checkout: SandboxCheckout): string {
  if (checkout.transactionId) return checkout.transactionId;
  const digest = BigInt(`0x${createHash('sha256').update(checkout.paymentId).digest('hex')}`);
  return `2025${digest.toString().slice(0, 24)}`;
}

function alipayCheckout(store: CheckoutStore, paymentId: string): SandboxCheckout | undefined {
  const checkout = store.get(paymentId);
  return checkout?.provider === 'alipay' ? checkout : undefined;
}

export function createAlipaySimulator(keys: AlipaySandboxKeys): ProviderSimulator {
  const appPublicKey = createPublicKey(keys.appPublicKey);
  const alipayPrivateKey = createPrivateKey(keys.alipayPrivateKey);

  /** Common-parameter and signature checks, in the gateway's order (app first: it picks the key). */
  function requestError(params: ReadonlyMap<string, string>): GatewayError | undefined {
    if (params.get('app_id') !== keys.appId) return invalidArguments('isv.invalid-app-id', 'unknown app_id');
    if (!params.get('sign')) return invalidArguments('isv.missing-signature', 'sign is missing');
    if (params.get('sign_type') !== 'RSA2') return invalidArguments('isv.invalid-signature-type', 'sign_type must be RSA2');
    if (!requestSigned(params, appPublicKey)) return invalidArguments('isv.invalid-signature', 'sign does not verify with the app public key');
    return undefined;
  }

  /** JSON answer: the node is serialised once and signed over exactly that text. */
  function signedAnswer(nodeName: string, node: AlipayResponseNode): SandboxResponse {
    const nodeText = JSON.stringify(node);
    const body = `{${JSON.stringify(nodeName)}:${nodeText},"sign":${JSON.stringify(rsa2(nodeText, alipayPrivateKey))}}`;
    return { statusCode: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body };
  }

  /** Browser entry of alipay.trade.page.pay / wap.pay: registers the checkout, redirects to it. */
  function enterPayPage(params: ReadonlyMap<string, string>, store: CheckoutStore, now: Date): SandboxResponse {
    const error = requestError(params);
    if (error) return textError(400, error);
    const productCode = PAY_METHODS[params.get('method') ?? ''];
    if (!productCode) return textError(400, invalidArguments('isv.invalid-method', 'not a pay-page method'));
    const biz = parseBizContent(params, PayBizContentSchema);
    const amount = biz && amountOf(biz.total_amount);
    const expiresAt = biz && fromAlipayTime(biz.time_expire);
    const notifyUrl = params.get('notify_url');
    if (!biz || amount === undefined || !expiresAt || biz.product_code !== productCode || !notifyUrl) {
      return textError(400, businessFailed('ACQ.INVALID_PARAMETER', 'biz_content or notify_url is invalid'));
    }
    if (Date.parse(expiresAt) <= now.getTime()) return textError(400, businessFailed('ACQ.TRADE_HAS_CLOSE', 'time_expire has passed'));
    const existing = alipayCheckout(store, biz.out_trade_no);
    // A decided trade is never reopened (the buyer must not pay twice), and the same
    // out_trade_no with another amount is refused, as Alipay refuses a changed trade.
    if (existing?.state === 'paid') return textError(400, businessFailed('ACQ.TRADE_HAS_SUCCESS', 'trade is already paid'));
    if (existing && existing.state !== 'pending') return textError(400, businessFailed('ACQ.TRADE_HAS_CLOSE', 'trade is closed'));
    if (existing && existing.amount !== amount) return textError(400, businessFailed('ACQ.CONTEXT_INCONSISTENT', 'trade information changed'));
    if (!existing) {
      store.put({
        provider: 'alipay',
        paymentId: biz.out_trade_no,
        amount,
        currency: CURRENCY,
        description: biz.subject,
        notifyUrl,
        returnUrl: params.get('return_url'),
        expiresAt,
        state: 'pending',
      });
    }
    return { statusCode: 302, headers: { location: store.checkoutUrl(biz.out_trade_no) }, body: '' };
  }

  /** A paid trade refunded in full is TRADE_CLOSED. */
  function tradeStatus(checkout: SandboxCheckout, store: CheckoutStore): AlipayTradeStatus {
    const fullyRefunded = checkout.state === 'paid' && store.refunds.refundedAmount(checkout.paymentId) === checkout.amount;
    return fullyRefunded ? 'TRADE_CLOSED' : TRADE_STATUS[checkout.state];
  }

  function queryTrade(checkout: SandboxCheckout | undefined, store: CheckoutStore, now: Date): AlipayTradeQueryResponse {
    if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    const paid = checkout.state === 'paid';
    return {
      code: ALIPAY_CODE_SUCCESS,
      msg: 'Success',
      trade_no: tradeNo(checkout),
      out_trade_no: checkout.paymentId,
      trade_status: tradeStatus(checkout, store),
      total_amount: fenToYuan(checkout.amount),
      ...(paid && { buyer_pay_amount: fenToYuan(checkout.amount), send_pay_date: toAlipayTime(new Date(checkout.paidAt ?? now)) }),
    };
  }

  function closeTrade(checkout: SandboxCheckout | undefined, store: CheckoutStore): AlipayTradeCloseResponse {
    if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    // Only a trade awaiting payment can be closed.
    if (checkout.state !== 'pending') return businessFailed('ACQ.TRADE_STATUS_ERROR', `trade is ${TRADE_STATUS[checkout.state]}`);
    store.put({ ...checkout, state: 'closed' });
    return { code: ALIPAY_CODE_SUCCESS, msg: 'Success', trade_no: tradeNo(checkout), out_trade_no: checkout.paymentId };
  }

  /** alipay.trade.refund: a number seen before answers that refund (fund_change N), never a second one. */
  function refundTrade(params: ReadonlyMap<string, string>, store: CheckoutStore, now: Date): AlipayTradeRefundResponse {
    const biz = parseBizContent(params, RefundBizContentSchema);
    const amount = biz && amountOf(biz.refund_amount);
    if (!biz || amount === undefined) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content is invalid');
    const checkout = alipayCheckout(store, biz.out_trade_no);
    const refundId = biz.out_request_no ?? biz.out_trade_no;
    const refuse = (refusal: RefundRefusal) => businessFailed(...REFUND_REFUSALS[refusal]);
    if (!checkout) return refuse('not_found');
    const isNew = !store.refunds.find(refundId);
    const { outcome } = store.refunds;
    if (isNew && outcome === 'fail' && checkout.state === 'paid') return businessFailed('ACQ.SELLER_BALANCE_NOT_ENOUGH', 'the seller balance is not enough');
    const settle = outcome === 'abnormal' ? 'never' : 'now';
    const opened = store.refunds.open({ paymentId: checkout.paymentId, refundId, amount, reason: biz.refund_reason, settle }, now);
    if (opened.result === 'refused') return refuse(opened.refusal);
    const { refund } = opened;
    const moved = opened.result === 'opened' && refund.state === 'succeeded';
    return {
      code: ALIPAY_CODE_SUCCESS,
      msg: 'Success',
      trade_no: tradeNo(checkout),
      out_trade_no: checkout.paymentId,
      buyer_logon_id: '159****5620',
      fund_change: moved ? 'Y' : 'N',
      // Cumulative: everything refunded on the trade so far.
      refund_fee: fenToYuan(store.refunds.refundedAmount(checkout.paymentId)),
      ...(refund.state === 'succeeded' ? { gmt_refund_pay: toAlipayTime(new Date(refund.settledAt ?? now)) } : {}),
    };
  }

  /** alipay.trade.fastpay.refund.query: refund_status only once the refund has succeeded. */
  function queryRefund(params: ReadonlyMap<string, string>, store: CheckoutStore): AlipayRefundQueryResponse {
    const biz = parseBizContent(params, RefundQueryBizContentSchema);
    if (!biz) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content.out_trade_no or out_request_no is missing');
    const checkout = alipayCheckout(store, biz.out_trade_no);
    if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    const found = store.refunds.find(biz.out_request_no);
    const refund = found?.paymentId === checkout.paymentId && found.state === 'succeeded' ? found : undefined;
    const base = {
      code: ALIPAY_CODE_SUCCESS,
      msg: 'Success',
      trade_no: tradeNo(checkout),
      out_trade_no: checkout.paymentId,
      out_request_no: biz.out_request_no,
    };
    if (!refund) return base;
    const withTime = biz.query_options?.includes('gmt_refund_pay') && refund.settledAt;
    return {
      ...base,
      total_amount: fenToYuan(checkout.amount),
      refund_amount: fenToYuan(refund.amount),
      refund_status: ALIPAY_REFUND_SUCCESS,
      ...(withTime ? { gmt_refund_pay: toAlipayTime(new Date(refund.settledAt ?? '')) } : {}),
    };
  }

  /** Download tokens of the bill URLs handed out: each serves the ZIP built when it was asked for. */
  const billDownloads = new Map<string, { zip: Buffer; expiresAt: number }>();

  /**
   * The day's lines: its paid trades and the refunds that moved money in it (Alipay bills no
   * unfinished refund). A console refund has no out_request_no; the refund's sandbox key stands in
   * as Alipay's own batch number, the number the merchant then sees for it.
   */
  function billLines(store: CheckoutStore, date: BusinessDate): AlipayBillLine[] {
    const { payments, refunds } = store.activity('alipay', date);
    const trades = payments.map((checkout): AlipayBillLine => {
      const paidAt = new Date(checkout.paidAt ?? 0);
      const common = { tradeNo: tradeNo(checkout), outTradeNo: checkout.paymentId, subject: checkout.description };
      return { ...common, businessType: '交易', createdAt: paidAt, finishedAt: paidAt, amount: checkout.amount, refundBatchNo: '' };
    });
    const refundLines = refunds.flatMap((refund): AlipayBillLine[] => {
      const checkout = alipayCheckout(store, refund.paymentId);
      if (!checkout || refund.state !== 'succeeded') return [];
      const refundedAt = new Date(refund.settledAt ?? refund.createdAt);
      return [
        {
          tradeNo: tradeNo(checkout),
          outTradeNo: checkout.paymentId,
          subject: checkout.description,
          businessType: '退款',
          createdAt: new Date(refund.createdAt),
          finishedAt: refundedAt,
          amount: -refund.amount,
          refundBatchNo: refund.refundId ?? refund.key,
        },
      ];
    });
    return [...trades, ...refundLines].sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime());
  }

  function billUrl(params: ReadonlyMap<string, string>, store: CheckoutStore, now: Date): AlipayBillUrlQueryResponse {
    const biz = parseBizContent(params, BillUrlQueryBizContentSchema);
    if (!biz) return invalidArguments('isv.invalid-arguments', 'bill_type must be trade and bill_date yyyy-MM-dd');
    const notExist = businessFailed(ALIPAY_BILL_NOT_EXIST, 'bill does not exist');
    if (biz.bill_date > businessDateOf(now)) return notExist;
    const lines = billLines(store, biz.bill_date);
    if (lines.length === 0) return notExist;
    for (const [token, download] of billDownloads) if (download.expiresAt <= now.getTime()) billDownloads.delete(token);
    const token = randomBytes(16).toString('hex');
    billDownloads.set(token, { zip: alipayBillZip(keys.sellerId ?? keys.appId, biz.bill_date, lines, now), expiresAt: now.getTime() + BILL_URL_TTL_MS });
    return { code: ALIPAY_CODE_SUCCESS, msg: 'Success', bill_download_url: `${simulatorBase(store)}${BILL_DOWNLOAD_PATH}?token=${token}` };
  }

  /** A plain GET of bill_download_url; an unknown or expired token is a 404. */
  function downloadBill(request: SandboxRequest, now: Date): SandboxResponse {
    const download = billDownloads.get(request.query.get('token') ?? '');
    if (request.method !== 'GET' || !download || download.expiresAt <= now.getTime()) {
      return { statusCode: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'the bill link is invalid or has expired' };
    }
    return { statusCode: 200, headers: { 'content-type': 'application/zip' }, body: '', bytes: download.zip };
  }

  function answerFor(method: string, params: ReadonlyMap<string, string>, store: CheckoutStore, now: Date): AlipayResponseNode {
    if (method === BILL_URL_METHOD) return billUrl(params, store, now);
    if (method === 'alipay.trade.refund') return refundTrade(params, store, now);
    if (method === 'alipay.trade.fastpay.refund.query') return queryRefund(params, store);
    const ref = parseBizContent(params, TradeRefSchema);
    if (!ref) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content.out_trade_no is missing');
    const checkout = alipayCheckout(store, ref.out_trade_no);
    return method === 'alipay.trade.query' ? queryTrade(checkout, store, now) : closeTrade(checkout, store);
  }

  /** The API methods: form-encoded POST, signed JSON answer. */
  function apiCall(params: ReadonlyMap<string, string>, store: CheckoutStore, now: Date): SandboxResponse {
    const method = params.get('method') ?? '';
    const nodeName = API_METHODS.has(method) ? alipayResponseNodeName(method) : 'error_response';
    const error = requestError(params) ?? (nodeName === 'error_response' ? invalidArguments('isv.invalid-method', 'unknown method') : undefined);
    if (error) return signedAnswer(nodeName, error);
    return signedAnswer(nodeName, answerFor(method, params, store, now));
  }

  /** The asynchronous notification, signed over every field but sign and sign_type. */
  function notificationFields(checkout: SandboxCheckout, now: Date): Omit<AlipayNotification, 'sign'> {
    const paid = checkout.state === 'paid';
    const total = fenToYuan(checkout.amount);
    const decidedAt = toAlipayTime(new Date(checkout.paidAt ?? now));
    return {
      notify_time: toAlipayTime(now),
      notify_type: 'trade_status_sync',
      notify_id: checkout.notificationId ?? randomBytes(16).toString('hex'),
      app_id: keys.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: tradeNo(checkout),
      out_trade_no: checkout.paymentId,
      trade_status: TRADE_STATUS[checkout.state],
      total_amount: total,
      // The store keeps no creation time: the decision time stands in for gmt_create.
      gmt_create: decidedAt,
      ...(paid ? { receipt_amount: total, buyer_pay_amount: total, gmt_payment: decidedAt } : { gmt_close: decidedAt }),
      seller_id: keys.sellerId,
      subject: checkout.description,
    };
  }

  /** Every field but sign is signed (the documented string leaves sign_type out too). */
  function signedForm(url: string, unsigned: Readonly<Record<string, string | undefined>>): OutboundCallback {
    const fields = new Map(Object.entries(unsigned).filter((entry): entry is [string, string] => entry[1] !== undefined));
    fields.set('sign', rsa2(signString(fields, ['sign', 'sign_type']), alipayPrivateKey));
    return { url, headers: { 'Content-Type': NOTIFICATION_CONTENT_TYPE }, body: new URLSearchParams([...fields]).toString() };
  }

  /**
   * After a refund Alipay notifies the trade again: TRADE_SUCCESS while part of it remains,
   * TRADE_CLOSED once all of it is refunded, with out_biz_no (the refund's out_request_no; none
   * for a console refund), refund_fee (CUMULATIVE) and gmt_refund. Only a success is notified.
   */
  function refundNotificationFields(checkout: SandboxCheckout, refund: SandboxRefund, now: Date): Record<string, string | undefined> {
    const refundedAfter = refund.refundedAfter ?? refund.amount;
    const closed = refundedAfter === checkout.amount;
    const refundedAt = toAlipayTime(new Date(refund.settledAt ?? now));
    return {
      ...notificationFields(checkout, now),
      notify_id: refund.notificationId,
      trade_status: closed ? 'TRADE_CLOSED' : 'TRADE_SUCCESS',
      out_biz_no: refund.refundId,
      refund_fee: fenToYuan(refundedAfter),
      gmt_refund: refundedAt,
      ...(closed ? { gmt_close: refundedAt } : {}),
    };
  }

  return {
    name: 'alipay',
    handle: async (request, store, now) => {
      if (request.path === BILL_DOWNLOAD_PATH) return downloadBill(request, now);
      if (!GATEWAY_PATHS.has(request.path)) return textError(404, invalidArguments('isv.invalid-path', 'not the gateway'));
      const params = uniqueParams(request.method === 'GET' ? request.query : new URLSearchParams(request.body));
      if (!params) return textError(400, invalidArguments('isv.duplicate-parameter', 'a parameter appears more than once'));
      if (request.method === 'GET') return enterPayPage(params, store, now);
      if (request.method === 'POST') return apiCall(params, store, now);
      return textError(405, invalidArguments('isv.invalid-http-method', 'use GET or POST'));
    },
    buildCallback: (checkout, now) => (checkout.state === 'pending' ? undefined : signedForm(checkout.notifyUrl, notificationFields(checkout, now))),
    buildRefundCallback: (checkout, refund, now) =>
      refund.state === 'succeeded' ? signedForm(checkout.notifyUrl, refundNotificationFields(checkout, refund, now)) : undefined,
    isAcknowledged: (statusCode, body) => statusCode === 200 && body === 'success',
  };
}
