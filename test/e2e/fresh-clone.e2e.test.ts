import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb-emulator';

/**
 * The newcomer's path, as the README writes it: the committed tree (git ls-files) in an empty
 * directory, `npm start` with no environment of ours (no --fresh, no LOCAL_DATA_DIR), `npm run
 * demo` against it, Ctrl-C, `npm start` again and the demo's order is still there. Then the three
 * mistakes a newcomer makes first, each answered by one line that says what to do.
 *
 * node_modules is linked from this checkout rather than installed again: `npm ci` itself is what
 * CI runs before this suite, on the same lock file.
 */
const REPO = path.resolve(import.meta.dirname, '../..');
const STARTUP_MS = 120_000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A copy of what `git clone` would give, plus the installed dependencies. */
function committedCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'payments-clone-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(REPO, file), path.join(dir, file));
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** A shell's environment: PATH and HOME, none of the project's variables. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

interface Started {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm <args>` in its own process group, as a terminal runs it (Ctrl-C reaches the whole group). */
function npm(cwd: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(NPM, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function untilHealthy(baseUrl: string, started: Started): Promise<void> {
  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    if (started.process.exitCode !== null)
      throw new Error(`npm start exited ${started.process.exitCode}:\n${started.output()}`);
    const response = await fetch(`${baseUrl}/health`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`npm start did not become healthy within ${STARTUP_MS} ms:\n${started.output()}`);
}

/**
 * Ctrl-C: SIGINT to the foreground process group. Resolves once no process of the group is left
 * (npm, the runtime, the DynamoDB Local JVM); false when some outlived the grace period.
 */
async function pressCtrlC(started: Started, graceMs = 20_000): Promise<boolean> {
  const group = -started.process.pid!;
  process.kill(group, 'SIGINT');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    try {
      process.kill(group, 0);
    } catch {
      return true; // ESRCH: the whole group is gone
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.kill(group, 'SIGKILL');
  return false;
}

/** What `npm run <script>` printed and how it ended. */
async function npmRun(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  const run = npm(cwd, args, env);
  const code = await run.exited;
  return { code, output: run.output() };
}

/** Our one-line answer among npm's own lines. */
function startFailure(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('npm start failed:'));
}

function emulatorsUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'DynamoDBLocal.jar'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(dir));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('a fresh clone, used the way the README says', () => {
  let clone: string;
  let port: number;
  let baseUrl: string;
  let env: NodeJS.ProcessEnv;
  const running: Started[] = [];

  beforeAll(async () => {
    clone = committedCopy();
    // The README's port when it is free here; another one (through the documented PORT) otherwise.
    const defaultFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(3000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    port = defaultFree ? 3000 : await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = userEnv(defaultFree ? {} : { PORT: String(port) });
  });

  afterAll(async () => {
    for (const started of running) await pressCtrlC(started).catch(() => undefined);
    rmSync(clone, { recursive: true, force: true });
  });

  it(
    'starts with no setup, pays the demo order, and still has it after Ctrl-C and a restart',
    async () => {
      const first = npm(clone, ['start'], env);
      running.push(first);
      await untilHealthy(baseUrl, first);

      // While it runs, a second `npm start` on the same port is the first mistake people make.
      const twice = await npmRun(clone, ['start'], env);
      expect(twice.code).not.toBe(0);
      expect(startFailure(twice.output)).toEqual([
        `npm start failed: Port ${port} is already in use: stop what runs there or set PORT to another port.`,
      ]);

      const demo = await npmRun(clone, ['run', 'demo'], env);
      expect(demo.code, demo.output).toBe(0);
      const orderId = /order\s+(ord_[0-9a-z]+) paid/.exec(demo.output)?.[1];
      expect(orderId, demo.output).toBeDefined();
      // The banner's reconcile line, as printed: today's bills from the sandbox against the ledger.
      const reconcileLine = /npm run reconcile -- --date (\d{4}-\d{2}-\d{2})/.exec(first.output())?.[1];
      expect(reconcileLine, first.output()).toBeDefined();
      const reconcile = await npmRun(clone, ['run', 'reconcile', '--', '--date', reconcileLine!], env);
      expect(reconcile.code, reconcile.output).toBe(0);
      // The demo's payment and its partial refund, both in WeChat's bill and our ledger; the bank's
      // report of a day without trades is empty; Alipay publishes no bill for such a day (not yet final today).
      expect(reconcile.output).toMatch(/wechat\s+reconciled\s+2\s+2\s+0\s/);
      expect(reconcile.output).toMatch(/bank\s+reconciled\s+0\s+0\s+0\s/);
      expect(reconcile.output).toMatch(/alipay\s+bill_not_ready\s/);

      expect(await pressCtrlC(first)).toBe(true);
      expect(first.output()).toContain('SIGINT: stopping');

      const second = npm(clone, ['start'], env);
      running.push(second);
      await untilHealthy(baseUrl, second);
      const token = await npmRun(clone, ['run', '-s', 'token', '--', 'demo-customer'], env);
      expect(token.code, token.output).toBe(0);
      const response = await fetch(`${baseUrl}/api/orders/${orderId}`, {
        headers: { authorization: `Bearer ${token.output.trim().split('\n').at(-1)}` },
      });
      expect(response.status).toBe(200);
      const { order } = (await response.json()) as { order: { orderId: string; status: string } };
      expect(order).toMatchObject({ orderId, status: 'paid' });
      expect(await pressCtrlC(second)).toBe(true);

      // --fresh keeps the database in memory: the order on disk is not in it.
      const fresh = npm(clone, ['start', '--', '--fresh'], env);
      running.push(fresh);
      await untilHealthy(baseUrl, fresh);
      const freshToken = await npmRun(clone, ['run', '-s', 'token', '--', 'demo-customer'], env);
      const inMemory = await fetch(`${baseUrl}/api/orders/${orderId}`, {
        headers: { authorization: `Bearer ${freshToken.output.trim().split('\n').at(-1)}` },
      });
      expect(inMemory.status).toBe(404);
      expect(await pressCtrlC(fresh)).toBe(true);
      expect(emulatorsUnder(clone)).toEqual([]);
    },
    4 * STARTUP_MS,
  );

  it(
    'says in one line what to do when Java is missing',
    async () => {
      // node, npm and the shell npm runs scripts with on PATH; java not.
      const bin = mkdtempSync(path.join(tmpdir(), 'payments-nojava-'));
      symlinkSync(process.execPath, path.join(bin, 'node'));
      for (const tool of ['npm', 'sh'])
        symlinkSync(
          execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
          path.join(bin, tool),
        );
      const noJava = await npmRun(clone, ['start'], { ...env, PATH: bin, PORT: String(await freePort()) });
      rmSync(bin, { recursive: true, force: true });
      expect(noJava.code).not.toBe(0);
      expect(startFailure(noJava.output)).toEqual([
        'npm start failed: Java is required for the DynamoDB emulator: install a JRE (apt-get install -y openjdk-17-jre-headless).',
      ]);
    },
    STARTUP_MS,
  );

  it(
    'says in one line what to do when .local holds a damaged database',
    async () => {
      const damaged = committedCopy();
      try {
        mkdirSync(path.join(damaged, '.local', 'dynamodb'), { recursive: true });
        writeFileSync(
          path.join(damaged, '.local', 'dynamodb', 'shared-local-instance.db'),
          'this is not an SQLite file',
        );
        const answer = await npmRun(damaged, ['start'], { ...env, PORT: String(await freePort()) });
        expect(answer.code).not.toBe(0);
        expect(startFailure(answer.output)).toEqual([
          `npm start failed: The local database in ${path.join(damaged, '.local', 'dynamodb')} cannot be read (file is encrypted or is not a database): move that folder aside or delete it to start with an empty one, or run npm start -- --fresh.`,
        ]);
        expect(emulatorsUnder(damaged)).toEqual([]);
      } finally {
        rmSync(damaged, { recursive: true, force: true });
      }
    },
    STARTUP_MS,
  );
});
