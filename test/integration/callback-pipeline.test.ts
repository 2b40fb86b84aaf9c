import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeHandler as makeCallbackHandler } from '../../functions/payment-callback/handler';
import { makeHandler as makeWorkerHandler } from '../../functions/payment-worker/handler';
import { type LocalQueues, startLocalQueues } from '../../local/queues';
import { type SqsHandler, startSqsEventSource } from '../../local/sqs-event-source';
import { redriveDeadLetters, sqsNotificationQueue } from '../../src/aws/sqs-queue';
import { MAX_CALLBACK_BYTES } from '../../src/core/payments/callbacks';
import { localWiring } from '../../src/runtime/wiring';
import { newId } from '../../src/core/kernel/ids';
import { parseNotificationMessage } from '../../src/core/kernel/messages';
import { Metric, type MetricName } from '../../src/core/kernel/metric-names';
import { applyNotification } from '../../src/core/payments/notifications';
import { addPayment } from '../../src/core/orders/orders';
import { cancelPayment } from '../../src/core/payments/payments';
import { paymentView } from '../../src/core/orders/views';
import type { DomainEvent } from '../../src/domain/events';
import { fenToYuan } from '../../src/domain/money';
import { isRefundNotification } from '../../src/domain/notification';
import type { Payment, PaymentMethod } from '../../src/domain/payment';
import type { RawCallback, RejectionReason } from '../../src/core/payments/provider';
import {
  formFields,
  refundNotificationFields,
  signedNotification,
  strangerPrivateKey,
} from '../support/alipay-fixtures';
import { itemsOfKind, tableSnapshot } from '../support/api-fixtures';
import { bankRefundEventBody, signedBankCallback } from '../support/bank-fixtures';
import {
  callbackEvent,
  type CallbackOptions,
  callbackKeys,
  CUSTOMER,
  expectAcknowledged,
  expectFailure,
  merchantProviders,
  PROVIDERS,
  providerCallback,
  providerSimulators,
  purgeQueues,
  queueDepth,
  startCheckout,
  startedPayment,
} from '../support/callback-fixtures';
import { newPurchase, purchaseWrites } from '../support/domain-fixtures';
import { lambdaContext } from '../support/http';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../support/harness';
import {
  platformSigner,
  seconds,
  wechatNotification,
  wechatpayHeaders,
  wechatRefundNotification,
  wechatRefundResource,
  wechatTransaction,
} from '../support/wechat-fixtures';

/**
 * The callback pipeline on real parts: the callback Lambda's handler, SQS (fauxqs, with its DLQ),
 * the event source mapping feeding the worker Lambda's handler, and DynamoDB Local.
 */

const keys = callbackKeys();
const providers = merchantProviders(keys);
const simulators = providerSimulators(keys);
/** Someone without the provider's keys, signing as if they were the provider. */
const FORGER_KEY = strangerPrivateKey();
/** The notification queue's visibility timeout in the stack (6 × the worker's 30 s timeout). */
const VISIBILITY_TIMEOUT_MS = 180_000;

let env: TestEnv;
let queues: LocalQueues;
let eventSource: ReturnType<typeof startSqsEventSource>;
const callbackHandler = makeCallbackHandler(localWiring(async () => env.deps));
const realWorker = makeWorkerHandler(localWiring(async () => env.deps));
/** What the event source invokes: the worker Lambda, unless a test wraps it. */
let worker: SqsHandler;

const startWorker = () =>
  startSqsEventSource({
    client: queues.client,
    queueUrl: queues.queueUrl,
    handler: (event, context) => worker(event, context),
  });

beforeAll(async () => {
  queues = await startLocalQueues({ visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
  eventSource = startWorker();
});

afterAll(async () => {
  await eventSource?.stop();
  await queues?.stop();
});

beforeEach(async () => {
  env = await createTestEnv();
  env.deps.providers = providers;
  env.deps.queue = sqsNotificationQueue(queues.client, queues.queueUrl);
  await env.seedProducts(DEMO_PRODUCTS);
  worker = realWorker;
});

afterEach(() => purgeQueues(queues));

const receive = (provider: string, callback: RawCallback, extraHeaders?: Record<string, string>) =>
  callbackHandler(callbackEvent(provider, callback, extraHeaders), lambdaContext);

/** The provider's signed callback about `payment`, sent now unless `signedAt` says otherwise. */
const callbackFor = (payment: Payment, options: Omit<CallbackOptions, 'signedAt'> & { signedAt?: Date }): RawCallback =>
  providerCallback(simulators[payment.method], payment, { signedAt: env.clock.now(), ...options });

/** Every message on the notification queue handled (or dead-lettered), and the events of what it changed published. */
async function drained(): Promise<void> {
  await vi.waitFor(async () => expect(await queueDepth(queues, queues.queueUrl)).toBe(0), {
    timeout: 5_000,
    interval: 20,
  });
  await env.publishEvents();
}

/** The provider sends a callback, we acknowledge it, and the worker has handled it. */
async function deliver(payment: Payment, options: Omit<CallbackOptions, 'signedAt'>): Promise<void> {
  expectAcknowledged(payment.method, await receive(payment.method, callbackFor(payment, options)));
  await drained();
}

/** What each published event of `type` is about: its order (Order* events) or its payment. */
const published = async (type: DomainEvent['type']) =>
  (await env.drainedBus())
    .ofType(type)
    .map((event) => (type.startsWith('Order') ? event.detail.orderId : event.detail.paymentId));

describe('a paid callback, end to end', () => {
  it.each(PROVIDERS)(
    '%s: acknowledged in its own format, applied by the worker, archived byte for byte',
    async (provider) => {
      const payment = await startedPayment(env, provider);
      const callback = callbackFor(payment, { eventId: 'evt-paid' });

      const reply = await receive(provider, callback, { authorization: 'Bearer added-by-a-proxy' });

      expectAcknowledged(provider, reply);
      await drained();
      expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({
        status: 'succeeded',
        paidAt: env.clock.now().toISOString(),
      });
      expect(await env.repo.getOrder(payment.orderId)).toMatchObject({
        status: 'paid',
        paidByPaymentId: payment.paymentId,
      });
      expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
      expect(await published('OrderPaid')).toEqual([payment.orderId]);
      const archived = await env.repo.getArchivedCallbacks(provider, 'evt-paid');
      expect(archived).toHaveLength(1);
      expect(Buffer.from(archived[0]!.bodyBase64, 'base64').equals(callback.body)).toBe(true);
      // Signature headers are kept (a replay re-verifies them); the proxy's credential is not.
      expect(archived[0]!.headers).toEqual(callback.headers);
    },
  );
});

describe('the same notification delivered 5 times at once', () => {
  it('by 5 concurrent callbacks: all acknowledged, applied once, the duplicates deleted from the queue', async () => {
    const payment = await startedPayment(env, 'wechat');
    const orderBefore = (await env.repo.getOrder(payment.orderId))!;
    const callback = callbackFor(payment, { eventId: 'evt-repeated' });

    const replies = await Promise.all(Array.from({ length: 5 }, () => receive('wechat', callback)));

    for (const reply of replies) expectAcknowledged('wechat', reply);
    await drained();
    expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
    expect(await published('OrderPaid')).toEqual([payment.orderId]);
    expect(await env.repo.getOrder(payment.orderId)).toMatchObject({
      status: 'paid',
      version: orderBefore.version + 1,
    });
    expect(env.metrics.total(Metric.NotificationDuplicate)).toBe(4);
    expect(await queues.deadLetterDepth()).toBe(0);
  });

  it('by 5 concurrent workers: one applies it, four see a duplicate', async () => {
    const payment = await startedPayment(env, 'bank');
    const verification = providers.bank.verifyCallback(callbackFor(payment, { eventId: 'evt-raced' }), env.clock.now());
    if (!verification.ok) throw new Error(verification.detail);
    const { notification } = verification;
    if (isRefundNotification(notification)) throw new Error('a payment callback verified as a refund');

    const results = await Promise.all(Array.from({ length: 5 }, () => applyNotification(env.deps, notification)));

    expect(results.sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
    expect(await published('OrderPaid')).toEqual([payment.orderId]);
    expect(env.metrics.total(Metric.NotificationDuplicate)).toBe(4);
  });
});

describe('notifications out of order', () => {
  it('a failure after the success is ignored and recorded in the payment log', async () => {
    const payment = await startedPayment(env, 'wechat');
    await deliver(payment, { eventId: 'evt-success' });

    await deliver(payment, { eventId: 'evt-late-failure', state: 'failed' });

    const after = (await env.repo.getPayment(payment.paymentId))!;
    expect(after.status).toBe('succeeded');
    expect(after.logs.at(-1)).toMatchObject({
      from: 'succeeded',
      to: 'succeeded',
      source: 'provider',
      ref: 'evt-late-failure',
      reason: expect.stringMatching(/^ignored failed/),
    });
    expect(await env.repo.getOrder(payment.orderId)).toMatchObject({ status: 'paid' });
    expect(await published('PaymentFailed')).toEqual([]);
    expect(env.metrics.total(Metric.NotificationIgnored)).toBe(1);
  });

  it('a success after the failure is applied (the money arrived), flagged late and alarmed', async () => {
    const payment = await startedPayment(env, 'bank');
    await deliver(payment, { eventId: 'evt-failure', state: 'failed' });
    expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'failed' });

    await deliver(payment, { eventId: 'evt-late-success' });

    expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'succeeded', latePayment: true });
    expect(await env.repo.getOrder(payment.orderId)).toMatchObject({
      status: 'paid',
      paidByPaymentId: payment.paymentId,
    });
    expect(await published('LatePaymentReceived')).toEqual([payment.paymentId]);
    expect(env.metrics.total(Metric.LatePayment, { provider: 'bank' })).toBe(1);
  });

  it('a success applied after the expiry, before any sweeper ran, is late as the customer read it (expired)', async () => {
    const payment = await startedPayment(env, 'wechat');
    env.clock.set(payment.expiresAt);
    expect(paymentView(payment, env.clock.now()).status).toBe('expired');

    await deliver(payment, { eventId: 'evt-after-expiry' });

    expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'succeeded', latePayment: true });
    expect(await env.repo.getOrder(payment.orderId)).toMatchObject({
      status: 'paid',
      paidByPaymentId: payment.paymentId,
    });
    expect(await published('LatePaymentReceived')).toEqual([payment.paymentId]);
    expect((await env.drainedBus()).ofType('LatePaymentReceived')[0]!.detail).toMatchObject({
      previousStatus: 'expired',
      refundRequired: false,
    });
    expect(env.metrics.total(Metric.LatePayment, { provider: 'wechat' })).toBe(1);
  });

  it('a success on a cancelled payment whose order another payment paid: kept, marked for refund, alarmed', async () => {
    const first = await startedPayment(env, 'bank');
    await cancelPayment(env.deps, { customerId: CUSTOMER, paymentId: first.paymentId });
    const { paymentId } = await addPayment(env.deps, { customerId: CUSTOMER, orderId: first.orderId });
    const second = await startCheckout(env, paymentId);
    await deliver(second, { eventId: 'evt-second-paid' });

    await deliver(first, { eventId: 'evt-first-paid-too' });

    expect(await env.repo.getPayment(first.paymentId)).toMatchObject({
      status: 'succeeded',
      latePayment: true,
      refundRequired: true,
    });
    expect(await env.repo.getOrder(first.orderId)).toMatchObject({ status: 'paid', paidByPaymentId: second.paymentId });
    expect(await published('DuplicatePaymentDetected')).toEqual([first.paymentId]);
    expect(await published('OrderPaid')).toEqual([first.orderId]);
    expect(env.metrics.total(Metric.DuplicatePayment, { provider: 'bank' })).toBe(1);
  });
});

describe('a second capture: the provider took the money for a succeeded payment again', () => {
  it.each(PROVIDERS)(
    '%s: kept beside the payment, flagged for refund, announced and alarmed, once per capture',
    async (provider) => {
      const payment = await startedPayment(env, provider);
      await deliver(payment, { eventId: 'evt-first-capture', transactionId: 'txn-first' });

      await deliver(payment, { eventId: 'evt-second-capture', transactionId: 'txn-second' });

      const after = (await env.repo.getPayment(payment.paymentId))!;
      expect(after).toMatchObject({
        status: 'succeeded',
        providerTransactionId: 'txn-first',
        refundRequired: true,
        extraCaptures: [
          {
            providerTransactionId: 'txn-second',
            amount: payment.amount,
            capturedAt: env.clock.now().toISOString(),
            eventId: 'evt-second-capture',
          },
        ],
      });
      expect(after.logs.at(-1)).toMatchObject({
        from: 'succeeded',
        to: 'succeeded',
        source: 'provider',
        ref: 'evt-second-capture',
        reason: expect.stringContaining('txn-second'),
      });
      expect(await env.repo.getOrder(payment.orderId)).toMatchObject({
        status: 'paid',
        paidByPaymentId: payment.paymentId,
      });
      expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
      expect(await published('DuplicatePaymentDetected')).toEqual([payment.paymentId]);
      expect((await env.drainedBus()).ofType('DuplicatePaymentDetected')[0]!.detail).toMatchObject({
        appliedTransactionId: 'txn-first',
        extraCapture: { providerTransactionId: 'txn-second', amount: payment.amount },
      });
      expect(env.metrics.total(Metric.DuplicatePayment, { provider })).toBe(1);
      expect(env.metrics.total(Metric.PaymentSucceeded)).toBe(1);

      // The same capture again, under a new event id (a provider's re-send), is not money taken a third time.
      await deliver(payment, { eventId: 'evt-second-capture-resent', transactionId: 'txn-second' });
      expect((await env.repo.getPayment(payment.paymentId))!.extraCaptures).toHaveLength(1);
      expect(await published('DuplicatePaymentDetected')).toEqual([payment.paymentId]);
      expect(env.metrics.total(Metric.DuplicatePayment)).toBe(1);
    },
  );
});

it('a worker that dies after its transaction: state committed once, its events published once', async () => {
  const payment = await startedPayment(env, 'alipay');
  let atCrash: { payment?: Payment; outboxEntries: number } | undefined;
  worker = async (event, context) => {
    const response = await realWorker(event, context);
    if (atCrash) return response;
    // Dying right after the commit: the message is never deleted, and nothing of ours publishes.
    const entries = (await env.scan()).flatMap((item) => (item.outbox ? [item.outbox as { outboxId: string }] : []));
    atCrash = {
      payment: await env.repo.getPayment(payment.paymentId),
      outboxEntries: entries.filter((entry) => entry.outboxId.includes('evt-crash')).length,
    };
    // SQS redelivers after the visibility timeout: 1 s here, the stack's 180 s on the test clock.
    env.clock.advance(VISIBILITY_TIMEOUT_MS);
    throw new Error('process died');
  };

  await deliver(payment, { eventId: 'evt-crash' });

  expect(atCrash).toMatchObject({ payment: { status: 'succeeded' }, outboxEntries: 1 });
  expect(await env.repo.getPayment(payment.paymentId)).toEqual(atCrash!.payment);
  // The stream carried the one committed entry: published once, though the worker ran twice.
  expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
  expect(await published('OrderPaid')).toEqual([payment.orderId]);
  expect(env.metrics.total(Metric.NotificationDuplicate)).toBe(1);
});

describe('the queue refuses the notification', () => {
  it.each(PROVIDERS)(
    '%s: gets its retryable failure, nothing applied; its retry completes the payment',
    async (provider) => {
      const payment = await startedPayment(env, provider);
      const callback = callbackFor(payment, { eventId: 'evt-retried' });
      const workingQueue = env.deps.queue;
      env.deps.queue = sqsNotificationQueue(queues.client, `${queues.queueUrl}-deleted`);

      expectFailure(provider, await receive(provider, callback), { retryable: true });
      expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'processing' });
      expect(await env.repo.getNotificationRecord(provider, 'evt-retried')).toBeUndefined();
      expect(env.metrics.total(Metric.CallbackEnqueueFailed, { provider })).toBe(1);

      env.deps.queue = workingQueue;
      expectAcknowledged(provider, await receive(provider, callback));
      await drained();
      expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'succeeded' });
      expect(await published('PaymentSucceeded')).toEqual([payment.paymentId]);
    },
  );
});

it('a notification for a payment we do not have is retried, dead-lettered, and completes once replayed', async () => {
  // Both messages must wait in the queue so that the worker gets them in one batch.
  await eventSource.stop();
  const good = await startedPayment(env, 'wechat');
  const unknown = newPurchase({
    orderId: newId('ord'),
    paymentId: newId('pay'),
    customerId: CUSTOMER,
    items: [{ sku: 'TEA-001', quantity: 1 }],
    catalogue: DEMO_PRODUCTS,
    now: env.clock.now(),
  });
  expectAcknowledged('wechat', await receive('wechat', callbackFor(unknown.payment, { eventId: 'evt-poison' })));
  expectAcknowledged('wechat', await receive('wechat', callbackFor(good, { eventId: 'evt-good' })));
  const batches: string[][] = [];
  worker = async (event, context) => {
    batches.push(event.Records.map((record) => parseNotificationMessage(record.body).eventId).sort());
    return realWorker(event, context);
  };
  eventSource = startWorker();

  await vi.waitFor(async () => expect(await queues.deadLetterDepth()).toBe(1), { timeout: 10_000, interval: 100 });

  expect(batches).toEqual([['evt-good', 'evt-poison'], ['evt-poison'], ['evt-poison']]);
  expect(await env.repo.getPayment(good.paymentId)).toMatchObject({ status: 'succeeded' });
  expect(await queueDepth(queues, queues.queueUrl)).toBe(0);

  await env.repo.commit(purchaseWrites(unknown));
  await startCheckout(env, unknown.payment.paymentId);
  expect(await redriveDeadLetters(queues.client, queues)).toBe(1);
  await drained();

  expect(await env.repo.getPayment(unknown.payment.paymentId)).toMatchObject({ status: 'succeeded' });
  expect(await env.repo.getOrder(unknown.order.orderId)).toMatchObject({ status: 'paid' });
  expect(await queues.deadLetterDepth()).toBe(0);
});

describe('rejected callbacks write nothing and are counted by reason', () => {
  const genuine = (payment: Payment, options: Partial<CallbackOptions> = {}) =>
    callbackFor(payment, { eventId: 'evt-rejected', ...options });
  const withHeaders = (callback: RawCallback, headers: Record<string, string>): RawCallback => ({
    ...callback,
    headers: { ...callback.headers, ...headers },
  });
  const tenMinutesAgo = () => new Date(env.clock.now().getTime() - 10 * 60_000);
  const signedByWechat = (body: string): RawCallback => ({
    headers: {
      'content-type': 'application/json',
      ...wechatpayHeaders(platformSigner(keys.wechat.sandbox), body, seconds(env.clock.now())),
    },
    body: Buffer.from(body),
  });
  const signedByBank = (body: string) =>
    signedBankCallback(body, keys.bank.sandbox.webhookSecrets[0]!, seconds(env.clock.now()));

  const cases: Array<{
    provider: PaymentMethod;
    reason: RejectionReason;
    case: string;
    alsoCounted?: MetricName;
    callback: (payment: Payment) => RawCallback;
  }> = [
    {
      provider: 'wechat',
      reason: 'bad_signature',
      case: 'signed by a forger',
      alsoCounted: Metric.SignatureFailure,
      callback: (payment) => {
        const callback = genuine(payment);
        return withHeaders(
          callback,
          wechatpayHeaders(
            { privateKey: FORGER_KEY, serial: keys.wechat.sandbox.platformSerial },
            callback.body,
            seconds(env.clock.now()),
          ),
        );
      },
    },
    {
      provider: 'alipay',
      reason: 'bad_signature',
      case: 'signed by a forger',
      alsoCounted: Metric.SignatureFailure,
      callback: (payment) => signedNotification(formFields(genuine(payment).body), FORGER_KEY),
    },
    {
      provider: 'bank',
      reason: 'bad_signature',
      case: 'signed by a forger',
      alsoCounted: Metric.SignatureFailure,
      callback: (payment) => signedBankCallback(genuine(payment).body, 'whsec_forged', seconds(env.clock.now())),
    },
    {
      provider: 'wechat',
      reason: 'stale_timestamp',
      case: 'signed 10 minutes ago',
      callback: (payment) => genuine(payment, { signedAt: tenMinutesAgo() }),
    },
    {
      provider: 'bank',
      reason: 'stale_timestamp',
      case: 'signed 10 minutes ago',
      callback: (payment) => genuine(payment, { signedAt: tenMinutesAgo() }),
    },
    {
      provider: 'wechat',
      reason: 'unknown_key',
      case: 'a platform key serial we do not have',
      alsoCounted: Metric.SignatureFailure,
      callback: (payment) => withHeaders(genuine(payment), { 'wechatpay-serial': 'PUB_KEY_ID_0113UNKNOWN' }),
    },
    {
      provider: 'wechat',
      reason: 'signature_probe',
      case: 'a WECHATPAY/SIGNTEST/ probe',
      alsoCounted: Metric.SignatureProbe,
      callback: (payment) => withHeaders(genuine(payment), { 'wechatpay-signature': 'WECHATPAY/SIGNTEST/cHJvYmU=' }),
    },
    {
      provider: 'wechat',
      reason: 'merchant_mismatch',
      case: "another merchant's mchid",
      callback: (payment) =>
        wechatNotification(
          keys.wechat.sandbox,
          wechatTransaction(keys.wechat.sandbox, {
            mchid: '1900000099',
            out_trade_no: payment.paymentId,
            amount: { total: payment.amount, payer_total: payment.amount, currency: 'CNY', payer_currency: 'CNY' },
          }),
          { now: env.clock.now() },
        ),
    },
    {
      provider: 'alipay',
      reason: 'merchant_mismatch',
      case: "another app's app_id",
      callback: (payment) =>
        signedNotification(
          { ...formFields(genuine(payment).body), app_id: '2021000000000099' },
          keys.alipay.sandbox.alipayPrivateKey,
        ),
    },
    ...PROVIDERS.map((provider) => ({
      provider,
      reason: 'amount_mismatch' as const,
      case: 'signed, but for 1 fen more than the payment',
      alsoCounted: Metric.AmountMismatch,
      callback: (payment: Payment) => genuine(payment, { amount: payment.amount + 1 }),
    })),
    {
      provider: 'wechat',
      reason: 'malformed',
      case: 'signed, but not a notification envelope',
      callback: () => signedByWechat('{"hello":"world"}'),
    },
    {
      provider: 'alipay',
      reason: 'malformed',
      case: 'not a signed form',
      callback: () => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: Buffer.from('{"trade_status":"TRADE_SUCCESS"}'),
      }),
    },
    {
      provider: 'bank',
      reason: 'malformed',
      case: 'signed, but truncated JSON',
      callback: () => signedByBank('{"event_id":"evt_1","payment_id":'),
    },
    // A refund notification is checked against the payment it names: never more than it.
    ...refundCallbacks((payment) => payment.amount + 1).map(([provider, callback]) => ({
      provider,
      reason: 'amount_mismatch' as const,
      case: 'a genuine refund notification for a payment of another amount',
      alsoCounted: Metric.AmountMismatch,
      callback,
    })),
  ];

  it.each(cases)('$provider $reason: $case', async ({ provider, reason, alsoCounted, callback }) => {
    const payment = await startedPayment(env, provider);
    const before = await tableSnapshot(env);

    const reply = await receive(provider, callback(payment));

    expectFailure(provider, reply, { retryable: false });
    expect(await tableSnapshot(env)).toEqual(before);
    expect(await queueDepth(queues, queues.queueUrl)).toBe(0);
    expect(env.metrics.total(Metric.CallbackRejected, { provider, reason })).toBe(1);
    expect(env.metrics.total(Metric.CallbackRejected)).toBe(1);
    for (const metric of [Metric.SignatureFailure, Metric.SignatureProbe, Metric.AmountMismatch]) {
      expect(env.metrics.total(metric), metric).toBe(metric === alsoCounted ? 1 : 0);
    }
  });

  it.each(refundCallbacks((payment) => payment.amount))(
    '%s: a genuine refund notification is acknowledged and queued for the worker',
    async (provider, callback) => {
      const payment = await startedPayment(env, provider);
      const reply = await receive(provider, callback(payment));
      expect(reply.statusCode).toBeLessThan(300);
      expect(await queueDepth(queues, queues.queueUrl)).toBe(1);
      expect(env.metrics.total(Metric.CallbackRejected)).toBe(0);
    },
  );

  it('a callback for a provider we do not have: 404, nothing written', async () => {
    const payment = await startedPayment(env, 'bank');
    const before = await tableSnapshot(env);

    const reply = await receive('paypal', genuine(payment));

    expect(reply.statusCode).toBe(404);
    expect(await tableSnapshot(env)).toEqual(before);
  });
});

describe('callback size: bounded before any work, and what fits is archived compressed', () => {
  const now = () => seconds(env.clock.now());
  /** The genuine callback with `padding` in a field its format carries without acting on it, signed again by the provider. */
  const withPadding: Record<PaymentMethod, (genuine: RawCallback, padding: string) => RawCallback> = {
    wechat: (genuine, padding) => {
      const body = JSON.stringify({ ...JSON.parse(genuine.body.toString('utf8')), padding });
      return {
        headers: {
          'content-type': 'application/json',
          ...wechatpayHeaders(platformSigner(keys.wechat.sandbox), body, now()),
        },
        body: Buffer.from(body),
      };
    },
    alipay: (genuine, padding) =>
      signedNotification(
        { ...formFields(genuine.body), passback_params: padding },
        keys.alipay.sandbox.alipayPrivateKey,
      ),
    bank: (genuine, padding) =>
      signedBankCallback(
        JSON.stringify({ ...JSON.parse(genuine.body.toString('utf8')), metadata: { note: padding } }),
        keys.bank.sandbox.webhookSecrets[0]!,
        now(),
      ),
  };
  /** One byte per character in JSON and in a form alike (the space becomes '+'). */
  const PADDING = 'Longjing tea 250 g ';

  /** The provider's validly signed callback about `payment`, padded to exactly `bytes`. */
  function paddedCallback(payment: Payment, eventId: string, bytes: number): RawCallback {
    const genuine = callbackFor(payment, { eventId });
    // A random hex prefix changes the text, not its length: each round gets another signature.
    const padded = (length: number) =>
      withPadding[payment.method](
        genuine,
        (randomBytes(4).toString('hex') + PADDING.repeat(Math.ceil(length / PADDING.length))).slice(0, length),
      );
    let length = bytes - padded(0).body.length;
    // Alipay's URL-encoded signature varies in length (+ / = take 3 bytes): a few rounds settle it.
    for (let round = 0; round < 200; round++) {
      const callback = padded(length);
      if (callback.body.length === bytes) return callback;
      length += bytes - callback.body.length;
    }
    throw new Error(`could not pad a ${payment.method} callback to ${bytes} bytes`);
  }

  /** DynamoDB's item size, near enough: attribute names plus values (binary by length, text as UTF-8). */
  const itemBytes = (item: Record<string, unknown>) =>
    Object.entries(item).reduce((total, [name, value]) => {
      const size =
        value instanceof Uint8Array
          ? value.length
          : Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));
      return total + Buffer.byteLength(name) + size;
    }, 0);

  afterEach(() => vi.restoreAllMocks());

  it.each(PROVIDERS)(
    '%s: a validly signed 300 KB callback is refused in its own format (413) before verification, counted, nothing written',
    async (provider) => {
      const payment = await startedPayment(env, provider);
      const callback = paddedCallback(payment, 'evt-huge', 300 * 1024);
      const verify = vi.spyOn(providers[provider], 'verifyCallback');
      const before = await tableSnapshot(env);

      const reply = await receive(provider, callback);

      expectFailure(provider, reply, { retryable: false, status: 413 });
      expect(verify).not.toHaveBeenCalled();
      expect(await tableSnapshot(env)).toEqual(before);
      expect(await queueDepth(queues, queues.queueUrl)).toBe(0);
      expect(env.metrics.total(Metric.CallbackTooLarge, { provider })).toBe(1);
      expect(env.metrics.total(Metric.CallbackRejected, { provider, reason: 'too_large' })).toBe(1);
    },
  );

  it.each(PROVIDERS)(
    '%s: exactly the bound is acknowledged and archived compressed, read back byte for byte; one byte more is refused',
    async (provider) => {
      const payment = await startedPayment(env, provider);
      const atBound = paddedCallback(payment, 'evt-at-bound', MAX_CALLBACK_BYTES);

      expectAcknowledged(provider, await receive(provider, atBound));
      await drained();

      const [archived] = await env.repo.getArchivedCallbacks(provider, 'evt-at-bound');
      expect(Buffer.from(archived!.bodyBase64, 'base64').equals(atBound.body)).toBe(true);
      const [stored] = await itemsOfKind(env, 'callback');
      expect(itemBytes(stored!)).toBeLessThan(MAX_CALLBACK_BYTES / 4);
      expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({ status: 'succeeded' });

      const overBound = paddedCallback(payment, 'evt-over-bound', MAX_CALLBACK_BYTES + 1);
      expectFailure(provider, await receive(provider, overBound), { retryable: false, status: 413 });
      expect(await env.repo.getArchivedCallbacks(provider, 'evt-over-bound')).toEqual([]);
      expect(env.metrics.total(Metric.CallbackTooLarge, { provider })).toBe(1);
    },
  );
});

it('metrics: callbacks received and accepted per provider, callback and worker latency observed', async () => {
  for (const provider of PROVIDERS) {
    const payment = await startedPayment(env, provider);
    expectAcknowledged(provider, await receive(provider, callbackFor(payment, { eventId: `evt-${provider}` })));
  }
  await drained();

  for (const provider of PROVIDERS) {
    expect(env.metrics.total(Metric.CallbackReceived, { provider }), provider).toBe(1);
    expect(env.metrics.total(Metric.CallbackAccepted, { provider, outcome: 'succeeded' }), provider).toBe(1);
    for (const latency of [Metric.CallbackLatency, Metric.WorkerLatency]) {
      const observed = env.metrics.samples.filter(
        (sample) => sample.name === latency && sample.dimensions.provider === provider,
      );
      expect(observed, `${latency} ${provider}`).toEqual([
        expect.objectContaining({ unit: 'Milliseconds', value: expect.any(Number) }),
      ]);
      expect(observed[0]!.value).toBeGreaterThan(0);
    }
  }
});

/** Genuine refund notifications of 1 yuan for a payment, each provider's own, naming `paymentAmount` as the payment's amount. */
function refundCallbacks(
  paymentAmount: (payment: Payment) => number,
): Array<[PaymentMethod, (payment: Payment) => RawCallback]> {
  return [
    [
      'wechat',
      (payment) =>
        wechatRefundNotification(
          keys.wechat.sandbox,
          wechatRefundResource(keys.wechat.sandbox, {
            out_trade_no: payment.paymentId,
            amount: {
              total: paymentAmount(payment),
              refund: 100,
              payer_total: paymentAmount(payment),
              payer_refund: 100,
            },
          }),
          { now: env.clock.now() },
        ),
    ],
    [
      'alipay',
      (payment) =>
        signedNotification(
          refundNotificationFields(keys.alipay.sandbox.appId, {
            out_trade_no: payment.paymentId,
            total_amount: fenToYuan(paymentAmount(payment)),
            refund_fee: '1.00',
          }),
          keys.alipay.sandbox.alipayPrivateKey,
        ),
    ],
    [
      'bank',
      (payment) =>
        signedBankCallback(
          bankRefundEventBody({
            payment_id: payment.paymentId,
            amount: paymentAmount(payment) === payment.amount ? 100 : payment.amount + 1,
          }),
          keys.bank.sandbox.webhookSecrets[0]!,
          seconds(env.clock.now()),
        ),
    ],
  ];
}
