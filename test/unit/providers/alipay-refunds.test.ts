import { describe, expect, it } from 'vitest';
import { createAlipaySimulator } from '../../../local/sandbox/alipay';
import type { SandboxCheckout, SandboxRefundOutcome } from '../../../local/sandbox/types';
import { createAlipayProvider } from '../../../src/providers/alipay';
import type { AlipayConfig } from '../../../src/providers/config';
import { ProviderCallError, type RefundRequest } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import {
  alipayTestKeys,
  formFields,
  memoryCheckoutStore,
  recordingMethods,
  refundNotificationFields,
  signedGatewayAnswer,
  signedNotification,
  simulatorFetch,
  strangerPrivateKey,
  toRawCallback,
} from '../../support/alipay-fixtures';

const keys = alipayTestKeys();
const stranger = strangerPrivateKey();
const simulator = createAlipaySimulator(keys.sandbox);

const NOW = new Date('2025-01-02T03:10:00.000Z'); // 2025-01-02 11:10:00 in GMT+8
const TRADE_NO = '2025010222001400001234567890';
const noNetwork: FetchLike = async () => {
  throw new Error('no network in notification tests');
};
const alipay = createAlipayProvider({ config: keys.merchant, fetch: noNetwork });

function paidCheckout(overrides: Partial<SandboxCheckout> = {}): SandboxCheckout {
  return {
    provider: 'alipay',
    paymentId: 'pay_42',
    amount: 12_345,
    currency: 'CNY',
    description: 'Order ord_42',
    notifyUrl: 'https://shop.example/api/payments/callback/alipay',
    expiresAt: '2025-01-02T03:35:00.000Z',
    state: 'paid',
    transactionId: TRADE_NO,
    paidAt: '2025-01-02T03:04:59.000Z',
    notificationId: 'notify_42',
    ...overrides,
  };
}

function refundRequest(overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    refundId: 'ref_1',
    paymentId: 'pay_42',
    amount: 2_345,
    paymentAmount: 12_345,
    currency: 'CNY',
    reason: '退货',
    notifyUrl: 'https://shop.example/api/payments/callback/alipay',
    now: NOW,
    ...overrides,
  };
}

/** The merchant module wired to the Alipay simulator, holding one paid trade. */
function connected(
  options: { outcome?: SandboxRefundOutcome; config?: AlipayConfig; checkout?: Partial<SandboxCheckout> | null } = {},
) {
  const store = memoryCheckoutStore({ refundOutcome: options.outcome });
  if (options.checkout !== null) store.put(paidCheckout(options.checkout));
  const recorded = recordingMethods(simulatorFetch(simulator, store, NOW));
  return {
    store,
    ...recorded,
    provider: createAlipayProvider({ config: options.config ?? keys.merchant, fetch: recorded.fetch }),
  };
}

const query = (provider: ReturnType<typeof connected>['provider'], refundId = 'ref_1') =>
  provider.queryRefund({ refundId, paymentId: 'pay_42', now: NOW });

describe('alipay refund: alipay.trade.refund', () => {
  it('sends out_trade_no, refund_amount in yuan and our refund id as out_request_no; fund_change Y is done, for the amount asked', async () => {
    const { provider, methods, bizContents, store } = connected();
    expect(await provider.refund(refundRequest())).toEqual({
      status: 'succeeded',
      amount: 2_345,
      succeededAt: NOW.toISOString(),
      providerStatus: 'fund_change=Y',
    });
    expect(methods).toEqual(['alipay.trade.refund']);
    expect(bizContents[0]).toEqual({
      out_trade_no: 'pay_42',
      refund_amount: '23.45',
      out_request_no: 'ref_1',
      refund_reason: '退货',
    });
    expect(store.refunds.list('pay_42')).toEqual([
      expect.objectContaining({ refundId: 'ref_1', amount: 2_345, state: 'succeeded' }),
    ]);
  });

  it('refund_fee is cumulative: a second partial refund is its own amount, not the running total', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest({ refundId: 'ref_1', amount: 3_000 }));
    expect(await provider.refund(refundRequest({ refundId: 'ref_2', amount: 2_000 }))).toMatchObject({
      status: 'succeeded',
      amount: 2_000,
    });
    expect(store.refunds.refundedAmount('pay_42')).toBe(5_000);
  });

  it('a retry answering fund_change N is "already done": asked by query, answered succeeded, refunded once', async () => {
    const { provider, methods, store } = connected();
    await provider.refund(refundRequest());
    expect(await provider.refund(refundRequest())).toEqual({
      status: 'succeeded',
      amount: 2_345,
      succeededAt: NOW.toISOString(),
      providerStatus: 'REFUND_SUCCESS',
    });
    expect(methods).toEqual(['alipay.trade.refund', 'alipay.trade.refund', 'alipay.trade.fastpay.refund.query']);
    expect(store.refunds.refundedAmount('pay_42')).toBe(2_345);
  });

  it('an answer lost on the way (the refund made, then a timeout) is retried with the same out_request_no: refunded once', async () => {
    const store = memoryCheckoutStore();
    store.put(paidCheckout());
    const toAlipay = simulatorFetch(simulator, store, NOW);
    let calls = 0;
    const losingFirstAnswer: FetchLike = async (input, init) => {
      const answer = await toAlipay(input, init);
      calls += 1;
      if (calls === 1) throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      return answer;
    };
    const provider = createAlipayProvider({ config: keys.merchant, fetch: losingFirstAnswer });
    // The retry answers fund_change N (already done), so the refund is confirmed by query.
    expect(await provider.refund(refundRequest())).toMatchObject({
      status: 'succeeded',
      amount: 2_345,
      providerStatus: 'REFUND_SUCCESS',
    });
    expect(store.refunds.refundedAmount('pay_42')).toBe(2_345);
  });

  it('fund_change N on a first call that moved no money (SANDBOX_REFUND_OUTCOME=abnormal) is processing, never failed', async () => {
    const { provider, store } = connected({ outcome: 'abnormal' });
    expect(await provider.refund(refundRequest())).toEqual({
      status: 'processing',
      providerStatus: 'refund_status absent',
    });
    expect(await query(provider)).toEqual({ status: 'processing', providerStatus: 'refund_status absent' });
    // Still counted against the trade: the refundable amount does not come back by itself.
    expect(store.refunds.refundableAmount('pay_42')).toBe(10_000);
  });

  it.each([
    ['more than refundable', connected, refundRequest({ amount: 12_346 }), 'ACQ.REASON_TRADE_REFUND_FEE_ERR'],
    ['an unknown trade', () => connected({ checkout: null }), refundRequest(), 'ACQ.TRADE_NOT_EXIST'],
    ['an unpaid trade', () => connected({ checkout: { state: 'pending' } }), refundRequest(), 'ACQ.TRADE_STATUS_ERROR'],
    [
      'the seller balance short (SANDBOX_REFUND_OUTCOME=fail)',
      () => connected({ outcome: 'fail' }),
      refundRequest(),
      'ACQ.SELLER_BALANCE_NOT_ENOUGH',
    ],
    [
      'a request signed with another key',
      () => connected({ config: { ...keys.merchant, privateKey: stranger } }),
      refundRequest(),
      'isv.invalid-signature',
    ],
  ] as const)('a definite refusal is failed: %s → %s', async (_name, setup, request, subCode) => {
    const { provider, store } = setup();
    expect(await provider.refund(request)).toEqual({
      status: 'failed',
      providerStatus: subCode,
      reason: expect.stringMatching(new RegExp(`^${subCode.replaceAll('.', '\\.')}: `)),
    });
    expect(store.refunds.refundedAmount('pay_42')).toBe(0);
  });

  it('the same out_request_no with another amount is ACQ.DISCORDANT_REPEAT_REQUEST: failed, the first refund stands', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest());
    expect(await provider.refund(refundRequest({ amount: 1_000 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'ACQ.DISCORDANT_REPEAT_REQUEST',
    });
    expect(store.refunds.refundedAmount('pay_42')).toBe(2_345);
  });

  it('never refunds more than was paid: the whole amount, then one fen more is refused', async () => {
    const { provider } = connected();
    expect(await provider.refund(refundRequest({ amount: 12_345 }))).toMatchObject({ status: 'succeeded' });
    expect(await provider.refund(refundRequest({ refundId: 'ref_2', amount: 1 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'ACQ.REASON_TRADE_REFUND_FEE_ERR',
    });
  });

  const node = 'alipay_trade_refund_response';
  it.each([
    [
      'ACQ.SYSTEM_ERROR',
      signedGatewayAnswer(
        node,
        { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: '系统错误' },
        keys.sandbox.alipayPrivateKey,
      ),
    ],
    [
      'AQC.SYSTEM_ERROR',
      signedGatewayAnswer(
        node,
        { code: '40004', msg: 'Business Failed', sub_code: 'AQC.SYSTEM_ERROR', sub_msg: '系统错误' },
        keys.sandbox.alipayPrivateKey,
      ),
    ],
    [
      '20000 service unavailable',
      signedGatewayAnswer(
        node,
        { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error' },
        keys.sandbox.alipayPrivateKey,
      ),
    ],
    [
      'fund_change Y with a refund_fee below the refund',
      signedGatewayAnswer(
        node,
        { code: '10000', msg: 'Success', out_trade_no: 'pay_42', fund_change: 'Y', refund_fee: '1.00' },
        keys.sandbox.alipayPrivateKey,
      ),
    ],
    [
      'an answer about another trade',
      signedGatewayAnswer(
        node,
        { code: '10000', msg: 'Success', out_trade_no: 'pay_43', fund_change: 'Y', refund_fee: '23.45' },
        keys.sandbox.alipayPrivateKey,
      ),
    ],
    [
      'a refusal signed with a key that is not Alipay’s',
      signedGatewayAnswer(node, { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST' }, stranger),
    ],
    ['HTTP 502', async () => ({ status: 502, headers: { get: () => null }, text: async () => 'Bad Gateway' })],
    [
      'HTTP 403 from a proxy',
      async () => ({ status: 403, headers: { get: () => null }, text: async () => 'Forbidden' }),
    ],
    ['garbage', async () => ({ status: 200, headers: { get: () => null }, text: async () => '<html>' })],
    ['a network failure', async () => Promise.reject(new TypeError('fetch failed'))],
    [
      'a timeout',
      async () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ],
    [
      'a timeout while the answer is read',
      async () => ({
        status: 200,
        headers: { get: () => null },
        text: async () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      }),
    ],
  ] as [string, FetchLike][])('%s leaves the outcome unknown: thrown retryable, never failed', async (_name, fetch) => {
    const attempt = createAlipayProvider({ config: keys.merchant, fetch }).refund(refundRequest());
    await expect(attempt).rejects.toBeInstanceOf(ProviderCallError);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
  });
});

describe('alipay refund: alipay.trade.fastpay.refund.query', () => {
  it('asks by out_trade_no and out_request_no, with gmt_refund_pay; REFUND_SUCCESS is done with refund_amount (this refund)', async () => {
    const { provider, bizContents } = connected();
    await provider.refund(refundRequest({ refundId: 'ref_1', amount: 3_000 }));
    await provider.refund(refundRequest({ refundId: 'ref_2', amount: 2_000 }));
    expect(await query(provider, 'ref_2')).toEqual({
      status: 'succeeded',
      amount: 2_000,
      succeededAt: NOW.toISOString(),
      providerStatus: 'REFUND_SUCCESS',
    });
    expect(bizContents.at(-1)).toEqual({
      out_trade_no: 'pay_42',
      out_request_no: 'ref_2',
      query_options: ['gmt_refund_pay'],
    });
  });

  it('no refund_status is processing (code 10000 also answers an unknown number); an unknown trade is not_found', async () => {
    expect(await query(connected().provider, 'ref_never_sent')).toEqual({
      status: 'processing',
      providerStatus: 'refund_status absent',
    });
    expect(await query(connected({ checkout: null }).provider)).toEqual({
      status: 'not_found',
      providerStatus: 'ACQ.TRADE_NOT_EXIST',
    });
  });

  const node = 'alipay_trade_fastpay_refund_query_response';
  it('decides on refund_status, never on code: every answer mapped', async () => {
    const base = { code: '10000', msg: 'Success', trade_no: TRADE_NO, out_trade_no: 'pay_42', out_request_no: 'ref_1' };
    const answers: [object, object | 'throws'][] = [
      [
        {
          ...base,
          refund_status: 'REFUND_SUCCESS',
          refund_amount: '23.45',
          total_amount: '123.45',
          gmt_refund_pay: '2025-01-02 11:09:58',
        },
        {
          status: 'succeeded',
          amount: 2_345,
          succeededAt: '2025-01-02T03:09:58.000Z',
          providerStatus: 'REFUND_SUCCESS',
        },
      ],
      [
        { ...base, refund_status: 'REFUND_SUCCESS', refund_amount: '23.45' },
        { status: 'succeeded', amount: 2_345, succeededAt: NOW.toISOString(), providerStatus: 'REFUND_SUCCESS' },
      ],
      [base, { status: 'processing', providerStatus: 'refund_status absent' }],
      [{ ...base, refund_status: 'REFUND_PROCESSING' }, 'throws'],
      [{ ...base, refund_status: 'REFUND_SUCCESS' }, 'throws'],
      [{ ...base, out_request_no: 'ref_2', refund_status: 'REFUND_SUCCESS', refund_amount: '23.45' }, 'throws'],
      [{ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR' }, 'throws'],
    ];
    for (const [answer, expected] of answers) {
      const provider = createAlipayProvider({
        config: keys.merchant,
        fetch: signedGatewayAnswer(node, answer, keys.sandbox.alipayPrivateKey),
      });
      const result = query(provider as ReturnType<typeof connected>['provider']);
      if (expected === 'throws')
        await expect(result).rejects.toMatchObject({ name: 'ProviderCallError', retryable: true });
      else expect(await result).toEqual(expected);
    }
  });
});

describe('alipay refund: the trade after a refund', () => {
  it('a trade refunded in full answers TRADE_CLOSED to alipay.trade.query; a partly refunded one stays TRADE_SUCCESS', async () => {
    const { provider } = connected();
    await provider.refund(refundRequest({ amount: 2_345 }));
    expect(await provider.queryPayment!('pay_42', NOW)).toMatchObject({
      status: 'paid',
      providerStatus: 'TRADE_SUCCESS',
    });
    await provider.refund(refundRequest({ refundId: 'ref_2', amount: 10_000 }));
    expect(await provider.queryPayment!('pay_42', NOW)).toEqual({ status: 'closed', providerStatus: 'TRADE_CLOSED' });
  });
});

describe('alipay refund: the notification (a trade_status_sync with refund fields)', () => {
  function sandboxRefundNotification(store: ReturnType<typeof memoryCheckoutStore>, refundId: string) {
    const refund = store.refunds
      .list('pay_42')
      .find((made) => made.refundId === refundId || (refundId === '' && made.refundId === undefined));
    const callback = refund && simulator.buildRefundCallback(paidCheckout(), refund, NOW);
    if (!callback) throw new Error('the sandbox sent no refund notification');
    return toRawCallback(callback);
  }

  it('a partial refund: TRADE_SUCCESS with out_biz_no, refund_fee and gmt_refund is a refund, its amount left to the core', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest());
    const callback = sandboxRefundNotification(store, 'ref_1');
    expect(formFields(callback.body)).toMatchObject({
      trade_status: 'TRADE_SUCCESS',
      out_biz_no: 'ref_1',
      refund_fee: '23.45',
      gmt_refund: '2025-01-02 11:10:00',
    });
    expect(alipay.verifyCallback(callback, NOW)).toEqual({
      ok: true,
      notification: {
        type: 'refund',
        provider: 'alipay',
        eventId: store.refunds.list('pay_42')[0]?.notificationId,
        refundId: 'ref_1',
        paymentId: 'pay_42',
        providerTransactionId: TRADE_NO,
        outcome: 'succeeded',
        amount: 0,
        paymentAmount: 12_345,
        refundedTotal: 2_345,
        currency: 'CNY',
        occurredAt: NOW.toISOString(),
        providerStatus: 'TRADE_SUCCESS',
        via: 'callback',
      },
    });
  });

  it('refund_fee stays cumulative: the second partial refund’s notification carries the running total', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest({ refundId: 'ref_1', amount: 3_000 }));
    await provider.refund(refundRequest({ refundId: 'ref_2', amount: 2_000 }));
    expect(alipay.verifyCallback(sandboxRefundNotification(store, 'ref_1'), NOW)).toMatchObject({
      ok: true,
      notification: { refundId: 'ref_1', refundedTotal: 3_000, amount: 0 },
    });
    expect(alipay.verifyCallback(sandboxRefundNotification(store, 'ref_2'), NOW)).toMatchObject({
      ok: true,
      notification: { refundId: 'ref_2', refundedTotal: 5_000, amount: 0 },
    });
  });

  it('a full refund: TRADE_CLOSED with refund fields is a refund, never a closed payment', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest({ amount: 12_345 }));
    const callback = sandboxRefundNotification(store, 'ref_1');
    expect(formFields(callback.body)).toMatchObject({
      trade_status: 'TRADE_CLOSED',
      refund_fee: '123.45',
      gmt_close: '2025-01-02 11:10:00',
    });
    expect(alipay.verifyCallback(callback, NOW)).toMatchObject({
      ok: true,
      notification: { type: 'refund', outcome: 'succeeded', refundedTotal: 12_345, providerStatus: 'TRADE_CLOSED' },
    });
  });

  it('a refund made on Alipay’s console carries no out_biz_no: no refundId', async () => {
    const { store } = connected();
    const opened = store.refunds.open({ paymentId: 'pay_42', amount: 500, external: true, settle: 'never' }, NOW);
    if (opened.result === 'refused') throw new Error(opened.refusal);
    store.refunds.settle('pay_42', opened.refund.key, NOW, 'succeeded');
    const result = alipay.verifyCallback(sandboxRefundNotification(store, ''), NOW);
    expect(result).toMatchObject({ ok: true, notification: { type: 'refund', refundedTotal: 500 } });
    expect(result.ok && 'refundId' in result.notification).toBe(false);
  });

  it('sends no notification for a refund that did not succeed', () => {
    const { store } = connected({ outcome: 'abnormal' });
    const opened = store.refunds.open({ paymentId: 'pay_42', refundId: 'ref_1', amount: 500, settle: 'never' }, NOW);
    if (opened.result === 'refused') throw new Error(opened.refusal);
    expect(simulator.buildRefundCallback(paidCheckout(), opened.refund, NOW)).toBeUndefined();
  });

  const handMade = (overrides: Record<string, string | undefined>) =>
    signedNotification(refundNotificationFields(keys.sandbox.appId, overrides), keys.sandbox.alipayPrivateKey);
  const outcomeOf = (overrides: Record<string, string | undefined>) => {
    const result = alipay.verifyCallback(handMade(overrides), NOW);
    return result.ok ? ('type' in result.notification ? 'refund' : result.notification.outcome) : result.reason;
  };

  it('verifies a hand-made refund notification, dated by gmt_refund', () => {
    expect(alipay.verifyCallback(handMade({}), NOW)).toMatchObject({
      ok: true,
      notification: {
        type: 'refund',
        eventId: 'notify_refund_1',
        refundId: 'ref_1',
        refundedTotal: 2_345,
        paymentAmount: 12_345,
        occurredAt: '2025-01-02T03:09:58.000Z',
      },
    });
  });

  it.each([
    ['TRADE_SUCCESS with refund_fee', {}, 'refund'],
    ['TRADE_CLOSED with refund_fee', { trade_status: 'TRADE_CLOSED', refund_fee: '123.45' }, 'refund'],
    [
      'TRADE_SUCCESS without refund fields (a payment)',
      { refund_fee: undefined, out_biz_no: undefined, gmt_refund: undefined },
      'succeeded',
    ],
    [
      'TRADE_SUCCESS with refund_fee 0.00 (a payment)',
      { refund_fee: '0.00', out_biz_no: undefined, gmt_refund: undefined },
      'succeeded',
    ],
    [
      'TRADE_CLOSED without refund fields (closed unpaid)',
      {
        trade_status: 'TRADE_CLOSED',
        refund_fee: undefined,
        out_biz_no: undefined,
        gmt_refund: undefined,
        gmt_payment: undefined,
      },
      'cancelled',
    ],
    [
      'TRADE_FINISHED repeating earlier refund fields (end of the refund period)',
      { trade_status: 'TRADE_FINISHED' },
      'succeeded',
    ],
    ['refund_fee above total_amount', { refund_fee: '123.46' }, 'malformed'],
    ['refund_fee that is not yuan', { refund_fee: '23.456' }, 'malformed'],
    ['gmt_refund that is not a time', { gmt_refund: '2025-02-30 11:09:58' }, 'malformed'],
    ['another app_id', { app_id: '2021000000009999' }, 'merchant_mismatch'],
  ] as const)('%s → %s', (_name, overrides, expected) => {
    expect(outcomeOf(overrides)).toBe(expected);
  });

  it('refuses a refund notification whose refund_fee was changed after signing, or signed with another key', () => {
    const genuine = handMade({});
    const tampered = {
      ...genuine,
      body: Buffer.from(genuine.body.toString().replace('refund_fee=23.45', 'refund_fee=3.45')),
    };
    expect(alipay.verifyCallback(tampered, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const forged = signedNotification(refundNotificationFields(keys.sandbox.appId), stranger);
    expect(alipay.verifyCallback(forged, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});
