import { createPayUrl } from '../support/checkout-fixtures';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  loadOrCreateSandboxKeys,
  PAYMENTS_CONFIG_FILE,
  SANDBOX_KEYS_FILE,
  type LocalSandboxKeys,
} from '../../local/sandbox/keys';
import { createSandbox } from '../../local/sandbox/server';
import {
  type CustomerDecision,
  type Sandbox,
  SANDBOX_REFUND_OUTCOMES,
  type SandboxRefundOutcome,
} from '../../local/sandbox/types';
import { isRefundNotification, type PaymentNotification, type RefundNotification } from '../../src/domain/notification';
import { createProviders } from '../../src/providers/registry';
import {
  ProviderCallError,
  type PayablePayment,
  type PaymentProvider,
  type ProviderName,
  type RefundRequest,
} from '../../src/core/payments/provider';

/**
 * The sandbox on a real HTTP server, driven by the real merchant modules over real HTTP: pay URL,
 * checkout page, decision, signed callback to a merchant endpoint on the same server (which
 * answers with the merchant module's own acknowledge / reject), retries, queries and closes;
 * refunds through each provider's API under every SANDBOX_REFUND_OUTCOME, and console refunds.
 */

const PROVIDERS: readonly ProviderName[] = ['wechat', 'alipay', 'bank'];
const RETRY_DELAYS_MS = [20, 40, 80, 160];

interface ReceivedCallback {
  provider: ProviderName;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

let server: Server;
let baseUrl: string;
let keysDir: string;
let generated: LocalSandboxKeys;
let sandbox: Sandbox;
/** The sandbox the server routes to: `sandbox`, or one made for a refund outcome. */
let routed: Sandbox;
let merchant: Partial<Record<ProviderName, PaymentProvider>>;
const received: ReceivedCallback[] = [];
/** How many of the next callbacks each provider's merchant endpoint answers with a failure. */
const failuresToAnswer = new Map<ProviderName, number>();

function lowerCasedHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
}

function merchantProvider(name: ProviderName): PaymentProvider {
  const provider = merchant[name];
  if (!provider) throw new Error(`${name} is not configured`);
  return provider;
}

/** The merchant's callback endpoint: records the raw callback, answers as the merchant module does. */
function answerCallback(name: ProviderName, headers: Record<string, string | undefined>, body: Buffer) {
  received.push({ provider: name, headers, body });
  const failures = failuresToAnswer.get(name) ?? 0;
  if (failures === 0) return merchantProvider(name).acknowledge();
  failuresToAnswer.set(name, failures - 1);
  return merchantProvider(name).reject('merchant endpoint told to fail', true);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on(
      'end',
      () =>
        // http ignores a listener's promise: a failure surfaces as an unhandled rejection, failing the run.
        void (async () => {
          const body = Buffer.concat(chunks);
          const url = new URL(req.url ?? '/', baseUrl);
          const headers = lowerCasedHeaders(req.headers);
          const callbackTo = /^\/merchant\/callback\/(wechat|alipay|bank)$/.exec(url.pathname)?.[1] as
            ProviderName | undefined;
          const reply = callbackTo
            ? answerCallback(callbackTo, headers, body)
            : ((await routed.handle({
                method: req.method ?? 'GET',
                path: url.pathname,
                query: url.searchParams,
                headers,
                body: body.toString('utf8'),
              })) ?? {
                statusCode: 404,
                headers: {},
                body: 'not the sandbox',
              });
          res.writeHead(reply.statusCode, reply.headers).end(reply.body);
        })(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  keysDir = await mkdtemp(join(tmpdir(), 'sandbox-keys-'));
  generated = await loadOrCreateSandboxKeys(keysDir, baseUrl);
  sandbox = createSandbox({ keys: generated.sandboxKeys, publicBaseUrl: baseUrl, retryDelaysMs: RETRY_DELAYS_MS });
  routed = sandbox;
  merchant = createProviders(generated.config, globalThis.fetch);
});

afterAll(async () => {
  await sandbox?.stop();
  await new Promise((resolve) => server?.close(resolve));
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

function newPaymentId(): string {
  return `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

async function startCheckout(name: ProviderName, overrides: Partial<PayablePayment> = {}) {
  const payment: PayablePayment = {
    paymentId: newPaymentId(),
    orderId: 'ord_sandbox',
    amount: 12_800,
    currency: 'CNY',
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    description: 'Tea set',
    ...overrides,
  };
  const { payUrl } = await createPayUrl(merchantProvider(name), {
    payment,
    notifyUrl: `${baseUrl}/merchant/callback/${name}`,
    returnUrl: `${baseUrl}/shop/return`,
    now: new Date(),
  });
  return { payment, payUrl };
}

/** What a browser does with the pay URL: GET it and follow redirects to the checkout page. */
async function openPayUrl(payUrl: string) {
  const response = await fetch(payUrl);
  return { status: response.status, url: response.url, html: await response.text() };
}

/** The form a button belongs to, as a browser would submit it. */
function formAction(html: string, buttonId: CustomerDecision): string {
  const action = new RegExp(`<form method="post" action="([^"]+)"><button type="submit" id="${buttonId}"`).exec(
    html,
  )?.[1];
  if (!action) throw new Error(`no form for #${buttonId}`);
  return action.replaceAll('&amp;', '&');
}

function decideOverHttp(paymentId: string, decision: CustomerDecision, accept = 'application/json') {
  return fetch(`${sandbox.store.checkoutUrl(paymentId)}/${decision}`, { method: 'POST', headers: { accept } });
}

/** Everything the merchant endpoint received about a payment, verified by the merchant module. */
function verifiedFor(paymentId: string): (PaymentNotification | RefundNotification)[] {
  return received.flatMap(({ provider, headers, body }) => {
    const verification = merchantProvider(provider).verifyCallback({ headers, body }, new Date());
    if (!verification.ok)
      throw new Error(`${provider} callback refused: ${verification.reason} ${verification.detail}`);
    return verification.notification.paymentId === paymentId ? [verification.notification] : [];
  });
}

/** The payment callbacks the merchant endpoint received about a payment. */
function notificationsFor(paymentId: string): PaymentNotification[] {
  return verifiedFor(paymentId).filter(
    (notification): notification is PaymentNotification => !isRefundNotification(notification),
  );
}

/** The refund notifications the merchant endpoint received about a payment's refunds. */
function refundNotificationsFor(paymentId: string): RefundNotification[] {
  return verifiedFor(paymentId).filter(isRefundNotification);
}

describe('sandbox: the whole loop over HTTP with the real merchant modules', () => {
  it.each(PROVIDERS)(
    '%s: pay URL → checkout page → Pay → the merchant verifies a success for the exact amount',
    async (name) => {
      const { payment, payUrl } = await startCheckout(name);

      const page = await openPayUrl(payUrl);
      expect(page.status).toBe(200);
      expect(page.url).toBe(sandbox.store.checkoutUrl(payment.paymentId));
      expect(page.html).toContain('¥128.00');
      expect(page.html).toContain(payment.paymentId);
      expect(page.html).toContain('no real money');

      const confirmation = await fetch(formAction(page.html, 'pay'), { method: 'POST' });
      const confirmationHtml = await confirmation.text();
      expect(confirmation.status).toBe(200);
      expect(confirmationHtml).toContain('Paid ¥128.00');
      if (name !== 'wechat') expect(confirmationHtml).toContain(`href="${baseUrl}/shop/return"`);

      const checkout = sandbox.store.get(payment.paymentId);
      expect(notificationsFor(payment.paymentId)).toEqual([
        expect.objectContaining({
          provider: name,
          outcome: 'succeeded',
          amount: 12_800,
          currency: 'CNY',
          providerTransactionId: checkout?.transactionId,
        }),
      ]);
      expect(sandbox.deliveries(payment.paymentId)).toEqual([
        expect.objectContaining({ attempt: 1, acknowledged: true }),
      ]);
    },
  );

  it.each([
    ['wechat', 'fail', 'failed'],
    ['wechat', 'cancel', 'cancelled'],
    ['alipay', 'fail', 'cancelled'], // Alipay has no failed state: TRADE_CLOSED for both
    ['alipay', 'cancel', 'cancelled'],
    ['bank', 'fail', 'failed'],
    ['bank', 'cancel', 'cancelled'],
  ] as const)('%s: %s → the merchant verifies outcome %s', async (name, decision, outcome) => {
    const { payment, payUrl } = await startCheckout(name);
    await openPayUrl(payUrl);

    const response = await decideOverHttp(payment.paymentId, decision);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      state: decision === 'fail' ? 'failed' : 'closed',
      delivery: { acknowledged: true },
    });
    expect(notificationsFor(payment.paymentId)).toEqual([expect.objectContaining({ outcome, amount: 12_800 })]);
  });

  it('a decided checkout cannot be decided again (409) and sends nothing more', async () => {
    const { payment, payUrl } = await startCheckout('bank');
    await openPayUrl(payUrl);
    expect((await decideOverHttp(payment.paymentId, 'pay')).status).toBe(200);

    const again = await decideOverHttp(payment.paymentId, 'cancel');
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      error: 'already_decided',
      message: expect.stringContaining('already paid'),
    });
    const page = await fetch(sandbox.store.checkoutUrl(payment.paymentId)).then((r) => r.text());
    expect(page).not.toContain('id="pay"');
    expect(notificationsFor(payment.paymentId)).toHaveLength(1);
  });

  it('an unknown payment is a 404 page, and cannot be decided', async () => {
    const page = await fetch(sandbox.store.checkoutUrl('pay_unknown'));
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('no checkout for payment pay_unknown');
    expect((await decideOverHttp('pay_unknown', 'pay')).status).toBe(404);
  });

  it('a checkout past its expiry shows Pay disabled and refuses payment', async () => {
    const { payment, payUrl } = await startCheckout('wechat', {
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const page = await openPayUrl(payUrl);
    expect(page.html).toContain('Expired');
    expect(page.html).toMatch(/id="pay" disabled/);

    const refused = await decideOverHttp(payment.paymentId, 'pay');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'expired' });
    expect(sandbox.store.get(payment.paymentId)?.state).toBe('pending');
  });

  it('escapes a hostile description on the checkout and confirmation pages', async () => {
    const hostile = `<script>alert("x")</script> & 'tea'`;
    const { payment, payUrl } = await startCheckout('wechat', { description: hostile });
    const page = await openPayUrl(payUrl);
    const confirmation = await fetch(formAction(page.html, 'cancel'), { method: 'POST' }).then((r) => r.text());
    for (const html of [page.html, confirmation]) {
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;tea&#39;');
      expect(html).not.toContain('<script');
    }
    expect(confirmation).toContain('Payment cancelled');
    expect(sandbox.store.get(payment.paymentId)?.state).toBe('closed');
  });
});

describe('sandbox: callback retries', () => {
  it('retries until the merchant acknowledges: two failures then an ack → three deliveries, then no more', async () => {
    const { payment, payUrl } = await startCheckout('alipay');
    await openPayUrl(payUrl);
    failuresToAnswer.set('alipay', 2);

    const response = await decideOverHttp(payment.paymentId, 'pay');
    expect(await response.json()).toMatchObject({
      delivery: { attempt: 1, statusCode: 500, acknowledged: false },
      retrying: true,
    });

    await vi.waitFor(() => expect(sandbox.deliveries(payment.paymentId)).toHaveLength(3), {
      timeout: 2000,
      interval: 10,
    });
    // Longer than the next delay of the schedule: a fourth attempt would have come by now.
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[2]! * 2));
    expect(
      sandbox.deliveries(payment.paymentId).map(({ statusCode, acknowledged }) => ({ statusCode, acknowledged })),
    ).toEqual([
      { statusCode: 500, acknowledged: false },
      { statusCode: 500, acknowledged: false },
      { statusCode: 200, acknowledged: true },
    ]);
    const notifications = notificationsFor(payment.paymentId);
    expect(notifications).toHaveLength(3);
    // Every retry repeats the notification id: the merchant's dedupe key.
    expect(new Set(notifications.map((notification) => notification.eventId)).size).toBe(1);
  });

  it('an unreachable merchant endpoint is recorded as an error and retried until stop()', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const isolated = createSandbox({
      keys: generated.sandboxKeys,
      publicBaseUrl: baseUrl,
      retryDelaysMs: [10, 10, 10, 10, 10, 10, 10, 10],
    });
    const payment = {
      paymentId: newPaymentId(),
      orderId: 'ord_x',
      amount: 500,
      currency: 'CNY' as const,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      description: 'x',
    };
    const { payUrl } = await createPayUrl(merchantProvider('bank'), {
      payment,
      notifyUrl: `http://127.0.0.1:${deadPort}/callback`,
      returnUrl: baseUrl,
      now: new Date(),
    });
    const url = new URL(payUrl);
    await isolated.handle({ method: 'GET', path: url.pathname, query: url.searchParams, headers: {}, body: '' });

    const decision = await isolated.decide(payment.paymentId, 'pay');
    expect(decision).toMatchObject({
      result: 'decided',
      retrying: true,
      delivery: { acknowledged: false, error: expect.stringContaining('ECONNREFUSED') },
    });
    await vi.waitFor(() => expect(isolated.deliveries(payment.paymentId).length).toBeGreaterThanOrEqual(2), {
      timeout: 2000,
      interval: 5,
    });

    await isolated.stop();
    const attemptsAtStop = isolated.deliveries(payment.paymentId).length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isolated.deliveries(payment.paymentId)).toHaveLength(attemptsAtStop);
    expect(attemptsAtStop).toBeLessThan(9);
  });
});

describe('sandbox: merchant queries and closes over HTTP', () => {
  it.each(['wechat', 'alipay'] as const)(
    '%s: queryPayment and closePayment reflect the decided state',
    async (name) => {
      const provider = merchantProvider(name);

      const paid = await startCheckout(name);
      await openPayUrl(paid.payUrl);
      expect(await provider.queryPayment!(paid.payment.paymentId, new Date())).toMatchObject({ status: 'pending' });
      await decideOverHttp(paid.payment.paymentId, 'pay');
      expect(await provider.queryPayment!(paid.payment.paymentId, new Date())).toEqual(
        expect.objectContaining({
          status: 'paid',
          amount: 12_800,
          providerTransactionId: sandbox.store.get(paid.payment.paymentId)?.transactionId,
        }),
      );
      await expect(provider.closePayment!(paid.payment.paymentId, new Date())).rejects.toBeInstanceOf(
        ProviderCallError,
      );

      const closed = await startCheckout(name);
      await openPayUrl(closed.payUrl);
      await provider.closePayment!(closed.payment.paymentId, new Date());
      expect(await provider.queryPayment!(closed.payment.paymentId, new Date())).toMatchObject({ status: 'closed' });
      const refused = await decideOverHttp(closed.payment.paymentId, 'pay');
      expect(refused.status).toBe(409);
      expect(notificationsFor(closed.payment.paymentId)).toEqual([]);
    },
  );
});

describe('sandbox keys on disk', () => {
  it('are owner-only, keep the provider half out of the merchant config, and are reused on the next start', async () => {
    for (const file of [PAYMENTS_CONFIG_FILE, SANDBOX_KEYS_FILE]) {
      expect((await stat(join(keysDir, file))).mode & 0o777).toBe(0o600);
    }
    const configText = await readFile(generated.configPath, 'utf8');
    expect(configText).not.toContain(generated.sandboxKeys.wechat?.platformPrivateKey);
    expect(configText).not.toContain(generated.sandboxKeys.alipay?.alipayPrivateKey);

    const again = await loadOrCreateSandboxKeys(keysDir, baseUrl);
    expect(again.sandboxKeys).toEqual(generated.sandboxKeys);
    expect(again.config).toEqual(generated.config);
  });

  it('moves the endpoints to a new base URL (another port) and keeps the keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-keys-'));
    try {
      // The files of the suite's start, found by a runtime now listening on another port.
      for (const file of [PAYMENTS_CONFIG_FILE, SANDBOX_KEYS_FILE])
        await copyFile(join(keysDir, file), join(dir, file));
      const first = generated;
      const moved = await loadOrCreateSandboxKeys(dir, 'http://127.0.0.1:4100');
      expect(moved.config.wechat?.apiBase).toBe('http://127.0.0.1:4100/sandbox/wechat');
      expect(moved.config.alipay?.gateway).toBe('http://127.0.0.1:4100/sandbox/alipay/gateway.do');
      expect(moved.config.bank?.gatewayUrl).toBe('http://127.0.0.1:4100/sandbox/bank/pay');
      expect(moved.sandboxKeys).toEqual(first.sandboxKeys);
      expect(moved.config.wechat?.merchantPrivateKey).toBe(first.config.wechat?.merchantPrivateKey);
      expect(JSON.parse(await readFile(moved.configPath, 'utf8'))).toEqual(moved.config);
      expect((await stat(moved.configPath)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

const REFUND_SETTLE_DELAY_MS = 10;

/** A payment paid at the routed sandbox (the merchant's callback about it received). */
async function paidPayment(name: ProviderName) {
  const { payment, payUrl } = await startCheckout(name);
  await openPayUrl(payUrl);
  const decided = await decideOverHttp(payment.paymentId, 'pay');
  if (decided.status !== 200) throw new Error(`could not pay: ${decided.status}`);
  return payment;
}

function refundRequest(name: ProviderName, paymentId: string, overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    refundId: `ref_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    paymentId,
    amount: 2_800,
    paymentAmount: 12_800,
    currency: 'CNY',
    reason: 'returned',
    notifyUrl: `${baseUrl}/merchant/callback/${name}`,
    now: new Date(),
    ...overrides,
  };
}

const settled = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

type Expectation = Record<string, unknown> | undefined;
/** Per SANDBOX_REFUND_OUTCOME and provider: the create answer, the state the query ends on, the notification (none: undefined). */
const REFUND_STORY: Record<SandboxRefundOutcome, Record<ProviderName, [Expectation, Expectation, Expectation]>> = {
  succeed: {
    wechat: [
      { status: 'processing', providerStatus: 'PROCESSING' },
      { status: 'succeeded', amount: 2_800 },
      { outcome: 'succeeded', amount: 2_800, paymentAmount: 12_800 },
    ],
    alipay: [
      { status: 'succeeded', amount: 2_800 },
      { status: 'succeeded', amount: 2_800 },
      { outcome: 'succeeded', amount: 0, refundedTotal: 2_800 },
    ],
    bank: [
      { status: 'processing', providerStatus: 'pending' },
      { status: 'succeeded', amount: 2_800 },
      { outcome: 'succeeded', amount: 2_800 },
    ],
  },
  fail: {
    wechat: [
      { status: 'processing' },
      { status: 'failed', providerStatus: 'CLOSED' },
      { outcome: 'failed', providerStatus: 'CLOSED' },
    ],
    // Alipay refuses at once and keeps no refund: its query cannot tell "refused" from "not yet".
    alipay: [
      { status: 'failed', providerStatus: 'ACQ.SELLER_BALANCE_NOT_ENOUGH' },
      { status: 'processing' },
      undefined,
    ],
    bank: [
      { status: 'processing' },
      { status: 'failed', reason: 'declined' },
      { outcome: 'failed', providerStatus: 'refund.failed' },
    ],
  },
  abnormal: {
    wechat: [
      { status: 'processing' },
      { status: 'abnormal', providerStatus: 'ABNORMAL' },
      { outcome: 'abnormal', providerStatus: 'ABNORMAL' },
    ],
    alipay: [{ status: 'processing' }, { status: 'processing' }, undefined],
    bank: [
      { status: 'processing' },
      { status: 'abnormal', providerStatus: 'requires_action' },
      { outcome: 'abnormal', providerStatus: 'refund.requires_action' },
    ],
  },
  silent: {
    wechat: [{ status: 'processing' }, { status: 'succeeded', amount: 2_800 }, undefined],
    alipay: [{ status: 'succeeded', amount: 2_800 }, { status: 'succeeded', amount: 2_800 }, undefined],
    bank: [{ status: 'processing' }, { status: 'succeeded', amount: 2_800 }, undefined],
  },
};

describe.each(SANDBOX_REFUND_OUTCOMES)('sandbox refunds over HTTP, SANDBOX_REFUND_OUTCOME=%s', (outcome) => {
  let refunds: Sandbox;
  beforeAll(() => {
    refunds = createSandbox({
      keys: generated.sandboxKeys,
      publicBaseUrl: baseUrl,
      retryDelaysMs: RETRY_DELAYS_MS,
      refundOutcome: outcome,
      refundSettleDelayMs: REFUND_SETTLE_DELAY_MS,
    });
    routed = refunds;
  });
  afterAll(async () => {
    routed = sandbox;
    await refunds.stop();
  });

  it.each(PROVIDERS)(
    '%s: the refund API answers, the refund ends, and the notification (if any) verifies',
    async (name) => {
      const [created, ended, notified] = REFUND_STORY[outcome][name];
      const payment = await paidPayment(name);
      const provider = merchantProvider(name);
      const request = refundRequest(name, payment.paymentId);

      expect(await provider.refund(request)).toMatchObject(created ?? {});
      const query = () =>
        provider.queryRefund({ refundId: request.refundId, paymentId: payment.paymentId, now: new Date() });
      await vi.waitFor(async () => expect(await query()).toMatchObject(ended ?? {}), { timeout: 2000, interval: 10 });

      if (notified) {
        // The delivery is logged once the merchant's answer is read, after the merchant received it.
        await vi.waitFor(
          () =>
            expect(refunds.refundDeliveries(payment.paymentId)).toEqual([
              expect.objectContaining({ attempt: 1, acknowledged: true }),
            ]),
          {
            timeout: 2000,
            interval: 10,
          },
        );
        expect(refundNotificationsFor(payment.paymentId)).toEqual([
          expect.objectContaining({
            type: 'refund',
            provider: name,
            refundId: request.refundId,
            paymentId: payment.paymentId,
            via: 'callback',
            ...notified,
          }),
        ]);
      } else {
        await settled();
        expect(refundNotificationsFor(payment.paymentId)).toEqual([]);
        expect(refunds.refundDeliveries(payment.paymentId)).toEqual([]);
      }
      // The payment's own callback was never repeated or turned into something else by the refund.
      expect(notificationsFor(payment.paymentId)).toEqual([
        expect.objectContaining({ outcome: 'succeeded', amount: 12_800 }),
      ]);
    },
  );
});

function consoleRefund(body: unknown) {
  return fetch(`${baseUrl}/sandbox/refunds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('sandbox: refunds made on the provider’s console (outside the merchant’s system)', () => {
  it.each([
    ['wechat', /^50\d{27}$/],
    ['alipay', undefined],
    ['bank', /^re_[0-9a-f]{24}$/],
  ] as const)(
    '%s: POST /sandbox/refunds refunds at once and notifies with the provider’s own refund number (or none)',
    async (name, refundNumber) => {
      const payment = await paidPayment(name);
      const response = await consoleRefund({ paymentId: payment.paymentId, amount: 1_000 });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as Record<string, unknown>;
      expect(answer).toMatchObject({
        paymentId: payment.paymentId,
        amount: 1_000,
        state: 'succeeded',
        notified: true,
        refundedAmount: 1_000,
        refundableAmount: 11_800,
      });

      await vi.waitFor(() => expect(refundNotificationsFor(payment.paymentId)).toHaveLength(1), {
        timeout: 2000,
        interval: 10,
      });
      const [notification] = refundNotificationsFor(payment.paymentId);
      expect(notification).toMatchObject({
        type: 'refund',
        provider: name,
        outcome: 'succeeded',
        ...(name === 'alipay' ? { amount: 0, refundedTotal: 1_000 } : { amount: 1_000 }),
      });
      if (refundNumber) expect(notification?.refundId).toMatch(refundNumber);
      else expect(notification?.refundId).toBeUndefined();
      expect(notification?.refundId).toBe(answer.refundId);
    },
  );

  it('notify: false refunds without a notification (a lost one, for reconciliation tests)', async () => {
    const payment = await paidPayment('wechat');
    const response = await consoleRefund({ paymentId: payment.paymentId, amount: 500, notify: false });
    expect(await response.json()).toMatchObject({ state: 'succeeded', notified: false });
    await settled();
    expect(sandbox.refundDeliveries(payment.paymentId)).toEqual([]);
    // The provider knows of it all the same.
    expect(await merchantProvider('wechat').queryPayment!(payment.paymentId, new Date())).toMatchObject({
      status: 'paid',
      providerStatus: 'REFUND',
    });
  });

  it('refuses what the provider would refuse: an unknown or unpaid payment, more than is left, a malformed request', async () => {
    expect((await consoleRefund({ paymentId: 'pay_unknown', amount: 1 })).status).toBe(404);

    const unpaid = await startCheckout('bank');
    await openPayUrl(unpaid.payUrl);
    const notPaid = await consoleRefund({ paymentId: unpaid.payment.paymentId, amount: 1 });
    expect([notPaid.status, await notPaid.json()]).toEqual([409, expect.objectContaining({ error: 'not_paid' })]);

    const payment = await paidPayment('bank');
    const tooMuch = await consoleRefund({ paymentId: payment.paymentId, amount: 12_801 });
    expect([tooMuch.status, await tooMuch.json()]).toEqual([
      409,
      { error: 'exceeds_refundable', message: expect.stringContaining('Only 12800 fen') },
    ]);

    for (const body of [
      { paymentId: payment.paymentId },
      { paymentId: payment.paymentId, amount: 0 },
      { paymentId: payment.paymentId, amount: 1.5 },
      { paymentId: payment.paymentId, amount: 1, notify: 'no' },
    ]) {
      expect((await consoleRefund(body)).status).toBe(400);
    }
    expect((await fetch(`${baseUrl}/sandbox/refunds`)).status).toBe(405);
  });

  it.each(PROVIDERS)('%s: one ledger for console and API refunds: never more than was paid', async (name) => {
    const payment = await paidPayment(name);
    await consoleRefund({ paymentId: payment.paymentId, amount: 10_000 });
    const provider = merchantProvider(name);
    expect(await provider.refund(refundRequest(name, payment.paymentId, { amount: 2_801 }))).toMatchObject({
      status: 'failed',
    });
    expect(await provider.refund(refundRequest(name, payment.paymentId, { amount: 2_800 }))).toMatchObject({
      status: name === 'alipay' ? 'succeeded' : 'processing',
    });
    expect(sandbox.store.refunds.refundableAmount(payment.paymentId)).toBe(0);
  });
});

describe('sandbox: refund notification retries', () => {
  it('retries a refund notification until acknowledged, with the same notification id', async () => {
    const payment = await paidPayment('bank');
    failuresToAnswer.set('bank', 1);
    await consoleRefund({ paymentId: payment.paymentId, amount: 700 });

    await vi.waitFor(() => expect(sandbox.refundDeliveries(payment.paymentId)).toHaveLength(2), {
      timeout: 2000,
      interval: 10,
    });
    expect(
      sandbox.refundDeliveries(payment.paymentId).map(({ statusCode, acknowledged }) => ({ statusCode, acknowledged })),
    ).toEqual([
      { statusCode: 500, acknowledged: false },
      { statusCode: 200, acknowledged: true },
    ]);
    const notifications = refundNotificationsFor(payment.paymentId);
    expect(notifications).toHaveLength(2);
    expect(new Set(notifications.map((notification) => notification.eventId)).size).toBe(1);
  });
});
