import { beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../../src/core/kernel/ids';
import { recordFailure, recordRecovery } from '../../../src/core/payments/notification-failures';
import { applyNotification } from '../../../src/core/payments/notifications';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import type { BusinessDate } from '../../../src/domain/bill';
import { createRefund, transitionRefund } from '../../../src/domain/refund';
import {
  type CustomerApi,
  customerApi,
  itemsOfKind,
  placeOrder,
  settleAsPaid,
  tableSnapshot,
} from '../../support/api-fixtures';
import { AwsFaults } from '../../support/faults';
import { memoryCheckoutStore } from '../../support/bank-fixtures';
import { WECHAT_SANDBOX_BASE, simulatorFetch } from '../../support/wechat-fixtures';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { createWechatProvider } from '../../../src/providers/wechat';
import { createTestEnv, DEMO_PRODUCTS, type TestEnv } from '../../support/harness';
import { RequestCounter } from '../../support/request-counter';

const TEA = { items: [{ sku: 'TEA-001', quantity: 2 }] };
const LIN = { customerId: 'staff_lin', scope: ADMIN_SCOPE };
const WANG = { customerId: 'staff_wang', scope: ADMIN_SCOPE };

let env: TestEnv;
let api: CustomerApi;

beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(DEMO_PRODUCTS);
  api = customerApi(env);
});

/** A payment whose provider reported `reported` fen instead of its amount: parked for review. */
async function parkedPayment(reportedOffset: number) {
  const { order, payment } = await placeOrder(api, TEA);
  await applyNotification(env.deps, {
    provider: 'wechat',
    eventId: `evt_${payment.paymentId}`,
    paymentId: payment.paymentId,
    providerTransactionId: `4200${payment.paymentId.slice(4, 20)}`,
    outcome: 'succeeded',
    amount: payment.amount + reportedOffset,
    currency: 'CNY',
    occurredAt: env.clock.now().toISOString(),
    providerStatus: 'SUCCESS',
    via: 'callback',
  });
  expect((await env.repo.getPayment(payment.paymentId))?.needsReview).toBe(true);
  return { order, payment };
}

/** A paid order whose refund WeChat marked ABNORMAL. */
async function abnormalRefund() {
  const { order, payment } = await placeOrder(api, TEA);
  await settleAsPaid(env, payment);
  const paid = (await env.repo.getPayment(payment.paymentId))!;
  const now = env.clock.now();
  const created = createRefund({
    refundId: newId('ref', now),
    payment: paid,
    amount: paid.amount,
    origin: 'admin',
    sendAt: now.toISOString(),
    now,
  });
  const refund = transitionRefund(created, { to: 'abnormal', now, reason: 'REFUND.ABNORMAL: card frozen' });
  await env.repo.commit([
    { kind: 'createRefund', refund },
    {
      kind: 'updatePayment',
      before: paid,
      after: { ...paid, refundIds: [refund.refundId], refundReserved: refund.amount, version: paid.version + 1 },
    },
  ]);
  return { order, refund };
}

const openCount = async (route: 'GET /api/admin/payments' | 'GET /api/admin/refunds', query: Record<string, string>) =>
  (await api(route, { ...LIN, query })).body[route.endsWith('payments') ? 'payments' : 'refunds'].length;

describe('a payment parked for review', () => {
  it('is listed under flag=needsReview with what the provider reported, from one Query', async () => {
    const { payment } = await parkedPayment(+100);
    await placeOrder(api, TEA);
    const counter = new RequestCounter().attach(env.client, 'DynamoDB');

    const counts = await counter.during(async () => {
      const response = await api('GET /api/admin/payments', { ...LIN, query: { flag: 'needsReview' } });
      expect(response.body.payments).toHaveLength(1);
      expect(response.body.payments[0]).toMatchObject({
        paymentId: payment.paymentId,
        flags: ['needsReview'],
        reportedAmount: payment.amount + 100,
      });
    });
    expect(counts).toEqual({ 'DynamoDB.BatchGetItem': 1, 'DynamoDB.Query': 1 });
  });

  it('accept: the order is paid, what is above its total is refunded, the audit says who and why', async () => {
    const { order, payment } = await parkedPayment(+100);

    const response = await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { decision: 'accept', reason: 'customer tipped by mistake; keep the order, return the extra' },
      idempotencyKey: 'review-accept-0001',
    });

    expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
    expect(response.body.payment).toMatchObject({ status: 'succeeded', amount: payment.amount + 100 });
    expect(response.body.payment.flags).not.toContain('needsReview');
    expect(response.body.refunds).toEqual([expect.objectContaining({ amount: 100, status: 'pending' })]);
    expect((await env.repo.getOrder(order.orderId))?.status).toBe('paid');
    expect(await openCount('GET /api/admin/payments', { flag: 'needsReview' })).toBe(0);
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `payment:${payment.paymentId}` } });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        action: 'accept',
        actor: 'staff_lin',
        reason: 'customer tipped by mistake; keep the order, return the extra',
        before: expect.objectContaining({ status: 'init', flags: ['needsReview'], reported: payment.amount + 100 }),
        after: expect.objectContaining({ status: 'succeeded', orderStatus: 'paid' }),
      }),
    ]);
    const events = (await env.drainedBus()).ofType('StaffActionRecorded');
    expect(events).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ actor: 'staff_lin', orderId: order.orderId }) }),
    ]);
  });

  it('accept of a short amount pays nothing and refunds it whole; refund does the same for any amount', async () => {
    const short = await parkedPayment(-1);
    const over = await parkedPayment(+1);

    const accepted = await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: short.payment.paymentId },
      body: { decision: 'accept', reason: 'short by a fen' },
    });
    const refunded = await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: over.payment.paymentId },
      body: { decision: 'refund', reason: 'customer asked for it back' },
    });

    expect(accepted.body.refunds).toEqual([expect.objectContaining({ amount: short.payment.amount - 1 })]);
    expect(refunded.body.refunds).toEqual([expect.objectContaining({ amount: over.payment.amount + 1 })]);
    expect((await env.repo.getOrder(short.order.orderId))?.status).toBe('pending');
    expect((await env.repo.getOrder(over.order.orderId))?.status).toBe('pending');
  });

  it('two people settling it at once: one wins, the other gets 409 NO_LONGER_WAITING with the payment now', async () => {
    const { payment } = await parkedPayment(+100);
    const settle = (who: typeof LIN, decision: string) =>
      api('POST /api/admin/payments/{paymentId}/review', {
        ...who,
        params: { paymentId: payment.paymentId },
        body: { decision, reason: `${who.customerId} decides` },
      });

    const responses = await Promise.all([settle(LIN, 'accept'), settle(WANG, 'refund')]);

    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 409]);
    const lost = responses.find((response) => response.statusCode === 409)!;
    expect(lost.body.error.code).toBe('NO_LONGER_WAITING');
    expect(lost.body.error.details.current).toMatchObject({ paymentId: payment.paymentId, status: 'succeeded' });
    expect(await itemsOfKind(env, 'audit')).toHaveLength(1);
    expect(await itemsOfKind(env, 'refund')).toHaveLength(1);
  });

  it('replays the same Idempotency-Key without settling twice', async () => {
    const { payment } = await parkedPayment(+100);
    const request = {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { decision: 'accept', reason: 'double click' },
      idempotencyKey: 'review-double-01',
    };

    const first = await api('POST /api/admin/payments/{paymentId}/review', request);
    const again = await api('POST /api/admin/payments/{paymentId}/review', request);

    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await itemsOfKind(env, 'audit')).toHaveLength(1);
  });

  it('writes effect and audit in one transaction: when it fails, neither is there', async () => {
    const { payment } = await parkedPayment(+100);
    const before = await tableSnapshot(env);
    const faults = new AwsFaults(1);
    faults.attach(env.client, 'dynamodb');
    faults.rules = [{ service: 'dynamodb', fault: 'fail', share: 1, commands: ['TransactWriteItemsCommand'] }];

    const response = await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { decision: 'accept', reason: 'the write will fail' },
    });

    faults.enabled = false;
    expect(response.statusCode).toBe(500);
    expect(faults.total()).toBe(1);
    expect(await tableSnapshot(env)).toEqual(before);
  });

  it('requires a reason', async () => {
    const { payment } = await parkedPayment(+100);
    const response = await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { decision: 'accept' },
    });
    expect(response.statusCode).toBe(400);
    expect((await env.repo.getPayment(payment.paymentId))?.needsReview).toBe(true);
  });
});

describe('money owed back that no refund covers', () => {
  it('is listed under flag=refundOwed and refunded by a person; then it no longer waits', async () => {
    const { payment } = await parkedPayment(+100);
    await api('POST /api/admin/payments/{paymentId}/review', {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { decision: 'accept', reason: 'keep the order' },
    });
    // The automatic refund failed at the provider: its reservation is released, the money is owed again.
    const [refund] = await itemsOfKind(env, 'refund');
    const stored = (await env.repo.getRefund(String(refund!.refundId)))!;
    const paid = (await env.repo.getPayment(payment.paymentId))!;
    const failed = transitionRefund(stored, { to: 'failed', now: env.clock.now(), reason: 'CLOSED' });
    await env.repo.commit([
      { kind: 'updateRefund', before: stored, after: failed },
      { kind: 'updatePayment', before: paid, after: { ...paid, refundReserved: 0, version: paid.version + 1 } },
    ]);
    expect(await openCount('GET /api/admin/payments', { flag: 'refundOwed' })).toBe(1);

    const response = await api('POST /api/admin/payments/{paymentId}/refund-owed', {
      ...LIN,
      params: { paymentId: payment.paymentId },
      body: { reason: 'retry the refund of the extra 1 yuan' },
    });
    const again = await api('POST /api/admin/payments/{paymentId}/refund-owed', {
      ...WANG,
      params: { paymentId: payment.paymentId },
      body: { reason: 'retry it too' },
    });

    expect(response.statusCode, JSON.stringify(response.body)).toBe(201);
    expect(response.body.refunds).toEqual([expect.objectContaining({ amount: 100, status: 'pending' })]);
    expect(again.statusCode).toBe(409);
    expect(again.body.error.code).toBe('NO_LONGER_WAITING');
    expect(await openCount('GET /api/admin/payments', { flag: 'refundOwed' })).toBe(0);
  });
});

describe('an abnormal refund', () => {
  it('is listed under status=abnormal and settled offline: succeeded, the order refunded, audited', async () => {
    const { order, refund } = await abnormalRefund();
    expect(await openCount('GET /api/admin/refunds', { status: 'abnormal' })).toBe(1);

    const response = await api('POST /api/admin/refunds/{refundId}/settle', {
      ...LIN,
      params: { refundId: refund.refundId },
      body: { action: 'settled-offline', reason: 'paid back by bank transfer, ref BT-2211' },
    });
    const late = await api('POST /api/admin/refunds/{refundId}/settle', {
      ...WANG,
      params: { refundId: refund.refundId },
      body: { action: 'settled-offline', reason: 'also paid?' },
    });

    expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
    expect(response.body.refund).toMatchObject({ status: 'succeeded', offline: true });
    expect((await env.repo.getOrder(order.orderId))?.status).toBe('refunded');
    expect(await openCount('GET /api/admin/refunds', { status: 'abnormal' })).toBe(0);
    expect(late.statusCode).toBe(409);
    expect(late.body.error.details.current).toMatchObject({ status: 'succeeded' });
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `refund:${refund.refundId}` } });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        action: 'settled-offline',
        actor: 'staff_lin',
        after: expect.objectContaining({ status: 'succeeded' }),
      }),
    ]);
  });
});

const wechatKeys = generateWechatKeys(WECHAT_SANDBOX_BASE);

/**
 * An abnormal WeChat refund in our books and at the WeChat sandbox, which holds it `held` (abnormal,
 * or processing: then it refuses a re-submission); the sandbox is this env's WeChat provider.
 */
async function abnormalAtWechat(held: 'abnormal' | 'processing') {
  const { order, refund } = await abnormalRefund();
  const payment = (await env.repo.getPayment(refund.paymentId))!;
  const store = memoryCheckoutStore();
  store.put({
    provider: 'wechat',
    paymentId: payment.paymentId,
    amount: payment.amount,
    currency: 'CNY',
    description: 'tea',
    notifyUrl: 'http://127.0.0.1:3000/api/payments/callback/wechat',
    expiresAt: payment.expiresAt,
    state: 'paid',
    transactionId: payment.providerTransactionId!,
    paidAt: payment.paidAt!,
    notificationId: 'EV-0001',
  });
  const opened = store.refunds.open(
    { paymentId: payment.paymentId, refundId: refund.refundId, amount: refund.amount, settle: 'never' },
    env.clock.now(),
  );
  if (opened.result === 'refused') throw new Error(opened.refusal);
  if (held === 'abnormal') store.refunds.settle(payment.paymentId, opened.refund.key, env.clock.now(), 'abnormal');
  const withKey = { ...refund, providerRefundId: opened.refund.key, version: refund.version + 1 };
  await env.repo.commit([{ kind: 'updateRefund', before: refund, after: withKey }]);
  const simulator = createWechatSimulator(wechatKeys.sandbox, { refundSpacingMs: 0 });
  env.deps.providers.wechat = createWechatProvider({
    config: wechatKeys.merchant,
    fetch: simulatorFetch(simulator, store, { now: () => env.clock.now() }),
  });
  return { order, refund: withKey, atWechat: () => store.refunds.find(refund.refundId)?.state };
}

const TO_CARD = { type: 'USER_BANK_CARD', bankType: 'CMB_DEBIT', bankAccount: '6214830100223344', realName: '李雷' };

describe('an abnormal refund sent again (retry)', () => {
  it('retry and settled-offline at once: one wins, the other gets 409, and WeChat hears of it only if retry won', async () => {
    const { refund, atWechat } = await abnormalAtWechat('abnormal');

    const [retried, offline] = await Promise.all([
      api('POST /api/admin/refunds/{refundId}/retry', {
        ...LIN,
        params: { refundId: refund.refundId },
        body: { destination: TO_CARD, reason: 'new card' },
        idempotencyKey: 'retry-race-0001',
      }),
      api('POST /api/admin/refunds/{refundId}/settle', {
        ...WANG,
        params: { refundId: refund.refundId },
        body: { action: 'settled-offline', reason: 'paid in cash' },
        idempotencyKey: 'offline-race-0001',
      }),
    ]);

    expect([retried.statusCode, offline.statusCode].sort()).toEqual([200, 409]);
    const mine = await env.repo.getRefund(refund.refundId);
    expect(atWechat()).toBe(retried.statusCode === 200 ? 'processing' : 'abnormal');
    expect(mine?.status).toBe(retried.statusCode === 200 ? 'processing' : 'succeeded');
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `refund:${refund.refundId}` } });
    expect(audit.body.entries).toHaveLength(1);
  });

  it('refused by WeChat: nothing sent, it waits again as abnormal, with a second audit line saying why', async () => {
    const { refund } = await abnormalAtWechat('processing');

    const response = await api('POST /api/admin/refunds/{refundId}/retry', {
      ...LIN,
      params: { refundId: refund.refundId },
      body: { destination: { type: 'MERCHANT_BANK_CARD' }, reason: 'to the shop account' },
      idempotencyKey: 'retry-refused-0001',
    });

    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'REFUND_RETRY_REFUSED',
      details: { providerStatus: 'INVALID_REQUEST', current: { status: 'abnormal' } },
    });
    expect((await env.repo.getRefund(refund.refundId))?.status).toBe('abnormal');
    expect(await openCount('GET /api/admin/refunds', { status: 'abnormal' })).toBe(1);
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: `refund:${refund.refundId}` } });
    // Both in the test clock's one millisecond: their order is not the point, both lines are.
    expect(audit.body.entries.map((entry: { action: string }) => entry.action).sort()).toEqual([
      'retry',
      'retry-refused',
    ]);
  });

  it('requires a destination WeChat can take: a card number of digits', async () => {
    const { refund } = await abnormalRefund();
    const response = await api('POST /api/admin/refunds/{refundId}/retry', {
      ...LIN,
      params: { refundId: refund.refundId },
      body: { destination: { ...TO_CARD, bankAccount: '6214-8301' }, reason: 'typo' },
      idempotencyKey: 'retry-invalid-0001',
    });
    expect(response.statusCode).toBe(400);
    expect((await env.repo.getRefund(refund.refundId))?.status).toBe('abnormal');
  });
});

describe('a reconciliation difference', () => {
  it('is listed while open and resolved with a note: it leaves the list, resolved by whom', async () => {
    const date = '2026-11-24' as BusinessDate;
    await env.repo.commit([
      {
        kind: 'recordDifference',
        provider: 'wechat',
        date,
        difference: {
          kind: 'missing_in_ledger',
          providerTransactionId: '4200000001',
          theirs: { status: 'SUCCESS', amount: 1200 },
          healed: false,
        },
      },
    ]);
    const listed = await api('GET /api/admin/differences', LIN);
    expect(listed.body.differences).toHaveLength(1);
    const { differenceId } = listed.body.differences[0];

    const resolve = (who: typeof LIN) =>
      api('POST /api/admin/differences/{differenceId}/resolve', {
        ...who,
        params: { differenceId },
        body: { reason: 'a test payment made on the merchant platform; booked by finance' },
      });
    const [first, second] = await Promise.all([resolve(LIN), resolve(WANG)]);

    expect([first.statusCode, second.statusCode].sort()).toEqual([200, 409]);
    expect((await api('GET /api/admin/differences', LIN)).body.differences).toEqual([]);
    const day = await api('GET /api/admin/reconciliation/{date}', { ...LIN, params: { date } });
    expect(JSON.stringify(day.body)).toContain('a test payment made on the merchant platform');
  });
});

describe('dead letters', () => {
  const notification = (eventId: string) => ({
    provider: 'wechat' as const,
    eventId,
    paymentId: 'pay_0000000000missing00000',
    outcome: 'succeeded' as const,
    amount: 100,
    currency: 'CNY' as const,
    occurredAt: '2026-11-25T04:00:00.000Z',
    providerStatus: 'SUCCESS',
    via: 'callback' as const,
  });

  it('lists what the worker gave up on (why, how often), and a replay sends them back and clears the list', async () => {
    const failing = notification('evt_dead_1');
    for (let receive = 1; receive <= 5; receive++)
      await recordFailure(env.deps, failing, receive, new Error(`table unavailable #${receive}`));
    await recordFailure(env.deps, notification('evt_retrying'), 2, new Error('still retrying'));
    env.queue.deadLetters.push(failing);

    const listed = await api('GET /api/admin/dead-letters', LIN);
    expect(listed.body.deadLetters).toEqual([
      expect.objectContaining({ eventId: 'evt_dead_1', failures: 5, errorMessage: 'table unavailable #5' }),
    ]);

    const [replay, twice] = await Promise.all([
      api('POST /api/admin/dead-letters/replay', { ...LIN, body: { reason: 'table is back' } }),
      api('POST /api/admin/dead-letters/replay', { ...WANG, body: { reason: 'me too' } }),
    ]);

    expect([replay.statusCode, twice.statusCode].sort()).toEqual([200, 409]);
    expect(env.queue.sent).toEqual([failing]);
    expect((await api('GET /api/admin/dead-letters', LIN)).body.deadLetters).toEqual([]);
    const audit = await api('GET /api/admin/audit', { ...LIN, query: { entity: 'dead-letters:notifications' } });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ action: 'replay', before: { deadLetters: ['wechat:evt_dead_1'] } }),
    ]);
  });

  it('a notification applied on a later delivery leaves the list', async () => {
    const failing = notification('evt_recovers');
    for (let receive = 1; receive <= 5; receive++) await recordFailure(env.deps, failing, receive, new Error('x'));

    await recordRecovery(env.deps, failing, 6);

    expect((await api('GET /api/admin/dead-letters', LIN)).body.deadLetters).toEqual([]);
  });
});
