import { SANDBOX_ALIPAY_SCENES } from './scenes';
import { requestSigned, rsa2, uniqueParams } from './alipay-signing';
import { alipayClient, notifiesOutcome, scanQr, sceneTrade, tradeExists, type TradeIndex } from './alipay-scenes';
import { callLimit } from './call-limit';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { businessDateOf } from '../../src/domain/bill';
import { CURRENCY } from '../../src/domain/money';
import {
  ALIPAY_BILL_NOT_EXIST,
  ALIPAY_CODE_SUCCESS,
  alipayResponseNodeName,
  fromAlipayTime,
  type AlipayBillUrlQueryResponse,
  type AlipayPayBizContent,
  type AlipayResponseNode,
} from '../../src/providers/alipay';
import { tradePayResponse } from './alipay-tradepay';
import { notificationFields, refundNotificationFields, signedForm } from './alipay-callbacks';
import { ALIPAY_CREATE_ERRORS, type RefusalArms, refusalArms } from './refusals';
import type { AlipayConfig } from '../../src/providers/config';
import { alipayBillZip } from './alipay-bill';
import type { CheckoutStore, ProviderSimulator, SandboxRequest, SandboxResponse } from './types';
import type { GatewayError } from './alipay-trades';
import {
  API_METHODS,
  BILL_DOWNLOAD_PATH,
  BILL_URL_METHOD,
  BILL_URL_TTL_MS,
  BillUrlQueryBizContentSchema,
  PayBizContentSchema,
  TradeRefSchema,
  alipayCheckout,
  amountOf,
  billLines,
  businessFailed,
  closeTrade,
  invalidArguments,
  parseBizContent,
  queryRefund,
  queryTrade,
  refundTrade,
  simulatorBase,
  textError,
} from './alipay-trades';

/**
 * The Alipay OpenAPI gateway, from Alipay's side. Signing and verifying are written here
 * independently of the merchant module (src/providers/alipay/), so a mistake on either side
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
const LIMITED_METHODS = new Set(['alipay.trade.query', 'alipay.trade.close']);
/** Alipay's answer when it cannot serve a call now: retry later (no distinct rate-limit code is published for these APIs). */
const BUSY_ANSWER = {
  code: '20000',
  msg: 'Service Currently Unavailable',
  sub_code: 'isp.unknow-error',
  sub_msg: '系统繁忙',
};
const PAY_METHODS: Readonly<Record<string, AlipayPayBizContent['product_code']>> = {
  'alipay.trade.page.pay': 'FAST_INSTANT_TRADE_PAY',
  'alipay.trade.wap.pay': 'QUICK_WAP_WAY',
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
    merchant: {
      appId,
      sellerId,
      privateKey: app.privateKey,
      alipayPublicKey: alipay.publicKey,
      gateway: `${sandboxBaseUrl}/gateway.do`,
      scenes: SANDBOX_ALIPAY_SCENES,
    },
    sandbox: { appId, sellerId, appPublicKey: app.publicKey, alipayPrivateKey: alipay.privateKey },
  };
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

/** The simulator's keys, loaded once, and the bill downloads it handed out. */
interface AlipaySandbox {
  keys: AlipaySandboxKeys;
  appPublicKey: KeyObject;
  alipayPrivateKey: KeyObject;
  /** Download tokens of the bill URLs handed out: each serves the ZIP built when it was asked for. */
  billDownloads: Map<string, { zip: Buffer; expiresAt: number }>;
  tradeIndex: TradeIndex;
  refusals: RefusalArms;
  overLimit: (api: string, now: Date) => boolean;
}

/** Trade queries and closes a second, each, past which the gateway answers busy (20000 isp.unknow-error); 0 keeps no limit. */
export interface AlipayLimits {
  callsPerSecond?: number;
}

export function createAlipaySimulator(keys: AlipaySandboxKeys, limits: AlipayLimits = {}): ProviderSimulator {
  const alipay: AlipaySandbox = {
    keys,
    appPublicKey: createPublicKey(keys.appPublicKey),
    alipayPrivateKey: createPrivateKey(keys.alipayPrivateKey),
    billDownloads: new Map(),
    tradeIndex: new Map(),
    refusals: refusalArms(ALIPAY_CREATE_ERRORS),
    overLimit: callLimit(limits.callsPerSecond ?? 0),
  };
  return {
    name: 'alipay',
    handle: async (request, store, now) => {
      if (request.path === BILL_DOWNLOAD_PATH) return downloadBill(alipay, request, now);
      const miniProgram = tradePayResponse(request);
      if (miniProgram) return miniProgram;
      const scanned = scanQr(request, store, now);
      if (scanned) return scanned;
      if (!GATEWAY_PATHS.has(request.path))
        return textError(404, invalidArguments('isv.invalid-path', 'not the gateway'));
      const params = uniqueParams(request.method === 'GET' ? request.query : new URLSearchParams(request.body));
      if (!params)
        return textError(400, invalidArguments('isv.duplicate-parameter', 'a parameter appears more than once'));
      if (request.method === 'GET') return enterPayPage(alipay, params, store, now);
      if (request.method === 'POST') return apiCall(alipay, params, store, now);
      return textError(405, invalidArguments('isv.invalid-http-method', 'use GET or POST'));
    },
    buildCallback: (checkout, now) =>
      checkout.state === 'pending' || !notifiesOutcome(checkout)
        ? undefined
        : signedForm(alipay, checkout.notifyUrl, notificationFields(alipay, checkout, now)),
    buildRefundCallback: (checkout, refund, now) =>
      refund.state === 'succeeded'
        ? signedForm(alipay, checkout.notifyUrl, refundNotificationFields(alipay, checkout, refund, now))
        : undefined,
    isAcknowledged: (statusCode, body) => statusCode === 200 && body === 'success',
    refusals: alipay.refusals,
    client: (client, body, store, now) =>
      alipayClient(
        { appId: keys.appId, appPublicKey: alipay.appPublicKey },
        client,
        body,
        store,
        now,
        alipay.tradeIndex,
      ),
  };
}

/** Common-parameter and signature checks, in the gateway's order (app first: it picks the key). */
function requestError(alipay: AlipaySandbox, params: ReadonlyMap<string, string>): GatewayError | undefined {
  if (params.get('app_id') !== alipay.keys.appId) return invalidArguments('isv.invalid-app-id', 'unknown app_id');
  if (!params.get('sign')) return invalidArguments('isv.missing-signature', 'sign is missing');
  if (params.get('sign_type') !== 'RSA2')
    return invalidArguments('isv.invalid-signature-type', 'sign_type must be RSA2');
  if (!requestSigned(params, alipay.appPublicKey))
    return invalidArguments('isv.invalid-signature', 'sign does not verify with the app public key');
  return undefined;
}

/** JSON answer: the node is serialised once and signed over exactly that text. */
function signedAnswer(alipay: AlipaySandbox, nodeName: string, node: AlipayResponseNode): SandboxResponse {
  const nodeText = JSON.stringify(node);
  const body = `{${JSON.stringify(nodeName)}:${nodeText},"sign":${JSON.stringify(rsa2(nodeText, alipay.alipayPrivateKey))}}`;
  return { statusCode: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body };
}

/** Browser entry of alipay.trade.page.pay / wap.pay: registers the checkout, redirects to it. */
function enterPayPage(
  alipay: AlipaySandbox,
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  const error = requestError(alipay, params);
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
  if (Date.parse(expiresAt) <= now.getTime())
    return textError(400, businessFailed('ACQ.TRADE_HAS_CLOSE', 'time_expire has passed'));
  const existing = alipayCheckout(store, biz.out_trade_no);
  // A decided trade is never reopened (the buyer must not pay twice), and the same
  // out_trade_no with another amount is refused, as Alipay refuses a changed trade.
  if (existing?.state === 'paid')
    return textError(400, businessFailed('ACQ.TRADE_HAS_SUCCESS', 'trade is already paid'));
  if (existing && existing.state !== 'pending')
    return textError(400, businessFailed('ACQ.TRADE_HAS_CLOSE', 'trade is closed'));
  if (existing && existing.amount !== amount)
    return textError(400, businessFailed('ACQ.CONTEXT_INCONSISTENT', 'trade information changed'));
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

function billUrl(
  alipay: AlipaySandbox,
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
): AlipayBillUrlQueryResponse {
  const biz = parseBizContent(params, BillUrlQueryBizContentSchema);
  if (!biz) return invalidArguments('isv.invalid-arguments', 'bill_type must be trade and bill_date yyyy-MM-dd');
  const notExist = businessFailed(ALIPAY_BILL_NOT_EXIST, 'bill does not exist');
  if (biz.bill_date > businessDateOf(now)) return notExist;
  const lines = billLines(store, biz.bill_date);
  if (lines.length === 0) return notExist;
  for (const [token, download] of alipay.billDownloads)
    if (download.expiresAt <= now.getTime()) alipay.billDownloads.delete(token);
  const token = randomBytes(16).toString('hex');
  alipay.billDownloads.set(token, {
    zip: alipayBillZip(alipay.keys.sellerId ?? alipay.keys.appId, biz.bill_date, lines, now),
    expiresAt: now.getTime() + BILL_URL_TTL_MS,
  });
  return {
    code: ALIPAY_CODE_SUCCESS,
    msg: 'Success',
    bill_download_url: `${simulatorBase(store)}${BILL_DOWNLOAD_PATH}?token=${token}`,
  };
}

/** A plain GET of bill_download_url; an unknown or expired token is a 404. */
function downloadBill(alipay: AlipaySandbox, request: SandboxRequest, now: Date): SandboxResponse {
  const download = alipay.billDownloads.get(request.query.get('token') ?? '');
  if (request.method !== 'GET' || !download || download.expiresAt <= now.getTime()) {
    return {
      statusCode: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'the bill link is invalid or has expired',
    };
  }
  return { statusCode: 200, headers: { 'content-type': 'application/zip' }, body: '', bytes: download.zip };
}

function answerFor(
  alipay: AlipaySandbox,
  method: string,
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
): AlipayResponseNode {
  if (method === BILL_URL_METHOD) return billUrl(alipay, params, store, now);
  if (method === 'alipay.trade.refund') return refundTrade(params, store, now);
  if (method === 'alipay.trade.fastpay.refund.query') return queryRefund(params, store);
  if (method === 'alipay.trade.precreate' || method === 'alipay.trade.create')
    return armedRefusal(alipay, params) ?? sceneTrade(method, params, store, now, alipay.tradeIndex);
  const ref = parseBizContent(params, TradeRefSchema);
  if (!ref) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content.out_trade_no is missing');
  const checkout = tradeExists(alipayCheckout(store, ref.out_trade_no));
  return method === 'alipay.trade.query' ? queryTrade(checkout, store, now) : closeTrade(checkout, store);
}

/** The refusal armed for this precreate / create (refusals.ts), in the gateway's answer shape. */
function armedRefusal(alipay: AlipaySandbox, params: ReadonlyMap<string, string>): GatewayError | undefined {
  const ref = parseBizContent(params, TradeRefSchema);
  const subCode = alipay.refusals.take(ref?.out_trade_no ?? '');
  const answer = subCode ? ALIPAY_CREATE_ERRORS[subCode] : undefined;
  if (!subCode || !answer) return undefined;
  const [code, msg, subMsg] = answer;
  return { code, msg, sub_code: subCode, sub_msg: subMsg };
}

/** The API methods: form-encoded POST, signed JSON answer. */
function apiCall(
  alipay: AlipaySandbox,
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  const method = params.get('method') ?? '';
  const nodeName = API_METHODS.has(method) ? alipayResponseNodeName(method) : 'error_response';
  const error =
    requestError(alipay, params) ??
    (nodeName === 'error_response' ? invalidArguments('isv.invalid-method', 'unknown method') : undefined);
  if (error) return signedAnswer(alipay, nodeName, error);
  if (LIMITED_METHODS.has(method) && alipay.overLimit(method, now)) return signedAnswer(alipay, nodeName, BUSY_ANSWER);
  return signedAnswer(alipay, nodeName, answerFor(alipay, method, params, store, now));
}
