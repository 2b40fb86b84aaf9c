import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb-emulator';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * The "done when", on one machine: `npm run webhooks:listen` registers itself with the
 * running service, `npm run demo` pays an order and refunds part of it, and the listener prints
 * every event from OrderCreated to RefundSucceeded, each verified with the Standard Webhooks library.
 */
const REPO = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(REPO, 'node_modules/.bin/tsx');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(TSX, [script, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(check: () => boolean, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let env: TestRuntime;

beforeAll(async () => {
  // A 30-minute payment: the demo then pays and refunds without waiting for an expiry.
  env = await startTestRuntime({ PAYMENT_TTL_MINUTES: '30', PAYMENT_REMINDER_MINUTES: '5' });
}, RUNTIME_START_TIMEOUT_MS);

afterAll(async () => {
  await env?.stop();
});

describe('npm run webhooks:listen with npm run demo', () => {
  it('receives OrderCreated … RefundSucceeded from the demo, each verified, each after one attempt failed on purpose', async () => {
    const shell = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: new URL(env.runtime.baseUrl).port,
      LOCAL_DATA_DIR: env.dataDir,
    };
    const listen = run('local/webhooks/listen.ts', ['--port', String(await freePort()), '--fail-first', '1'], shell);
    try {
      await until(
        () => listen.output().includes('Ctrl-C removes the endpoint'),
        () => listen.output(),
      );
      const demo = run('local/demo.ts', [], shell);
      expect(await demo.exited, demo.output()).toBe(0);
      const types = [
        'OrderCreated',
        'PaymentStarted',
        'PaymentSucceeded',
        'OrderPaid',
        'RefundRequested',
        'RefundSucceeded',
      ];
      const accepted = (type: string) =>
        listen
          .output()
          .split('\n')
          .filter((line) => line.includes(` ${type} `) && line.endsWith('verified → 204'));
      // Each retry comes after a jittered first hop (5 s ± 20 %), so they arrive in any order: wait for all.
      await until(
        () => types.every((type) => accepted(type).length > 0),
        () => listen.output(),
      );

      for (const type of types) expect(accepted(type), `${type}\n${listen.output()}`).toHaveLength(1);
      const lines = listen.output().split('\n');
      // Each event failed once on purpose (--fail-first 1) and came again with the same webhook-id.
      const retried = lines.filter((line) => line.endsWith('verified → 503'));
      expect(retried.length).toBeGreaterThanOrEqual(6);
      expect(listen.output()).not.toContain('NOT VERIFIED');
    } finally {
      listen.child.kill('SIGINT');
      await listen.exited;
    }
    expect(listen.output()).toMatch(/endpoint whe_[0-9a-z]+ removed/);
  }, 180_000);
});
