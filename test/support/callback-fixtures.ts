import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { expect } from 'vitest';
import type { LocalQueues } from '../../local/queues';
import { createAlipaySimulator, generateAlipayKeys } from '../../local/sandbox/alipay';
import { createBankSimulator, generateBankKeys } from '../../local/sandbox/bank';
import type { ProviderSimulator, SandboxCheckout } from '../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../local/sandbox/wechat';
import { createOrders } from '../../src/core/orders/orders';
import { CURRENCY } from '../../src/domain/money';
import type { Payment, PaymentMethod } from '../../src/domain/payment';
import type { HttpEvent } from '../../src/http/route';
import { createAlipayProvider } from '../../src/providers/alipay';
import { createBankProvider } from '../../src/providers/bank';
import type { FetchLike } from '../../src/providers/kit/http';
import type { PaymentProvider, RawCallback } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';
import { transitionWrite } from './domain-fixtures';
import type { TestEnv } from './harness';
import { httpEvent } from './http';

export const PROVIDERS: readonly PaymentMethod[] = ['wechat', 'alipay', 'bank'];
export const CUSTOMER = 'cust_callbacks';
const SANDBOX_BASE = 'http://127.0.0.1:3000/sandbox';

/** Both halves of every provider's keys: the merchant modules and the simulators that sign callbacks. Generate once per file. */
export function callbackKeys() {
  return {
    wechat: generateWechatKeys(`${SANDBOX_BASE}/wechat`),
    alipay: generateAlipayKeys(`${SANDBOX_BASE}/alipay`),
    bank: generateBankKeys(`${SANDBOX_BASE}/bank`),
  };
}
export type CallbackKeys = ReturnType<typeof callbackKeys>;

/** The callback path never calls a provider: a call would be a bug, so it fails loudly. */
const noOutboundCalls: FetchLike = async (input) => {
  throw new Error(`unexpected provider call to ${input}`);
};

export function merchantProviders(keys: CallbackKeys): Record<PaymentMethod, PaymentProvider> {
  return {
    wechat: createWechatProvider({ config: keys.wechat.merchant, fetch: noOutboundCalls }),
    alipay: createAlipayProvider({ config: keys.alipay.merchant, fetch: noOutboundCalls }),
    bank: createBankProvider({ config: keys.bank.merchant }),
  };
}

export function providerSimulators(keys: CallbackKeys): Record<PaymentMethod, ProviderSimulator> {
  return {
    wechat: createWechatSimulator(keys.wechat.sandbox),
    alipay: createAlipaySimulator(keys.alipay.sandbox),
    bank: createBankSimulator(keys.bank.sandbox),
  };
}

/** The customer opened the provider's checkout for a payment: callbacks are about such payments. */
export async function startCheckout(env: TestEnv, paymentId: string): Promise<Payment> {
  const start = transitionWrite(
    (await env.repo.getPayment(paymentId))!,
    'processing',
    env.clock.now(),
    'checkout created',
  );
  await env.repo.commit([start]);
  return start.after;
}

/** An order for one tea, its payment started at `method`. */
export async function startedPayment(env: TestEnv, method: PaymentMethod): Promise<Payment> {
  const [created] = await createOrders(env.deps, {
    customerId: CUSTOMER,
    orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
    method,
  });
  return startCheckout(env, created!.payment.paymentId);
}

export interface CallbackOptions {
  /** The provider's id for this notification (its dedupe key). */
  eventId: string;
  /** paid → success; failed / closed → the provider's failure and close statuses. */
  state?: SandboxCheckout['state'];
  /** What the provider says was paid; defaults to the payment's amount. */
  amount?: number;
  /** The provider's transaction (capture) id of a success; the simulator picks one by default. */
  transactionId?: string;
  signedAt: Date;
}

/** The callback a provider sends about `payment`, built and signed by its simulator, as our HTTP layer reads it. */
export function providerCallback(
  simulator: ProviderSimulator,
  payment: Payment,
  options: CallbackOptions,
): RawCallback {
  const checkout: SandboxCheckout = {
    provider: simulator.name,
    paymentId: payment.paymentId,
    amount: options.amount ?? payment.amount,
    currency: CURRENCY,
    description: `Order ${payment.orderId}`,
    notifyUrl: `http://127.0.0.1:3000/api/payments/callback/${simulator.name}`,
    expiresAt: payment.expiresAt,
    state: options.state ?? 'paid',
    paidAt: options.signedAt.toISOString(),
    notificationId: options.eventId,
    ...(options.transactionId ? { transactionId: options.transactionId } : {}),
  };
  const callback = simulator.buildCallback(checkout, options.signedAt);
  if (!callback) throw new Error(`${simulator.name} sends no callback for a ${checkout.state} checkout`);
  return {
    headers: Object.fromEntries(Object.entries(callback.headers).map(([name, value]) => [name.toLowerCase(), value])),
    body: Buffer.from(callback.body, 'utf8'),
  };
}

/**
 * The API Gateway (HTTP API, payload v2) event for a callback POSTed to /api/payments/callback/{provider}.
 * HTTP APIs hand form bodies over base64-encoded, so Alipay's arrives that way.
 */
export function callbackEvent(
  provider: string,
  callback: RawCallback,
  extraHeaders: Record<string, string> = {},
): HttpEvent {
  const headers = Object.fromEntries(
    Object.entries({ ...callback.headers, ...extraHeaders }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const isForm = headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
  const event = httpEvent('POST', `/api/payments/callback/${provider}`, {
    rawBody: callback.body.toString(isForm ? 'base64' : 'utf8'),
    headers,
    pathParameters: { provider },
  });
  return { ...event, isBase64Encoded: isForm };
}

type Reply = APIGatewayProxyStructuredResultV2;

/** The provider's own "received, stop retrying". */
export function expectAcknowledged(provider: PaymentMethod, reply: Reply): void {
  const expected = {
    wechat: { statusCode: 204, body: '' },
    alipay: { statusCode: 200, body: 'success' },
    bank: { statusCode: 200, body: JSON.stringify({ received: true }) },
  }[provider];
  expect({ statusCode: reply.statusCode, body: reply.body ?? '' }).toEqual(expected);
}

/** The provider's failure format: a 5xx it retries, or a 4xx (400 unless `status` says) for a callback that will never be accepted. */
export function expectFailure(
  provider: PaymentMethod,
  reply: Reply,
  { retryable, status = retryable ? 500 : 400 }: { retryable: boolean; status?: number },
): void {
  expect(reply.statusCode).toBe(status);
  if (provider === 'wechat') expect(JSON.parse(reply.body ?? '')).toMatchObject({ code: 'FAIL' });
  if (provider === 'alipay') expect(reply.body).not.toBe('success');
  if (provider === 'bank') expect(JSON.parse(reply.body ?? '')).toMatchObject({ received: false });
}

/** Messages in a queue, visible or being handled. */
export async function queueDepth(queues: LocalQueues, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await queues.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Empties both queues, so a failed test leaves nothing for the next one. */
export async function purgeQueues(queues: LocalQueues): Promise<void> {
  for (const url of [queues.queueUrl, queues.dlqUrl])
    await queues.client.send(new PurgeQueueCommand({ QueueUrl: url }));
}
