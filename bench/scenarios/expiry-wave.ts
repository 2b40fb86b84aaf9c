import { loadavg } from 'node:os';
import { makeHandler as makeExpiryWorker } from '../../functions/expiry-worker/handler';
import { startLocalQueues } from '../../local/queues';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { intEnv } from '../../src/aws/env';
import { sqsDuePaymentQueue } from '../../src/aws/due-queue';
import { newId } from '../../src/core/kernel/ids';
import { Metric } from '../../src/core/kernel/metric-names';
import { createOrders } from '../../src/core/orders/orders';
import { startPayment } from '../../src/core/payments/start';
import { sweep } from '../../src/core/sweeper/sweeper';
import type { Write } from '../../src/core/kernel/ports';
import { withCallRate } from '../../src/providers/kit/rate-limit';
import { localWiring } from '../../src/runtime/wiring';
import { newPurchase } from '../../test/support/domain-fixtures';
import { createEnvAt } from '../../test/support/harness';
import { providerSandbox, sandboxKeys } from '../../test/support/sweeper-fixtures';
import { round } from '../common';

/** The wave's size and limits, each from the environment (a quick run: WAVE_PAYMENTS=1000). */
export const EXPIRY_WAVE = {
  payments: intEnv('WAVE_PAYMENTS', 10_000, process.env, [10, 100_000]),
  /** Of them, started (a checkout at WeChat: a query and a close each); the rest never started. */
  startedPercent: intEnv('WAVE_STARTED_PERCENT', 20, process.env, [0, 100]),
  /**
   * WeChat's limit in the sandbox, per API (query, close) and second, and our own rate per merchant
   * for both together (PROVIDER_CALLS_PER_SECOND): scaled down (AWS-side defaults 100/s) so that
   * this machine's emulator reaches them; the report scales back.
   */
  providerLimitPerSecond: intEnv('WAVE_PROVIDER_LIMIT', 5, process.env, [1, 10_000]),
  callsPerSecond: intEnv('WAVE_CALLS_PER_SECOND', 8, process.env, [1, 10_000]),
  /** Worker containers (SQS event source maxConcurrency) and payments each settles side by side. */
  containers: intEnv('WAVE_CONTAINERS', 4, process.env, [1, 64]),
  workerConcurrency: intEnv('WAVE_WORKER_CONCURRENCY', 10, process.env, [1, 100]),
};

const SKU = 'WAVE-001';
const STOCK = 1_000_000;

/**
 * `npm run bench -- expiry-wave`: WAVE_PAYMENTS payments due in the same minute (orders of one SKU
 * whose payments expired a minute ago), found by one sweeper run and drained through fauxqs by the
 * expiry worker's containers against the WeChat sandbox's rate limit (429 past it). Reports the
 * time to drain, provider calls a second, the busy answers and the stock back on sale.
 */
export async function expiryWave(endpoint: string) {
  const w = EXPIRY_WAVE;
  const env = await createEnvAt(endpoint);
  const offsetMs = { value: 0 };
  const now = () => new Date(Date.now() + offsetMs.value);
  env.deps.clock = { now };
  env.deps.orders = { ...env.deps.orders, unpaidCancelMinutes: 0, maxPendingPerCustomer: 100_000 };
  env.deps.sweeper = { ...env.deps.sweeper, workerConcurrency: w.workerConcurrency, budgetMs: 600_000 };
  const wechat = providerSandbox('wechat', sandboxKeys(), now, { callsPerSecond: w.providerLimitPerSecond });
  env.deps.providers = { wechat: withCallRate(wechat.provider, w.callsPerSecond) };
  const started = Math.round((w.payments * w.startedPercent) / 100);
  await seed(env, started, w.payments - started, now());
  offsetMs.value = (env.deps.timing.ttlMinutes + 1) * 60_000; // every payment a minute past its expiry

  const queues = await startLocalQueues({ visibilityTimeoutSeconds: 60 });
  env.deps.dueQueue = sqsDuePaymentQueue(queues.client, queues.dueQueueUrl);
  const worker = makeExpiryWorker(localWiring(async () => env.deps));
  const loadAverageBefore = loadavg().map((n) => round(n, 2));
  const t0 = performance.now();
  const swept = await sweep(env.deps);
  const sweptMs = performance.now() - t0;
  const containers = Array.from({ length: w.containers }, () =>
    startSqsEventSource({ client: queues.client, queueUrl: queues.dueQueueUrl, handler: worker }),
  );
  await queues.dueQueueDrained(3_600_000);
  const drainMs = performance.now() - t0;
  await Promise.all(containers.map((container) => container.stop()));
  const calls = wechat.requests.filter((operation) => operation !== 'create').length;
  const stockAfter = (await env.repo.getProducts([SKU])).get(SKU)!.stock;
  const deadLetters = await queues.deadLetterDepth();
  await queues.stop();
  return {
    at: new Date().toISOString(),
    loadAverageBefore,
    loadAverageAfter: loadavg().map((n) => round(n, 2)),
    ...w,
    started,
    enqueued: swept.actions.enqueued ?? 0,
    sweepSeconds: round(sweptMs / 1000, 1),
    drainSeconds: round(drainMs / 1000, 1),
    paymentsPerSecond: round(w.payments / (drainMs / 1000), 1),
    providerCalls: calls,
    providerCallsPerSecond: round(calls / (drainMs / 1000), 1),
    providerBusy: env.metrics.total(Metric.ProviderBusy),
    expired: env.metrics.total(Metric.PaymentExpired),
    stockBack: stockAfter - (STOCK - w.payments),
    deadLetters,
  };
}

/** The orders with their payments: `neverStarted` written 50 to a transaction, `started` through the use cases (a WeChat checkout each). */
async function seed(env: Awaited<ReturnType<typeof createEnvAt>>, started: number, neverStarted: number, at: Date) {
  const product = { sku: SKU, name: 'Flash sale item', price: 100, stock: STOCK - neverStarted };
  await env.seedProducts([product]);
  const purchases = Array.from({ length: neverStarted }, (_, i) =>
    newPurchase({
      orderId: newId('ord', at),
      paymentId: newId('pay', at),
      items: [{ sku: SKU, quantity: 1 }],
      catalogue: [product],
      now: at,
      customerId: `wave-${i}`,
      timing: env.deps.timing,
    }),
  );
  for (let i = 0; i < purchases.length; i += 50)
    await env.repo.commit(
      purchases.slice(i, i + 50).flatMap(({ order, payment }): Write[] => [
        { kind: 'createOrder', order },
        { kind: 'createPayment', payment },
      ]),
    );
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < started; i = next++) {
      const customerId = `wave-started-${i}`;
      const [created] = await createOrders(env.deps, {
        customerId,
        orders: [{ items: [{ sku: SKU, quantity: 1 }] }],
        method: 'wechat',
      });
      await startPayment(env.deps, { customerId, paymentId: created!.payment.paymentId });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}
