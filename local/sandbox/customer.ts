import type { PayAction } from '../../src/domain/scene';
import type { CustomerDecision } from './types';

/**
 * What a customer's device does with a start's action at the sandbox, without a browser (the demo,
 * scripts, tests): opens a redirect (as a browser on the shop's page, so with a Referer), scans a
 * QR, or hands the bridge / SDK parameters to the client stand-in. `mini`: the action is for a
 * mini-program (wx.requestPayment rather than WeixinJSBridge). Returns the client's answer, or for
 * a page the sandbox decision endpoint's.
 */
export async function payAtSandbox(
  baseUrl: string,
  paymentId: string,
  action: PayAction,
  options: { decision?: CustomerDecision; mini?: boolean; buyerOpenId?: string } = {},
): Promise<{ status: number; answer: Record<string, unknown> }> {
  const decision = options.decision ?? 'pay';
  const client = (path: string, body: unknown) =>
    post(`${baseUrl}/sandbox/client/${path}`, { 'content-type': 'application/json' }, JSON.stringify(body));
  switch (action.type) {
    case 'wechat-jsapi':
      return client(options.mini ? 'wechat/miniprogram' : 'wechat/jsapi', { params: action.params, decision });
    case 'wechat-app':
      return client('wechat/app', { params: action.params, decision });
    case 'alipay-app':
      return client('alipay/app', { orderString: action.orderString, decision });
    case 'alipay-miniprogram':
      return client('alipay/miniprogram', { tradeNO: action.tradeNo, buyerOpenId: options.buyerOpenId, decision });
    case 'redirect':
    case 'qr': {
      const url = action.type === 'redirect' ? action.url : action.content;
      const page = await fetch(url, { headers: { referer: `${baseUrl}/shop/checkout` } });
      if (!page.ok) return { status: page.status, answer: { page: (await page.text()).slice(0, 300) } };
      return post(
        `${baseUrl}/sandbox/checkout/${encodeURIComponent(paymentId)}/${decision}`,
        { accept: 'application/json' },
        '',
      );
    }
  }
}

async function post(url: string, headers: Record<string, string>, body: string) {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
}
