import { describe, expect, it } from 'vitest';
import { createBankSimulator } from '../../../local/sandbox/bank';
import type { SandboxCheckout, SandboxRefundOutcome } from '../../../local/sandbox/types';
import { BANK_REFUND_OUTCOMES, BANK_REFUND_STATUSES, createBankProvider } from '../../../src/providers/bank';
import type { BankConfig } from '../../../src/providers/config';
import { ProviderCallError, type RefundRequest } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import {
  BANK_SANDBOX_BASE,
  bankCallbackBody,
  bankRefundAnswer,
  bankRefundEventBody,
  bankRequestSignature,
  bankSimulatorFetch,
  bankTestKeys,
  memoryCheckoutStore,
  signedBankAnswer,
  signedBankCallback,
  toRawCallback,
  type SentBankRequest,
} from '../../support/bank-fixtures';

const keys = bankTestKeys();
const [currentSecret = '', previousSecret = ''] = keys.merchant.webhookSecrets;
const simulator = createBankSimulator(keys.sandbox);
const bank = createBankProvider({ config: keys.merchant });

const NOW = new Date('2025-01-02T03:05:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);

function paidCheckout(overrides: Partial<SandboxCheckout> = {}): SandboxCheckout {
  return {
    provider: 'bank',
    paymentId: 'pay_1',
    amount: 12_345,
    currency: 'CNY',
    description: 'Payment pay_1',
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    expiresAt: '2025-01-02T03:35:00.000Z',
    state: 'paid',
    transactionId: 'txn_1',
    paidAt: '2025-01-02T03:04:00.000Z',
    notificationId: 'evt_1',
    ...overrides,
  };
}

function refundRequest(overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    refundId: 'ref_1',
    paymentId: 'pay_1',
    amount: 2_345,
    paymentAmount: 12_345,
    currency: 'CNY',
    reason: 'returned',
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    now: NOW,
    ...overrides,
  };
}

function connected(
  options: { outcome?: SandboxRefundOutcome; config?: BankConfig; checkout?: Partial<SandboxCheckout> | null } = {},
) {
  const store = memoryCheckoutStore({ refundOutcome: options.outcome });
  if (options.checkout !== null) store.put(paidCheckout(options.checkout));
  const sent: SentBankRequest[] = [];
  const provider = createBankProvider({
    config: options.config ?? keys.merchant,
    fetch: bankSimulatorFetch(simulator, store, NOW, { sent }),
  });
  return { store, sent, provider };
}

const query = (provider: ReturnType<typeof connected>['provider'], refundId = 'ref_1') =>
  provider.queryRefund({ refundId, paymentId: 'pay_1', now: NOW });

describe('bank refund: POST {gatewayUrl}/refunds', () => {
  it('sends our refund id as Idempotency-Key and refund_id, signed with the signing secret over t, method, path and body; pending is processing', async () => {
    const { provider, sent, store } = connected();
    expect(await provider.refund(refundRequest())).toEqual({ status: 'processing', providerStatus: 'pending' });

    const [request] = sent;
    expect(request?.url).toBe(`${BANK_SANDBOX_BASE}/pay/refunds`);
    expect(request?.method).toBe('POST');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      refund_id: 'ref_1',
      payment_id: 'pay_1',
      amount: 2_345,
      currency: 'CNY',
      reason: 'returned',
    });
    expect(request?.headers).toMatchObject({
      'Idempotency-Key': 'ref_1',
      'Content-Type': 'application/json',
      'Bank-Signature': bankRequestSignature(keys.merchant.signingSecret, T, 'POST', '/refunds', request?.body ?? ''),
    });
    expect(store.refunds.list('pay_1')).toEqual([
      expect.objectContaining({ refundId: 'ref_1', amount: 2_345, state: 'processing' }),
    ]);
  });

  it('a retry with the same refund id is the same refund, never a second one', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest());
    expect(await provider.refund(refundRequest())).toEqual({ status: 'processing', providerStatus: 'pending' });
    expect(store.refunds.list('pay_1')).toHaveLength(1);
  });

  it('an answer lost on the way (the refund made, then a timeout) is retried, signed afresh with the same Idempotency-Key: one refund', async () => {
    const store = memoryCheckoutStore();
    store.put(paidCheckout());
    const sent: SentBankRequest[] = [];
    const toBank = bankSimulatorFetch(simulator, store, NOW, { sent });
    const losingFirstAnswer: FetchLike = async (input, init) => {
      const answer = await toBank(input, init);
      if (sent.length === 1) throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      return answer;
    };
    const provider = createBankProvider({ config: keys.merchant, fetch: losingFirstAnswer });
    expect(await provider.refund(refundRequest())).toEqual({ status: 'processing', providerStatus: 'pending' });
    expect(sent.map((request) => request.headers['Idempotency-Key'])).toEqual(['ref_1', 'ref_1']);
    expect(store.refunds.list('pay_1')).toHaveLength(1);
  });

  it('follows the refund by GET /refunds/{refund_id} to each end', async () => {
    for (const [end, expected] of [
      [
        'succeeded',
        { status: 'succeeded', amount: 2_345, succeededAt: NOW.toISOString(), providerStatus: 'succeeded' },
      ],
      ['failed', { status: 'failed', providerStatus: 'failed', reason: 'declined' }],
      ['abnormal', { status: 'abnormal', providerStatus: 'requires_action' }],
    ] as const) {
      const { provider, store, sent } = connected();
      expect(await query(provider)).toEqual({ status: 'not_found', providerStatus: 'refund_not_found' });
      await provider.refund(refundRequest());
      const [opened] = store.refunds.list('pay_1');
      store.refunds.settle('pay_1', opened?.key ?? '', NOW, end);
      expect(await query(provider)).toEqual(expected);
      const get = sent.at(-1);
      expect(get).toMatchObject({ method: 'GET', url: `${BANK_SANDBOX_BASE}/pay/refunds/ref_1`, body: '' });
      expect(get?.headers['Bank-Signature']).toBe(
        bankRequestSignature(keys.merchant.signingSecret, T, 'GET', '/refunds/ref_1', ''),
      );
    }
  });

  it.each([
    ['more than refundable', () => connected(), refundRequest({ amount: 12_346 }), 'amount_exceeds_refundable'],
    ['an unknown payment', () => connected({ checkout: null }), refundRequest(), 'payment_not_found'],
    [
      'an unpaid payment',
      () => connected({ checkout: { state: 'pending' } }),
      refundRequest(),
      'payment_not_refundable',
    ],
    [
      'a request signed with another secret',
      () => connected({ config: { ...keys.merchant, signingSecret: 'sk_not_the_bank_s_secret_at_all' } }),
      refundRequest(),
      'invalid_signature',
    ],
  ] as const)('a definite refusal is failed: %s → %s', async (_name, setup, request, code) => {
    const { provider, store } = setup();
    expect(await provider.refund(request)).toEqual({
      status: 'failed',
      providerStatus: code,
      reason: expect.stringMatching(new RegExp(`^${code}: `)),
    });
    expect(store.refunds.list('pay_1')).toEqual([]);
  });

  it('the same refund id with another amount is idempotency_key_reused; the first refund stands', async () => {
    const { provider, store } = connected();
    await provider.refund(refundRequest());
    expect(await provider.refund(refundRequest({ amount: 100 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'idempotency_key_reused',
    });
    expect(store.refunds.list('pay_1')).toEqual([expect.objectContaining({ amount: 2_345 })]);
  });

  it('never refunds more than was paid: the rest, then one minor unit more is refused', async () => {
    const { provider } = connected();
    await provider.refund(refundRequest({ refundId: 'ref_1', amount: 12_000 }));
    await provider.refund(refundRequest({ refundId: 'ref_2', amount: 345 }));
    expect(await provider.refund(refundRequest({ refundId: 'ref_3', amount: 1 }))).toMatchObject({
      status: 'failed',
      providerStatus: 'amount_exceeds_refundable',
    });
  });

  it.each([
    ['a 500', signedBankAnswer(currentSecret, 500, { error: { code: 'internal' } }, NOW)],
    [
      'a signed 429',
      signedBankAnswer(currentSecret, 429, { error: { code: 'rate_limited', message: 'slow down' } }, NOW),
    ],
    [
      'an unsigned 409 refusal',
      async () => ({
        status: 409,
        headers: new Headers(),
        text: async () => JSON.stringify({ error: { code: 'amount_exceeds_refundable' } }),
      }),
    ],
    [
      'a refusal signed with a secret we do not hold',
      signedBankAnswer('whsec_someone_else_entirely', 409, { error: { code: 'amount_exceeds_refundable' } }, NOW),
    ],
    [
      'a signed answer from 6 minutes ago',
      signedBankAnswer(currentSecret, 200, bankRefundAnswer(), new Date(NOW.getTime() - 360_000)),
    ],
    ['a signed 200 that is not JSON', signedBankAnswer(currentSecret, 200, 'garbage', NOW)],
    [
      'a signed 200 about another refund',
      signedBankAnswer(currentSecret, 200, bankRefundAnswer({ refund_id: 'ref_2' }), NOW),
    ],
    [
      'a signed 200 with an unknown status',
      signedBankAnswer(currentSecret, 200, bankRefundAnswer({ status: 'canceled' }), NOW),
    ],
    ['a signed 200 for another amount', signedBankAnswer(currentSecret, 200, bankRefundAnswer({ amount: 1 }), NOW)],
    ['a signed 4xx without the error body', signedBankAnswer(currentSecret, 400, { message: 'bad' }, NOW)],
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
  ] as [string, FetchLike][])('%s leaves the outcome unknown: thrown retryable, never failed', async (_name, fetch) => {
    const attempt = createBankProvider({ config: keys.merchant, fetch }).refund(refundRequest());
    await expect(attempt).rejects.toBeInstanceOf(ProviderCallError);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
  });

  it('maps every refund status; an answer signed with the previous webhook secret is accepted (rotation)', async () => {
    expect(Object.keys(BANK_REFUND_OUTCOMES).sort()).toEqual([...BANK_REFUND_STATUSES].sort());
    const expected = {
      pending: { status: 'processing', providerStatus: 'pending' },
      succeeded: {
        status: 'succeeded',
        amount: 2_345,
        succeededAt: '2025-01-02T03:04:05.000Z',
        providerStatus: 'succeeded',
      },
      failed: { status: 'failed', providerStatus: 'failed', reason: 'expired_or_canceled_card' },
      requires_action: { status: 'abnormal', providerStatus: 'requires_action' },
    };
    for (const [status, state] of Object.entries(expected)) {
      const answer = bankRefundAnswer({
        status,
        ...(status === 'failed' ? { failure_reason: 'expired_or_canceled_card' } : {}),
      });
      const provider = createBankProvider({
        config: keys.merchant,
        fetch: signedBankAnswer(previousSecret, 200, answer, NOW),
      });
      expect([status, await provider.refund(refundRequest())]).toEqual([status, state]);
      expect([status, await query(provider)]).toEqual([status, state]);
    }
  });

  it('an answer tampered with on the way is refused (retryable)', async () => {
    const store = memoryCheckoutStore();
    store.put(paidCheckout());
    const tamper = (answer: { statusCode: number; headers: Record<string, string>; body: string }) => ({
      ...answer,
      body: answer.body.replace('"pending"', '"succeeded"'),
    });
    const provider = createBankProvider({
      config: keys.merchant,
      fetch: bankSimulatorFetch(simulator, store, NOW, { tamper }),
    });
    await expect(provider.refund(refundRequest())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('not signed by the bank'),
    });
  });
});

describe('bank refund: refund.* webhooks', () => {
  it.each([
    ['succeeded', 'refund.succeeded', {}],
    ['failed', 'refund.failed', { failure_reason: 'declined' }],
    ['abnormal', 'refund.requires_action', {}],
  ] as const)(
    'the simulator’s %s refund arrives as %s, signed like payment webhooks, and verifies',
    async (end, type, extra) => {
      const { provider, store } = connected();
      await provider.refund(refundRequest());
      const [opened] = store.refunds.list('pay_1');
      const refund = store.refunds.settle('pay_1', opened?.key ?? '', NOW, end);
      const outbound = simulator.buildRefundCallback(paidCheckout(), refund, NOW);
      expect(outbound?.url).toBe('https://shop.example/api/payments/callback/bank');
      expect(JSON.parse(outbound?.body ?? '')).toEqual({
        event_id: refund.notificationId,
        type,
        refund_id: 'ref_1',
        payment_id: 'pay_1',
        amount: 2_345,
        currency: 'CNY',
        occurred_at: NOW.toISOString(),
        ...extra,
      });
      expect(bank.verifyCallback(toRawCallback(outbound!), NOW)).toEqual({
        ok: true,
        notification: {
          type: 'refund',
          provider: 'bank',
          eventId: refund.notificationId,
          refundId: 'ref_1',
          paymentId: 'pay_1',
          outcome: end,
          amount: 2_345,
          currency: 'CNY',
          occurredAt: NOW.toISOString(),
          providerStatus: type,
          via: 'callback',
        },
      });
      expect(simulator.buildRefundCallback(paidCheckout(), opened!, NOW)).toBeUndefined();
    },
  );

  it('verifies a hand-made refund.succeeded signed with the previous secret (rotation)', () => {
    const result = bank.verifyCallback(signedBankCallback(bankRefundEventBody(), previousSecret, T), NOW);
    expect(result).toMatchObject({
      ok: true,
      notification: { type: 'refund', eventId: 'evt_r1', refundId: 'ref_1', outcome: 'succeeded', amount: 2_345 },
    });
  });

  it.each([
    [
      'a body changed after signing',
      () => ({
        ...signedBankCallback(bankRefundEventBody(), currentSecret, T),
        body: Buffer.from(bankRefundEventBody({ amount: 12_345 })),
      }),
      'bad_signature',
    ],
    [
      'an unknown refund event',
      () => signedBankCallback(bankRefundEventBody({ type: 'refund.updated' }), currentSecret, T),
      'unsupported_event',
    ],
    [
      'another currency',
      () => signedBankCallback(bankRefundEventBody({ currency: 'USD' }), currentSecret, T),
      'currency_mismatch',
    ],
    [
      'a refund event without refund_id',
      () => signedBankCallback(bankRefundEventBody({ refund_id: undefined }), currentSecret, T),
      'malformed',
    ],
    [
      'an amount that is not whole minor units',
      () => signedBankCallback(bankRefundEventBody({ amount: 23.45 }), currentSecret, T),
      'malformed',
    ],
    ['a stale signature', () => signedBankCallback(bankRefundEventBody(), currentSecret, T - 301), 'stale_timestamp'],
  ] as const)('refuses %s as %s', (_name, callback, reason) => {
    expect(bank.verifyCallback(callback(), NOW)).toMatchObject({ ok: false, reason });
  });

  it('a payment webhook (no type) is still a payment', () => {
    expect(bank.verifyCallback(signedBankCallback(bankCallbackBody(), currentSecret, T), NOW)).toMatchObject({
      ok: true,
      notification: { outcome: 'succeeded', providerStatus: 'SUCCEEDED' },
    });
  });
});
