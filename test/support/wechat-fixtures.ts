import { createCipheriv, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type {
  CheckoutStore,
  ProviderSimulator,
  SandboxCheckout,
  SandboxRequest,
  SandboxResponse,
} from '../../local/sandbox/types';
import type { WechatSandboxKeys } from '../../local/sandbox/wechat-signing';
import type { WechatConfig } from '../../src/providers/config';
import type { FetchLike } from '../../src/providers/kit/http';
import type { RawCallback } from '../../src/core/payments/provider';

/**
 * WeChat test fixtures. The signing and encryption here are written from docs/PROVIDERS.md#verifying-a-callback on their
 * own (not borrowed from the merchant module or the simulator), so hand-made callbacks and
 * answers check both sides against the spec.
 */

export const WECHAT_SANDBOX_BASE = 'http://127.0.0.1:3000/sandbox/wechat';

export function rsaPemPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

export interface SentRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The merchant module's `fetch`, wired straight to the simulator's `handle`: strips the sandbox
 * base path as the local runtime does. `tamper` edits the simulator's answer on its way back;
 * `sent` collects what the merchant sent.
 */
export function simulatorFetch(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  options: { now: () => Date; tamper?: (response: SandboxResponse) => SandboxResponse; sent?: SentRequest[] },
): FetchLike {
  const basePath = new URL(WECHAT_SANDBOX_BASE).pathname;
  return async (input, init = {}) => {
    const url = new URL(input);
    if (!url.pathname.startsWith(`${basePath}/`)) throw new Error(`not a WeChat sandbox URL: ${input}`);
    const method = init.method ?? 'GET';
    const headers = init.headers ?? {};
    const body = init.body ?? '';
    options.sent?.push({ url: input, method, headers, body });
    const request: SandboxRequest = {
      method,
      path: url.pathname.slice(basePath.length),
      query: url.searchParams,
      headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
      body,
    };
    const answer = await simulator.handle(request, store, options.now());
    const response = options.tamper ? options.tamper(answer) : answer;
    return asFetchResponse(response);
  };
}

/** A simulator answer as `fetch` hands it over: text, or a file's bytes. */
export function asFetchResponse(response: SandboxResponse): Response {
  const content = response.bytes ? new Uint8Array(response.bytes) : response.body === '' ? null : response.body;
  return new Response(content, { status: response.statusCode, headers: response.headers });
}

/** Wechatpay-* headers (lower-cased, as our HTTP layer hands them over) over `ts\nnonce\nbody\n`. */
export function wechatpayHeaders(
  signer: { privateKey: string; serial: string },
  body: string | Buffer,
  timestampSeconds: number,
  nonce = randomBytes(16).toString('hex'),
): Record<string, string> {
  const message = Buffer.concat([Buffer.from(`${timestampSeconds}\n${nonce}\n`), Buffer.from(body), Buffer.from('\n')]);
  return {
    'wechatpay-timestamp': String(timestampSeconds),
    'wechatpay-nonce': nonce,
    'wechatpay-signature': sign('sha256', message, signer.privateKey).toString('base64'),
    'wechatpay-serial': signer.serial,
    'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
  };
}

export function platformSigner(keys: WechatSandboxKeys): { privateKey: string; serial: string } {
  return { privateKey: keys.platformPrivateKey, serial: keys.platformSerial };
}

export function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A decrypted transaction as WeChat documents it; `overrides` replace top-level fields. */
export function wechatTransaction(
  keys: WechatSandboxKeys,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    appid: keys.appid,
    mchid: keys.mchid,
    out_trade_no: 'pay_000001',
    transaction_id: '4200000000202611250000000001',
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: '2026-11-25T11:59:30+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: 12_345, payer_total: 12_345, currency: 'CNY', payer_currency: 'CNY' },
    ...overrides,
  };
}

export interface NotificationOptions {
  /** Signing time. */
  now: Date;
  id?: string;
  /** Encrypt with this key instead of the sandbox's APIv3 key. */
  apiV3Key?: string;
  /** AAD used to encrypt (default: the original type). */
  associatedData?: string;
  /** AAD the envelope declares (default: the one used); null leaves the field out. */
  declaredAssociatedData?: string | null;
  /** Default 'transaction'; null leaves the field out. */
  originalType?: string | null;
  /** Default TRANSACTION.SUCCESS. */
  eventType?: string;
}

/**
 * A signed v3 notification around `transaction` (an object, or raw JSON text to test parsing),
 * as WeChat sends it.
 */
export function wechatNotification(
  keys: WechatSandboxKeys,
  transaction: object | string,
  options: NotificationOptions,
): RawCallback {
  const originalType = options.originalType === undefined ? 'transaction' : options.originalType;
  const associatedData = options.associatedData ?? originalType ?? 'transaction';
  const declared = options.declaredAssociatedData === undefined ? associatedData : options.declaredAssociatedData;
  const nonce = randomBytes(6).toString('hex');
  const cipher = createCipheriv(
    'aes-256-gcm',
    Buffer.from(options.apiV3Key ?? keys.apiV3Key, 'utf8'),
    Buffer.from(nonce, 'utf8'),
  );
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const plaintext = typeof transaction === 'string' ? transaction : JSON.stringify(transaction);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString(
    'base64',
  );
  const body = JSON.stringify({
    id: options.id ?? 'EV-2018022511223320873',
    create_time: '2026-11-25T12:00:00+08:00',
    resource_type: 'encrypt-resource',
    event_type: options.eventType ?? 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: {
      ...(originalType === null ? {} : { original_type: originalType }),
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext,
      ...(declared === null ? {} : { associated_data: declared }),
      nonce,
    },
  });
  return {
    headers: {
      'content-type': 'application/json',
      ...wechatpayHeaders(platformSigner(keys), body, seconds(options.now)),
    },
    body: Buffer.from(body),
  };
}

/** A `fetch` that answers every call with one platform-signed JSON answer (for mapping tables). */
export function signedAnswerFetch(keys: WechatSandboxKeys, status: number, payload: unknown, now: Date): FetchLike {
  const body = JSON.stringify(payload);
  const headers = new Headers({
    'content-type': 'application/json',
    ...wechatpayHeaders(platformSigner(keys), body, seconds(now)),
  });
  return async () => ({ status, headers, text: async () => body });
}

/** A refund notification's decrypted resource as WeChat documents it (no appid); `overrides` replace top-level fields. */
export function wechatRefundResource(
  keys: WechatSandboxKeys,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    mchid: keys.mchid,
    out_trade_no: 'pay_000001',
    transaction_id: '4200000000202611250000000001',
    out_refund_no: 'ref_000001',
    refund_id: '50000000382019052709732678859',
    refund_status: 'SUCCESS',
    success_time: '2026-11-25T12:01:02+08:00',
    user_received_account: '支付用户零钱',
    amount: { total: 12_345, refund: 2_345, payer_total: 12_345, payer_refund: 2_345 },
    ...overrides,
  };
}

/** A signed REFUND.* notification around `resource` (original_type refund, AAD refund). */
export function wechatRefundNotification(
  keys: WechatSandboxKeys,
  resource: object | string,
  options: NotificationOptions,
): RawCallback {
  return wechatNotification(keys, resource, { originalType: 'refund', eventType: 'REFUND.SUCCESS', ...options });
}

/** A refund as the create and query calls answer it; `overrides` replace top-level fields. */
export function wechatRefundAnswer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    refund_id: '50000000382019052709732678859',
    out_refund_no: 'ref_000001',
    transaction_id: '4200000000202611250000000001',
    out_trade_no: 'pay_000001',
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    success_time: '2026-11-25T12:01:02+08:00',
    create_time: '2026-11-25T12:00:58+08:00',
    status: 'SUCCESS',
    funds_account: 'AVAILABLE',
    amount: {
      total: 12_345,
      refund: 2_345,
      payer_total: 12_345,
      payer_refund: 2_345,
      settlement_refund: 2_345,
      settlement_total: 12_345,
      discount_refund: 0,
      currency: 'CNY',
    },
    ...overrides,
  };
}

/**
 * A GET to the simulator as the merchant signs it (`GET\n<path?query>\n<ts>\n<nonce>\n\n` with the
 * merchant key), for calling `handle` directly with parameters the merchant module never sends.
 */
export function signedSimulatorGet(
  merchant: WechatConfig,
  path: string,
  query: Record<string, string>,
  now: Date,
): SandboxRequest {
  const search = new URLSearchParams(query);
  const nonce = randomBytes(16).toString('hex');
  const message = `GET\n${path}?${search.toString()}\n${seconds(now)}\n${nonce}\n\n`;
  const signature = sign('sha256', Buffer.from(message), merchant.merchantPrivateKey).toString('base64');
  const authorization = `WECHATPAY2-SHA256-RSA2048 mchid="${merchant.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${seconds(now)}",serial_no="${merchant.merchantSerial}"`;
  return { method: 'GET', path, query: search, headers: { authorization }, body: '' };
}

/** A WeChat order of 123.45 yuan as the sandbox holds it, paid (callback and refund tests). */
export function paidWechatCheckout(overrides: Partial<SandboxCheckout> = {}): SandboxCheckout {
  return {
    provider: 'wechat',
    paymentId: 'pay_000001',
    amount: 12_345,
    currency: 'CNY',
    description: 'Order ord_1',
    notifyUrl: 'https://shop.example/api/payments/callback/wechat',
    expiresAt: '2026-11-25T04:30:00.000Z',
    state: 'paid',
    transactionId: '4200000000202611250000000001',
    paidAt: '2026-11-25T03:59:30.000Z',
    notificationId: 'EV-0001',
    ...overrides,
  };
}
