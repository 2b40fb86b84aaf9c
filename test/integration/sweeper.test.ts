import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ORDER_POLICY, DEFAULT_SWEEPER } from '../../src/core/kernel/deps';
import { Metric } from '../../src/core/kernel/metric-names';
import { applyNotification } from '../../src/core/payments/notifications';
import { addPayment, createOrders } from '../../src/core/orders/orders';
import { cancelPayment, getPayment } from '../../src/core/payments/payments';
import { startPayment } from '../../src/core/payments/start';
import { sweepAndSettle } from '../support/sweep';
import type { PaymentMethod } from '../../src/domain/payment';
import { createBankProvider } from '../../src/providers/bank';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import {
  type ProviderOperation,
  type ProviderSandbox,
  providerSandbox,
  type QueryableMethod,
  sandboxKeys,
} from '../support/sweeper-fixtures';

const CUSTOMER = 'cust_alice';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** startPayment schedules the first provider query this long after the start. */
const FIRST_QUERY_MS = DEFAULT_SWEEPER.firstQueryAfterSeconds * SECOND;
/** The sweeper's delay before retrying a failed close at the provider. */
const CLOSE_RETRY_MS = 60 * SECOND;
/** Later queries of a payment that stays processing. */
const QUERY_EVERY_MS = DEFAULT_SWEEPER.queryEverySeconds * SECOND;

const keys = sandboxKeys();

let env: TestEnv;
let sandboxes: Record<QueryableMethod, ProviderSandbox>;

beforeEach(async () => {
  env = await createTestEnv(); // payments live 30 minutes, with a reminder 5 minutes before
  await env.seedProducts(DEMO_PRODUCTS);
  sandboxes = {
    wechat: providerSandbox('wechat', keys, env.clock.now),
    alipay: providerSandbox('alipay', keys, env.clock.now),
  };
  env.deps.providers = {
    wechat: sandboxes.wechat.provider,
    alipay: sandboxes.alipay.provider,
    bank: createBankProvider({ config: keys.bank.merchant }),
  };
});

/** An order and its first payment as the customer creates it; `started` also opens the checkout at the provider. */
async function customerPayment(method: PaymentMethod, { started }: { started: boolean }) {
  const [created] = await createOrders(env.deps, {
    customerId: CUSTOMER,
    orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
    method,
  });
  const { paymentId, orderId, expiresAt } = created!.payment;
  if (!started) return { paymentId, orderId, expiresAt };
  const { payUrl } = await startPayment(env.deps, { customerId: CUSTOMER, paymentId });
  if (method !== 'bank') await sandboxes[method].openPayUrl(payUrl!);
  return { paymentId, orderId, expiresAt, payUrl };
}

async function stored(paymentId: string) {
  const payment = (await env.repo.getPayment(paymentId))!;
  return { payment, order: (await env.repo.getOrder(payment.orderId))! };
}

/** The types of the published events that name this payment, in publish order. */
const eventTypes = async (paymentId: string) =>
  (await env.drainedBus()).published.filter((event) => event.detail.paymentId === paymentId).map((event) => event.type);

const providerCalls = (sandbox: ProviderSandbox) => sandbox.requests.filter((operation) => operation !== 'create');

describe('expiry reminders', () => {
  it.each([
    ['a started payment, with its pay URL', true],
    ['a payment never started', false],
  ])('reminds about %s exactly once, even when two runs overlap', async (_case, started) => {
    const payment = await customerPayment('wechat', { started });
    env.clock.advanceMinutes(26);

    await Promise.all([sweepAndSettle(env.deps), sweepAndSettle(env.deps)]);

    const reminders = (await env.drainedBus()).ofType('PaymentExpiringSoon');
    expect(reminders).toHaveLength(1);
    expect(reminders[0]!.detail).toMatchObject({
      orderId: payment.orderId,
      paymentId: payment.paymentId,
      amount: 12_800,
      expiresAt: payment.expiresAt,
      minutesLeft: 4,
    });
    expect(reminders[0]!.detail.payUrl !== undefined).toBe(started);
    expect(reminders[0]!.detail.payUrl).toBe(payment.payUrl);
    expect(env.metrics.total(Metric.RemindersSent)).toBe(1);

    env.clock.advanceMinutes(3);
    await sweepAndSettle(env.deps);
    expect((await env.drainedBus()).ofType('PaymentExpiringSoon')).toHaveLength(1);
    expect(env.metrics.total(Metric.RemindersSent)).toBe(1);
    expect((await stored(payment.paymentId)).payment.status).toBe(started ? 'processing' : 'init');
  });
});

describe('expiry of payments never started', () => {
  it('expires them without calling any provider, and the customer can then pay the order with a new payment', async () => {
    const payments = [
      await customerPayment('wechat', { started: false }),
      await customerPayment('alipay', { started: false }),
    ];
    env.clock.advanceMinutes(30);

    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ expired: 2 });
    for (const { paymentId } of payments) {
      const { payment, order } = await stored(paymentId);
      expect(payment.status).toBe('expired');
      expect(order.status).toBe('pending');
      expect(order.openPaymentId).toBeUndefined();
      expect(await eventTypes(paymentId)).toEqual(['PaymentExpired']);
    }
    expect(sandboxes.wechat.requests).toEqual([]);
    expect(sandboxes.alipay.requests).toEqual([]);

    const repayment = await addPayment(env.deps, { customerId: CUSTOMER, orderId: payments[0]!.orderId });
    expect(repayment).toMatchObject({ status: 'init', amount: 12_800 });
    expect((await env.repo.getOrder(payments[0]!.orderId))!.openPaymentId).toBe(repayment.paymentId);
  });
});

describe.each(['wechat', 'alipay'] as const)('query-then-expire of a started %s payment', (method) => {
  let sandbox: ProviderSandbox;
  beforeEach(() => {
    sandbox = sandboxes[method];
  });

  it('rescues a payment paid just before expiry whose callback was lost, flagged late (it read expired meanwhile), and never closes it', async () => {
    const { paymentId, expiresAt } = await customerPayment(method, { started: true });
    env.clock.set(new Date(Date.parse(expiresAt) - SECOND));
    sandbox.decide(paymentId, 'paid');
    env.clock.advanceMinutes(1);

    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ rescued: 1 });
    const { payment, order } = await stored(paymentId);
    expect(payment).toMatchObject({
      status: 'succeeded',
      providerTransactionId: sandbox.checkout(paymentId)!.transactionId,
      latePayment: true,
    });
    expect(payment.refundRequired).toBeUndefined();
    expect(payment.logs.at(-1)).toMatchObject({
      from: 'processing',
      to: 'succeeded',
      source: 'provider',
      reason: expect.stringContaining(`${method} query`),
    });
    expect(order).toMatchObject({ status: 'paid', paidByPaymentId: paymentId });
    expect(await eventTypes(paymentId)).toEqual([
      'PaymentStarted',
      'PaymentSucceeded',
      'LatePaymentReceived',
      'OrderPaid',
    ]);
    expect(env.metrics.total(Metric.PaymentsRescuedByQuery, { provider: method })).toBe(1);
    expect(providerCalls(sandbox)).toEqual(['query']);
  });

  it('closes an unpaid payment at the provider, then expires it', async () => {
    const { paymentId } = await customerPayment(method, { started: true });
    env.clock.advanceMinutes(30);

    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ expired: 1 });
    expect(providerCalls(sandbox)).toEqual(['query', 'close']);
    expect(sandbox.checkout(paymentId)!.state).toBe('closed');
    const { payment, order } = await stored(paymentId);
    expect(payment.status).toBe('expired');
    expect(order.status).toBe('pending');
    expect(order.openPaymentId).toBeUndefined();
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted', 'PaymentExpired']);
  });

  it('keeps a payment processing while the provider cannot close it, and expires it once a later run closes it', async () => {
    const { paymentId } = await customerPayment(method, { started: true });
    env.clock.advanceMinutes(30);
    sandbox.closeOutage = true;

    const failed = await sweepAndSettle(env.deps);

    expect(failed.actions).toEqual({ close_failed: 1 });
    expect((await stored(paymentId)).payment.status).toBe('processing');
    expect(sandbox.checkout(paymentId)!.state).toBe('pending');
    expect(env.metrics.total(Metric.ProviderCloseFailed, { provider: method })).toBe(1);
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted']);

    sandbox.closeOutage = false;
    env.clock.advance(CLOSE_RETRY_MS);
    const retried = await sweepAndSettle(env.deps);

    expect(retried.actions).toEqual({ expired: 1 });
    // The failing close was tried 3 times (5xx is retried) before the run gave up on it.
    expect(providerCalls(sandbox)).toEqual(['query', 'close', 'close', 'close', 'query', 'close']);
    expect(sandbox.checkout(paymentId)!.state).toBe('closed');
    expect((await stored(paymentId)).payment.status).toBe('expired');
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted', 'PaymentExpired']);
  });

  it('parks a payment the provider reports paid for 1 fen more for a person: counted once, never asked again, its order held', async () => {
    const { paymentId, orderId } = await customerPayment(method, { started: true });
    sandbox.decide(paymentId, 'paid', { amount: 12_801 });
    env.clock.advance(FIRST_QUERY_MS);

    const first = await sweepAndSettle(env.deps);

    expect(first.actions).toEqual({ parked: 1 });
    // Every later run, past the reminder and the expiry too, leaves it alone.
    for (let run = 0; run < 8; run++) {
      env.clock.advanceMinutes(5);
      expect((await sweepAndSettle(env.deps)).handled, `run ${run}`).toBe(0);
    }
    expect(providerCalls(sandbox)).toEqual(['query']);
    const { payment, order } = await stored(paymentId);
    expect(payment).toMatchObject({
      status: 'processing',
      needsReview: true,
      reviewReason: expect.stringContaining('amount_mismatch'),
    });
    expect(payment.logs.at(-1)).toMatchObject({
      from: 'processing',
      to: 'processing',
      source: 'provider',
      reason: expect.stringContaining('amount_mismatch'),
    });
    expect(env.metrics.total(Metric.AmountMismatch, { provider: method })).toBe(1);
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted']);
    // Money was taken: the order keeps its stock for the person who decides, and reads what it is.
    expect(order).toMatchObject({ status: 'pending', openPaymentId: paymentId });
    expect((await env.repo.getProducts(['TEA-001'])).get('TEA-001')!.stock).toBe(99);
    expect(await getPayment(env.deps, { customerId: CUSTOMER, isAdmin: false }, paymentId)).toMatchObject({
      status: 'processing',
      needsReview: true,
    });
    await expect(addPayment(env.deps, { customerId: CUSTOMER, orderId })).rejects.toMatchObject({
      code: 'PAYMENT_UNDER_REVIEW',
    });
  });

  it('moves the next query forward by the interval when the answer decides nothing (already applied once)', async () => {
    const { paymentId } = await customerPayment(method, { started: true });
    sandbox.decide(paymentId, 'paid');
    // The answer's dedupe record exists while the payment is still processing, as the amount-mismatch loop left them.
    const eventId = `query:${paymentId}:paid:${sandbox.checkout(paymentId)!.transactionId}`;
    const at = env.clock.now().toISOString();
    await env.repo.commit([
      {
        kind: 'recordNotification',
        record: {
          provider: method,
          eventId,
          paymentId,
          appliedAt: at,
          result: 'amount_mismatch',
          expiresAt: '2027-01-01T00:00:00.000Z',
        },
      },
    ]);
    env.clock.advance(FIRST_QUERY_MS);

    await sweepAndSettle(env.deps);
    expect((await stored(paymentId)).payment.nextQueryAt).toBe(
      new Date(env.clock.now().getTime() + QUERY_EVERY_MS).toISOString(),
    );

    env.clock.advance(QUERY_EVERY_MS - SECOND);
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect(providerCalls(sandbox)).toEqual(['query']);
  });

  it('retries a failed close after the retry delay, not on every run', async () => {
    const { paymentId } = await customerPayment(method, { started: true });
    env.clock.advanceMinutes(30);
    sandbox.closeOutage = true;
    expect((await sweepAndSettle(env.deps)).actions).toEqual({ close_failed: 1 });

    // One close is up to three HTTP attempts (the provider sender retries a 5xx within the call).
    const oneFailedClose = ['close', 'close', 'close'];
    env.clock.advance(CLOSE_RETRY_MS - SECOND);
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect(providerCalls(sandbox)).toEqual(['query', ...oneFailedClose]);

    env.clock.advance(SECOND);
    expect((await sweepAndSettle(env.deps)).actions).toEqual({ close_failed: 1 });
    expect(providerCalls(sandbox)).toEqual(['query', ...oneFailedClose, 'query', ...oneFailedClose]);
    expect((await stored(paymentId)).payment.status).toBe('processing');
  });

  it('asks the provider a minute after the start and rescues a payment whose callback was lost, long before expiry', async () => {
    const { paymentId } = await customerPayment(method, { started: true });
    env.clock.advance(10 * SECOND);
    sandbox.decide(paymentId, 'paid');

    env.clock.set(new Date(Date.parse((await stored(paymentId)).payment.createdAt) + FIRST_QUERY_MS - SECOND));
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect(providerCalls(sandbox)).toEqual([]);

    env.clock.advance(SECOND);
    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ rescued: 1 });
    const { payment, order } = await stored(paymentId);
    expect(payment.status).toBe('succeeded');
    expect(order).toMatchObject({ status: 'paid', paidByPaymentId: paymentId });
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted', 'PaymentSucceeded', 'OrderPaid']);
    expect(env.metrics.total(Metric.PaymentsRescuedByQuery, { provider: method })).toBe(1);
    expect(providerCalls(sandbox)).toEqual(['query']);
  });
});

describe('the bank (no query, no close)', () => {
  it('expires a started bank payment only once the expiry grace is over, never before', async () => {
    const { paymentId, expiresAt } = await customerPayment('bank', { started: true });
    const graceOver = Date.parse(expiresAt) + DEFAULT_SWEEPER.expiryGraceSeconds * SECOND;

    for (const at of [Date.parse(expiresAt), graceOver - 60 * SECOND, graceOver - SECOND]) {
      env.clock.set(new Date(at));
      await sweepAndSettle(env.deps);
      expect((await stored(paymentId)).payment.status, `at ${new Date(at).toISOString()}`).toBe('processing');
    }

    env.clock.set(new Date(graceOver));
    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ expired: 1 });
    const { payment, order } = await stored(paymentId);
    expect(payment.status).toBe('expired');
    expect(order.openPaymentId).toBeUndefined();
    expect(await eventTypes(paymentId)).toEqual(['PaymentStarted', 'PaymentExpired']);
  });
});

describe('a success callback racing the sweep that expires the payment', () => {
  const atProviderRequest = (operation: ProviderOperation) =>
    new Promise<void>((resolve) => {
      sandboxes.wechat.onRequest = (sent) => {
        if (sent === operation) resolve();
      };
    });
  /** Points in the sweep's work where the callback starts, so that each interleaving is met. */
  const callbackStarts = {
    'with the sweep': async () => {},
    'as the sweeper queries the provider': () => atProviderRequest('query'),
    'as the sweeper closes at the provider': () => atProviderRequest('close'),
    'once the expiry is committed': (paymentId: string) =>
      vi.waitFor(async () => expect((await env.repo.getPayment(paymentId))!.status).toBe('expired'), {
        timeout: 5_000,
        interval: 2,
      }),
  };

  /** Each moment four times; a round is a sweep and a worker pass (about a second with coverage, two files side by side). */
  const ROUNDS = 16;

  it('always ends with the payment succeeded (late: it read expired) and its order paid, announced once', async () => {
    const moments = Object.entries(callbackStarts);
    const expiredFirst: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [moment, callbackStart] = moments[round % moments.length]!;
      const { paymentId } = await customerPayment('wechat', { started: true });
      env.clock.advanceMinutes(30);
      const callback = sandboxes.wechat.successNotification(paymentId);
      const started = callbackStart(paymentId);

      await Promise.all([started.then(() => applyNotification(env.deps, callback)), sweepAndSettle(env.deps)]);

      const { payment, order } = await stored(paymentId);
      const where = `round ${round}, callback ${moment}`;
      expect(payment, where).toMatchObject({ status: 'succeeded', latePayment: true });
      expect(payment.refundRequired, where).toBeUndefined();
      expect(order, where).toMatchObject({ status: 'paid', paidByPaymentId: paymentId });
      const sweepWon = payment.logs.some((entry) => entry.to === 'expired');
      expect(await eventTypes(paymentId), where).toEqual(
        sweepWon
          ? ['PaymentStarted', 'PaymentExpired', 'PaymentSucceeded', 'LatePaymentReceived', 'OrderPaid']
          : ['PaymentStarted', 'PaymentSucceeded', 'LatePaymentReceived', 'OrderPaid'],
      );
      if (sweepWon) expiredFirst.push(moment);
    }
    // The sweep won at least the rounds where the callback waited for the expiry: both endings were met.
    expect(expiredFirst).toContain('once the expiry is committed');
    expect(expiredFirst.length).toBeLessThan(ROUNDS);
  }, 90_000);
});

describe('orders left unpaid', () => {
  const stock = async () => (await env.repo.getProducts(['TEA-001'])).get('TEA-001')!.stock;
  const orderCancellations = async () =>
    (await env.drainedBus())
      .ofType('OrderCancelled')
      .map((event) => ({ orderId: event.detail.orderId, reason: event.detail.reason }));

  it('cancels an order with no open payment a day (by default) after its last payment ended, releasing its stock, announced with the reason', async () => {
    expect(DEFAULT_ORDER_POLICY.unpaidCancelMinutes).toBe(1440);
    const { orderId } = await customerPayment('wechat', { started: false });
    env.clock.advanceMinutes(30);
    expect((await sweepAndSettle(env.deps)).actions).toEqual({ expired: 1 });
    const endedAt = env.clock.now().getTime();

    env.clock.set(new Date(endedAt + 1440 * MINUTE - SECOND));
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect((await env.repo.getOrder(orderId))!.status).toBe('pending');
    expect(await stock()).toBe(99);

    env.clock.advance(SECOND);
    const report = await sweepAndSettle(env.deps);

    expect(report.actions).toEqual({ order_cancelled: 1 });
    expect(await env.repo.getOrder(orderId)).toMatchObject({
      status: 'cancelled',
      cancelReason: 'unpaid',
      cancelledAt: env.clock.now().toISOString(),
    });
    expect(await stock()).toBe(100);
    expect(await orderCancellations()).toEqual([{ orderId, reason: 'unpaid' }]);
    expect(env.metrics.total(Metric.OrdersCancelled, { reason: 'unpaid' })).toBe(1);
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect(await stock()).toBe(100);
  });

  it('counts from the end of the latest payment: an order paid again in between is not cancelled before its time', async () => {
    env.deps.orders = { ...DEFAULT_ORDER_POLICY, unpaidCancelMinutes: 60 };
    const { orderId, paymentId } = await customerPayment('bank', { started: false });
    await cancelPayment(env.deps, { customerId: CUSTOMER, paymentId });
    env.clock.advanceMinutes(50);
    await addPayment(env.deps, { customerId: CUSTOMER, orderId }); // a new payment: open for 30 minutes
    env.clock.advanceMinutes(30);
    expect((await sweepAndSettle(env.deps)).actions).toEqual({ expired: 1 });

    env.clock.advanceMinutes(59);
    expect((await sweepAndSettle(env.deps)).handled).toBe(0);
    expect((await env.repo.getOrder(orderId))!.status).toBe('pending');

    env.clock.advanceMinutes(1);
    expect((await sweepAndSettle(env.deps)).actions).toEqual({ order_cancelled: 1 });
    expect(await orderCancellations()).toEqual([{ orderId, reason: 'unpaid' }]);
  });

  it('never cancels an order that was paid, nor one whose payment is open', async () => {
    const paid = await customerPayment('wechat', { started: true });
    sandboxes.wechat.decide(paid.paymentId, 'paid');
    const open = await customerPayment('alipay', { started: true });
    env.clock.advance(FIRST_QUERY_MS);
    await sweepAndSettle(env.deps); // rescues the paid one; the open one is asked about and stays open

    env.clock.advanceMinutes(2 * 1440);
    await sweepAndSettle(env.deps);

    expect((await env.repo.getOrder(paid.orderId))!.status).toBe('paid');
    // The open one was expired by this run: its day without a payment starts now.
    expect(await env.repo.getOrder(open.orderId)).toMatchObject({
      status: 'pending',
      unpaidSince: env.clock.now().toISOString(),
    });
    expect(await orderCancellations()).toEqual([]);
  });
});

describe('a provider that hangs', () => {
  /** WeChat as a stand-in whose query and close never answer (a hung connection): checkouts are still created. */
  function hangingWechat() {
    const calls: ProviderOperation[] = [];
    const hang = (operation: ProviderOperation) => () => {
      calls.push(operation);
      return new Promise<never>(() => {});
    };
    env.deps.providers.wechat = {
      ...sandboxes.wechat.provider,
      queryPayment: hang('query'),
      closePayment: hang('close'),
    };
    return calls;
  }

  it(
    'holds up neither the other providers nor work that calls no provider, and the run ends at its budget (plus the grace for calls in flight)',
    { timeout: 30_000 },
    async () => {
      const BUDGET_MS = 2_000;
      const WORKERS = 4;
      env.deps.sweeper = { ...DEFAULT_SWEEPER, budgetMs: BUDGET_MS, workerConcurrency: WORKERS };
      const hungCalls = hangingWechat();
      const toExpire = {
        wechat: await Promise.all(Array.from({ length: 10 }, () => customerPayment('wechat', { started: true }))),
        alipay: await Promise.all([
          customerPayment('alipay', { started: true }),
          customerPayment('alipay', { started: true }),
        ]),
        bank: [await customerPayment('bank', { started: false })],
      };
      env.clock.advanceMinutes(5);
      const toRemind = [
        await customerPayment('alipay', { started: true }),
        await customerPayment('bank', { started: true }),
        await customerPayment('wechat', { started: false }),
      ];
      env.clock.advanceMinutes(26); // the first group 1 minute past expiry, the second due for its reminder

      const startedMs = performance.now();
      const report = await Promise.race([
        sweepAndSettle(env.deps),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
      ]);
      const elapsedMs = performance.now() - startedMs;

      expect(report, 'the sweep never returned').not.toBe('hung');
      if (report === 'hung') return;
      expect(elapsedMs).toBeLessThan(BUDGET_MS + 1_500); // the worker waits for no hung call past its budget
      for (const { paymentId } of [...toExpire.alipay, ...toExpire.bank])
        expect((await stored(paymentId)).payment.status, paymentId).toBe('expired');
      expect(
        (await env.drainedBus())
          .ofType('PaymentExpiringSoon')
          .map((event) => event.detail.paymentId)
          .sort(),
      ).toEqual(toRemind.map(({ paymentId }) => paymentId).sort());
      for (const { paymentId } of toExpire.wechat)
        expect((await stored(paymentId)).payment.status, paymentId).toBe('processing');
      // WeChat's hung calls take only WeChat's own workers, never more than its bound.
      expect(hungCalls).toEqual(Array(WORKERS).fill('query'));
      // Left for the next run: the hung WeChat payments, whose first query fell due a minute after their start.
      expect(report).toMatchObject({ budgetExhausted: true, lagSeconds: 30 * 60, actions: { expired: 3 } });
    },
  );
});

describe("the events of the sweeper's changes", () => {
  it('leave through the stream: a publish that failed is retried by the publisher and lands exactly once', async () => {
    const { paymentId } = await customerPayment('wechat', { started: false });
    env.clock.advanceMinutes(30);
    vi.spyOn(env.bus, 'publish').mockRejectedValueOnce(new Error('EventBridge unavailable'));

    expect((await sweepAndSettle(env.deps)).actions).toEqual({ expired: 1 });
    expect((await stored(paymentId)).payment.status).toBe('expired');
    await env.publishEvents(); // refused: the event source retries from this entry
    expect(env.bus.published.filter((event) => event.detail.paymentId === paymentId)).toEqual([]);

    await env.publishEvents();
    expect(await eventTypes(paymentId)).toEqual(['PaymentExpired']);
    await sweepAndSettle(env.deps);
    await env.publishEvents();
    expect(await eventTypes(paymentId)).toEqual(['PaymentExpired']);
  });
});

describe('payments in flight', () => {
  it('observes the open payments (init and processing, not ended ones) once per run, for the dashboard', async () => {
    await customerPayment('wechat', { started: false });
    await customerPayment('alipay', { started: true });
    const cancelled = await customerPayment('bank', { started: false });
    await cancelPayment(env.deps, { customerId: CUSTOMER, paymentId: cancelled.paymentId });

    await sweepAndSettle(env.deps);
    await customerPayment('wechat', { started: false });
    await sweepAndSettle(env.deps);

    expect(env.metrics.values(Metric.PaymentsInFlight)).toEqual([2, 3]);
  });
});
