import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeExpiryWorker } from '../../functions/expiry-worker/handler';
import { type LocalQueues, startLocalQueues } from '../../local/queues';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { sqsDuePaymentQueue } from '../../src/aws/due-queue';
import { Metric } from '../../src/core/kernel/metric-names';
import { createOrders } from '../../src/core/orders/orders';
import { startPayment } from '../../src/core/payments/start';
import { sweep } from '../../src/core/sweeper/sweeper';
import type { PaymentMethod } from '../../src/domain/payment';
import { localWiring } from '../../src/runtime/wiring';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import { sweepAndSettle } from '../support/sweep';
import { providerSandbox, type ProviderSandbox, sandboxKeys } from '../support/sweeper-fixtures';

const keys = sandboxKeys();
const SKU = 'PEN-003';

let env: TestEnv;
let queues: LocalQueues | undefined;
let wechat: ProviderSandbox;
let alipay: ProviderSandbox;

async function setUp(limits: { callsPerSecond?: number } = {}) {
  env = await createTestEnv();
  // A flash sale's setting (ORDER_UNPAID_CANCEL_MINUTES=0): an order whose payment expired is cancelled with it, its stock back at once.
  env.deps.orders = { ...env.deps.orders, unpaidCancelMinutes: 0 };
  await env.seedProducts(DEMO_PRODUCTS);
  wechat = providerSandbox('wechat', keys, env.clock.now, limits);
  alipay = providerSandbox('alipay', keys, env.clock.now, limits);
  env.deps.providers = { wechat: wechat.provider, alipay: alipay.provider };
}

afterEach(async () => {
  await queues?.stop();
  queues = undefined;
});

/** A customer's order of one unit, its payment started (the checkout opened at the provider) or never started. */
async function order(customerId: string, method: PaymentMethod, started: boolean) {
  const [created] = await createOrders(env.deps, {
    customerId,
    orders: [{ items: [{ sku: SKU, quantity: 1 }] }],
    method,
  });
  const { paymentId, orderId } = created!.payment;
  if (started) await startPayment(env.deps, { customerId, paymentId });
  return { paymentId, orderId, method, started };
}

const stock = async () => (await env.repo.getProducts([SKU])).get(SKU)!.stock;
const providerCalls = (sandbox: ProviderSandbox) => sandbox.requests.filter((operation) => operation !== 'create');

describe('the expiry wave through the due-payment queue (fauxqs) and the expiry worker', () => {
  beforeEach(() => setUp());

  it('settles every due payment exactly once though each was enqueued twice, calls no provider for the never started, rescues one paid meanwhile, and puts the stock back', async () => {
    const before = await stock();
    const neverStarted = await Promise.all(
      Array.from({ length: 30 }, (_, i) => order(`wave-${i}`, i % 2 ? 'alipay' : 'wechat', false)),
    );
    const started = await Promise.all(Array.from({ length: 10 }, (_, i) => order(`wave-s${i}`, 'wechat', true)));
    expect(await stock()).toBe(before - 40);
    env.clock.advanceMinutes(31); // every payment past its expiry
    const paidMeanwhile = started[0]!;
    wechat.decide(paidMeanwhile.paymentId, 'paid'); // its callback lost on the way

    queues = await startLocalQueues({ visibilityTimeoutSeconds: 5 });
    env.deps.dueQueue = sqsDuePaymentQueue(queues.client, queues.dueQueueUrl);
    // Two runs before the worker drains anything: every due payment is on the queue twice.
    expect((await sweep(env.deps)).actions).toEqual({ enqueued: 40 });
    expect((await sweep(env.deps)).actions).toEqual({ enqueued: 40 });
    const worker = makeExpiryWorker(localWiring(async () => env.deps));
    const containers = [1, 2].map(() =>
      startSqsEventSource({ client: queues!.client, queueUrl: queues!.dueQueueUrl, handler: worker }),
    );
    await queues.dueQueueDrained(30_000);
    await Promise.all(containers.map((container) => container.stop()));

    const bus = await env.drainedBus();
    const expiredIds = bus.ofType('PaymentExpired').map((event) => event.detail.paymentId);
    const expected = [...neverStarted, ...started.slice(1)].map(({ paymentId }) => paymentId);
    expect(expiredIds.sort()).toEqual(expected.sort()); // each once
    expect(bus.ofType('PaymentSucceeded').map((event) => event.detail.paymentId)).toEqual([paidMeanwhile.paymentId]);
    const payments = await env.repo.getPayments([...expected, paidMeanwhile.paymentId]);
    expect(payments.filter((payment) => payment.status === 'expired')).toHaveLength(39);
    expect(payments.find((payment) => payment.paymentId === paidMeanwhile.paymentId)?.status).toBe('succeeded');
    // Never started: no trade at the provider, so no query and no close (every Alipay payment here).
    expect(providerCalls(alipay)).toEqual([]);
    expect(providerCalls(wechat).filter((operation) => operation === 'close').length).toBeGreaterThanOrEqual(9);
    expect(await stock()).toBe(before - 1); // all but the paid order's unit back on sale
    expect(await queues.deadLetterDepth()).toBe(0);
    expect((await env.repo.findDuePayments(env.clock.now(), { limit: 1 })).items).toEqual([]);
  });
});

describe('a provider over its rate limit', () => {
  beforeEach(() => setUp({ callsPerSecond: 2 })); // the frozen test clock is one long second

  it('gets the message back, delayed, with the payment untouched and no failure counted; the next delivery settles it', async () => {
    const before = await stock();
    const started = await Promise.all(Array.from({ length: 4 }, (_, i) => order(`busy-${i}`, 'wechat', true)));
    env.clock.advanceMinutes(31);

    const first = await sweepAndSettle({ ...env.deps, sweeper: { ...env.deps.sweeper, workerConcurrency: 1 } });

    // WeChat took two queries (and answered 429 FREQUENCY_LIMITED to the rest): one payment closed, the others put off.
    expect(first.actions.provider_busy).toBeGreaterThanOrEqual(2);
    expect(env.metrics.total(Metric.ProviderBusy, { provider: 'wechat' })).toBe(first.actions.provider_busy);
    expect(env.metrics.total(Metric.ProviderQueryFailed)).toBe(0);
    expect(env.metrics.total(Metric.ProviderCloseFailed)).toBe(0);
    const processing = (await env.repo.getPayments(started.map(({ paymentId }) => paymentId))).filter(
      (payment) => payment.status === 'processing',
    );
    expect(processing.length).toBe(first.actions.provider_busy);

    // Still in the due index: in the next seconds the sweeper finds them again (SQS would also redeliver them).
    let rounds = 0;
    while ((await stock()) < before && rounds++ < 10) {
      env.clock.advance(1_000);
      await sweepAndSettle(env.deps);
    }
    expect((await env.repo.getPayments(started.map(({ paymentId }) => paymentId))).map((p) => p.status)).toEqual(
      Array(4).fill('expired'),
    );
    expect(await stock()).toBe(before);
  });
});
