import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateAlipayKeys } from '../../local/sandbox/alipay';
import type { CheckoutStore, OutboundCallback, ProviderSimulator, SandboxResponse } from '../../local/sandbox/types';
import type { FetchLike } from '../../src/providers/kit/http';
import type { RawCallback } from '../../src/core/payments/provider';

export const ALIPAY_SANDBOX_BASE = 'http://127.0.0.1:3000/sandbox/alipay';

/** Two RSA 2048 pairs: generate once per test file. */
export function alipayTestKeys() {
  return generateAlipayKeys(ALIPAY_SANDBOX_BASE);
}

/** A private key Alipay has never seen (a misconfigured merchant, or a forger). */
export function strangerPrivateKey(): string {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}

export { memoryCheckoutStore } from './bank-fixtures';

function sandboxPath(url: URL): string {
  const basePath = new URL(ALIPAY_SANDBOX_BASE).pathname;
  if (!url.pathname.startsWith(basePath)) throw new Error(`not an Alipay sandbox URL: ${url.href}`);
  return url.pathname.slice(basePath.length) || '/';
}

/** A browser opening a URL served by the simulator (the pay URL). */
export function openInSimulator(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  url: string,
  now: Date,
): Promise<SandboxResponse> {
  const parsed = new URL(url);
  return simulator.handle(
    { method: 'GET', path: sandboxPath(parsed), query: parsed.searchParams, headers: {}, body: '' },
    store,
    now,
  );
}

/**
 * The merchant module's `fetch`, wired straight to the simulator's `handle`, so the sandbox
 * checks the real signatures of our outbound requests. `rewrite` lets a test tamper with the
 * answer on its way back.
 */
export function simulatorFetch(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  now: Date,
  rewrite: (body: string) => string = (body) => body,
): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(input);
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const response = await simulator.handle(
      { method: init.method ?? 'GET', path: sandboxPath(url), query: url.searchParams, headers, body: init.body ?? '' },
      store,
      now,
    );
    // A real Response, so binary answers (the bill ZIP) can be read with arrayBuffer().
    const body = response.bytes ?? rewrite(response.body);
    return new Response(body.length === 0 ? null : body, { status: response.statusCode, headers: response.headers });
  };
}

/** A fetch that passes everything on but hands the bill ZIP (a GET of the download path) through `rewrite`. */
export function rewritingBillDownloads(fetch: FetchLike, rewrite: (zip: Buffer) => Buffer): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (
      !new URL(input).pathname.endsWith('/downloadBillFile.resource') ||
      response.status !== 200 ||
      !response.arrayBuffer
    )
      return response;
    const zip = rewrite(Buffer.from(await response.arrayBuffer()));
    return new Response(zip, { status: 200, headers: { 'content-type': 'application/zip' } });
  };
}

/**
 * A day's detail file as Alipay writes it, GBK bytes (made with Python's gbk codec, independently
 * of the sandbox's encoder): `#` head lines, the header row, id fields ending in TABs (one padded
 * with spaces), a quoted 商品名称 with a comma and quotes, two trades, a refund of ours (ref_1)
 * and a console refund (HZ01RF…) of an older payment with negative amounts, the `#` footer.
 */
export const ALIPAY_BILL_FIXTURE_DATE = '2026-11-27';
export function alipayDetailFixture(): Buffer {
  return readFileSync(new URL('./bills/alipay-detail-20261127.gbk.csv', import.meta.url));
}

/**
 * The same day with the footer in Alipay's older wording (`#交易合计：4笔，交易金额共0.08元，优惠金额共0.00元`,
 * as published merchant code still reads it): 交易金额 sums 订单金额, 优惠金额 订单金额 less 商家实收.
 */
export function alipayDetailOlderFooterFixture(): Buffer {
  return readFileSync(new URL('./bills/alipay-detail-20261127-older-footer.gbk.csv', import.meta.url));
}

/** The callback as our HTTP layer hands it to `verifyCallback`: lower-cased headers, raw bytes. */
export function toRawCallback(callback: OutboundCallback): RawCallback {
  const headers = Object.fromEntries(
    Object.entries(callback.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  return { headers, body: Buffer.from(callback.body, 'utf8') };
}

export function formFields(body: string | Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body.toString()));
}

/**
 * The signed string, written from docs/PROVIDERS.md#sign-content independently of both modules: sorted keys,
 * `key=value` over raw values, joined by `&`, empty values and the omitted keys left out.
 */
export function referenceSignString(params: Readonly<Record<string, string>>, omitted: readonly string[]): string {
  return Object.keys(params)
    .filter((key) => !omitted.includes(key) && params[key] !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/**
 * A notification body signed as Alipay does: over every field but sign and sign_type, or, with
 * `keepSignType`, the variant whose string keeps sign_type.
 */
export function signedNotification(
  fields: Readonly<Record<string, string>>,
  alipayPrivateKey: string,
  { keepSignType = false } = {},
): RawCallback {
  const unsigned = Object.fromEntries(Object.entries(fields).filter(([key]) => key !== 'sign'));
  const content = referenceSignString(unsigned, keepSignType ? [] : ['sign_type']);
  const signature = sign('sha256', Buffer.from(content, 'utf8'), alipayPrivateKey).toString('base64');
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: Buffer.from(new URLSearchParams({ ...unsigned, sign: signature }).toString(), 'utf8'),
  };
}

/** A fetch answering every call with `node` as `nodeName`, signed as Alipay signs: over the node's exact text. */
export function signedGatewayAnswer(nodeName: string, node: object, alipayPrivateKey: string): FetchLike {
  const nodeText = JSON.stringify(node);
  const signature = sign('sha256', Buffer.from(nodeText, 'utf8'), alipayPrivateKey).toString('base64');
  const body = `{"${nodeName}":${nodeText},"sign":"${signature}"}`;
  return async () => ({
    status: 200,
    headers: { get: () => 'application/json;charset=utf-8' },
    text: async () => body,
  });
}

/** The `method` of every request a fetch passed on, oldest first. */
export function recordingMethods(fetch: FetchLike): {
  fetch: FetchLike;
  methods: string[];
  bizContents: Record<string, unknown>[];
} {
  const methods: string[] = [];
  const bizContents: Record<string, unknown>[] = [];
  return {
    methods,
    bizContents,
    fetch: async (input, init) => {
      const params = new URLSearchParams(init?.body ?? '');
      methods.push(params.get('method') ?? '');
      bizContents.push(JSON.parse(params.get('biz_content') ?? '{}') as Record<string, unknown>);
      return fetch(input, init);
    },
  };
}

/**
 * The trade_status_sync Alipay sends after a refund, written from docs/PROVIDERS.md#alipay-refunds: the payment's
 * fields plus out_biz_no, refund_fee (CUMULATIVE, yuan) and gmt_refund. Sign with `signedNotification`.
 */
export function refundNotificationFields(
  appId: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    notify_time: '2025-01-02 11:10:00',
    notify_type: 'trade_status_sync',
    notify_id: 'notify_refund_1',
    app_id: appId,
    charset: 'utf-8',
    version: '1.0',
    sign_type: 'RSA2',
    trade_no: '2025010222001400001234567890',
    out_trade_no: 'pay_42',
    out_biz_no: 'ref_1',
    trade_status: 'TRADE_SUCCESS',
    total_amount: '123.45',
    receipt_amount: '123.45',
    buyer_pay_amount: '123.45',
    refund_fee: '23.45',
    gmt_create: '2025-01-02 11:04:00',
    gmt_payment: '2025-01-02 11:04:59',
    gmt_refund: '2025-01-02 11:09:58',
    seller_id: '2088000000000001',
    subject: 'Order ord_42',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
