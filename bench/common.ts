import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SKU = 'BENCH-1';
export const execFileAsync = promisify(execFile);
export const CONCURRENCY = [1, 8, 32] as const;
export const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 4);
/**
 * The outbox publisher's duration per invocation in Lambda, an estimate: locally its bus is in
 * memory, in AWS one PutEvents round trip in the region (tens of ms).
 */
export const PUBLISHER_MS_ESTIMATE = 30;
/** The cost target per 1M completed payments the bench reports against. */
export const BUDGET_USD = 15;

export const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
