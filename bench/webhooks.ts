import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime } from '../local/runtime';
import { type ReceivedWebhook, startReceiver } from '../local/webhooks/receiver';
import { createWebhookEndpoint } from '../src/core/webhooks/endpoints';
import { ROOT, SKU, freePort, percentile, round } from './common';

/**
 * `npm run bench:webhooks`: webhook delivery through `npm start` (bus → webhook queue → deliverer
 * → a verifying receiver on this machine), on its own: delivery latency from the event's commit
 * (its `timestamp`) to its arrival, one order at a time, p50/p99; then sustained deliveries per
 * second while orders are created from several clients at once. Each phase runs with the default
 * order hold (1 s) and without it (WEBHOOK_ORDER_HOLD_MS=0), which shows what the hold costs.
 * Written to bench/webhooks-results.json. Measurements of this machine, not assertions.
 */
const LATENCY_ORDERS = Number(process.env.BENCH_WEBHOOK_ORDERS ?? 40);
const LOAD_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 10);
const LOAD_CLIENTS = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The runtime with the order hold given, a verifying receiver registered for OrderCreated, and a way to create orders. */
async function startBench(holdMs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-webhooks-'));
  const runtime = await startRuntime({
    port: await freePort(),
    dataDir,
    fresh: true,
    log: () => undefined,
    env: {
      ...process.env,
      MAX_PENDING_ORDERS_PER_CUSTOMER: '10000',
      SWEEP_INTERVAL_SECONDS: '86400',
      WEBHOOK_ORDER_HOLD_MS: String(holdMs),
    },
  });
  const receiver = await startReceiver();
  await runtime.deps.repo.commit([
    { kind: 'putProduct', product: { sku: SKU, name: 'Bench item', price: 100, stock: 1_000_000_000 } },
  ]);
  const { secret } = await createWebhookEndpoint(runtime.deps, { url: receiver.url, events: ['OrderCreated'] });
  receiver.setSecrets([secret]);
  const tokens = await Promise.all(
    Array.from({ length: LOAD_CLIENTS }, (_, i) => runtime.devIssuer.sign({ sub: `bench-webhooks-${i}` })),
  );
  const createOrder = (token: string) =>
    fetch(`${runtime.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: SKU, quantity: 1 }] }),
    }).then((response) => response.text());
  const stop = async () => {
    await receiver.stop();
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { receiver, tokens, createOrder, stop };
}

type Bench = Awaited<ReturnType<typeof startBench>>;
const latencyMs = (received: ReceivedWebhook) => received.receivedAt - Date.parse(received.event!.timestamp);

/** One order at a time: each event's own path, nothing queued before it. */
async function latency({ receiver, tokens, createOrder }: Bench) {
  for (let i = 0; i < LATENCY_ORDERS; i++) {
    await createOrder(tokens[0]!);
    await receiver.waitFor((received) => received.verified && receiver.received.length > i, 30_000);
    await sleep(50);
  }
  const latencies = receiver.received.slice(0, LATENCY_ORDERS).map(latencyMs);
  return {
    samples: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}

/** Several clients creating orders for the window, then every event drained. */
async function sustained({ receiver, tokens, createOrder }: Bench) {
  const before = receiver.received.length;
  const started = Date.now();
  let created = 0;
  await Promise.all(
    tokens.map(async (token) => {
      while (Date.now() - started < LOAD_SECONDS * 1000) {
        await createOrder(token);
        created++;
      }
    }),
  );
  const deadline = Date.now() + 120_000;
  while (receiver.received.length - before < created && Date.now() < deadline) await sleep(100);
  const load = receiver.received.slice(before);
  const lastAt = Math.max(...load.map((received) => received.receivedAt));
  return {
    clients: LOAD_CLIENTS,
    windowSeconds: LOAD_SECONDS,
    ordersCreated: created,
    delivered: load.length,
    allVerified: load.every((received) => received.verified),
    deliveriesPerSecond: round(load.length / ((lastAt - started) / 1000)),
    latencyP50Ms: percentile(load.map(latencyMs), 50),
    latencyP99Ms: percentile(load.map(latencyMs), 99),
  };
}

async function scenario(holdMs: number) {
  const bench = await startBench(holdMs);
  try {
    return { orderHoldMs: holdMs, latency: await latency(bench), sustained: await sustained(bench) };
  } finally {
    await bench.stop();
  }
}

async function main() {
  const machine = {
    nproc: cpus().length,
    loadAverage: loadavg().map((n) => round(n, 2)),
    at: new Date().toISOString(),
  };
  const results = { machine, scenarios: [] as Array<Awaited<ReturnType<typeof scenario>>> };
  for (const holdMs of [1000, 0]) {
    console.error(`webhooks: order hold ${holdMs} ms…`);
    results.scenarios.push(await scenario(holdMs));
  }
  writeFileSync(join(ROOT, 'bench/webhooks-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
