import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PaymentMethod, PaymentsClient } from '../../src/client/payments-client';
import type { SandboxRefundOutcome } from '../../local/sandbox/types';
import { fenToYuan } from '../../src/domain/money';
import { decideAtCheckout, RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * Refunds through `npm start`: the admin API, the sandbox provider's refund API and its signed
 * refund notifications back through the callback, queue and worker, and the sweeper's query. One
 * runtime per SANDBOX_REFUND_OUTCOME, each refunding a payment of every provider.
 */

const METHODS: readonly PaymentMethod[] = ['wechat', 'alipay', 'bank'];
const CUSTOMER = 'e2e-refunds';
const SETTLE = { timeout: 20_000, interval: 200 };
/** The sweeper asks about open refunds after a second, so a lost notification is rescued within a test. */
const FAST_QUERIES = { PAYMENT_FIRST_QUERY_SECONDS: '1' };

interface RefundBody {
  refundId: string;
  amount: number;
  status: string;
  external?: boolean;
}

function runtimeWith(outcome: SandboxRefundOutcome) {
  const state: { env?: TestRuntime; client?: PaymentsClient; adminToken?: string } = {};
  beforeAll(async () => {
    state.env = await startTestRuntime({ SANDBOX_REFUND_OUTCOME: outcome, ...FAST_QUERIES });
    state.client = await state.env.clientFor(CUSTOMER);
    state.adminToken = await state.env.tokenFor('e2e-ops', true);
  }, RUNTIME_START_TIMEOUT_MS);
  afterAll(async () => {
    await state.env?.stop();
  });

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${state.env!.runtime.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${state.adminToken}`,
        ...(body === undefined
          ? {}
          : { 'content-type': 'application/json', 'idempotency-key': `e2e-${crypto.randomUUID()}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
    return { status: response.status, body: (await response.json()) as any };
  };

  /** A payment of two cups, paid at the sandbox checkout, its order paid. */
  async function paidPayment(method: PaymentMethod) {
    const client = state.client!;
    const { order, payment } = await client.createOrder([{ sku: 'CUP-CELADON', quantity: 2 }], {
      paymentMethod: method,
    });
    const { payUrl } = await client.startPayment(payment.paymentId);
    await decideAtCheckout(payUrl, 'pay');
    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
    return { orderId: order.orderId, paymentId: payment.paymentId, amount: order.totalAmount };
  }

  async function refund(paymentId: string, body: { amount?: number }): Promise<RefundBody> {
    const created = await api('POST', `/api/payments/${paymentId}/refunds`, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.refund;
  }

  const refundSettles = (refundId: string, status: string) =>
    vi.waitFor(
      async () => expect((await api('GET', `/api/refunds/${refundId}`)).body.refund.status).toBe(status),
      SETTLE,
    );

  return { state, api, paidPayment, refund, refundSettles };
}

describe('refunds the sandbox pays back (SANDBOX_REFUND_OUTCOME=succeed)', () => {
  const { api, paidPayment, refund, refundSettles, state } = runtimeWith('succeed');

  it.each(METHODS)('%s: a full refund succeeds and the order reads refunded', async (method) => {
    const { orderId, paymentId, amount } = await paidPayment(method);
    const made = await refund(paymentId, {});
    expect(made.amount).toBe(amount);
    await refundSettles(made.refundId, 'succeeded');
    await vi.waitFor(
      async () =>
        expect((await state.client!.getOrder(orderId)).order).toMatchObject({
          status: 'refunded',
          refundedAmount: amount,
        }),
      SETTLE,
    );
    // The provider's checkout page shows the refund too.
    const page = await (await fetch(`${state.env!.runtime.baseUrl}/sandbox/checkout/${paymentId}`)).text();
    expect(page).toContain(`Refunded ¥${fenToYuan(amount)}`);
    expect(page).toContain(made.refundId);
  });

  it.each(METHODS)('%s: two partial refunds add up; the order stays paid until all is refunded', async (method) => {
    const { orderId, paymentId, amount } = await paidPayment(method);
    const first = await refund(paymentId, { amount: 100 });
    await refundSettles(first.refundId, 'succeeded');
    const second = await refund(paymentId, { amount: 250 });
    await refundSettles(second.refundId, 'succeeded');
    const listed = await api('GET', `/api/payments/${paymentId}/refunds`);
    expect(listed.body).toMatchObject({ refundedAmount: 350, refundableAmount: amount - 350 });
    expect((await state.client!.getOrder(orderId)).order).toMatchObject({ status: 'paid', refundedAmount: 350 });
    const tooMuch = await api('POST', `/api/payments/${paymentId}/refunds`, { amount: amount - 349 });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([409, 'REFUND_EXCEEDS_REFUNDABLE']);
  });

  it('the local dashboard counts the refunds above and the money they returned', async () => {
    const refunds = async () =>
      (
        (await (await fetch(`${state.env!.runtime.baseUrl}/_local/dashboard.json`)).json()) as {
          refunds: Record<string, number>;
        }
      ).refunds;
    const { amount } = await paidPayment('wechat'); // two cups, as each refunded order was
    // Three full refunds and three pairs of partial ones, all succeeded. The counts are metrics the
    // worker emits as it commits; the money is summed from RefundSucceeded events, which reach the bus
    // through the table's stream a little later: wait for the stream, as the reconciliation e2e does.
    await state.env!.runtime.eventsPublished();
    await expect.poll(refunds, { timeout: 5_000 }).toMatchObject({
      requested: 9,
      succeeded: 9,
      failed: 0,
      abnormal: 0,
      external: 0,
      refundedFen: 3 * amount + 3 * 350,
    });
  });
});

describe('refunds the sandbox refuses (SANDBOX_REFUND_OUTCOME=fail)', () => {
  const { api, paidPayment, refund, refundSettles } = runtimeWith('fail');
  it.each(METHODS)('%s: the refund ends failed and its amount is refundable again', async (method) => {
    const { paymentId, amount } = await paidPayment(method);
    const made = await refund(paymentId, { amount: 100 });
    await refundSettles(made.refundId, 'failed');
    expect((await api('GET', `/api/payments/${paymentId}/refunds`)).body).toMatchObject({
      refundedAmount: 0,
      refundableAmount: amount,
    });
  });
});

describe('refunds the sandbox cannot pay back (SANDBOX_REFUND_OUTCOME=abnormal)', () => {
  const { api, paidPayment, refund, refundSettles, state } = runtimeWith('abnormal');
  const abnormalCount = async () => (await api('GET', '/api/admin/refunds?status=abnormal')).body.refunds.length;
  const auditOf = async (refundId: string) =>
    (await api('GET', `/api/admin/audit?entity=refund:${refundId}`)).body.entries;

  // Alipay has no abnormal state: its refund stays processing (and is queried, never failed on a timer).
  it.each(METHODS)('%s: the refund waits for a person, still reserving its amount', async (method) => {
    const { paymentId, amount } = await paidPayment(method);
    const made = await refund(paymentId, {});
    await refundSettles(made.refundId, method === 'alipay' ? 'processing' : 'abnormal');
    expect((await api('GET', `/api/payments/${paymentId}/refunds`)).body).toMatchObject({
      refundedAmount: 0,
      refundableAmount: 0,
    });
    expect(amount).toBeGreaterThan(0);
  });

  it("wechat: a person sends it again to the customer's bank card; WeChat's REFUND.SUCCESS ends it, audited", async () => {
    const { orderId, paymentId } = await paidPayment('wechat');
    const made = await refund(paymentId, {});
    await refundSettles(made.refundId, 'abnormal');
    const waiting = await abnormalCount();

    const retried = await api('POST', `/api/admin/refunds/${made.refundId}/retry`, {
      destination: {
        type: 'USER_BANK_CARD',
        bankType: 'ICBC_DEBIT',
        bankAccount: '6222020200112233445',
        realName: '王小明',
      },
      reason: 'card frozen; the customer gave another card on the phone',
    });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(['processing', 'succeeded']).toContain(retried.body.refund.status);
    expect(await abnormalCount()).toBe(waiting - 1);
    await refundSettles(made.refundId, 'succeeded');
    expect((await state.client!.getOrder(orderId)).order.status).toBe('refunded');
    expect(await auditOf(made.refundId)).toEqual([
      expect.objectContaining({
        action: 'retry',
        actor: 'e2e-ops',
        reason: 'card frozen; the customer gave another card on the phone',
        before: expect.objectContaining({ status: 'abnormal' }),
        after: expect.objectContaining({ status: 'processing', destination: 'USER_BANK_CARD' }),
      }),
    ]);
    // Sent again once: a second retry finds nothing waiting.
    const again = await api('POST', `/api/admin/refunds/${made.refundId}/retry`, {
      destination: { type: 'MERCHANT_BANK_CARD' },
      reason: 'second click',
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'NO_LONGER_WAITING' } } });
  });

  it('bank: has no re-submission (409 REFUND_RETRY_NOT_SUPPORTED), so a person settles it offline', async () => {
    const { paymentId } = await paidPayment('bank');
    const made = await refund(paymentId, {});
    await refundSettles(made.refundId, 'abnormal');
    const waiting = await abnormalCount();

    const retried = await api('POST', `/api/admin/refunds/${made.refundId}/retry`, {
      destination: { type: 'MERCHANT_BANK_CARD' },
      reason: 'try the shop account',
    });
    expect(retried).toMatchObject({ status: 409, body: { error: { code: 'REFUND_RETRY_NOT_SUPPORTED' } } });
    expect(await abnormalCount()).toBe(waiting);

    const settled = await api('POST', `/api/admin/refunds/${made.refundId}/settle`, {
      action: 'settled-offline',
      reason: 'paid back in cash at the counter',
    });
    expect(settled.status, JSON.stringify(settled.body)).toBe(200);
    expect(settled.body.refund).toMatchObject({ status: 'succeeded', offline: true });
    expect(await abnormalCount()).toBe(waiting - 1);
    expect(await auditOf(made.refundId)).toEqual([
      expect.objectContaining({
        action: 'settled-offline',
        actor: 'e2e-ops',
        reason: 'paid back in cash at the counter',
      }),
    ]);
  });
});

describe('refunds whose notification never comes (SANDBOX_REFUND_OUTCOME=silent)', () => {
  const { api, paidPayment, refund, refundSettles, state } = runtimeWith('silent');
  const waiting = async () =>
    ((await (await fetch(`${state.env!.runtime.baseUrl}/_local/waiting.json`)).json()) as { needsReview: number })
      .needsReview;

  it.each(METHODS)("%s: the sweeper's query finds the refund succeeded", async (method) => {
    const { orderId, paymentId } = await paidPayment(method);
    const made = await refund(paymentId, {});
    await refundSettles(made.refundId, 'succeeded');
    expect((await state.client!.getOrder(orderId)).order.status).toBe('refunded');
  });

  it("the sandbox takes another amount (?amount=): the callback is refused, the sweeper's query parks the payment, a person accepts it, audited, the count drops", async () => {
    const client = state.client!;
    const { order, payment } = await client.createOrder([{ sku: 'CUP-CELADON', quantity: 2 }], {
      paymentMethod: 'wechat',
    });
    await client.startPayment(payment.paymentId);
    const before = await waiting();

    const paid = await fetch(
      `${state.env!.runtime.baseUrl}/sandbox/checkout/${payment.paymentId}/pay?amount=${order.totalAmount + 100}`,
      {
        method: 'POST',
        headers: { accept: 'application/json' },
      },
    );
    expect(paid.status).toBe(200);
    await vi.waitFor(async () => expect(await waiting()).toBe(before + 1), SETTLE);
    const parked = await api('GET', '/api/admin/payments?flag=needsReview');
    expect(parked.body.payments).toContainEqual(
      expect.objectContaining({ paymentId: payment.paymentId, reportedAmount: order.totalAmount + 100 }),
    );

    const settled = await api('POST', `/api/admin/payments/${payment.paymentId}/review`, {
      decision: 'accept',
      reason: 'customer paid 1 yuan over; keep the order, return the extra',
    });
    expect(settled.status, JSON.stringify(settled.body)).toBe(200);
    expect(settled.body.refunds).toEqual([expect.objectContaining({ amount: 100 })]);
    await vi.waitFor(async () => expect((await client.getOrder(order.orderId)).order.status).toBe('paid'), SETTLE);
    expect(await waiting()).toBe(before);
    const audit = await api('GET', `/api/admin/audit?entity=payment:${payment.paymentId}`);
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        action: 'accept',
        actor: 'e2e-ops',
        reason: 'customer paid 1 yuan over; keep the order, return the extra',
      }),
    ]);
  });
});
