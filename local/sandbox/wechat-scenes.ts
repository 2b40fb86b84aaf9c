import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { CURRENCY } from '../../src/domain/money';
import { readNativeOrder } from './wechat-api';
import { answer, error, wechatCheckout, type WechatSandboxKeys } from './wechat-signing';
import { SANDBOX_WECHAT_APPIDS } from './scenes';
import type {
  CheckoutStore,
  ClientVerdict,
  CustomerDecision,
  SandboxCheckout,
  SandboxRequest,
  SandboxResponse,
} from './types';

/**
 * WeChat's other scenes at the sandbox (SCENES.md §1–§4): the JSAPI / mini-program, H5 and App
 * prepay orders, the H5 cashier (checkmweb) and the client stand-ins that check what WeChat's
 * JS bridge, wx.requestPayment and the OpenSDK check: the signature over the exact lines, with
 * the merchant's public key.
 */

type PrepayTradeType = 'JSAPI' | 'MWEB' | 'APP';

export const PREPAY_TRADE_TYPES: Readonly<Record<string, PrepayTradeType>> = {
  '/v3/pay/transactions/jsapi': 'JSAPI',
  '/v3/pay/transactions/h5': 'MWEB',
  '/v3/pay/transactions/app': 'APP',
};

/** The appids the sandbox merchant has bound to its mchid, per trade type. */
const APPIDS: Readonly<Record<PrepayTradeType, readonly string[]>> = {
  JSAPI: [SANDBOX_WECHAT_APPIDS.jsapi, SANDBOX_WECHAT_APPIDS.miniprogram],
  MWEB: [SANDBOX_WECHAT_APPIDS.main, SANDBOX_WECHAT_APPIDS.jsapi],
  APP: [SANDBOX_WECHAT_APPIDS.app],
};

const PREPAY_TTL_MS = 2 * 60 * 60_000;
const H5_URL_TTL_MS = 5 * 60_000;
export const H5_PATH = '/h5/checkmweb';

const newPrepayId = (now: Date) =>
  `wx${now.toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(9).toString('hex')}`;

/** prepay_id → out_trade_no, as WeChat finds the order a bridge call names. */
export type PrepayIndex = Map<string, string>;

interface SceneFields {
  payer?: string;
  clientIp?: string;
}

/** payer.openid (JSAPI) or scene_info (H5), or the PARAM_ERROR message. */
function sceneFields(tradeType: PrepayTradeType, body: string): SceneFields | string {
  const parsed = JSON.parse(body) as {
    payer?: { openid?: unknown };
    scene_info?: { payer_client_ip?: unknown; h5_info?: { type?: unknown } };
  };
  if (tradeType === 'JSAPI') {
    const openid = parsed.payer?.openid;
    return typeof openid === 'string' && openid.length > 0 && openid.length <= 128
      ? { payer: openid }
      : 'payer.openid is required';
  }
  if (tradeType === 'MWEB') {
    const ip = parsed.scene_info?.payer_client_ip;
    const type = parsed.scene_info?.h5_info?.type;
    if (typeof ip !== 'string' || ip.length < 1 || ip.length > 45) return 'scene_info.payer_client_ip is required';
    if (type !== 'iOS' && type !== 'Android' && type !== 'Wap')
      return 'scene_info.h5_info.type must be iOS, Android or Wap';
    return { clientIp: ip };
  }
  return {};
}

/**
 * POST /v3/pay/transactions/{jsapi,h5,app}. The same order again (参数重入) answers its current
 * prepay_id, a fresh one after 2 hours, and for H5 always a fresh 5-minute h5_url; the same
 * out_trade_no with other parameters (another openid, amount or trade type) is refused.
 */
export function createPrepayOrder(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  tradeType: PrepayTradeType,
  prepays: PrepayIndex,
): SandboxResponse {
  const order = readNativeOrder(keys, request.body, now, APPIDS[tradeType]);
  if (typeof order === 'string') return error(keys, 400, 'PARAM_ERROR', order, now);
  const fields = sceneFields(tradeType, request.body);
  if (typeof fields === 'string') return error(keys, 400, 'PARAM_ERROR', fields, now);
  const existing = wechatCheckout(store, order.paymentId);
  if (existing && !sameOrder(existing, order, tradeType, fields))
    return error(keys, 400, 'INVALID_REQUEST', '201 商户订单号重复', now);
  if (existing?.state === 'paid') return error(keys, 400, 'ORDERPAID', '订单已支付', now);
  if (existing && existing.state !== 'pending')
    return error(keys, 400, 'ORDER_CLOSED', '当前订单已关闭，请重新下单', now);
  const fresh =
    !existing?.scene?.prepayId ||
    tradeType === 'MWEB' ||
    Date.parse(existing.scene.prepayIssuedAt ?? '') + PREPAY_TTL_MS <= now.getTime();
  const prepayId = fresh ? newPrepayId(now) : existing.scene!.prepayId!;
  const { appid, ...checkoutFields } = order;
  const base: SandboxCheckout = existing ?? {
    provider: 'wechat',
    currency: CURRENCY,
    state: 'pending',
    ...checkoutFields,
  };
  store.put({
    ...base,
    scene: {
      tradeType,
      appid,
      ...fields,
      prepayId,
      prepayIssuedAt: fresh ? now.toISOString() : existing!.scene!.prepayIssuedAt,
    },
  });
  prepays.set(prepayId, order.paymentId);
  if (tradeType !== 'MWEB') return answer(keys, 200, { prepay_id: prepayId }, now);
  const h5Url = new URL(`../wechat${H5_PATH}`, store.checkoutUrl('_'));
  h5Url.search = new URLSearchParams({
    prepay_id: prepayId,
    package: String(randomBytes(4).readUInt32BE()),
  }).toString();
  return answer(keys, 200, { h5_url: h5Url.href }, now);
}

function sameOrder(
  existing: SandboxCheckout,
  order: { appid: string; amount: number },
  tradeType: PrepayTradeType,
  fields: SceneFields,
): boolean {
  return (
    existing.amount === order.amount &&
    existing.scene?.tradeType === tradeType &&
    existing.scene.appid === order.appid &&
    existing.scene.payer === fields.payer &&
    (tradeType !== 'MWEB' || existing.scene.clientIp === fields.clientIp)
  );
}

/**
 * GET <h5_url>: WeChat's H5 cashier. Refuses as WeChat does: an h5_url older than 5 minutes
 * ("支付请求已失效"), a browser whose IP is not payer_client_ip ("网络环境未能通过安全验证"), a page
 * opened with no Referer ("商家参数格式有误"), a Referer or redirect_url off the registered H5
 * domains ("商家存在未配置的参数"). Otherwise the sandbox checkout, whose return link is
 * redirect_url: reached after paying or giving up alike, so the shop's page must not assume success.
 */
export function h5Cashier(
  request: SandboxRequest,
  store: CheckoutStore,
  now: Date,
  prepays: PrepayIndex,
  h5Domains?: readonly string[],
): SandboxResponse {
  const prepayId = request.query.get('prepay_id') ?? '';
  const checkout = wechatCheckout(store, prepays.get(prepayId) ?? '');
  const page = (statusCode: number, message: string): SandboxResponse => ({
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>微信支付</title><p id="message">${message}</p>`,
  });
  if (!checkout || checkout.scene?.prepayId !== prepayId || checkout.scene.tradeType !== 'MWEB')
    return page(404, '订单不存在');
  if (Date.parse(checkout.scene.prepayIssuedAt ?? '') + H5_URL_TTL_MS <= now.getTime())
    return page(400, '支付请求已失效');
  if (!request.headers.referer) return page(400, '商家参数格式有误');
  const redirect = request.query.get('redirect_url');
  if (!onH5Domain(request.headers.referer, h5Domains) || (redirect !== null && !onH5Domain(redirect, h5Domains)))
    return page(400, '商家存在未配置的参数');
  if (request.sourceIp !== undefined && !sameIp(request.sourceIp, checkout.scene.clientIp))
    return page(400, '网络环境未能通过安全验证');
  store.put({ ...checkout, ...(redirect ? { returnUrl: redirect } : {}) });
  return { statusCode: 302, headers: { location: store.checkoutUrl(checkout.paymentId) }, body: '' };
}

/** The Referer or redirect_url is on a registered H5 domain; a first-level domain covers its subdomains (SCENES.md §3). */
function onH5Domain(url: string, domains: readonly string[] | undefined): boolean {
  if (!domains) return true;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return domains.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

/** 127.0.0.1 and ::ffff:127.0.0.1 are one address. */
function sameIp(seen: string, given: string | undefined): boolean {
  const plain = (ip: string) => ip.replace(/^::ffff:/, '');
  return given !== undefined && plain(seen) === plain(given);
}

// ---------------------------------------------------------------------------------------------
// Client stand-ins
// ---------------------------------------------------------------------------------------------

/** The words each client answers with (SCENES.md §1, §2, §4). */
const CLIENT_WORDS = {
  jsapi: {
    field: 'err_msg',
    ok: 'get_brand_wcpay_request:ok',
    cancel: 'get_brand_wcpay_request:cancel',
    fail: 'get_brand_wcpay_request:fail',
  },
  miniprogram: {
    field: 'errMsg',
    ok: 'requestPayment:ok',
    cancel: 'requestPayment:fail cancel',
    fail: 'requestPayment:fail',
  },
  app: { field: 'errCode', ok: 0, cancel: -2, fail: -1 },
} as const;
type WechatClient = keyof typeof CLIENT_WORDS;

interface ClientCall {
  client: WechatClient;
  appid: string;
  prepayId: string;
  message: string;
  signature: string;
  decision: CustomerDecision;
  /** What else the client checks, as a refusal reason. */
  problem?: string;
  /** The page that called the JS bridge (bridge.js sends it), for the 支付授权目录 check. */
  pageUrl?: string;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** `{params, decision?}`: the bridge / PayReq params the front end was handed, and what the customer does. */
function readClientCall(client: WechatClient, body: string, keys: WechatSandboxKeys): ClientCall | undefined {
  let parsed: { params?: Record<string, unknown>; decision?: unknown; pageUrl?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  const params = parsed.params ?? {};
  const decision: CustomerDecision =
    parsed.decision === 'cancel' || parsed.decision === 'fail' ? parsed.decision : 'pay';
  if (client === 'app') {
    const [appid, timestamp, noncestr, prepayid] = [
      params.appid,
      params.timestamp,
      params.noncestr,
      params.prepayid,
    ].map(text);
    const problem =
      params.partnerid !== keys.mchid
        ? 'partnerid is not the mchid'
        : params.package !== 'Sign=WXPay'
          ? 'package must be Sign=WXPay'
          : undefined;
    return {
      client,
      appid: appid!,
      prepayId: prepayid!,
      message: `${appid}\n${timestamp}\n${noncestr}\n${prepayid}\n`,
      signature: text(params.sign),
      decision,
      ...(problem ? { problem } : {}),
    };
  }
  const [appId, timeStamp, nonceStr, pkg] = [params.appId, params.timeStamp, params.nonceStr, params.package].map(text);
  return {
    client,
    ...(typeof parsed.pageUrl === 'string' ? { pageUrl: parsed.pageUrl } : {}),
    appid: appId!,
    prepayId: pkg!.replace(/^prepay_id=/, ''),
    message: `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`,
    signature: text(params.paySign),
    decision,
    ...(params.signType !== 'RSA'
      ? { problem: 'signType must be RSA' }
      : !pkg!.startsWith('prepay_id=')
        ? { problem: 'package must be prepay_id=…' }
        : {}),
  };
}

/**
 * What WeChat's client checks before it opens the cashier: the signature over the exact lines with
 * the merchant's public key, the appid the order was made under, a prepay_id under 2 hours old,
 * an order still payable. Then the customer pays (the order is paid and notified), cancels or
 * fails (the order stays payable).
 */
export function wechatClient(
  { keys, merchantKey, jsapiDirectories }: WechatClientSetup,
  client: string,
  body: string,
  store: CheckoutStore,
  now: Date,
  prepays: PrepayIndex,
): ClientVerdict {
  if (!Object.hasOwn(CLIENT_WORDS, client))
    return { accepted: false, statusCode: 404, answer: { error: `no WeChat client ${client}` } };
  const words = CLIENT_WORDS[client as WechatClient];
  const call = readClientCall(client as WechatClient, body, keys);
  const refuse = (reason: string): ClientVerdict => ({
    accepted: false,
    statusCode: 400,
    answer: { [words.field]: words.fail, reason },
  });
  if (!call) return refuse('the body is not JSON');
  if (call.problem) return refuse(call.problem);
  if (call.client === 'jsapi' && !underPaymentDirectory(call.pageUrl, jsapiDirectories))
    return refuse('当前页面的URL未注册: the page is not under a registered JSAPI payment directory');
  if (!verifySignature(call, merchantKey))
    return refuse('签名验证失败: the signature does not verify with the merchant public key');
  const checkout = wechatCheckout(store, prepays.get(call.prepayId) ?? '');
  if (!checkout || checkout.scene?.prepayId !== call.prepayId) return refuse('prepay_id is unknown or replaced');
  if (checkout.scene.appid !== call.appid) return refuse('the appid is not the one the order was made under');
  if (Date.parse(checkout.scene.prepayIssuedAt ?? '') + PREPAY_TTL_MS <= now.getTime())
    return refuse('prepay_id has expired');
  if (checkout.state !== 'pending' || Date.parse(checkout.expiresAt) <= now.getTime())
    return refuse('the order can no longer be paid');
  if (call.decision !== 'pay')
    return { accepted: false, statusCode: 200, answer: { [words.field]: words[call.decision] } };
  return { accepted: true, paymentId: checkout.paymentId, decision: 'pay', answer: { [words.field]: words.ok } };
}

export interface WechatClientSetup {
  keys: WechatSandboxKeys;
  merchantKey: KeyObject;
  /** The 支付授权目录: `https://domain/` (the whole site) or a full directory ending in `/`; undefined checks nothing. */
  jsapiDirectories?: readonly string[] | undefined;
}

/**
 * WeChat opens the JSAPI cashier only for a page in a registered directory (SCENES.md §1): the
 * page's own directory is one of them, or one is its site's root. Case-sensitive, as WeChat's. A
 * call without a page (POST /sandbox/client/wechat/jsapi from a script) plays a registered one.
 */
function underPaymentDirectory(pageUrl: string | undefined, directories: readonly string[] | undefined): boolean {
  if (!directories || pageUrl === undefined) return true;
  let page: URL;
  try {
    page = new URL(pageUrl);
  } catch {
    return false;
  }
  const directory = `${page.origin}${page.pathname.slice(0, page.pathname.lastIndexOf('/') + 1)}`;
  return directories.some((registered) => registered === directory || registered === `${page.origin}/`);
}

function verifySignature(call: ClientCall, merchantKey: KeyObject): boolean {
  try {
    return verify('sha256', Buffer.from(call.message, 'utf8'), merchantKey, Buffer.from(call.signature, 'base64'));
  } catch {
    return false;
  }
}

export const merchantPublicKeyOf = (keys: WechatSandboxKeys) => createPublicKey(keys.merchantPublicKey);
