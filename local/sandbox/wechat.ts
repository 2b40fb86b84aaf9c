import { SANDBOX_WECHAT_APPIDS, SANDBOX_WECHAT_SCENES } from './scenes';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { WechatConfig } from '../../src/providers/config';
import type { ProviderSimulator, SandboxRequest } from './types';
import { WECHAT_PREPAY_ERRORS, refusalArms } from './refusals';
import { type BillFiles, type RefundRules, route } from './wechat-api';
import { callLimit } from './call-limit';
import { bridgeResponse } from './wechat-bridge';
import { type OauthCodes, oauthResponse } from './wechat-oauth';
import {
  H5_PATH,
  PREPAY_TRADE_TYPES,
  h5Cashier,
  merchantPublicKeyOf,
  type PrepayIndex,
  wechatClient,
} from './wechat-scenes';
import { buildCallback, buildRefundCallback } from './wechat-callbacks';
import {
  type WechatSandboxKeys,
  authorizationProblem,
  CLOSE_PATH,
  error,
  NATIVE_PATH,
  ORDER_PATH,
  randomAlphanumeric,
} from './wechat-signing';

/**
 * WeChat Pay API v3, from WeChat's side. Signing, verification and encryption are written here
 * independently of the merchant module (src/providers/wechat/), so a mistake on either side
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

function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** A merchant key pair and a platform key pair; the merchant trusts the platform key by its id. */
export function generateWechatKeys(sandboxBaseUrl: string): { merchant: WechatConfig; sandbox: WechatSandboxKeys } {
  const merchantPair = rsaKeyPair();
  const platformPair = rsaKeyPair();
  const ids = {
    mchid: '1900000001',
    appid: SANDBOX_WECHAT_APPIDS.main,
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
      scenes: SANDBOX_WECHAT_SCENES,
    },
    sandbox: {
      ...ids,
      merchantPublicKey: merchantPair.publicKey,
      platformSerial,
      platformPrivateKey: platformPair.privateKey,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing (WeChat's side)
// ---------------------------------------------------------------------------------------------

/** What the sandbox merchant has set up at WeChat: refund spacing, JSAPI 支付授权目录 (none: every page passes), H5 domains. */
export type WechatRules = Partial<RefundRules> & {
  jsapiDirectories?: readonly string[];
  /** H5 支付域名 (a domain covers its subdomains); none: every Referer and redirect_url passes. */
  h5Domains?: readonly string[];
  /** Order queries and closes a second, each, past which the answer is 429 FREQUENCY_LIMITED (0: none). */
  callsPerSecond?: number;
};

export function createWechatSimulator(keys: WechatSandboxKeys, rules: WechatRules = {}): ProviderSimulator {
  const state = {
    rules: { refundSpacingMs: rules.refundSpacingMs ?? 0 },
    billFiles: new Map() as BillFiles,
    prepays: new Map() as PrepayIndex,
    oauthCodes: new Map() as OauthCodes,
  };
  const refusals = refusalArms(WECHAT_PREPAY_ERRORS);
  const merchantKey = merchantPublicKeyOf(keys);
  const overLimit = callLimit(rules.callsPerSecond ?? 0);
  /** The order query and close: what the expiry wave calls, held to the merchant's limit. */
  const limitedApi = (request: SandboxRequest) =>
    (request.method === 'GET' && ORDER_PATH.test(request.path) && 'query') ||
    (request.method === 'POST' && CLOSE_PATH.test(request.path) && 'close');
  return {
    name: 'wechat',
    handle: async (request, store, now) => {
      // The H5 cashier is a page the customer's browser opens, not a signed API call.
      if (request.method === 'GET' && request.path === H5_PATH)
        return h5Cashier(request, store, now, state.prepays, rules.h5Domains);
      const bridge = request.method === 'GET' ? bridgeResponse(request.path) : undefined;
      if (bridge) return bridge;
      // The openid's code exchange is api.weixin.qq.com's, not signed like Pay's API.
      const oauth = oauthResponse(request, state.oauthCodes, now);
      if (oauth) return oauth;
      const problem = authorizationProblem(keys, request, now);
      if (problem) return error(keys, 401, 'SIGN_ERROR', problem, now);
      const api = limitedApi(request);
      if (api && overLimit(api, now))
        return error(keys, 429, 'FREQUENCY_LIMITED', '商户请求频率超过限制，请降低频率后重试', now);
      const refused = isOrderCreation(request) ? refusals.take(outTradeNoOf(request.body)) : undefined;
      const [status, message] = (refused && WECHAT_PREPAY_ERRORS[refused]) || [];
      if (refused && status && message) return error(keys, status, refused, message, now);
      return route(keys, request, store, now, state);
    },
    refusals,
    buildCallback: (checkout, now) => buildCallback(keys, checkout, now),
    buildRefundCallback: (checkout, refund, now) => buildRefundCallback(keys, checkout, refund, now),
    isAcknowledged: (statusCode) => statusCode === 200 || statusCode === 204,
    client: (client, body, store, now) =>
      wechatClient(
        { keys, merchantKey, jsapiDirectories: rules.jsapiDirectories },
        client,
        body,
        store,
        now,
        state.prepays,
      ),
  };
}

/** A Native or JSAPI / H5 / App prepay: what an armed refusal answers. */
function isOrderCreation(request: SandboxRequest): boolean {
  return request.method === 'POST' && (request.path === NATIVE_PATH || Object.hasOwn(PREPAY_TRADE_TYPES, request.path));
}

function outTradeNoOf(body: string): string {
  try {
    const { out_trade_no: outTradeNo } = JSON.parse(body) as { out_trade_no?: unknown };
    return typeof outTradeNo === 'string' ? outTradeNo : '';
  } catch {
    return '';
  }
}
