import { beforeEach, describe, expect, it } from 'vitest';
import { applyNotification } from '../../src/core/payments/notifications';
import { addPayment, createOrders } from '../../src/core/orders/orders';
import { cancelPayment } from '../../src/core/payments/payments';
import { startPayment } from '../../src/core/payments/start';
import { applyRefundNotification, UnknownRefundError } from '../../src/core/refunds/refund-notifications';
import { requestRefund } from '../../src/core/refunds/refunds';
import { refundsOfPayment } from '../../src/core/refunds/views';
import { REFUND_STUCK_SECONDS } from '../../src/core/sweeper/in-flight';
import { Metric } from '../../src/core/kernel/metric-names';
import { sweepAndSettle } from '../support/sweep';
import type { RefundNotification } from '../../src/domain/notification';
import { createBankProvider } from '../../src/providers/bank';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { paidPurchase, payAtProvider, refundSandbox, type RefundSandbox } from '../support/refund-fixtures';
import { sandboxKeys } from '../support/sweeper-fixtures';
import { itemsOfKind } from '../support/api-fixtures';

const keys = sandboxKeys();
let env: TestEnv;
let wechat: RefundSandbox;
let alipay: RefundSandbox;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  wechat = refundSandbox('wechat', keys, env.clock.now);
  alipay = refundSandbox('alipay', keys, env.clock.now);
  env.deps.providers = {
    wechat: wechat.provider,
    alipay: alipay.provider,
    bank: createBankProvider({ config: keys.bank.merchant }),
  };
});

const eventTypes = async (paymentId: string) =>
  (await env.drainedBus()).published.filter((event) => event.detail.paymentId === paymentId).map((event) => event.type);
const stock = async (sku: string) => (await env.repo.getProducts([sku])).get(sku)!.stock;

describe('reserving refunds', () => {
  it('20 concurrent refunds of 10% each: exactly 10 accepted, the rest REFUND_EXCEEDS_REFUNDABLE, refundable never negative', async () => {
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat', 'cust-1', 10);
    const tenth = amount / 10;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => requestRefund(env.deps, { paymentId, amount: tenth, origin: 'admin' })),
    );
    const accepted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as { code: string }] : [],
    );
    expect(accepted).toHaveLength(10);
    expect(refused.map((error) => error.code)).toEqual(Array(10).fill('REFUND_EXCEEDS_REFUNDABLE'));
    const payment = (await env.repo.getPayment(paymentId))!;
    expect(payment.refundReserved).toBe(amount);
    expect(payment.refundIds).toHaveLength(10);
    const listed = await refundsOfPayment(env.deps, payment);
    expect(listed.refundableAmount).toBe(0);
    expect(listed.refunds.map((refund) => refund.status)).toEqual(Array(10).fill('processing'));
    // The provider holds exactly the ten, and refuses nothing: no refund reached it twice.
    expect(wechat.store.refunds.list(paymentId)).toHaveLength(10);
    expect(wechat.store.refunds.refundableAmount(paymentId)).toBe(0);
  });

  it('refuses a payment not succeeded, a refund above what is left, and writes nothing for them', async () => {
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat');
    await requestRefund(env.deps, { paymentId, amount: amount - 1, origin: 'admin' });
    await expect(requestRefund(env.deps, { paymentId, amount: 2, origin: 'admin' })).rejects.toMatchObject({
      code: 'REFUND_EXCEEDS_REFUNDABLE',
      details: { refundableAmount: 1 },
    });
    const payment = (await env.repo.getPayment(paymentId))!;
    expect(payment.refundIds).toHaveLength(1);
    const refunds = (await env.scan()).filter((item) => item.kind === 'refund');
    expect(refunds).toHaveLength(1);
  });
});

describe('a refund through the provider', () => {
  it('a full refund: processing at the provider, then its notification refunds payment and order, with its events', async () => {
    const { paymentId, orderId, amount } = await paidPurchase(env, wechat, 'wechat');
    const refund = await requestRefund(env.deps, { paymentId, origin: 'admin', reason: 'customer changed their mind' });
    expect(refund).toMatchObject({ amount, status: 'processing' });
    wechat.settleAll(paymentId);
    const [notification] = wechat.notifications;
    expect(notification).toMatchObject({ refundId: refund.refundId, outcome: 'succeeded' });
    expect(await applyRefundNotification(env.deps, notification!)).toBe('applied');
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'succeeded' });
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ status: 'succeeded', refundedAmount: amount });
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'refunded', refundedAmount: amount });
    expect(await eventTypes(paymentId)).toEqual(
      expect.arrayContaining(['RefundRequested', 'RefundSucceeded', 'OrderRefunded']),
    );
  });

  it('the same notification five times at once is applied once', async () => {
    const { paymentId, orderId, amount } = await paidPurchase(env, wechat, 'wechat');
    const refund = await requestRefund(env.deps, { paymentId, amount: 100, origin: 'admin' });
    wechat.settleAll(paymentId);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => applyRefundNotification(env.deps, wechat.notifications[0]!)),
    );
    expect(results.filter((result) => result === 'applied')).toHaveLength(1);
    expect(results.filter((result) => result === 'duplicate')).toHaveLength(4);
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ refundedAmount: 100 });
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'paid', refundedAmount: 100 });
    expect((await eventTypes(paymentId)).filter((type) => type === 'RefundSucceeded')).toHaveLength(1);
    expect(amount).toBeGreaterThan(100);
    expect(refund.status).toBe('processing');
  });

  it('restocks the items in the same transaction as the success, and only then', async () => {
    const { paymentId } = await paidPurchase(env, wechat, 'wechat', 'cust-1', 3);
    const before = await stock('TEA-001');
    await requestRefund(env.deps, { paymentId, origin: 'admin', restock: [{ sku: 'TEA-001', quantity: 2 }] });
    expect(await stock('TEA-001')).toBe(before);
    wechat.settleAll(paymentId);
    await applyRefundNotification(env.deps, wechat.notifications[0]!);
    expect(await stock('TEA-001')).toBe(before + 2);
  });

  it('restocks a sharded product to the shards its order took from, only on success', async () => {
    const sku = 'SALE-001';
    await env.seedProducts([{ sku, name: 'Flash-sale kettle', price: 9_900, stock: 8, stockShards: 4 }]);
    const shards = async () =>
      (await itemsOfKind(env, 'stockShard'))
        .filter((item) => item.sku === sku)
        .sort((a, b) => (a.shard as number) - (b.shard as number))
        .map((item) => item.available as number);
    const { paymentId, orderId } = await paidPurchase(env, wechat, 'wechat', 'cust-1', 3, sku);
    const taken = (await env.repo.getOrder(orderId))!.stockTaken![sku]!;
    const before = await shards();
    expect(before.reduce((sum, units) => sum + units, 0)).toBe(5);

    await requestRefund(env.deps, { paymentId, origin: 'admin', restock: [{ sku, quantity: 2 }] });
    expect(await shards()).toEqual(before);
    wechat.settleAll(paymentId);
    await applyRefundNotification(env.deps, wechat.notifications[0]!);

    const after = await shards();
    expect(after.reduce((sum, units) => sum + units, 0)).toBe(7);
    // Each unit went back to a shard the order took from, never more than it took there.
    after.forEach((units, shard) => {
      const tookHere = taken.filter((take) => take.shard === shard).reduce((sum, take) => sum + take.quantity, 0);
      expect(units - before[shard]!, `shard ${shard}`).toBeGreaterThanOrEqual(0);
      expect(units - before[shard]!, `shard ${shard}`).toBeLessThanOrEqual(tookHere);
    });
  });

  // Fixed defect: restock was capped per refund, so two partial refunds of a 2-unit order each put 2 units back.
  it('restock is capped by the order: two refunds cannot return more than it took, not even racing', async () => {
    const { paymentId, orderId, amount } = await paidPurchase(env, wechat, 'wechat', 'cust-1', 2);
    const before = await stock('TEA-001');
    await requestRefund(env.deps, {
      paymentId,
      amount: amount / 4,
      origin: 'admin',
      restock: [{ sku: 'TEA-001', quantity: 2 }],
    });
    await expect(
      requestRefund(env.deps, {
        paymentId,
        amount: amount / 4,
        origin: 'admin',
        restock: [{ sku: 'TEA-001', quantity: 2 }],
      }),
    ).rejects.toMatchObject({
      code: 'RESTOCK_EXCEEDS_ORDER',
      details: { sku: 'TEA-001', requested: 2, returnable: 0 },
    });
    await expect(
      requestRefund(env.deps, {
        paymentId,
        amount: amount / 4,
        origin: 'admin',
        restock: [{ sku: 'CUP-002', quantity: 1 }],
      }),
    ).rejects.toMatchObject({
      code: 'RESTOCK_EXCEEDS_ORDER',
    });
    expect((await env.repo.getPayment(paymentId))!.refundIds).toHaveLength(1); // the refused ones wrote nothing
    wechat.settleAll(paymentId);
    for (const notification of wechat.notifications) await applyRefundNotification(env.deps, notification);
    expect(await stock('TEA-001')).toBe(before + 2);
    expect((await env.repo.getOrder(orderId))!.restockReserved).toEqual({ 'TEA-001': 2 });

    // Racing: five refunds each returning 1 unit of another 2-unit order; two win the units.
    const racing = await paidPurchase(env, wechat, 'wechat', 'cust-2', 2);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        requestRefund(env.deps, {
          paymentId: racing.paymentId,
          amount: 1,
          origin: 'admin',
          restock: [{ sku: 'TEA-001', quantity: 1 }],
        }),
      ),
    );
    const refused = results.flatMap((result) =>
      result.status === 'rejected' ? [(result.reason as { code: string }).code] : [],
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    expect(new Set(refused)).toEqual(new Set(['RESTOCK_EXCEEDS_ORDER']));
    expect((await env.repo.getOrder(racing.orderId))!.restockReserved).toEqual({ 'TEA-001': 2 });
  });

  it('a failed refund gives its restock back to be asked again', async () => {
    const failing = refundSandbox('wechat', keys, env.clock.now, 'fail');
    env.deps.providers.wechat = failing.provider;
    const { paymentId, orderId } = await paidPurchase(env, failing, 'wechat', 'cust-1', 2);
    await requestRefund(env.deps, {
      paymentId,
      amount: 1,
      origin: 'admin',
      restock: [{ sku: 'TEA-001', quantity: 2 }],
    });
    failing.settleAll(paymentId);
    await applyRefundNotification(env.deps, failing.notifications[0]!);
    expect((await env.repo.getOrder(orderId))!.restockReserved).toEqual({ 'TEA-001': 0 });
    env.deps.providers.wechat = wechat.provider;
    await expect(
      requestRefund(env.deps, { paymentId, amount: 1, origin: 'admin', restock: [{ sku: 'TEA-001', quantity: 2 }] }),
    ).resolves.toMatchObject({
      restock: [{ sku: 'TEA-001', quantity: 2 }],
    });
  });

  it('a definite refusal fails the refund and frees its amount; a failed refund is never retried', async () => {
    const failing = refundSandbox('wechat', keys, env.clock.now, 'fail');
    env.deps.providers.wechat = failing.provider;
    const { paymentId, amount } = await paidPurchase(env, failing, 'wechat');
    const refund = await requestRefund(env.deps, { paymentId, origin: 'admin' });
    failing.settleAll(paymentId);
    await applyRefundNotification(env.deps, failing.notifications[0]!);
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'failed' });
    expect((await refundsOfPayment(env.deps, (await env.repo.getPayment(paymentId))!)).refundableAmount).toBe(amount);
    expect(await eventTypes(paymentId)).toContain('RefundFailed');
  });

  it('a lost notification: the sweeper queries the processing refund and settles it', async () => {
    const { paymentId, orderId } = await paidPurchase(env, wechat, 'wechat');
    const refund = await requestRefund(env.deps, { paymentId, origin: 'admin' });
    wechat.settleAll(paymentId); // its notification is never delivered
    env.clock.advanceMinutes(2);
    await sweepAndSettle(env.deps);
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'succeeded' });
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'refunded' });
  });

  it('the age of the oldest open refund is read by every sweeper run, past the stuck threshold while it waits, 0 once it ends', async () => {
    const { paymentId } = await paidPurchase(env, wechat, 'wechat');
    const refund = await requestRefund(env.deps, { paymentId, origin: 'admin' });
    const oldest = () => env.metrics.values(Metric.OldestOpenRefundAgeSeconds).at(-1);

    env.clock.advanceMinutes(25 * 60); // the provider keeps answering PROCESSING
    await sweepAndSettle(env.deps);
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'processing' });
    expect(oldest()).toBe(25 * 3600);
    expect(oldest()).toBeGreaterThan(REFUND_STUCK_SECONDS);

    wechat.settleAll(paymentId);
    env.clock.advanceMinutes(120);
    await sweepAndSettle(env.deps);
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'succeeded' });
    expect(oldest()).toBe(0);
  });

  it('Alipay: a refund succeeds in the call itself; its cumulative notification is then a duplicate of nothing', async () => {
    const { paymentId, orderId, amount } = await paidPurchase(env, alipay, 'alipay');
    const first = await requestRefund(env.deps, { paymentId, amount: 300, origin: 'admin' });
    expect(first.status).toBe('succeeded');
    const notification = alipay.notifications.at(-1)!;
    expect(notification.refundedTotal).toBe(300);
    expect(await applyRefundNotification(env.deps, notification)).toBe('unchanged');
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ refundedAmount: 300 });
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'paid', refundedAmount: 300 });
    expect(amount).toBeGreaterThan(300);
  });
});

describe('never twice at the provider', () => {
  it('a refund whose answer was lost stays pending (never failed) and is sent again under the same id: one refund at the provider', async () => {
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat');
    // Every attempt of the call (the provider sender tries 3 times, always under the same id) loses its answer.
    wechat.loseAnswers = 3;
    const refund = await requestRefund(env.deps, { paymentId, origin: 'admin' });
    expect(refund.status).toBe('pending');
    expect(wechat.store.refunds.list(paymentId)).toHaveLength(1); // the provider did get it
    env.clock.advanceMinutes(2);
    await sweepAndSettle(env.deps);
    expect(await env.repo.getRefund(refund.refundId)).toMatchObject({ status: 'processing' });
    expect(wechat.store.refunds.list(paymentId)).toHaveLength(1);
    expect(wechat.store.refunds.refundableAmount(paymentId)).toBe(0);
    expect(wechat.refundCalls).toBe(4);
    expect(amount).toBeGreaterThan(0);
  });

  it('refunds of one payment reach the provider REFUND_SPACING_SECONDS apart: the second waits pending for the sweeper', async () => {
    env.deps.refunds = { ...env.deps.refunds, spacingSeconds: 60 };
    const { paymentId } = await paidPurchase(env, wechat, 'wechat');
    const first = await requestRefund(env.deps, { paymentId, amount: 100, origin: 'admin' });
    const second = await requestRefund(env.deps, { paymentId, amount: 200, origin: 'admin' });
    expect([first.status, second.status]).toEqual(['processing', 'pending']);
    expect(second.nextAttemptAt).toBe(new Date(env.clock.now().getTime() + 60_000).toISOString());
    expect(wechat.store.refunds.list(paymentId)).toHaveLength(1);
    env.clock.advance(59_000);
    await sweepAndSettle(env.deps);
    expect(wechat.store.refunds.list(paymentId)).toHaveLength(1);
    env.clock.advance(1_000);
    await sweepAndSettle(env.deps);
    expect(wechat.store.refunds.list(paymentId).map((r) => r.amount)).toEqual([100, 200]);
    expect(await env.repo.getRefund(second.refundId)).toMatchObject({ status: 'processing' });
  });
});

describe('notifications of refunds we did not (yet) see', () => {
  it('a notification naming one of our refund ids before its record is visible is retried, not lost', async () => {
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat');
    const early: RefundNotification = {
      type: 'refund',
      provider: 'wechat',
      eventId: 'evt-early',
      refundId: 'ref_notrecordedyet0000000000',
      paymentId,
      outcome: 'succeeded',
      amount,
      paymentAmount: amount,
      currency: 'CNY',
      occurredAt: env.clock.now().toISOString(),
      providerStatus: 'SUCCESS',
      via: 'callback',
    };
    await expect(applyRefundNotification(env.deps, early)).rejects.toBeInstanceOf(UnknownRefundError);
    expect(await env.repo.getNotificationRecord('wechat', 'evt-early')).toBeUndefined();
    expect(await env.repo.getPayment(paymentId)).not.toHaveProperty('refundedAmount');
  });

  it('a console refund (no refund of ours) is recorded as external, followed by payment and order, and alarmed', async () => {
    const { paymentId, orderId } = await paidPurchase(env, alipay, 'alipay');
    const opened = alipay.store.refunds.open(
      { paymentId, amount: 500, notify: true, settle: 'now' } as never,
      env.clock.now(),
    );
    expect(opened.result).toBe('opened');
    const notification = alipay.notifications.at(-1)!;
    expect(notification.refundId).toBeUndefined();
    expect(await applyRefundNotification(env.deps, notification)).toBe('applied');
    const payment = (await env.repo.getPayment(paymentId))!;
    expect(payment).toMatchObject({ refundedAmount: 500, refundReserved: 500 });
    const [external] = await env.repo.getRefunds(payment.refundIds!);
    expect(external).toMatchObject({ external: true, status: 'succeeded', amount: 500 });
    expect(await env.repo.getOrder(orderId)).toMatchObject({ refundedAmount: 500 });
    expect(env.metrics.total('ExternalRefund')).toBe(1);
    expect(await applyRefundNotification(env.deps, { ...notification, eventId: 'again' })).toBe('unchanged');
  });
});

describe('automatic refunds', () => {
  it('money taken twice (an extra capture) is refunded by its own refund, leaving the payment itself refundable', async () => {
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat');
    const again = {
      provider: 'wechat' as const,
      eventId: 'evt-second-capture',
      paymentId,
      providerTransactionId: 'tx-second',
      outcome: 'succeeded' as const,
      amount,
      currency: 'CNY' as const,
      occurredAt: env.clock.now().toISOString(),
      providerStatus: 'SUCCESS',
      via: 'callback' as const,
    };
    expect(await applyNotification(env.deps, again)).toBe('extra_capture');
    const payment = (await env.repo.getPayment(paymentId))!;
    const [refund] = await env.repo.getRefunds(payment.refundIds ?? []);
    expect(refund).toMatchObject({ origin: 'auto', status: 'pending', amount, captureTransactionId: 'tx-second' });
    expect(payment.extraCaptures).toEqual([
      expect.objectContaining({ providerTransactionId: 'tx-second', refundId: refund!.refundId }),
    ]);
    expect((await refundsOfPayment(env.deps, payment)).refundableAmount).toBe(amount);
    expect(env.metrics.total('RefundRequested', { origin: 'auto' })).toBe(1);
    // A redelivery of the same notification makes no second refund.
    expect(await applyNotification(env.deps, { ...again, eventId: 'evt-second-capture-resent' })).toBe('unchanged');
    expect((await env.repo.getPayment(paymentId))!.refundIds).toHaveLength(1);
  });

  it('AUTO_REFUND_UNUSABLE_PAYMENTS=false: the capture is flagged refundRequired and left for a person', async () => {
    env.deps.refunds = { ...env.deps.refunds, autoRefundUnusablePayments: false };
    const { paymentId, amount } = await paidPurchase(env, wechat, 'wechat');
    const again = {
      provider: 'wechat' as const,
      eventId: 'evt-capture',
      paymentId,
      providerTransactionId: 'tx-2',
      outcome: 'succeeded' as const,
      amount,
      currency: 'CNY' as const,
      occurredAt: env.clock.now().toISOString(),
      providerStatus: 'SUCCESS',
      via: 'callback' as const,
    };
    expect(await applyNotification(env.deps, again)).toBe('extra_capture');
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ refundRequired: true });
    expect((await env.repo.getPayment(paymentId))!.refundIds).toBeUndefined();
    expect(await eventTypes(paymentId)).not.toContain('RefundRequested');
  });

  it('a duplicate payment is refunded by itself: DuplicatePaymentDetected and RefundRequested on the bus, sent by the sweeper', async () => {
    const [created] = await createOrders(env.deps, {
      customerId: 'cust-1',
      orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
      method: 'wechat',
    });
    const first = created!.payment.paymentId;
    await startPayment(env.deps, { customerId: 'cust-1', paymentId: first });
    await cancelPayment(env.deps, { customerId: 'cust-1', paymentId: first });
    const again = await addPayment(env.deps, {
      customerId: 'cust-1',
      orderId: created!.order.orderId,
      method: 'wechat',
    });
    await startPayment(env.deps, { customerId: 'cust-1', paymentId: again.paymentId });
    await payAtProvider(env, wechat, 'wechat', again.paymentId);
    // The customer had paid the first one too, just before it was cancelled: money the order cannot use.
    await payAtProvider(env, wechat, 'wechat', first);
    const payment = (await env.repo.getPayment(first))!;
    expect(payment.refundRequired).toBe(true);
    const [refund] = await env.repo.getRefunds(payment.refundIds ?? []);
    expect(refund).toMatchObject({ status: 'pending', origin: 'auto', amount: payment.amount });
    expect(await eventTypes(first)).toEqual(expect.arrayContaining(['DuplicatePaymentDetected', 'RefundRequested']));
    expect(wechat.store.refunds.list(first)).toHaveLength(0);
    await sweepAndSettle(env.deps);
    expect(await env.repo.getRefund(refund!.refundId)).toMatchObject({ status: 'processing' });
    expect(wechat.store.refunds.list(first)).toHaveLength(1);
    expect(await env.repo.getOrder(created!.order.orderId)).toMatchObject({
      status: 'paid',
      paidByPaymentId: again.paymentId,
    });
  });
});
