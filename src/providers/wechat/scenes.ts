import type { SceneSupport } from '../../core/payments/provider';
import type { PaymentScene } from '../../domain/scene';
import type { WechatConfig } from '../config';

/**
 * WeChat Pay's scene table (SCENES.md §0–§4): each scene's prepay endpoint, its trade_type in
 * callbacks and queries, the payer id it needs, the appid this configuration binds it to, and how
 * long its handle may be handed out again. A scene whose appid is not configured is not offered.
 */
interface WechatScene {
  action: SceneSupport['action'];
  /** The prepay endpoint: POST /v3/pay/transactions/<path>. */
  path: 'native' | 'jsapi' | 'h5' | 'app';
  tradeType: 'NATIVE' | 'JSAPI' | 'MWEB' | 'APP';
  payer?: 'openid';
  usesClientIp?: boolean;
  appid(config: WechatConfig): string | undefined;
  /** prepay_id lives 2 h, h5_url 5 min (less a margin, so the customer has time to use it); none: the payment's expiry. */
  reuseMs?: number;
}

const MINUTE_MS = 60_000;
const PREPAY_REUSE_MS = 2 * 60 * MINUTE_MS - MINUTE_MS;
const H5_URL_REUSE_MS = 5 * MINUTE_MS - 30_000;

export const WECHAT_SCENES = {
  native: {
    action: 'qr',
    path: 'native',
    tradeType: 'NATIVE',
    appid: (config) => (config.scenes.native ? config.appid : undefined),
  },
  jsapi: {
    action: 'wechat-jsapi',
    path: 'jsapi',
    tradeType: 'JSAPI',
    payer: 'openid',
    appid: (config) => config.scenes.jsapi?.appid,
    reuseMs: PREPAY_REUSE_MS,
  },
  miniprogram: {
    action: 'wechat-jsapi',
    path: 'jsapi',
    tradeType: 'JSAPI',
    payer: 'openid',
    appid: (config) => config.scenes.miniprogram?.appid,
    reuseMs: PREPAY_REUSE_MS,
  },
  h5: {
    action: 'redirect',
    path: 'h5',
    tradeType: 'MWEB',
    usesClientIp: true,
    appid: (config) => (config.scenes.h5 ? (config.scenes.h5.appid ?? config.appid) : undefined),
    reuseMs: H5_URL_REUSE_MS,
  },
  app: {
    action: 'wechat-app',
    path: 'app',
    tradeType: 'APP',
    appid: (config) => config.scenes.app?.appid,
    reuseMs: PREPAY_REUSE_MS,
  },
} as const satisfies Record<string, WechatScene>;
export type WechatSceneName = keyof typeof WECHAT_SCENES;

export function isWechatScene(scene: PaymentScene): scene is WechatSceneName {
  return Object.hasOwn(WECHAT_SCENES, scene);
}

/** The table as the provider port shows it: every scene WeChat has, configured or not. */
export function wechatSceneTable(config: WechatConfig): ReadonlyMap<PaymentScene, SceneSupport> {
  return new Map(
    Object.entries(WECHAT_SCENES).map(([scene, entry]: [string, WechatScene]) => [
      scene as WechatSceneName,
      {
        configured: entry.appid(config) !== undefined,
        action: entry.action,
        ...(entry.payer ? { payer: entry.payer } : {}),
        ...(entry.usesClientIp ? { usesClientIp: true } : {}),
      },
    ]),
  );
}

/** Every appid a callback or a query may name: the one used at prepay, for any configured scene. */
export function configuredAppids(config: WechatConfig): ReadonlySet<string> {
  return new Set([
    config.appid,
    ...Object.values(WECHAT_SCENES).flatMap((entry: WechatScene) => entry.appid(config) ?? []),
  ]);
}

/** A transaction's trade_type and the scene it stands for, where it names one. */
export function tradeTypeOf(
  config: WechatConfig,
  transaction: { trade_type?: string; appid: string },
): { tradeType?: string; scene?: PaymentScene } {
  if (!transaction.trade_type) return {};
  const scene = sceneOfTransaction(config, transaction);
  return { tradeType: transaction.trade_type, ...(scene ? { scene } : {}) };
}

/** The scene a transaction's trade_type and appid stand for (JSAPI is the official account's or the mini-program's by appid). */
export function sceneOfTransaction(
  config: WechatConfig,
  transaction: { trade_type?: string; appid: string },
): PaymentScene | undefined {
  const candidates = (Object.entries(WECHAT_SCENES) as [WechatSceneName, WechatScene][]).filter(
    ([, entry]) => entry.tradeType === transaction.trade_type,
  );
  const byAppid = candidates.filter(([, entry]) => entry.appid(config) === transaction.appid);
  const [only] = byAppid.length === 1 ? byAppid : candidates.length === 1 ? candidates : [];
  return only?.[0];
}
