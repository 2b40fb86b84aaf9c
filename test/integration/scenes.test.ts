import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SWEEPER } from '../../src/core/kernel/deps';
import { Metric } from '../../src/core/kernel/metric-names';
import { createOrders } from '../../src/core/orders/orders';
import { applyNotification } from '../../src/core/payments/notifications';
import { startPayment } from '../../src/core/payments/start';
import { sweepAndSettle } from '../support/sweep';
import type { PayAction, PaymentScene } from '../../src/domain/scene';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { type ProviderSandbox, providerSandbox, sandboxKeys } from '../support/sweeper-fixtures';

/**
 * Scenes against the providers' real formats, on DynamoDB Local: a customer switching scene on a
 * started payment (SCENES.md §8) is never left with two payable trades that could both be kept,
 * and the Alipay QR nobody scanned (close answers ACQ.TRADE_NOT_EXIST while the QR stays
 * payable, §6) is not taken for closed by the expiry or by a switch: a payment that comes anyway
 * takes the late path.
 */

const CUSTOMER = 'cus_scenes';
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const keys = sandboxKeys();

let env: TestEnv;
let sandboxes: { wechat: ProviderSandbox; alipay: ProviderSandbox };

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  sandboxes = {
    wechat: providerSandbox('wechat', keys, env.clock.now),
    alipay: providerSandbox('alipay', keys, env.clock.now),
  };
  env.deps.providers = { wechat: sandboxes.wechat.provider, alipay: sandboxes.alipay.provider };
});

async function started(method: 'wechat' | 'alipay', scene: PaymentScene) {
  const [created] = await createOrders(env.deps, {
    customerId: CUSTOMER,
    orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
    method,
  });
  const { paymentId, orderId, expiresAt } = created!.payment;
  const answer = await startPayment(env.deps, {
    customerId: CUSTOMER,
    paymentId,
    scene,
    payer: { openid: OPENID },
    clientIp: '1.2.3.4',
  });
  return { paymentId, orderId, expiresAt, answer };
}

const switchTo = (paymentId: string, scene: PaymentScene) =>
  startPayment(env.deps, { customerId: CUSTOMER, paymentId, scene, payer: { openid: OPENID }, clientIp: '1.2.3.4' });

async function stored(paymentId: string) {
  const payment = (await env.repo.getPayment(paymentId))!;
  return { payment, order: (await env.repo.getOrder(payment.orderId))! };
}

describe('switching scene on a started payment', () => {
  it('WeChat JSAPI, then Native: the JSAPI order is closed at WeChat, a new payment takes its place with the same expiry', async () => {
    const first = await started('wechat', 'jsapi');

    const switched = await switchTo(first.paymentId, 'native');

    const second = switched.payment.paymentId;
    expect(second).not.toBe(first.paymentId);
    expect(switched).toMatchObject({
      payment: { status: 'processing', scene: 'native', expiresAt: first.expiresAt },
      action: { type: 'qr' },
    });
    expect(sandboxes.wechat.checkout(first.paymentId)?.state).toBe('closed');
    const { payment: old, order } = await stored(first.paymentId);
    expect(old).toMatchObject({ status: 'cancelled', scene: 'jsapi' });
    expect(old.logs.at(-1)?.reason).toContain(`replaced by ${second}`);
    expect(order).toMatchObject({ status: 'pending', openPaymentId: second, paymentIds: [first.paymentId, second] });
  });

  it('asking for the same scene again answers the same payment, not a switch', async () => {
    const first = await started('wechat', 'jsapi');
    const again = await switchTo(first.paymentId, 'jsapi');
    expect(again.payment.paymentId).toBe(first.paymentId);
    expect((await stored(first.paymentId)).order.paymentIds).toEqual([first.paymentId]);
  });

  it('a switch from a paid WeChat order is refused (502) and changes nothing: its callback pays the order', async () => {
    const first = await started('wechat', 'jsapi');
    sandboxes.wechat.decide(first.paymentId, 'paid');

    await expect(switchTo(first.paymentId, 'h5')).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });

    const { payment, order } = await stored(first.paymentId);
    expect(payment.status).toBe('processing');
    expect(order.paymentIds).toEqual([first.paymentId]);
  });

  it('an Alipay QR nobody scanned, then the phone (wap): the QR cannot be closed and stays payable; paid anyway after the phone paid, it is late and refunded', async () => {
    const first = await started('alipay', 'qr');

    const switched = await switchTo(first.paymentId, 'wap');
    const second = switched.payment.paymentId;
    expect(switched.action.type).toBe('redirect');
    const { payment: old } = await stored(first.paymentId);
    expect(old.status).toBe('cancelled');
    expect(old.logs.at(-1)?.reason).toContain('close at the provider: no_trade');
    // The QR is still there to be scanned.
    expect(sandboxes.alipay.checkout(first.paymentId)?.state).toBe('pending');

    await sandboxes.alipay.openPayUrl(switched.payUrl!);
    await applyNotification(env.deps, sandboxes.alipay.successNotification(second));
    expect((await stored(second)).order).toMatchObject({ status: 'paid', paidByPaymentId: second });

    // Someone scans the old QR on the desktop and pays it.
    await applyNotification(env.deps, sandboxes.alipay.successNotification(first.paymentId));

    const { payment: late, order } = await stored(first.paymentId);
    expect(late).toMatchObject({ status: 'succeeded', latePayment: true, refundRequired: true });
    expect(order).toMatchObject({ status: 'paid', paidByPaymentId: second });
    expect(env.metrics.total(Metric.DuplicatePayment, { provider: 'alipay' })).toBe(1);
    const refunds = await env.repo.getRefunds(late.refundIds ?? []);
    expect(refunds.map((refund) => [refund.amount, refund.origin])).toEqual([[late.amount, 'auto']]);
  });
});

describe('handing a checkout out again', () => {
  it('an H5 h5_url lives 5 minutes: a start after that asks WeChat again under the same out_trade_no for a fresh one', async () => {
    const first = await started('wechat', 'h5');
    const url = ({ action }: { action: PayAction }) => (action.type === 'redirect' ? action.url : action.type);

    env.clock.advanceMinutes(2);
    const soon = await switchTo(first.paymentId, 'h5');
    expect(soon.payment.paymentId).toBe(first.paymentId);
    expect(url(soon)).toBe(url(first.answer));

    env.clock.advanceMinutes(4);
    const later = await switchTo(first.paymentId, 'h5');
    expect(later.payment.paymentId).toBe(first.paymentId);
    expect(url(later)).not.toBe(url(first.answer));
    expect(sandboxes.wechat.requests.filter((operation) => operation === 'create')).toHaveLength(2);
    expect((await stored(first.paymentId)).order.paymentIds).toEqual([first.paymentId]);
  });
});

describe('the pay URL is kept once', () => {
  it('an Alipay page checkout, whose handle is its 1 KB signed pay URL, keeps it only as payUrl; a repeated start hands the same URL out', async () => {
    const first = await started('alipay', 'page');

    const { payment } = await stored(first.paymentId);
    expect(payment.payUrl).toBe(first.answer.payUrl);
    expect(payment.payUrl!.length).toBeGreaterThan(900);
    expect(payment.checkout).not.toHaveProperty('ref');
    const again = await switchTo(first.paymentId, 'page');
    expect(again.payUrl).toBe(first.answer.payUrl);
    expect(again.payment.paymentId).toBe(first.paymentId);
  });

  it('a JSAPI checkout, whose handle is no URL (prepay_id), keeps its handle', async () => {
    const first = await started('wechat', 'jsapi');
    const { payment } = await stored(first.paymentId);
    expect(payment.payUrl).toBeUndefined();
    expect(payment.checkout?.ref).toMatch(/^wx/);
  });
});

describe('prepay_id lives 2 hours', () => {
  it('a start within them answers the same prepay_id without asking WeChat; after them it asks again under the same out_trade_no', async () => {
    env.deps.timing = { ...env.deps.timing, ttlMinutes: 240 };
    const [created] = await createOrders(env.deps, {
      customerId: CUSTOMER,
      orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
      method: 'wechat',
      ttlMinutes: 240,
    });
    const { paymentId } = created!.payment;
    const pkg = ({ action }: { action: PayAction }) => (action.type === 'wechat-jsapi' ? action.params.package : '');
    const creates = () => sandboxes.wechat.requests.filter((operation) => operation === 'create').length;
    const first = await switchTo(paymentId, 'jsapi');

    env.clock.advanceMinutes(110);
    const within = await switchTo(paymentId, 'jsapi');
    expect(pkg(within)).toBe(pkg(first));
    expect(creates()).toBe(1);

    env.clock.advanceMinutes(11);
    const after = await switchTo(paymentId, 'jsapi');
    expect(after.payment.paymentId).toBe(paymentId);
    expect(pkg(after)).toMatch(/^prepay_id=wx/);
    expect(pkg(after)).not.toBe(pkg(first));
    expect(creates()).toBe(2);
    // The same order at WeChat: its prepay_id is the new one, the old one no longer opens the cashier.
    expect(`prepay_id=${sandboxes.wechat.checkout(paymentId)?.scene?.prepayId}`).toBe(pkg(after));
    const { payment, order } = await stored(paymentId);
    expect(payment.checkout?.ref).toBe(pkg(after).replace('prepay_id=', ''));
    expect(order.paymentIds).toEqual([paymentId]);
  });
});

describe("a provider's refusal to create the checkout", () => {
  it('NO_AUTH: 503 SCENE_NOT_ENABLED (not retryable), alarmed; nothing written, the payment starts in another scene', async () => {
    const [created] = await createOrders(env.deps, {
      customerId: CUSTOMER,
      orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
      method: 'wechat',
    });
    const { paymentId } = created!.payment;
    const before = (await stored(paymentId)).payment;
    sandboxes.wechat.refuse('NO_AUTH', { paymentId });

    await expect(switchTo(paymentId, 'h5')).rejects.toMatchObject({
      code: 'SCENE_NOT_ENABLED',
      details: { method: 'wechat', scene: 'h5', providerCode: 'NO_AUTH', retryable: false },
    });

    expect((await stored(paymentId)).payment).toEqual(before);
    expect(env.metrics.total(Metric.SceneNotEnabled, { provider: 'wechat' })).toBe(1);
    await expect(switchTo(paymentId, 'native')).resolves.toMatchObject({
      payment: { paymentId, status: 'processing', scene: 'native' },
    });
  });

  it('refused for the new scene of a switch (NO_AUTH on H5): the old JSAPI checkout stays open and payable, here and at WeChat', async () => {
    const first = await started('wechat', 'jsapi');
    sandboxes.wechat.refuse('NO_AUTH');

    await expect(switchTo(first.paymentId, 'h5')).rejects.toMatchObject({ code: 'SCENE_NOT_ENABLED' });

    const { payment, order } = await stored(first.paymentId);
    expect(payment).toMatchObject({ status: 'processing', scene: 'jsapi' });
    expect(order).toMatchObject({ openPaymentId: first.paymentId, paymentIds: [first.paymentId] });
    expect(sandboxes.wechat.checkout(first.paymentId)?.state).toBe('pending');
    expect(sandboxes.wechat.requests).not.toContain('close');
  });

  it('ORDERPAID on a renewal (paid at WeChat, the callback lost): WeChat is asked, the payment applied as paid, 409 PAYMENT_ALREADY_PAID', async () => {
    const { paymentId, orderId } = await started('wechat', 'h5');
    sandboxes.wechat.decide(paymentId, 'paid');
    env.clock.advanceMinutes(6); // the h5_url has died: the next start re-enters, and WeChat says ORDERPAID

    await expect(switchTo(paymentId, 'h5')).rejects.toMatchObject({
      code: 'PAYMENT_ALREADY_PAID',
      details: { providerCode: 'ORDERPAID', payment: { paymentId, status: 'succeeded' } },
    });

    const { payment, order } = await stored(paymentId);
    expect(payment.status).toBe('succeeded');
    expect(order).toMatchObject({ orderId, status: 'paid', paidByPaymentId: paymentId });
    expect(sandboxes.wechat.requests.slice(-2)).toEqual(['create', 'query']);
  });

  it('ORDER_CLOSED on a renewal (closed at WeChat): WeChat is asked, the payment cancelled as the order is there, the order free for a new payment, 409 PAYMENT_CLOSED', async () => {
    const { paymentId } = await started('wechat', 'h5');
    sandboxes.wechat.decide(paymentId, 'closed');
    env.clock.advanceMinutes(6);

    await expect(switchTo(paymentId, 'h5')).rejects.toMatchObject({
      code: 'PAYMENT_CLOSED',
      details: { providerCode: 'ORDER_CLOSED', payment: { paymentId, status: 'cancelled' } },
    });

    const { payment, order } = await stored(paymentId);
    expect(payment.status).toBe('cancelled');
    expect(order.status).toBe('pending');
    expect(order.openPaymentId).toBeUndefined();
  });
});

describe('the Alipay QR close trap at expiry', () => {
  it('is not expired on a close that found no trade: it waits for the time_expire signed into the QR, then a payment that arrives anyway is late', async () => {
    const { paymentId, expiresAt } = await started('alipay', 'qr');
    env.clock.set(new Date(Date.parse(expiresAt) + 1_000));

    const early = await sweepAndSettle(env.deps);

    expect(early.actions).not.toHaveProperty('expired');
    expect((await stored(paymentId)).payment.status).toBe('processing');

    env.clock.set(new Date(Date.parse(expiresAt) + DEFAULT_SWEEPER.expiryGraceSeconds * 1000 + 1_000));
    const later = await sweepAndSettle(env.deps);
    expect(later.actions).toMatchObject({ expired: 1 });
    const expired = (await stored(paymentId)).payment;
    expect(expired.status).toBe('expired');
    expect(expired.logs.at(-1)?.reason).toContain('no trade to close');

    await applyNotification(env.deps, sandboxes.alipay.successNotification(paymentId));
    const { payment, order } = await stored(paymentId);
    expect(payment).toMatchObject({ status: 'succeeded', latePayment: true });
    expect(order).toMatchObject({ status: 'paid', paidByPaymentId: paymentId });
    expect(env.metrics.total(Metric.LatePayment, { provider: 'alipay' })).toBe(1);
  });
});

describe('trade_type', () => {
  it('is recorded from the callback; a JSAPI payment that comes back NATIVE is applied, noted and alarmed', async () => {
    const { paymentId } = await started('wechat', 'jsapi');
    const notification = sandboxes.wechat.successNotification(paymentId);
    expect(notification).toMatchObject({ tradeType: 'JSAPI', scene: 'jsapi' });

    await applyNotification(env.deps, { ...notification, tradeType: 'NATIVE', scene: 'native' });

    const { payment } = await stored(paymentId);
    expect(payment).toMatchObject({ status: 'succeeded', tradeType: 'NATIVE', scene: 'jsapi' });
    expect(payment.logs.at(-1)?.reason).toContain('trade type NATIVE is the native scene, started as jsapi');
    expect(env.metrics.total(Metric.TradeTypeMismatch, { provider: 'wechat' })).toBe(1);
  });
});
