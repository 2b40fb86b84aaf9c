import { performance } from 'node:perf_hooks';
import { generateBankKeys, createBankSimulator } from '../local/sandbox/bank';
import { createTable, dynamoClient, startDynamoEmulator } from '../local/dynamodb-emulator';
import { DynamoRepository } from '../shared/adapters/dynamo-repository';
import { RecordedMetrics } from '../shared/adapters/recorded-metrics';
import { RecordingEventBus } from '../shared/adapters/recording-event-bus';
import { DEFAULT_ORDER_POLICY, DEFAULT_SWEEPER, type Deps } from '../shared/core/deps';
import { createOrders } from '../shared/core/orders';
import { fenToYuan, yuanToFen } from '../shared/domain/money';
import { DEFAULT_REFUND_POLICY } from '../shared/domain/refund';
import { createBankProvider } from '../shared/providers/bank';

/**
 * `npm run bench`: throughput and latency of the hot paths, and memory. Figures go to stdout;
 * they are measurements of this machine, not assertions.
 */
function rate(label: string, iterations: number, run: (i: number) => void) {
  const started = performance.now();
  for (let i = 0; i < iterations; i++) run(i);
  const ms = performance.now() - started;
  console.log(`${label.padEnd(44)} ${Math.round((iterations / ms) * 1000).toLocaleString('en')} ops/s`);
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(1);
  return `p50 ${at(50)} ms, p99 ${at(99)} ms`;
}

async function main() {
  rate('money: fenToYuan + yuanToFen round trip', 1_000_000, (i) => yuanToFen(fenToYuan(i)));

  const keys = generateBankKeys('http://127.0.0.1:3000/sandbox/bank');
  const provider = createBankProvider({ config: keys.merchant, fetch: globalThis.fetch });
  const simulator = createBankSimulator(keys.sandbox);
  const now = new Date();
  const callback = simulator.buildCallback(
    { provider: 'bank', paymentId: 'pay_bench', amount: 12_800, currency: 'CNY', description: 'bench', notifyUrl: 'http://x', expiresAt: new Date(now.getTime() + 600_000).toISOString(), state: 'paid', transactionId: 'txn_1', paidAt: now.toISOString() },
    now,
  )!;
  const raw = { headers: Object.fromEntries(Object.entries(callback.headers).map(([k, v]) => [k.toLowerCase(), v])), body: Buffer.from(callback.body) };
  rate('bank: verify an HMAC-signed callback', 50_000, () => {
    if (!provider.verifyCallback(raw, now).ok) throw new Error('bench callback did not verify');
  });

  const emulator = await startDynamoEmulator();
  try {
    const client = dynamoClient(emulator.endpoint);
    await createTable(client, 'bench');
    const repo = new DynamoRepository({ client, tableName: 'bench' });
    await repo.commit([{ kind: 'putProduct', product: { sku: 'BENCH', name: 'Bench item', price: 100, stock: 1_000_000 } }]);
    const deps: Deps = {
      repo,
      queue: { enqueue: async () => undefined },
      events: new RecordingEventBus(),
      metrics: new RecordedMetrics(),
      clock: { now: () => new Date() },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      providers: {},
      timing: { ttlMinutes: 30, reminderMinutes: 5 },
      sweeper: DEFAULT_SWEEPER,
      refunds: DEFAULT_REFUND_POLICY,
      orders: DEFAULT_ORDER_POLICY,
      publicBaseUrl: 'http://127.0.0.1:3000',
      returnUrlTemplate: 'http://127.0.0.1:3000/_local/dashboard?orderId={orderId}',
    };
    for (const concurrency of [1, 16]) {
      const latencies: number[] = [];
      const total = 400;
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) {
            // One order per customer, as in a shop: each customer's pending-order count is its own item.
            const customerId = `bench-${concurrency}-${next++}`;
            const t0 = performance.now();
            await createOrders(deps, { customerId, orders: [{ items: [{ sku: 'BENCH', quantity: 1 }] }], method: 'bank' });
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(`${`create order (DynamoDB Local, ${concurrency} concurrent)`.padEnd(44)} ${Math.round(total / seconds)} orders/s, ${percentiles(latencies)}`);
    }
  } finally {
    await emulator.stop();
  }
  const memory = process.memoryUsage();
  console.log(`${'memory after the run'.padEnd(44)} rss ${Math.round(memory.rss / 2 ** 20)} MiB, heap ${Math.round(memory.heapUsed / 2 ** 20)} MiB`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
