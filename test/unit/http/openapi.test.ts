import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { makeHandler } from '../../../functions/openapi/handler';
import type { Deps } from '../../../src/core/kernel/deps';
import { newId } from '../../../src/core/kernel/ids';
import { orderView, paymentView } from '../../../src/core/orders/views';
import {
  cancelledOrder as cancelOrder,
  createOrder,
  createPayment,
  createRefund,
  DEFAULT_TIMING,
  refundEnded,
  transitionRefund,
  type Order,
  OutOfStockError,
  parkForReview,
  type Payment,
  priceItems,
  settlePayment,
  transitionPayment,
} from '../../../src/domain';
import { API_ERROR_STATUS, toErrorResponse } from '../../../src/http/errors';
import { localWiring } from '../../../src/runtime/wiring';
import { validateKey } from '../../../src/http/idempotency';
import { buildOpenApiDocument, serializeOpenApiDocument } from '../../../src/http/openapi';
import { ErrorSchema, OrderSchema, PaymentSchema, ProductSchema } from '../../../src/http/response-schemas';
import { ADMIN_SCOPE, API_ROUTES, type ApiRoute } from '../../../src/http/routes';
import { CreateOrderBody } from '../../../src/http/schemas';
import { httpEvent, lambdaContext } from '../../support/http';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking a JSON document
const document: Json = buildOpenApiDocument({ serverUrl: 'https://pay.example.com' });

const operationOf = (route: ApiRoute): Json => document.paths[route.path][route.method.toLowerCase()];
const routeOf = (fn: string): ApiRoute => API_ROUTES.find((route) => route.fn === fn)!;

/** Follows a local `#/...` reference; undefined when it points nowhere. */
function resolve(ref: string): Json | undefined {
  return ref
    .slice(2)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<Json | undefined>((node, token) => node?.[token], document);
}
const deref = (node: Json): Json => (node.$ref ? resolve(node.$ref)! : node);

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' ? [value as string] : refsIn(value)));
}

describe('OpenAPI document: routes', () => {
  it('documents every route once, with its method, summary and a unique operationId', () => {
    const documented = Object.entries(document.paths as Json).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(API_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
    for (const route of API_ROUTES) expect(operationOf(route).summary).toBe(route.summary);
    const ids = API_ROUTES.map((route) => operationOf(route).operationId);
    expect(new Set(ids).size).toBe(API_ROUTES.length);
    expect(ids).toContain('createOrdersBatch');
  });

  it('requires the bearer JWT on customer routes, the admin scope on admin routes, and nothing on the public ones', () => {
    expect(document.components.securitySchemes.bearerJwt).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    );
    const expected = { public: [], customer: [{ bearerJwt: [] }], admin: [{ bearerJwt: [ADMIN_SCOPE] }] };
    for (const route of API_ROUTES) expect(operationOf(route).security, route.fn).toEqual(expected[route.auth]);
    expect(routeOf('payment-callback').auth).toBe('public');
    expect(routeOf('openapi').auth).toBe('public');
    expect(routeOf('create-product').auth).toBe('admin');
  });

  it('documents the 403 on admin routes only', () => {
    for (const route of API_ROUTES)
      expect(Object.keys(operationOf(route).responses).includes('403'), route.fn).toBe(route.auth === 'admin');
  });

  it('declares every {name} of a path as a required path parameter, typed by the route params', () => {
    for (const route of API_ROUTES) {
      const declared = (operationOf(route).parameters ?? [])
        .map(deref)
        .filter((parameter: Json) => parameter.in === 'path');
      const names = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      expect(
        declared.map((parameter: Json) => parameter.name),
        route.path,
      ).toEqual(names);
      for (const parameter of declared) expect(parameter.required).toBe(true);
    }
    const [orderId] = operationOf(routeOf('get-order')).parameters;
    expect(orderId.schema).toEqual({ type: 'string', pattern: '^ord_[0-9a-z]{22}$' });
    const [provider] = operationOf(routeOf('payment-callback')).parameters;
    expect(provider.schema.enum).toEqual(['wechat', 'alipay', 'bank']);
  });

  it('takes the Idempotency-Key header exactly on idempotent routes, with the pattern the server enforces', () => {
    for (const route of API_ROUTES) {
      const headers = (operationOf(route).parameters ?? [])
        .map(deref)
        .filter((parameter: Json) => parameter.in === 'header');
      expect(
        headers.map((header: Json) => header.name),
        route.fn,
      ).toEqual(route.idempotent ? ['Idempotency-Key'] : []);
    }
    const pattern = new RegExp(document.components.parameters.IdempotencyKey.schema.pattern);
    for (const key of [
      'order-2026-11-25:0001',
      'a.b_c:d-e',
      'short',
      'has space in it',
      'x'.repeat(128),
      'x'.repeat(129),
    ]) {
      const accepted = (() => {
        try {
          return validateKey(key) === key;
        } catch {
          return false;
        }
      })();
      expect(pattern.test(key), key).toBe(accepted);
    }
  });
});

describe('OpenAPI document: request bodies', () => {
  it('CreateOrder needs items of {sku, quantity ≥ 1}; paymentMethod is wechat | alipay | bank; nothing else', () => {
    const body = operationOf(routeOf('create-order')).requestBody;
    expect(body.required).toBe(true);
    const schema = deref(body.content['application/json'].schema);
    expect(schema.required).toEqual(['items']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.items.minItems).toBe(1);
    const item = schema.properties.items.items;
    expect(item.required).toEqual(['sku', 'quantity']);
    expect(item.properties.quantity).toEqual(expect.objectContaining({ type: 'integer', minimum: 1 }));
    expect(schema.properties.paymentMethod.enum).toEqual(['wechat', 'alipay', 'bank']);
    expect(schema.properties.paymentMethod.default).toBe('wechat');
  });

  it('has a JSON body exactly on routes with a body schema, required unless the server defaults it', () => {
    for (const route of API_ROUTES.filter((candidate) => candidate.fn !== 'payment-callback')) {
      const body = operationOf(route).requestBody;
      expect(Boolean(body), route.fn).toBe(Boolean(route.body));
      if (body) expect(deref(body.content['application/json'].schema).type, route.fn).toBe('object');
    }
    expect(operationOf(routeOf('add-payment')).requestBody.required).toBe(false);
    expect(operationOf(routeOf('start-payment')).requestBody.required).toBe(false);
    expect(operationOf(routeOf('create-orders-batch')).requestBody.required).toBe(true);
  });

  it('documents the callback as the provider’s raw body, without a schema', () => {
    const body = operationOf(routeOf('payment-callback')).requestBody;
    expect(Object.keys(body.content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(refsIn(body)).toEqual([]);
    expect(Object.values(body.content).every((media) => !('schema' in (media as Json)))).toBe(true);
  });
});

describe('OpenAPI document: responses', () => {
  it('answers each JSON route with its success status and response schema', () => {
    const expected: Record<string, [string, string]> = {
      'list-products': ['200', 'ProductList'],
      'create-product': ['201', 'Product'],
      'create-order': ['201', 'OrderAndPayment'],
      'create-orders-batch': ['201', 'OrderBatch'],
      'get-order': ['200', 'OrderWithPayments'],
      'add-payment': ['201', 'Payment'],
      'cancel-order': ['200', 'CancelledOrder'],
      'get-payment': ['200', 'Payment'],
      'start-payment': ['200', 'PaymentCheckout'],
      'cancel-payment': ['200', 'Payment'],
    };
    for (const [fn, [status, schema]] of Object.entries(expected)) {
      expect(String(routeOf(fn).successStatus ?? 200)).toBe(status);
      expect(operationOf(routeOf(fn)).responses[status].content['application/json'].schema, fn).toEqual({
        $ref: `#/components/schemas/${schema}`,
      });
    }
    const orderAndPayment = document.components.schemas.OrderAndPayment!;
    expect(orderAndPayment.properties).toEqual({
      order: { $ref: '#/components/schemas/Order' },
      payment: { $ref: '#/components/schemas/Payment' },
    });
    expect(document.components.schemas.PaymentCheckout.required).toEqual(['payment', 'action']);
  });

  it('lists the error statuses each route can answer, in the Error shape (401 also in the gateway’s)', () => {
    const statuses = (fn: string) =>
      Object.keys(operationOf(routeOf(fn)).responses)
        .filter((status) => !status.startsWith('2'))
        .sort();
    expect(statuses('list-products')).toEqual(['401', '5XX']);
    expect(statuses('get-order')).toEqual(['400', '401', '404', '5XX']);
    expect(statuses('create-order')).toEqual(['400', '401', '409', '413', '415', '5XX']);
    expect(statuses('cancel-payment')).toEqual(['400', '401', '404', '409', '5XX']);
    for (const name of [
      'BadRequest',
      'NotFound',
      'Conflict',
      'PayloadTooLarge',
      'UnsupportedMediaType',
      'ServerError',
    ]) {
      expect(document.components.responses[name].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
    }
    expect(document.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    // The gateway's JWT authorizer answers 401 in its own shape before our function runs.
    expect(refsIn(document.components.responses.Unauthenticated)).toEqual(['#/components/schemas/Error']);
    expect(document.components.responses.Unauthenticated.content['application/json'].schema.anyOf[1].required).toEqual([
      'message',
    ]);
  });

  it('answers the callback in the provider’s own format (no schema), with UNKNOWN_PROVIDER in ours', () => {
    const { responses } = operationOf(routeOf('payment-callback'));
    expect(Object.keys(responses).sort()).toEqual(['200', '204', '400', '404', '413', '500']);
    expect(refsIn(responses)).toEqual(['#/components/schemas/Error']);
  });
});

describe('OpenAPI document: validity', () => {
  it('is OpenAPI 3.1 with every $ref resolving inside the document', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toEqual(expect.objectContaining({ title: 'Payments API', version: '1.0.0' }));
    expect(document.servers).toEqual([{ url: 'https://pay.example.com' }]);
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(40);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^#\/components\//);
      expect(resolve(ref), ref).toBeTypeOf('object');
    }
  });

  it('keeps component schemas plain 2020-12 (no fragment $id, no per-schema $schema) and response objects open', () => {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      expect(schema, name).not.toHaveProperty('$id');
      expect(schema, name).not.toHaveProperty('$schema');
    }
    expect(document.components.schemas.Order).not.toHaveProperty('additionalProperties');
    expect(document.components.schemas.CreateOrderRequest.additionalProperties).toBe(false);
  });

  it('docs/openapi.json, when committed, is the document built now (run `npm run openapi`)', () => {
    const committed = new URL('../../../docs/openapi.json', import.meta.url);
    if (!existsSync(committed)) return;
    expect(readFileSync(committed, 'utf8')).toBe(serializeOpenApiDocument(buildOpenApiDocument()));
  });
});

describe('error codes', () => {
  /** The OpenAPI error response that documents each status. */
  const RESPONSE_FOR_STATUS: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthenticated',
    402: 'PaymentDeclined',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    412: 'PreconditionFailed',
    413: 'PayloadTooLarge',
    415: 'UnsupportedMediaType',
    428: 'PreconditionRequired',
    500: 'ServerError',
    502: 'ServerError',
    503: 'ServerError',
  };

  it('documents every code the API can answer, in the OpenAPI response for its status and in the README', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('**Errors**');
    const errorsSection = readme.slice(start, readme.indexOf('\n## ', start));
    expect(API_ERROR_STATUS).toMatchObject({
      STALE_STATE: 409,
      TOO_MANY_PENDING_ORDERS: 409,
      PAYMENT_CLOSING: 409,
      PAYMENT_UNDER_REVIEW: 409,
    });
    for (const [code, status] of Object.entries(API_ERROR_STATUS)) {
      expect(
        document.components.responses[RESPONSE_FOR_STATUS[status]!].description,
        `${code} in the OpenAPI ${status}`,
      ).toContain(code);
      expect(errorsSection, `${code} in the README's Errors`).toContain(`\`${code}\``);
    }
  });
});

describe('response schemas against real views', () => {
  const now = new Date('2026-11-25T04:00:00.000Z');
  const later = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
  const tea = { sku: 'TEA-1', name: 'Longjing tea', price: 1250, stock: 10 };

  function purchase(): { order: Order; payment: Payment } {
    const orderId = newId('ord', now);
    const paymentId = newId('pay', now);
    const items = priceItems([{ sku: tea.sku, quantity: 2 }], new Map([[tea.sku, tea]]));
    const order = createOrder({ orderId, customerId: 'cust-1', items, firstPaymentId: paymentId, now });
    const payment = createPayment({
      paymentId,
      orderId,
      customerId: 'cust-1',
      amount: order.totalAmount,
      method: 'alipay',
      now,
      timing: DEFAULT_TIMING,
    });
    return { order, payment };
  }

  /** Every shape the views produce: pending, started, paid, expired, cancelled, late and refunded, parked for review. */
  function lifecycle(): { orders: Order[]; payments: Array<[Payment, Date]> } {
    const { order, payment } = purchase();
    const started = transitionPayment(payment, {
      to: 'processing',
      now: later(1),
      source: 'customer',
      reason: 'checkout',
      set: { payUrl: 'https://openapi.alipay.com/gateway.do?x=1', scene: 'native' },
    }).after;
    const paid = settlePayment(started, order, {
      to: 'succeeded',
      now: later(2),
      source: 'provider',
      reason: 'TRANSACTION.SUCCESS',
      ref: 'notify-1',
      providerTransactionId: '2026112522001',
      tradeType: 'NATIVE',
      scene: 'native',
    });
    if (paid.kind !== 'applied') throw new Error('expected the payment to settle');

    const second = purchase();
    const cancelledPayment = settlePayment(second.payment, second.order, {
      to: 'cancelled',
      now: later(1),
      source: 'customer',
      reason: 'cancelled by customer',
    });
    if (cancelledPayment.kind !== 'applied') throw new Error('expected the cancel to apply');
    const cancelledOrder = cancelOrder(cancelledPayment.order!, later(1), 'unpaid');
    const late = settlePayment(cancelledPayment.payment, cancelledOrder, {
      to: 'succeeded',
      now: later(3),
      source: 'provider',
      reason: 'TRADE_SUCCESS',
      providerTransactionId: '2026112522002',
    });
    if (late.kind !== 'applied') throw new Error('expected the late success to apply');

    const parked = parkForReview(started, { reason: 'amount_mismatch', source: 'provider', ref: 'query-1' }, later(2));
    const refund = transitionRefund(
      createRefund({
        refundId: 'ref_1',
        payment: paid.payment,
        amount: paid.payment.amount,
        origin: 'admin',
        sendAt: later(4).toISOString(),
        now: later(4),
      }),
      {
        to: 'succeeded',
        now: later(5),
        reason: 'SUCCESS',
      },
    );
    const refunded = refundEnded(
      refund,
      { ...paid.payment, refundReserved: paid.payment.amount },
      paid.order!,
      later(5),
    );

    return {
      orders: [order, paid.order!, cancelledOrder, refunded.order!],
      payments: [
        [payment, now],
        [payment, later(31)],
        [started, later(1)],
        [paid.payment, later(2)],
        [late.payment, later(3)],
        [parked, later(31)],
        [refunded.payment, later(5)],
      ],
    };
  }

  /** What a client receives: the view through JSON. */
  const wire = (value: unknown): Json => JSON.parse(JSON.stringify(value));

  function expectFaithful(schema: z.ZodObject, views: Json[]) {
    // z.object drops unknown keys, so equality also fails on a field the schema does not know.
    for (const view of views) expect(schema.parse(view)).toEqual(view);
    const seen = new Set(views.flatMap((view) => Object.keys(view)));
    expect([...seen].sort()).toEqual(Object.keys(schema.shape).sort());
  }

  it('Order and Payment describe exactly the fields orderView and paymentView produce', () => {
    const { orders, payments } = lifecycle();
    expectFaithful(
      OrderSchema,
      orders.map((order) => wire(orderView(order))),
    );
    const paymentViews = payments.map(([payment, at]) => wire(paymentView(payment, at)));
    expectFaithful(PaymentSchema, paymentViews);
    expect(paymentViews.map((view) => view.status)).toEqual([
      'init',
      'expired',
      'processing',
      'succeeded',
      'succeeded',
      'processing',
      'succeeded',
    ]);
  });

  it('would notice a view field the schema does not describe', () => {
    const view = wire(orderView(purchase().order));
    expect(OrderSchema.parse({ ...view, loyaltyPoints: 12 })).not.toEqual({ ...view, loyaltyPoints: 12 });
  });

  it('Product and Error match what the handlers send', () => {
    expect(ProductSchema.parse(tea)).toEqual(tea);
    const failures = [
      CreateOrderBody.safeParse({ items: [{ sku: 'TEA-1', quantity: 0 }] }).error,
      new OutOfStockError('TEA-1', 3, 1),
      new Error('boom'),
    ];
    for (const failure of failures) {
      const { body } = toErrorResponse(failure);
      expect(ErrorSchema.parse(body)).toEqual(body);
    }
  });
});

describe('GET /api/openapi.json handler', () => {
  it('answers the document as JSON, with this deployment as server, without a token', async () => {
    const deps = { publicBaseUrl: 'https://api.pay.example.com' } as Deps;
    const handler = makeHandler(localWiring(async () => deps));
    const response = await handler(httpEvent('GET', '/api/openapi.json'), lambdaContext);
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json');
    const served: Json = JSON.parse(response.body!);
    expect(served.openapi).toBe('3.1.0');
    expect(served.servers).toEqual([{ url: 'https://api.pay.example.com' }]);
    expect(Object.keys(served.paths)).toContain('/api/orders');
  });
});
