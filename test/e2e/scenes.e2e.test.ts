import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { payAtSandbox } from '../../local/sandbox/customer';
import { SANDBOX_KEYS_FILE } from '../../local/sandbox/keys';
import { SANDBOX_WECHAT_APPIDS } from '../../local/sandbox/scenes';
import { createPaymentsClient, type PaymentMethod, type PaymentsClient } from '../../src/client/payments-client';
import type { PayAction, PaymentScene } from '../../src/domain/scene';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * Every row of the scene table from POST /api/orders to paid over HTTP through `npm start`: the
 * start's action, its signatures checked with the merchant's public key alone (the sandbox's
 * copy, as WeChat holds it), the customer paying at the sandbox's page, QR or client stand-in, the
 * provider's signed callback, the order paid and the trade type recorded.
 */

const CUSTOMER = 'scenes-customer';
const ITEMS = [{ sku: 'CUP-CELADON', quantity: 1 }];
const SETTLE = { timeout: 15_000, interval: 100 };
const PAYER = {
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  alipayOpenId: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
};

let env: TestRuntime;
let client: PaymentsClient;
let merchantPublicKey: ReturnType<typeof createPublicKey>;

beforeAll(async () => {
  env = await startTestRuntime();
  client = await env.clientFor(CUSTOMER);
  const keys = JSON.parse(await readFile(path.join(env.dataDir, SANDBOX_KEYS_FILE), 'utf8')) as {
    wechat: { merchantPublicKey: string };
  };
  merchantPublicKey = createPublicKey(keys.wechat.merchantPublicKey);
}, RUNTIME_START_TIMEOUT_MS);

afterAll(async () => {
  await env?.stop();
});

/** Independently of our signing code: the exact lines of SCENES.md, RSA-SHA256, the public key only. */
function verifiesWithMerchantKey(lines: string[], signature: string): boolean {
  return verify(
    'sha256',
    Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8'),
    merchantPublicKey,
    Buffer.from(signature, 'base64'),
  );
}

interface Row {
  method: PaymentMethod;
  scene: PaymentScene;
  action: PayAction['type'];
  /** WeChat's trade_type, from the callback. */
  tradeType?: string;
}

const ROWS: Row[] = [
  { method: 'wechat', scene: 'native', action: 'qr', tradeType: 'NATIVE' },
  { method: 'wechat', scene: 'jsapi', action: 'wechat-jsapi', tradeType: 'JSAPI' },
  { method: 'wechat', scene: 'miniprogram', action: 'wechat-jsapi', tradeType: 'JSAPI' },
  { method: 'wechat', scene: 'h5', action: 'redirect', tradeType: 'MWEB' },
  { method: 'wechat', scene: 'app', action: 'wechat-app', tradeType: 'APP' },
  { method: 'alipay', scene: 'page', action: 'redirect' },
  { method: 'alipay', scene: 'wap', action: 'redirect' },
  { method: 'alipay', scene: 'app', action: 'alipay-app' },
  { method: 'alipay', scene: 'qr', action: 'qr' },
  { method: 'alipay', scene: 'miniprogram', action: 'alipay-miniprogram' },
  { method: 'bank', scene: 'page', action: 'redirect' },
];

describe('every scene, from the order to paid', () => {
  it.each(ROWS)('$method $scene', async ({ method, scene, action: type, tradeType }) => {
    const { order, payment } = await client.createOrder(ITEMS, { paymentMethod: method });
    const started = await client.startPayment(payment.paymentId, { scene, payer: PAYER });
    const { action } = started;
    expect(action.type).toBe(type);
    expect(started.payment).toMatchObject({ paymentId: payment.paymentId, status: 'processing', scene });
    if (action.type === 'redirect' || action.type === 'qr') expect(started.payUrl).toBeDefined();
    else expect(started.payUrl).toBeUndefined();

    if (action.type === 'wechat-jsapi') {
      const { appId, timeStamp, nonceStr, package: pkg, paySign, signType } = action.params;
      expect(appId).toBe(scene === 'jsapi' ? SANDBOX_WECHAT_APPIDS.jsapi : SANDBOX_WECHAT_APPIDS.miniprogram);
      expect(signType).toBe('RSA');
      expect(pkg).toMatch(/^prepay_id=wx\w+$/);
      expect(verifiesWithMerchantKey([appId, timeStamp, nonceStr, pkg], paySign)).toBe(true);
    }
    if (action.type === 'wechat-app') {
      const { appid, timestamp, noncestr, prepayid, sign, partnerid } = action.params;
      expect(appid).toBe(SANDBOX_WECHAT_APPIDS.app);
      expect(partnerid).toBe('1900000001');
      expect(verifiesWithMerchantKey([appid, timestamp, noncestr, prepayid], sign)).toBe(true);
      expect(verifiesWithMerchantKey([appid, timestamp, noncestr, `prepay_id=${prepayid}`], sign)).toBe(false);
    }
    if (action.type === 'redirect' && scene === 'h5')
      expect(new URL(action.url).searchParams.get('redirect_url')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    if (action.type === 'qr') {
      // The sandbox's checkout on a screen shows the code_url / qr_code as a real QR code.
      const page = await (await fetch(`${env.runtime.baseUrl}/sandbox/checkout/${payment.paymentId}`)).text();
      expect(page).toMatch(/<figure id="qr"[^>]*><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }

    const paid = await payAtSandbox(env.runtime.baseUrl, payment.paymentId, action, {
      mini: scene === 'miniprogram',
      buyerOpenId: PAYER.alipayOpenId,
    });
    expect(paid.status).toBe(200);

    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
    const after = await client.getPayment(payment.paymentId);
    expect(after).toMatchObject({ status: 'succeeded', scene });
    if (tradeType) expect(after.tradeType).toBe(tradeType);
  });
});

describe('GET /api/payment-methods', () => {
  it('answers without a token: every method with the scenes the sandbox configures, the default first', async () => {
    const response = await fetch(`${env.runtime.baseUrl}/api/payment-methods`);
    expect(response.status).toBe(200);
    const { methods } = (await response.json()) as {
      methods: { method: string; defaultScene: string; scenes: { scene: string; payer?: string }[] }[];
    };
    expect(
      methods.map(({ method, defaultScene, scenes }) => [method, defaultScene, scenes.map((s) => s.scene)]),
    ).toEqual([
      ['wechat', 'native', ['native', 'jsapi', 'miniprogram', 'h5', 'app']],
      ['alipay', 'page', ['page', 'wap', 'app', 'qr', 'miniprogram']],
      ['bank', 'page', ['page']],
    ]);
    expect(methods[0]!.scenes.find((s) => s.scene === 'jsapi')?.payer).toBe('openid');
  });
});

describe('what a front end gets wrong', () => {
  it('a scene the method lacks is 400 SCENE_NOT_SUPPORTED; jsapi without an openid is 400 PAYER_REQUIRED; nothing started', async () => {
    const { payment } = await client.createOrder(ITEMS, { paymentMethod: 'bank' });
    await expect(client.startPayment(payment.paymentId, { scene: 'jsapi' })).rejects.toMatchObject({
      status: 400,
      code: 'SCENE_NOT_SUPPORTED',
    });
    const { payment: wechat } = await client.createOrder(ITEMS, { paymentMethod: 'wechat' });
    await expect(client.startPayment(wechat.paymentId, { scene: 'jsapi' })).rejects.toMatchObject({
      status: 400,
      code: 'PAYER_REQUIRED',
    });
    expect((await client.getPayment(wechat.paymentId)).status).toBe('init');
  });

  it("a provider's refusal, armed at the sandbox (POST /sandbox/refusals), reaches the shop as its code; nothing is started, the next start goes through", async () => {
    const { order, payment } = await client.createOrder(ITEMS, { paymentMethod: 'wechat' });
    const arm = (code: string) =>
      fetch(`${env.runtime.baseUrl}/sandbox/refusals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'wechat', code, paymentId: payment.paymentId }),
      });
    expect((await arm('NOT_A_WECHAT_CODE')).status).toBe(400);
    expect((await arm('RULELIMIT')).status).toBe(200);

    await expect(client.startPayment(payment.paymentId, { scene: 'jsapi', payer: PAYER })).rejects.toMatchObject({
      status: 402,
      code: 'PAYMENT_DECLINED',
      details: { method: 'wechat', scene: 'jsapi', providerCode: 'RULELIMIT', retryable: false },
    });
    expect((await client.getPayment(payment.paymentId)).status).toBe('init');
    expect(env.runtime.sandbox.store.get(payment.paymentId)).toBeUndefined();

    const started = await client.startPayment(payment.paymentId, { scene: 'jsapi', payer: PAYER });
    expect(started.payment).toMatchObject({ paymentId: payment.paymentId, status: 'processing' });
    expect((await client.getOrder(order.orderId)).order.status).toBe('pending');
  });

  it("the openid in the token's claim wins over the body's", async () => {
    const token = await env.runtime.devIssuer.sign({
      sub: CUSTOMER,
      claims: { wechat_openid: 'oFromTheCodeExchange' },
    });
    const signedIn = createPaymentsClient({ baseUrl: env.runtime.baseUrl, token });
    const { payment } = await signedIn.createOrder(ITEMS, { paymentMethod: 'wechat' });
    const started = await signedIn.startPayment(payment.paymentId, {
      scene: 'jsapi',
      payer: { openid: 'oTypedByTheClient' },
    });
    expect(started.action.type).toBe('wechat-jsapi');
    expect(env.runtime.sandbox.store.get(payment.paymentId)?.scene?.payer).toBe('oFromTheCodeExchange');
  });

  it('a repeated JSAPI start answers the same prepay_id with a fresh nonce and signature', async () => {
    const { payment } = await client.createOrder(ITEMS, { paymentMethod: 'wechat' });
    const first = await client.startPayment(payment.paymentId, { scene: 'jsapi', payer: PAYER });
    const again = await client.startPayment(payment.paymentId, { scene: 'jsapi', payer: PAYER });
    if (first.action.type !== 'wechat-jsapi' || again.action.type !== 'wechat-jsapi') throw new Error('not jsapi');
    expect(again.payment.paymentId).toBe(payment.paymentId);
    expect(again.action.params.package).toBe(first.action.params.package);
    expect(again.action.params.nonceStr).not.toBe(first.action.params.nonceStr);
    expect(again.action.params.paySign).not.toBe(first.action.params.paySign);
  });

  it('the bridge stand-in refuses a tampered paySign, and cancelling leaves the payment payable', async () => {
    const { order, payment } = await client.createOrder(ITEMS, { paymentMethod: 'wechat' });
    const { action } = await client.startPayment(payment.paymentId, { scene: 'jsapi', payer: PAYER });
    if (action.type !== 'wechat-jsapi') throw new Error('not jsapi');
    const tampered = { ...action, params: { ...action.params, nonceStr: `${action.params.nonceStr.slice(1)}X` } };
    const refused = await payAtSandbox(env.runtime.baseUrl, payment.paymentId, tampered);
    expect(refused).toMatchObject({ status: 400, answer: { err_msg: 'get_brand_wcpay_request:fail' } });
    const cancelled = await payAtSandbox(env.runtime.baseUrl, payment.paymentId, action, { decision: 'cancel' });
    expect(cancelled).toMatchObject({ status: 200, answer: { err_msg: 'get_brand_wcpay_request:cancel' } });
    expect((await client.getOrder(order.orderId)).order.status).toBe('pending');
    expect((await payAtSandbox(env.runtime.baseUrl, payment.paymentId, action)).status).toBe(200);
    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
  });
});
