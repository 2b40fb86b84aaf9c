import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentsClient } from '../../src/client/payments-client';
import { fenToYuan } from '../../src/domain/money';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * What a person sees: Debian's Chromium opens the sandbox checkout of a WeChat payment, clicks
 * Pay, and the order turns paid; then the local dashboard shows its five figures. Screenshots go
 * to test-results/ for a look.
 */

const CHROMIUM = '/usr/bin/chromium';
const RESULTS_DIR = path.resolve('test-results');
// Playwright adds --headless and --user-data-dir itself (a persistent context in a temp dir).
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium; CI installs it).`);

describe.skipIf(!hasChromium)(`checkout in ${CHROMIUM}`, () => {
  let env: TestRuntime;
  let client: PaymentsClient;
  let profileDir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    profileDir = await mkdtemp(path.join(tmpdir(), 'payments-chromium-'));
    await mkdir(RESULTS_DIR, { recursive: true });
    [env, browser] = await Promise.all([
      startTestRuntime(),
      chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS }),
    ]);
    client = await env.clientFor('browser-customer');
  }, RUNTIME_START_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await env?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  it('pays a WeChat payment by clicking Pay on its checkout page, and the order turns paid', async () => {
    const { order, payment } = await client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], {
      paymentMethod: 'wechat',
    });
    const { payUrl } = await client.startPayment(payment.paymentId);
    const page = await browser.newPage();

    await page.goto(payUrl!);
    await page.click('#pay');

    const headline = `Paid ¥${fenToYuan(order.totalAmount)}`;
    expect(await page.locator('#outcome').textContent()).toBe(headline);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'checkout.png'), fullPage: true });
    expect(await client.waitForPaymentOutcome(payment.paymentId, { timeoutMs: 15_000, intervalMs: 100 })).toMatchObject(
      { status: 'succeeded' },
    );
    expect((await client.getOrder(order.orderId)).order.status).toBe('paid');
  });

  it('shows the five figures on the local dashboard', async () => {
    const page = await browser.newPage();
    await page.goto(`${env.runtime.baseUrl}/_local/dashboard`);

    // The page fills its cards from /_local/dashboard.json: one payment ended, and it succeeded.
    await page.locator('#success', { hasText: '100%' }).waitFor({ timeout: 10_000 });
    const cards = await page.locator('.card').allInnerTexts();
    expect(cards.map((card) => card.split('\n')[0])).toEqual([
      'Payment success rate',
      'Callback latency p50 / p99',
      'Signature failure rate',
      'Timeout rate',
      'Payments in flight',
    ]);
    expect(await page.locator('#latency').textContent()).toMatch(/^[\d.]+ \/ [\d.]+ ms$/);
    expect(await page.locator('#inflight').textContent()).toBe('0');
    await page.screenshot({ path: path.join(RESULTS_DIR, 'dashboard.png'), fullPage: true });
  });
});
