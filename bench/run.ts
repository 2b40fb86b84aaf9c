import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { startDynamoEmulator } from '../local/dynamodb-emulator';
import { startRuntime, type Runtime } from '../local/runtime';
import { loadOrCreateSandboxKeys } from '../local/sandbox/keys';
import { createBankSimulator } from '../local/sandbox/bank';
import { measureBundles } from './bundles';
import { costPerMillion, expiryCostPerMillion } from './cost';
import { ROOT, SKU, freePort, round } from './common';
import { markdown } from './report';
import { callbackToPaid } from './scenarios/callbacks';
import { expiryLoopUsage } from './scenarios/expiry-loop';
import { FLASH_SALE, flashSale } from './scenarios/flash-sale';
import { expiryWave } from './scenarios/expiry-wave';
import { capacityMeter, paymentLoopUsage } from './scenarios/payment-loop';
import { capturedCreate, throughput } from './scenarios/throughput';
import { verification } from './scenarios/verification';

/**
 * `npm run bench`: the whole performance picture in one bounded run (a few minutes), written to
 * bench/results.json and docs/PERFORMANCE.md. Measurements of this machine, not assertions. The
 * scenarios are in bench/scenarios/, the page in bench/report.ts.
 */
const USAGE = `usage: npm run bench  (tsx bench/run.ts)
       npm run bench -- flash-sale
       npm run bench -- expiry-wave

Runs every scenario (throughput against the floor, callbacks, verification, the cost loops,
bundles) on this machine in a few minutes and writes bench/results.json and docs/PERFORMANCE.md.
BENCH_WINDOW_SECONDS sets the length of each throughput window (default 4).

flash-sale: one SKU, 10,000 units, 64 in flight, unsharded and 4, 16, 64 shards under the
DynamoDB partition model (FLASH_PARTITION_UNITS per partition and second, default 100); replaces
\`flashSale\` in bench/results.json and keeps the rest. The full run keeps the last flashSale.

expiry-wave: WAVE_PAYMENTS (default 10,000) payments due in the same minute, WAVE_STARTED_PERCENT
(20) of them started at WeChat, drained through fauxqs by WAVE_CONTAINERS (4) expiry-worker
containers against the sandbox's limit (WAVE_PROVIDER_LIMIT per API and second, default 5) and
our own rate (WAVE_CALLS_PER_SECOND, 8), both scaled down so the emulator reaches them; replaces
\`expiryWave\` in bench/results.json.`;

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (process.argv.includes('flash-sale')) return runFlashSale();
  if (process.argv.includes('expiry-wave')) return runExpiryWave();
  const machine = {
    nproc: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.versions.node,
    loadAverage: loadavg().map((n) => round(n, 2)),
    at: new Date().toISOString(),
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-'));
  const runtime = await startRuntime({
    port: await freePort(),
    dataDir,
    fresh: true,
    log: () => undefined,
    env: {
      ...process.env,
      MAX_PENDING_ORDERS_PER_CUSTOMER: '10000',
      SWEEP_INTERVAL_SECONDS: '86400',
      LOCAL_VISIBILITY_TIMEOUT_SECONDS: '30',
    },
  });
  try {
    const measured = await runtimeScenarios(runtime, dataDir);
    await runtime.stop();
    console.error('verification, bundles…');
    const results = {
      machine,
      ...measured,
      verification: verification(),
      bundles: await measureBundles(10),
      flashSale: previousResults().flashSale,
      expiryWave: previousResults().expiryWave,
    };
    await write({ ...results, cost: costPerMillion(results.usage), expiryCost: expiryCostPerMillion(results.expiry) });
  } finally {
    await runtime.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The scenarios that need the local runtime, in their order. */
async function runtimeScenarios(runtime: Runtime, dataDir: string) {
  await runtime.deps.repo.commit([
    { kind: 'putProduct', product: { sku: SKU, name: 'Bench item', price: 100, stock: 1_000_000_000 } },
  ]);
  const tokens = await Promise.all(
    Array.from({ length: 256 }, (_, i) => runtime.devIssuer.sign({ sub: `bench-${i}` })),
  );
  const simulator = createBankSimulator((await loadOrCreateSandboxKeys(dataDir, runtime.baseUrl)).sandboxKeys.bank!);
  console.error('throughput: floor and service, interleaved…');
  const captureCustomer = `capture-${randomUUID()}`;
  const writeSet = await capturedCreate(
    runtime,
    await runtime.devIssuer.sign({ sub: captureCustomer }),
    captureCustomer,
  );
  const throughputRows = await throughput(runtime, tokens, writeSet);
  console.error('callbacks…');
  const callbacks = await callbackToPaid(runtime, simulator);
  console.error('cost loop…');
  const meter = capacityMeter(runtime);
  const usage = await paymentLoopUsage(runtime, simulator, tokens, meter);
  const expiry = await expiryLoopUsage(runtime, meter);
  return { throughput: throughputRows, callbacks, usage, expiry };
}

/** bench/results.json, and docs/PERFORMANCE.md formatted as the lint check wants it (a bench run leaves `npm run lint` green). */
async function write(unordered: Record<string, unknown> & { machine: Record<string, unknown> }) {
  // The keys in the order results.json has always had them.
  const order = [
    'machine',
    'throughput',
    'callbacks',
    'verification',
    'bundles',
    'usage',
    'cost',
    'expiry',
    'expiryCost',
    'flashSale',
    'expiryWave',
  ];
  const results = Object.fromEntries(order.map((key) => [key, unordered[key]])) as typeof unordered;
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const page = markdown(results);
  const pagePath = join(ROOT, 'docs', 'PERFORMANCE.md');
  writeFileSync(pagePath, await format(page, { ...(await resolveConfig(pagePath)), filepath: pagePath }));
  console.log(page);
}

function previousResults(): Record<string, unknown> & { machine: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as ReturnType<typeof previousResults>;
}

/** `npm run bench -- flash-sale`: that scenario alone, each row on an emulator of its own, into the last results. */
async function runFlashSale() {
  const loadBefore = loadavg().map((n) => round(n, 2));
  const rows = await flashSale();
  const flash = {
    at: new Date().toISOString(),
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg().map((n) => round(n, 2)),
    units: FLASH_SALE.units,
    inFlight: FLASH_SALE.inFlight,
    partitionUnitsPerSecond: FLASH_SALE.unitsPerSecond,
    rows,
  };
  await write({ ...previousResults(), flashSale: flash });
}

/** `npm run bench -- expiry-wave`: that scenario alone, on an emulator of its own, into the last results. */
async function runExpiryWave() {
  const emulator = await startDynamoEmulator();
  try {
    await write({ ...previousResults(), expiryWave: await expiryWave(emulator.endpoint) });
  } finally {
    await emulator.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
