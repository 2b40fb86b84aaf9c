import { escapeHtml } from './checkout-page';
import type { SandboxRequest, SandboxResponse } from './types';
import { clientStandIn } from './wechat-bridge';

/**
 * The stand-in for what Alipay's mini-program runtime gives a page (SCENES.md §7): `my.tradePay`
 * with `{tradeNO}`. It hands the trade number and the signed-in buyer to the sandbox's client
 * check (POST /sandbox/client/alipay/miniprogram), which pays the trade only for the buyer it was
 * created for (alipay.trade.create's buyer_open_id), and answers with Alipay's resultCode: 9000
 * paid, 6001 cancelled, 4000 refused. Like the real API, `success` gets every resultCode the
 * cashier answered and `fail` only a call that never reached it. The page plays a mini-program
 * opened by `?buyer=<buyer_open_id>`; `window.sandboxPayDecision = 'cancel' | 'fail'` plays a
 * customer who gives up.
 */
const TRADEPAY_SCRIPT = `(() => {
  const script = document.currentScript;
  const base = new URL('..', script.src).href.replace(/\\/$/, '');
  const buyerOpenId = () => window.sandboxAlipayBuyerOpenId || script.dataset.buyerOpenId || '';
  window.my = Object.assign(window.my || {}, {
    tradePay(options) {
      const { tradeNO, success, fail, complete } = options;
      fetch(base + '/client/alipay/miniprogram', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tradeNO, buyerOpenId: buyerOpenId(), decision: window.sandboxPayDecision || 'pay' }),
      })
        .then((response) => response.json())
        .then(
          (answer) => {
            const res = { resultCode: answer.resultCode || '4000', ...(answer.memo ? { memo: answer.memo } : {}) };
            success?.(res);
            complete?.(res);
          },
          () => {
            const res = { error: 6002, errorMessage: 'network error' };
            fail?.(res);
            complete?.(res);
          },
        );
    },
  });
})();
`;

/** A mini-program page as Alipay's runtime would show it: a phone's viewport, `my` injected, a buyer signed in. */
function miniProgramPage(buyerOpenId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alipay mini-program (sandbox)</title>
<script src="tradepay.js" data-buyer-open-id="${escapeHtml(buyerOpenId)}"></script></head>
<body><header>Alipay (sandbox): this page plays a mini-program, my.tradePay injected.</header>
<main id="shop"></main></body></html>`;
}

export const TRADEPAY_PATHS = { script: '/tradepay.js', page: '/miniprogram-page' } as const;

/** GET /sandbox/alipay/tradepay.js and /sandbox/alipay/miniprogram-page?buyer=. */
export function tradePayResponse(request: SandboxRequest): SandboxResponse | undefined {
  if (request.method !== 'GET') return undefined;
  if (request.path === TRADEPAY_PATHS.script) return clientStandIn('script', TRADEPAY_SCRIPT);
  if (request.path === TRADEPAY_PATHS.page)
    return clientStandIn('page', miniProgramPage(request.query.get('buyer') ?? ''));
  return undefined;
}
