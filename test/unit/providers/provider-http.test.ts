import { createPayUrl } from '../../support/checkout-fixtures';
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlipaySimulator, generateAlipayKeys } from '../../../local/sandbox/alipay';
import type { SandboxCheckout, SandboxResponse } from '../../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { providerHttpFromEnv } from '../../../src/aws/env';
import { createAlipayProvider } from '../../../src/providers/alipay';
import { DEFAULT_PROVIDER_HTTP, type ProviderHttpConfig } from '../../../src/providers/kit/http';
import { ProviderCallError, type PaymentProvider } from '../../../src/core/payments/provider';
import { createWechatProvider } from '../../../src/providers/wechat';
import { memoryCheckoutStore } from '../../support/alipay-fixtures';
import { type ProviderStandIn, startProviderStandIn } from '../../support/provider-stand-in';
import { platformSigner, seconds, wechatpayHeaders } from '../../support/wechat-fixtures';

/**
 * Every outbound provider call against a real HTTP server on a local port: real fetch, real
 * sockets, real timeouts. The stand-in answers as the provider's sandbox does (real signatures)
 * unless a test makes it hang, stall, drop the connection or answer something else.
 */

const HTTP: ProviderHttpConfig = { timeoutMs: 300, attempts: 3, backoffBaseMs: 20 };
/** Three timed-out attempts, the waits between them, and room for a slow machine. */
const GIVE_UP_WITHIN_MS = HTTP.attempts * HTTP.timeoutMs + HTTP.backoffBaseMs * 3 + 500;

const wechatKeys = generateWechatKeys('http://unused.invalid');
const alipayKeys = generateAlipayKeys('http://unused.invalid');
const store = memoryCheckoutStore();

function paidCheckout(provider: 'wechat' | 'alipay'): SandboxCheckout {
  const now = new Date();
  return {
    provider,
    paymentId: `pay_${provider}_paid`,
    amount: 12_345,
    currency: 'CNY',
    description: 'Order ord_42',
    notifyUrl: `https://shop.example/api/payments/callback/${provider}`,
    expiresAt: new Date(now.getTime() + 30 * 60_000).toISOString(),
    state: 'paid',
    transactionId: '4200000000202611250000000042',
    paidAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    notificationId: 'notify_42',
  };
}

/** An answer signed by the provider that says nothing we asked for. */
const signedNonsense: Record<'wechat' | 'alipay', () => SandboxResponse> = {
  wechat: () => {
    const body = JSON.stringify({ hello: 'world' });
    return {
      statusCode: 200,
      headers: {
        'content-type': 'application/json',
        ...wechatpayHeaders(platformSigner(wechatKeys.sandbox), body, seconds(new Date())),
      },
      body,
    };
  },
  alipay: () => {
    const node = JSON.stringify({
      code: '10000',
      msg: 'Success',
      out_trade_no: 'pay_alipay_paid',
      trade_status: 'DANCING',
    });
    const signature = sign('sha256', Buffer.from(node), alipayKeys.sandbox.alipayPrivateKey).toString('base64');
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: `{"alipay_trade_query_response":${node},"sign":"${signature}"}`,
    };
  },
};

const garbage: SandboxResponse = {
  statusCode: 200,
  headers: { 'content-type': 'text/html' },
  body: '<html>Welcome to the hotel wifi</html>',
};
const status = (statusCode: number): SandboxResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain' },
  body: `HTTP ${statusCode}`,
});

const standIns = {} as Record<'wechat' | 'alipay', ProviderStandIn>;
const providers = {} as Record<'wechat' | 'alipay', PaymentProvider>;

beforeAll(async () => {
  standIns.wechat = await startProviderStandIn(createWechatSimulator(wechatKeys.sandbox), store);
  standIns.alipay = await startProviderStandIn(createAlipaySimulator(alipayKeys.sandbox), store);
  providers.wechat = createWechatProvider({
    config: { ...wechatKeys.merchant, apiBase: standIns.wechat.baseUrl },
    fetch: globalThis.fetch,
    http: HTTP,
  });
  providers.alipay = createAlipayProvider({
    config: { ...alipayKeys.merchant, gateway: `${standIns.alipay.baseUrl}/gateway.do` },
    fetch: globalThis.fetch,
    http: HTTP,
  });
  store.put(paidCheckout('wechat'));
  store.put(paidCheckout('alipay'));
});

afterAll(async () => {
  await Promise.all(Object.values(standIns).map((standIn) => standIn.close()));
});

const PROVIDERS = ['wechat', 'alipay'] as const;
const query = (provider: 'wechat' | 'alipay', paymentId = `pay_${provider}_paid`) =>
  providers[provider].queryPayment!(paymentId, new Date());

/** The call's outcome and how long it took. */
async function timed<T>(call: Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; elapsedMs: number }> {
  const started = performance.now();
  const [outcome] = await Promise.allSettled([call]);
  return { outcome: outcome!, elapsedMs: performance.now() - started };
}

function rejection(outcome: PromiseSettledResult<unknown>): unknown {
  if (outcome.status !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.reason;
}

describe.each(PROVIDERS)('%s: a provider that does not answer', (provider) => {
  it.each(['hang', 'stall', 'drop'] as const)(
    '%s: given up after 3 attempts within the timeouts, a retryable ProviderCallError',
    async (misbehaviour) => {
      standIns[provider].answer(misbehaviour);

      const { outcome, elapsedMs } = await timed(query(provider));

      expect(rejection(outcome)).toBeInstanceOf(ProviderCallError);
      expect(rejection(outcome)).toMatchObject({ provider, operation: 'queryPayment', retryable: true });
      expect(standIns[provider].requests).toBe(3);
      expect(elapsedMs).toBeLessThan(GIVE_UP_WITHIN_MS);
    },
  );
});

describe.each(PROVIDERS)('%s: retries what may pass on another try, and only that', (provider) => {
  it('503 then the real answer: the payment reads paid, after 2 requests', async () => {
    standIns[provider].answer(status(503), 'simulator');

    await expect(query(provider)).resolves.toMatchObject({ status: 'paid', amount: 12_345 });
    expect(standIns[provider].requests).toBe(2);
  });

  it('a hang then the real answer: paid, after 2 requests', async () => {
    standIns[provider].answer('hang', 'simulator');

    const { outcome, elapsedMs } = await timed(query(provider));

    expect(outcome).toMatchObject({ status: 'fulfilled', value: { status: 'paid' } });
    expect(standIns[provider].requests).toBe(2);
    expect(elapsedMs).toBeLessThan(GIVE_UP_WITHIN_MS);
  });

  it('429 throughout: 3 requests, then a retryable ProviderCallError naming the status (WeChat: ProviderBusyError, asked later)', async () => {
    standIns[provider].answer(status(429));

    const error = rejection((await timed(query(provider))).outcome);

    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({
      name: provider === 'wechat' ? 'ProviderBusyError' : 'ProviderCallError',
      retryable: true,
      message: expect.stringContaining('429'),
    });
    expect(standIns[provider].requests).toBe(3);
  });

  it('garbage with a 200: 1 request, a ProviderCallError', async () => {
    standIns[provider].answer(garbage);

    await expect(query(provider)).rejects.toBeInstanceOf(ProviderCallError);
    expect(standIns[provider].requests).toBe(1);
  });

  it('correctly signed nonsense: 1 request, a ProviderCallError', async () => {
    standIns[provider].answer(signedNonsense[provider]());

    await expect(query(provider)).rejects.toBeInstanceOf(ProviderCallError);
    expect(standIns[provider].requests).toBe(1);
  });

  it('a definite business answer (no such order) is read, not retried: not_found after 1 request', async () => {
    standIns[provider].answer('simulator');

    await expect(query(provider, 'pay_never_created')).resolves.toMatchObject({ status: 'not_found' });
    expect(standIns[provider].requests).toBe(1);
  });
});

describe('every outbound call goes through the same bounds', () => {
  const payable = (paymentId: string) => ({
    payment: {
      paymentId,
      orderId: 'ord_42',
      amount: 12_345,
      currency: 'CNY' as const,
      expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
      description: 'Order ord_42',
    },
    notifyUrl: 'https://shop.example/api/payments/callback/wechat',
    returnUrl: 'https://shop.example/paid',
    now: new Date(),
  });

  it('wechat native order: a hang ends as a ProviderCallError after 3 attempts; 503 then the real answer creates it', async () => {
    standIns.wechat.answer('hang');
    const hung = await timed(createPayUrl(providers.wechat, payable('pay_wechat_hung')));
    expect(rejection(hung.outcome)).toMatchObject({
      name: 'ProviderCallError',
      operation: 'createPayUrl',
      retryable: true,
    });
    expect(standIns.wechat.requests).toBe(3);
    expect(hung.elapsedMs).toBeLessThan(GIVE_UP_WITHIN_MS);

    standIns.wechat.answer(status(503), 'simulator');
    await expect(createPayUrl(providers.wechat, payable('pay_wechat_created'))).resolves.toEqual({
      payUrl: expect.any(String),
    });
    expect(store.get('pay_wechat_created')).toMatchObject({ state: 'pending', amount: 12_345 });
    expect(standIns.wechat.requests).toBe(2);
  });

  it.each(PROVIDERS)('%s close: a hang ends as a ProviderCallError after 3 attempts', async (provider) => {
    standIns[provider].answer('hang');

    const { outcome, elapsedMs } = await timed(providers[provider].closePayment!(`pay_${provider}_paid`, new Date()));

    expect(rejection(outcome)).toMatchObject({ name: 'ProviderCallError', operation: 'closePayment', retryable: true });
    expect(standIns[provider].requests).toBe(3);
    expect(elapsedMs).toBeLessThan(GIVE_UP_WITHIN_MS);
  });
});

describe('PROVIDER_TIMEOUT_MS', () => {
  it('defaults to 2 s per attempt, 3 attempts; is read once from the environment; refuses what would outlast the function', () => {
    expect(providerHttpFromEnv({})).toEqual(DEFAULT_PROVIDER_HTTP);
    expect(DEFAULT_PROVIDER_HTTP).toMatchObject({ timeoutMs: 2_000, attempts: 3 });
    expect(providerHttpFromEnv({ PROVIDER_TIMEOUT_MS: '800' })).toMatchObject({ timeoutMs: 800, attempts: 3 });
    expect(() => providerHttpFromEnv({ PROVIDER_TIMEOUT_MS: '5000' })).toThrow(
      /PROVIDER_TIMEOUT_MS must be an integer from 100 to 2500/,
    );
    expect(() => providerHttpFromEnv({ PROVIDER_TIMEOUT_MS: 'soon' })).toThrow(/PROVIDER_TIMEOUT_MS/);
  });
});
