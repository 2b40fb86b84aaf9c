import type { AlipayConfig, WechatConfig } from '../../src/providers/config';

/** The sandbox merchant's WeChat appids, all bound to its mchid: Native and H5 take the main one. */
export const SANDBOX_WECHAT_APPIDS = {
  main: 'wx8888888888888888',
  jsapi: 'wx1111111111111111',
  miniprogram: 'wx2222222222222222',
  app: 'wx3333333333333333',
} as const;

/** Every WeChat scene, each with its own appid (docs/PROVIDERS.md#sandbox). */
export const SANDBOX_WECHAT_SCENES: WechatConfig['scenes'] = {
  native: {},
  jsapi: { appid: SANDBOX_WECHAT_APPIDS.jsapi },
  miniprogram: { appid: SANDBOX_WECHAT_APPIDS.miniprogram },
  h5: { type: 'Wap' },
  app: { appid: SANDBOX_WECHAT_APPIDS.app },
};

/** The sandbox Alipay mini-program's app id (op_app_id). */
export const SANDBOX_ALIPAY_MINIPROGRAM_APP_ID = '2021000000000002';

/** Every Alipay scene (docs/PROVIDERS.md#sandbox). */
export const SANDBOX_ALIPAY_SCENES: AlipayConfig['scenes'] = {
  page: {},
  wap: {},
  app: {},
  qr: {},
  miniprogram: { appId: SANDBOX_ALIPAY_MINIPROGRAM_APP_ID, productCode: 'JSAPI_PAY' },
};
