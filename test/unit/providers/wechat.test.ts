import { checkoutRequest, createPayUrl } from '../../support/checkout-fixtures';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SandboxCheckout } from '../../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import type { WechatSandboxKeys } from '../../../local/sandbox/wechat-signing';
import { WechatConfigSchema, type WechatConfig } from '../../../src/providers/config';
import { ProviderCallError, type RawCallback } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import {
  WECHAT_CALLBACK_OUTCOMES,
  WECHAT_QUERY_STATUSES,
  WECHAT_TRADE_STATES,
  createWechatProvider,
  toBeijingRfc3339,
} from '../../../src/providers/wechat';
import { memoryCheckoutStore, toRawCallback } from '../../support/bank-fixtures';
import {
  WECHAT_SANDBOX_BASE,
  platformSigner,
  rsaPemPair,
  seconds,
  signedAnswerFetch,
  simulatorFetch,
  wechatNotification,
  wechatRefundNotification,
  wechatRefundResource,
  wechatTransaction,
  wechatpayHeaders,
  type SentRequest,
  paidWechatCheckout,
} from '../../support/wechat-fixtures';

// RSA key generation is the slow part: once per file.
const { merchant, sandbox } = generateWechatKeys(WECHAT_SANDBOX_BASE);
const secondPlatform = rsaPemPair();
const otherMerchant = rsaPemPair();
const SECOND_SERIAL = 'PUB_KEY_ID_0113SECONDKEY';
/** The sandbox after a rotation: same merchant, signing with the second platform key. */
const rotatedSandbox: WechatSandboxKeys = {
  ...sandbox,
  platformSerial: SECOND_SERIAL,
  platformPrivateKey: secondPlatform.privateKey,
};
const bothKeysConfig: WechatConfig = {
  ...merchant,
  platformPublicKeys: { ...merchant.platformPublicKeys, [SECOND_SERIAL]: secondPlatform.publicKey },
};

const NOW = new Date('2026-11-25T04:00:00.000Z');
const unusedFetch: FetchLike = async () => {
  throw new Error('no network in callback tests');
};
const provider = createWechatProvider({ config: merchant, fetch: unusedFetch });

const checkout = paidWechatCheckout;

/** The simulator's callback for a checkout, as our HTTP layer would hand it to verifyCallback. */
function simulatedCallback(keys: WechatSandboxKeys, decided: SandboxCheckout, signedAt = NOW): RawCallback {
  const outbound = createWechatSimulator(keys).buildCallback(decided, signedAt);
  if (!outbound) throw new Error('simulator sent no callback');
  return toRawCallback(outbound);
}

function withHeaders(callback: RawCallback, headers: Record<string, string | undefined>): RawCallback {
  return { ...callback, headers: { ...callback.headers, ...headers } };
}

function reasonOf(result: ReturnType<typeof provider.verifyCallback>): string {
  return result.ok ? 'ok' : result.reason;
}

describe('generateWechatKeys', () => {
  it('produces a config the schema accepts and sandbox keys that match it', () => {
    expect(WechatConfigSchema.safeParse(merchant).success).toBe(true);
    expect(merchant).toMatchObject({ mchid: '1900000001', appid: 'wx8888888888888888', apiBase: WECHAT_SANDBOX_BASE });
    expect(merchant.apiV3Key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(sandbox.platformSerial).toMatch(/^PUB_KEY_ID_0113[0-9A-F]+$/);
    expect(Object.keys(merchant.platformPublicKeys)).toEqual([sandbox.platformSerial]);
    expect(sandbox).toMatchObject({
      mchid: merchant.mchid,
      appid: merchant.appid,
      apiV3Key: merchant.apiV3Key,
      merchantSerial: merchant.merchantSerial,
    });
  });
});

describe('verifyCallback', () => {
  it('accepts the simulator callback and normalises every field', () => {
    const outbound = createWechatSimulator(sandbox).buildCallback(checkout(), NOW);
    expect(outbound?.url).toBe('https://shop.example/api/payments/callback/wechat');
    const envelope = JSON.parse(outbound?.body ?? '');
    expect(envelope).toMatchObject({
      id: 'EV-0001',
      create_time: '2026-11-25T12:00:00+08:00',
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' },
    });

    expect(provider.verifyCallback(simulatedCallback(sandbox, checkout()), NOW)).toEqual({
      ok: true,
      notification: {
        provider: 'wechat',
        eventId: 'EV-0001',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        outcome: 'succeeded',
        amount: 12_345,
        currency: 'CNY',
        occurredAt: '2026-11-25T03:59:30.000Z',
        providerStatus: 'SUCCESS',
        tradeType: 'NATIVE',
        scene: 'native',
        via: 'callback',
      },
    });
  });

  it('maps the sandbox PAYERROR and CLOSED pushes to failed and cancelled, dated by create_time', () => {
    const failed = provider.verifyCallback(
      simulatedCallback(sandbox, checkout({ state: 'failed', paidAt: undefined })),
      NOW,
    );
    const closed = provider.verifyCallback(
      simulatedCallback(sandbox, checkout({ state: 'closed', paidAt: undefined })),
      NOW,
    );
    expect(failed).toMatchObject({
      ok: true,
      notification: { outcome: 'failed', providerStatus: 'PAYERROR', occurredAt: NOW.toISOString() },
    });
    expect(closed).toMatchObject({
      ok: true,
      notification: { outcome: 'cancelled', providerStatus: 'CLOSED', occurredAt: NOW.toISOString() },
    });
  });

  it('sends no callback for a pending checkout, and uses a fresh id when none is set', () => {
    const simulator = createWechatSimulator(sandbox);
    expect(simulator.buildCallback(checkout({ state: 'pending' }), NOW)).toBeUndefined();
    const first = provider.verifyCallback(simulatedCallback(sandbox, checkout({ notificationId: undefined })), NOW);
    const second = provider.verifyCallback(simulatedCallback(sandbox, checkout({ notificationId: undefined })), NOW);
    expect(first.ok && second.ok && first.notification.eventId !== second.notification.eventId).toBe(true);
  });

  it('accepts a callback signed with either configured platform key (rotation)', () => {
    const rotating = createWechatProvider({ config: bothKeysConfig, fetch: unusedFetch });
    expect(reasonOf(rotating.verifyCallback(simulatedCallback(sandbox, checkout()), NOW))).toBe('ok');
    expect(reasonOf(rotating.verifyCallback(simulatedCallback(rotatedSandbox, checkout()), NOW))).toBe('ok');
  });

  it('rejects a serial that names no configured key as unknown_key, without crashing', () => {
    const callback = simulatedCallback(rotatedSandbox, checkout());
    expect(reasonOf(provider.verifyCallback(callback, NOW))).toBe('unknown_key');
    expect(reasonOf(provider.verifyCallback(withHeaders(callback, { 'wechatpay-serial': '__proto__' }), NOW))).toBe(
      'unknown_key',
    );
    expect(reasonOf(provider.verifyCallback(withHeaders(callback, { 'wechatpay-serial': 'constructor' }), NOW))).toBe(
      'unknown_key',
    );
  });

  it('rejects a signature made with another key than the one the serial names as bad_signature', () => {
    const rotating = createWechatProvider({ config: bothKeysConfig, fetch: unusedFetch });
    const callback = withHeaders(simulatedCallback(rotatedSandbox, checkout()), {
      'wechatpay-serial': sandbox.platformSerial,
    });
    expect(reasonOf(rotating.verifyCallback(callback, NOW))).toBe('bad_signature');
  });

  it('rejects a timestamp more than 5 minutes old or ahead, and accepts exactly 5 minutes', () => {
    const at = (offsetSeconds: number) =>
      simulatedCallback(sandbox, checkout(), new Date(NOW.getTime() + offsetSeconds * 1000));
    expect(reasonOf(provider.verifyCallback(at(-301), NOW))).toBe('stale_timestamp');
    expect(reasonOf(provider.verifyCallback(at(301), NOW))).toBe('stale_timestamp');
    expect(reasonOf(provider.verifyCallback(at(-300), NOW))).toBe('ok');
    expect(reasonOf(provider.verifyCallback(at(300), NOW))).toBe('ok');
  });

  it('counts a WECHATPAY/SIGNTEST/ probe apart as signature_probe', () => {
    const probe = withHeaders(simulatedCallback(sandbox, checkout()), {
      'wechatpay-signature': 'WECHATPAY/SIGNTEST/c2lnbmF0dXJlLXByb2Jl',
    });
    expect(provider.verifyCallback(probe, NOW)).toMatchObject({ ok: false, reason: 'signature_probe' });
  });

  it('rejects a signature over another body as bad_signature', () => {
    const callback = simulatedCallback(sandbox, checkout());
    const other = simulatedCallback(sandbox, checkout({ amount: 1 }));
    const mixed = withHeaders(callback, { 'wechatpay-signature': other.headers['wechatpay-signature'] });
    expect(reasonOf(provider.verifyCallback(mixed, NOW))).toBe('bad_signature');
  });

  it('reports decrypt_failed (never throws) for a wrong APIv3 key, a wrong associated_data or a garbled ciphertext', () => {
    const wrongKey = simulatedCallback({ ...sandbox, apiV3Key: 'X'.repeat(32) }, checkout());
    expect(provider.verifyCallback(wrongKey, NOW)).toMatchObject({ ok: false, reason: 'decrypt_failed' });

    const wrongAad = wechatNotification(sandbox, wechatTransaction(sandbox), {
      now: NOW,
      declaredAssociatedData: 'certificate',
    });
    expect(provider.verifyCallback(wrongAad, NOW)).toMatchObject({ ok: false, reason: 'decrypt_failed' });

    const tooShort = wechatNotification(sandbox, '', { now: NOW });
    const body = JSON.parse(tooShort.body.toString());
    body.resource.ciphertext = Buffer.from('short').toString('base64');
    const resigned = JSON.stringify(body);
    const garbled = {
      headers: wechatpayHeaders(platformSigner(sandbox), resigned, seconds(NOW)),
      body: Buffer.from(resigned),
    };
    expect(provider.verifyCallback(garbled, NOW)).toMatchObject({ ok: false, reason: 'decrypt_failed' });
  });

  it('opens a resource whose associated_data is empty or absent', () => {
    const empty = wechatNotification(sandbox, wechatTransaction(sandbox), { now: NOW, associatedData: '' });
    const absent = wechatNotification(sandbox, wechatTransaction(sandbox), {
      now: NOW,
      associatedData: '',
      declaredAssociatedData: null,
    });
    expect(reasonOf(provider.verifyCallback(empty, NOW))).toBe('ok');
    expect(reasonOf(provider.verifyCallback(absent, NOW))).toBe('ok');
  });

  it('rejects another merchant mchid or appid as merchant_mismatch', () => {
    const otherMchid = wechatNotification(sandbox, wechatTransaction(sandbox, { mchid: '1900000002' }), { now: NOW });
    const otherAppid = wechatNotification(sandbox, wechatTransaction(sandbox, { appid: 'wx0000000000000000' }), {
      now: NOW,
    });
    expect(provider.verifyCallback(otherMchid, NOW)).toMatchObject({
      ok: false,
      reason: 'merchant_mismatch',
      detail: 'mchid is not ours',
    });
    expect(provider.verifyCallback(otherAppid, NOW)).toMatchObject({
      ok: false,
      reason: 'merchant_mismatch',
      detail: 'appid is not ours',
    });
  });

  it('rejects a currency other than CNY as currency_mismatch', () => {
    const usd = wechatTransaction(sandbox, { amount: { total: 100, currency: 'USD' } });
    expect(reasonOf(provider.verifyCallback(wechatNotification(sandbox, usd, { now: NOW }), NOW))).toBe(
      'currency_mismatch',
    );
  });

  it('maps every trade_state: only decided outcomes are accepted', () => {
    const expected: Record<string, string> = {
      SUCCESS: 'succeeded',
      PAYERROR: 'failed',
      CLOSED: 'cancelled',
      REVOKED: 'cancelled',
      NOTPAY: 'unsupported_event',
      USERPAYING: 'unsupported_event',
      REFUND: 'unsupported_event',
      SOMETHING_NEW: 'unsupported_event',
    };
    expect(Object.keys(WECHAT_CALLBACK_OUTCOMES).sort()).toEqual([...WECHAT_TRADE_STATES].sort());
    for (const [state, want] of Object.entries(expected)) {
      const result = provider.verifyCallback(
        wechatNotification(sandbox, wechatTransaction(sandbox, { trade_state: state }), { now: NOW }),
        NOW,
      );
      expect([state, result.ok ? result.notification.outcome : result.reason]).toEqual([state, want]);
    }
  });

  it('reads a resource of original_type refund as a refund, never as a payment outcome (see wechat-refunds.test.ts)', () => {
    const refund = wechatRefundNotification(sandbox, wechatRefundResource(sandbox, { out_trade_no: 'pay_000001' }), {
      now: NOW,
    });
    expect(provider.verifyCallback(refund, NOW)).toMatchObject({
      ok: true,
      notification: { type: 'refund', paymentId: 'pay_000001', outcome: 'succeeded' },
    });
  });

  it('converts success_time in +08:00 to ISO UTC', () => {
    const late = wechatTransaction(sandbox, { success_time: '2026-11-26T00:15:07+08:00' });
    expect(provider.verifyCallback(wechatNotification(sandbox, late, { now: NOW }), NOW)).toMatchObject({
      ok: true,
      notification: { occurredAt: '2026-11-25T16:15:07.000Z' },
    });
  });

  it('keeps amounts exact at the edges (1 fen and 9,999,999,999 fen)', () => {
    for (const total of [1, 9_999_999_999]) {
      const callback = simulatedCallback(sandbox, checkout({ amount: total }));
      expect(provider.verifyCallback(callback, NOW)).toMatchObject({ ok: true, notification: { amount: total } });
    }
  });

  it('rejects amounts that are not whole fen in range as malformed', () => {
    const raw = (totalLiteral: string) =>
      JSON.stringify(wechatTransaction(sandbox, { amount: { total: 0, currency: 'CNY' } })).replace(
        '"total":0',
        `"total":${totalLiteral}`,
      );
    for (const literal of ['10000000000', '12.5', '-1', '9007199254740993', '"100"']) {
      const result = provider.verifyCallback(wechatNotification(sandbox, raw(literal), { now: NOW }), NOW);
      expect([literal, reasonOf(result)]).toEqual([literal, 'malformed']);
    }
  });

  it('rejects a SUCCESS without transaction_id as malformed', () => {
    const noId = wechatTransaction(sandbox, { transaction_id: undefined });
    expect(reasonOf(provider.verifyCallback(wechatNotification(sandbox, noId, { now: NOW }), NOW))).toBe('malformed');
  });

  it('rejects each missing Wechatpay header as malformed', () => {
    const callback = simulatedCallback(sandbox, checkout());
    for (const header of ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature', 'wechatpay-serial']) {
      const result = provider.verifyCallback(withHeaders(callback, { [header]: undefined }), NOW);
      expect([header, reasonOf(result)]).toEqual([header, 'malformed']);
    }
  });

  it('accepts a callback without Wechatpay-Signature-Type (the only type there is)', () => {
    const callback = withHeaders(simulatedCallback(sandbox, checkout()), { 'wechatpay-signature-type': undefined });
    expect(reasonOf(provider.verifyCallback(callback, NOW))).toBe('ok');
  });

  it('rejects a non-numeric timestamp or another signature type as malformed', () => {
    const callback = simulatedCallback(sandbox, checkout());
    expect(
      reasonOf(provider.verifyCallback(withHeaders(callback, { 'wechatpay-timestamp': '1764043200.5' }), NOW)),
    ).toBe('malformed');
    expect(
      reasonOf(
        provider.verifyCallback(withHeaders(callback, { 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' }), NOW),
      ),
    ).toBe('malformed');
  });

  it('rejects a signed body that is not JSON, or not the envelope, as malformed', () => {
    for (const body of ['not json', '{"id":"EV-1"}', '[]', 'null']) {
      const signed = {
        headers: wechatpayHeaders(platformSigner(sandbox), body, seconds(NOW)),
        body: Buffer.from(body),
      };
      expect([body, reasonOf(provider.verifyCallback(signed, NOW))]).toEqual([body, 'malformed']);
    }
    const notTransaction = wechatNotification(sandbox, '{"hello":"world"}', { now: NOW });
    expect(reasonOf(provider.verifyCallback(notTransaction, NOW))).toBe('malformed');
  });

  it('rejects header values of the wrong type as malformed', () => {
    const callback = simulatedCallback(sandbox, checkout());
    const arrayHeader = withHeaders(callback, { 'wechatpay-signature': ['a', 'b'] as unknown as string });
    expect(reasonOf(provider.verifyCallback(arrayHeader, NOW))).toBe('malformed');
  });

  it('never throws, whatever the headers and body', () => {
    const headerValue = fc.option(fc.string(), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          'wechatpay-timestamp': fc.oneof(headerValue, fc.constant(String(seconds(NOW)))),
          'wechatpay-nonce': headerValue,
          'wechatpay-signature': fc.oneof(headerValue, fc.base64String()),
          'wechatpay-serial': fc.oneof(headerValue, fc.constant(sandbox.platformSerial)),
        }),
        fc.uint8Array({ maxLength: 300 }),
        (headers, body) => {
          const result = provider.verifyCallback({ headers, body: Buffer.from(body) }, NOW);
          expect(result.ok).toBe(false);
        },
      ),
    );
  });

  describe('a single changed byte makes verification fail', () => {
    const callback = simulatedCallback(sandbox, checkout());
    const printable = Array.from({ length: 94 }, (_, index) => String.fromCharCode(33 + index)).join('');
    /** Replaces one character with a different printable one. */
    const changeChar = (text: string, index: number, shift: number) => {
      const at = index % text.length;
      const replacement = printable[(printable.indexOf(text.charAt(at)) + shift) % printable.length] ?? '?';
      return text.slice(0, at) + replacement + text.slice(at + 1);
    };

    it('the baseline verifies', () => {
      expect(reasonOf(provider.verifyCallback(callback, NOW))).toBe('ok');
    });

    it('in the body', () => {
      fc.assert(
        fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (index, mask) => {
          const body = Buffer.from(callback.body);
          const at = index % body.length;
          body[at] = (body[at] ?? 0) ^ mask;
          expect(provider.verifyCallback({ ...callback, body }, NOW).ok).toBe(false);
        }),
      );
    });

    for (const header of ['wechatpay-signature', 'wechatpay-timestamp', 'wechatpay-nonce']) {
      it(`in ${header}`, () => {
        const original = callback.headers[header] ?? '';
        fc.assert(
          fc.property(fc.nat(), fc.integer({ min: 1, max: printable.length - 1 }), (index, shift) => {
            const changed = withHeaders(callback, { [header]: changeChar(original, index, shift) });
            expect(provider.verifyCallback(changed, NOW).ok).toBe(false);
          }),
        );
      });
    }
  });
});

describe('acknowledge and reject', () => {
  it('acknowledges with 204 and no body', () => {
    expect(provider.acknowledge()).toEqual({ statusCode: 204, headers: {}, body: '' });
  });

  it('rejects with {"code":"FAIL"}: 500 when WeChat should retry, 400 otherwise', () => {
    const retry = provider.reject('queue unavailable', true);
    const refuse = provider.reject('bad signature', false);
    expect(retry.statusCode).toBe(500);
    expect(refuse.statusCode).toBe(400);
    expect(JSON.parse(retry.body)).toEqual({ code: 'FAIL', message: 'queue unavailable' });
    expect(JSON.parse(refuse.body)).toEqual({ code: 'FAIL', message: 'bad signature' });
  });

  it('counts 200 and 204 as acknowledged in the simulator', () => {
    const simulator = createWechatSimulator(sandbox);
    expect([200, 204, 500, 400].map((status) => simulator.isAcknowledged(status, ''))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('calls to WeChat, through the simulator', () => {
  const { payment } = checkoutRequest('native');
  const notifyUrl = 'https://shop.example/api/payments/callback/wechat';

  function setup(
    options: {
      config?: WechatConfig;
      simulatorNow?: Date;
      tamper?: Parameters<typeof simulatorFetch>[2]['tamper'];
    } = {},
  ) {
    const store = memoryCheckoutStore();
    const sent: SentRequest[] = [];
    const simulator = createWechatSimulator(sandbox);
    const fetch = simulatorFetch(simulator, store, {
      now: () => options.simulatorNow ?? NOW,
      tamper: options.tamper,
      sent,
    });
    const wechat = createWechatProvider({ config: options.config ?? merchant, fetch });
    const start = () =>
      createPayUrl(wechat, { payment, notifyUrl, returnUrl: 'https://shop.example/return', now: NOW });
    return { store, sent, wechat, start };
  }

  it('creates a native order: signed request, code_url back, checkout registered', async () => {
    const { store, sent, start } = setup();
    await expect(start()).resolves.toEqual({ payUrl: store.checkoutUrl('pay_000001') });

    const [request] = sent;
    expect(request?.url).toBe(`${WECHAT_SANDBOX_BASE}/v3/pay/transactions/native`);
    expect(request?.method).toBe('POST');
    expect(request?.headers).toMatchObject({ Accept: 'application/json', 'Content-Type': 'application/json' });
    expect(request?.headers.Authorization).toMatch(
      new RegExp(
        `^WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="\\w+",signature="[A-Za-z0-9+/=]+",timestamp="${seconds(NOW)}",serial_no="${merchant.merchantSerial}"$`,
      ),
    );
    expect(JSON.parse(request?.body ?? '')).toEqual({
      appid: 'wx8888888888888888',
      mchid: '1900000001',
      description: 'Order ord_1',
      out_trade_no: 'pay_000001',
      notify_url: notifyUrl,
      amount: { total: 12_345, currency: 'CNY' },
      time_expire: '2026-11-25T12:30:00+08:00',
    });
    expect(store.get('pay_000001')).toMatchObject({
      provider: 'wechat',
      amount: 12_345,
      description: 'Order ord_1',
      notifyUrl,
      expiresAt: '2026-11-25T04:30:00.000Z',
      state: 'pending',
    });
  });

  it('returns the same code_url when the same order is created twice', async () => {
    const { start } = setup();
    const first = await start();
    await expect(start()).resolves.toEqual(first);
  });

  it('is refused by WeChat when the same out_trade_no comes back with another amount', async () => {
    const { wechat, start } = setup();
    await start();
    const other = createPayUrl(wechat, { payment: { ...payment, amount: 1 }, notifyUrl, returnUrl: '', now: NOW });
    await expect(other).rejects.toMatchObject({
      message: expect.stringMatching(/400 OUT_TRADE_NO_USED \(Request-ID [\w-]+\): .+$/),
      retryable: false,
    });
  });

  it('is refused by WeChat for an out_trade_no outside 6-32 characters of [0-9A-Za-z_-|*]', async () => {
    const { wechat } = setup();
    const uuid = createPayUrl(wechat, {
      payment: { ...payment, paymentId: '0b6f4a4e-3f7e-4d2b-9a55-8f0c4c1d2e3f' },
      notifyUrl,
      returnUrl: '',
      now: NOW,
    });
    await expect(uuid).rejects.toMatchObject({ message: expect.stringContaining('400 PARAM_ERROR') });
  });

  it('renders time_expire as the expiry in +08:00, whole seconds, never later than ours', () => {
    expect(toBeijingRfc3339('2026-11-25T04:30:00.000Z')).toBe('2026-11-25T12:30:00+08:00');
    expect(toBeijingRfc3339('2026-11-25T04:30:00.999Z')).toBe('2026-11-25T12:30:00+08:00');
    expect(toBeijingRfc3339('2026-12-31T20:00:00.000Z')).toBe('2027-01-01T04:00:00+08:00');
  });

  it('queries the order in each checkout state', async () => {
    const { store, wechat, start } = setup();
    await expect(wechat.queryPayment!('pay_000001', NOW)).resolves.toEqual({
      status: 'not_found',
      providerStatus: 'ORDER_NOT_EXIST',
    });
    await start();
    await expect(wechat.queryPayment!('pay_000001', NOW)).resolves.toEqual({
      status: 'pending',
      providerStatus: 'NOTPAY',
    });

    const registered = store.get('pay_000001') as SandboxCheckout;
    store.put({
      ...registered,
      state: 'paid',
      transactionId: '4200000000202611250000000001',
      paidAt: '2026-11-25T03:59:30.000Z',
    });
    await expect(wechat.queryPayment!('pay_000001', NOW)).resolves.toEqual({
      status: 'paid',
      providerTransactionId: '4200000000202611250000000001',
      amount: 12_345,
      currency: 'CNY',
      paidAt: '2026-11-25T03:59:30.000Z',
      providerStatus: 'SUCCESS',
      tradeType: 'NATIVE',
      scene: 'native',
    });
    store.put({ ...registered, state: 'failed' });
    await expect(wechat.queryPayment!('pay_000001', NOW)).resolves.toEqual({
      status: 'failed',
      providerStatus: 'PAYERROR',
    });
    store.put({ ...registered, state: 'closed' });
    await expect(wechat.queryPayment!('pay_000001', NOW)).resolves.toEqual({
      status: 'closed',
      providerStatus: 'CLOSED',
    });
  });

  it('sends the query as a signed GET with mchid in the query string', async () => {
    const { sent, wechat } = setup();
    await wechat.queryPayment!('pay_000001', NOW);
    expect(sent[0]).toMatchObject({
      method: 'GET',
      url: `${WECHAT_SANDBOX_BASE}/v3/pay/transactions/out-trade-no/pay_000001?mchid=1900000001`,
      body: '',
    });
  });

  it('closes a pending order (204) and refuses to close a paid one', async () => {
    const { store, sent, wechat, start } = setup();
    await start();
    await expect(wechat.closePayment!('pay_000001', NOW)).resolves.toBe('closed');
    expect(sent[1]).toMatchObject({
      method: 'POST',
      url: `${WECHAT_SANDBOX_BASE}/v3/pay/transactions/out-trade-no/pay_000001/close`,
      body: '{"mchid":"1900000001"}',
    });
    expect(store.get('pay_000001')?.state).toBe('closed');

    store.put({ ...(store.get('pay_000001') as SandboxCheckout), state: 'paid' });
    const refused = wechat.closePayment!('pay_000001', NOW);
    await expect(refused).rejects.toBeInstanceOf(ProviderCallError);
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining('ORDERPAID'), retryable: false });
    await expect(wechat.closePayment!('pay_unknown', NOW)).rejects.toMatchObject({
      message: expect.stringContaining('ORDER_NOT_EXIST'),
    });
  });

  it('is refused by WeChat (SIGN_ERROR) when signing with another merchant key or serial', async () => {
    for (const config of [
      { ...merchant, merchantPrivateKey: otherMerchant.privateKey },
      { ...merchant, merchantSerial: 'ABCDEF0123456789' },
    ]) {
      const { wechat, start, store } = setup({ config });
      await expect(start()).rejects.toMatchObject({
        name: 'ProviderCallError',
        message: expect.stringContaining('401 SIGN_ERROR'),
      });
      await expect(wechat.queryPayment!('pay_000001', NOW)).rejects.toBeInstanceOf(ProviderCallError);
      await expect(wechat.closePayment!('pay_000001', NOW)).rejects.toBeInstanceOf(ProviderCallError);
      expect(store.get('pay_000001')).toBeUndefined();
    }
  });

  it('is refused by WeChat when our clock is more than 5 minutes off', async () => {
    const { start } = setup({ simulatorNow: new Date(NOW.getTime() + 6 * 60 * 1000) });
    await expect(start()).rejects.toBeInstanceOf(ProviderCallError);
  });

  it('refuses an answer whose body was tampered with, or that is unsigned', async () => {
    const tampered = setup({
      tamper: (answer) => ({ ...answer, body: answer.body.replace('pay_000001', 'pay_999999') }),
    });
    await expect(tampered.start()).rejects.toMatchObject({
      name: 'ProviderCallError',
      message: expect.stringContaining('bad_signature'),
    });

    const unsigned = setup({ tamper: (answer) => ({ ...answer, headers: { 'Content-Type': 'application/json' } }) });
    await expect(unsigned.start()).rejects.toMatchObject({
      name: 'ProviderCallError',
      message: expect.stringContaining('malformed'),
    });
  });

  it('refuses an answer signed with a key we do not trust', async () => {
    const answer = {
      appid: sandbox.appid,
      mchid: sandbox.mchid,
      out_trade_no: 'pay_000001',
      trade_state: 'NOTPAY',
      amount: { total: 1, currency: 'CNY' },
    };
    const wechat = createWechatProvider({
      config: merchant,
      fetch: signedAnswerFetch(rotatedSandbox, 200, answer, NOW),
    });
    await expect(wechat.queryPayment!('pay_000001', NOW)).rejects.toMatchObject({
      message: expect.stringContaining('unknown_key'),
    });
  });

  it('maps every queried trade_state (REFUND counts as paid: the money was taken)', async () => {
    const expected: Record<string, string> = {
      SUCCESS: 'paid',
      REFUND: 'paid',
      NOTPAY: 'pending',
      USERPAYING: 'pending',
      CLOSED: 'closed',
      REVOKED: 'closed',
      PAYERROR: 'failed',
    };
    expect(WECHAT_QUERY_STATUSES).toEqual(expected);
    for (const [state, status] of Object.entries(expected)) {
      const answer = wechatTransaction(sandbox, { trade_state: state });
      const wechat = createWechatProvider({ config: merchant, fetch: signedAnswerFetch(sandbox, 200, answer, NOW) });
      const result = await wechat.queryPayment!('pay_000001', NOW);
      expect([state, result.status, result.providerStatus]).toEqual([state, status, state]);
    }
  });

  it('refuses a query answer about another order or merchant, or with an unknown trade_state', async () => {
    for (const overrides of [
      { out_trade_no: 'pay_000002' },
      { mchid: '1900000002' },
      { trade_state: 'SOMETHING_NEW' },
    ]) {
      const wechat = createWechatProvider({
        config: merchant,
        fetch: signedAnswerFetch(sandbox, 200, wechatTransaction(sandbox, overrides), NOW),
      });
      await expect(wechat.queryPayment!('pay_000001', NOW)).rejects.toBeInstanceOf(ProviderCallError);
    }
  });

  it('marks 5xx answers and network failures retryable, 4xx not', async () => {
    const busy = createWechatProvider({
      config: merchant,
      fetch: signedAnswerFetch(sandbox, 500, { code: 'SYSTEM_ERROR', message: 'busy' }, NOW),
    });
    await expect(busy.queryPayment!('pay_000001', NOW)).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('500 SYSTEM_ERROR'),
    });
    const invalid = createWechatProvider({
      config: merchant,
      fetch: signedAnswerFetch(sandbox, 400, { code: 'PARAM_ERROR', message: 'bad' }, NOW),
    });
    await expect(invalid.queryPayment!('pay_000001', NOW)).rejects.toMatchObject({ retryable: false });
    const down = createWechatProvider({
      config: merchant,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.closePayment!('pay_000001', NOW)).rejects.toMatchObject({
      name: 'ProviderCallError',
      retryable: true,
    });
  });
});
