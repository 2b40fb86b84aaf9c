import { createHash, randomInt, randomUUID, sign, verify } from 'node:crypto';
import { CURRENCY } from '../../src/domain/money';
import { toBeijingRfc3339, type WechatTradeState } from '../../src/providers/wechat';
import type { CheckoutStore, SandboxCheckout, SandboxRequest, SandboxResponse } from './types';

/** The WeChat sandbox's keys, its signatures over answers and callbacks, the merchant's Authorization check, and its view of a transaction. */

/** What WeChat holds: its platform private key (and that key's serial), the merchant's public key. */
export interface WechatSandboxKeys {
  mchid: string;
  appid: string;
  apiV3Key: string;
  merchantSerial: string;
  merchantPublicKey: string;
  platformSerial: string;
  platformPrivateKey: string;
}

const SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
const WINDOW_SECONDS = 300;
export const NATIVE_PATH = '/v3/pay/transactions/native';
export const ORDER_PATH = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/;
export const CLOSE_PATH = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/;
export const REFUNDS_PATH = '/v3/refund/domestic/refunds';
export const REFUND_PATH = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/;
/** WeChat's rule for out_refund_no: up to 64 of these characters. */
export const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
/** WeChat takes at most 50 refunds of one payment. */
export const MAX_REFUNDS_PER_PAYMENT = 50;
/** WeChat's rule for out_trade_no: 6 to 32 of these characters. */
export const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type DecidedState = Exclude<SandboxCheckout['state'], 'pending'>;

const TRADE_STATE: Readonly<Record<SandboxCheckout['state'], WechatTradeState>> = {
  pending: 'NOTPAY',
  paid: 'SUCCESS',
  failed: 'PAYERROR',
  closed: 'CLOSED',
};
export const TRADE_STATE_DESC: Readonly<Record<SandboxCheckout['state'], string>> = {
  pending: '订单未支付',
  paid: '支付成功',
  failed: '支付失败',
  closed: '订单已关闭',
};

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** The Wechatpay-* headers over `timestamp\nnonce\nbody\n`, signed with the platform key. */
export function wechatpayHeaders(keys: WechatSandboxKeys, body: string, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = randomAlphanumeric(32);
  const signature = sign(
    'sha256',
    Buffer.from(`${timestamp}\n${nonce}\n${body}\n`, 'utf8'),
    keys.platformPrivateKey,
  ).toString('base64');
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': keys.platformSerial,
    'Wechatpay-Signature-Type': SIGNATURE_TYPE,
    'Request-ID': randomUUID(),
  };
}

export function answer(keys: WechatSandboxKeys, statusCode: number, payload: unknown, now: Date): SandboxResponse {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const contentType: Record<string, string> = body ? { 'Content-Type': 'application/json' } : {};
  return { statusCode, headers: { ...contentType, ...wechatpayHeaders(keys, body, now) }, body };
}

export function error(
  keys: WechatSandboxKeys,
  statusCode: number,
  code: string,
  message: string,
  now: Date,
): SandboxResponse {
  return answer(keys, statusCode, { code, message }, now);
}

const AUTHORIZATION_FIELDS = ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'] as const;
type AuthorizationFields = Record<(typeof AUTHORIZATION_FIELDS)[number], string>;

/** `WECHATPAY2-SHA256-RSA2048 k="v",k="v",...` → its fields, or undefined when not that shape. */
function parseAuthorization(header: string | undefined): AuthorizationFields | undefined {
  const prefix = `${SIGNATURE_TYPE} `;
  if (!header?.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(prefix.length).split(',')) {
    const match = /^\s*(\w+)="([^"]*)"\s*$/.exec(part);
    if (!match?.[1] || match[2] === undefined || fields.has(match[1])) return undefined;
    fields.set(match[1], match[2]);
  }
  const entries = AUTHORIZATION_FIELDS.map((name) => [name, fields.get(name)] as const);
  if (entries.some(([, value]) => !value)) return undefined;
  return Object.fromEntries(entries) as AuthorizationFields;
}

/** Why the request's Authorization fails, or undefined when it verifies (as WeChat checks it). */
export function authorizationProblem(keys: WechatSandboxKeys, request: SandboxRequest, now: Date): string | undefined {
  const auth = parseAuthorization(request.headers.authorization);
  if (!auth)
    return 'Authorization header is not WECHATPAY2-SHA256-RSA2048 with mchid, nonce_str, signature, timestamp, serial_no';
  if (auth.mchid !== keys.mchid) return 'mchid is not a known merchant';
  if (auth.serial_no !== keys.merchantSerial) return 'serial_no is not the merchant certificate serial';
  if (
    !/^\d{1,12}$/.test(auth.timestamp) ||
    Math.abs(Number(auth.timestamp) - Math.floor(now.getTime() / 1000)) > WINDOW_SECONDS
  ) {
    return 'timestamp is outside the 5 minute window';
  }
  const query = request.query.toString();
  const url = `${request.path}${query ? `?${query}` : ''}`;
  const message = `${request.method}\n${url}\n${auth.timestamp}\n${auth.nonce_str}\n${request.body}\n`;
  const signature = Buffer.from(auth.signature, 'base64');
  return verify('sha256', Buffer.from(message, 'utf8'), keys.merchantPublicKey, signature)
    ? undefined
    : 'signature does not verify';
}

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------

/** Stable per payment (a WeChat-like 28-digit id), so queries and callbacks agree. */
export function transactionIdOf(checkout: SandboxCheckout): string {
  if (checkout.transactionId) return checkout.transactionId;
  const digest = createHash('sha256').update(checkout.paymentId).digest();
  return `4200${Array.from(digest.subarray(0, 24), (byte) => byte % 10).join('')}`;
}

/**
 * The transaction resource: what a query answers and what a callback encrypts. A query names a
 * paid order with a refund REFUND ("转入退款"); the success callback keeps saying SUCCESS.
 */
export function transactionOf(
  keys: WechatSandboxKeys,
  checkout: SandboxCheckout,
  now: Date,
  refunded = false,
): Record<string, unknown> {
  const paid = checkout.state === 'paid';
  return {
    appid: checkout.scene?.appid ?? keys.appid,
    mchid: keys.mchid,
    out_trade_no: checkout.paymentId,
    ...(paid ? { transaction_id: transactionIdOf(checkout) } : {}),
    trade_type: checkout.scene?.tradeType ?? 'NATIVE',
    trade_state: paid && refunded ? 'REFUND' : TRADE_STATE[checkout.state],
    trade_state_desc: paid && refunded ? '转入退款' : TRADE_STATE_DESC[checkout.state],
    ...(paid
      ? {
          bank_type: 'OTHERS',
          success_time: toBeijingRfc3339(checkout.paidAt ?? now),
          payer: { openid: checkout.scene?.payer ?? 'sandbox-openid' },
        }
      : {}),
    amount: {
      total: checkout.amount,
      ...(paid ? { payer_total: checkout.amount } : {}),
      currency: CURRENCY,
      payer_currency: CURRENCY,
    },
  };
}

/** This provider's checkout for an out_trade_no (another provider's is none of WeChat's business). */
export function wechatCheckout(store: CheckoutStore, paymentId: string): SandboxCheckout | undefined {
  const checkout = store.get(paymentId);
  return checkout?.provider === 'wechat' ? checkout : undefined;
}

export function randomAlphanumeric(length: number): string {
  return Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
}
