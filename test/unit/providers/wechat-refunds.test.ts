import { describe, expect, it } from 'vitest';
import type { SandboxCheckout } from '../../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { isRefundNotification } from '../../../src/domain/notification';
import { ProviderCallError, type RefundRequest } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import { WECHAT_REFUND_OUTCOMES, WECHAT_REFUND_STATUSES, createWechatProvider } from '../../../src/providers/wechat';
import { memoryCheckoutStore, toRawCallback } from '../../support/bank-fixtures';
import {
  WECHAT_SANDBOX_BASE,
  paidWechatCheckout,
  platformSigner,
  rsaPemPair,
  seconds,
  signedAnswerFetch,
  simulatorFetch,
  wechatRefundAnswer,
  wechatRefundNotification,
  wechatRefundResource,
  wechatpayHeaders,
  type SentRequest,
} from '../../support/wechat-fixtures';

// RSA key generation is the slow part: once per file.
const { merchant, sandbox } = generateWechatKeys(WECHAT_SANDBOX_BASE);
const otherMerchant = rsaPemPair();

const NOW = new Date('2026-11-25T04:00:00.000Z');
const NOTIFY_URL = 'https://shop.example/api/payments/callback/wechat';
const unusedFetch: FetchLike = async () => {
  throw new Error('no network in notification tests');
};
const provider = createWechatProvider({ config: merchant, fetch: unusedFetch });

function refundRequest(overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    refundId: 'ref_000001',
    paymentId: 'pay_000001',
    amount: 2_345,
    paymentAmount: 12_345,
    currency: 'CNY',
    reason: 'Customer returned the tea',
    notifyUrl: NOTIFY_URL,
    now: NOW,
    ...overrides,
  };
}

/** The merchant module wired to the WeChat simulator, holding one paid order. */
function connected(
  options: { refundSpacingMs?: number; merchantKey?: string; checkout?: Partial<SandboxCheckout> | null } = {},
) {
  const store = memoryCheckoutStore();
  if (options.checkout !== null) store.put(paidWechatCheckout(options.checkout));
  const sent: SentRequest[] = [];
  const simulator = createWechatSimulator(sandbox, { refundSpacingMs: options.refundSpacingMs ?? 0 });
  const config = options.merchantKey ? { ...merchant, merchantPrivateKey: options.merchantKey } : merchant;
  const wechat = createWechatProvider({ config, fetch: simulatorFetch(simulator, store, { now: () => NOW, sent }) });
  return { store, sent, simulator, wechat };
}

describe('wechat refund: create', () => {
  it('sends a signed POST /v3/refund/domestic/refunds with amount.total = the original payment, and reads PROCESSING', async () => {
    const { wechat, sent, store } = connected();
    const state = await wechat.refund(refundRequest());

    const [request] = sent;
    expect(request).toMatchObject({ method: 'POST', url: `${WECHAT_SANDBOX_BASE}/v3/refund/domestic/refunds` });
    expect(request?.headers.Authorization).toMatch(/^WECHATPAY2-SHA256-RSA2048 mchid="1900000001",/);
    expect(JSON.parse(request?.body ?? '')).toEqual({
      out_trade_no: 'pay_000001',
      out_refund_no: 'ref_000001',
      reason: 'Customer returned the tea',
      notify_url: NOTIFY_URL,
      amount: { refund: 2_345, total: 12_345, currency: 'CNY' },
    });
    const [refund] = store.refunds.list('pay_000001');
    expect(state).toEqual({ status: 'processing', providerRefundId: refund?.key, providerStatus: 'PROCESSING' });
    expect(refund?.key).toMatch(/^50\d{27}$/);
  });

  it('cuts a reason to the 80 characters WeChat takes, rather than have the refund refused', async () => {
    const { wechat, sent } = connected();
    await wechat.refund(refundRequest({ reason: '退'.repeat(81) }));
    expect(JSON.parse(sent[0]?.body ?? '').reason).toBe('退'.repeat(80));
  });

  it('a retry with the same refundId is the same refund at WeChat, never a second one', async () => {
    const { wechat, store } = connected();
    const first = await wechat.refund(refundRequest());
    const second = await wechat.refund(refundRequest());
    expect(second).toEqual(first);
    expect(store.refunds.list('pay_000001')).toHaveLength(1);
  });

  it('an answer lost on the way (the refund made, then a timeout) is retried with the same out_refund_no: one refund', async () => {
    const store = memoryCheckoutStore();
    store.put(paidWechatCheckout());
    const toWechat = simulatorFetch(createWechatSimulator(sandbox), store, { now: () => NOW });
    let calls = 0;
    const losingFirstAnswer: FetchLike = async (input, init) => {
      const answer = await toWechat(input, init);
      calls += 1;
      if (calls === 1) throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      return answer;
    };
    const wechat = createWechatProvider({ config: merchant, fetch: losingFirstAnswer });
    expect(await wechat.refund(refundRequest())).toMatchObject({ status: 'processing' });
    expect(calls).toBe(2);
    expect(store.refunds.list('pay_000001')).toHaveLength(1);
  });

  it('reads SUCCESS, CLOSED and ABNORMAL from a retry once the refund has ended', async () => {
    for (const [end, expected] of [
      ['succeeded', { status: 'succeeded', amount: 2_345, succeededAt: NOW.toISOString(), providerStatus: 'SUCCESS' }],
      ['failed', { status: 'failed', providerStatus: 'CLOSED', reason: expect.stringContaining('CLOSED') }],
      ['abnormal', { status: 'abnormal', providerStatus: 'ABNORMAL' }],
    ] as const) {
      const { wechat, store } = connected();
      const created = await wechat.refund(refundRequest());
      const key = created.status === 'processing' ? created.providerRefundId : undefined;
      store.refunds.settle('pay_000001', key ?? '', NOW, end);
      expect(await wechat.refund(refundRequest())).toEqual(expect.objectContaining(expected));
    }
  });

  it('a definite refusal is failed, named by WeChat’s code: more than refundable, the same number with another amount, unpaid, unknown order', async () => {
    const { wechat } = connected();
    const over = await wechat.refund(refundRequest({ amount: 12_346 }));
    expect(over).toMatchObject({
      status: 'failed',
      providerStatus: 'INVALID_REQUEST',
      reason: expect.stringMatching(/^INVALID_REQUEST: /),
    });

    await wechat.refund(refundRequest());
    expect(await wechat.refund(refundRequest({ amount: 1_000 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'INVALID_REQUEST',
    });
    expect(await wechat.refund(refundRequest({ paymentAmount: 99 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'INVALID_REQUEST',
    });

    const unpaid = connected({ checkout: { state: 'pending', transactionId: undefined, paidAt: undefined } });
    expect(await unpaid.wechat.refund(refundRequest())).toMatchObject({
      status: 'failed',
      providerStatus: 'INVALID_REQUEST',
    });
    const unknown = connected({ checkout: null });
    expect(await unknown.wechat.refund(refundRequest())).toMatchObject({
      status: 'failed',
      providerStatus: 'RESOURCE_NOT_EXISTS',
    });
  });

  it('never refunds more than was paid: two partial refunds fill it, a third fen is refused', async () => {
    const { wechat, store } = connected();
    await wechat.refund(refundRequest({ refundId: 'ref_a', amount: 12_000 }));
    await wechat.refund(refundRequest({ refundId: 'ref_b', amount: 345 }));
    expect(await wechat.refund(refundRequest({ refundId: 'ref_c', amount: 1 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'INVALID_REQUEST',
    });
    expect(store.refunds.refundableAmount('pay_000001')).toBe(0);
  });

  it('a request signed with another merchant key is refused (SIGN_ERROR): nothing was refunded', async () => {
    const { wechat, store } = connected({ merchantKey: otherMerchant.privateKey });
    expect(await wechat.refund(refundRequest())).toMatchObject({ status: 'failed', providerStatus: 'SIGN_ERROR' });
    expect(store.refunds.list('pay_000001')).toEqual([]);
  });

  it('a second refund of the same payment within WeChat’s minute is 429 FREQUENCY_LIMITED: thrown retryable, not failed', async () => {
    const { wechat, store } = connected({ refundSpacingMs: 60_000 });
    await wechat.refund(refundRequest({ refundId: 'ref_a', amount: 100 }));
    const tooSoon = wechat.refund(refundRequest({ refundId: 'ref_b', amount: 100 }));
    await expect(tooSoon).rejects.toBeInstanceOf(ProviderCallError);
    await expect(tooSoon).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('429 FREQUENCY_LIMITED'),
    });
    // A retry of the first one is still answered within the minute.
    await expect(wechat.refund(refundRequest({ refundId: 'ref_a', amount: 100 }))).resolves.toMatchObject({
      status: 'processing',
    });
    expect(store.refunds.list('pay_000001')).toHaveLength(1);
  });

  it.each([
    ['a 500 SYSTEM_ERROR', signedAnswerFetch(sandbox, 500, { code: 'SYSTEM_ERROR', message: '系统超时' }, NOW)],
    [
      'a 429 without a signature',
      async () => ({ status: 429, headers: new Headers(), text: async () => '{"code":"FREQUENCY_LIMITED"}' }),
    ],
    [
      'a 502 from a proxy',
      async () => ({ status: 502, headers: new Headers(), text: async () => '<html>Bad Gateway</html>' }),
    ],
    ['a network failure', async () => Promise.reject(new TypeError('fetch failed'))],
    [
      'a timeout',
      async () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ],
    [
      'a timeout while the answer is read',
      async () => ({
        status: 200,
        headers: new Headers(),
        text: async () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      }),
    ],
    ['a signed 200 that is not JSON', signedAnswerFetch(sandbox, 200, 'garbage', NOW)],
    ['a signed 200 that is not a refund', signedAnswerFetch(sandbox, 200, { code_url: 'weixin://x' }, NOW)],
    [
      'a signed 200 about another refund',
      signedAnswerFetch(sandbox, 200, wechatRefundAnswer({ out_refund_no: 'ref_other' }), NOW),
    ],
    [
      'a signed 200 with an unknown status',
      signedAnswerFetch(sandbox, 200, wechatRefundAnswer({ status: 'REFUNDING' }), NOW),
    ],
    [
      'an unsigned 200',
      async () => ({ status: 200, headers: new Headers(), text: async () => JSON.stringify(wechatRefundAnswer()) }),
    ],
    ['an unexpected 3xx', signedAnswerFetch(sandbox, 302, {}, NOW)],
  ] as [string, FetchLike][])('%s leaves the outcome unknown: thrown retryable, never failed', async (_name, fetch) => {
    const wechat = createWechatProvider({ config: merchant, fetch });
    for (const call of [
      () => wechat.refund(refundRequest()),
      () => wechat.queryRefund({ refundId: 'ref_000001', paymentId: 'pay_000001', now: NOW }),
    ]) {
      const attempt = call();
      await expect(attempt).rejects.toBeInstanceOf(ProviderCallError);
      await expect(attempt).rejects.toMatchObject({ retryable: true });
    }
  });

  it('a create answered for other amounts than asked is not taken for ours (retryable)', async () => {
    for (const amount of [
      { total: 12_345, refund: 1 },
      { total: 99_999, refund: 2_345 },
    ]) {
      const answer = wechatRefundAnswer({ amount: { ...amount, currency: 'CNY' } });
      const wechat = createWechatProvider({ config: merchant, fetch: signedAnswerFetch(sandbox, 200, answer, NOW) });
      await expect(wechat.refund(refundRequest())).rejects.toMatchObject({
        name: 'ProviderCallError',
        retryable: true,
      });
    }
  });

  it('an answer tampered with on the way is refused (retryable)', async () => {
    const store = memoryCheckoutStore();
    store.put(paidWechatCheckout());
    const tamper = (answer: { statusCode: number; headers: Record<string, string>; body: string }) => ({
      ...answer,
      body: answer.body.replace('"PROCESSING"', '"SUCCESS"'),
    });
    const wechat = createWechatProvider({
      config: merchant,
      fetch: simulatorFetch(createWechatSimulator(sandbox), store, { now: () => NOW, tamper }),
    });
    await expect(wechat.refund(refundRequest())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('bad_signature'),
    });
  });
});

describe('wechat refund: status mapping and query', () => {
  it('maps every refund status, in create and query answers alike', async () => {
    expect(Object.keys(WECHAT_REFUND_OUTCOMES).sort()).toEqual([...WECHAT_REFUND_STATUSES].sort());
    const expected = {
      SUCCESS: {
        status: 'succeeded',
        providerRefundId: '50000000382019052709732678859',
        amount: 2_345,
        succeededAt: '2026-11-25T04:01:02.000Z',
        providerStatus: 'SUCCESS',
      },
      PROCESSING: {
        status: 'processing',
        providerRefundId: '50000000382019052709732678859',
        providerStatus: 'PROCESSING',
      },
      ABNORMAL: { status: 'abnormal', providerRefundId: '50000000382019052709732678859', providerStatus: 'ABNORMAL' },
      CLOSED: { status: 'failed', providerStatus: 'CLOSED', reason: 'WeChat closed the refund (CLOSED)' },
    };
    for (const [status, state] of Object.entries(expected)) {
      const answer = wechatRefundAnswer({ status, ...(status === 'SUCCESS' ? {} : { success_time: undefined }) });
      const wechat = createWechatProvider({ config: merchant, fetch: signedAnswerFetch(sandbox, 200, answer, NOW) });
      expect([status, await wechat.refund(refundRequest())]).toEqual([status, state]);
      expect([status, await wechat.queryRefund({ refundId: 'ref_000001', paymentId: 'pay_000001', now: NOW })]).toEqual(
        [status, state],
      );
    }
  });

  it('a SUCCESS without success_time cannot be dated: retryable', async () => {
    const wechat = createWechatProvider({
      config: merchant,
      fetch: signedAnswerFetch(sandbox, 200, wechatRefundAnswer({ success_time: undefined }), NOW),
    });
    await expect(
      wechat.queryRefund({ refundId: 'ref_000001', paymentId: 'pay_000001', now: NOW }),
    ).rejects.toMatchObject({ retryable: true });
  });

  it('queries GET /v3/refund/domestic/refunds/{out_refund_no}, signed, and follows the refund to its end', async () => {
    const { wechat, sent, store } = connected();
    const query = () => wechat.queryRefund({ refundId: 'ref_000001', paymentId: 'pay_000001', now: NOW });
    expect(await query()).toEqual({ status: 'not_found', providerStatus: 'RESOURCE_NOT_EXISTS' });
    expect(sent[0]).toMatchObject({
      method: 'GET',
      url: `${WECHAT_SANDBOX_BASE}/v3/refund/domestic/refunds/ref_000001`,
      body: '',
    });

    await wechat.refund(refundRequest());
    expect(await query()).toMatchObject({ status: 'processing' });
    const [opened] = store.refunds.list('pay_000001');
    store.refunds.settle('pay_000001', opened?.key ?? '', new Date('2026-11-25T04:00:05.000Z'), 'succeeded');
    expect(await query()).toEqual({
      status: 'succeeded',
      providerRefundId: opened?.key,
      amount: 2_345,
      succeededAt: '2026-11-25T04:00:05.000Z',
      providerStatus: 'SUCCESS',
    });
  });

  it('a refunded order queried as a payment answers trade_state REFUND, which is paid', async () => {
    const { wechat } = connected();
    expect(await wechat.queryPayment!('pay_000001', NOW)).toMatchObject({ status: 'paid', providerStatus: 'SUCCESS' });
    await wechat.refund(refundRequest());
    expect(await wechat.queryPayment!('pay_000001', NOW)).toEqual({
      status: 'paid',
      providerTransactionId: '4200000000202611250000000001',
      amount: 12_345,
      currency: 'CNY',
      paidAt: '2026-11-25T03:59:30.000Z',
      providerStatus: 'REFUND',
      tradeType: 'NATIVE',
      scene: 'native',
    });
  });
});

describe('wechat refund: notifications', () => {
  it.each([
    ['succeeded', 'REFUND.SUCCESS', 'SUCCESS'],
    ['failed', 'REFUND.CLOSED', 'CLOSED'],
    ['abnormal', 'REFUND.ABNORMAL', 'ABNORMAL'],
  ] as const)(
    'the simulator’s %s refund arrives as %s and verifies with all four ids and both amounts',
    async (end, eventType, status) => {
      const { wechat, store, simulator } = connected();
      await wechat.refund(refundRequest({ notifyUrl: 'https://shop.example/refunds/wechat' }));
      const [opened] = store.refunds.list('pay_000001');
      const refund = store.refunds.settle('pay_000001', opened?.key ?? '', NOW, end);
      const outbound = simulator.buildRefundCallback(paidWechatCheckout(), refund, NOW);
      expect(outbound?.url).toBe('https://shop.example/refunds/wechat');
      const envelope = JSON.parse(outbound?.body ?? '');
      expect(envelope).toMatchObject({
        id: refund.notificationId,
        event_type: eventType,
        resource: { original_type: 'refund', associated_data: 'refund' },
      });

      expect(provider.verifyCallback(toRawCallback(outbound!), NOW)).toEqual({
        ok: true,
        notification: {
          type: 'refund',
          provider: 'wechat',
          eventId: refund.notificationId,
          refundId: 'ref_000001',
          paymentId: 'pay_000001',
          providerRefundId: refund.key,
          providerTransactionId: '4200000000202611250000000001',
          outcome: end,
          amount: 2_345,
          paymentAmount: 12_345,
          currency: 'CNY',
          occurredAt: NOW.toISOString(),
          providerStatus: status,
          via: 'callback',
        },
      });
    },
  );

  it('pushes nothing while a refund is processing', async () => {
    const { wechat, store, simulator } = connected();
    await wechat.refund(refundRequest());
    const [processing] = store.refunds.list('pay_000001');
    expect(simulator.buildRefundCallback(paidWechatCheckout(), processing!, NOW)).toBeUndefined();
  });

  it('verifies a hand-made REFUND.SUCCESS (no appid) dated by success_time', () => {
    const result = provider.verifyCallback(
      wechatRefundNotification(sandbox, wechatRefundResource(sandbox), { now: NOW, id: 'EV-R1' }),
      NOW,
    );
    expect(result).toMatchObject({
      ok: true,
      notification: {
        type: 'refund',
        eventId: 'EV-R1',
        refundId: 'ref_000001',
        providerRefundId: '50000000382019052709732678859',
        amount: 2_345,
        paymentAmount: 12_345,
        occurredAt: '2026-11-25T04:01:02.000Z',
      },
    });
    expect(result.ok && isRefundNotification(result.notification)).toBe(true);
  });

  it('reads an envelope without original_type by its REFUND.* event', () => {
    const callback = wechatRefundNotification(sandbox, wechatRefundResource(sandbox), {
      now: NOW,
      originalType: null,
      associatedData: 'refund',
    });
    expect(provider.verifyCallback(callback, NOW)).toMatchObject({
      ok: true,
      notification: { type: 'refund', outcome: 'succeeded' },
    });
  });

  it.each([
    ['another merchant’s mchid', { resource: { mchid: '1900000002' } }, 'merchant_mismatch'],
    ['a refund_status that disagrees with event_type', { resource: { refund_status: 'CLOSED' } }, 'malformed'],
    ['a SUCCESS without success_time', { resource: { success_time: undefined } }, 'malformed'],
    [
      'an event WeChat does not send for refunds (REFUND.PROCESSING)',
      { eventType: 'REFUND.PROCESSING', resource: { refund_status: 'PROCESSING' } },
      'unsupported_event',
    ],
    ['a refund resource under a payment event', { eventType: 'TRANSACTION.SUCCESS' }, 'unsupported_event'],
    ['a resource missing refund_id', { resource: { refund_id: undefined } }, 'malformed'],
    ['a refund amount that is not whole fen', { resource: { amount: { total: 12_345, refund: 23.45 } } }, 'malformed'],
    ['another original_type', { originalType: 'profitsharing' }, 'unsupported_event'],
  ] as const)('refuses %s as %s', (_name, change, reason) => {
    const resource = wechatRefundResource(sandbox, 'resource' in change ? change.resource : {});
    const options = {
      now: NOW,
      ...('eventType' in change ? { eventType: change.eventType } : {}),
      ...('originalType' in change ? { originalType: change.originalType } : {}),
    };
    const result = provider.verifyCallback(wechatRefundNotification(sandbox, resource, options), NOW);
    expect(result.ok ? 'ok' : result.reason).toBe(reason);
  });

  it('refuses a refund notification encrypted with another APIv3 key, with a tampered body, or outside the replay window', () => {
    const wrongKey = wechatRefundNotification(sandbox, wechatRefundResource(sandbox), {
      now: NOW,
      apiV3Key: 'x'.repeat(32),
    });
    expect(provider.verifyCallback(wrongKey, NOW)).toMatchObject({ ok: false, reason: 'decrypt_failed' });

    const genuine = wechatRefundNotification(sandbox, wechatRefundResource(sandbox), { now: NOW });
    const tampered = {
      ...genuine,
      body: Buffer.from(genuine.body.toString().replace('REFUND.SUCCESS', 'REFUND.CLOSED')),
    };
    expect(provider.verifyCallback(tampered, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });

    const late = new Date(NOW.getTime() + 301_000);
    expect(provider.verifyCallback(genuine, late)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a refund notification signed with a key we do not trust', () => {
    const genuine = wechatRefundNotification(sandbox, wechatRefundResource(sandbox), { now: NOW });
    const forged = {
      ...genuine,
      headers: {
        ...genuine.headers,
        ...wechatpayHeaders(
          { ...platformSigner(sandbox), privateKey: otherMerchant.privateKey },
          genuine.body,
          seconds(NOW),
        ),
      },
    };
    expect(provider.verifyCallback(forged, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});
