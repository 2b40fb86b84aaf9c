import { beforeEach, describe, expect, it } from 'vitest';
import { createBankSimulator } from '../../local/sandbox/bank';
import type { CheckoutStore, SandboxResponse } from '../../local/sandbox/types';
import { Metric } from '../../src/core/kernel/metric-names';
import { applyNotification } from '../../src/core/payments/notifications';
import { addPayment, createOrders } from '../../src/core/orders/orders';
import { startPayment } from '../../src/core/payments/start';
import {
  DEFAULT_RECONCILIATION_TIMING,
  reconcileDay,
  reconciliationReport,
  scheduledRun,
  type ReconcileRequest,
} from '../../src/core/reconciliation/reconciliation';
import { applyRefundNotification } from '../../src/core/refunds/refund-notifications';
import { requestRefund } from '../../src/core/refunds/refunds';
import { beijingTimeToIso, type BusinessDate } from '../../src/domain/bill';
import { isRefundNotification, type RefundNotification } from '../../src/domain/notification';
import {
  differenceKey,
  type ProviderReconciliation,
  type ReconciliationDifference,
} from '../../src/domain/reconciliation';
import { createBankProvider } from '../../src/providers/bank';
import { bankSimulatorFetch, memoryCheckoutStore, toRawCallback } from '../support/bank-fixtures';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { customerApi } from '../support/api-fixtures';
import { ADMIN_SCOPE } from '../../src/http/routes';
import { retryFailedHeals } from '../../src/core/reconciliation/heal-retries';
import { providerCheckout, refundSandbox, type RefundSandbox } from '../support/refund-fixtures';
import { sandboxKeys } from '../support/sweeper-fixtures';

/**
 * The daily reconciliation against DynamoDB Local, with each provider's real merchant module wired
 * in-process to its simulator: WeChat (which has a payment query) and the bank (which has none,
 * its signed report vouching for a payment instead). Orders and payments are made through the
 * core, then the provider's books and ours are put out of step on purpose.
 */

const keys = sandboxKeys();
const bankSimulator = createBankSimulator(keys.bank.sandbox);
/** One attempt: a refused bank report fails at once rather than after the back-off. */
const ONE_ATTEMPT = { timeoutMs: 2_000, attempts: 1, backoffBaseMs: 0 };
const { carryMinutes } = DEFAULT_RECONCILIATION_TIMING;

const DAY: BusinessDate = '2026-11-27';
const NEXT_DAY: BusinessDate = '2026-11-28';
const at = (time: string, date: BusinessDate = DAY) => new Date(beijingTimeToIso(`${date} ${time}`));

type Method = 'wechat' | 'bank';

let env: TestEnv;
let wechat: RefundSandbox;
let bankStore: CheckoutStore;
/** When set, edits every answer of the bank's simulator on its way to the merchant module. */
let tamperBank: ((answer: SandboxResponse) => SandboxResponse) | undefined;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  env.clock.set(at('10:00:00'));
  wechat = refundSandbox('wechat', keys, env.clock.now);
  bankStore = memoryCheckoutStore();
  tamperBank = undefined;
  const bank = createBankProvider({
    config: keys.bank.merchant,
    fetch: (input, init) =>
      bankSimulatorFetch(bankSimulator, bankStore, env.clock.now(), {
        tamper: (answer) => tamperBank?.(answer) ?? answer,
      })(input, init),
    http: ONE_ATTEMPT,
  });
  env.deps.providers = { wechat: wechat.provider, bank };
});

const storeOf = (method: Method) => (method === 'wechat' ? wechat.store : bankStore);

/** An order of one tea, its payment started (WeChat holds a pending checkout from then on). */
async function startedOrder(method: Method) {
  const [created] = await createOrders(env.deps, {
    customerId: 'cust-1',
    orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
    method,
  });
  const { paymentId, orderId, amount } = created!.payment;
  await startPayment(env.deps, { customerId: 'cust-1', paymentId });
  return { paymentId, orderId, amount };
}

let transactions = 0;

/** The provider takes the money (its checkout paid at `paidAt`); nobody tells us. Answers the transaction id. */
async function paidAtProvider(method: Method, paymentId: string, paidAt = env.clock.now()): Promise<string> {
  const store = storeOf(method);
  const checkout = await providerCheckout(env, store, method, paymentId);
  const transactionId = `${method}_tx_${++transactions}`;
  store.put({ ...checkout, state: 'paid', transactionId, paidAt: paidAt.toISOString() });
  return transactionId;
}

/** The success callback reaching us, as the worker applies it. */
async function callback(method: Method, paymentId: string, transactionId: string) {
  const payment = (await env.repo.getPayment(paymentId))!;
  const result = await applyNotification(env.deps, {
    provider: method,
    eventId: `paid-${paymentId}-${transactionId}`,
    paymentId,
    providerTransactionId: transactionId,
    outcome: 'succeeded',
    amount: payment.amount,
    currency: 'CNY',
    occurredAt: env.clock.now().toISOString(),
    providerStatus: 'SUCCESS',
    via: 'callback',
  });
  expect(result).toBe('applied');
}

/** Paid on both sides, in step. */
async function paidOrder(method: Method) {
  const order = await startedOrder(method);
  const transactionId = await paidAtProvider(method, order.paymentId);
  await callback(method, order.paymentId, transactionId);
  return { ...order, transactionId };
}

const reconcile = (date: BusinessDate = DAY, request: Partial<ReconcileRequest> = {}) =>
  reconcileDay(env.deps, { date, carryMinutes, ...request });
const providerDay = async (date: BusinessDate, provider: Method): Promise<ProviderReconciliation | undefined> =>
  (await reconciliationReport(env.deps, date)).providers.find((run) => run.provider === provider);
const differenceEvents = async () =>
  (await env.drainedBus()).published.filter((event) => event.type === 'ReconciliationDifference');
const byKind = (differences: readonly ReconciliationDifference[]) =>
  [...differences].sort((a, b) => a.kind.localeCompare(b.kind));

/**
 * Every kind of difference on one WeChat day, each put there on purpose:
 * - `lost`: paid at WeChat, its callback lost (missing_in_ledger; WeChat's query confirms it);
 * - `ghost`: a success we applied that WeChat never took (missing_in_bill);
 * - `skewed`: WeChat took a fen less than we hold (amount_mismatch);
 * - `refunded`: our refund WeChat paid back, its notification lost (status_mismatch; the query confirms it);
 * - `console`: a refund made on WeChat's console that told nobody (refund_missing_in_ledger);
 * - `early`: a refund we hold as succeeded this morning that WeChat books on the next day (refund_missing_in_bill).
 */
async function wechatDayOutOfStep() {
  const lost = await startedOrder('wechat');
  const lostTransaction = await paidAtProvider('wechat', lost.paymentId);

  const ghost = await startedOrder('wechat');
  await callback('wechat', ghost.paymentId, 'wechat_tx_ghost');

  const skewed = await paidOrder('wechat');
  wechat.store.put({ ...wechat.store.get(skewed.paymentId)!, amount: skewed.amount - 1 });

  const refunded = await paidOrder('wechat');
  const refund = await requestRefund(env.deps, { paymentId: refunded.paymentId, amount: 1_000, origin: 'admin' });
  wechat.settleAll(refunded.paymentId, 'succeeded');

  const consoleRefunded = await paidOrder('wechat');
  const consoleRefund = wechat.store.refunds.open(
    { paymentId: consoleRefunded.paymentId, amount: 800, external: true, notify: false, settle: 'now' },
    env.clock.now(),
  );
  if (consoleRefund.result === 'refused') throw new Error(`console refund refused: ${consoleRefund.refusal}`);

  const early = await paidOrder('wechat');
  const earlyRefund = await requestRefund(env.deps, { paymentId: early.paymentId, amount: 500, origin: 'admin' });
  const [atWechat] = wechat.store.refunds.list(early.paymentId);
  wechat.store.refunds.settle(early.paymentId, atWechat!.key, at('00:00:30', NEXT_DAY), 'succeeded');
  const notification = wechat.notifications.find((candidate) => candidate.refundId === earlyRefund.refundId)!;
  expect(await applyRefundNotification(env.deps, { ...notification, occurredAt: at('10:05:00').toISOString() })).toBe(
    'applied',
  );

  return {
    lost,
    lostTransaction,
    ghost,
    skewed,
    refunded,
    refund,
    consoleRefunded,
    consoleRefund: consoleRefund.refund,
    early,
    earlyRefund,
  };
}

describe('reconcileDay: every kind of difference, healed where safe', () => {
  it('records each difference once with its event, heals the lost callback, the lost refund notification and the console refund', async () => {
    const day = await wechatDayOutOfStep();
    env.clock.set(at('10:30:00', NEXT_DAY));

    const report = await reconcile();

    const wechatDay = report.providers.find((run) => run.provider === 'wechat')!;
    expect(wechatDay).toMatchObject({
      provider: 'wechat',
      date: DAY,
      status: 'reconciled',
      billRows: 7,
      matched: 3,
      healed: 3,
      carried: 0,
    });
    expect(byKind(wechatDay.differences)).toEqual([
      expect.objectContaining({
        kind: 'amount_mismatch',
        paymentId: day.skewed.paymentId,
        ours: expect.objectContaining({ amount: day.skewed.amount }),
        theirs: expect.objectContaining({ amount: day.skewed.amount - 1 }),
        healed: false,
      }),
      expect.objectContaining({
        kind: 'missing_in_bill',
        paymentId: day.ghost.paymentId,
        providerTransactionId: 'wechat_tx_ghost',
        healed: false,
      }),
      expect.objectContaining({
        kind: 'missing_in_ledger',
        paymentId: day.lost.paymentId,
        providerTransactionId: day.lostTransaction,
        healed: true,
        resolution: "confirmed by the provider's query; notification applied",
      }),
      expect.objectContaining({
        kind: 'refund_missing_in_bill',
        refundId: day.earlyRefund.refundId,
        ours: { status: 'succeeded', amount: 500 },
        healed: false,
      }),
      expect.objectContaining({
        kind: 'refund_missing_in_ledger',
        paymentId: day.consoleRefunded.paymentId,
        refundId: day.consoleRefund.refundId ?? day.consoleRefund.key,
        healed: true,
        resolution: 'recorded as an external refund',
      }),
      expect.objectContaining({
        kind: 'status_mismatch',
        refundId: day.refund.refundId,
        ours: { status: 'processing', amount: 1_000 },
        healed: true,
        resolution: "confirmed by the provider's query",
      }),
    ]);
    // The bank had no activity: an empty signed report, reconciled with nothing to say.
    expect(report.providers.find((run) => run.provider === 'bank')).toMatchObject({
      status: 'reconciled',
      billRows: 0,
      matched: 0,
      differences: [],
    });

    // One event per difference, its id made of the provider, the day and the difference.
    expect((await differenceEvents()).map((event) => event.id).sort()).toEqual(
      wechatDay.differences.map((difference) => `reconciliation:wechat:${DAY}:${differenceKey(difference)}`).sort(),
    );
    expect(
      (await differenceEvents()).find((event) => event.detail.paymentId === day.lost.paymentId)?.detail,
    ).toMatchObject({
      orderId: day.lost.orderId,
      customerId: 'cust-1',
      method: 'wechat',
      date: DAY,
      kind: 'missing_in_ledger',
    });
    expect(env.metrics.total(Metric.ReconciliationDifference, { provider: 'wechat' })).toBe(6);
    expect(env.metrics.values(Metric.ReconciliationOpenDifferences, { provider: 'wechat' })).toEqual([3]);
    expect(env.metrics.values(Metric.ReconciliationOpenDifferences, { provider: 'bank' })).toEqual([0]);

    // Healed through the notification path: the order is paid, the refunds are what WeChat did.
    expect(await env.repo.getOrder(day.lost.orderId)).toMatchObject({ status: 'paid' });
    expect(await env.repo.getPayment(day.lost.paymentId)).toMatchObject({
      status: 'succeeded',
      providerTransactionId: day.lostTransaction,
    });
    expect(await env.repo.getRefund(day.refund.refundId)).toMatchObject({ status: 'succeeded' });
    const consolePayment = (await env.repo.getPayment(day.consoleRefunded.paymentId))!;
    expect(consolePayment).toMatchObject({ refundedAmount: 800 });
    const [external] = await env.repo.getRefunds(consolePayment.refundIds ?? []);
    expect(external).toMatchObject({ amount: 800, status: 'succeeded', external: true });
    // What no provider confirmed stays as it was.
    expect(await env.repo.getPayment(day.skewed.paymentId)).toMatchObject({
      status: 'succeeded',
      amount: day.skewed.amount,
    });
    expect(await env.repo.getPayment(day.ghost.paymentId)).toMatchObject({ status: 'succeeded' });
  });

  it('a second run of the day finds the same differences, publishes nothing new and heals nothing twice', async () => {
    const day = await wechatDayOutOfStep();
    env.clock.set(at('10:30:00', NEXT_DAY));
    const first = await reconcile();
    const events = (await differenceEvents()).length;
    const healedCount = env.metrics.total(Metric.ReconciliationHealed);
    const refundCalls = wechat.refundCalls;
    const externalRefunds = (await env.scan()).filter(
      (item) => item.kind === 'refund' && item.external === true,
    ).length;

    env.clock.set(at('11:30:00', NEXT_DAY));
    const second = await reconcile();

    const wechatOf = (report: typeof first) => report.providers.find((run) => run.provider === 'wechat')!;
    expect(byKind(wechatOf(second).differences)).toEqual(byKind(wechatOf(first).differences));
    // The healed rows now agree with the ledger.
    expect(wechatOf(second)).toMatchObject({ matched: 6, healed: 3, ranAt: at('11:30:00', NEXT_DAY).toISOString() });
    expect(await differenceEvents()).toHaveLength(events);
    expect(env.metrics.total(Metric.ReconciliationHealed)).toBe(healedCount);
    expect(wechat.refundCalls).toBe(refundCalls);
    expect((await env.scan()).filter((item) => item.kind === 'refund' && item.external === true)).toHaveLength(
      externalRefunds,
    );
    expect(await env.repo.getPayment(day.consoleRefunded.paymentId)).toMatchObject({ refundedAmount: 800 });
    expect(env.metrics.values(Metric.ReconciliationOpenDifferences, { provider: 'wechat' })).toEqual([3, 3]);
  });

  it('an open difference a later run no longer finds is settled, with no new event', async () => {
    const ghost = await startedOrder('wechat');
    await callback('wechat', ghost.paymentId, 'wechat_tx_ghost');
    env.clock.set(at('10:30:00', NEXT_DAY));
    await reconcile(DAY, { providers: ['wechat'] });
    expect((await providerDay(DAY, 'wechat'))?.differences).toEqual([
      expect.objectContaining({ kind: 'missing_in_bill', healed: false }),
    ]);

    // WeChat's books catch up (its bill for the day now has the payment).
    wechat.store.put({
      ...wechat.store.get(ghost.paymentId)!,
      state: 'paid',
      transactionId: 'wechat_tx_ghost',
      paidAt: at('10:00:00').toISOString(),
    });
    await reconcile(DAY, { providers: ['wechat'] });

    expect(await providerDay(DAY, 'wechat')).toMatchObject({
      matched: 1,
      healed: 1,
      differences: [
        expect.objectContaining({
          kind: 'missing_in_bill',
          healed: true,
          resolution: 'no longer differs on a later run',
        }),
      ],
    });
    expect(await differenceEvents()).toHaveLength(1);
    expect(env.metrics.values(Metric.ReconciliationOpenDifferences, { provider: 'wechat' })).toEqual([1, 0]);
  });
});

describe('reconcileDay: the bank, which has no query', () => {
  it('its signed report confirms a lost callback; a payment taken after its order was paid by another is refunded, as a late callback would be', async () => {
    const lost = await startedOrder('bank');
    const lostTransaction = await paidAtProvider('bank', lost.paymentId);

    // The first payment lapses unpaid as far as we know; the customer pays the order with a second one.
    const first = await startedOrder('bank');
    env.clock.set(at('12:00:00'));
    const second = await addPayment(env.deps, { customerId: 'cust-1', orderId: first.orderId });
    await startPayment(env.deps, { customerId: 'cust-1', paymentId: second.paymentId });
    await callback('bank', second.paymentId, await paidAtProvider('bank', second.paymentId));
    expect(await env.repo.getOrder(first.orderId)).toMatchObject({ status: 'paid', paidByPaymentId: second.paymentId });
    // ...but the bank took the first one too.
    await paidAtProvider('bank', first.paymentId, at('10:20:00'));

    env.clock.set(at('10:30:00', NEXT_DAY));
    const bankDay = (await reconcile(DAY, { providers: ['bank'] })).providers.find((run) => run.provider === 'bank')!;

    expect(bankDay).toMatchObject({ status: 'reconciled', billRows: 3, matched: 1, healed: 2 });
    expect(bankDay.differences).toHaveLength(2);
    expect(bankDay.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'missing_in_ledger',
          paymentId: lost.paymentId,
          healed: true,
          resolution: "confirmed by the provider's signed bill; notification applied",
        }),
        expect.objectContaining({
          kind: 'missing_in_ledger',
          paymentId: first.paymentId,
          healed: true,
          ours: expect.objectContaining({ status: 'expired' }),
        }),
      ]),
    );
    expect(await env.repo.getOrder(lost.orderId)).toMatchObject({ status: 'paid', paidByPaymentId: lost.paymentId });
    expect(await env.repo.getPayment(lost.paymentId)).toMatchObject({
      status: 'succeeded',
      providerTransactionId: lostTransaction,
    });
    const late = (await env.repo.getPayment(first.paymentId))!;
    expect(late).toMatchObject({ status: 'succeeded', latePayment: true, refundRequired: true });
    expect(late.refundIds).toHaveLength(1);
    expect(await env.repo.getOrder(first.orderId)).toMatchObject({ status: 'paid', paidByPaymentId: second.paymentId });
    expect(
      (await env.drainedBus()).published.filter(
        (event) => event.type === 'RefundRequested' && event.detail.paymentId === first.paymentId,
      ),
    ).toHaveLength(1);
  });
});

describe('reconcileDay: a console refund recorded from the bill, then its own notification', () => {
  /** The provider's verified notification of a console refund, held back until after the reconciliation. */
  function consoleRefundNotification(method: Method, paymentId: string): RefundNotification {
    const opened = storeOf(method).refunds.open(
      { paymentId, amount: 800, external: true, notify: true, settle: 'now' },
      env.clock.now(),
    );
    if (opened.result === 'refused') throw new Error(`console refund refused: ${opened.refusal}`);
    if (method === 'wechat') return wechat.notifications.at(-1)!;
    const callback = bankSimulator.buildRefundCallback(bankStore.get(paymentId)!, opened.refund, env.clock.now());
    const verified = env.deps.providers.bank!.verifyCallback(toRawCallback(callback!), env.clock.now());
    if (!verified.ok || !isRefundNotification(verified.notification))
      throw new Error('the bank refund callback did not verify');
    return verified.notification;
  }

  it.each(['wechat', 'bank'] as const)(
    '%s: two console refunds of one amount, only the second notified: the first is recorded, the second not twice',
    async (method) => {
      const paid = await paidOrder(method);
      const first = storeOf(method).refunds.open(
        { paymentId: paid.paymentId, amount: 800, external: true, notify: false, settle: 'now' },
        env.clock.now(),
      );
      if (first.result === 'refused') throw new Error('console refund refused');
      env.clock.set(at('10:10:00'));
      expect(await applyRefundNotification(env.deps, consoleRefundNotification(method, paid.paymentId))).toBe(
        'applied',
      );
      env.clock.set(at('10:30:00', NEXT_DAY));

      const day = (await reconcile(DAY, { providers: [method] })).providers[0]!;

      expect(day).toMatchObject({ billRows: 3, matched: 2, healed: 1 });
      expect(day.differences).toEqual([
        expect.objectContaining({
          kind: 'refund_missing_in_ledger',
          refundId: first.refund.refundId ?? first.refund.key,
          healed: true,
        }),
      ]);
      const payment = (await env.repo.getPayment(paid.paymentId))!;
      expect(payment).toMatchObject({ refundedAmount: 1_600 });
      expect(new Set(payment.refundIds)).toEqual(
        new Set([`ext_${method}_${first.refund.key}`, expect.stringMatching(/^ext_/)]),
      );
      expect(payment.refundIds).toHaveLength(2);
    },
  );

  it.each(['wechat', 'bank'] as const)(
    '%s: the late notification is the same refund, applied once and not redelivered for ever',
    async (method) => {
      const paid = await paidOrder(method);
      const late = consoleRefundNotification(method, paid.paymentId);
      env.clock.set(at('10:30:00', NEXT_DAY));
      await reconcile(DAY, { providers: [method] });
      expect(await env.repo.getPayment(paid.paymentId)).toMatchObject({
        refundedAmount: 800,
        refundIds: [expect.stringMatching(/^ext_/)],
      });

      expect(await applyRefundNotification(env.deps, late)).toBe('unchanged');
      expect(await env.repo.getPayment(paid.paymentId)).toMatchObject({
        refundedAmount: 800,
        refundIds: [expect.stringMatching(/^ext_/)],
      });
      expect(await applyRefundNotification(env.deps, late)).toBe('duplicate');
    },
  );
});

describe('reconcileDay: a bill that cannot be had', () => {
  it('a bill not published yet is bill_not_ready, with no alarm', async () => {
    await paidOrder('bank');
    const report = await reconcile(NEXT_DAY);
    expect(report.providers.map(({ provider, status, detail }) => ({ provider, status, detail }))).toEqual([
      { provider: 'bank', status: 'bill_not_ready', detail: 'bank: report_not_ready' },
      { provider: 'wechat', status: 'bill_not_ready', detail: 'wechat: STATEMENT_CREATING' },
    ]);
    expect(env.metrics.total(Metric.ReconciliationBillMissing)).toBe(0);
    expect(await differenceEvents()).toEqual([]);
  });

  it('still not published at the cut-off: bill_missing and alarmed where the ledger has trades; a provider with none had no trades', async () => {
    // A bank payment on the next day, then the clock back before that day's bill can exist.
    env.clock.set(at('10:00:00', NEXT_DAY));
    await paidOrder('bank');
    env.clock.set(at('18:30:00'));

    const report = await reconcile(NEXT_DAY, { final: true });

    expect(report.providers.find((run) => run.provider === 'bank')).toMatchObject({
      status: 'bill_missing',
      detail: 'bank: report_not_ready',
      billRows: 0,
    });
    expect(report.providers.find((run) => run.provider === 'wechat')).toMatchObject({
      status: 'reconciled',
      billRows: 0,
      differences: [],
    });
    expect(env.metrics.total(Metric.ReconciliationBillMissing, { provider: 'bank' })).toBe(1);
    expect(env.metrics.total(Metric.ReconciliationBillMissing, { provider: 'wechat' })).toBe(0);
  });

  it("a bank report whose signature does not verify fails that provider alone; the scheduled retry reconciles it and leaves WeChat's day alone", async () => {
    const lostAtBank = await startedOrder('bank');
    await paidAtProvider('bank', lostAtBank.paymentId);
    const ghost = await startedOrder('wechat');
    await callback('wechat', ghost.paymentId, 'wechat_tx_ghost');
    tamperBank = (answer) => ({
      ...answer,
      headers: {
        ...answer.headers,
        'bank-signature': (answer.headers['bank-signature'] ?? '').replace(/v1=[0-9a-f]+/, `v1=${'0'.repeat(64)}`),
      },
    });
    const morning = at('10:30:00', NEXT_DAY);
    env.clock.set(morning);

    const report = await reconcileDay(env.deps, scheduledRun(env.clock.now(), DEFAULT_RECONCILIATION_TIMING));

    expect(report.date).toBe(DAY);
    const bankDay = report.providers.find((run) => run.provider === 'bank');
    expect(bankDay).toMatchObject({ status: 'failed', billRows: 0, differences: [] });
    expect(bankDay?.detail).toBe('bank fetchBill: HTTP 200 answer is not signed by the bank');
    expect(report.providers.find((run) => run.provider === 'wechat')).toMatchObject({
      status: 'reconciled',
      differences: [expect.objectContaining({ kind: 'missing_in_bill', paymentId: ghost.paymentId })],
    });
    expect(env.metrics.total(Metric.ReconciliationFailed, { provider: 'bank' })).toBe(1);
    expect(env.metrics.total(Metric.ReconciliationFailed, { provider: 'wechat' })).toBe(0);
    // A report we cannot trust heals nothing.
    expect(await env.repo.getPayment(lostAtBank.paymentId)).toMatchObject({ status: 'processing' });

    // The next hour: the bank answers properly; WeChat's reconciled day is not run again.
    tamperBank = undefined;
    env.clock.set(at('11:30:00', NEXT_DAY));
    const retried = await reconcileDay(env.deps, scheduledRun(env.clock.now(), DEFAULT_RECONCILIATION_TIMING));

    expect(retried.providers.find((run) => run.provider === 'bank')).toMatchObject({
      status: 'reconciled',
      ranAt: at('11:30:00', NEXT_DAY).toISOString(),
      differences: [
        expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lostAtBank.paymentId, healed: true }),
      ],
    });
    expect(retried.providers.find((run) => run.provider === 'wechat')).toMatchObject({
      status: 'reconciled',
      ranAt: morning.toISOString(),
    });
    expect(env.metrics.values(Metric.ReconciliationOpenDifferences, { provider: 'wechat' })).toEqual([1]);
    expect(await env.repo.getOrder(lostAtBank.orderId)).toMatchObject({ status: 'paid' });
  });
});

describe('reconcileDay: the day boundary across two days', () => {
  it("a payment of the day's last minutes is carried to the next day's bill; one healed today is not missed tomorrow", async () => {
    // 10:00: paid at WeChat, callback lost (healed on the next morning, so it sits in the next day's ledger).
    const lost = await startedOrder('wechat');
    await paidAtProvider('wechat', lost.paymentId);
    // 23:55: paid on both sides, but WeChat books it after midnight.
    env.clock.set(at('23:55:00'));
    const booked = await startedOrder('wechat');
    await callback(
      'wechat',
      booked.paymentId,
      await paidAtProvider('wechat', booked.paymentId, at('00:00:05', NEXT_DAY)),
    );
    // 23:56: a success we applied that WeChat shows on neither day.
    env.clock.set(at('23:56:00'));
    const never = await startedOrder('wechat');
    await callback('wechat', never.paymentId, 'wechat_tx_never');

    env.clock.set(at('10:30:00', NEXT_DAY));
    const firstDay = (await reconcile(DAY, { providers: ['wechat'] })).providers[0]!;
    expect(firstDay).toMatchObject({ date: DAY, status: 'reconciled', carried: 2 });
    expect(firstDay.differences).toEqual([
      expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lost.paymentId, healed: true }),
    ]);

    env.clock.set(at('10:30:00', '2026-11-29'));
    const secondDay = (await reconcile(NEXT_DAY, { providers: ['wechat'] })).providers[0]!;

    expect(secondDay).toMatchObject({ date: NEXT_DAY, status: 'reconciled', billRows: 1, matched: 1, carried: 0 });
    expect(secondDay.differences).toEqual([
      expect.objectContaining({
        kind: 'missing_in_bill',
        paymentId: never.paymentId,
        providerTransactionId: 'wechat_tx_never',
        healed: false,
      }),
    ]);
    expect((await differenceEvents()).map((event) => event.detail.paymentId)).toEqual([
      lost.paymentId,
      never.paymentId,
    ]);
  });
  it('a re-run of a reconciled day that cannot fetch the bill keeps what the day carried and accounted for', async () => {
    const lost = await startedOrder('wechat');
    await paidAtProvider('wechat', lost.paymentId);
    env.clock.set(at('23:56:00'));
    const never = await startedOrder('wechat');
    await callback('wechat', never.paymentId, 'wechat_tx_never');
    // Something in the next day's bill, so that it is published.
    const nextDay = await startedOrder('wechat');
    await paidAtProvider('wechat', nextDay.paymentId, at('09:00:00', NEXT_DAY));
    env.clock.set(at('10:30:00', NEXT_DAY));
    expect((await reconcile(DAY, { providers: ['wechat'] })).providers[0]).toMatchObject({
      status: 'reconciled',
      carried: 1,
      healed: 1,
    });

    // A person runs the day again while WeChat cannot be reached.
    const reachable = wechat.provider;
    env.deps.providers.wechat = {
      ...reachable,
      fetchBill: async () => {
        throw new Error('socket hang up');
      },
    };
    env.clock.set(at('11:30:00', NEXT_DAY));
    expect((await reconcile(DAY, { providers: ['wechat'] })).providers[0]).toMatchObject({
      status: 'failed',
      detail: 'socket hang up',
      carried: 1,
    });
    expect(env.metrics.total(Metric.ReconciliationFailed, { provider: 'wechat' })).toBe(1);

    env.deps.providers.wechat = reachable;
    env.clock.set(at('10:30:00', '2026-11-29'));
    const secondDay = (await reconcile(NEXT_DAY, { providers: ['wechat'] })).providers[0]!;

    // The carried payment is still checked (and missing); the one healed yesterday is not taken for missing.
    expect(secondDay.differences.filter((difference) => difference.kind === 'missing_in_bill')).toEqual([
      expect.objectContaining({ paymentId: never.paymentId }),
    ]);
  });
});

/** A lost callback on DAY whose heal fails (WeChat's query is down) at the morning-after run; `reachable` restores WeChat. */
async function healFailed() {
  const lost = await startedOrder('wechat');
  await paidAtProvider('wechat', lost.paymentId);
  const reachable = wechat.provider;
  env.deps.providers.wechat = {
    ...reachable,
    queryPayment: async () => {
      throw new Error('socket hang up');
    },
  };
  env.clock.set(at('10:30:00', NEXT_DAY));
  const report = await reconcile(DAY, { providers: ['wechat'] });
  expect((await env.repo.getPayment(lost.paymentId))!.status).not.toBe('succeeded');
  return { lost, reachable, report };
}

describe('reconcileDay: a day healed by a later re-run', () => {
  it("a lost callback the day's run could not heal, healed by a person's re-run two days later, is not missed on the day it was healed", async () => {
    // The morning after: WeChat's bill is there but its query fails, so the lost callback stays open.
    const { lost, reachable, report } = await healFailed();
    expect(report.providers[0]!.differences).toEqual([
      expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lost.paymentId, healed: false }),
    ]);

    // Two days on, WeChat answers again and a person re-runs the day: healed, the payment paid today.
    env.deps.providers.wechat = reachable;
    const healDay: BusinessDate = '2026-11-29';
    env.clock.set(at('14:00:00', healDay));
    expect((await reconcile(DAY, { providers: ['wechat'] })).providers[0]!.differences).toEqual([
      expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lost.paymentId, healed: true }),
    ]);
    expect((await env.repo.getPayment(lost.paymentId))!.paidAt).toBe(at('14:00:00', healDay).toISOString());

    // The heal day's own bill does not have it (WeChat took it on DAY): its run does not call it missing.
    const otherSale = await paidOrder('wechat');
    env.clock.set(at('10:30:00', '2026-11-30'));
    const healedDay = (await reconcile(healDay, { providers: ['wechat'] })).providers[0]!;
    expect(healedDay).toMatchObject({ status: 'reconciled', billRows: 1, matched: 1 });
    expect(healedDay.differences).toEqual([]);
    expect((await env.repo.getPayment(otherSale.paymentId))!.status).toBe('succeeded');
  });
});

describe("failed heals: the hourly retry and a person's re-run", () => {
  it('the hourly retry runs the day again while WeChat fails (counted unhealed), and heals it once WeChat answers', async () => {
    const { lost, reachable } = await healFailed();
    const timing = DEFAULT_RECONCILIATION_TIMING;

    expect(await retryFailedHeals(env.deps, timing)).toEqual({
      retried: [{ provider: 'wechat', date: DAY }],
      unhealedDays: 1,
    });
    expect(env.metrics.values(Metric.ReconciliationUnhealed).at(-1)).toBe(1);

    env.deps.providers.wechat = reachable;
    env.clock.set(at('11:45:00', NEXT_DAY));
    expect(await retryFailedHeals(env.deps, timing)).toMatchObject({ unhealedDays: 0 });
    expect(env.metrics.values(Metric.ReconciliationUnhealed).at(-1)).toBe(0);
    expect((await env.repo.getPayment(lost.paymentId))!.status).toBe('succeeded');
    // Nothing left to retry: the next hour asks no provider anything.
    expect(await retryFailedHeals(env.deps, timing)).toEqual({ retried: [], unhealedDays: 0 });
  });

  it("a person's re-run through the API is the daily run, audited with the day's counts before and after", async () => {
    const { lost, reachable } = await healFailed();
    env.deps.providers.wechat = reachable;
    const api = customerApi(env);
    const staff = { customerId: 'staff_lin', scope: ADMIN_SCOPE };

    const refused = await api('POST /api/admin/reconciliation/{provider}/{date}/re-run', {
      ...staff,
      params: { provider: 'wechat', date: DAY },
      body: {},
      idempotencyKey: 'rerun-noreason-01',
    });
    const response = await api('POST /api/admin/reconciliation/{provider}/{date}/re-run', {
      ...staff,
      params: { provider: 'wechat', date: DAY },
      body: { reason: 'WeChat query API back after the outage' },
      idempotencyKey: 'rerun-wechat-0001',
    });

    expect(refused.statusCode).toBe(400);
    expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
    expect(response.body.providers).toEqual([
      expect.objectContaining({
        provider: 'wechat',
        status: 'reconciled',
        differences: [expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lost.paymentId, healed: true })],
      }),
    ]);
    expect((await env.repo.getPayment(lost.paymentId))!.status).toBe('succeeded');
    const audit = await api('GET /api/admin/audit', { ...staff, query: { entity: `reconciliation:wechat:${DAY}` } });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        action: 're-run',
        actor: 'staff_lin',
        reason: 'WeChat query API back after the outage',
        before: expect.objectContaining({ status: 'reconciled', open: 1 }),
        after: expect.objectContaining({ status: 'reconciled', open: 0, healed: 1 }),
      }),
    ]);
  });
});

describe('scheduledRun', () => {
  it.each([
    ['10:30 Beijing, the first run', '2026-11-28T02:30:00.000Z', DAY, false],
    ['17:30 Beijing, before the cut-off', '2026-11-28T09:30:00.000Z', DAY, false],
    ['18:30 Beijing, past the cut-off', '2026-11-28T10:30:00.000Z', DAY, true],
    ['00:30 Beijing on the first of the year', '2026-12-31T16:30:00.000Z', '2026-12-31', false],
  ])('at %s (%s): reconciles %s, final %s', (_case, now, date, final) => {
    expect(scheduledRun(new Date(now), DEFAULT_RECONCILIATION_TIMING)).toEqual({
      date,
      final,
      skipReconciled: true,
      carryMinutes,
    });
  });
});
