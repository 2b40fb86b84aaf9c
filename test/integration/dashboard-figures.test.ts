import { beforeAll, describe, expect, it } from 'vitest';
import { dashboardFigures } from '../../local/dashboard';
import { Metric } from '../../src/core/kernel/metric-names';
import type { DomainEvent } from '../../src/domain/events';
import type { ProviderReconciliation } from '../../src/domain/reconciliation';
import { createTestEnv, type TestEnv } from '../support/harness';

/**
 * What local/dashboard.ts hands the page, against DynamoDB Local: amounts in yuan, the latest
 * reconciliations as the store gives them (or the panel's empty or failed state), the series.
 */

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});

const figures = (latestReconciliations?: () => Promise<ProviderReconciliation[]>) =>
  dashboardFigures({
    metrics: env.metrics,
    bus: env.bus,
    repo: env.repo,
    deadLetterDepth: async () => 0,
    latestReconciliations,
    now: () => env.clock.now(),
  });

const refundSucceeded = (amount: number): DomainEvent => ({
  id: `evt-${amount}`,
  type: 'RefundSucceeded',
  occurredAt: env.clock.now().toISOString(),
  detail: { orderId: 'ord_1', paymentId: 'pay_1', customerId: 'cust_1', amount },
});

const reconciled = (
  provider: ProviderReconciliation['provider'],
  differences: ProviderReconciliation['differences'],
): ProviderReconciliation => ({
  provider,
  date: '2026-11-27',
  status: 'reconciled',
  billRows: 3,
  matched: 3 - differences.length,
  healed: differences.filter((item) => item.healed).length,
  carried: 0,
  differences,
  ranAt: '2026-11-28T02:00:00.000Z',
});

describe('dashboardFigures', () => {
  it('gives the refunded money in yuan as well as fen, summed on integers', async () => {
    await env.bus.publish([refundSucceeded(1), refundSucceeded(1_233), refundSucceeded(10)]);
    expect((await figures()).refunds).toMatchObject({
      refundedFen: 1_244,
      refundedYuan: '12.44',
      oldestOpenSeconds: 0,
    });
  });

  it('shows no reconciliation while no store is wired in', async () => {
    const shown = await figures();
    expect([shown.reconciliation, shown.reconciliationError]).toEqual([[], undefined]);
  });

  it("shows each provider's latest reconciliation, by provider, its open differences counted and its amounts in yuan", async () => {
    const shown = await figures(async () => [
      reconciled('wechat', [
        {
          kind: 'amount_mismatch',
          paymentId: 'pay_a',
          ours: { status: 'succeeded', amount: 1_234 },
          theirs: { status: 'SUCCESS', amount: 1_243 },
          healed: false,
        },
        {
          kind: 'missing_in_ledger',
          paymentId: 'pay_b',
          theirs: { status: 'SUCCESS', amount: 5 },
          healed: true,
          resolution: 'applied',
        },
      ]),
      reconciled('alipay', []),
    ]);
    expect(shown.reconciliation.map((item) => [item.provider, item.open])).toEqual([
      ['alipay', 0],
      ['wechat', 1],
    ]);
    expect(shown.reconciliation[1]!.differences).toEqual([
      expect.objectContaining({
        ours: { status: 'succeeded', amount: 1_234, amountYuan: '12.34' },
        theirs: { status: 'SUCCESS', amount: 1_243, amountYuan: '12.43' },
      }),
      expect.objectContaining({
        ours: undefined,
        theirs: { status: 'SUCCESS', amount: 5, amountYuan: '0.05' },
        healed: true,
      }),
    ]);
  });

  it('shows an amount that is not fen as no amount rather than failing the page', async () => {
    const shown = await figures(async () => [
      reconciled('bank', [
        { kind: 'amount_mismatch', paymentId: 'pay_c', ours: { amount: 100 }, theirs: { amount: 12.5 }, healed: false },
      ]),
    ]);
    expect(shown.reconciliation[0]!.differences[0]!.theirs).toEqual({ amount: 12.5, amountYuan: undefined });
  });

  it('says when the reconciliation store cannot be read, and still shows everything else', async () => {
    env.metrics.count(Metric.PaymentSucceeded);
    const shown = await figures(async () => {
      throw new Error('table not found');
    });
    expect(shown.reconciliation).toEqual([]);
    expect(shown.reconciliationError).toBe('the reconciliation store could not be read: Error: table not found');
    expect(shown.successRatePercent).toBe(100);
    expect(shown.series.paymentsSucceeded.reduce((a, b) => a + b)).toBe(1);
  });
});
