import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRuntime } from '../../local/runtime';
import {
  createPaymentsClient,
  type PaymentMethod,
  PaymentsApiError,
  type PaymentsClient,
  type PaymentStatus,
} from '../../src/client/payments-client';
import { fenToYuan } from '../../src/domain/money';
import { decideAtCheckout, RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * `npm start` driven over HTTP the way a front end and a customer would: the typed client for the
 * API, the sandbox checkout form for the customer's decision, the provider's signed callback back
 * into the API, the SQS worker and the sweeper in between.
 */

const METHODS: readonly PaymentMethod[] = ['wechat', 'alipay', 'bank'];
const CUSTOMER = 'e2e-customer';
const ITEMS = [{ sku: 'CUP-CELADON', quantity: 2 }];
const SETTLE = { timeout: 15_000, interval: 100 };

/** DynamoDB Local JVMs started by this test process (the global setup's emulator has another parent). */
function emulatorsOfThisProcess(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'DynamoDBLocal.jar'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

let env: TestRuntime;
let client: PaymentsClient;
let emulatorsBefore: string[];
let stopped = false;

beforeAll(async () => {
  emulatorsBefore = emulatorsOfThisProcess();
  // Its own JVM: the last test checks that stopping the runtime stops it.
  env = await startTestRuntime({}, { ownEmulator: true });
  client = await env.clientFor(CUSTOMER);
}, RUNTIME_START_TIMEOUT_MS);

afterAll(async () => {
  if (!stopped) await env?.stop();
});

async function startedPayment(method: PaymentMethod) {
  const { order, payment } = await client.createOrder(ITEMS, { paymentMethod: method });
  const started = await client.startPayment(payment.paymentId);
  return { order, payment: started.payment, payUrl: started.payUrl };
}

async function orderStatusSettles(orderId: string, status: 'paid' | 'pending') {
  await vi.waitFor(async () => expect((await client.getOrder(orderId)).order.status).toBe(status), SETTLE);
}

describe('the local runtime', () => {
  it('answers GET /health once ready', async () => {
    const response = await fetch(`${env.runtime.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('refuses the API without a token or with a forged one', async () => {
    expect((await fetch(`${env.runtime.baseUrl}/api/products`)).status).toBe(401);
    const forged = createPaymentsClient({ baseUrl: env.runtime.baseUrl, token: `${CUSTOMER}.forged.token` });
    await expect(forged.listProducts()).rejects.toThrow(PaymentsApiError);
    await expect(forged.listProducts()).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect((await client.listProducts()).map((product) => product.sku)).toContain(ITEMS[0]!.sku);
  });

  it('publishes its dev issuer the OpenID way, and its tokens verify against that JWKS', async () => {
    const base = env.runtime.baseUrl;
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: base, jwks_uri: `${base}/.well-known/jwks.json` });
    const token = await env.tokenFor(CUSTOMER);
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: discovery.issuer,
      audience: 'payments-api',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.sub).toBe(CUSTOMER);
  });

  it('refuses like API Gateway: 401 and 403 in the gateway’s own shape, 400 for a path that does not decode', async () => {
    const base = env.runtime.baseUrl;
    const hs256 = await new SignJWT({ sub: CUSTOMER })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(base)
      .setAudience('payments-api')
      .setExpirationTime('1h')
      .sign(new Uint8Array(32));
    const refused = await fetch(`${base}/api/products`, { headers: { authorization: `Bearer ${hs256}` } });
    expect([refused.status, await refused.json()]).toEqual([401, { message: 'Unauthorized' }]);

    const notAdmin = await fetch(`${base}/api/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await env.tokenFor(CUSTOMER)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'NEW-1', name: 'New', price: 100, stock: 1 }),
    });
    expect([notAdmin.status, await notAdmin.json()]).toEqual([403, { message: 'Forbidden' }]);

    const malformed = await fetch(`${base}/api/orders/%E0%A4%A`, {
      headers: { authorization: `Bearer ${await env.tokenFor(CUSTOMER)}` },
    });
    expect([malformed.status, await malformed.json()]).toEqual([400, { message: 'Bad Request' }]);
  });
});

describe.each(METHODS)('a %s payment', (method) => {
  it('is paid at the sandbox checkout and the order reads paid', async () => {
    const { order, payment, payUrl } = await startedPayment(method);
    expect(payment.status).toBe('processing');

    const outcomePage = await decideAtCheckout(payUrl, 'pay');
    expect(outcomePage).toContain(`Paid ¥${fenToYuan(order.totalAmount)}`);

    await orderStatusSettles(order.orderId, 'paid');
    const paid = await client.getPayment(payment.paymentId);
    expect(paid).toMatchObject({ status: 'succeeded', amount: order.totalAmount });
    expect(paid.providerTransactionId).toBeTruthy();
  });

  const unpaidOutcomes: Array<{ decision: 'fail' | 'cancel'; status: PaymentStatus }> = [
    // Alipay has no failed trade: an unpaid trade ends closed, which is a cancelled payment.
    { decision: 'fail', status: method === 'alipay' ? 'cancelled' : 'failed' },
    { decision: 'cancel', status: 'cancelled' },
  ];
  it.each(unpaidOutcomes)(
    'ends $status on $decision; the order stays pending and can be paid again',
    async ({ decision, status }) => {
      const { order, payment, payUrl } = await startedPayment(method);
      await expect(client.repay(order.orderId)).rejects.toMatchObject({ status: 409, code: 'PAYMENT_ALREADY_OPEN' });

      await decideAtCheckout(payUrl, decision);

      expect(
        await client.waitForPaymentOutcome(payment.paymentId, {
          timeoutMs: SETTLE.timeout,
          intervalMs: SETTLE.interval,
        }),
      ).toMatchObject({ status });
      expect((await client.getOrder(order.orderId)).order.status).toBe('pending');
      const again = await client.repay(order.orderId);
      expect(again).toMatchObject({ orderId: order.orderId, status: 'init', method });
      expect(again.paymentId).not.toBe(payment.paymentId);

      // Given up: the re-pay is cancelled with its order (nothing is left open to expire later).
      expect(await client.cancelOrder(order.orderId)).toMatchObject({ status: 'cancelled' });
      expect(await client.getPayment(again.paymentId)).toMatchObject({ status: 'cancelled' });
    },
  );
});

describe("a customer's own orders", () => {
  const call = async (token: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${env.runtime.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined
          ? {}
          : { 'content-type': 'application/json', 'idempotency-key': `e2e-${crypto.randomUUID()}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
    return { status: response.status, body: (await response.json()) as any };
  };

  it("GET /api/orders pages through my orders newest first, each with its payment, never another customer's", async () => {
    const token = await env.tokenFor('e2e-lister');
    const lister = await env.clientFor('e2e-lister');
    const first = await lister.createOrder(ITEMS, { paymentMethod: 'wechat' });
    const second = await lister.createOrder(ITEMS, { paymentMethod: 'alipay' });
    await client.createOrder(ITEMS, { paymentMethod: 'wechat' }); // another customer's

    const page1 = await call(token, 'GET', '/api/orders?limit=1');
    const page2 = await call(token, 'GET', `/api/orders?limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`);

    expect(page1.status).toBe(200);
    expect(page1.body.orders).toEqual([
      expect.objectContaining({
        orderId: second.order.orderId,
        payment: expect.objectContaining({ paymentId: second.payment.paymentId }),
      }),
    ]);
    expect(page2.body.orders.map((order: { orderId: string }) => order.orderId)).toEqual([first.order.orderId]);
    // The last page, full as it is, says it is the last.
    expect(page2.body.nextCursor).toBeUndefined();
  });
});

describe('the dashboard', () => {
  it('shows the success rate and callback latency of the payments above', async () => {
    const figures = (await (await fetch(`${env.runtime.baseUrl}/_local/dashboard.json`)).json()) as {
      successRatePercent: number | null;
      callbackLatencyMs: { p50: number | null; p99: number | null; samples: number };
      counts: Record<string, number>;
    };
    // 3 paid of 15 ended: 6 failed or cancelled at the checkout, 6 re-pays cancelled with their orders.
    expect(figures.counts).toMatchObject({ PaymentSucceeded: 3, PaymentExpired: 0 });
    expect(figures.successRatePercent).toBe(20);
    expect(figures.callbackLatencyMs.samples).toBeGreaterThanOrEqual(3);
    expect(figures.callbackLatencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(figures.callbackLatencyMs.p99).toBeGreaterThanOrEqual(figures.callbackLatencyMs.p50!);
  });
});

describe('an unpaid payment past its time to pay', () => {
  it('reads expired, is expired by the sweeper, and a new payment for the order can be paid', async () => {
    const { order, payment } = await client.createOrder(ITEMS);
    expect(Date.parse(payment.expiresAt) - Date.parse(payment.createdAt)).toBe(60_000); // PAYMENT_TTL_MINUTES=1
    // Rather than wait a real minute, the runtime's clock (every function and the sweeper read it) moves past the expiry.
    const realClock = env.runtime.deps.clock;
    env.runtime.deps.clock = { now: () => new Date(realClock.now().getTime() + 61_000) };

    expect((await client.getPayment(payment.paymentId)).status).toBe('expired');
    await vi.waitFor(async () => {
      const { events } = (await (await fetch(`${env.runtime.baseUrl}/_local/events`)).json()) as {
        events: Array<{ type: string; detail: { paymentId?: string } }>;
      };
      expect(
        events.filter((event) => event.type === 'PaymentExpired').map((event) => event.detail.paymentId),
      ).toContain(payment.paymentId);
    }, SETTLE);
    expect((await client.getOrder(order.orderId)).order.status).toBe('pending');

    const repay = await fetch(`${env.runtime.baseUrl}/api/orders/${order.orderId}/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await env.tokenFor(CUSTOMER)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(repay.status).toBe(201);
    const fresh = (await repay.json()) as { paymentId: string; status: string };
    expect(fresh.status).toBe('init');

    const { payUrl } = await client.startPayment(fresh.paymentId);
    await decideAtCheckout(payUrl, 'pay');
    await orderStatusSettles(order.orderId, 'paid');
  });
});

describe('starting the runtime', () => {
  it('rejects a malformed PAYMENTS_CONFIG with what is wrong, leaving nothing running', async () => {
    const configPath = path.join(env.dataDir, 'broken-payments-config.json');
    await writeFile(configPath, JSON.stringify({ wechat: { mchid: '1900000001' } }));
    const emulators = emulatorsOfThisProcess();
    await expect(
      startRuntime({
        port: 0,
        dataDir: env.dataDir,
        fresh: true,
        paymentsConfigPath: configPath,
        log: () => undefined,
      }),
    ).rejects.toThrow(/Invalid payments config: .*wechat\.appid/);
    expect(emulatorsOfThisProcess()).toEqual(emulators);
  });

  it('names a port that is already taken', async () => {
    const takenPort = Number(new URL(env.runtime.baseUrl).port);
    await expect(
      startRuntime({ port: takenPort, dataDir: env.dataDir, fresh: true, log: () => undefined }),
    ).rejects.toThrow(`Port ${takenPort} is already in use`);
  });

  it('stops everything it started, the DynamoDB Local JVM included', async () => {
    expect(emulatorsOfThisProcess()).toHaveLength(emulatorsBefore.length + 1);
    stopped = true;
    await env.stop();
    expect(emulatorsOfThisProcess()).toEqual(emulatorsBefore);
    await expect(fetch(`${env.runtime.baseUrl}/health`)).rejects.toThrow();
  });
});
