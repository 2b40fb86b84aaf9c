/**
 * Where a customer pays (docs/API.md#start-a-payment): the scene of a checkout and what the front
 * end gets to pay in it. Which scenes a method has, which payer id a scene needs and how each is
 * configured is each provider's own scene table (src/providers/<name>/scenes.ts); these are the
 * words they share with the API.
 */
export const PAYMENT_SCENES = ['native', 'jsapi', 'miniprogram', 'h5', 'app', 'page', 'wap', 'qr'] as const;
export type PaymentScene = (typeof PAYMENT_SCENES)[number];

/**
 * The payer's id at the provider, for the scenes that need one: WeChat's `openid` (under the
 * official account's or the mini-program's appid) and Alipay's `buyer_open_id`. It comes from the
 * shop's server-side code exchange (a token claim), or from the body where the shop has none.
 */
export interface Payer {
  openid?: string;
  alipayOpenId?: string;
}
export type PayerField = keyof Payer;

/** WeixinJSBridge.invoke('getBrandWCPayRequest') and wx.requestPayment take these, all strings. */
export interface WechatJsapiParams {
  appId: string;
  /** Unix seconds. */
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=<prepay_id>` */
  package: string;
  signType: 'RSA';
  paySign: string;
}

/** The WeChat OpenSDK's PayReq, as the Java SDK names its fields. */
export interface WechatAppParams {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: 'Sign=WXPay';
  noncestr: string;
  timestamp: string;
  sign: string;
}

/** What the front end does to pay: show a QR, go to a page, call a bridge or an app SDK. */
export type PayAction =
  | { type: 'qr'; content: string }
  | { type: 'redirect'; url: string }
  | { type: 'wechat-jsapi'; params: WechatJsapiParams }
  | { type: 'wechat-app'; params: WechatAppParams }
  | { type: 'alipay-app'; orderString: string }
  | { type: 'alipay-miniprogram'; tradeNo: string };
export type PayActionType = PayAction['type'];
export const PAY_ACTION_TYPES = [
  'qr',
  'redirect',
  'wechat-jsapi',
  'wechat-app',
  'alipay-app',
  'alipay-miniprogram',
] as const satisfies readonly PayActionType[];

/** The address of a redirect or QR action (the answer's `payUrl`, kept for clients from before scenes). */
export function payUrlOf(action: PayAction): string | undefined {
  if (action.type === 'redirect') return action.url;
  if (action.type === 'qr') return action.content;
  return undefined;
}

/**
 * A started checkout, kept on its payment so that a repeated start answers without a new provider
 * order: the provider's handle (prepay_id, h5_url, code_url, qr_code, trade_no, the signed pay URL
 * or order string), how long it may be handed out again, and what it was created with (a new
 * payer or, for H5, another client IP is another checkout).
 */
export interface StartedCheckout {
  ref: string;
  /** After this the handle is dead (prepay_id 2 h, h5_url 5 min, qr_code 2 h); absent: while the payment is open. */
  validUntil?: string;
  payer?: Payer;
  clientIp?: string;
}

/** A started checkout as its payment keeps it: without `ref` when that is the pay URL, kept once (an Alipay page URL is 1 KB). */
export type KeptCheckout = Omit<StartedCheckout, 'ref'> & { ref?: string };

/** Whether a repeated start asks for the checkout the payment already has. */
export function sameCheckoutInputs(
  started: Pick<StartedCheckout, 'payer' | 'clientIp'>,
  asked: Pick<StartedCheckout, 'payer' | 'clientIp'>,
): boolean {
  const payer = (checkout: Pick<StartedCheckout, 'payer'>) =>
    JSON.stringify([checkout.payer?.openid, checkout.payer?.alipayOpenId]);
  return payer(started) === payer(asked) && started.clientIp === asked.clientIp;
}

/** Whether the handle may still be handed out at `now`. */
export function checkoutUsable(checkout: Pick<StartedCheckout, 'validUntil'>, now: Date): boolean {
  return checkout.validUntil === undefined || now.toISOString() < checkout.validUntil;
}
