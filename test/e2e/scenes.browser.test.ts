import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, devices } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PaymentsClient } from '../../src/client/payments-client';
import type * as PayModule from '../../src/client/pay';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * A phone inside WeChat, played by Chromium with an iPhone's viewport on the sandbox page that
 * injects the stand-in WeixinJSBridge: the shop's page calls the bridge with a JSAPI start's params
 * (by hand, then through the typed client's payInBrowser), the stand-in checks paySign with the
 * merchant's public key, and the order turns paid once the callback is applied. A QR action is
 * drawn as an image by the client.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const SETTLE = { timeout: 15_000, interval: 100 };
const hasChromium = existsSync(CHROMIUM);

/** The page's globals, as the code run in it sees them (this project compiles without DOM typings). */
interface PhoneWindow {
  WeixinJSBridge?: { invoke: (name: string, params: object, callback: (res: { err_msg: string }) => void) => void };
  Pay: typeof PayModule;
  sandboxPayDecision?: string;
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
