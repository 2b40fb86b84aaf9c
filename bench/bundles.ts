import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { BUNDLE_ALIASES } from '../cdk/bundle-aliases';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * The target for every function's bundle without providers, and a ceiling for all. Functions
 * without providers are 300–354 KiB (openapi 160): each carries the whole route table with every
 * route's schemas (shop, staff, webhooks, scenes) and every table function the repository facade
 * with all its aggregates; those with providers are up to 425 KiB (the AWS SDK core, Powertools,
 * the Secrets Manager client, and the three provider modules with their scenes and bill parsers,
 * which only the reconciliation uses but a single-file bundle cannot leave out). The test
 * (test/cdk/bundles.test.ts) holds both a little above today's largest, so a regression such as a
 * client imported by a function without its access, or zod's full import (about 945 KB), fails;
 * the init-time ceiling (60 ms) is the bench's. bench/bundle-contents.ts shows where a bundle's
 * bytes go. Was 300 / 392 KiB before the staff, webhook, scene and sharded-stock routes; the
 * ceiling was 440 KiB until the staff re-run of a reconciliation day (rerun-reconciliation, 457 KiB
 * with the scenes' error tables: an HTTP function's route table plus the whole reconciliation with
 * every provider's bill parser). Per-function route and store modules would bring every bundle down.
 */
export const BUNDLE_TARGET_BYTES = 368 * 1024;
export const MAX_BUNDLE_BYTES = 464 * 1024;

/** esbuild options of the CDK's NodejsFunction bundling (cdk/payments-function.ts): ESM, minified, node22. */
export const CDK_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  external: [],
  alias: { ...BUNDLE_ALIASES },
  absWorkingDir: ROOT,
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'silent',
};

export const FUNCTIONS = readdirSync(join(ROOT, 'functions')).sort();

export interface FunctionBundle {
  /** The minified bundle, in memory. */
  code: Uint8Array;
  /** The modules with code in it: paths relative to the project root (node_modules/..., src/...). */
  inputs: string[];
  /** Each of those modules' bytes in the bundle (esbuild's bytesInOutput). */
  bytesByInput: Record<string, number>;
}

/** The function's bundle, as the CDK builds it. */
export async function bundle(fn: string): Promise<FunctionBundle> {
  const result = await build({
    ...CDK_BUNDLING,
    entryPoints: [join(ROOT, 'functions', fn, 'handler.ts')],
    write: false,
    outfile: `${fn}.mjs`,
    metafile: true,
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  const bytesByInput = Object.fromEntries(
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path, input]) => [path, input.bytesInOutput]),
  );
  return { code: result.outputFiles[0]!.contents, inputs: Object.keys(bytesByInput), bytesByInput };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Wall time of a fresh node process: bare, or importing one module. */
function processMs(args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, AWS_REGION: 'us-east-1' } });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export interface BundleFigure {
  fn: string;
  bytes: number;
  /** Median over `runs` fresh processes of importing the bundle, minus a bare node start. */
  initMs: number;
}

/**
 * Size and module init time of every function's bundle: the median over `runs` pairs of a fresh
 * process importing the bundle minus a bare one started just before it (a bare start varies by tens
 * of ms over a run on this machine; measured once, its drift showed as init).
 */
export async function measureBundles(runs = 10): Promise<BundleFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bundles-'));
  try {
    const figures: BundleFigure[] = [];
    for (const fn of FUNCTIONS) {
      const { code } = await bundle(fn);
      const file = join(dir, `${fn}.mjs`);
      writeFileSync(file, code);
      const overBare = Array.from({ length: runs }, () => -processMs(['-e', '']) + processMs([file]));
      figures.push({ fn, bytes: code.length, initMs: Math.max(0, median(overBare)) });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await measureBundles(Number(process.argv[2] ?? 10));
  console.log('| function | bundle KB | init ms over bare node |\n| --- | ---: | ---: |');
  for (const { fn, bytes, initMs } of figures)
    console.log(`| ${fn} | ${(bytes / 1024).toFixed(1)} | ${initMs.toFixed(1)} |`);
}
