import { constants, privateDecrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { type AbnormalRefundRetry, ProviderCallError } from '../../../src/core/payments/provider';
import { createWechatProvider } from '../../../src/providers/wechat';
import { memoryCheckoutStore } from '../../support/bank-fixtures';
import {
  WECHAT_SANDBOX_BASE,
  signedAnswerFetch,
  simulatorFetch,
  type SentRequest,
  paidWechatCheckout,
} from '../../support/wechat-fixtures';

// RSA key generation is the slow part: once per file.
const { merchant, sandbox } = generateWechatKeys(WECHAT_SANDBOX_BASE);
const NOW = new Date('2026-11-25T04:00:00.000Z');
const CARD = {
  type: 'USER_BANK_CARD',
  bankType: 'ICBC_DEBIT',
  bankAccount: '6222020200112233445',
  realName: '王小明',
} as const;

const checkout = paidWechatCheckout();

/** The merchant module wired to the simulator, holding one paid order and one refund of it ended `state`. */
function withRefund(state: 'abnormal' | 'processing') {
  const store = memoryCheckoutStore();
  store.put(checkout);
  const opened = store.refunds.open(
    { paymentId: checkout.paymentId, refundId: 'ref_000001', amount: 2_345, settle: 'never' },
    NOW,
  );
  if (opened.result === 'refused') throw new Error(opened.refusal);
  if (state === 'abnormal') store.refunds.settle(checkout.paymentId, opened.refund.key, NOW, 'abnormal');
  const sent: SentRequest[] = [];
  const simulator = createWechatSimulator(sandbox, { refundSpacingMs: 0 });
  const wechat = createWechatProvider({
    config: merchant,
    fetch: simulatorFetch(simulator, store, { now: () => NOW, sent }),
  });
  const retry = (overrides: Partial<AbnormalRefundRetry> = {}) =>
    wechat.retryAbnormalRefund!({
      refundId: 'ref_000001',
      paymentId: checkout.paymentId,
      providerRefundId: opened.refund.key,
      destination: CARD,
      now: NOW,
      ...overrides,
    });
  return { store, sent, retry, key: opened.refund.key };
}

const decrypt = (ciphertext: string) =>
  privateDecrypt(
    { key: sandbox.platformPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(ciphertext, 'base64'),
  ).toString('utf8');

describe('wechat abnormal refund re-submission: the wire', () => {
  it("POSTs apply-abnormal-refund under WeChat's refund_id, the card and name RSA-OAEP encrypted for the platform key it names", async () => {
    const { sent, retry, key, store } = withRefund('abnormal');

    const answer = await retry();

    expect(answer).toEqual({
      outcome: 'accepted',
      state: { status: 'processing', providerRefundId: key, providerStatus: 'PROCESSING' },
    });
    expect(store.refunds.find('ref_000001')?.state).toBe('processing');
    const [request] = sent;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`${WECHAT_SANDBOX_BASE}/v3/refund/domestic/refunds/${key}/apply-abnormal-refund`);
    expect(request?.headers['Wechatpay-Serial']).toBe(sandbox.platformSerial);
    expect(request?.headers.Authorization).toMatch(/^WECHATPAY2-SHA256-RSA2048 mchid="/);
    const body = JSON.parse(request!.body) as Record<string, string>;
    expect(body).toMatchObject({ out_refund_no: 'ref_000001', type: 'USER_BANK_CARD', bank_type: 'ICBC_DEBIT' });
    expect(decrypt(body.bank_account!)).toBe(CARD.bankAccount);
    expect(decrypt(body.real_name!)).toBe(CARD.realName);
    expect(request!.body).not.toContain(CARD.bankAccount);
    expect(request!.body).not.toContain('王小明');
  });

  it("MERCHANT_BANK_CARD sends no bank details: the shop's account is on file at WeChat", async () => {
    const { sent, retry } = withRefund('abnormal');
    expect((await retry({ destination: { type: 'MERCHANT_BANK_CARD' } })).outcome).toBe('accepted');
    expect(JSON.parse(sent[0]!.body)).toEqual({ out_refund_no: 'ref_000001', type: 'MERCHANT_BANK_CARD' });
  });

  it('a refund WeChat does not hold as ABNORMAL is refused with its code: nothing was sent again', async () => {
    const { retry, store } = withRefund('processing');
    expect(await retry()).toEqual({
      outcome: 'refused',
      providerStatus: 'INVALID_REQUEST',
      reason: 'INVALID_REQUEST: 退款单状态不是退款异常',
    });
    expect(store.refunds.find('ref_000001')?.state).toBe('processing');
  });

  it('a 5xx leaves the outcome unknown: a retryable error, never a refusal', async () => {
    const wechat = createWechatProvider({
      config: merchant,
      fetch: signedAnswerFetch(sandbox, 500, { code: 'SYSTEM_ERROR', message: '系统错误' }, NOW),
    });
    const call = wechat.retryAbnormalRefund!({
      refundId: 'ref_000001',
      paymentId: checkout.paymentId,
      providerRefundId: '50000000382019052709732678859',
      destination: CARD,
      now: NOW,
    });
    await expect(call).rejects.toThrow(ProviderCallError);
    await expect(call).rejects.toMatchObject({ retryable: true });
  });
});
