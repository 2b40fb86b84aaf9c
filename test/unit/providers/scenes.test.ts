import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAlipaySimulator, generateAlipayKeys } from '../../../local/sandbox/alipay';
import { SANDBOX_WECHAT_APPIDS } from '../../../local/sandbox/scenes';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { ProviderCallError, type CheckoutRequest, type PaymentProvider } from '../../../src/core/payments/provider';
import { chooseScene, paymentMethods } from '../../../src/core/payments/scenes';
import type { PayAction } from '../../../src/domain/scene';
import { createAlipayProvider } from '../../../src/providers/alipay';
import { WechatConfigSchema } from '../../../src/providers/config';
import type { FetchLike } from '../../../src/providers/kit/http';
import { createWechatProvider } from '../../../src/providers/wechat';
import { appSignMessage, jsapiPaySignMessage } from '../../../src/providers/wechat/client-signatures';
import { sceneOfTransaction } from '../../../src/providers/wechat/scenes';
import { simulatorFetch as alipayFetch } from '../../support/alipay-fixtures';
import { memoryCheckoutStore } from '../../support/bank-fixtures';
import { checkoutRequest, SCENE_CHECKOUT_NOW } from '../../support/checkout-fixtures';
import { type SentRequest, simulatorFetch as wechatFetch, WECHAT_SANDBOX_BASE } from '../../support/wechat-fixtures';

const NOW = SCENE_CHECKOUT_NOW;
const unusedFetch: FetchLike = async () => {
  throw new Error('no call expected');
};
const wechatKeys = generateWechatKeys(WECHAT_SANDBOX_BASE);
const alipayKeys = generateAlipayKeys('http://127.0.0.1:3000/sandbox/alipay');
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

function wechat() {
  const store = memoryCheckoutStore();
  const sent: SentRequest[] = [];
  const fetch = wechatFetch(createWechatSimulator(wechatKeys.sandbox), store, { now: () => NOW, sent });
  return { store, sent, provider: createWechatProvider({ config: wechatKeys.merchant, fetch }) };
}

async function started(provider: PaymentProvider, request: CheckoutRequest): Promise<PayAction> {
  const { ref } = await provider.startCheckout(request);
  return provider.checkoutAction({ scene: request.scene, ref, returnUrl: request.returnUrl, now: request.now });
}

/** Checked with the merchant's public key alone over SCENES.md's lines: not with our signing code. */
const merchantPublicKey = createPublicKey(wechatKeys.sandbox.merchantPublicKey);
const verifies = (message: string, signature: string) =>
  verify('sha256', Buffer.from(message, 'utf8'), merchantPublicKey, Buffer.from(signature, 'base64'));

describe('WeChat client signatures: the exact strings of SCENES.md', () => {
  it('JSAPI paySign is over appId, timeStamp, nonceStr, package, each line ending in \\n (the documented reference)', () => {
    const message = jsapiPaySignMessage({
      appId: 'wx8888888888888888',
      timeStamp: '1414561699',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
    });
    expect(Buffer.from(message)).toEqual(
      Buffer.from(
        'wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n',
      ),
    );
  });

  it('App sign is over the bare prepayid, not package', () => {
    expect(appSignMessage({ appid: 'wxapp', timestamp: '1', noncestr: 'N', prepayid: 'wx2014' })).toBe(
      'wxapp\n1\nN\nwx2014\n',
    );
  });

  it('a JSAPI start answers bridge params whose paySign is what openssl signs, verifiable with the public key', async () => {
    const { provider, sent } = wechat();
    const action = await started(provider, checkoutRequest('jsapi'));
    if (action.type !== 'wechat-jsapi') throw new Error(action.type);
    const { params } = action;
    expect(params).toMatchObject({ appId: SANDBOX_WECHAT_APPIDS.jsapi, signType: 'RSA' });
    expect(params.timeStamp).toBe(String(NOW.getTime() / 1000));
    expect(params.nonceStr).toMatch(/^[A-Z0-9]{32}$/);
    const message = `${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`;
    expect(verifies(message, params.paySign)).toBe(true);
    // PKCS#1 v1.5 is deterministic: the reference command of SCENES.md gives the same bytes.
    const dir = mkdtempSync(path.join(tmpdir(), 'paysign-'));
    try {
      writeFileSync(path.join(dir, 'key.pem'), wechatKeys.merchant.merchantPrivateKey);
      const openssl = execFileSync('openssl', ['dgst', '-sha256', '-sign', path.join(dir, 'key.pem')], {
        input: message,
      }).toString('base64');
      expect(params.paySign).toBe(openssl);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(sent[0]?.url).toBe(`${WECHAT_SANDBOX_BASE}/v3/pay/transactions/jsapi`);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ appid: SANDBOX_WECHAT_APPIDS.jsapi, payer: { openid: OPENID } });
  });

  it('every answer has a fresh nonce and signature for the same prepay_id', async () => {
    const { provider } = wechat();
    const { ref } = await provider.startCheckout(checkoutRequest('miniprogram'));
    const [a, b] = [0, 1].map(() =>
      provider.checkoutAction({ scene: 'miniprogram', ref, returnUrl: '', now: NOW }),
    ) as [PayAction, PayAction];
    if (a.type !== 'wechat-jsapi' || b.type !== 'wechat-jsapi') throw new Error('not jsapi');
    expect(a.params.appId).toBe(SANDBOX_WECHAT_APPIDS.miniprogram);
    expect(b.params.package).toBe(a.params.package);
    expect(b.params.nonceStr).not.toBe(a.params.nonceStr);
    expect(verifies(jsapiPaySignMessage(b.params), b.params.paySign)).toBe(true);
  });

  it('an App start answers the OpenSDK PayReq signed over the bare prepayid', async () => {
    const { provider, sent } = wechat();
    const action = await started(provider, checkoutRequest('app'));
    if (action.type !== 'wechat-app') throw new Error(action.type);
    const { appid, partnerid, prepayid, noncestr, timestamp, sign } = action.params;
    expect({ appid, partnerid, package: action.params.package }).toEqual({
      appid: SANDBOX_WECHAT_APPIDS.app,
      partnerid: wechatKeys.merchant.mchid,
      package: 'Sign=WXPay',
    });
    expect(verifies(`${appid}\n${timestamp}\n${noncestr}\n${prepayid}\n`, sign)).toBe(true);
    expect(sent[0]?.url).toBe(`${WECHAT_SANDBOX_BASE}/v3/pay/transactions/app`);
  });

  it('an H5 start sends scene_info with the customer IP and answers h5_url with the return page as redirect_url', async () => {
    const { provider, sent } = wechat();
    const action = await started(provider, checkoutRequest('h5'));
    if (action.type !== 'redirect') throw new Error(action.type);
    expect(JSON.parse(sent[0]!.body).scene_info).toEqual({
      payer_client_ip: '14.23.150.211',
      h5_info: { type: 'Wap' },
    });
    expect(action.url).toMatch(
      /\/h5\/checkmweb\?prepay_id=wx\w+&package=\d+&redirect_url=https%3A%2F%2Fshop\.example%2Forders%2Ford_1$/,
    );
  });
});

describe('WeChat prepay refusals (SCENES.md §0)', () => {
  it('PARAM_ERROR without payer.openid, INVALID_REQUEST for another openid under the same out_trade_no', async () => {
    const { provider } = wechat();
    await expect(provider.startCheckout(checkoutRequest('jsapi', { payer: {} }))).rejects.toBeInstanceOf(
      ProviderCallError,
    );
    await provider.startCheckout(checkoutRequest('jsapi'));
    await expect(
      provider.startCheckout(checkoutRequest('jsapi', { payer: { openid: 'oSomeoneElse' } })),
    ).rejects.toMatchObject({ message: expect.stringContaining('400 INVALID_REQUEST'), retryable: false });
  });

  it('re-entering the same order answers the same prepay_id; a paid one is ORDERPAID, a closed one ORDER_CLOSED', async () => {
    const { provider, store } = wechat();
    const first = await provider.startCheckout(checkoutRequest('jsapi'));
    expect(await provider.startCheckout(checkoutRequest('jsapi'))).toMatchObject({ ref: first.ref });
    store.put({ ...store.get('pay_000001')!, state: 'paid' });
    await expect(provider.startCheckout(checkoutRequest('jsapi'))).rejects.toMatchObject({
      message: expect.stringContaining('ORDERPAID'),
    });
    store.put({ ...store.get('pay_000001')!, state: 'closed' });
    await expect(provider.startCheckout(checkoutRequest('jsapi'))).rejects.toMatchObject({
      message: expect.stringContaining('ORDER_CLOSED'),
    });
  });

  it('reads the scene of a transaction from trade_type and appid', () => {
    const config = wechatKeys.merchant;
    const of = (trade_type: string, appid: string) => sceneOfTransaction(config, { trade_type, appid });
    expect(of('JSAPI', SANDBOX_WECHAT_APPIDS.jsapi)).toBe('jsapi');
    expect(of('JSAPI', SANDBOX_WECHAT_APPIDS.miniprogram)).toBe('miniprogram');
    expect(of('MWEB', SANDBOX_WECHAT_APPIDS.main)).toBe('h5');
    expect(of('APP', SANDBOX_WECHAT_APPIDS.app)).toBe('app');
    expect(of('NATIVE', SANDBOX_WECHAT_APPIDS.main)).toBe('native');
  });
});

describe('Alipay scenes', () => {
  function alipay() {
    const store = memoryCheckoutStore();
    const fetch = alipayFetch(createAlipaySimulator(alipayKeys.sandbox), store, NOW);
    return { store, provider: createAlipayProvider({ config: alipayKeys.merchant, fetch }) };
  }

  it('app: an order string in the SDK order, signed over the sorted raw pairs, verifiable with the app public key', async () => {
    const { provider, store } = alipay();
    const action = await started(provider, checkoutRequest('app'));
    if (action.type !== 'alipay-app') throw new Error(action.type);
    const decoded = decodeURIComponent(action.orderString);
    expect(decoded).toMatch(
      /^method=alipay\.trade\.app\.pay&app_id=2021000000000001&charset=utf-8&version=1\.0&sign_type=RSA2&timestamp=2026-11-25 12:00:00&/,
    );
    expect(decoded).toContain('&biz_content={"out_trade_no":"pay_000001"');
    const params = new URLSearchParams(action.orderString);
    const content = [...params]
      .filter(([key]) => key !== 'sign')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => `${key}=${value}`)
      .join('&');
    const appKey = createPublicKey(alipayKeys.sandbox.appPublicKey);
    expect(verify('sha256', Buffer.from(content), appKey, Buffer.from(params.get('sign')!, 'base64'))).toBe(true);
    expect(JSON.parse(params.get('biz_content')!)).toMatchObject({
      product_code: 'QUICK_MSECURITY_PAY',
      total_amount: '123.45',
      time_expire: '2026-11-25 12:30:00',
    });
    expect(store.get('pay_000001')).toBeUndefined();
  });

  it('qr: precreate answers qr_code; until a buyer scans it there is no trade: query not_found, close no_trade', async () => {
    const { provider, store } = alipay();
    const action = await started(provider, checkoutRequest('qr'));
    expect(action).toEqual({ type: 'qr', content: 'http://127.0.0.1:3000/sandbox/alipay/qr/pay_000001' });
    await expect(provider.queryPayment!('pay_000001', NOW)).resolves.toMatchObject({ status: 'not_found' });
    await expect(provider.closePayment!('pay_000001', NOW)).resolves.toBe('no_trade');
    expect(store.get('pay_000001')?.state).toBe('pending');
  });

  it('miniprogram: alipay.trade.create for the buyer answers the trade_no for my.tradePay', async () => {
    const { provider, store } = alipay();
    const action = await started(provider, checkoutRequest('miniprogram'));
    if (action.type !== 'alipay-miniprogram') throw new Error(action.type);
    expect(action.tradeNo).toBe(store.get('pay_000001')?.transactionId);
    expect(store.get('pay_000001')?.scene).toMatchObject({
      tradeType: 'alipay.trade.create',
      payer: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
    });
  });
});

describe('choosing the scene (scene tables, configuration)', () => {
  const onlyNative = createWechatProvider({
    config: WechatConfigSchema.parse({ ...wechatKeys.merchant, scenes: undefined }),
    fetch: unusedFetch,
  });
  const full = createWechatProvider({ config: wechatKeys.merchant, fetch: unusedFetch });

  it('SCENE_NOT_SUPPORTED, SCENE_NOT_CONFIGURED, PAYER_REQUIRED, each with what to do', () => {
    expect(() => chooseScene(full, 'wechat', { scene: 'qr' })).toThrow(
      expect.objectContaining({ code: 'SCENE_NOT_SUPPORTED' }),
    );
    expect(() => chooseScene(onlyNative, 'wechat', { scene: 'jsapi', payer: { openid: OPENID } })).toThrow(
      expect.objectContaining({ code: 'SCENE_NOT_CONFIGURED' }),
    );
    expect(() => chooseScene(full, 'wechat', { scene: 'jsapi' })).toThrow(
      expect.objectContaining({ code: 'PAYER_REQUIRED', details: { scene: 'jsapi', payer: 'openid' } }),
    );
  });

  it("the token's openid wins over the body's; only the scene's own payer id and the client IP where used are kept", () => {
    const choice = chooseScene(full, 'wechat', {
      scene: 'jsapi',
      payer: { openid: 'oBody', alipayOpenId: 'x' },
      tokenPayer: { openid: 'oToken' },
      clientIp: '1.2.3.4',
    });
    expect(choice.inputs).toEqual({ payer: { openid: 'oToken' } });
    expect(chooseScene(full, 'wechat', { scene: 'h5', clientIp: '1.2.3.4' }).inputs).toEqual({ clientIp: '1.2.3.4' });
    expect(chooseScene(full, 'wechat', {}).scene).toBe('native');
  });

  it('GET /api/payment-methods lists only the configured scenes', () => {
    expect(paymentMethods({ providers: { wechat: onlyNative } })).toEqual({
      methods: [{ method: 'wechat', defaultScene: 'native', scenes: [{ scene: 'native', action: 'qr' }] }],
    });
  });
});

describe('the sandbox H5 cashier checks what WeChat checks', () => {
  it('refuses another IP than payer_client_ip, a missing Referer and an h5_url older than 5 minutes; else opens the checkout', async () => {
    const store = memoryCheckoutStore();
    const simulator = createWechatSimulator(wechatKeys.sandbox);
    const provider = createWechatProvider({
      config: wechatKeys.merchant,
      fetch: wechatFetch(simulator, store, { now: () => NOW }),
    });
    const action = await started(provider, checkoutRequest('h5'));
    if (action.type !== 'redirect') throw new Error(action.type);
    const url = new URL(action.url);
    const open = (headers: Record<string, string>, sourceIp: string, at = NOW) =>
      simulator.handle(
        { method: 'GET', path: '/h5/checkmweb', query: url.searchParams, headers, body: '', sourceIp },
        store,
        at,
      );
    const referer = { referer: 'https://shop.example/checkout' };
    expect((await open(referer, '10.0.0.9')).body).toContain('网络环境未能通过安全验证');
    expect((await open({}, '14.23.150.211')).body).toContain('商家参数格式有误');
    expect((await open(referer, '14.23.150.211', new Date(NOW.getTime() + 5 * 60_000))).body).toContain(
      '支付请求已失效',
    );
    const opened = await open(referer, '14.23.150.211');
    expect(opened.statusCode).toBe(302);
    expect(store.get('pay_000001')?.returnUrl).toBe('https://shop.example/orders/ord_1');
  });
});

describe('the sandbox checks the merchant set-up WeChat checks', () => {
  it('JSAPI: the bridge refuses a page outside the 支付授权目录 (its own directory, or a site root), case-sensitive', async () => {
    const store = memoryCheckoutStore();
    const simulator = createWechatSimulator(wechatKeys.sandbox, {
      jsapiDirectories: ['https://shop.example/pay/', 'https://m.shop.example/'],
    });
    const fetch = wechatFetch(simulator, store, { now: () => NOW });
    const action = await started(
      createWechatProvider({ config: wechatKeys.merchant, fetch }),
      checkoutRequest('jsapi'),
    );
    if (action.type !== 'wechat-jsapi') throw new Error(action.type);
    const bridge = (pageUrl: string) =>
      simulator.client!('jsapi', JSON.stringify({ params: action.params, pageUrl, decision: 'cancel' }), store, NOW);
    const refused = { accepted: false, statusCode: 400 };

    expect(bridge('https://shop.example/pay/sub/order.html')).toMatchObject({
      ...refused,
      answer: { reason: expect.stringContaining('当前页面的URL未注册') },
    });
    expect(bridge('https://shop.example/Pay/order.html')).toMatchObject(refused);
    expect(bridge('https://evil.example/pay/order.html')).toMatchObject(refused);
    expect(bridge('https://shop.example/pay/order.html?id=1')).toMatchObject({ statusCode: 200 });
    expect(bridge('https://m.shop.example/any/where.html')).toMatchObject({ statusCode: 200 });
  });

  it('H5: the cashier refuses a Referer or redirect_url off the registered H5 domains (a domain covers its subdomains)', async () => {
    const store = memoryCheckoutStore();
    const simulator = createWechatSimulator(wechatKeys.sandbox, { h5Domains: ['shop.example'] });
    const fetch = wechatFetch(simulator, store, { now: () => NOW });
    const action = await started(createWechatProvider({ config: wechatKeys.merchant, fetch }), checkoutRequest('h5'));
    if (action.type !== 'redirect') throw new Error(action.type);
    const open = (referer: string, redirect = 'https://shop.example/orders/ord_1') => {
      const query = new URL(action.url).searchParams;
      query.set('redirect_url', redirect);
      return simulator.handle(
        { method: 'GET', path: '/h5/checkmweb', query, headers: { referer }, body: '', sourceIp: '14.23.150.211' },
        store,
        NOW,
      );
    };

    expect((await open('https://evil.example/checkout')).body).toContain('商家存在未配置的参数');
    expect((await open('https://m.shop.example/checkout', 'https://evil.example/back')).body).toContain(
      '商家存在未配置的参数',
    );
    expect((await open('https://m.shop.example/checkout')).statusCode).toBe(302);
  });
});

describe("the openid's code exchange at the sandbox (what a shop's server does before a jsapi / miniprogram start)", () => {
  const get = (simulator: ReturnType<typeof createWechatSimulator>, pathAndQuery: string, at = NOW) => {
    const url = new URL(pathAndQuery, 'http://sandbox.local');
    const request = { method: 'GET', path: url.pathname, query: url.searchParams, headers: {}, body: '' };
    return simulator.handle(request, memoryCheckoutStore(), at);
  };
  const body = async (answer: Promise<{ body: string }>) => JSON.parse((await answer).body) as Record<string, unknown>;

  it('page OAuth: authorize redirects back with a code; access_token exchanges it once for the openid under that appid', async () => {
    const simulator = createWechatSimulator(wechatKeys.sandbox);
    const authorize = (user: string) =>
      get(
        simulator,
        `/connect/oauth2/authorize?appid=${SANDBOX_WECHAT_APPIDS.jsapi}&redirect_uri=${encodeURIComponent('https://shop.example/pay/?x=1')}&response_type=code&scope=snsapi_base&state=s1&sandbox_user=${user}`,
      );
    const back = new URL((await authorize('alice')).headers.location!);
    expect(back.origin + back.pathname).toBe('https://shop.example/pay/');
    expect(back.searchParams.get('state')).toBe('s1');
    const exchange = (code: string, at = NOW) =>
      body(
        get(
          simulator,
          `/sns/oauth2/access_token?appid=${SANDBOX_WECHAT_APPIDS.jsapi}&secret=s&code=${code}&grant_type=authorization_code`,
          at,
        ),
      );

    const first = await exchange(back.searchParams.get('code')!);
    expect(first).toMatchObject({
      openid: expect.stringMatching(/^o[\w-]{27}$/),
      expires_in: 7200,
      scope: 'snsapi_base',
    });
    expect(await exchange(back.searchParams.get('code')!)).toEqual({ errcode: 40029, errmsg: 'invalid code' });
    const again = new URL((await authorize('alice')).headers.location!).searchParams.get('code')!;
    expect((await exchange(again)).openid).toBe(first.openid);
    const bob = new URL((await authorize('bob')).headers.location!).searchParams.get('code')!;
    expect((await exchange(bob)).openid).not.toBe(first.openid);
    const late = new URL((await authorize('alice')).headers.location!).searchParams.get('code')!;
    expect(await exchange(late, new Date(NOW.getTime() + 5 * 60_000))).toMatchObject({ errcode: 40029 });
  });

  it("mini-program: jscode2session gives the same openid for the same wx.login code, only for the mini-program's appid", async () => {
    const simulator = createWechatSimulator(wechatKeys.sandbox);
    const session = (appid: string, code: string) =>
      body(get(simulator, `/sns/jscode2session?appid=${appid}&secret=s&js_code=${code}&grant_type=authorization_code`));
    const openid = (await session(SANDBOX_WECHAT_APPIDS.miniprogram, 'c1')).openid;
    expect(openid).toEqual(expect.stringMatching(/^o/));
    expect((await session(SANDBOX_WECHAT_APPIDS.miniprogram, 'c1')).openid).toBe(openid);
    expect(await session(SANDBOX_WECHAT_APPIDS.jsapi, 'c1')).toMatchObject({ errcode: 40013 });
  });
});

describe('the provider secret: scenes', () => {
  it('names the field of a bad appid, never its value, and refuses one appid for jsapi and miniprogram', () => {
    const bad = WechatConfigSchema.safeParse({
      ...wechatKeys.merchant,
      scenes: { jsapi: { appid: 'not an appid!' } },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['scenes.jsapi.appid']);
    expect(JSON.stringify(bad.error?.issues.map((issue) => issue.message))).not.toContain('not an appid!');
    const shared = WechatConfigSchema.safeParse({
      ...wechatKeys.merchant,
      scenes: { jsapi: { appid: 'wx1' }, miniprogram: { appid: 'wx1' } },
    });
    expect(shared.success).toBe(false);
  });
});
