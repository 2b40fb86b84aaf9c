import { beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import { ALICE, BOB, type CustomerApi, customerApi, placeOrder, stockOf } from '../../support/api-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';
import { payAtProvider, refundSandbox, type RefundSandbox } from '../../support/refund-fixtures';
import { sandboxKeys } from '../../support/sweeper-fixtures';

const keys = sandboxKeys();
let env: TestEnv;
let api: CustomerApi;
let wechat: RefundSandbox;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  wechat = refundSandbox('wechat', keys, env.clock.now);
  env.deps.providers = { wechat: wechat.provider };
  api = customerApi(env);
});

const asAdmin = { customerId: 'ops_1', scope: ADMIN_SCOPE };
let keyCounter = 0;
const key = () => ({ 'idempotency-key': `refund-key-${++keyCounter}` });

async function paidOrder(quantity = 1) {
  const { order, payment } = await placeOrder(api, { items: [{ sku: 'TEA-001', quantity }], paymentMethod: 'wechat' });
  expect(
    (await api('POST /api/payments/{paymentId}/start', { params: { paymentId: payment.paymentId } })).statusCode,
  ).toBe(200);
  await payAtProvider(env, wechat, 'wechat', payment.paymentId);
  return { order, payment };
}

describe('POST /api/payments/{paymentId}/refunds', () => {
  it('refunds part of a paid payment: 201 {refund}, listed with the refunded and refundable amounts, and in the order', async () => {
    const { order, payment } = await paidOrder(2);
    const created = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: { amount: 1000, reason: 'one tin was dented' },
    });
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    expect(created.body.refund).toMatchObject({
      paymentId: payment.paymentId,
      orderId: order.orderId,
      amount: 1000,
      currency: 'CNY',
      status: 'processing',
      reason: 'one tin was dented',
    });

    const listed = await api('GET /api/payments/{paymentId}/refunds', { params: { paymentId: payment.paymentId } });
    expect(listed.body).toEqual({
      refunds: [created.body.refund],
      refundedAmount: 0,
      refundableAmount: payment.amount - 1000,
    });
    const single = await api('GET /api/refunds/{refundId}', { params: { refundId: created.body.refund.refundId } });
    expect(single.body).toEqual({ refund: created.body.refund });
    const ofOrder = await api('GET /api/orders/{orderId}', { params: { orderId: order.orderId } });
    expect(ofOrder.body.refunds).toEqual([created.body.refund]);
  });

  it('needs the admin scope', async () => {
    const { payment } = await paidOrder();
    const response = await api('POST /api/payments/{paymentId}/refunds', {
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: {},
    });
    expect(response.statusCode).toBe(403);
    expect(wechat.store.refunds.list(payment.paymentId)).toHaveLength(0);
  });

  it('answers 409 with the code for a payment not paid, too much, and replays the first answer for the same key', async () => {
    const { payment: unpaid } = await placeOrder(api, { items: [{ sku: 'TEA-001', quantity: 1 }] });
    const notPaid = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: unpaid.paymentId },
      headers: key(),
      body: {},
    });
    expect([notPaid.statusCode, notPaid.body.error.code]).toEqual([409, 'PAYMENT_NOT_REFUNDABLE']);

    const { payment } = await paidOrder();
    const tooMuch = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: { amount: payment.amount + 1 },
    });
    expect([tooMuch.statusCode, tooMuch.body.error.code]).toEqual([409, 'REFUND_EXCEEDS_REFUNDABLE']);

    const sameKey = key();
    const first = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: sameKey,
      body: { amount: 100 },
    });
    const again = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: sameKey,
      body: { amount: 100 },
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.body.refund.refundId).toBe(first.body.refund.refundId);
    expect(wechat.store.refunds.list(payment.paymentId)).toHaveLength(1);
  });

  it('503 PROVIDER_NOT_CONFIGURED writes nothing', async () => {
    const { payment } = await paidOrder();
    env.deps.providers = {};
    const response = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: {},
    });
    expect([response.statusCode, response.body.error.code]).toEqual([503, 'PROVIDER_NOT_CONFIGURED']);
    expect((await env.repo.getPayment(payment.paymentId))!.refundIds).toBeUndefined();
  });

  it('a customer sees only their own refunds; an admin sees any', async () => {
    const { payment } = await paidOrder();
    const created = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: { restock: [{ sku: 'TEA-001', quantity: 1 }] },
    });
    const { refundId } = created.body.refund;
    expect((await api('GET /api/refunds/{refundId}', { customerId: BOB, params: { refundId } })).statusCode).toBe(404);
    expect(
      (
        await api('GET /api/payments/{paymentId}/refunds', {
          customerId: BOB,
          params: { paymentId: payment.paymentId },
        })
      ).statusCode,
    ).toBe(404);
    expect((await api('GET /api/refunds/{refundId}', { ...asAdmin, params: { refundId } })).statusCode).toBe(200);
    expect((await api('GET /api/refunds/{refundId}', { customerId: ALICE, params: { refundId } })).statusCode).toBe(
      200,
    );
    expect(await stockOf(env, 'TEA-001')).toBe(99); // restocked only when the refund succeeds
  });

  // Fixed defect: the handlers read scopes more loosely than the gateway (commas, tabs, brackets),
  // so a token the gateway refuses on admin routes read anyone's refunds on the customer routes.
  it('a token whose scopes only resemble the admin scope reads no other customer’s refunds; a real one does', async () => {
    const { payment } = await paidOrder();
    const created = await api('POST /api/payments/{paymentId}/refunds', {
      ...asAdmin,
      params: { paymentId: payment.paymentId },
      headers: key(),
      body: {},
    });
    const { refundId } = created.body.refund;
    const read = (claims: Record<string, unknown>) =>
      Promise.all([
        api('GET /api/refunds/{refundId}', { customerId: BOB, claims, params: { refundId } }),
        api('GET /api/payments/{paymentId}/refunds', {
          customerId: BOB,
          claims,
          params: { paymentId: payment.paymentId },
        }),
      ]).then((answers) => answers.map((answer) => answer.statusCode));
    for (const claims of [
      { scope: `orders:read,${ADMIN_SCOPE}` },
      { scope: `[${ADMIN_SCOPE}]` },
      { scope: `orders:read\t${ADMIN_SCOPE}` },
      { scope: [ADMIN_SCOPE] }, // a list where the claim is a string
      { scope: `[openid ${ADMIN_SCOPE}]` },
      { scp: `openid,${ADMIN_SCOPE}` },
      { scp: [`openid,${ADMIN_SCOPE}`] },
    ]) {
      expect(await read(claims), JSON.stringify(claims)).toEqual([404, 404]);
    }
    for (const claims of [
      { scope: `openid ${ADMIN_SCOPE}` },
      { scp: ['openid', ADMIN_SCOPE] },
      { scp: `openid ${ADMIN_SCOPE}` },
    ]) {
      expect(await read(claims), JSON.stringify(claims)).toEqual([200, 200]);
    }
  });
});
