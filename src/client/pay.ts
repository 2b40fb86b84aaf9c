import QRCode from 'qrcode';
import type { PayAction } from '../domain/scene';

/**
 * Doing a start's `action` on the customer's device (README "Paying in each scene"): go to the
 * page, show the QR, call WeChat's JS bridge, wx.requestPayment or my.tradePay. What the bridge
 * says is never proof of payment (SCENES.md §1): `ok` means "wait for the callback", confirmed
 * by polling the payment (`client.waitForPaymentOutcome`), which ends only on the provider's word.
 */
export type PayOutcome =
  /** The client says it paid: poll the payment until the provider's callback has been applied. */
  | 'wait_for_callback'
  /** The customer closed the cashier; the payment stays open and can be paid again. */
  | 'cancelled'
  /** The client refused (a signature, an appid, an expired prepay_id); the payment stays open. */
  | 'failed'
  /** The browser is on its way to the provider's page. */
  | 'redirected'
  /** The QR code is on the page: poll the payment while the customer scans it. */
  | 'qr_shown';

/** WeixinJSBridge.invoke('getBrandWCPayRequest') answers; anything unknown is a failure. */
export function wechatBridgeOutcome(errMsg: string | undefined): PayOutcome {
  if (errMsg === 'get_brand_wcpay_request:ok' || errMsg === 'requestPayment:ok') return 'wait_for_callback';
  if (errMsg === 'get_brand_wcpay_request:cancel' || errMsg === 'requestPayment:fail cancel') return 'cancelled';
  return 'failed';
}

/** my.tradePay's resultCode: 9000 paid (still wait for the callback), 6001 cancelled, 8000 / 6004 unknown yet. */
export function alipayResultOutcome(resultCode: string | undefined): PayOutcome {
  if (resultCode === '9000' || resultCode === '8000' || resultCode === '6004') return 'wait_for_callback';
  if (resultCode === '6001') return 'cancelled';
  return 'failed';
}

interface WeixinJSBridge {
  invoke(name: 'getBrandWCPayRequest', params: object, callback: (res: { err_msg?: string }) => void): void;
}

/** What pay() uses of a browser page (structural, so this module needs no DOM typings). */
export interface PageWindow {
  location: { assign(url: string): void };
  document: {
    createElement(tag: 'img'): { alt: string; src: string };
    addEventListener(type: 'WeixinJSBridgeReady', listener: () => void, options?: { once: boolean }): void;
  };
  WeixinJSBridge?: WeixinJSBridge;
}

export interface BrowserPayOptions {
  /** Where a QR action's code is drawn (an <img> is put in it). */
  qrContainer?: { replaceChildren(...nodes: never[]): void };
  /** Defaults to the page's window. */
  window?: PageWindow;
}

/** In a web page: a redirect, a QR, or (inside WeChat's browser) the JS bridge. App and mini-program actions are not for a page. */
export async function payInBrowser(action: PayAction, options: BrowserPayOptions = {}): Promise<PayOutcome> {
  const win = options.window ?? (globalThis as unknown as PageWindow);
  switch (action.type) {
    case 'redirect':
      win.location.assign(action.url);
      return 'redirected';
    case 'qr': {
      if (!options.qrContainer) throw new Error('a QR action needs options.qrContainer');
      const image = win.document.createElement('img');
      image.alt = 'Scan to pay';
      image.src = await QRCode.toDataURL(action.content, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
      options.qrContainer.replaceChildren(image as never);
      return 'qr_shown';
    }
    case 'wechat-jsapi': {
      const bridge = await weixinBridge(win);
      const answer = await new Promise<{ err_msg?: string }>((resolve) =>
        bridge.invoke('getBrandWCPayRequest', action.params, resolve),
      );
      return wechatBridgeOutcome(answer.err_msg);
    }
    case 'wechat-app':
    case 'alipay-app':
    case 'alipay-miniprogram':
      throw new Error(`a ${action.type} action is paid in the shop's app or mini-program, not in a web page`);
  }
}

/** WeChat injects the bridge after the page loads: wait for WeixinJSBridgeReady when it is not there yet. */
function weixinBridge(win: PageWindow): Promise<WeixinJSBridge> {
  if (win.WeixinJSBridge) return Promise.resolve(win.WeixinJSBridge);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not inside WeChat: WeixinJSBridge never became ready')), 10_000);
    win.document.addEventListener(
      'WeixinJSBridgeReady',
      () => {
        clearTimeout(timer);
        if (win.WeixinJSBridge) resolve(win.WeixinJSBridge);
        else reject(new Error('WeixinJSBridgeReady without WeixinJSBridge'));
      },
      { once: true },
    );
  });
}

/** The mini-program APIs pay() calls: WeChat's `wx` or Alipay's `my`. */
export interface MiniProgramApis {
  wx?: {
    requestPayment(options: object & { success(res: unknown): void; fail(res: { errMsg?: string }): void }): void;
  };
  my?: {
    tradePay(options: {
      tradeNO: string;
      success(res: { resultCode?: string }): void;
      fail(res: { resultCode?: string }): void;
    }): void;
  };
}

/** In a mini-program: wx.requestPayment (its own appid is implied) or my.tradePay. */
export function payInMiniProgram(action: PayAction, apis: MiniProgramApis): Promise<PayOutcome> {
  if (action.type === 'wechat-jsapi' && apis.wx) {
    const { appId: _appId, ...params } = action.params;
    const wx = apis.wx;
    return new Promise((resolve) =>
      wx.requestPayment({
        ...params,
        success: () => resolve('wait_for_callback'),
        fail: (res) => resolve(wechatBridgeOutcome(res.errMsg)),
      }),
    );
  }
  if (action.type === 'alipay-miniprogram' && apis.my) {
    const my = apis.my;
    return new Promise((resolve) =>
      my.tradePay({
        tradeNO: action.tradeNo,
        success: (res) => resolve(alipayResultOutcome(res.resultCode)),
        fail: (res) => resolve(alipayResultOutcome(res.resultCode)),
      }),
    );
  }
  return Promise.reject(new Error(`a ${action.type} action cannot be paid with the APIs given`));
}
