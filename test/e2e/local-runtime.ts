import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../local/dynamodb-emulator';
import { type Runtime, startRuntime } from '../../local/runtime';
import type { CustomerDecision } from '../../local/sandbox/types';
import { createPaymentsClient, type PaymentsClient } from '../../src/client/payments-client';
import { ADMIN_SCOPE } from '../../src/http/routes';

/** Short enough that expiry, reminders, sweeps and callback retries happen within a test. */
export const SHORT_SETTINGS = {
  PAYMENT_TTL_MINUTES: '1',
  PAYMENT_REMINDER_MINUTES: '0',
  SWEEP_INTERVAL_SECONDS: '1',
  SANDBOX_RETRY_DELAYS_MS: '100,200,500',
  LOCAL_VISIBILITY_TIMEOUT_SECONDS: '1',
  REFUND_SPACING_SECONDS: '0',
};

/** Startup runs a JVM (DynamoDB Local): 10–30 s on a loaded two-core machine. */
export const RUNTIME_START_TIMEOUT_MS = 120_000;

export interface TestRuntime {
  runtime: Runtime;
  dataDir: string;
  /** What the runtime logged, for a failing test's investigation. */
  logs: string[];
  /** A bearer token for this customer from the runtime's dev issuer (`admin`: with the payments:admin scope). */
  tokenFor(customerId: string, admin?: boolean): Promise<string>;
  /** A client signed in as this customer. */
  clientFor(customerId: string): Promise<PaymentsClient>;
  stop(): Promise<void>;
}

/**
 * `npm start` as a test runs it: a free port, a fresh table in the suite's DynamoDB Local
 * (test/support/global-setup.ts), its own data directory; `ownEmulator`: its own JVM, as `npm start`.
 */
export async function startTestRuntime(
  settings: Record<string, string> = {},
  { ownEmulator = false }: { ownEmulator?: boolean } = {},
): Promise<TestRuntime> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'payments-e2e-'));
  const logs: string[] = [];
  const runtime = await startRuntime({
    port: await freePort(),
    dataDir,
    fresh: true,
    ...(ownEmulator ? {} : { sharedDynamo: { endpoint: inject('dynamoEndpoint') } }),
    env: { ...SHORT_SETTINGS, ...settings },
    log: (line) => logs.push(line),
  });
  const tokenFor = (customerId: string, admin = false) =>
    runtime.devIssuer.sign({ sub: customerId, ...(admin ? { scope: ADMIN_SCOPE } : {}) });
  return {
    runtime,
    dataDir,
    logs,
    tokenFor,
    clientFor: async (customerId) =>
      createPaymentsClient({ baseUrl: runtime.baseUrl, token: await tokenFor(customerId) }),
    async stop() {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What the customer's browser does without a browser: opens the pay URL (following the provider's
 * redirects to the sandbox checkout page), then submits the form of the chosen button. Returns the
 * HTML of the page shown after the decision.
 */
export async function decideAtCheckout(payUrl: string | undefined, decision: CustomerDecision): Promise<string> {
  if (!payUrl) throw new Error('this scene has no pay URL: pay its action instead');
  const page = await fetch(payUrl);
  const html = await page.text();
  if (!page.ok) throw new Error(`pay URL ${payUrl} answered ${page.status}: ${html.slice(0, 300)}`);
  const action = new RegExp(`<form method="post" action="([^"]+)"><button type="submit" id="${decision}"`).exec(
    html,
  )?.[1];
  if (!action) throw new Error(`the checkout page at ${page.url} has no ${decision} button`);
  const response = await fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  return response.text();
}
