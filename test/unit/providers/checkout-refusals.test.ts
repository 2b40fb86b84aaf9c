import { describe, expect, it } from 'vitest';
import { createAlipaySimulator, generateAlipayKeys } from '../../../local/sandbox/alipay';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { checkoutFailure } from '../../../src/core/payments/checkout-refusals';
import { ProviderCallError, type PaymentProvider } from '../../../src/core/payments/provider';
import type { PaymentScene } from '../../../src/domain/scene';
import { toErrorResponse } from '../../../src/http/errors';
import { createAlipayProvider } from '../../../src/providers/alipay';
import type { FetchLike } from '../../../src/providers/kit/http';
import { createWechatProvider } from '../../../src/providers/wechat';
import { simulatorFetch as alipayFetch } from '../../support/alipay-fixtures';
import { memoryCheckoutStore } from '../../support/bank-fixtures';
import { checkoutRequest, SCENE_CHECKOUT_NOW } from '../../support/checkout-fixtures';
import { simulatorFetch as wechatFetch, WECHAT_SANDBOX_BASE } from '../../support/wechat-fixtures';

/**
 * Every checkout-creation error code of SCENES.md, as the sandbox answers it in the provider's
 * wire shape (an armed refusal), read by our provider module and turned into what the shop gets:
 * an HTTP status, a machine-readable code, and whether asking again can help.
 */

const NOW = SCENE_CHECKOUT_NOW;
const wechatKeys = generateWechatKeys(WECHAT_SANDBOX_BASE);
const alipayKeys = generateAlipayKeys('http://127.0.0.1:3000/sandbox/alipay');
const metrics = { count: () => undefined } as never;

/** Keeps every answer's status and body as the provider module read them. */
function recording(fetch: FetchLike) {
  const answers: { status: number; body: string }[] = [];
  const recorded: FetchLike = async (input, init) => {
    const response = await fetch(input, init);
    const body = await response.text();
    answers.push({ status: response.status, body });
    return { status: response.status, headers: response.headers, text: async () => body };
  };
  return { answers, fetch: recorded };
}

function wechat() {
  const simulator = createWechatSimulator(wechatKeys.sandbox);
  const { answers, fetch } = recording(wechatFetch(simulator, memoryCheckoutStore(), { now: () => NOW }));
  return { simulator, answers, provider: createWechatProvider({ config: wechatKeys.merchant, fetch }) };
}

function alipay() {
  const simulator = createAlipaySimulator(alipayKeys.sandbox);
  const { answers, fetch } = recording(alipayFetch(simulator, memoryCheckoutStore(), NOW));
  return { simulator, answers, provider: createAlipayProvider({ config: alipayKeys.merchant, fetch }) };
}

/** The provider's error, and the shop's answer made from it. */
async function refusedStart(provider: PaymentProvider, scene: PaymentScene) {
  const error: unknown = await provider.startCheckout(checkoutRequest(scene)).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ProviderCallError)) throw new Error(`expected a ProviderCallError, got ${String(error)}`);
  const method = provider.name;
  const shop = toErrorResponse(checkoutFailure({ metrics }, { paymentId: 'pay_000001', method }, scene, error));
  return { error, shop: { status: shop.statusCode, ...shop.body.error } };
}

describe('WeChat prepay error codes (SCENES.md §0), each in its wire shape, each with its answer to the shop', () => {
  const cases = [
    ['NO_AUTH', 403, 'scene_not_enabled', 503, 'SCENE_NOT_ENABLED', false],
    ['OPENID_MISMATCH', 400, 'payer_mismatch', 400, 'PAYER_MISMATCH', false],
    ['RULELIMIT', 403, 'declined', 402, 'PAYMENT_DECLINED', false],
    ['TRADE_ERROR', 403, 'declined', 402, 'PAYMENT_DECLINED', false],
    ['OUT_TRADE_NO_USED', 403, 'number_taken', 409, 'CHECKOUT_CONFLICT', false],
    ['ORDER_CLOSED', 400, 'closed', 409, 'PAYMENT_CLOSED', false],
    ['ORDERPAID', 400, 'already_paid', 409, 'PAYMENT_ALREADY_PAID', false],
    ['PARAM_ERROR', 400, undefined, 502, 'PROVIDER_UNAVAILABLE', false],
    ['SYSTEMERROR', 500, undefined, 502, 'PROVIDER_UNAVAILABLE', true],
    ['FREQUENCY_LIMITED', 429, undefined, 502, 'PROVIDER_UNAVAILABLE', true],
  ] as const;

  it.each(cases)('%s (HTTP %i) → %s → %i %s', async (code, httpStatus, refusal, shopStatus, shopCode, retryable) => {
    const { simulator, answers, provider } = wechat();
    // Armed for every attempt: a 5xx or 429 is asked again by the sender, and would pass once disarmed.
    simulator.refusals!.arm(code, { times: 3 });

    const { error, shop } = await refusedStart(provider, 'jsapi');

    expect(answers.at(-1)!.status).toBe(httpStatus);
    expect(JSON.parse(answers.at(-1)!.body)).toEqual({ code, message: expect.any(String) });
    expect(error).toMatchObject({ retryable, refusal, providerCode: code });
    expect(shop).toMatchObject({ status: shopStatus, code: shopCode, details: { retryable } });
  });

  it('SYSTEMERROR once is asked again with the same body (参数重入) and the start goes through', async () => {
    const { simulator, answers, provider } = wechat();
    simulator.refusals!.arm('SYSTEMERROR');
    await expect(provider.startCheckout(checkoutRequest('jsapi'))).resolves.toMatchObject({
      ref: expect.stringMatching(/^wx/),
    });
    expect(answers.map((answer) => answer.status)).toEqual([500, 200]);
  });

  it('a refusal armed for another payment leaves this one alone', async () => {
    const { simulator, provider } = wechat();
    simulator.refusals!.arm('NO_AUTH', { paymentId: 'pay_other' });
    await expect(provider.startCheckout(checkoutRequest('native'))).resolves.toMatchObject({ ref: expect.any(String) });
  });
});

describe('Alipay precreate / create sub-codes (SCENES.md §8), signed answers, each with its answer to the shop', () => {
  const cases = [
    ['ACQ.ACCESS_FORBIDDEN', '40004', 'scene_not_enabled', 503, 'SCENE_NOT_ENABLED', false],
    ['ACQ.TRADE_BUYER_NOT_MATCH', '40004', 'payer_mismatch', 400, 'PAYER_MISMATCH', false],
    ['ACQ.CONTEXT_INCONSISTENT', '40004', 'number_taken', 409, 'CHECKOUT_CONFLICT', false],
    ['ACQ.TRADE_HAS_SUCCESS', '40004', 'already_paid', 409, 'PAYMENT_ALREADY_PAID', false],
    ['ACQ.TRADE_HAS_CLOSE', '40004', 'closed', 409, 'PAYMENT_CLOSED', false],
    ['ACQ.SYSTEM_ERROR', '40004', undefined, 502, 'PROVIDER_UNAVAILABLE', true],
    ['aop.ACQ.SYSTEM_ERROR', '20000', undefined, 502, 'PROVIDER_UNAVAILABLE', true],
  ] as const;

  for (const scene of ['qr', 'miniprogram'] as const) {
    const node = scene === 'qr' ? 'alipay_trade_precreate_response' : 'alipay_trade_create_response';
    it.each(cases)(
      `${scene}: %s (code %s) → %s → %i %s`,
      async (subCode, code, refusal, shopStatus, shopCode, retryable) => {
        const { simulator, answers, provider } = alipay();
        simulator.refusals!.arm(subCode);

        const { error, shop } = await refusedStart(provider, scene);

        const answer = JSON.parse(answers.at(-1)!.body) as Record<string, unknown>;
        expect(answers.at(-1)!.status).toBe(200);
        expect(answer[node]).toEqual({ code, msg: expect.any(String), sub_code: subCode, sub_msg: expect.any(String) });
        expect(answer.sign).toEqual(expect.any(String));
        expect(error).toMatchObject({ retryable, refusal, providerCode: subCode });
        expect(shop).toMatchObject({ status: shopStatus, code: shopCode, details: { retryable } });
      },
    );
  }
});
