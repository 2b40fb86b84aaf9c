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
  const base = new URL('..', document.currentScript.src).href.replace(/\\/$/, '');
  const decision = () => window.sandboxPayDecision || 'pay';
  const ask = (client, params) =>
    fetch(base + '/client/wechat/' + client, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ params, decision: decision() }),
    }).then((response) => response.json(), () => ({}));
  window.WeixinJSBridge = {
    invoke(name, params, callback) {
      if (name !== 'getBrandWCPayRequest') return callback({ err_msg: name + ':fail' });
      ask('jsapi', params).then((answer) => callback({ err_msg: answer.err_msg || 'get_brand_wcpay_request:fail' }));
    },
  };
  window.wx = Object.assign(window.wx || {}, {
    requestPayment(options) {
      const { success, fail, complete, ...params } = options;
      ask('miniprogram', { appId: window.sandboxMiniProgramAppId, ...params }).then((answer) => {
        const res = { errMsg: answer.errMsg || 'requestPayment:fail' };
        (res.errMsg === 'requestPayment:ok' ? success : fail)?.(res);
        complete?.(res);
      });
    },
  });
  setTimeout(() => document.dispatchEvent(new Event('WeixinJSBridgeReady')), 0);
})();
`;

/** A page as WeChat's in-app browser would show a shop's page: a phone's viewport, the bridge injected. */
function bridgePage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat (sandbox)</title>
<script src="bridge.js"></script></head>
<body><header>WeChat (sandbox): this page plays WeChat's in-app browser, WeixinJSBridge injected.</header>
<main id="shop"></main></body></html>`;
}

export const BRIDGE_PATHS = { script: '/bridge.js', page: '/jsapi-page' } as const;

/** GET /sandbox/wechat/bridge.js and /sandbox/wechat/jsapi-page. */
export function bridgeResponse(path: string): SandboxResponse | undefined {
  const common = { 'cache-control': 'no-store' };
  if (path === BRIDGE_PATHS.script)
    return {
      statusCode: 200,
      headers: { ...common, 'content-type': 'text/javascript; charset=utf-8' },
      body: BRIDGE_SCRIPT,
    };
  if (path === BRIDGE_PATHS.page)
    return {
      statusCode: 200,
      headers: {
        ...common,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'",
      },
      body: bridgePage(),
    };
  return undefined;
}
