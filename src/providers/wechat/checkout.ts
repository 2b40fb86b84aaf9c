import { CURRENCY, assertFen } from '../../domain/money';
import type { PayAction, StartedCheckout } from '../../domain/scene';
import type { ActionRequest, CheckoutRequest } from '../../core/payments/provider';
import type { WechatConfig } from '../config';
import type { ProviderSender } from '../kit/http';
import { parseJson } from '../kit/parse';
import { callError, checkoutRefused, send } from './api';
import type { WechatKeys } from './callbacks';
import { appPayParams, jsapiPayParams } from './client-signatures';
import { WECHAT_SCENES, isWechatScene, type WechatSceneName } from './scenes';
import {
  type WechatPrepayRequest,
  H5OrderResponseSchema,
  NativeOrderResponseSchema,
  PrepayResponseSchema,
  toBeijingRfc3339,
} from './wire';

/** What every call uses: the configuration, its keys loaded once, the bounded sender. */
export interface Wechat {
  config: WechatConfig;
  keys: WechatKeys;
  sender: ProviderSender;
}

/** Each prepay's answer: the handle kept on the payment (code_url, prepay_id, h5_url). */
const HANDLE_OF: Readonly<Record<WechatSceneName, (body: string) => string | undefined>> = {
  native: (body) => parseJson(body, NativeOrderResponseSchema)?.code_url,
  jsapi: (body) => parseJson(body, PrepayResponseSchema)?.prepay_id,
  miniprogram: (body) => parseJson(body, PrepayResponseSchema)?.prepay_id,
  app: (body) => parseJson(body, PrepayResponseSchema)?.prepay_id,
  h5: (body) => parseJson(body, H5OrderResponseSchema)?.h5_url,
};

function sceneOf(scene: string): WechatSceneName {
  if (!isWechatScene(scene as never)) throw callError('createPayUrl', `WeChat has no ${scene} scene`, false);
  return scene as WechatSceneName;
}

function appidOf(config: WechatConfig, scene: WechatSceneName): string {
  const appid = WECHAT_SCENES[scene].appid(config);
  if (!appid) throw callError('createPayUrl', `the ${scene} scene has no appid configured`, false);
  return appid;
}

/** The prepay body: the same for the same payment, so asking again re-enters (SCENES.md §0, "参数重入"). */
export function prepayBody(config: WechatConfig, request: CheckoutRequest): WechatPrepayRequest {
  const scene = sceneOf(request.scene);
  const { payment, payer, clientIp, notifyUrl } = request;
  const h5 = config.scenes.h5;
  return {
    appid: appidOf(config, scene),
    mchid: config.mchid,
    description: payment.description,
    out_trade_no: payment.paymentId,
    notify_url: notifyUrl,
    amount: { total: assertFen(payment.amount), currency: CURRENCY },
    time_expire: toBeijingRfc3339(payment.expiresAt),
    ...(WECHAT_SCENES[scene].path === 'jsapi' && payer.openid ? { payer: { openid: payer.openid } } : {}),
    ...(scene === 'h5' && h5
      ? {
          scene_info: {
            payer_client_ip: clientIp,
            h5_info: {
              type: h5.type,
              ...(h5.appName ? { app_name: h5.appName } : {}),
              ...(h5.appUrl ? { app_url: h5.appUrl } : {}),
            },
          },
        }
      : {}),
  };
}

/** Creates (or re-enters) the scene's prepay order; WeChat answers the handle the front end needs. */
export async function startCheckout(
  { config, keys, sender }: Wechat,
  request: CheckoutRequest,
): Promise<StartedCheckout> {
  const scene = sceneOf(request.scene);
  const entry: { path: string; reuseMs?: number } = WECHAT_SCENES[scene];
  if (entry.path === 'jsapi' && !request.payer.openid)
    throw callError('createPayUrl', `the ${scene} scene needs the payer's openid`, false);
  const answer = await send(config, keys, sender, 'createPayUrl', {
    method: 'POST',
    path: `/v3/pay/transactions/${entry.path}`,
    body: JSON.stringify(prepayBody(config, request)),
    now: request.now,
  });
  if (answer.status !== 200) throw checkoutRefused(answer);
  const ref = HANDLE_OF[scene](answer.body);
  if (!ref)
    throw callError(
      'createPayUrl',
      `answer has no ${scene === 'native' ? 'code_url' : scene === 'h5' ? 'h5_url' : 'prepay_id'}`,
      false,
    );
  return {
    ref,
    ...(entry.reuseMs === undefined
      ? {}
      : { validUntil: new Date(request.now.getTime() + entry.reuseMs).toISOString() }),
  };
}

/**
 * The action for a started checkout. The bridge and app parameters are signed afresh (nonce,
 * timestamp) every time; an H5 URL gets the shop's return page as `redirect_url` (it must be on a
 * registered H5 domain).
 */
export function checkoutAction({ config, keys }: Wechat, { scene, ref, returnUrl, now }: ActionRequest): PayAction {
  const name = sceneOf(scene);
  switch (name) {
    case 'native':
      return { type: 'qr', content: ref };
    case 'h5':
      return { type: 'redirect', url: `${ref}&redirect_url=${encodeURIComponent(returnUrl)}` };
    case 'jsapi':
    case 'miniprogram':
      return { type: 'wechat-jsapi', params: jsapiPayParams(appidOf(config, name), ref, keys.merchantKey, now) };
    case 'app':
      return {
        type: 'wechat-app',
        params: appPayParams({ appid: appidOf(config, name), mchid: config.mchid }, ref, keys.merchantKey, now),
      };
  }
}
