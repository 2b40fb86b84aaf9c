import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  createPaymentsClient,
  type PaymentMethod,
  PaymentsApiError,
  type PaymentsClient,
} from '../src/client/payments-client';
import { fenToYuan } from '../src/domain/money';
import { PAYMENT_METHODS } from '../src/domain/payment';
import { PAYMENT_SCENES, type PayAction, type PaymentScene } from '../src/domain/scene';
import { payAtSandbox } from './sandbox/customer';
import { ADMIN_SCOPE } from '../src/http/routes';
import { DEV_ISSUER_KEY_FILE, loadOrCreateDevIssuer } from './dev-jwt';
import { localBaseUrl, localDataDir, localPort } from './settings';

/**
 * `npm run demo [-- --method alipay|bank] [--scene <scene>] [--expire]`: walks one order to `paid`
 * through the sandbox of a running `npm start`, the way a customer would, one line per step. The
 * scene's method is WeChat's for native / jsapi / miniprogram / h5 / app and Alipay's for page /
 * wap / qr (`--scene app --method alipay`: Alipay's app). With `--expire`
 * (or when the runtime's payment TTL is two minutes or less) a second order is left unpaid until
 * its payment reads `expired`.
 */

const CUSTOMER = 'demo-customer';
const SHORT_TTL_MS = 2 * 60_000;
/** How long past its expiry an unpaid payment may take to read expired (server and demo share a clock). */
const EXPIRY_SLACK_MS = 30_000;

class DemoStopped extends Error {}

const yuan = (fen: number) => `¥${fenToYuan(fen)}`;
const clockTime = (iso: string) => `${iso.slice(11, 19)} UTC`;
/** A pay URL without its signed query string, which fills a screen. */
const shortUrl = (url: string) => {
  const { origin, pathname, search } = new URL(url);
  return `${origin}${pathname}${search ? '?…' : ''}`;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stepNumber = 0;
function step(label: string, line: string): void {
  stepNumber++;
  console.log(`  ${String(stepNumber).padStart(2)}. ${label.padEnd(9)} ${line}`);
}

interface DemoArgs {
  method: PaymentMethod;
  scene?: PaymentScene;
  expire: boolean;
}

const ALIPAY_ONLY_SCENES: readonly PaymentScene[] = ['page', 'wap', 'qr'];
/** The payer ids the demo customer has, as a shop's code exchange would give them. */
const DEMO_PAYER = { openid: 'oDemo_openid_0001', alipayOpenId: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5' };

function argAfter(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

function parseArgs(args: string[]): DemoArgs {
  const scene = argAfter(args, '--scene');
  if (scene !== undefined && !PAYMENT_SCENES.includes(scene as PaymentScene))
    throw new DemoStopped(`--scene must be one of ${PAYMENT_SCENES.join(', ')}`);
  const method =
    argAfter(args, '--method') ?? (ALIPAY_ONLY_SCENES.includes(scene as PaymentScene) ? 'alipay' : 'wechat');
  if (!PAYMENT_METHODS.includes(method as PaymentMethod))
    throw new DemoStopped(`--method must be one of ${PAYMENT_METHODS.join(', ')}`);
  return {
    method: method as PaymentMethod,
    scene: scene as PaymentScene | undefined,
    expire: args.includes('--expire'),
  };
}

/** Waits while the runtime says it is still starting; explains when nothing answers. */
async function checkRuntime(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/health`);
    } catch {
      throw new DemoStopped(
        `Nothing answers at ${baseUrl}: start the runtime with npm start (and give the demo the same PORT).`,
      );
    }
    if (response.ok) return;
    if (response.status !== 503 || Date.now() > deadline)
      throw new DemoStopped(`${baseUrl}/health answered ${response.status}: is that the payments runtime?`);
    await sleep(1_000);
  }
}

/** The token the runtime's dev issuer would sign: its key is in the runtime's data directory. */
async function customerToken(baseUrl: string, admin = false): Promise<string> {
  const dataDir = localDataDir();
  if (!existsSync(path.join(dataDir, DEV_ISSUER_KEY_FILE))) {
    throw new DemoStopped(
      `No dev issuer key under ${dataDir}: run the demo from where npm start runs, or set LOCAL_DATA_DIR to its data directory.`,
    );
  }
  // The shop's staff refund; the dev issuer signs their token with the admin scope.
  return (await loadOrCreateDevIssuer(dataDir, baseUrl)).sign(
    admin ? { sub: 'demo-staff', scope: ADMIN_SCOPE } : { sub: CUSTOMER },
  );
}

/** One line for what the front end got. */
function describeAction(action: PayAction): string {
  switch (action.type) {
    case 'redirect':
      return `redirect to ${shortUrl(action.url)}`;
    case 'qr':
      return `QR code of ${shortUrl(action.content)}`;
    case 'wechat-jsapi':
      return `bridge params for ${action.params.package}, paySign ${action.params.paySign.slice(0, 12)}…`;
    case 'wechat-app':
      return `OpenSDK PayReq for prepayid ${action.params.prepayid}, sign ${action.params.sign.slice(0, 12)}…`;
    case 'alipay-app':
      return `app SDK order string (${action.orderString.length} characters)`;
    case 'alipay-miniprogram':
      return `my.tradePay trade ${action.tradeNo}`;
  }
}

/** What the customer does at the provider: the page, the QR, the bridge or the app SDK of the sandbox. */
async function payAction(baseUrl: string, paymentId: string, action: PayAction, scene?: PaymentScene): Promise<void> {
  const { status, answer } = await payAtSandbox(baseUrl, paymentId, action, {
    mini: scene === 'miniprogram',
    buyerOpenId: DEMO_PAYER.alipayOpenId,
  });
  if (status !== 200)
    throw new DemoStopped(`the sandbox did not take the payment (${status}): ${JSON.stringify(answer)}`);
  const {
    delivery,
    paymentId: _id,
    state: _state,
    ...words
  } = answer as { delivery?: { acknowledged: boolean } } & Record<string, unknown>;
  const callback = delivery ? `; callback ${delivery.acknowledged ? 'acknowledged' : 'not acknowledged yet'}` : '';
  step('sandbox', `customer paid at the sandbox: ${JSON.stringify(words).slice(0, 160)}${callback}`);
}

async function payOneOrder(
  client: PaymentsClient,
  baseUrl: string,
  { method, scene }: DemoArgs,
): Promise<{ ttlMs: number; paymentId: string; orderId: string; amount: number }> {
  const products = await client.listProducts();
  step(
    'products',
    products.map((product) => `${product.sku} ${yuan(product.price)} (${product.stock} in stock)`).join(' · '),
  );
  const [first, second] = products;
  if (!first) throw new DemoStopped('the catalogue is empty');

  const items = [{ sku: first.sku, quantity: 1 }, ...(second ? [{ sku: second.sku, quantity: 2 }] : [])];
  const { order, payment } = await client.createOrder(items, { paymentMethod: method });
  const lines = order.items.map((item) => `${item.quantity} × ${item.name}`).join(' + ');
  step(
    'order',
    `${order.orderId} ${order.status}: ${lines} = ${yuan(order.totalAmount)}; payment ${payment.paymentId} ${payment.status} (${method}), expires ${clockTime(payment.expiresAt)}`,
  );

  const started = await client.startPayment(payment.paymentId, { scene, payer: DEMO_PAYER });
  step(
    'started',
    `${payment.paymentId} ${started.payment.status} in the ${started.payment.scene} scene: ${describeAction(started.action)}`,
  );

  const paidAt = Date.now();
  await payAction(baseUrl, payment.paymentId, started.action, scene);
  const outcome = await client.waitForPaymentOutcome(payment.paymentId, { timeoutMs: 30_000, intervalMs: 250 });
  const { order: settled } = await client.getOrder(order.orderId);
  if (outcome.status !== 'succeeded' || settled.status !== 'paid')
    throw new DemoStopped(`payment ended ${outcome.status}, order reads ${settled.status}`);
  step(
    'paid',
    `order ${settled.orderId} paid ${((Date.now() - paidAt) / 1000).toFixed(1)} s after the customer paid (payment ${outcome.status})`,
  );
  return {
    ttlMs: Date.parse(payment.expiresAt) - Date.parse(payment.createdAt),
    paymentId: payment.paymentId,
    orderId: order.orderId,
    amount: order.totalAmount,
  };
}

/** Staff refund part of the paid order (one item's worth, at most half) and wait for the provider to pay it back. */
async function refundPart(
  client: PaymentsClient,
  baseUrl: string,
  paid: { paymentId: string; orderId: string; amount: number },
): Promise<void> {
  const staff = `Bearer ${await customerToken(baseUrl, true)}`;
  const amount = Math.max(1, Math.floor(paid.amount / 2));
  const response = await fetch(`${baseUrl}/api/payments/${paid.paymentId}/refunds`, {
    method: 'POST',
    headers: { authorization: staff, 'content-type': 'application/json', 'idempotency-key': `demo-${paid.paymentId}` },
    body: JSON.stringify({ amount, reason: 'demo: partial refund' }),
  });
  const created = (await response.json()) as {
    refund?: { refundId: string; status: string };
    error?: { code: string; message: string };
  };
  if (!created.refund)
    throw new DemoStopped(`the refund answered ${response.status} ${created.error?.code}: ${created.error?.message}`);
  step(
    'refund',
    `staff refunded ${yuan(amount)} of ${paid.paymentId}: refund ${created.refund.refundId} ${created.refund.status}`,
  );
  let status = created.refund.status;
  for (const deadline = Date.now() + 30_000; status !== 'succeeded' && Date.now() < deadline; await sleep(250)) {
    const current = (await (
      await fetch(`${baseUrl}/api/refunds/${created.refund.refundId}`, { headers: { authorization: staff } })
    ).json()) as {
      refund: { status: string };
    };
    status = current.refund.status;
  }
  if (status !== 'succeeded') throw new DemoStopped(`the refund reads ${status} after 30 s`);
  const { order } = await client.getOrder(paid.orderId);
  step(
    'refunded',
    `refund succeeded; order ${order.orderId} is ${order.status} with ${yuan(amount)} refunded of ${yuan(order.totalAmount)}`,
  );
}

async function leaveOneUnpaid(client: PaymentsClient, method: PaymentMethod): Promise<void> {
  const [product] = await client.listProducts();
  const { order, payment } = await client.createOrder([{ sku: product!.sku, quantity: 1 }], {
    paymentMethod: method,
    ttlMinutes: 1,
  });
  const expiresAtMs = Date.parse(payment.expiresAt);
  step(
    'unpaid',
    `order ${order.orderId} with payment ${payment.paymentId} left unpaid; it expires at ${clockTime(payment.expiresAt)} (in ${Math.round((expiresAtMs - Date.now()) / 1000)} s)`,
  );

  for (;;) {
    const current = await client.getPayment(payment.paymentId);
    if (current.status === 'expired') break;
    if (Date.now() > expiresAtMs + EXPIRY_SLACK_MS)
      throw new DemoStopped(
        `payment ${payment.paymentId} still reads ${current.status} ${EXPIRY_SLACK_MS / 1000} s after its expiry`,
      );
    await sleep(1_000);
  }
  const { order: after } = await client.getOrder(order.orderId);
  step(
    'expired',
    `payment ${payment.paymentId} reads expired; order ${after.orderId} is ${after.status} (a new payment can be made)`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { method, expire } = args;
  const baseUrl = localBaseUrl(localPort());
  console.log(`Payments demo against ${baseUrl}, as customer ${CUSTOMER}`);
  await checkRuntime(baseUrl);
  const client = createPaymentsClient({ baseUrl, token: await customerToken(baseUrl) });
  step('runtime', `${baseUrl}/health answers {"ok":true}`);

  const paid = await payOneOrder(client, baseUrl, args);
  if (expire || paid.ttlMs <= SHORT_TTL_MS) await leaveOneUnpaid(client, method);
  await refundPart(client, baseUrl, paid);
  console.log(`Done. The dashboard shows these payments: ${baseUrl}/_local/dashboard`);
}

main().catch((error: unknown) => {
  if (error instanceof PaymentsApiError && error.status === 401) {
    console.error(
      '\nThe runtime refused the demo token: give the demo the PORT and LOCAL_DATA_DIR that npm start uses.',
    );
  } else if (error instanceof PaymentsApiError) {
    console.error(`\nThe API answered ${error.status} ${error.code}: ${error.message}`);
  } else {
    console.error(`\nDemo stopped: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
