import type { SceneSupport } from '../../core/payments/provider';
import type { PaymentScene } from '../../domain/scene';
import type { AlipayConfig } from '../config';
import type { AlipayMethod } from './wire';

/**
 * Alipay's scene table (PROVIDERS.md, SCENES.md §5–§7): each scene's method and product code, the
 * payer id it needs, and how long its handle may be handed out again. The pay page, wap page and
 * app order string are signed here and sent by the customer; the QR and the mini-program's trade
 * are asked of the gateway. Alipay notifies no trade type: the scene is not checked on callbacks.
 */
interface AlipayScene {
  action: SceneSupport['action'];
  method: Extract<AlipayMethod, `alipay.trade.${string}`>;
  payer?: 'alipayOpenId';
  /** qr_code lives 2 hours whatever the timeouts say (less a margin); none: the payment's expiry. */
  reuseMs?: number;
}

export const ALIPAY_SCENES = {
  page: { action: 'redirect', method: 'alipay.trade.page.pay' },
  wap: { action: 'redirect', method: 'alipay.trade.wap.pay' },
  app: { action: 'alipay-app', method: 'alipay.trade.app.pay' },
  qr: { action: 'qr', method: 'alipay.trade.precreate', reuseMs: 2 * 60 * 60_000 - 60_000 },
  miniprogram: { action: 'alipay-miniprogram', method: 'alipay.trade.create', payer: 'alipayOpenId' },
} as const satisfies Record<string, AlipayScene>;
export type AlipaySceneName = keyof typeof ALIPAY_SCENES;

export function isAlipayScene(scene: PaymentScene): scene is AlipaySceneName {
  return Object.hasOwn(ALIPAY_SCENES, scene);
}

export function alipaySceneTable(config: AlipayConfig): ReadonlyMap<PaymentScene, SceneSupport> {
  return new Map(
    Object.entries(ALIPAY_SCENES).map(([scene, entry]: [string, AlipayScene]) => [
      scene as AlipaySceneName,
      {
        configured: config.scenes[scene as AlipaySceneName] !== undefined,
        action: entry.action,
        ...(entry.payer ? { payer: entry.payer } : {}),
      },
    ]),
  );
}
