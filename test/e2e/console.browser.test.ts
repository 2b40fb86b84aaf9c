import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyNotification } from '../../src/core/payments/notifications';
import { businessDateOf } from '../../src/domain/bill';
import { fenToYuan } from '../../src/domain/money';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * The operator's console in Debian's Chromium: a customer-service lead finds the payment the
 * provider reported at another amount, accepts it with a reason, and watches the needsReview
 * figure (what its alarm watches) drop; the payment's timeline, refunds and audit show the decision.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)('the operator console', () => {
  let env: TestRuntime;
  let browser: BrowserContext;
  let profileDir: string;

  beforeAll(async () => {
    env = await startTestRuntime();
    profileDir = await mkdtemp(path.join(tmpdir(), 'payments-console-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, RUNTIME_START_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await rm(profileDir, { recursive: true, force: true });
    await env?.stop();
  });

  it('finds a parked payment, settles it with a reason, and the needsReview figure drops', async () => {
    const customer = await env.clientFor('cust_console');
    const [product] = await customer.listProducts();
    const { payment } = await customer.createOrder([{ sku: product!.sku, quantity: 1 }], { paymentMethod: 'wechat' });
    // WeChat's query says it took 1 yuan more than the payment: parked for a person.
    await applyNotification(env.runtime.deps, {
      provider: 'wechat',
      eventId: `evt_console_${payment.paymentId}`,
      paymentId: payment.paymentId,
      providerTransactionId: '4200000000202611250001',
      outcome: 'succeeded',
      amount: payment.amount + 100,
      currency: 'CNY',
      occurredAt: new Date().toISOString(),
      providerStatus: 'SUCCESS',
      via: 'query',
    });
    const token = await env.tokenFor('staff_lin', true);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));

    await page.goto(`${env.runtime.baseUrl}/_local/console#token=${token}`);
    const needsReview = page.locator('#waiting [data-state=needsReview] b');
    await expect.poll(() => needsReview.textContent()).toBe('1');
    await page.click('#search button');
    const row = page.locator('#results tr.row', { hasText: payment.paymentId });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(`¥${fenToYuan(payment.amount + 100)}`);

    page.once('dialog', (dialog) => void dialog.accept('customer paid 1 yuan extra; keep the order, return it'));
    await row.locator('button[data-action=accept]').click();

    await expect.poll(() => needsReview.textContent(), { timeout: 10_000 }).toBe('0');
    // The page's error line joins the audit's text, so a failing call shows in the assertion.
    const auditOrError = async () =>
      `${await page.locator('#audit').textContent()} ${await page.locator('#error').textContent()}`;
    await expect.poll(auditOrError, { timeout: 10_000 }).toContain('staff_lin');
    expect(await page.locator('#audit').textContent()).toContain('customer paid 1 yuan extra');
    expect(await page.locator('#refunds').textContent()).toContain('¥1.00');
    expect(await page.locator('#timeline').textContent()).toContain('staff');
    expect(await page.locator('#detail-title').textContent()).toContain('succeeded');
    expect(errors).toEqual([]);
  });

  it("re-runs a difference's day from its button with a reason: the day is run again, the difference healed, audited", async () => {
    const date = businessDateOf(new Date());
    // Our books held a WeChat success its bill never showed; the bill now agrees there was none.
    await env.runtime.deps.repo.commit([
      {
        kind: 'recordDifference',
        provider: 'wechat',
        date,
        difference: {
          kind: 'missing_in_bill',
          paymentId: 'pay_console_ghost',
          ours: { status: 'succeeded', amount: 100 },
          healed: false,
        },
      },
    ]);
    const token = await env.tokenFor('staff_lin', true);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${env.runtime.baseUrl}/_local/console#token=${token}`);
    await expect.poll(() => page.locator('#waiting [data-state=openDifference] b').textContent()).not.toBe('0');
    await page.selectOption('#list', 'differences');
    await page.click('#search button');
    const row = page.locator('#results tr.row', { hasText: 'missing_in_bill' });
    await expect.poll(() => row.count()).toBe(1);

    page.once('dialog', (dialog) => void dialog.accept('bill re-published by WeChat'));
    await row.locator('button[data-action=re-run]').click();

    const ghost = async () => {
      const response = await fetch(`${env.runtime.baseUrl}/api/admin/reconciliation/${date}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const day = (await response.json()) as {
        providers: Array<{ provider: string; differences: Array<{ paymentId?: string; healed: boolean }> }>;
      };
      const wechat = day.providers.find((run) => run.provider === 'wechat');
      const found = wechat?.differences.find((difference) => difference.paymentId === 'pay_console_ghost');
      return `${String(found?.healed)} ${await page.locator('#error').textContent()}`;
    };
    // Healed by the run; the first test's payment (paid by a notification the sandbox never saw) is that run's own finding.
    await expect.poll(ghost, { timeout: 10_000 }).toBe('true ');
    // The re-run's audit entry is written once the run ends, a moment after its heals.
    const auditEntries = async () => {
      const audit = await fetch(`${env.runtime.baseUrl}/api/admin/audit?entity=reconciliation:wechat:${date}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await audit.json()) as { entries: unknown[] }).entries;
    };
    await expect
      .poll(auditEntries, { timeout: 10_000 })
      .toEqual([
        expect.objectContaining({ action: 're-run', actor: 'staff_lin', reason: 'bill re-published by WeChat' }),
      ]);
    expect(errors).toEqual([]);
  });
});
