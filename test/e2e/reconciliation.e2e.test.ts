import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PaymentMethod, PaymentsClient } from '../../src/client/payments-client';
import { businessDateOf } from '../../src/domain/bill';
import { decideAtCheckout, RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * The reconciliation as a shop's operator meets it: a payment the provider took whose callback
 * never came (`pay?notify=false`) and a refund made on the provider's console that told nobody;
 * `npm run reconcile` for today finds both in the provider's bill, heals the first (the order is
 * paid) and records the second as an external refund; the admin API shows the day; a second run
 * finds the same and heals nothing twice.
 */

const run = promisify(execFile);
const METHODS: readonly PaymentMethod[] = ['wechat', 'alipay', 'bank'];
const SETTLE = { timeout: 20_000, interval: 200 };
// No expiry and no sweeper query within the test: only the reconciliation can find the lost callback.
const QUIET_SWEEPER = { PAYMENT_TTL_MINUTES: '60', PAYMENT_FIRST_QUERY_SECONDS: '3600' };

describe('reconciliation through npm start and npm run reconcile', () => {
  let env: TestRuntime;
  let client: PaymentsClient;
  let adminToken: string;
  const today = businessDateOf(new Date());

  beforeAll(async () => {
    env = await startTestRuntime(QUIET_SWEEPER);
    client = await env.clientFor('e2e-reconciliation');
    adminToken = await env.tokenFor('e2e-finance', true);
  }, RUNTIME_START_TIMEOUT_MS);
  afterAll(async () => {
    await env?.stop();
  });

  const admin = async (path: string) => {
    const response = await fetch(`${env.runtime.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
    return { status: response.status, body: (await response.json()) as any };
  };
  const sandbox = async (path: string, body?: unknown) => {
    const response = await fetch(`${env.runtime.baseUrl}${path}`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
    return (await response.json()) as any;
  };
  const reconcile = (...args: string[]) =>
    run('npm', ['run', '--silent', 'reconcile', '--', '--date', today, ...args], {
      env: { ...process.env, PORT: new URL(env.runtime.baseUrl).port },
    });

  describe.each(METHODS)('%s', (method) => {
    const lost = { orderId: '', paymentId: '' };
    const refunded = { paymentId: '', refundId: '', amount: 0 };

    beforeAll(async () => {
      const a = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], { paymentMethod: method });
      // The customer opens the pay URL (the bank's checkout exists from then on) and pays; no callback follows.
      const opened = await fetch((await client.startPayment(a.payment.paymentId)).payUrl!);
      expect(opened.status).toBe(200);
      const paid = await sandbox(`/sandbox/checkout/${a.payment.paymentId}/pay?notify=false`);
      expect(paid).toMatchObject({ state: 'paid' });
      expect(paid.delivery).toBeUndefined();
      Object.assign(lost, { orderId: a.order.orderId, paymentId: a.payment.paymentId });

      const b = await client.createOrder([{ sku: 'CUP-CELADON', quantity: 1 }], { paymentMethod: method });
      const { payUrl } = await client.startPayment(b.payment.paymentId);
      await decideAtCheckout(payUrl, 'pay');
      await vi.waitFor(async () => expect((await client.getOrder(b.order.orderId)).order.status).toBe('paid'), SETTLE);
      const consoleRefund = await sandbox('/sandbox/refunds', {
        paymentId: b.payment.paymentId,
        amount: 1_000,
        notify: false,
      });
      Object.assign(refunded, { paymentId: b.payment.paymentId, refundId: consoleRefund.refundId, amount: 1_000 });
    }, 60_000);

    it('the lost callback leaves the order pending until the reconciliation runs', async () => {
      expect((await client.getOrder(lost.orderId)).order.status).toBe('pending');
    });

    it('npm run reconcile prints the day and heals both differences', async () => {
      const { stdout } = await reconcile('--provider', method);
      expect(stdout).toContain(`Reconciliation of ${today}`);
      expect(stdout).toMatch(new RegExp(`${method}\\s+reconciled`));
      expect(stdout).toMatch(new RegExp(`missing_in_ledger\\s+${lost.paymentId}`));
      expect(stdout).toContain('refund_missing_in_ledger');
      expect(stdout).toContain('¥10.00');

      await vi.waitFor(async () => expect((await client.getOrder(lost.orderId)).order.status).toBe('paid'), SETTLE);
      const { body: refunds } = await admin(`/api/payments/${refunded.paymentId}/refunds`);
      expect(refunds.refunds).toEqual([
        expect.objectContaining({ amount: refunded.amount, status: 'succeeded', external: true }),
      ]);
    }, 60_000);

    it('the admin API shows the provider’s day with both differences healed', async () => {
      const { status, body } = await admin(`/api/admin/reconciliation/${today}`);
      expect(status).toBe(200);
      const day = body.providers.find((candidate: { provider: string }) => candidate.provider === method);
      expect(day).toMatchObject({ provider: method, date: today, status: 'reconciled', billRows: 3, healed: 2 });
      expect(day.differences).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'missing_in_ledger', paymentId: lost.paymentId, healed: true }),
          expect.objectContaining({
            kind: 'refund_missing_in_ledger',
            paymentId: refunded.paymentId,
            healed: true,
            theirs: expect.objectContaining({ amount: 1_000 }),
          }),
        ]),
      );
      expect(day.differences).toHaveLength(2);
    });

    it('a second run finds the same day and heals nothing twice', async () => {
      const events = () =>
        env.runtime.bus.published.filter(
          (event) => event.type === 'ReconciliationDifference' && event.detail.method === method,
        );
      await env.runtime.eventsPublished(); // the first run's, from the table's stream
      expect(events()).toHaveLength(2);
      await reconcile('--provider', method);
      const { body } = await admin(`/api/admin/reconciliation/${today}`);
      const day = body.providers.find((candidate: { provider: string }) => candidate.provider === method);
      expect(day).toMatchObject({ matched: 3, healed: 2 });
      expect(day.differences).toHaveLength(2);
      await env.runtime.eventsPublished();
      expect(events()).toHaveLength(2);
      expect((await admin(`/api/payments/${refunded.paymentId}/refunds`)).body.refunds).toHaveLength(1);
    }, 60_000);
  });

  it('refuses a date that is not one, in the API and the CLI', async () => {
    expect((await admin('/api/admin/reconciliation/2026-02-30')).status).toBe(400);
    await expect(run('npm', ['run', '--silent', 'reconcile', '--', '--date', '2026-13-01'])).rejects.toMatchObject({
      code: 2,
    });
  });
});
