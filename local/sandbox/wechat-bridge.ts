import { SANDBOX_WECHAT_APPIDS } from './scenes';
import type { SandboxResponse } from './types';

/**
 * The stand-in for what WeChat injects into a page it opens (SCENES.md §1, §2): `WeixinJSBridge`
 * with `invoke('getBrandWCPayRequest')`, and `wx.requestPayment` for mini-program code tried in a
 * browser. Each hands the params to the sandbox's client check (POST /sandbox/client/wechat/…),
 * which verifies paySign with the merchant's public key, the appid and the prepay_id as WeChat
 * does, and answers in WeChat's words. A shop's page includes `<script src=".../bridge.js">` when it
 * runs against the sandbox; `window.sandboxPayDecision = 'cancel' | 'fail'` plays a customer who
 * gives up.
 */
const BRIDGE_SCRIPT = `(() => {
  const script = document.currentScript;
  const base = new URL('..', script.src).href.replace(/\\/$/, '');
  // wx.requestPayment knows its mini-program's appid: the mini-program page names it.
  const miniProgramAppId = () => window.sandboxMiniProgramAppId || script.dataset.miniprogramAppId;
  const decision = () => window.sandboxPayDecision || 'pay';
  // The JS bridge names the page that called it: WeChat checks it is under a 支付授权目录.
  const ask = (client, params, pageUrl) =>
    fetch(base + '/client/wechat/' + client, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ params, decision: decision(), ...(pageUrl ? { pageUrl } : {}) }),
    }).then((response) => response.json(), () => ({}));
  window.WeixinJSBridge = {
    invoke(name, params, callback) {
      if (name !== 'getBrandWCPayRequest') return callback({ err_msg: name + ':fail' });
      ask('jsapi', params, location.href).then((answer) =>
        callback({ err_msg: answer.err_msg || 'get_brand_wcpay_request:fail' }),
      );
    },
  };
  window.wx = Object.assign(window.wx || {}, {
    requestPayment(options) {
      const { success, fail, complete, ...params } = options;
      // Any appId handed in is ignored, as by wx: the paySign must be over the mini-program's own.
      ask('miniprogram', { ...params, appId: miniProgramAppId() }).then((answer) => {
        const res = { errMsg: answer.errMsg || 'requestPayment:fail' };
        (res.errMsg === 'requestPayment:ok' ? success : fail)?.(res);
        complete?.(res);
      });
    },
  });
  setTimeout(() => document.dispatchEvent(new Event('WeixinJSBridgeReady')), 0);
})();
`;

/**
 * A page as WeChat's in-app browser would show a shop's page (the bridge injected), or as its
 * mini-program runtime would (wx injected, knowing the sandbox mini-program's appid): a phone's viewport.
 */
function bridgePage(miniProgramAppId?: string): string {
  const plays = miniProgramAppId
    ? `a mini-program (${miniProgramAppId}), wx.requestPayment injected`
    : "WeChat's in-app browser, WeixinJSBridge injected";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat (sandbox)</title>
<script src="bridge.js"${miniProgramAppId ? ` data-miniprogram-app-id="${miniProgramAppId}"` : ''}></script></head>
<body><header>WeChat (sandbox): this page plays ${plays}.</header>
<main id="shop"></main></body></html>`;
}

export const BRIDGE_PATHS = { script: '/bridge.js', page: '/jsapi-page', miniProgram: '/miniprogram-page' } as const;

/** A stand-in's script, or the phone page that loads it (its own scripts only). */
export function clientStandIn(type: 'script' | 'page', body: string): SandboxResponse {
  return {
    statusCode: 200,
    headers: {
      'cache-control': 'no-store',
      ...(type === 'script'
        ? { 'content-type': 'text/javascript; charset=utf-8' }
        : {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'",
          }),
    },
    body,
  };
}

/** GET /sandbox/wechat/bridge.js, /sandbox/wechat/jsapi-page and /sandbox/wechat/miniprogram-page. */
export function bridgeResponse(path: string): SandboxResponse | undefined {
  if (path === BRIDGE_PATHS.script) return clientStandIn('script', BRIDGE_SCRIPT);
  if (path === BRIDGE_PATHS.page || path === BRIDGE_PATHS.miniProgram)
    return clientStandIn(
      'page',
      bridgePage(path === BRIDGE_PATHS.miniProgram ? SANDBOX_WECHAT_APPIDS.miniprogram : undefined),
    );
  return undefined;
}
