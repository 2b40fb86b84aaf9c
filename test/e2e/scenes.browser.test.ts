import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, devices, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PaymentsClient } from '../../src/client/payments-client';
import type * as PayModule from '../../src/client/pay';
import type { PayAction } from '../../src/domain/scene';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * A phone inside WeChat, played by Chromium with an iPhone's viewport on the sandbox page that
 * injects the stand-in WeixinJSBridge: the shop's page calls the bridge with a JSAPI start's params
 * (by hand, then through the typed client's payInBrowser), the stand-in checks paySign with the
 * merchant's public key, and the order turns paid once the callback is applied. A QR action is
 * drawn as an image by the client. In a mini-program, the typed client's payInMiniProgram calls the
 * stand-in wx.requestPayment (paySign checked the same way, with the mini-program's appid) and
 * my.tradePay (the trade paid only by the buyer it was created for).
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const ALIPAY_BUYER = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const SETTLE = { timeout: 15_000, interval: 100 };
const hasChromium = existsSync(CHROMIUM);

/** The page's globals, as the code run in it sees them (this project compiles without DOM typings). */
interface PhoneWindow {
  WeixinJSBridge?: { invoke: (name: string, params: object, callback: (res: { err_msg: string }) => void) => void };
  Pay: typeof PayModule;
  sandboxPayDecision?: string;
  wx?: PayModule.MiniProgramApis['wx'];
  my?: PayModule.MiniProgramApis['my'];
  document: {
    addEventListener(type: string, listener: () => void, options: { once: boolean }): void;
    getElementById(id: string): { replaceChildren(...nodes: never[]): void };
  };
}

/** src/client/pay.ts as a browser script, exposing `window.Pay`. */
async function bundledPayModule(): Promise<string> {
  const result = await build({
    entryPoints: [path.resolve('src/client/pay.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'Pay',
    platform: 'browser',
    target: 'es2022',
  });
  return result.outputFiles[0]!.text;
}

describe.skipIf(!hasChromium)('paying a JSAPI payment on a phone inside WeChat (sandbox bridge)', () => {
  let env: TestRuntime;
  let client: PaymentsClient;
  let profileDir: string;
  let browser: BrowserContext;
  let payModule: string;

  beforeAll(async () => {
    profileDir = await mkdtemp(path.join(tmpdir(), 'payments-chromium-'));
    [env, browser, payModule] = await Promise.all([
      startTestRuntime(),
      chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        ...devices['iPhone 13'],
        // The test adds the bundled client as an inline script.
        bypassCSP: true,
      }),
      bundledPayModule(),
    ]);
    client = await env.clientFor('phone-customer');
  }, RUNTIME_START_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await env?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  async function jsapiPayment() {
    const { order, payment } = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], {
      paymentMethod: 'wechat',
    });
    const { action } = await client.startPayment(payment.paymentId, { scene: 'jsapi', payer: { openid: OPENID } });
    if (action.type !== 'wechat-jsapi') throw new Error(`expected a wechat-jsapi action, got ${action.type}`);
    return { order, payment, action };
  }

  async function phonePage() {
    const page = await browser.newPage();
    await page.goto(`${env.runtime.baseUrl}/sandbox/wechat/jsapi-page`);
    expect(page.viewportSize()?.width).toBeLessThan(500);
    return page;
  }

  it('WeixinJSBridge.invoke refuses a bad paySign, then pays with the real one, and the order turns paid', async () => {
    const { order, payment, action } = await jsapiPayment();
    const page = await phonePage();
    const invoke = (params: object) =>
      page.evaluate(
        (given) =>
          new Promise<string>((resolve) => {
            const win = globalThis as unknown as PhoneWindow;
            const ready = () =>
              win.WeixinJSBridge!.invoke('getBrandWCPayRequest', given, (res) => resolve(res.err_msg));
            if (win.WeixinJSBridge) ready();
            else win.document.addEventListener('WeixinJSBridgeReady', ready, { once: true });
          }),
        params,
      );

    const forged = { ...action.params, timeStamp: String(Number(action.params.timeStamp) + 1) };
    expect(await invoke(forged)).toBe('get_brand_wcpay_request:fail');
    expect((await client.getOrder(order.orderId)).order.status).toBe('pending');

    expect(await invoke(action.params)).toBe('get_brand_wcpay_request:ok');
    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
    expect((await client.getPayment(payment.paymentId)).tradeType).toBe('JSAPI');
    await page.close();
  });

  it("the typed client's payInBrowser: the bridge's ok is only 'wait for the callback'; the payment then ends succeeded", async () => {
    const { order, payment, action } = await jsapiPayment();
    const page = await phonePage();
    await page.addScriptTag({ content: payModule });

    const outcome = await page.evaluate(
      (given) => (globalThis as unknown as PhoneWindow).Pay.payInBrowser(given),
      action,
    );

    expect(outcome).toBe('wait_for_callback');
    const ended = await client.waitForPaymentOutcome(payment.paymentId, { timeoutMs: 15_000, intervalMs: 100 });
    expect(ended).toMatchObject({ status: 'succeeded', scene: 'jsapi', tradeType: 'JSAPI' });
    expect((await client.getOrder(order.orderId)).order.status).toBe('paid');
    await page.close();
  });

  it("payInBrowser maps a cancelled cashier to 'cancelled' and leaves the payment open", async () => {
    const { payment, action } = await jsapiPayment();
    const page = await phonePage();
    await page.addScriptTag({ content: payModule });
    await page.evaluate(() => {
      (globalThis as unknown as PhoneWindow).sandboxPayDecision = 'cancel';
    });

    const outcome = await page.evaluate(
      (given) => (globalThis as unknown as PhoneWindow).Pay.payInBrowser(given),
      action,
    );

    expect(outcome).toBe('cancelled');
    expect((await client.getPayment(payment.paymentId)).status).toBe('processing');
    await page.close();
  });

  /** payInMiniProgram in the page, with the mini-program API the page injected. */
  const payInMiniProgram = (page: Page, action: PayAction, api: 'wx' | 'my') =>
    page.evaluate(
      ([given, name]) => {
        const win = globalThis as unknown as PhoneWindow;
        return win.Pay.payInMiniProgram(given, name === 'wx' ? { wx: win.wx! } : { my: win.my! });
      },
      [action, api] as const,
    );

  it("payInMiniProgram with wx.requestPayment: a forged paySign is refused ('failed'), the real one waits for the callback, the order turns paid", async () => {
    const { order, payment } = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], {
      paymentMethod: 'wechat',
    });
    const { action } = await client.startPayment(payment.paymentId, {
      scene: 'miniprogram',
      payer: { openid: OPENID },
    });
    if (action.type !== 'wechat-jsapi') throw new Error(action.type);
    const page = await browser.newPage();
    await page.goto(`${env.runtime.baseUrl}/sandbox/wechat/miniprogram-page`);
    expect(page.viewportSize()?.width).toBeLessThan(500);
    await page.addScriptTag({ content: payModule });

    const forged = { ...action, params: { ...action.params, nonceStr: `${action.params.nonceStr}X` } };
    expect(await payInMiniProgram(page, forged, 'wx')).toBe('failed');
    expect((await client.getPayment(payment.paymentId)).status).toBe('processing');

    expect(await payInMiniProgram(page, action, 'wx')).toBe('wait_for_callback');
    const ended = await client.waitForPaymentOutcome(payment.paymentId, { timeoutMs: 15_000, intervalMs: 100 });
    expect(ended).toMatchObject({ status: 'succeeded', scene: 'miniprogram', tradeType: 'JSAPI' });
    expect((await client.getOrder(order.orderId)).order.status).toBe('paid');
    await page.close();
  });

  it("payInMiniProgram with my.tradePay: another buyer is refused ('failed'), a cancel is 'cancelled', the buyer's pay waits for the callback and the order turns paid", async () => {
    const { order, payment } = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], {
      paymentMethod: 'alipay',
    });
    const { action } = await client.startPayment(payment.paymentId, {
      scene: 'miniprogram',
      payer: { alipayOpenId: ALIPAY_BUYER },
    });
    if (action.type !== 'alipay-miniprogram') throw new Error(action.type);
    const page = await browser.newPage();
    const opened = (buyer: string) =>
      page.goto(`${env.runtime.baseUrl}/sandbox/alipay/miniprogram-page?buyer=${encodeURIComponent(buyer)}`);

    await opened('074someoneElseSignedIn');
    expect(page.viewportSize()?.width).toBeLessThan(500);
    await page.addScriptTag({ content: payModule });
    expect(await payInMiniProgram(page, action, 'my')).toBe('failed');

    await opened(ALIPAY_BUYER);
    await page.addScriptTag({ content: payModule });
    await page.evaluate(() => {
      (globalThis as unknown as PhoneWindow).sandboxPayDecision = 'cancel';
    });
    expect(await payInMiniProgram(page, action, 'my')).toBe('cancelled');
    expect((await client.getPayment(payment.paymentId)).status).toBe('processing');

    await page.evaluate(() => {
      delete (globalThis as unknown as PhoneWindow).sandboxPayDecision;
    });
    expect(await payInMiniProgram(page, action, 'my')).toBe('wait_for_callback');
    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
    expect((await client.getPayment(payment.paymentId)).status).toBe('succeeded');
    await page.close();
  });

  it('payInBrowser draws an Alipay QR action as an image of its qr_code', async () => {
    const { payment } = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], {
      paymentMethod: 'alipay',
    });
    const { action } = await client.startPayment(payment.paymentId, { scene: 'qr' });
    const page = await phonePage();
    await page.addScriptTag({ content: payModule });

    const outcome = await page.evaluate(
      (given) =>
        (globalThis as unknown as PhoneWindow).Pay.payInBrowser(given, {
          qrContainer: (globalThis as unknown as PhoneWindow).document.getElementById('shop'),
        }),
      action,
    );

    expect(outcome).toBe('qr_shown');
    const image = page.locator('#shop img');
    expect(await image.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    const size = await image.evaluate((img) =>
      (img as unknown as { complete: boolean }).complete
        ? (img as unknown as { naturalWidth: number }).naturalWidth
        : 0,
    );
    expect(size).toBeGreaterThan(100);
    await page.close();
  });
});
