import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium as playwrightChromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DASHBOARD_HTML, type DashboardFigures, reconciliationView } from '../../local/dashboard';
import { dashboardSeries } from '../../local/dashboard-series';
import type { PaymentsClient } from '../../src/client/payments-client';
import { fenToYuan } from '../../src/domain/money';
import type { ProviderReconciliation } from '../../src/domain/reconciliation';
import { businessDateOf } from '../../src/domain/bill';
import { decideAtCheckout, RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * The local dashboard as the shop's finance person and on-call engineer see it in Debian's
 * Chromium, the morning after: real traffic through `npm start` (paid, failed, expired payments, a
 * forged callback, a refund), then what the page shows. Screenshots go to test-results/.
 */

const CHROMIUM = '/usr/bin/chromium';
const RESULTS_DIR = path.resolve('test-results');
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
const SETTLE = { timeout: 20_000, interval: 200 };
const CHARTS = ['success', 'latency', 'sigfail', 'timeout', 'inflight'] as const;

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium; CI installs it).`);

/**
 * Chromium for one describe; closed before the server it talks to stops, since its kept-alive
 * connections would hold that server open.
 */
function useChromium(): { openPage(url: string): Promise<{ page: Page; errors: string[] }>; close(): Promise<void> } {
  let profileDir: string | undefined;
  let browser: BrowserContext | undefined;
  beforeAll(async () => {
    profileDir = await mkdtemp(path.join(tmpdir(), 'payments-chromium-'));
    await mkdir(RESULTS_DIR, { recursive: true });
    browser = await playwrightChromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  }, RUNTIME_START_TIMEOUT_MS);
  return {
    /** A page, with the script errors it raises (a test expects none). */
    async openPage(url) {
      const page = await browser!.newPage();
      await page.setViewportSize({ width: 1400, height: 900 });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(url);
      return { page, errors };
    },
    async close() {
      await browser?.close();
      if (profileDir) await rm(profileDir, { recursive: true, force: true });
    },
  };
}

/** Each chart's accessible title and the tooltip of every point it plots, read in one go (the page redraws every two seconds). */
function readCharts(page: Page) {
  return page.evaluate(
    (ids) => {
      // Runs in the page (this project's TypeScript has no DOM library).
      interface Node {
        textContent: string | null;
        querySelector(selector: string): Node | null;
        querySelectorAll(selector: string): Iterable<Node> & { length: number };
      }
      const document = (globalThis as unknown as { document: Node }).document;
      const chart = (id: string) => {
        const svg = document.querySelector(`#chart-${id} svg.chart`);
        return {
          title: svg?.querySelector(':scope > title')?.textContent ?? '',
          points: [...(svg?.querySelectorAll('circle.point > title') ?? [])].map((title) => title.textContent ?? ''),
          lines: svg?.querySelectorAll('path.series').length ?? 0,
        };
      };
      return Object.fromEntries(ids.map((id) => [id, chart(id)]));
    },
    CHARTS as unknown as string[],
  );
}

/** "23:14:05 timeouts: 1" → 1. */
const pointValue = (label: string) => Number(/: (-?[\d.]+)/.exec(label)?.[1]);

describe.skipIf(!hasChromium)(`the local dashboard after real traffic, in ${CHROMIUM}`, () => {
  const chromium = useChromium();
  let env: TestRuntime;
  let client: PaymentsClient;
  let paidAmount: number;

  const admin = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
    const response = await fetch(`${env.runtime.baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${await env.tokenFor('dashboard-ops', true)}`,
        ...(body === undefined
          ? {}
          : { 'content-type': 'application/json', 'idempotency-key': `dashboard-${crypto.randomUUID()}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- read field by field
    return (await response.json()) as any;
  };

  /** Two paid, one failed at the checkout, one expired unpaid; a forged Alipay callback; a refund of ¥12.34. */
  async function badDay() {
    const orders = await Promise.all(
      (['wechat', 'alipay', 'bank', 'wechat'] as const).map((paymentMethod) =>
        client.createOrder([{ sku: 'TEA-LONGJING-250', quantity: 1 }], { paymentMethod }),
      ),
    );
    // Let the sweeper (every second here) see them open: the in-flight gauge rises before it falls.
    await vi.waitFor(
      () => expect(Math.max(...env.runtime.metrics.values('PaymentsInFlight'))).toBeGreaterThanOrEqual(4),
      SETTLE,
    );
    const decisions = ['pay', 'pay', 'fail'] as const;
    for (const [index, decision] of decisions.entries()) {
      const { payUrl } = await client.startPayment(orders[index]!.payment.paymentId);
      await decideAtCheckout(payUrl, decision);
      const outcome = await client.waitForPaymentOutcome(orders[index]!.payment.paymentId, {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      expect(outcome.status).toBe(decision === 'pay' ? 'succeeded' : 'failed');
    }
    paidAmount = orders[0]!.order.totalAmount;

    const forged = await fetch(`${env.runtime.baseUrl}/api/payments/callback/alipay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `notify_id=forged&trade_status=TRADE_SUCCESS&out_trade_no=${orders[3]!.payment.paymentId}&total_amount=0.01&sign_type=RSA2&sign=Zm9yZ2Vk`,
    });
    expect(await forged.text()).not.toBe('success');

    const refund = await admin('POST', `/api/payments/${orders[0]!.payment.paymentId}/refunds`, { amount: 1234 });
    await vi.waitFor(
      async () =>
        expect((await admin('GET', `/api/refunds/${refund.refund.refundId}`)).refund.status).toBe('succeeded'),
      SETTLE,
    );

    // The fourth is never paid: the runtime's clock moves past its expiry and the sweeper expires it.
    const realClock = env.runtime.deps.clock;
    env.runtime.deps.clock = { now: () => new Date(realClock.now().getTime() + 61_000) };
    try {
      await vi.waitFor(
        async () => expect((await client.getPayment(orders[3]!.payment.paymentId)).status).toBe('expired'),
        SETTLE,
      );
      await vi.waitFor(() => expect(env.runtime.metrics.total('PaymentExpired')).toBe(1), SETTLE);
    } finally {
      env.runtime.deps.clock = realClock;
    }
  }

  beforeAll(async () => {
    env = await startTestRuntime();
    client = await env.clientFor('dashboard-customer');
    await badDay();
  }, RUNTIME_START_TIMEOUT_MS);

  afterAll(async () => {
    await chromium.close();
    await env?.stop();
  });

  it('charts each of the five figures over time, consistent with the traffic', async () => {
    const { page, errors } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard`);
    // 2 of 4 ended payments succeeded (paid, paid, failed, expired).
    await page.locator('#success', { hasText: '50%' }).waitFor({ timeout: 10_000 });

    // The gauge reads 0 once the sweeper has run after the last payment ended.
    const charts = await vi.waitFor(async () => {
      const read = await readCharts(page);
      expect(read.inflight!.points.map(pointValue).at(-1)).toBe(0);
      return read;
    }, SETTLE);
    for (const id of CHARTS) {
      expect(charts[id]!.points.length, `${id} plots a series`).toBeGreaterThan(0);
      expect(charts[id]!.title).toMatch(/ per \d+ s: latest /);
    }
    // Each success-rate point says of how many: together, the traffic.
    const parts = charts.success!.points.map((label) => /\((\d+) of (\d+) ended\)/.exec(label)!.slice(1).map(Number));
    expect(parts.reduce(([succeeded, ended], [s, e]) => [succeeded! + s!, ended! + e!], [0, 0])).toEqual([2, 4]);
    expect(
      charts.latency!.points.some((label) => / p50: /.test(label)) &&
        charts.latency!.points.some((label) => / p99: /.test(label)),
    ).toBe(true);
    expect(charts.sigfail!.points.map(pointValue).reduce((a, b) => a + b)).toBe(1);
    expect(charts.timeout!.points.map(pointValue).reduce((a, b) => a + b)).toBe(1);
    expect(
      Math.max(...charts.inflight!.points.map(pointValue)),
      charts.inflight!.points.join('; '),
    ).toBeGreaterThanOrEqual(4);
    expect(await page.getByRole('img', { name: /^Payment success rate per \d+ s: latest \d+(\.\d)?%$/ }).count()).toBe(
      1,
    );
    expect(await page.locator('#sigfail').textContent()).toMatch(/^\d+(\.\d)?% \(1\)$/); // the one forged callback

    await page.screenshot({ path: path.join(RESULTS_DIR, 'dashboard-after-traffic.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('shows amounts in yuan: the refunded money, the outcome of each refund, and every recent payment', async () => {
    const { page, errors } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard`);
    await page.locator('#refunded', { hasText: '¥12.34 refunded' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#refunds .chip').allInnerTexts()).toEqual([
      'requested: 1',
      'succeeded: 1',
      'failed: 0',
      'abnormal: 0',
      'external: 0',
    ]);
    expect(await page.locator('#oldest-refund').textContent()).toBe('none open');

    const amounts = await page.locator('#payments td.amount').allInnerTexts();
    expect(amounts).toHaveLength(4);
    expect(new Set(amounts)).toEqual(new Set([`¥${fenToYuan(paidAmount)}`])); // four teas
    expect(errors).toEqual([]);
  });

  it('says no reconciliation has run yet, and how to run one', async () => {
    const { page } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard`);
    const empty = page.locator('#no-reconciliation');
    await empty.waitFor({ timeout: 10_000 });
    expect(await empty.textContent()).toBe('No reconciliation has run yet — npm run reconcile -- --date YYYY-MM-DD');
  });

  it("after a reconciliation of today, shows each provider's day from its real bill, with the lost callback it healed", async () => {
    // A payment the provider took without telling us: the bill shows it, the reconciliation heals it.
    const lost = await client.createOrder([{ sku: 'CUP-CELADON', quantity: 1 }], { paymentMethod: 'wechat' });
    await fetch((await client.startPayment(lost.payment.paymentId)).payUrl!);
    const paid = await fetch(`${env.runtime.baseUrl}/sandbox/checkout/${lost.payment.paymentId}/pay?notify=false`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(paid.status).toBe(200);
    await env.runtime.runReconciliation({ date: businessDateOf(new Date()) });

    const { page, errors } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard`);
    await page.locator('#reconciliation article.recon').first().waitFor({ timeout: 10_000 });
    const headings = await page.locator('#reconciliation article.recon h3').allInnerTexts();
    expect(headings).toHaveLength(3);
    for (const heading of headings) expect(heading).toContain(`${businessDateOf(new Date())} reconciled`);
    const wechat = page.locator('#reconciliation article.recon', { hasText: 'WeChat Pay' });
    const row = wechat.locator('tr', { hasText: lost.payment.paymentId });
    expect(await row.innerText()).toMatch(/missing in ledger[\s\S]*¥45\.50[\s\S]*healed/);
    expect(errors).toEqual([]);
  });

  it('buckets by ?bucket= seconds, and refuses a bucket that is not whole seconds', async () => {
    const { page } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard?bucket=3600`);
    await page.locator('#window', { hasText: 'last 60 buckets of 3600 s' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('nav a.current').textContent()).toBe('1 h');
    const { page: refusedPage } = await chromium.openPage(`${env.runtime.baseUrl}/_local/dashboard?bucket=0.5`);
    await refusedPage
      .locator('#updated', { hasText: 'update failed: Error: bucket must be whole seconds in 1..86400' })
      .waitFor({ timeout: 10_000 });
    const refused = await fetch(`${env.runtime.baseUrl}/_local/dashboard.json?bucket=0.5`);
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
  });
});

/**
 * Rendering only, not reconciliation: the page against a dashboard.json served from a fixed list
 * of reconciliations (with amounts in fen, as the store keeps them), to see every part of the panel.
 */
describe.skipIf(!hasChromium)(`the reconciliation panel renders a fixed dashboard.json, in ${CHROMIUM}`, () => {
  const RECONCILIATIONS: ProviderReconciliation[] = [
    {
      provider: 'wechat',
      date: '2026-11-27',
      status: 'reconciled',
      billRows: 128,
      matched: 124,
      healed: 1,
      carried: 2,
      ranAt: '2026-11-28T02:10:00.000Z',
      differences: [
        {
          kind: 'missing_in_ledger',
          paymentId: 'pay_lost_callback',
          providerTransactionId: '4200001234202611270001',
          ours: { status: 'expired', amount: 12_800 },
          theirs: { status: 'SUCCESS', amount: 12_800 },
          healed: true,
          resolution: 'applied as a late payment',
        },
        {
          kind: 'amount_mismatch',
          paymentId: 'pay_amount_differs',
          ours: { status: 'succeeded', amount: 1_234 },
          theirs: { status: 'SUCCESS', amount: 1_243 },
          healed: false,
          resolution: '<img src=x onerror="window.injected=1">',
        },
        {
          kind: 'refund_missing_in_ledger',
          refundId: 'ref_from_console',
          theirs: { status: 'SUCCESS', amount: 990 },
          healed: false,
        },
      ],
    },
    {
      provider: 'alipay',
      date: '2026-11-27',
      status: 'reconciled',
      billRows: 40,
      matched: 40,
      healed: 0,
      carried: 0,
      ranAt: '2026-11-28T02:11:00.000Z',
      differences: [],
    },
    {
      provider: 'bank',
      date: '2026-11-27',
      status: 'failed',
      billRows: 0,
      matched: 0,
      healed: 0,
      carried: 0,
      ranAt: '2026-11-28T02:12:00.000Z',
      differences: [],
      detail: 'bill download timed out <script>window.injected=2</script>',
    },
  ];
  const FIGURES: DashboardFigures = {
    successRatePercent: null,
    callbackLatencyMs: { p50: null, p99: null, samples: 0 },
    signatureFailureRatePercent: null,
    timeoutRatePercent: null,
    paymentsInFlight: 0,
    series: dashboardSeries([], Date.now()),
    counts: {
      PaymentSucceeded: 0,
      PaymentFailed: 0,
      PaymentCancelled: 0,
      PaymentExpired: 0,
      created: 0,
      callbacks: 0,
      signatureFailures: 0,
      signatureProbes: 0,
      latePayments: 0,
      duplicatePayments: 0,
    },
    refunds: {
      requested: 0,
      succeeded: 0,
      failed: 0,
      abnormal: 0,
      external: 0,
      refundedFen: 0,
      refundedYuan: '0.00',
      oldestOpenSeconds: 0,
    },
    reconciliation: reconciliationView(RECONCILIATIONS),
    deadLetterDepth: 0,
    recentPayments: [],
    recentEvents: [],
  };
  const chromium = useChromium();
  let server: Server;
  let baseUrl: string;
  let served: DashboardFigures = FIGURES;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/_local/dashboard')
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML);
      else if (request.url === '/_local/dashboard.json')
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await chromium.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('shows each provider with its date, status, counts and differences, the open ones first and marked, amounts in yuan', async () => {
    const { page, errors } = await chromium.openPage(`${baseUrl}/_local/dashboard`);
    const blocks = page.locator('#reconciliation article.recon');
    await blocks.first().waitFor({ timeout: 10_000 });
    expect(
      await blocks.evaluateAll((articles) => articles.map((article) => article.getAttribute('data-provider'))),
    ).toEqual(['alipay', 'bank', 'wechat']);

    const wechat = page.locator('article.recon[data-provider="wechat"]');
    expect(await wechat.locator('h3').innerText()).toMatch(
      /^WeChat Pay · 2026-11-27 reconciled 2 open ran 2026-11-28T02:10:00.000Z$/,
    );
    expect(await wechat.locator('.stats dt').allInnerTexts()).toEqual(['Bill rows', 'Matched', 'Healed', 'Carried']);
    expect(await wechat.locator('.stats dd').allInnerTexts()).toEqual(['128', '124', '1', '2']);
    const rows = await wechat
      .locator('table.differences tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.className,
          ...[...tr.querySelectorAll('td')].map((td) =>
            (td as { innerText: string }).innerText.replace(/\s+/g, ' ').trim(),
          ),
        ]),
      );
    expect(rows).toEqual([
      [
        'open',
        'amount mismatch',
        'pay_amount_differs',
        'succeeded ¥12.34',
        'SUCCESS ¥12.43',
        'OPEN <img src=x onerror="window.injected=1">',
      ],
      ['open', 'refund missing in ledger', 'ref_from_console', '–', 'SUCCESS ¥9.90', 'OPEN'],
      [
        'healed',
        'missing in ledger',
        'pay_lost_callback 4200001234202611270001',
        'expired ¥128.00',
        'SUCCESS ¥128.00',
        'healed applied as a late payment',
      ],
    ]);

    expect(await page.locator('article.recon[data-provider="alipay"]').innerText()).toContain(
      'Bill and ledger agree: no differences.',
    );
    const bank = page.locator('article.recon[data-provider="bank"]');
    expect(await bank.locator('.status').innerText()).toBe('failed');
    expect(await bank.locator('p.warn').innerText()).toBe('bill download timed out <script>window.injected=2</script>');
    expect(await bank.innerText()).toContain(
      'Not compared: the bill could not be fetched or read; retried on the next run.',
    );

    // What came from data stayed text: no element was made of it, no script of it ran.
    expect(await page.locator('#reconciliation img, #reconciliation script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { injected?: number }).injected)).toBeUndefined();
    await page.screenshot({ path: path.join(RESULTS_DIR, 'dashboard-reconciliation.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('says when the reconciliation store could not be read', async () => {
    served = {
      ...FIGURES,
      reconciliation: [],
      reconciliationError: 'the reconciliation store could not be read: <b>boom</b>',
    };
    const { page, errors } = await chromium.openPage(`${baseUrl}/_local/dashboard`);
    const failed = page.locator('#reconciliation-error');
    await failed.waitFor({ timeout: 10_000 });
    expect(await failed.innerText()).toBe('the reconciliation store could not be read: <b>boom</b>');
    expect(await page.locator('#no-reconciliation, #reconciliation article').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
