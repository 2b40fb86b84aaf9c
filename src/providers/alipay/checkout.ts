import { fenToYuan } from '../../domain/money';
import type { PayAction, StartedCheckout } from '../../domain/scene';
import { ProviderCallError, type ActionRequest, type CheckoutRequest } from '../../core/payments/provider';
import type { Merchant } from './callbacks';
import { callGateway, describeFailure, signedRequest } from './api';
import { alipaySignContent, encodeParams, rsa2Sign } from './signatures';
import { ALIPAY_SCENES, isAlipayScene, type AlipaySceneName } from './scenes';
import {
  type AlipayAppPayBizContent,
  type AlipayCreateBizContent,
  type AlipayPayBizContent,
  type AlipayPrecreateBizContent,
  ALIPAY_CHECKOUT_REFUSALS,
  ALIPAY_CODE_SUCCESS,
  AlipayCreateResponseSchema,
  AlipayPrecreateResponseSchema,
  PROVIDER,
  REFUSAL_CODES,
  SYSTEM_ERROR_SUB_CODES,
  toAlipayTime,
} from './wire';

/** The trade every scene describes the same way: the same payment gives the same fields (a re-entry, not a change). */
function tradeFields(request: CheckoutRequest) {
  const { payment } = request;
  return {
    out_trade_no: payment.paymentId,
    total_amount: fenToYuan(payment.amount),
    subject: payment.description,
    time_expire: toAlipayTime(new Date(payment.expiresAt)),
  };
}

function sceneOf(scene: string): AlipaySceneName {
  if (!isAlipayScene(scene as never))
    throw new ProviderCallError(PROVIDER, 'createPayUrl', `Alipay has no ${scene} scene`, false);
  return scene as AlipaySceneName;
}

/** Built locally: Alipay creates the trade only when the buyer opens the page and logs in. */
function payUrl(merchant: Merchant, request: CheckoutRequest, scene: 'page' | 'wap'): string {
  const bizContent: AlipayPayBizContent = {
    ...tradeFields(request),
    product_code: scene === 'wap' ? 'QUICK_WAP_WAY' : 'FAST_INSTANT_TRADE_PAY',
  };
  const params = signedRequest(merchant, ALIPAY_SCENES[scene].method, bizContent, request.now, {
    notify_url: request.notifyUrl,
    return_url: request.returnUrl,
  });
  return `${merchant.config.gateway}?${encodeParams({ ...params })}`;
}

/**
 * The app SDK's order string (alipay-sdk's sdkExecute, SCENES.md §5): no call to Alipay. Signed
 * over the sorted raw `key=value` pairs, then every value URL-encoded in the SDK's own order
 * (method, app_id, charset, version, sign_type, timestamp, notify_url, biz_content, sign).
 */
export function appOrderString(merchant: Merchant, request: CheckoutRequest): string {
  const bizContent: AlipayAppPayBizContent = { ...tradeFields(request), product_code: 'QUICK_MSECURITY_PAY' };
  const params: Record<string, string> = {
    method: 'alipay.trade.app.pay',
    app_id: merchant.config.appId,
    charset: 'utf-8',
    version: '1.0',
    sign_type: 'RSA2',
    timestamp: toAlipayTime(request.now),
    notify_url: request.notifyUrl,
    biz_content: JSON.stringify(bizContent),
  };
  return encodeParams({ ...params, sign: rsa2Sign(alipaySignContent(params, ['sign']), merchant.privateKey) });
}

/** A precreate / create that did not succeed: ACQ.SYSTEM_ERROR and 20000 may pass asked again; the sub-code says why not. */
function refused(node: { code: string; sub_code?: string; sub_msg?: string }): ProviderCallError {
  const subCode = node.sub_code ?? '';
  const retryable = !REFUSAL_CODES.has(node.code) || SYSTEM_ERROR_SUB_CODES.has(subCode);
  return new ProviderCallError(
    PROVIDER,
    'createPayUrl',
    `${describeFailure(node)}${node.sub_msg ? `: ${node.sub_msg}` : ''}`,
    retryable,
    retryable ? undefined : ALIPAY_CHECKOUT_REFUSALS[subCode],
    subCode || node.code,
  );
}

/** 当面付: Alipay answers a qr_code; the trade exists only once a buyer scans it. */
async function precreate(merchant: Merchant, request: CheckoutRequest): Promise<string> {
  const bizContent: AlipayPrecreateBizContent = { ...tradeFields(request), product_code: 'FACE_TO_FACE_PAYMENT' };
  const node = await callGateway(
    merchant,
    'alipay.trade.precreate',
    AlipayPrecreateResponseSchema,
    bizContent,
    request.now,
    'createPayUrl',
    request.notifyUrl,
  );
  if (node.code !== ALIPAY_CODE_SUCCESS) throw refused(node);
  if (!node.qr_code || node.out_trade_no !== request.payment.paymentId)
    throw new ProviderCallError(PROVIDER, 'createPayUrl', 'answer has no qr_code for this out_trade_no', false);
  return node.qr_code;
}

/** The mini-program's trade, created at once for the buyer who will pay it (my.tradePay takes its trade_no). */
async function createTrade(merchant: Merchant, request: CheckoutRequest): Promise<string> {
  const scene = merchant.config.scenes.miniprogram;
  const buyer = request.payer.alipayOpenId;
  if (!scene || !buyer)
    throw new ProviderCallError(
      PROVIDER,
      'createPayUrl',
      'the mini-program scene needs its app id and the buyer',
      false,
    );
  const bizContent: AlipayCreateBizContent = {
    ...tradeFields(request),
    product_code: scene.productCode,
    buyer_open_id: buyer,
    op_app_id: scene.appId,
  };
  const node = await callGateway(
    merchant,
    'alipay.trade.create',
    AlipayCreateResponseSchema,
    bizContent,
    request.now,
    'createPayUrl',
    request.notifyUrl,
  );
  if (node.code !== ALIPAY_CODE_SUCCESS) throw refused(node);
  if (!node.trade_no || node.out_trade_no !== request.payment.paymentId)
    throw new ProviderCallError(PROVIDER, 'createPayUrl', 'answer has no trade_no for this out_trade_no', false);
  return node.trade_no;
}

export async function startCheckout(merchant: Merchant, request: CheckoutRequest): Promise<StartedCheckout> {
  const scene = sceneOf(request.scene);
  const validUntil = { validUntil: new Date(request.now.getTime() + ALIPAY_SCENES.qr.reuseMs).toISOString() };
  switch (scene) {
    case 'page':
    case 'wap':
      return { ref: payUrl(merchant, request, scene) };
    case 'app':
      return { ref: appOrderString(merchant, request) };
    case 'qr':
      return { ref: await precreate(merchant, request), ...validUntil };
    case 'miniprogram':
      return { ref: await createTrade(merchant, request) };
  }
}

export function checkoutAction({ scene, ref }: ActionRequest): PayAction {
  switch (sceneOf(scene)) {
    case 'page':
    case 'wap':
      return { type: 'redirect', url: ref };
    case 'app':
      return { type: 'alipay-app', orderString: ref };
    case 'qr':
      return { type: 'qr', content: ref };
    case 'miniprogram':
      return { type: 'alipay-miniprogram', tradeNo: ref };
  }
}
