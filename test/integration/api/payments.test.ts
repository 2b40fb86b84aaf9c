import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createBankSimulator } from '../../../local/sandbox/bank';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { createBankProvider } from '../../../src/providers/bank';
import { createWechatProvider } from '../../../src/providers/wechat';
import { ALICE, BOB, type CustomerApi, customerApi, placeOrder, settleAsPaid } from '../../support/api-fixtures';
import { bankTestKeys, memoryCheckoutStore, openInSimulator } from '../../support/bank-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';
import { startProviderStandIn } from '../../support/provider-stand-in';
import {
  type ProviderSandbox,
  providerSandbox,
  sandboxKeys as generateSandboxKeys,
} from '../../support/sweeper-fixtures';

const MINUTE = 60_000;
const TEA = { items: [{ sku: 'TEA-001', quantity: 1 }] };
const bankKeys = bankTestKeys();
const wechatKeys = generateWechatKeys('http://unused.invalid');
const sandboxKeys = generateSandboxKeys();

let env: TestEnv;
let api: CustomerApi;

beforeEach(async () => {
  env = await createTestEnv();
  env.deps.providers = { bank: createBankProvider({ config: bankKeys.merchant }) };
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
});

const repay = (orderId: string, request: { body?: unknown; customerId?: string } = {}) =>
  api('POST /api/orders/{orderId}/payments', { params: { orderId }, ...request });
const cancelPayment = (paymentId: string, customerId = ALICE) =>
  api('POST /api/payments/{paymentId}/cancel', { customerId, params: { paymentId } });
const startPayment = (paymentId: string) => api('POST /api/payments/{paymentId}/start', { params: { paymentId } });

describe('POST /api/orders/{orderId}/payments (pay again)', () => {
  it('answers 409 PAYMENT_ALREADY_OPEN while the first payment is open', async () => {
    const { order, payment } = await placeOrder(api, TEA);

    const response = await repay(order.orderId);

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'PAYMENT_ALREADY_OPEN',
      details: { openPaymentId: payment.paymentId },
    });
  });

  it('creates a new payment, by the same method, once the first was cancelled', async () => {
    const { order, payment: first } = await placeOrder(api, { ...TEA, paymentMethod: 'alipay' });
    expect((await cancelPayment(first.paymentId)).statusCode).toBe(200);

    const response = await repay(order.orderId);

    expect(response.statusCode).toBe(201);
    const second = response.body;
    expect(second).toMatchObject({
      orderId: order.orderId,
      status: 'init',
      method: 'alipay',
      amount: order.totalAmount,
    });
    expect(second.paymentId).not.toBe(first.paymentId);
    const { body } = await api('GET /api/orders/{orderId}', { params: { orderId: order.orderId } });
    expect(body.order).toMatchObject({ status: 'pending', openPaymentId: second.paymentId });
    expect(body.payments.map((p: { paymentId: string; status: string }) => [p.paymentId, p.status])).toEqual([
      [first.paymentId, 'cancelled'],
      [second.paymentId, 'init'],
    ]);
  });

  it('expires a first payment left unpaid past its expiry and replaces it', async () => {
    const { order, payment: first } = await placeOrder(api, TEA);
    env.clock.advance(30 * MINUTE);

    const response = await repay(order.orderId, { body: { paymentMethod: 'bank', ttlMinutes: 10 } });

    expect(response.statusCode).toBe(201);
    expect(response.body).toMatchObject({
      method: 'bank',
      status: 'init',
      expiresAt: new Date(env.clock.now().getTime() + 10 * MINUTE).toISOString(),
    });
    expect((await env.repo.getPayment(first.paymentId))?.status).toBe('expired');
    expect((await env.repo.getOrder(order.orderId))?.paymentIds).toEqual([first.paymentId, response.body.paymentId]);
    expect((await env.drainedBus()).ofType('PaymentExpired').map((event) => event.detail.paymentId)).toEqual([
      first.paymentId,
    ]);
  });

  describe.each(['wechat', 'alipay'] as const)(
    'when the open %s payment was started and is past its expiry (GET reads it expired)',
    (method) => {
      let sandbox: ProviderSandbox;
      beforeEach(() => {
        sandbox = providerSandbox(method, sandboxKeys, env.clock.now);
        env.deps.providers = { ...env.deps.providers, [method]: sandbox.provider };
      });

      async function startedPastExpiry() {
        const { order, payment } = await placeOrder(api, { ...TEA, paymentMethod: method });
        const started = await startPayment(payment.paymentId);
        await sandbox.openPayUrl(started.body.payUrl);
        env.clock.advance(30 * MINUTE);
        const read = await api('GET /api/payments/{paymentId}', { params: { paymentId: payment.paymentId } });
        expect(read.body.status).toBe('expired');
        return { order, payment };
      }

      it('closes it at the provider, expires it and replaces it', async () => {
        const { order, payment: first } = await startedPastExpiry();

        const response = await repay(order.orderId);

        expect(response.statusCode).toBe(201);
        expect(sandbox.checkout(first.paymentId)!.state).toBe('closed');
        expect((await env.repo.getPayment(first.paymentId))?.status).toBe('expired');
        expect(await env.repo.getOrder(order.orderId)).toMatchObject({
          openPaymentId: response.body.paymentId,
          paymentIds: [first.paymentId, response.body.paymentId],
        });
        expect((await env.drainedBus()).ofType('PaymentExpired').map((event) => event.detail.paymentId)).toEqual([
          first.paymentId,
        ]);
      });

      it('keeps it when the provider cannot close it (the customer paid at the last second): 502, nothing replaced', async () => {
        const { order, payment: first } = await startedPastExpiry();
        sandbox.decide(first.paymentId, 'paid');

        const response = await repay(order.orderId);

        expect(response.statusCode).toBe(502);
        expect(response.body.error.code).toBe('PROVIDER_UNAVAILABLE');
        expect((await env.repo.getPayment(first.paymentId))?.status).toBe('processing');
        expect(await env.repo.getOrder(order.orderId)).toMatchObject({
          openPaymentId: first.paymentId,
          paymentIds: [first.paymentId],
        });
      });

      it('answers 409 PAYMENT_EXPIRED to a start, not the old pay URL', async () => {
        const { payment } = await startedPastExpiry();

        const response = await startPayment(payment.paymentId);

        expect(response.statusCode).toBe(409);
        expect(response.body.error.code).toBe('PAYMENT_EXPIRED');
      });
    },
  );

  it('replaces a started bank payment past its expiry once the bank can no longer take it: 409 PAYMENT_CLOSING until the grace is over', async () => {
    const { order, payment: first } = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });
    await startPayment(first.paymentId);
    const graceOver = new Date(Date.parse(first.expiresAt) + env.deps.sweeper.expiryGraceSeconds * 1000);
    env.clock.set(first.expiresAt);

    const early = await repay(order.orderId);

    expect(early.statusCode).toBe(409);
    expect(early.body.error).toMatchObject({
      code: 'PAYMENT_CLOSING',
      details: { paymentId: first.paymentId, retryAt: graceOver.toISOString() },
    });
    expect((await env.repo.getPayment(first.paymentId))?.status).toBe('processing');

    env.clock.set(graceOver);
    const response = await repay(order.orderId);

    expect(response.statusCode).toBe(201);
    expect((await env.repo.getPayment(first.paymentId))?.status).toBe('expired');
  });

  it('lets only one of two simultaneous re-pays through', async () => {
    const { order, payment } = await placeOrder(api, TEA);
    await cancelPayment(payment.paymentId);

    const responses = await Promise.all([repay(order.orderId), repay(order.orderId)]);

    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409]);
    expect(responses.find((response) => response.statusCode === 409)?.body.error.code).toBe('PAYMENT_ALREADY_OPEN');
    const winner = responses.find((response) => response.statusCode === 201)?.body;
    expect(await env.repo.getOrder(order.orderId)).toMatchObject({
      openPaymentId: winner.paymentId,
      paymentIds: [payment.paymentId, winner.paymentId],
    });
  });

  it('answers 409 ORDER_NOT_PENDING for a paid order and for a cancelled one', async () => {
    const paid = await placeOrder(api, TEA);
    await settleAsPaid(env, paid.payment);
    const cancelled = await placeOrder(api, TEA);
    await api('POST /api/orders/{orderId}/cancel', { params: { orderId: cancelled.order.orderId } });

    for (const [{ order }, status] of [
      [paid, 'paid'],
      [cancelled, 'cancelled'],
    ] as const) {
      const response = await repay(order.orderId);
      expect(response.statusCode).toBe(409);
      expect(response.body.error).toMatchObject({ code: 'ORDER_NOT_PENDING', details: { status } });
    }
  });

  it("answers 404 for another customer's order", async () => {
    const { order } = await placeOrder(api, TEA);
    expect((await repay(order.orderId, { customerId: BOB })).statusCode).toBe(404);
  });
});

describe('POST /api/payments/{paymentId}/cancel', () => {
  it('cancels an init payment and leaves the order pending with no open payment; cancelling again answers the same', async () => {
    const { order, payment } = await placeOrder(api, TEA);

    const first = await cancelPayment(payment.paymentId);
    const again = await cancelPayment(payment.paymentId);

    expect(first.statusCode).toBe(200);
    expect(first.body).toMatchObject({ paymentId: payment.paymentId, status: 'cancelled' });
    expect(again.statusCode).toBe(200);
    expect(again.body).toEqual(first.body);
    const stored = await env.repo.getOrder(order.orderId);
    expect(stored?.status).toBe('pending');
    expect(stored?.openPaymentId).toBeUndefined();
    expect((await env.drainedBus()).ofType('PaymentCancelled')).toHaveLength(1);
  });

  it('answers both of two simultaneous cancels with the cancelled payment', async () => {
    for (let round = 0; round < 5; round++) {
      const { order, payment } = await placeOrder(api, TEA);

      const responses = await Promise.all([cancelPayment(payment.paymentId), cancelPayment(payment.paymentId)]);

      expect(
        responses.map((response) => [response.statusCode, response.body.error?.code]),
        `round ${round}`,
      ).toEqual([
        [200, undefined],
        [200, undefined],
      ]);
      expect(responses[1]!.body).toEqual(responses[0]!.body);
      await api('POST /api/orders/{orderId}/cancel', { params: { orderId: order.orderId } }); // frees a pending-order place
    }
    expect((await env.drainedBus()).ofType('PaymentCancelled')).toHaveLength(5);
  });

  it('a retried cancel of a started Alipay payment whose trade the first try already closed: cancelled, not 502', async () => {
    const sandbox = providerSandbox('alipay', sandboxKeys, env.clock.now);
    env.deps.providers = { ...env.deps.providers, alipay: sandbox.provider };
    const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'alipay' });
    const started = await startPayment(payment.paymentId);
    await sandbox.openPayUrl(started.body.payUrl);
    // The first try closed the trade at Alipay, then died before its write: Alipay now refuses a second close.
    await sandbox.provider.closePayment!(payment.paymentId, env.clock.now());

    const response = await cancelPayment(payment.paymentId);

    expect([response.statusCode, response.body.status]).toEqual([200, 'cancelled']);
    expect(sandbox.checkout(payment.paymentId)!.state).toBe('closed');
  });

  it('answers 409 INVALID_TRANSITION for a succeeded payment', async () => {
    const { payment } = await placeOrder(api, TEA);
    await settleAsPaid(env, payment);

    const response = await cancelPayment(payment.paymentId);

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { from: 'succeeded', to: 'cancelled' },
    });
    expect((await env.repo.getPayment(payment.paymentId))?.status).toBe('succeeded');
  });

  it("answers 404 for another customer's payment and leaves it open", async () => {
    const { payment } = await placeOrder(api, TEA);

    expect((await cancelPayment(payment.paymentId, BOB)).statusCode).toBe(404);
    expect((await env.repo.getPayment(payment.paymentId))?.status).toBe('init');
  });
});

describe('POST /api/payments/{paymentId}/start', () => {
  it('creates the bank checkout: the payment is processing and the pay URL is one the bank accepts', async () => {
    const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });

    const response = await startPayment(payment.paymentId);

    expect(response.statusCode).toBe(200);
    expect(response.body.payment).toMatchObject({
      paymentId: payment.paymentId,
      status: 'processing',
      payUrl: response.body.payUrl,
    });
    const payUrl = new URL(response.body.payUrl);
    expect(response.body.payUrl.startsWith(bankKeys.merchant.gatewayUrl)).toBe(true);
    expect(payUrl.searchParams.get('payment_id')).toBe(payment.paymentId);
    expect(payUrl.searchParams.get('amount')).toBe(String(payment.amount));
    // The harness's PAYMENT_RETURN_URL template is https://shop.example/orders/{orderId}.
    expect(payUrl.searchParams.get('return_url')).toBe(`https://shop.example/orders/${payment.orderId}`);
    const bank = await openInSimulator(
      createBankSimulator(bankKeys.sandbox),
      memoryCheckoutStore(),
      response.body.payUrl,
      env.clock.now(),
    );
    expect(bank.statusCode).toBe(302);
    expect((await env.drainedBus()).ofType('PaymentStarted').map((event) => event.detail.paymentId)).toEqual([
      payment.paymentId,
    ]);
  });

  it('answers a second start with the same pay URL', async () => {
    const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });

    const first = await startPayment(payment.paymentId);
    const second = await startPayment(payment.paymentId);

    expect(second.statusCode).toBe(200);
    expect(second.body.payUrl).toBe(first.body.payUrl);
    expect((await env.drainedBus()).ofType('PaymentStarted')).toHaveLength(1);
  });

  it('answers 409 INVALID_TRANSITION for a cancelled payment', async () => {
    const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });
    await cancelPayment(payment.paymentId);

    const response = await startPayment(payment.paymentId);

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { from: 'cancelled', to: 'processing' },
    });
  });

  it('answers 409 PAYMENT_EXPIRED for a payment past its expiry', async () => {
    const { payment } = await placeOrder(api, { ...TEA, paymentMethod: 'bank' });
    env.clock.advance(30 * MINUTE);

    const response = await startPayment(payment.paymentId);

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('PAYMENT_EXPIRED');
  });

  it('answers 503 PROVIDER_NOT_CONFIGURED for a method this deployment has no provider for, and leaves the payment init', async () => {
    const { payment } = await placeOrder(api, TEA);

    const response = await startPayment(payment.paymentId);

    expect(response.statusCode).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', details: { method: 'wechat' } });
    expect((await env.repo.getPayment(payment.paymentId))?.status).toBe('init');
  });

  it('answers 502 PROVIDER_UNAVAILABLE within the provider timeouts when WeChat never answers, and leaves the payment init', async () => {
    const wechat = await startProviderStandIn(createWechatSimulator(wechatKeys.sandbox), memoryCheckoutStore());
    onTestFinished(() => wechat.close());
    wechat.answer('hang');
    const http = { timeoutMs: 200, attempts: 3, backoffBaseMs: 10 };
    env.deps.providers.wechat = createWechatProvider({
      config: { ...wechatKeys.merchant, apiBase: wechat.baseUrl },
      fetch: globalThis.fetch,
      http,
    });
    const { payment } = await placeOrder(api, TEA);

    const started = performance.now();
    const response = await startPayment(payment.paymentId);

    expect(response.statusCode).toBe(502);
    expect(response.body.error).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      details: { method: 'wechat', operation: 'create the checkout' },
    });
    expect(performance.now() - started).toBeLessThan(http.attempts * http.timeoutMs + 500);
    expect(wechat.requests).toBe(3);
    expect((await env.repo.getPayment(payment.paymentId))?.status).toBe('init');
  });
});
