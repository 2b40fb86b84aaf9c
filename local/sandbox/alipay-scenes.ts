import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { CURRENCY } from '../../src/domain/money';
import { ALIPAY_CODE_SUCCESS, fromAlipayTime, type AlipayResponseNode } from '../../src/providers/alipay';
import { requestSigned, uniqueParams } from './alipay-signing';
import {
  alipayCheckout,
  amountOf,
  businessFailed,
  parseBizContent,
  PayBizContentSchema,
  simulatorBase,
  tradeNo,
} from './alipay-trades';
import { SANDBOX_ALIPAY_MINIPROGRAM_APP_ID } from './scenes';
import type {
  CheckoutStore,
  ClientVerdict,
  CustomerDecision,
  SandboxCheckout,
  SandboxRequest,
  SandboxResponse,
} from './types';

/**
 * Alipay's other scenes at the sandbox (SCENES.md §5–§7): 当面付 QR (precreate: no trade until a
 * buyer scans it), the mini-program's trade (create, bound to its buyer), and the client
 * stand-ins: the app SDK, which checks the order string's RSA2 signature with the app public key,
 * and my.tradePay, which checks the paying buyer.
 */

const QR_TTL_MS = 2 * 60 * 60_000;

/** trade_no → out_trade_no: my.tradePay names the trade by Alipay's number. */
export type TradeIndex = Map<string, string>;
export const QR_PATH = /^\/qr\/([^/]+)$/;
export const SCENE_METHODS = ['alipay.trade.precreate', 'alipay.trade.create'] as const;

const CreateBizContentSchema = PayBizContentSchema.extend({ buyer_open_id: z.string().min(1), op_app_id: z.string() });

/** The trade the request describes, or why not (ACQ.INVALID_PARAMETER). */
function tradeOf(params: ReadonlyMap<string, string>, productCodes: readonly string[], method: string) {
  const biz = parseBizContent(params, method === 'alipay.trade.create' ? CreateBizContentSchema : PayBizContentSchema);
  const amount = biz && amountOf(biz.total_amount);
  const expiresAt = biz && fromAlipayTime(biz.time_expire);
  const notifyUrl = params.get('notify_url');
  if (!biz || amount === undefined || !expiresAt || !productCodes.includes(biz.product_code) || !notifyUrl)
    return undefined;
  return { biz, amount, expiresAt, notifyUrl };
}

/** alipay.trade.precreate and alipay.trade.create, answered as the gateway does. */
export function sceneTrade(
  method: (typeof SCENE_METHODS)[number],
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
  tradeIndex: TradeIndex,
): AlipayResponseNode {
  const qr = method === 'alipay.trade.precreate';
  const trade = tradeOf(params, qr ? ['FACE_TO_FACE_PAYMENT'] : ['JSAPI_PAY', 'FACE_TO_FACE_PAYMENT'], method);
  if (!trade) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content or notify_url is invalid');
  const { biz, amount, expiresAt, notifyUrl } = trade;
  const buyer = 'buyer_open_id' in biz && typeof biz.buyer_open_id === 'string' ? biz.buyer_open_id : undefined;
  if (!qr && (biz as { op_app_id?: string }).op_app_id !== SANDBOX_ALIPAY_MINIPROGRAM_APP_ID)
    return businessFailed('ACQ.INVALID_PARAMETER', 'op_app_id is not a mini-program of this app');
  if (Date.parse(expiresAt) <= now.getTime()) return businessFailed('ACQ.TRADE_HAS_CLOSE', 'time_expire has passed');
  const existing = alipayCheckout(store, biz.out_trade_no);
  if (existing?.state === 'paid') return businessFailed('ACQ.TRADE_HAS_SUCCESS', 'trade is already paid');
  if (existing && existing.state !== 'pending') return businessFailed('ACQ.TRADE_HAS_CLOSE', 'trade is closed');
  if (
    existing &&
    (existing.amount !== amount || existing.scene?.tradeType !== method || existing.scene.payer !== buyer)
  )
    return businessFailed('ACQ.CONTEXT_INCONSISTENT', 'trade information changed');
  const checkout: SandboxCheckout = existing ?? {
    provider: 'alipay',
    paymentId: biz.out_trade_no,
    amount,
    currency: CURRENCY,
    description: biz.subject,
    notifyUrl,
    expiresAt,
    state: 'pending',
    scene: qr
      ? { tradeType: method, unscanned: true, prepayIssuedAt: now.toISOString() }
      : { tradeType: method, appid: SANDBOX_ALIPAY_MINIPROGRAM_APP_ID, ...(buyer ? { payer: buyer } : {}) },
  };
  // The trade number is fixed when the trade exists: my.tradePay names it.
  const stored = qr ? checkout : { ...checkout, transactionId: tradeNo(checkout) };
  store.put(stored);
  if (stored.transactionId) tradeIndex.set(stored.transactionId, stored.paymentId);
  const ids = { code: ALIPAY_CODE_SUCCESS, msg: 'Success', out_trade_no: biz.out_trade_no };
  if (!qr) return { ...ids, trade_no: stored.transactionId } as AlipayResponseNode;
  return {
    ...ids,
    qr_code: `${simulatorBase(store)}/qr/${encodeURIComponent(biz.out_trade_no)}`,
  } as AlipayResponseNode;
}

/** A QR nobody scanned has no trade at Alipay: query and close answer ACQ.TRADE_NOT_EXIST, and the close closes nothing. */
export function tradeExists(checkout: SandboxCheckout | undefined): SandboxCheckout | undefined {
  return checkout?.scene?.unscanned ? undefined : checkout;
}

/** Only TRADE_SUCCESS is pushed for 当面付 (SCENES.md §6): a closed or failed QR trade notifies nobody. */
export function notifiesOutcome(checkout: SandboxCheckout): boolean {
  return checkout.scene?.tradeType !== 'alipay.trade.precreate' || checkout.state === 'paid';
}

/** GET <qr_code>: the buyer scans; the trade now exists and the cashier opens. A QR lives 2 hours, its trade until time_expire. */
export function scanQr(request: SandboxRequest, store: CheckoutStore, now: Date): SandboxResponse | undefined {
  const match = QR_PATH.exec(request.path);
  if (!match || request.method !== 'GET') return undefined;
  const checkout = alipayCheckout(store, decodeURIComponent(match[1]!));
  const text = (statusCode: number, body: string) => ({
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body,
  });
  if (!checkout || checkout.scene?.tradeType !== 'alipay.trade.precreate') return text(404, '二维码无效');
  const qrAge = now.getTime() - Date.parse(checkout.scene.prepayIssuedAt ?? '');
  if (qrAge >= QR_TTL_MS || Date.parse(checkout.expiresAt) <= now.getTime()) return text(410, '二维码已过期');
  if (checkout.scene.unscanned) store.put({ ...checkout, scene: { ...checkout.scene, unscanned: false } });
  return { statusCode: 302, headers: { location: store.checkoutUrl(checkout.paymentId) }, body: '' };
}

// ---------------------------------------------------------------------------------------------
// Client stand-ins
// ---------------------------------------------------------------------------------------------

const RESULT = { pay: '9000', cancel: '6001', fail: '4000' } as const;

function readBody(body: string): { fields: Record<string, unknown>; decision: CustomerDecision } | undefined {
  try {
    const fields = JSON.parse(body) as Record<string, unknown>;
    const decision = fields.decision === 'cancel' || fields.decision === 'fail' ? fields.decision : 'pay';
    return { fields, decision };
  } catch {
    return undefined;
  }
}

/**
 * `app` (the app SDK's payV2 with `{orderString}`) and `miniprogram` (my.tradePay with `{tradeNO,
 * buyerOpenId}`: the stand-in is told which buyer is signed in). The app SDK URL-decodes the order string, drops sign, sorts, checks RSA2 with
 * the app public key, the method, app_id and product code; the trade exists once the buyer
 * confirms. my.tradePay pays the trade only as the buyer it was created for.
 */
export function alipayClient(
  ids: { appId: string; appPublicKey: KeyObject },
  client: string,
  body: string,
  store: CheckoutStore,
  now: Date,
  tradeIndex: TradeIndex,
): ClientVerdict {
  const read = readBody(body);
  const refuse = (statusCode: number, reason: string): ClientVerdict => ({
    accepted: false,
    statusCode,
    answer: { resultStatus: RESULT.fail, resultCode: RESULT.fail, memo: reason },
  });
  if (!read) return refuse(400, 'the body is not JSON');
  if (client === 'app') return appPay(ids, read, store, now, refuse);
  if (client !== 'miniprogram') return refuse(404, `no Alipay client ${client}`);
  const tradeNumber = typeof read.fields.tradeNO === 'string' ? read.fields.tradeNO : '';
  const checkout = alipayCheckout(store, tradeIndex.get(tradeNumber) ?? '');
  if (!checkout || checkout.transactionId !== tradeNumber || checkout.scene?.tradeType !== 'alipay.trade.create')
    return refuse(400, 'trade does not exist');
  if (checkout.scene.payer !== read.fields.buyerOpenId) return refuse(400, 'the trade is another buyer’s');
  return verdict(checkout, read.decision, now, refuse);
}

function appPay(
  ids: { appId: string; appPublicKey: KeyObject },
  read: { fields: Record<string, unknown>; decision: CustomerDecision },
  store: CheckoutStore,
  now: Date,
  refuse: (statusCode: number, reason: string) => ClientVerdict,
): ClientVerdict {
  const orderString = typeof read.fields.orderString === 'string' ? read.fields.orderString : '';
  const params = uniqueParams(new URLSearchParams(orderString));
  if (!params || !requestSigned(params, ids.appPublicKey))
    return refuse(400, 'the order string’s sign does not verify');
  if (params.get('method') !== 'alipay.trade.app.pay' || params.get('app_id') !== ids.appId)
    return refuse(400, 'not an alipay.trade.app.pay order string of this app');
  const trade = tradeOf(params, ['QUICK_MSECURITY_PAY'], 'alipay.trade.app.pay');
  if (!trade) return refuse(400, 'biz_content or notify_url is invalid');
  const existing = alipayCheckout(store, trade.biz.out_trade_no);
  if (existing && existing.amount !== trade.amount) return refuse(400, 'trade information changed');
  const checkout: SandboxCheckout = existing ?? {
    provider: 'alipay',
    paymentId: trade.biz.out_trade_no,
    amount: trade.amount,
    currency: CURRENCY,
    description: trade.biz.subject,
    notifyUrl: trade.notifyUrl,
    expiresAt: trade.expiresAt,
    state: 'pending',
    scene: { tradeType: 'alipay.trade.app.pay' },
  };
  // The trade is created when the buyer confirms in the cashier; a cancel leaves none.
  if (read.decision === 'pay' && !existing) store.put(checkout);
  return verdict(checkout, read.decision, now, refuse);
}

function verdict(
  checkout: SandboxCheckout,
  decision: CustomerDecision,
  now: Date,
  refuse: (statusCode: number, reason: string) => ClientVerdict,
): ClientVerdict {
  if (checkout.state !== 'pending' || Date.parse(checkout.expiresAt) <= now.getTime())
    return refuse(409, 'the trade can no longer be paid');
  if (decision !== 'pay')
    return {
      accepted: false,
      statusCode: 200,
      answer: { resultStatus: RESULT[decision], resultCode: RESULT[decision] },
    };
  return {
    accepted: true,
    paymentId: checkout.paymentId,
    decision,
    answer: { resultStatus: RESULT.pay, resultCode: RESULT.pay },
  };
}
