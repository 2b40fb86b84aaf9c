import { createPayUrl } from '../../support/checkout-fixtures';
import { createPublicKey, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAlipaySimulator } from '../../../local/sandbox/alipay';
import type { SandboxCheckout } from '../../../local/sandbox/types';
import { alipaySignContent, createAlipayProvider } from '../../../src/providers/alipay';
import type { AlipayConfig } from '../../../src/providers/config';
import { ProviderCallError, type RawCallback } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import {
  alipayTestKeys,
  formFields,
  memoryCheckoutStore,
  openInSimulator,
  referenceSignString,
  signedNotification,
  simulatorFetch,
  strangerPrivateKey,
  toRawCallback,
} from '../../support/alipay-fixtures';

const keys = alipayTestKeys();
const stranger = strangerPrivateKey();
const strangerPublicKey = createPublicKey(stranger).export({ type: 'spki', format: 'pem' }).toString();
const simulator = createAlipaySimulator(keys.sandbox);

const NOW = new Date('2025-01-02T03:05:00.000Z'); // 2025-01-02 11:05:00 in GMT+8
const PAID_AT = '2025-01-02T03:04:59.000Z'; // 2025-01-02 11:04:59 in GMT+8
const NOTIFY_URL = 'https://shop.example/api/payments/callback/alipay';
const TRADE_NO = '2025010222001400001234567890';

const noNetwork: FetchLike = async () => {
  throw new Error('no network in this test');
};

function merchant(config: AlipayConfig = keys.merchant, fetch: FetchLike = noNetwork) {
  return createAlipayProvider({ config, fetch });
}
const alipay = merchant();

function checkout(overrides: Partial<SandboxCheckout> = {}): SandboxCheckout {
  return {
    provider: 'alipay',
    paymentId: 'pay_42',
    amount: 12_345,
    currency: 'CNY',
    description: '订单 ord_42 & co',
    notifyUrl: NOTIFY_URL,
    returnUrl: 'https://shop.example/orders/ord_42',
    expiresAt: '2025-01-02T03:35:00.000Z',
    state: 'paid',
    transactionId: TRADE_NO,
    paidAt: PAID_AT,
    notificationId: 'notify_42',
    ...overrides,
  };
}

function callbackFor(sandboxCheckout: SandboxCheckout): RawCallback {
  const callback = simulator.buildCallback(sandboxCheckout, NOW);
  if (!callback) throw new Error('the sandbox sent no callback');
  return toRawCallback(callback);
}

/** The sandbox's paid notification with some fields changed, signed again by Alipay's key. */
function resigned(
  overrides: Record<string, string>,
  options: { keepSignType?: boolean; without?: string[] } = {},
): RawCallback {
  const fields = { ...formFields(callbackFor(checkout()).body), ...overrides };
  for (const key of options.without ?? []) delete fields[key];
  return signedNotification(fields, keys.sandbox.alipayPrivateKey, options);
}

function withBody(callback: RawCallback, body: string): RawCallback {
  return { ...callback, body: Buffer.from(body, 'utf8') };
}

function reasonOf(callback: RawCallback, provider = alipay): string {
  const result = provider.verifyCallback(callback, NOW);
  return result.ok ? 'ok' : result.reason;
}

function payRequest(overrides: Partial<Parameters<typeof createPayUrl>[1]> = {}): Parameters<typeof createPayUrl>[1] {
  return {
    payment: {
      paymentId: 'pay_42',
      orderId: 'ord_42',
      amount: 12_345,
      currency: 'CNY',
      expiresAt: '2025-01-02T16:30:00.000Z', // 2025-01-03 00:30:00 in GMT+8: the date changes
      description: 'Order ord_42 + 2 items',
    },
    notifyUrl: NOTIFY_URL,
    returnUrl: 'https://shop.example/orders/ord_42?from=alipay&x=a b',
    now: NOW,
    ...overrides,
  };
}

/** The pay URL's parameters, and whether `sign` verifies over the rest with the app public key. */
function readPayUrl(payUrl: string, appPublicKey = keys.sandbox.appPublicKey) {
  const url = new URL(payUrl);
  const params = formFields(url.search.slice(1));
  const content = referenceSignString(params, ['sign']);
  const signed = verify('sha256', Buffer.from(content, 'utf8'), appPublicKey, Buffer.from(params.sign ?? '', 'base64'));
  return {
    gateway: `${url.origin}${url.pathname}`,
    params,
    biz: JSON.parse(params.biz_content ?? '{}') as Record<string, unknown>,
    signed,
  };
}

describe('alipay callback: verification', () => {
  it('round trip: the sandbox notification verifies and normalises every field', () => {
    const callback = simulator.buildCallback(checkout(), NOW)!;
    expect(callback.url).toBe(NOTIFY_URL);
    expect(callback.headers['Content-Type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(formFields(callback.body)).toMatchObject({
      notify_type: 'trade_status_sync',
      notify_id: 'notify_42',
      notify_time: '2025-01-02 11:05:00',
      app_id: '2021000000000001',
      seller_id: '2088000000000001',
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: TRADE_NO,
      out_trade_no: 'pay_42',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '123.45',
      receipt_amount: '123.45',
      buyer_pay_amount: '123.45',
      gmt_payment: '2025-01-02 11:04:59',
      subject: '订单 ord_42 & co',
    });
    // Form encoding as Alipay sends it: space as '+', the rest percent-encoded.
    expect(callback.body).toContain('gmt_payment=2025-01-02+11%3A04%3A59');

    expect(alipay.verifyCallback(toRawCallback(callback), NOW)).toEqual({
      ok: true,
      notification: {
        provider: 'alipay',
        eventId: 'notify_42',
        paymentId: 'pay_42',
        providerTransactionId: TRADE_NO,
        outcome: 'succeeded',
        amount: 12_345,
        currency: 'CNY',
        occurredAt: PAID_AT,
        providerStatus: 'TRADE_SUCCESS',
        via: 'callback',
      },
    });
  });

  it('accepts the documented sign string (without sign_type) and the SDK variant that keeps it', () => {
    expect(reasonOf(resigned({}, { keepSignType: false }))).toBe('ok');
    expect(reasonOf(resigned({}, { keepSignType: true }))).toBe('ok');
  });

  it('a sandbox notification of a closed or failed checkout is TRADE_CLOSED → cancelled at gmt_close', () => {
    for (const state of ['closed', 'failed'] as const) {
      const result = alipay.verifyCallback(callbackFor(checkout({ state, paidAt: undefined })), NOW);
      expect(result).toMatchObject({
        ok: true,
        notification: { outcome: 'cancelled', providerStatus: 'TRADE_CLOSED', occurredAt: NOW.toISOString() },
      });
    }
    expect(simulator.buildCallback(checkout({ state: 'pending' }), NOW)).toBeUndefined();
  });

  it('missing sign → malformed', () => {
    const fields = formFields(callbackFor(checkout()).body);
    delete fields.sign;
    expect(reasonOf(withBody(callbackFor(checkout()), new URLSearchParams(fields).toString()))).toBe('malformed');
  });

  it('sign_type other than RSA2 → malformed, even with a valid signature', () => {
    expect(reasonOf(resigned({ sign_type: 'RSA' }))).toBe('malformed');
  });

  it('a field sent twice → malformed (which copy would be the signed one?)', () => {
    const callback = callbackFor(checkout());
    expect(reasonOf(withBody(callback, `${callback.body.toString()}&trade_status=TRADE_CLOSED`))).toBe('malformed');
  });

  it('app_id that is not ours → merchant_mismatch', () => {
    expect(reasonOf(resigned({ app_id: '2021000000009999' }))).toBe('merchant_mismatch');
  });

  it('seller_id that is not ours → merchant_mismatch when sellerId is configured', () => {
    expect(reasonOf(resigned({ seller_id: '2088000000009999' }))).toBe('merchant_mismatch');
    expect(reasonOf(resigned({}, { without: ['seller_id'] }))).toBe('merchant_mismatch');
  });

  it('seller_id is not checked when sellerId is not configured', () => {
    const withoutSeller = merchant({ ...keys.merchant, sellerId: undefined });
    expect(reasonOf(resigned({ seller_id: '2088000000009999' }), withoutSeller)).toBe('ok');
    expect(reasonOf(resigned({}, { without: ['seller_id'] }), withoutSeller)).toBe('ok');
  });

  it('tampered sign → bad_signature', () => {
    const fields = formFields(callbackFor(checkout()).body);
    const signature = fields.sign!;
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect(
      reasonOf(withBody(callbackFor(checkout()), new URLSearchParams({ ...fields, sign: flipped }).toString())),
    ).toBe('bad_signature');
  });

  it('tampered field → bad_signature', () => {
    const callback = callbackFor(checkout());
    expect(
      reasonOf(withBody(callback, callback.body.toString().replace('total_amount=123.45', 'total_amount=1.00'))),
    ).toBe('bad_signature');
  });

  it('signed with a key that is not Alipay’s → bad_signature', () => {
    expect(reasonOf(signedNotification(formFields(callbackFor(checkout()).body), stranger))).toBe('bad_signature');
  });

  it('property: changing any byte of the body is refused, unless it only re-spells the same fields', () => {
    const callback = callbackFor(checkout());
    const original = callback.body;
    fc.assert(
      fc.property(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 }), (index, byte) => {
        fc.pre(original[index] !== byte);
        const mutated = Buffer.from(original);
        mutated[index] = byte;
        const result = alipay.verifyCallback({ ...callback, body: mutated }, NOW);
        // The only changes that may pass are encodings of the same decoded fields ('+' ↔ ' ',
        // %3A ↔ %3a): what was signed is unchanged, so nothing was forged.
        if (result.ok) expect(formFields(mutated)).toEqual(formFields(original));
      }),
      { numRuns: 500 },
    );
  });

  it('property: arbitrary bytes are refused without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(alipay.verifyCallback({ headers: {}, body: Buffer.from(bytes) }, NOW).ok).toBe(false);
      }),
    );
    expect(reasonOf({ headers: {}, body: 'not a buffer' as unknown as Buffer })).toBe('malformed');
  });

  it('a required field missing (notify_id) → malformed', () => {
    expect(reasonOf(resigned({}, { without: ['notify_id'] }))).toBe('malformed');
  });
});

describe('alipay callback: amounts', () => {
  it.each([
    [1, '0.01'],
    [9_999_999_999, '99999999.99'],
  ])('%i fen is total_amount "%s" and back, exactly', (amount, yuan) => {
    const callback = callbackFor(checkout({ amount }));
    expect(formFields(callback.body).total_amount).toBe(yuan);
    expect(alipay.verifyCallback(callback, NOW)).toMatchObject({ ok: true, notification: { amount } });
  });

  it.each(['1.001', '-1', '1e3', '1,00', ' 1.00', '100000000.00'])('total_amount "%s" → malformed', (totalAmount) => {
    expect(reasonOf(resigned({ total_amount: totalAmount }))).toBe('malformed');
  });
});

describe('alipay callback: trade_status mapping', () => {
  it.each([
    ['TRADE_SUCCESS', 'succeeded'],
    ['TRADE_FINISHED', 'succeeded'],
    ['TRADE_CLOSED', 'cancelled'],
  ])('%s → %s', (status, outcome) => {
    expect(alipay.verifyCallback(resigned({ trade_status: status }), NOW)).toMatchObject({
      ok: true,
      notification: { outcome, providerStatus: status },
    });
  });

  it('WAIT_BUYER_PAY → unsupported_event', () => {
    expect(reasonOf(resigned({ trade_status: 'WAIT_BUYER_PAY' }))).toBe('unsupported_event');
  });

  it('an unknown trade_status → malformed', () => {
    expect(reasonOf(resigned({ trade_status: 'TRADE_REFUNDED' }))).toBe('malformed');
  });
});

describe('alipay callback: times', () => {
  it('gmt_payment is GMT+8 and becomes ISO UTC (across midnight and the year)', () => {
    expect(alipay.verifyCallback(resigned({ gmt_payment: '2025-01-01 07:59:59' }), NOW)).toMatchObject({
      ok: true,
      notification: { occurredAt: '2024-12-31T23:59:59.000Z' },
    });
  });

  it('without gmt_payment, notify_time is the event time', () => {
    expect(
      alipay.verifyCallback(resigned({ notify_time: '2025-01-02 11:06:00' }, { without: ['gmt_payment'] }), NOW),
    ).toMatchObject({
      ok: true,
      notification: { occurredAt: '2025-01-02T03:06:00.000Z' },
    });
  });

  it.each(['2025-02-30 10:00:00', '2025-01-02T11:04:59', '2025-01-02 11:04'])(
    'gmt_payment "%s" → malformed',
    (time) => {
      expect(reasonOf(resigned({ gmt_payment: time }))).toBe('malformed');
    },
  );
});

describe('alipay callback: replies', () => {
  it('acknowledge is 200 text/plain "success", which the sandbox counts as acknowledged', () => {
    const reply = alipay.acknowledge();
    expect(reply).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'success',
    });
    expect(simulator.isAcknowledged(reply.statusCode, reply.body)).toBe(true);
  });

  it('reject is "fail" (500 when retryable, else 400) and never echoes the message', () => {
    expect(alipay.reject('sign does not verify', true)).toEqual({
      statusCode: 500,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'fail',
    });
    expect(alipay.reject('sign does not verify', false)).toMatchObject({ statusCode: 400, body: 'fail' });
    expect(simulator.isAcknowledged(500, 'fail')).toBe(false);
  });

  it('the sandbox counts only exactly "success" with 200 as acknowledged', () => {
    expect(simulator.isAcknowledged(200, 'success\n')).toBe(false);
    expect(simulator.isAcknowledged(200, 'SUCCESS')).toBe(false);
    expect(simulator.isAcknowledged(204, 'success')).toBe(false);
  });
});

describe('alipay pay URL', () => {
  it('the sign string is sorted k=v& of raw values, empty values left out', () => {
    expect(alipaySignContent({ b: '2', a: 'x y&z', sign: 's', sign_type: 'RSA2', empty: '' }, ['sign'])).toBe(
      'a=x y&z&b=2&sign_type=RSA2',
    );
    expect(alipaySignContent({ b: '2', a: '1', sign: 's', sign_type: 'RSA2' }, ['sign', 'sign_type'])).toBe('a=1&b=2');
  });

  it('is the gateway with the common params, signed with the app private key (verified with its public key)', async () => {
    const { payUrl } = await createPayUrl(alipay, payRequest());
    const { gateway, params, biz, signed } = readPayUrl(payUrl);
    expect(gateway).toBe(keys.merchant.gateway);
    expect(signed).toBe(true);
    expect(params).toEqual({
      app_id: '2021000000000001',
      method: 'alipay.trade.page.pay',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2025-01-02 11:05:00',
      version: '1.0',
      notify_url: NOTIFY_URL,
      return_url: 'https://shop.example/orders/ord_42?from=alipay&x=a b',
      biz_content: expect.any(String),
      sign: expect.any(String),
    });
    expect(biz).toEqual({
      out_trade_no: 'pay_42',
      total_amount: '123.45',
      subject: 'Order ord_42 + 2 items',
      product_code: 'FAST_INSTANT_TRADE_PAY',
      time_expire: '2025-01-03 00:30:00',
    });
  });

  it('every parameter is percent-encoded (no raw space or "+" that could be read as a space)', async () => {
    const { payUrl } = await createPayUrl(alipay, payRequest());
    expect(new URL(payUrl).search).not.toMatch(/[ +]/);
  });

  it('a URL signed with another key does not verify with the app public key', async () => {
    const { payUrl } = await createPayUrl(merchant({ ...keys.merchant, privateKey: stranger }), payRequest());
    expect(readPayUrl(payUrl).signed).toBe(false);
  });

  it('wap channel: alipay.trade.wap.pay with QUICK_WAP_WAY, signed the same way', async () => {
    const { payUrl } = await createPayUrl(alipay, payRequest({ channel: 'wap' }));
    const { params, biz, signed } = readPayUrl(payUrl);
    expect(signed).toBe(true);
    expect(params.method).toBe('alipay.trade.wap.pay');
    expect(biz).toMatchObject({ product_code: 'QUICK_WAP_WAY', time_expire: '2025-01-03 00:30:00' });
  });

  it.each(['page', 'wap'] as const)(
    'the sandbox accepts the %s URL: checkout registered, 302 to it',
    async (channel) => {
      const store = memoryCheckoutStore();
      const { payUrl } = await createPayUrl(alipay, payRequest({ channel }));
      const entry = await openInSimulator(simulator, store, payUrl, NOW);
      expect(entry).toMatchObject({ statusCode: 302, headers: { location: store.checkoutUrl('pay_42') } });
      expect(store.get('pay_42')).toEqual({
        provider: 'alipay',
        paymentId: 'pay_42',
        amount: 12_345,
        currency: 'CNY',
        description: 'Order ord_42 + 2 items',
        notifyUrl: NOTIFY_URL,
        returnUrl: 'https://shop.example/orders/ord_42?from=alipay&x=a b',
        expiresAt: '2025-01-02T16:30:00.000Z',
        state: 'pending',
      });
    },
  );

  it('the sandbox refuses a pay URL with a changed parameter or a foreign signature', async () => {
    const store = memoryCheckoutStore();
    const { payUrl } = await createPayUrl(alipay, payRequest());
    const changed = payUrl.replace(encodeURIComponent('"123.45"'), encodeURIComponent('"0.01"'));
    expect(changed).not.toBe(payUrl);
    const { payUrl: foreign } = await createPayUrl(merchant({ ...keys.merchant, privateKey: stranger }), payRequest());
    for (const url of [changed, foreign]) {
      const entry = await openInSimulator(simulator, store, url, NOW);
      expect(entry.statusCode).toBe(400);
      expect(entry.body).toContain('isv.invalid-signature');
    }
    expect(store.get('pay_42')).toBeUndefined();
  });
});

describe('alipay query and close through the sandbox', () => {
  function connected(
    options: { config?: AlipayConfig; rewrite?: (body: string) => string; checkouts?: Partial<SandboxCheckout>[] } = {},
  ) {
    const store = memoryCheckoutStore();
    for (const overrides of options.checkouts ?? []) store.put(checkout(overrides));
    return { store, provider: merchant(options.config, simulatorFetch(simulator, store, NOW, options.rewrite)) };
  }

  it('query of a paid trade → paid with trade_no, exact amount and send_pay_date as ISO UTC', async () => {
    const { provider } = connected({ checkouts: [{ state: 'paid' }] });
    expect(await provider.queryPayment!('pay_42', NOW)).toEqual({
      status: 'paid',
      providerTransactionId: TRADE_NO,
      amount: 12_345,
      currency: 'CNY',
      paidAt: PAID_AT,
      providerStatus: 'TRADE_SUCCESS',
    });
  });

  it.each([
    ['pending', { status: 'pending', providerStatus: 'WAIT_BUYER_PAY' }],
    ['closed', { status: 'closed', providerStatus: 'TRADE_CLOSED' }],
    ['failed', { status: 'closed', providerStatus: 'TRADE_CLOSED' }],
  ] as const)('query of a %s checkout → %o', async (state, expected) => {
    const { provider } = connected({ checkouts: [{ state, paidAt: undefined, transactionId: undefined }] });
    expect(await provider.queryPayment!('pay_42', NOW)).toEqual(expected);
  });

  it('query of an unknown trade → not_found', async () => {
    const { provider } = connected();
    expect(await provider.queryPayment!('pay_unknown', NOW)).toEqual({
      status: 'not_found',
      providerStatus: 'ACQ.TRADE_NOT_EXIST',
    });
  });

  it('a merchant signing with a wrong private key gets a ProviderCallError (the sandbox answers isv.invalid-signature)', async () => {
    const { provider } = connected({ config: { ...keys.merchant, privateKey: stranger }, checkouts: [{}] });
    const query = provider.queryPayment!('pay_42', NOW);
    await expect(query).rejects.toBeInstanceOf(ProviderCallError);
    await expect(query).rejects.toThrow(/40002 isv\.invalid-signature/);
    await expect(provider.closePayment!('pay_42', NOW)).rejects.toBeInstanceOf(ProviderCallError);
  });

  it('an answer whose node was tampered with is refused', async () => {
    const { provider } = connected({
      checkouts: [{ state: 'pending' }],
      rewrite: (body) => body.replace('"WAIT_BUYER_PAY"', '"TRADE_SUCCESS"'),
    });
    await expect(provider.queryPayment!('pay_42', NOW)).rejects.toThrow(/alipay_trade_query_response signed by Alipay/);
  });

  it('an answer without sign, or signed with a key that is not Alipay’s, is refused', async () => {
    const unsigned = connected({ checkouts: [{}], rewrite: (body) => body.replace(/,"sign":"[^"]*"/, '') });
    await expect(unsigned.provider.queryPayment!('pay_42', NOW)).rejects.toBeInstanceOf(ProviderCallError);
    const otherKey = connected({ config: { ...keys.merchant, alipayPublicKey: strangerPublicKey }, checkouts: [{}] });
    await expect(otherKey.provider.queryPayment!('pay_42', NOW)).rejects.toBeInstanceOf(ProviderCallError);
  });

  it('the signature covers the node’s exact text wherever it sits in the body', async () => {
    const reordered = (body: string) => {
      const { sign: signature } = JSON.parse(body) as { sign: string };
      const nodeText = body.slice(body.indexOf(':') + 1, body.lastIndexOf(',"sign"'));
      return `{ "sign" : ${JSON.stringify(signature)},\n  "alipay_trade_query_response" :\t${nodeText} }`;
    };
    const { provider } = connected({ checkouts: [{ state: 'pending' }], rewrite: reordered });
    expect(await provider.queryPayment!('pay_42', NOW)).toEqual({
      status: 'pending',
      providerStatus: 'WAIT_BUYER_PAY',
    });
  });

  it('an HTTP error from the gateway is a retryable ProviderCallError', async () => {
    const failing: FetchLike = async () => ({
      status: 502,
      headers: { get: () => null },
      text: async () => 'Bad Gateway',
    });
    await expect(merchant(keys.merchant, failing).queryPayment!('pay_42', NOW)).rejects.toMatchObject({
      name: 'ProviderCallError',
      retryable: true,
    });
  });

  it('close of a pending trade closes it at the sandbox', async () => {
    const { provider, store } = connected({ checkouts: [{ state: 'pending', paidAt: undefined }] });
    await expect(provider.closePayment!('pay_42', NOW)).resolves.toBe('closed');
    expect(store.get('pay_42')?.state).toBe('closed');
    expect(await provider.queryPayment!('pay_42', NOW)).toEqual({ status: 'closed', providerStatus: 'TRADE_CLOSED' });
  });

  it('close of an unknown trade says no_trade: Alipay has not created it yet, and an unscanned QR may still be paid', async () => {
    const { provider } = connected();
    await expect(provider.closePayment!('pay_unknown', NOW)).resolves.toBe('no_trade');
  });

  it('close of a paid trade is a non-retryable ProviderCallError naming ACQ.TRADE_STATUS_ERROR', async () => {
    const { provider, store } = connected({ checkouts: [{ state: 'paid' }] });
    const close = provider.closePayment!('pay_42', NOW);
    await expect(close).rejects.toBeInstanceOf(ProviderCallError);
    await expect(close).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('ACQ.TRADE_STATUS_ERROR'),
    });
    expect(store.get('pay_42')?.state).toBe('paid');
  });
});

describe('alipay sandbox gateway', () => {
  it('accepts a request signed without sign_type in the string (the other variant)', async () => {
    const store = memoryCheckoutStore();
    store.put(checkout({ state: 'pending' }));
    const params: Record<string, string> = {
      app_id: keys.sandbox.appId,
      method: 'alipay.trade.query',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2025-01-02 11:05:00',
      version: '1.0',
      biz_content: '{"out_trade_no":"pay_42"}',
    };
    const signature = sign(
      'sha256',
      Buffer.from(referenceSignString(params, ['sign_type'])),
      keys.merchant.privateKey,
    ).toString('base64');
    const response = await simulator.handle(
      {
        method: 'POST',
        path: '/gateway.do',
        query: new URLSearchParams(),
        headers: {},
        body: new URLSearchParams({ ...params, sign: signature }).toString(),
      },
      store,
      NOW,
    );
    expect(JSON.parse(response.body)).toMatchObject({
      alipay_trade_query_response: { code: '10000', trade_status: 'WAIT_BUYER_PAY' },
    });
  });
});
