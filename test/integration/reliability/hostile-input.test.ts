import fc from 'fast-check';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { matchRoute, toApiGatewayEvent } from '../../../local/api-gateway';
import type { Product } from '../../../src/domain/order';
import { PAYMENT_METHODS, type PaymentMethod } from '../../../src/domain/payment';
import type { HttpEvent } from '../../../src/http/route';
import { localWiring } from '../../../src/runtime/wiring';
import { API_ROUTES } from '../../../src/http/routes';
import type { RawCallback } from '../../../src/core/payments/provider';
import { requestRefund } from '../../../src/core/refunds/refunds';
import { formFields, signedNotification } from '../../support/alipay-fixtures';
import { ALICE, BOB, CUSTOMER_ROUTES, type CustomerRoute } from '../../support/api-fixtures';
import { signedBankCallback } from '../../support/bank-fixtures';
import { expectFailure, PROVIDERS } from '../../support/callback-fixtures';
import type { DynamoWrite } from '../../support/faults';
import {
  hostileApiRequest,
  hostileCallback,
  hostileString,
  type HostileApiRequest,
  type KnownData,
} from '../../support/hostile';
import { httpEvent, invoke, type JsonResponse } from '../../support/http';
import { useRig } from '../../support/reliability-fixtures';
import { NO_ANSWER, RIG_PRODUCTS, type Rig } from '../../support/reliability-rig';
import { platformSigner, seconds, wechatpayHeaders } from '../../support/wechat-fixtures';

/**
 * Hostile input, property-based (fast-check, bounded runs, fixed seeds): requests against every
 * customer route through the handler modules API Gateway (and the local gateway) invokes, and
 * anything posted to each provider's callback URL. Never a 5xx, always the documented error
 * shape (the provider's own failure format for callbacks), and nothing written for a refusal:
 * DynamoDB write commands are counted by an SDK middleware, per request.
 */

const suite = useRig('hostile-input');
const ROUTES = Object.keys(CUSTOMER_ROUTES) as CustomerRoute[];
/** Refusals of the input itself: nothing may be written. */
const INPUT_REFUSALS = new Set([400, 401, 403, 413, 415]);
/** Business refusals: only the idempotency record of the refusal (it is replayed to a retry). */
const BUSINESS_REFUSALS = new Set([404, 409]);
const answers: Record<string, number> = (suite.figures.answers = {});
const count = (key: string) => (answers[key] = (answers[key] ?? 0) + 1);

type Handler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyResultV2>;
const handlersOf = (rig: Rig) =>
  new Map<string, Handler>(
    Object.entries(CUSTOMER_ROUTES).map(([route, make]) => [route, make(localWiring(async () => rig.deps)) as Handler]),
  );

/** An order of Alice's and one of Bob's: hostile ids include real ones, another customer's among them. */
async function knownData(rig: Rig, handlers: Map<string, Handler>): Promise<KnownData> {
  const known = {
    customers: [ALICE, BOB],
    orderIds: [] as string[],
    paymentIds: [] as string[],
    skus: RIG_PRODUCTS.map((product) => product.sku),
  };
  for (const customerId of known.customers) {
    const response = await invoke(
      handlers.get('POST /api/orders')!,
      httpEvent('POST', '/api/orders', { customerId, body: { items: [{ sku: 'TEA-OOLONG', quantity: 1 }] } }),
    );
    expect(response.statusCode).toBe(201);
    known.orderIds.push(response.body.order.orderId);
    known.paymentIds.push(response.body.payment.paymentId);
  }
  return known;
}

/** Well-formed percent-encoding of any string (a lone surrogate becomes U+FFFD, as a browser sends it). */
const percentEncoded = (text: string) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));

/** The contract every API answer keeps, and what it may have written. */
function expectApiContract(response: JsonResponse, writes: DynamoWrite[]): void {
  count(String(response.statusCode));
  expect(response.statusCode).toBeLessThan(500);
  if (response.statusCode < 400) return;
  expect(response.body).toEqual({
    error: {
      code: expect.stringMatching(/^[A-Z_]+$/),
      message: expect.any(String),
      ...(response.body?.error?.details === undefined ? {} : { details: expect.anything() }),
    },
  });
  if (INPUT_REFUSALS.has(response.statusCode)) expect(writes).toEqual([]);
  if (BUSINESS_REFUSALS.has(response.statusCode))
    expect(writes.flatMap((write) => write.keys).filter((key) => !key.startsWith('IDEMP#'))).toEqual([]);
}

describe('hostile API requests', () => {
  it('bodies, headers, identities and path parameters: never a 5xx, the error shape, nothing written when refused', async () => {
    const { rig } = suite;
    const handlers = handlersOf(rig);
    const known = await knownData(rig, handlers);
    const send = (request: HostileApiRequest) => {
      const [method = '', template = ''] = request.route.split(' ');
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => percentEncoded(request.params[name] ?? ''));
      const event = httpEvent(method, path, {
        customerId: request.customerId,
        scope: request.scope,
        rawBody: request.rawBody,
        headers: request.headers,
        pathParameters: request.params,
      });
      return invoke(handlers.get(request.route)!, {
        ...event,
        isBase64Encoded: request.rawBody !== undefined && request.isBase64Encoded,
      });
    };

    await fc.assert(
      fc.asyncProperty(hostileApiRequest(ROUTES, known), async (request) => {
        const { result, writes } = await rig.writes.during(() => send(request));
        expectApiContract(result, writes);
      }),
      { numRuns: 200, seed: 4_242 },
    );
    suite.figures.hostileInputs += 200;
  });

  it('paths, as the local gateway routes them: never a 5xx from a function, the error shape', async () => {
    const { rig } = suite;
    const handlers = handlersOf(rig);
    const known = await knownData(rig, handlers);
    const segment = fc.oneof(
      hostileString.map(percentEncoded),
      fc.constantFrom(...known.orderIds, ...known.paymentIds, 'batch', 'payments', 'cancel', 'start'),
      fc.webSegment(),
    );
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/api/${segments.join('/')}`);
    const prefixed = fc
      .tuple(
        fc.constantFrom('/api/orders/', '/api/payments/'),
        segment,
        fc.constantFrom('', '/cancel', '/start', '/payments'),
      )
      .map(([base, id, tail]) => `${base}${id}${tail}`);
    let routed = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        fc.oneof(path, prefixed),
        fc.option(hostileString, { nil: undefined }),
        async (method, rawPath, body) => {
          const url = new URL(rawPath, 'http://127.0.0.1');
          const match = matchRoute(method, url.pathname);
          if (!match || match.route.auth === 'public') return; // API Gateway's own 404, or not a customer route
          routed++;
          const event = toApiGatewayEvent({
            method,
            url,
            headers: { 'content-type': 'application/json' },
            body: Buffer.from(body ?? ''),
            route: match.route,
            pathParameters: match.pathParameters,
            claims: { sub: ALICE } as never,
            sourceIp: '127.0.0.1',
          });
          const { result, writes } = await rig.writes.during(() =>
            invoke(handlers.get(`${match.route.method} ${match.route.path}`)!, event),
          );
          expectApiContract(result, writes);
        },
      ),
      { numRuns: 200, seed: 4_343 },
    );
    suite.figures.hostileInputs += routed;
    expect(routed).toBeGreaterThan(20);
  });

  it('covers every customer route of the route table', () => {
    expect(ROUTES.sort()).toEqual(
      API_ROUTES.filter((route) => route.auth !== 'public')
        .map((route) => `${route.method} ${route.path}`)
        .sort(),
    );
  });

  // Fixed defect: 20 orders × 2 writes plus one stock write per distinct SKU passed validation and
  // then failed in TransactWriteItems with a 500. Now refused whole before anything is written.
  it('a batch of 20 orders over 70 distinct SKUs (a transaction over 100 items): 400 BATCH_TOO_LARGE with what it needs, nothing written', async () => {
    const { rig } = suite;
    const bulk: Product[] = Array.from({ length: 70 }, (_, index) => ({
      sku: `BULK-${String(index).padStart(2, '0')}`,
      name: `Bulk item ${index}`,
      price: 100,
      stock: 1_000,
    }));
    await rig.env.seedProducts(bulk);
    const orders = Array.from({ length: 20 }, (_, order) => ({
      items: [0, 1, 2, 3].map((offset) => ({ sku: bulk[(order * 4 + offset) % bulk.length]!.sku, quantity: 1 })),
    }));

    const { result, writes } = await rig.writes.during(() =>
      invoke(
        handlersOf(rig).get('POST /api/orders/batch')!,
        httpEvent('POST', '/api/orders/batch', { customerId: ALICE, body: { orders } }),
      ),
    );

    // 2 per order, 1 per distinct SKU, the pending-order count and the events (no Idempotency-Key sent).
    expect(result).toMatchObject({
      statusCode: 400,
      body: {
        error: {
          code: 'BATCH_TOO_LARGE',
          message: expect.any(String),
          details: { limit: 100, needed: 20 * 2 + 70 + 2 },
        },
      },
    });
    expect(writes).toEqual([]);
  });
});

describe.each(PROVIDERS)('hostile callbacks to %s', (method) => {
  const RUNS = 100;

  it('are refused in its own format without a write; only a genuine signature is ever acknowledged', async () => {
    const { rig, keys } = suite;
    const { paymentId } = await rig.startedOrder(method);
    rig.decide(method, paymentId, 'paid', { notificationId: `genuine-${paymentId}` });
    const genuine = () => rig.callbackFor(method, paymentId);
    const kinds = new Map<string, number>();

    await fc.assert(
      fc.asyncProperty(hostileCallback(method, keys, genuine, rig.clock.now), async ({ provider, callback, kind }) => {
        const { result: reply, writes } = await rig.writes.during(() => rig.receive(provider, callback));
        if (reply === NO_ANSWER) throw new Error('the callback function died');
        const written = writes.flatMap((write) => write.keys);
        const status = reply.statusCode ?? 0;
        count(`callback ${status}`);
        expect(status).toBeLessThan(500);
        if (!(PAYMENT_METHODS as readonly string[]).includes(provider)) {
          expect({ status, body: JSON.parse(reply.body ?? '') }).toMatchObject({
            status: 404,
            body: { error: { code: 'UNKNOWN_PROVIDER', message: expect.any(String) } },
          });
          expect(written).toEqual([]);
          return;
        }
        const acknowledged = rig.providers[provider as PaymentMethod].simulator.isAcknowledged(
          status,
          reply.body ?? '',
        );
        kinds.set(
          `${kind} ${acknowledged ? 'acknowledged' : 'refused'}`,
          (kinds.get(`${kind} ${acknowledged ? 'acknowledged' : 'refused'}`) ?? 0) + 1,
        );
        if (acknowledged) {
          // An edit the signature does not cover (a header it ignores, an equivalent encoding): still the genuine notification.
          expect(kind).toBe('mutated');
          expect(written.filter((key) => !key.startsWith('CALLBACK#'))).toEqual([]);
        } else {
          expectFailure(method, reply, { retryable: false });
          expect(written).toEqual([]);
        }
      }),
      { numRuns: RUNS, seed: 9_000 + PROVIDERS.indexOf(method) },
    );
    suite.figures.hostileInputs += RUNS;
    expect(kinds.get('signed-nonsense refused')).toBeGreaterThan(0);
    await rig.settle();
    expect(await rig.env.repo.getPayment(paymentId)).toMatchObject({ status: 'succeeded' });
    await suite.expectInvariants();
  });
});

// Fixed defects: a correctly signed refund notification was booked past what the payment had left,
// and on a payment we never saw succeed. Any amount, either kind of payment: the books hold.
describe.each(PROVIDERS)('signed refund notifications %s reports of refunds made outside this service', (method) => {
  const RUNS = 25;

  it('never take refunded money past the payment, nor book a refund on a payment not succeeded', async () => {
    const { rig } = suite;
    const paid = await rig.startedOrder(method);
    rig.decide(method, paid.paymentId, 'paid');
    await rig.deliver(method, paid.paymentId);
    await rig.settle();
    await requestRefund(rig.deps, {
      paymentId: paid.paymentId,
      amount: Math.floor((paid.amount * 6) / 10),
      origin: 'admin',
    });
    const processing = await rig.startedOrder(method);
    const world = rig.providers[method];
    let refundedAtProvider = Math.floor((paid.amount * 6) / 10);
    const results = new Map<string, number>();

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(paid, processing),
        fc.integer({ min: 1, max: 100 }),
        fc.nat(),
        async (target, percent, n) => {
          const amount = Math.max(1, Math.floor((target.amount * percent) / 100));
          const checkout = {
            ...world.store.get(target.paymentId)!,
            state: 'paid' as const,
            transactionId: `tx-${target.paymentId}`,
          };
          refundedAtProvider += amount;
          const callback = world.simulator.buildRefundCallback(
            checkout,
            {
              key: `console-${n}-${percent}`,
              ...(method === 'alipay'
                ? { refundedAfter: Math.min(target.amount, refundedAtProvider) }
                : { refundId: `console-${n}-${percent}` }),
              paymentId: target.paymentId,
              amount,
              state: 'succeeded',
              external: true,
              notify: true,
              createdAt: rig.clock.now().toISOString(),
              settledAt: rig.clock.now().toISOString(),
              notificationId: `ntf-console-${n}-${percent}`,
            },
            rig.clock.now(),
          );
          const reply = await rig.receive(method, {
            headers: Object.fromEntries(
              Object.entries(callback!.headers).map(([name, value]) => [name.toLowerCase(), value]),
            ),
            body: Buffer.from(callback!.body, 'utf8'),
          });
          if (reply === NO_ANSWER) throw new Error('the callback function died');
          results.set(String(reply.statusCode), (results.get(String(reply.statusCode)) ?? 0) + 1);
        },
      ),
      { numRuns: RUNS, seed: 2_700 + PROVIDERS.indexOf(method) },
    );
    suite.figures.hostileInputs += RUNS;
    await rig.settle();
    expect(results.get('200') ?? results.get('204')).toBeGreaterThan(0); // some were acknowledged, and so applied
    const payments = [
      (await rig.env.repo.getPayment(paid.paymentId))!,
      (await rig.env.repo.getPayment(processing.paymentId))!,
    ];
    for (const payment of payments) expect(payment.refundedAmount ?? 0).toBeLessThanOrEqual(payment.amount);
    await suite.expectInvariants();
  });
});

/** The genuine callback padded past DynamoDB's 400 KB item limit, signed again with the provider's real keys. */
function oversized(method: PaymentMethod, genuine: RawCallback, now: Date): RawCallback {
  const { keys } = suite;
  const padding = 'x'.repeat(450_000);
  if (method === 'bank') {
    return signedBankCallback(
      JSON.stringify({ ...JSON.parse(genuine.body.toString('utf8')), memo: padding }),
      keys.bank.sandbox.webhookSecrets[0]!,
      seconds(now),
    );
  }
  // `body` is a field Alipay itself sends (the order's description).
  if (method === 'alipay')
    return signedNotification({ ...formFields(genuine.body), body: padding }, keys.alipay.sandbox.alipayPrivateKey);
  const body = JSON.stringify({ ...JSON.parse(genuine.body.toString('utf8')), padding });
  return {
    headers: {
      'content-type': 'application/json',
      ...wechatpayHeaders(platformSigner(keys.wechat.sandbox), body, seconds(now)),
    },
    body: Buffer.from(body),
  };
}

describe('a genuine callback over 400 KB', () => {
  // Fixed defect: the archive write exceeded DynamoDB's item limit, the callback answered a
  // retryable 500 and the provider retried it for a day. Now a body over the 64 KiB bound is
  // refused unread with 413, in the provider's own failure format, for good.
  it('for each provider: refused with 413 in its own format, not to be retried, nothing written', async () => {
    const { rig } = suite;
    const orders = await Promise.all(PROVIDERS.map((method) => rig.startedOrder(method)));
    for (const { method, paymentId, orderId } of orders) {
      rig.decide(method, paymentId, 'paid');
      const { result: reply, writes } = await rig.writes.during(() =>
        rig.receive(method, oversized(method, rig.callbackFor(method, paymentId), rig.clock.now())),
      );

      if (reply === NO_ANSWER) throw new Error('the callback function died');
      expectFailure(method, reply, { retryable: false, status: 413 });
      expect(rig.providers[method].simulator.isAcknowledged(reply.statusCode ?? 0, reply.body ?? ''), method).toBe(
        false,
      );
      expect(
        writes.flatMap((write) => write.keys).filter((key) => key.startsWith('CALLBACK#')),
        method,
      ).toEqual([]);
      expect(await rig.env.repo.getOrder(orderId), method).toMatchObject({ status: 'pending' });
    }
  });
});
