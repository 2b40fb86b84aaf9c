import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CURRENCY, isFen } from '../../shared/domain/money';
import type { BankCallbackBody, BankStatus } from '../../shared/providers/bank';
import type { BankConfig } from '../../shared/providers/config';
import type { CheckoutStore, OutboundCallback, ProviderSimulator, SandboxCheckout, SandboxRequest, SandboxResponse } from './types';

/**
 * The bank gateway, from the bank's side. Its signing is written here independently of the
 * merchant module (shared/providers/bank.ts), so a mistake on either side shows up in the tests
 * instead of being shared by both.
 */

/** What the bank holds: the webhook secrets it signs callbacks with (the first one is current)
 * and the merchant's pay-URL signing secret. */
export interface BankSandboxKeys {
  webhookSecrets: string[];
  signingSecret: string;
}

const PAY_PATHS = new Set(['/pay', '/']);
const REQUIRED_PAY_PARAMS = ['payment_id', 'amount', 'currency', 'expires_at', 'return_url', 'notify_url'] as const;

const CALLBACK_STATUS: Readonly<Record<Exclude<SandboxCheckout['state'], 'pending'>, BankStatus>> = {
  paid: 'SUCCEEDED',
  failed: 'FAILED',
  closed: 'CANCELLED',
};

function secret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('hex')}`;
}

/** Both halves share the secrets (HMAC is symmetric); the merchant lists a "previous" webhook
 * secret after the current one, as during a rotation. */
export function generateBankKeys(sandboxBaseUrl: string): { merchant: BankConfig; sandbox: BankSandboxKeys } {
  const webhookSecrets = [secret('whsec'), secret('whsec')];
  const signingSecret = secret('sk');
  return {
    merchant: { webhookSecrets, gatewayUrl: `${sandboxBaseUrl}/pay`, signingSecret },
    sandbox: { webhookSecrets, signingSecret },
  };
}

function textError(statusCode: number, message: string): SandboxResponse {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message };
}

function hmacHex(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

/** Sorted `key=value&...` over every parameter but `signature`, raw values; one value per key. */
function payParamsSigned(query: URLSearchParams, signingSecret: string): boolean {
  const keys = [...query.keys()].filter((key) => key !== 'signature');
  if (new Set(keys).size !== keys.length || query.getAll('signature').length !== 1) return false;
  const content = keys
    .sort()
    .map((key) => `${key}=${query.get(key)}`)
    .join('&');
  const expected = Buffer.from(hmacHex(signingSecret, content), 'utf8');
  const given = Buffer.from(query.get('signature')?.toLowerCase() ?? '', 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

type PayEntry = Pick<SandboxCheckout, 'paymentId' | 'amount' | 'expiresAt' | 'notifyUrl' | 'returnUrl'>;

/** The signed parameters as a checkout, or the name of the first one that is missing or invalid. */
function readPayEntry(query: URLSearchParams): PayEntry | string {
  const missing = REQUIRED_PAY_PARAMS.find((key) => !query.get(key));
  if (missing) return `missing ${missing}`;
  const amountText = query.get('amount') ?? '';
  const amount = Number(amountText);
  if (!/^\d+$/.test(amountText) || !isFen(amount)) return 'invalid amount';
  if (query.get('currency') !== CURRENCY) return 'unsupported currency';
  const expiresAt = new Date(query.get('expires_at') ?? '');
  if (Number.isNaN(expiresAt.getTime())) return 'invalid expires_at';
  return {
    paymentId: query.get('payment_id') ?? '',
    amount,
    expiresAt: expiresAt.toISOString(),
    notifyUrl: query.get('notify_url') ?? '',
    returnUrl: query.get('return_url') ?? '',
  };
}

function enterPayPage(keys: BankSandboxKeys, request: SandboxRequest, store: CheckoutStore, now: Date): SandboxResponse {
  if (!payParamsSigned(request.query, keys.signingSecret)) return textError(400, 'signature does not verify');
  const entry = readPayEntry(request.query);
  if (typeof entry === 'string') return textError(400, entry);
  if (Date.parse(entry.expiresAt) <= now.getTime()) return textError(400, 'payment has expired');
  const existing = store.get(entry.paymentId);
  // A decided payment id is never reopened: the customer must not pay twice.
  if (existing && existing.state !== 'pending') return textError(409, `payment is already ${existing.state}`);
  store.put({
    ...entry,
    provider: 'bank',
    currency: CURRENCY,
    description: `Payment ${entry.paymentId}`,
    state: 'pending',
  });
  return { statusCode: 302, headers: { location: store.checkoutUrl(entry.paymentId) }, body: '' };
}

function callbackBody(checkout: SandboxCheckout, status: BankStatus, now: Date): BankCallbackBody {
  return {
    event_id: checkout.notificationId ?? `evt_${randomBytes(12).toString('hex')}`,
    payment_id: checkout.paymentId,
    transaction_id: checkout.transactionId ?? `txn_${randomBytes(12).toString('hex')}`,
    status,
    amount: checkout.amount,
    currency: checkout.currency,
    occurred_at: checkout.paidAt ?? now.toISOString(),
  };
}

export function createBankSimulator(keys: BankSandboxKeys): ProviderSimulator {
  const [currentWebhookSecret] = keys.webhookSecrets;
  if (currentWebhookSecret === undefined) throw new Error('bank sandbox needs at least one webhook secret');

  return {
    name: 'bank',
    handle: async (request, store, now) => {
      if (!PAY_PATHS.has(request.path)) return textError(404, 'not found');
      if (request.method !== 'GET') return textError(405, 'method not allowed');
      return enterPayPage(keys, request, store, now);
    },
    buildCallback: (checkout, now) => {
      if (checkout.state === 'pending') return undefined;
      const body = JSON.stringify(callbackBody(checkout, CALLBACK_STATUS[checkout.state], now));
      const timestamp = Math.floor(now.getTime() / 1000);
      return {
        url: checkout.notifyUrl,
        headers: {
          'Content-Type': 'application/json',
          'Bank-Signature': `t=${timestamp},v1=${hmacHex(currentWebhookSecret, `${timestamp}.${body}`)}`,
        },
        body,
      } satisfies OutboundCallback;
    },
    isAcknowledged: (statusCode) => statusCode >= 200 && statusCode < 300,
  };
}
