import { createHmac } from 'node:crypto';
import { generateBankKeys } from '../../local/sandbox/bank';
import { createCheckoutStore, type CheckoutStoreOptions } from '../../local/sandbox/store';
import type { CheckoutStore, OutboundCallback, ProviderSimulator, SandboxResponse } from '../../local/sandbox/types';
import type { RawCallback } from '../../shared/providers/types';

export const BANK_SANDBOX_BASE = 'http://127.0.0.1:3000/sandbox/bank';

/** Keys for one test file (HMAC secrets: cheap, but generated once like the RSA fixtures). */
export function bankTestKeys() {
  return generateBankKeys(BANK_SANDBOX_BASE);
}

/**
 * The sandbox's own store, as a provider simulator holds it. Refunds the simulators leave to end
 * "later" stay processing unless `defer` runs them: tests end them with `store.refunds.settle`.
 */
export function memoryCheckoutStore(options: Omit<CheckoutStoreOptions, 'publicBaseUrl'> = {}): CheckoutStore {
  return createCheckoutStore({ publicBaseUrl: 'http://127.0.0.1:3000', ...options });
}

/** A browser opening a URL served by the simulator: strips the sandbox base, calls `handle`. */
export function openInSimulator(simulator: ProviderSimulator, store: CheckoutStore, url: string, now: Date): Promise<SandboxResponse> {
  const parsed = new URL(url);
  const basePath = new URL(BANK_SANDBOX_BASE).pathname;
  if (!parsed.pathname.startsWith(basePath)) throw new Error(`not a bank sandbox URL: ${url}`);
  return simulator.handle(
    { method: 'GET', path: parsed.pathname.slice(basePath.length) || '/', query: parsed.searchParams, headers: {}, body: '' },
    store,
    now,
  );
}

/** The callback as our HTTP layer hands it to `verifyCallback`: lower-cased headers, raw bytes. */
export function toRawCallback(callback: OutboundCallback): RawCallback {
  const headers = Object.fromEntries(Object.entries(callback.headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { headers, body: Buffer.from(callback.body, 'utf8') };
}

/** Signs a hand-made body the way the bank does (written from docs/PROVIDERS.md#verifying-a-webhook, independently). */
export function bankV1(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signedBankCallback(body: string | Buffer, secret: string, timestamp: number): RawCallback {
  return {
    headers: { 'content-type': 'application/json', 'bank-signature': `t=${timestamp},v1=${bankV1(secret, timestamp, body)}` },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  };
}

export function bankCallbackBody(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_id: 'evt_1',
    payment_id: 'pay_1',
    transaction_id: 'txn_1',
    status: 'SUCCEEDED',
    amount: 12_345,
    currency: 'CNY',
    occurred_at: '2025-01-02T03:04:05.000Z',
    ...overrides,
  });
}
