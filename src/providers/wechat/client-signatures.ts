import { randomInt, sign, type KeyObject } from 'node:crypto';
import type { WechatAppParams, WechatJsapiParams } from '../../domain/scene';

/**
 * What the customer's WeChat client is handed (SCENES.md §1, §2, §4): RSA PKCS#1 v1.5 with SHA-256
 * and the merchant API private key, Base64, over lines that each end in `\n`, the last included.
 * A fresh nonce and timestamp every time; WeChat verifies with the merchant certificate's key.
 */

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** 32 characters, WeChat's limit for nonceStr / noncestr. */
export function newNonceStr(): string {
  return Array.from({ length: 32 }, () => NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)]).join('');
}

/** Lines joined by `\n` with a `\n` after the last (wechatpay-axios-plugin's joinedByLineFeed). */
export function joinedByLineFeed(...lines: string[]): string {
  return [...lines, ''].join('\n');
}

function rsaSign(message: string, merchantKey: KeyObject): string {
  return sign('sha256', Buffer.from(message, 'utf8'), merchantKey).toString('base64');
}

/** `${appId}\n${timeStamp}\n${nonceStr}\n${package}\n` — the JSAPI and mini-program paySign message. */
export function jsapiPaySignMessage(params: Omit<WechatJsapiParams, 'signType' | 'paySign'>): string {
  return joinedByLineFeed(params.appId, params.timeStamp, params.nonceStr, params.package);
}

/** `${appid}\n${timestamp}\n${noncestr}\n${prepayid}\n` — the App sign message: the bare prepayid, not `package`. */
export function appSignMessage(params: Pick<WechatAppParams, 'appid' | 'timestamp' | 'noncestr' | 'prepayid'>): string {
  return joinedByLineFeed(params.appid, params.timestamp, params.noncestr, params.prepayid);
}

const unixSeconds = (now: Date) => String(Math.floor(now.getTime() / 1000));

/** The parameters for WeixinJSBridge.invoke('getBrandWCPayRequest') and wx.requestPayment. */
export function jsapiPayParams(appId: string, prepayId: string, merchantKey: KeyObject, now: Date): WechatJsapiParams {
  const unsigned = { appId, timeStamp: unixSeconds(now), nonceStr: newNonceStr(), package: `prepay_id=${prepayId}` };
  return { ...unsigned, signType: 'RSA', paySign: rsaSign(jsapiPaySignMessage(unsigned), merchantKey) };
}

/** The OpenSDK's PayReq for the shop's app. */
export function appPayParams(
  ids: { appid: string; mchid: string },
  prepayId: string,
  merchantKey: KeyObject,
  now: Date,
): WechatAppParams {
  const unsigned = { appid: ids.appid, timestamp: unixSeconds(now), noncestr: newNonceStr(), prepayid: prepayId };
  return {
    ...unsigned,
    partnerid: ids.mchid,
    package: 'Sign=WXPay',
    sign: rsaSign(appSignMessage(unsigned), merchantKey),
  };
}
