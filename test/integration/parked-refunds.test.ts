import { beforeEach, describe, expect, it } from 'vitest';
import { Metric } from '../../src/core/kernel/metric-names';
import { createOrders } from '../../src/core/orders/orders';
import { startPayment } from '../../src/core/payments/start';
import { reconcileDay, reconciliationReport } from '../../src/core/reconciliation/reconciliation';
import { applyRefundNotification } from '../../src/core/refunds/refund-notifications';
import { requestRefund } from '../../src/core/refunds/refunds';
import { sweepAndSettle } from '../support/sweep';
import { beijingTimeToIso, type BusinessDate } from '../../src/domain/bill';
import type { RefundNotification } from '../../src/domain/notification';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { paidPurchase, providerCheckout, refundSandbox, type RefundSandbox } from '../support/refund-fixtures';
import { sandboxKeys } from '../support/sweeper-fixtures';

/**
 * Refund notifications the books cannot hold, correctly signed by the provider (here its
 * sandbox, or a notification made as a hostile provider would sign it): never booked past the
 * payment or on a payment we do not hold as paid; parked for a person and the reconciliation.
 */

const keys = sandboxKeys();
const DAY: BusinessDate = '2026-11-27';
const at = (time: string, date: BusinessDate = DAY) => new Date(beijingTimeToIso(`${date} ${time}`));
let env: TestEnv;
let wechat: RefundSandbox;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  env.clock.set(at('10:00:00'));
  wechat = refundSandbox('wechat', keys, env.clock.now);
  env.deps.providers = { wechat: wechat.provider };
});

/** A refund WeChat reports made on its merchant console, for `amount` (as its verified notification reads). */
function consoleRefund(paymentId: string, amount: number, paymentAmount: number): RefundNotification {
  return {
    type: 'refund',
    provider: 'wechat',
    eventId: `evt-console-${paymentId}-${amount}`,
    paymentId,
    providerRefundId: `50300000${amount}`,
    outcome: 'succeeded',
    amount,
    paymentAmount,
    currency: 'CNY',
    occurredAt: env.clock.now().toISOString(),
    providerStatus: 'SUCCESS',
    via: 'callback',
  };
}

const differencesOf = async (date: BusinessDate) =>
  (await reconciliationReport(env.deps, date)).providers.flatMap((run) => run.differences);
const differenceEvents = async () =>
  (await env.drainedBus()).published.filter((event) => event.type === 'ReconciliationDifference');

describe('a refund notification for more than the payment has left', () => {
  // Fixed defect: recorded as an external refund, the payment showed 13,860 refunded of 9,900 paid.
  it('is parked, never booked: refunded stays within the payment and the order, a difference is recorded and alarmed', async () => {
    const { paymentId, orderId, amount } = await paidPurchase(env, wechat, 'wechat');
    const ninety = (amount * 9) / 10;
    await requestRefund(env.deps, { paymentId, amount: ninety, origin: 'admin' });
    wechat.settleAll(paymentId);
    await applyRefundNotification(env.deps, wechat.notifications[0]!);

    const notification = consoleRefund(paymentId, amount / 2, amount);
    expect(await applyRefundNotification(env.deps, notification)).toBe('parked');
    expect(await applyRefundNotification(env.deps, notification)).toBe('duplicate');

    expect(await env.repo.getPayment(paymentId)).toMatchObject({ refundedAmount: ninety, refundReserved: ninety });
    expect((await env.repo.getPayment(paymentId))!.refundIds).toHaveLength(1);
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'paid', refundedAmount: ninety });
    expect(await differencesOf(DAY)).toEqual([
      expect.objectContaining({
        kind: 'refund_exceeds_payment',
        paymentId,
        refundId: notification.providerRefundId,
        theirs: { status: 'SUCCESS', amount: amount / 2 },
        healed: false,
        notification,
      }),
    ]);
    expect(await differenceEvents()).toHaveLength(1);
    expect((await differenceEvents())[0]!.detail).not.toHaveProperty('notification');
    expect(env.metrics.total(Metric.RefundNotificationParked)).toBe(1);
  });

  it('the day’s reconciliation books it once the payment has room (our own refund failed), and not before', async () => {
    const failing = refundSandbox('wechat', keys, env.clock.now, 'fail');
    env.deps.providers.wechat = failing.provider;
    const { paymentId, amount } = await paidPurchase(env, failing, 'wechat');
    await requestRefund(env.deps, { paymentId, amount: amount - 100, origin: 'admin' }); // processing at the provider
    expect(await applyRefundNotification(env.deps, consoleRefund(paymentId, 500, amount))).toBe('parked');

    env.clock.set(at('10:30:00', '2026-11-28'));
    await reconcileDay(env.deps, { date: DAY, carryMinutes: 10, providers: ['wechat'] });
    expect((await differencesOf(DAY)).find((d) => d.kind === 'refund_exceeds_payment')).toMatchObject({
      healed: false,
    });
    expect(await env.repo.getPayment(paymentId)).not.toHaveProperty('refundedAmount');

    failing.settleAll(paymentId); // our refund is refused: its reservation is freed
    await applyRefundNotification(env.deps, failing.notifications[0]!);
    await reconcileDay(env.deps, { date: DAY, carryMinutes: 10, providers: ['wechat'] });
    expect((await differencesOf(DAY)).find((d) => d.kind === 'refund_exceeds_payment')).toMatchObject({
      healed: true,
      resolution: 'refund recorded as an external refund',
    });
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ refundedAmount: 500, refundReserved: 500 });
  });
});

describe('a refund notification for a payment we never saw succeed', () => {
  async function paidWithCallbackLost() {
    const [created] = await createOrders(env.deps, {
      customerId: 'cust-1',
      orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
      method: 'wechat',
    });
    const { paymentId, orderId, amount } = created!.payment;
    await startPayment(env.deps, { customerId: 'cust-1', paymentId });
    const checkout = await providerCheckout(env, wechat.store, 'wechat', paymentId);
    wechat.store.put({
      ...checkout,
      state: 'paid',
      transactionId: `tx-${paymentId}`,
      paidAt: env.clock.now().toISOString(),
    });
    return { paymentId, orderId, amount };
  }

  // Fixed defect: the refund was booked on the processing payment (refundedAmount 100 of nothing paid).
  it('is parked and no refund is booked; the payment is asked about at once; the reconciliation confirms it, then books the refund', async () => {
    const { paymentId, orderId, amount } = await paidWithCallbackLost();
    const opened = wechat.store.refunds.open(
      { paymentId, amount: 100, external: true, notify: true, settle: 'now' },
      env.clock.now(),
    );
    expect(opened.result).not.toBe('refused');
    const notification = wechat.notifications.at(-1)!;

    expect(await applyRefundNotification(env.deps, notification)).toBe('parked');
    const parked = (await env.repo.getPayment(paymentId))!;
    expect(parked).toMatchObject({ status: 'processing', nextQueryAt: env.clock.now().toISOString() });
    expect(parked).not.toHaveProperty('refundedAmount');
    expect(parked.refundIds).toBeUndefined();
    expect(await differencesOf(DAY)).toEqual([
      expect.objectContaining({ kind: 'refund_before_payment', paymentId, healed: false, notification }),
    ]);

    // The sweeper's next run asks WeChat, which says paid: the order is paid as after a late callback.
    env.clock.advanceMinutes(1);
    await sweepAndSettle(env.deps);
    expect(await env.repo.getOrder(orderId)).toMatchObject({ status: 'paid' });

    env.clock.set(at('10:30:00', '2026-11-28'));
    await reconcileDay(env.deps, { date: DAY, carryMinutes: 10, providers: ['wechat'] });
    expect((await differencesOf(DAY)).find((d) => d.kind === 'refund_before_payment')).toMatchObject({ healed: true });
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ status: 'succeeded', refundedAmount: 100 });
    expect(amount).toBeGreaterThan(100);
  });

  it('an expired payment the provider says was paid: the reconciliation applies the late success, then the refund', async () => {
    const { paymentId } = await paidWithCallbackLost();
    wechat.store.refunds.open({ paymentId, amount: 100, external: true, notify: true, settle: 'now' }, env.clock.now());
    // Expired in our books before the refund's news arrives (the sweeper's close failed to reach WeChat's paid trade).
    const payment = (await env.repo.getPayment(paymentId))!;
    await env.repo.commit([
      {
        kind: 'updatePayment',
        before: payment,
        after: {
          ...payment,
          status: 'expired',
          version: payment.version + 1,
          logs: [
            ...payment.logs,
            { at: env.clock.now().toISOString(), from: 'processing', to: 'expired', reason: 'test', source: 'sweeper' },
          ],
        },
      },
    ]);
    expect(await applyRefundNotification(env.deps, wechat.notifications.at(-1)!)).toBe('parked');
    expect((await env.repo.getPayment(paymentId))!.refundIds).toBeUndefined();

    env.clock.set(at('10:30:00', '2026-11-28'));
    await reconcileDay(env.deps, { date: DAY, carryMinutes: 10, providers: ['wechat'] });
    expect(await env.repo.getPayment(paymentId)).toMatchObject({
      status: 'succeeded',
      latePayment: true,
      refundedAmount: 100,
    });
    expect((await differencesOf(DAY)).filter((d) => !d.healed).map((d) => d.kind)).toEqual([]);
  });

  it('parked on the next day, the bill naming only the refund: the reconciliation asks WeChat about the payment itself, then books the refund', async () => {
    const { paymentId } = await paidWithCallbackLost();
    env.clock.set(at('09:00:00', '2026-11-28'));
    wechat.store.refunds.open({ paymentId, amount: 100, external: true, notify: true, settle: 'now' }, env.clock.now());
    expect(await applyRefundNotification(env.deps, wechat.notifications.at(-1)!)).toBe('parked');

    env.clock.set(at('10:30:00', '2026-11-29'));
    const day = (await reconcileDay(env.deps, { date: '2026-11-28', carryMinutes: 10, providers: ['wechat'] }))
      .providers[0]!;
    expect(
      day.differences.map(({ kind, healed }) => ({ kind, healed })).sort((a, b) => a.kind.localeCompare(b.kind)),
    ).toEqual([
      { kind: 'refund_before_payment', healed: true },
      { kind: 'refund_missing_in_ledger', healed: true },
    ]);
    expect(day.differences.find((d) => d.kind === 'refund_before_payment')?.resolution).toBe(
      "payment confirmed by the provider's query; refund recorded as an external refund",
    );
    expect(await env.repo.getPayment(paymentId)).toMatchObject({ status: 'succeeded', refundedAmount: 100 });
  });

  it('two notifications of one refund park it once; both are decided', async () => {
    const { paymentId } = await paidWithCallbackLost();
    wechat.store.refunds.open({ paymentId, amount: 100, external: true, notify: true, settle: 'now' }, env.clock.now());
    const notification = wechat.notifications.at(-1)!;
    expect(await applyRefundNotification(env.deps, notification)).toBe('parked');
    expect(await applyRefundNotification(env.deps, { ...notification, eventId: `${notification.eventId}-again` })).toBe(
      'parked',
    );
    expect(await differencesOf(DAY)).toHaveLength(1);
    expect(await applyRefundNotification(env.deps, { ...notification, eventId: `${notification.eventId}-again` })).toBe(
      'duplicate',
    );
  });
});
