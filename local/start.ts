import { businessDateOf } from '../src/domain/bill';
import { startRuntime } from './runtime';
import { localDataDir, localPort } from './settings';

/**
 * `npm start`: the whole service on this machine. `--fresh` (or LOCAL_FRESH=1) keeps the database
 * in memory; otherwise it lives under `.local/` and survives restarts.
 */
async function main() {
  const port = localPort();
  const dataDir = localDataDir();
  const fresh = process.argv.includes('--fresh') || process.env.LOCAL_FRESH === '1';
  const runtime = await startRuntime({ port, dataDir, fresh, paymentsConfigPath: process.env.PAYMENTS_CONFIG });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping (emulator, queues, sandbox)…`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const base = runtime.baseUrl;
  console.log(`
  Payments backend — local runtime ready
    API            ${base}/api        (OpenAPI: ${base}/api/openapi.json)
    Health         ${base}/health
    Dashboard      ${base}/_local/dashboard
    Events         ${base}/_local/events
    Sandbox        pay URLs from POST /api/payments/{id}/start open ${base}/sandbox/checkout/…
    Token          npm run token -- <customerId>        (admin: add --admin)
    Try it         npm run demo
    Reconcile      npm run reconcile -- --date ${businessDateOf(new Date())}   (today's bills, from the sandbox)
    Config         ${runtime.configPath}${process.env.PAYMENTS_CONFIG ? ' (PAYMENTS_CONFIG)' : ' (generated sandbox keys)'}
    Data           ${fresh ? 'in memory (--fresh)' : dataDir}
  Ctrl-C stops everything it started.
`);
}

main().catch((error: Error) => {
  console.error(`\nnpm start failed: ${error.message}`);
  process.exit(1);
});
