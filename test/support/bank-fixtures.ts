import { createHmac } from 'node:crypto';
import { generateBankKeys } from '../../local/sandbox/bank';
import { createCheckoutStore, type CheckoutStoreOptions } from '../../local/sandbox/store';
import type { CheckoutStore, OutboundCallback, ProviderSimulator, SandboxResponse } from '../../local/sandbox/types';
import type { FetchLike } from '../../src/providers/kit/http';
import type { RawCallback } from '../../src/core/payments/provider';

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
export function openInSimulator(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  url: string,
  now: Date,
): Promise<SandboxResponse> {
  const parsed = new URL(url);
  const basePath = new URL(BANK_SANDBOX_BASE).pathname;
  if (!parsed.pathname.startsWith(basePath)) throw new Error(`not a bank sandbox URL: ${url}`);
  return simulator.handle(
    {
      method: 'GET',
      path: parsed.pathname.slice(basePath.length) || '/',
      query: parsed.searchParams,
      headers: {},
      body: '',
    },
    store,
    now,
  );
}

/** The callback as our HTTP layer hands it to `verifyCallback`: lower-cased headers, raw bytes. */
export function toRawCallback(callback: OutboundCallback): RawCallback {
  const headers = Object.fromEntries(
    Object.entries(callback.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  return { headers, body: Buffer.from(callback.body, 'utf8') };
}

/** Signs a hand-made body the way the bank does (written from docs/PROVIDERS.md#verifying-a-webhook, independently). */
export function bankV1(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signedBankCallback(body: string | Buffer, secret: string, timestamp: number): RawCallback {
  return {
    headers: {
      'content-type': 'application/json',
      'bank-signature': `t=${timestamp},v1=${bankV1(secret, timestamp, body)}`,
    },
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

export interface SentBankRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** The merchant module's `fetch`, wired to the bank simulator (sandbox base stripped); `tamper` edits answers. */
export function bankSimulatorFetch(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  now: Date,
  options: { sent?: SentBankRequest[]; tamper?: (response: SandboxResponse) => SandboxResponse } = {},
): FetchLike {
  const basePath = new URL(BANK_SANDBOX_BASE).pathname;
  return async (input, init = {}) => {
    const url = new URL(input);
    if (!url.pathname.startsWith(basePath)) throw new Error(`not a bank sandbox URL: ${input}`);
    const method = init.method ?? 'GET';
    const body = init.body ?? '';
    options.sent?.push({ url: input, method, headers: init.headers ?? {}, body });
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const answer = await simulator.handle(
      { method, path: url.pathname.slice(basePath.length), query: url.searchParams, headers, body },
      store,
      now,
    );
    const response = options.tamper ? options.tamper(answer) : answer;
    return new Response(response.bytes ? new Uint8Array(response.bytes) : response.body, {
      status: response.statusCode,
      headers: response.headers,
    });
  };
}

/** A request's Bank-Signature as the bank checks it (written from docs/PROVIDERS.md#bank-refunds): HMAC over `${t}.${METHOD}.${path}.${body}`. */
export function bankRequestSignature(
  secret: string,
  timestamp: number,
  method: string,
  path: string,
  body: string,
): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${method}.${path}.${body}`).digest('hex')}`;
}

/** A fetch answering every call with `payload`, signed as the bank signs its answers (like its webhooks). */
export function signedBankAnswer(secret: string, status: number, payload: unknown, now: Date): FetchLike {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = new Headers({
    'content-type': 'application/json',
    'bank-signature': `t=${timestamp},v1=${bankV1(secret, timestamp, body)}`,
  });
  return async () => ({ status, headers, text: async () => body });
}

/** A refund as the bank's API answers it. */
export function bankRefundAnswer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    refund_id: 'ref_1',
    payment_id: 'pay_1',
    amount: 2_345,
    currency: 'CNY',
    status: 'succeeded',
    created_at: '2025-01-02T03:04:00.000Z',
    succeeded_at: '2025-01-02T03:04:05.000Z',
    ...overrides,
  };
}

/** A refund.* webhook body. */
export function bankRefundEventBody(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_id: 'evt_r1',
    type: 'refund.succeeded',
    refund_id: 'ref_1',
    payment_id: 'pay_1',
    amount: 2_345,
    currency: 'CNY',
    occurred_at: '2025-01-02T03:04:05.000Z',
    ...overrides,
  });
}

/** The day of the hand-written settlement report below (a Beijing date). */
export const BANK_REPORT_DATE = '2026-11-27';

export const BANK_REPORT_HEADER =
  'record_type,transaction_id,merchant_reference,refund_id,bank_refund_id,amount,currency,status,booked_at';

/**
 * Lines of a settlement report as the bank writes one (docs/PROVIDERS.md#bank-settlement-report),
 * written by hand rather than by the simulator: a merchant reference with a comma and one with
 * quotes (RFC 4180 quoting), a reversed payment, a console refund (its refund_id is the bank's
 * own), every refund status, `Z` and `+08:00` offsets, the day's first and last second.
 */
export const BANK_REPORT_LINES: readonly string[] = [
  'payment,txn_a1,pay_0001,,,12345,CNY,succeeded,2026-11-27T09:15:02+08:00',
  'payment,txn_a2,"pay_0002,gift",,,500,CNY,succeeded,2026-11-27T23:59:59+08:00',
  'payment,txn_a3,"pay_""q""",,,100,CNY,reversed,2026-11-27T00:00:00+08:00',
  'refund,txn_a1,pay_0001,ref_0001,re_b1,2345,CNY,succeeded,2026-11-27T10:00:00+08:00',
  'refund,txn_a1,pay_0001,re_b2,re_b2,1000,CNY,succeeded,2026-11-27T11:00:00+08:00',
  'refund,txn_a2,"pay_0002,gift",ref_0002,re_b3,200,CNY,pending,2026-11-27T12:00:00Z',
  'refund,txn_a1,pay_0001,ref_0003,re_b4,300,CNY,failed,2026-11-27T13:00:00+08:00',
  'refund,txn_a1,pay_0001,ref_0004,re_b5,50,CNY,requires_action,2026-11-27T14:00:00+08:00',
];

export const BANK_REPORT_TRAILER =
  '#totals,report_date=2026-11-27,payment_count=3,payment_amount=12945,refund_count=5,refund_amount=3895';

/** The report's text: header, lines, trailer (left out when null), each ended by CRLF. */
export function bankReport(
  lines: readonly string[] = BANK_REPORT_LINES,
  trailer: string | null = BANK_REPORT_TRAILER,
  header: string = BANK_REPORT_HEADER,
): string {
  return [header, ...lines, ...(trailer === null ? [] : [trailer])].map((line) => `${line}\r\n`).join('');
}
