import fc from 'fast-check';
import type { PaymentMethod } from '../../src/domain/payment';
import type { RawCallback } from '../../src/core/payments/provider';
import { signedNotification } from './alipay-fixtures';
import type { CustomerRoute } from './api-fixtures';
import { signedBankCallback } from './bank-fixtures';
import type { SandboxKeys } from './sweeper-fixtures';
import { seconds, wechatNotification } from './wechat-fixtures';

/**
 * Hostile input for the API and the provider callbacks, as fast-check arbitraries: shared by the
 * property tests and the soak (which samples them with its seed).
 */

/** Strings an attacker or a broken client sends. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '%',
      '%E0%A4%A',
      '%ZZ',
      '../../etc/passwd',
      '<script>alert(1)</script>',
      "' OR 1=1 --",
      '💸💸',
      'null',
      '{}',
      '[]',
      'ORDER#x',
      'ord_',
      'pay_0000000000000000000000',
      '\ud800',
    ),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 2_000 }), weight: 1 },
);

/** Any JSON value, nested and odd (large numbers, deep arrays, unicode keys). */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  hostileString,
  fc.constantFrom(null, true, -1, 1e308, -0, 2 ** 53 + 1, 1.5),
);

const hostileQuantity = fc.oneof(
  fc.integer({ min: -5, max: 20_000 }),
  fc.double(),
  hostileString,
  fc.constant(null),
  fc.constant(2 ** 53),
);

function itemArb(skus: readonly string[]) {
  return fc.record(
    {
      sku: fc.oneof(fc.constantFrom(...skus), hostileString, fc.integer(), fc.constant(null)),
      quantity: hostileQuantity,
      extra: hostileJson,
    },
    { requiredKeys: [] },
  );
}

/** Bodies shaped like the API's, with every field possibly wrong. */
export function hostileBody(skus: readonly string[]): fc.Arbitrary<string | undefined> {
  const items = fc.oneof(fc.array(itemArb(skus), { maxLength: 60 }), hostileJson);
  const method = fc.oneof(fc.constantFrom('wechat', 'alipay', 'bank'), hostileString, hostileJson);
  const ttl = fc.oneof(fc.integer({ min: -10, max: 2_000 }), fc.double(), hostileString);
  const order = fc.record(
    { items, paymentMethod: method, ttlMinutes: ttl, surprise: hostileJson },
    { requiredKeys: [] },
  );
  const batch = fc.record(
    {
      orders: fc.oneof(fc.array(fc.record({ items }, { requiredKeys: [] }), { maxLength: 25 }), hostileJson),
      paymentMethod: method,
    },
    { requiredKeys: [] },
  );
  const product = fc.record(
    {
      sku: fc.oneof(fc.constantFrom(...skus), hostileString),
      name: hostileString,
      price: hostileQuantity,
      stock: hostileQuantity,
    },
    { requiredKeys: [] },
  );
  const start = fc.record(
    { channel: fc.oneof(fc.constantFrom('page', 'wap'), hostileString), paymentMethod: method },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.oneof(order, batch, product, start, hostileJson).map((value) => JSON.stringify(value)), weight: 6 },
    { arbitrary: hostileString, weight: 2 },
    // Truncated JSON, and a body over the 64 KB limit.
    { arbitrary: order.map((value) => JSON.stringify(value).slice(0, -1)), weight: 1 },
    { arbitrary: fc.constant(JSON.stringify({ items: [{ sku: 'x'.repeat(70_000), quantity: 1 }] })), weight: 1 },
  );
}

const HEADER_NAMES = [
  'content-type',
  'Content-Type',
  'idempotency-key',
  'Idempotency-Key',
  'authorization',
  'content-length',
  'transfer-encoding',
  'x-forwarded-for',
  'cookie',
  'idempotent-replayed',
];

/** Headers: real names with wrong values, made-up names, odd casing. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/)),
  fc.oneof(
    hostileString,
    fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
    ),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{8,128}$/),
  ),
  { maxKeys: 5 },
);

export interface HostileApiRequest {
  route: CustomerRoute;
  /** The JWT subject; absent: no token claims (the authorizer let it through anyway). */
  customerId?: string;
  scope?: string;
  params: Record<string, string>;
  rawBody?: string;
  isBase64Encoded: boolean;
  headers: Record<string, string>;
}

export interface KnownData {
  customers: readonly string[];
  orderIds: readonly string[];
  paymentIds: readonly string[];
  skus: readonly string[];
}

/**
 * A hostile request to one of the customer routes: half of them wholly hostile, half a
 * well-formed request of a real customer about real orders with one thing wrong, so that the
 * property reaches the core and not only the validation.
 */
export function hostileApiRequest(routes: readonly CustomerRoute[], known: KnownData): fc.Arbitrary<HostileApiRequest> {
  return fc.oneof(whollyHostile(routes, known), nearlyValid(routes, known));
}

/** One field of a valid value replaced by something hostile (or none). */
function oneThingWrong<T extends Record<string, unknown>>(
  valid: fc.Arbitrary<T>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(valid, fc.option(fc.tuple(fc.nat(), hostileJson), { nil: undefined })).map(([value, wrong]) => {
    if (!wrong) return value;
    const keys = Object.keys(value);
    return keys.length === 0
      ? { [String(wrong[1])]: wrong[1] }
      : { ...value, [keys[wrong[0] % keys.length]!]: wrong[1] };
  });
}

function nearlyValid(routes: readonly CustomerRoute[], known: KnownData): fc.Arbitrary<HostileApiRequest> {
  const item = fc.record({ sku: fc.constantFrom(...known.skus), quantity: fc.integer({ min: 1, max: 5 }) });
  const method = fc.constantFrom('wechat', 'alipay', 'bank');
  const bodies: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
    'POST /api/orders': oneThingWrong(
      fc.record({ items: fc.array(item, { minLength: 1, maxLength: 4 }), paymentMethod: method }),
    ),
    'POST /api/orders/batch': oneThingWrong(
      fc.record({
        orders: fc.array(fc.record({ items: fc.array(item, { minLength: 1, maxLength: 3 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        paymentMethod: method,
      }),
    ),
    'POST /api/products': oneThingWrong(
      fc.record({
        sku: fc.stringMatching(/^[A-Z]{3}-[0-9]{3}$/),
        name: fc.constant('Hostile test product'),
        price: fc.integer({ min: 1, max: 10_000 }),
        stock: fc.integer({ min: 0, max: 100 }),
      }),
    ),
    'POST /api/orders/{orderId}/payments': oneThingWrong(fc.record({ paymentMethod: method }, { requiredKeys: [] })),
    'POST /api/payments/{paymentId}/start': oneThingWrong(
      fc.record({ channel: fc.constantFrom('page', 'wap') }, { requiredKeys: [] }),
    ),
  };
  return fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      customerId: fc.constantFrom(...known.customers),
      scope: fc.option(fc.constant('payments:admin'), { nil: undefined }),
      params: fc.record({
        orderId: fc.constantFrom(...known.orderIds),
        paymentId: fc.constantFrom(...known.paymentIds),
      }),
      rawBody: (bodies[route] ?? fc.constant(undefined)).map((body) =>
        body === undefined ? undefined : JSON.stringify(body),
      ),
      isBase64Encoded: fc.constant(false),
      headers: fc.record(
        {
          'content-type': fc.constant('application/json'),
          'idempotency-key': fc.stringMatching(/^[A-Za-z0-9_.:-]{8,40}$/),
        },
        { requiredKeys: ['content-type'] },
      ),
    }),
  );
}

function whollyHostile(routes: readonly CustomerRoute[], known: KnownData): fc.Arbitrary<HostileApiRequest> {
  const id = (ids: readonly string[]) =>
    fc.oneof(fc.constantFrom(...ids), hostileString, fc.stringMatching(/^(ord|pay)_[0-9a-z]{22}$/));
  return fc.record({
    route: fc.constantFrom(...routes),
    customerId: fc.option(fc.oneof(fc.constantFrom(...known.customers), hostileString), { nil: undefined }),
    scope: fc.option(
      fc.oneof(fc.constantFrom('payments:admin', 'openid payments:admin', '[payments:admin]'), hostileString),
      { nil: undefined },
    ),
    params: fc.record({ orderId: id(known.orderIds), paymentId: id(known.paymentIds) }),
    rawBody: hostileBody(known.skus),
    isBase64Encoded: fc.boolean(),
    headers: hostileHeaders,
  });
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------

export interface HostileCallback {
  /** The path's provider (sometimes one that does not exist). */
  provider: string;
  callback: RawCallback;
  /** How it was made, for the figures and for a failing case's report. */
  kind: 'random' | 'mutated' | 'signed-nonsense';
}

const PROVIDER_HEADERS: Record<PaymentMethod, string[]> = {
  wechat: [
    'wechatpay-timestamp',
    'wechatpay-nonce',
    'wechatpay-signature',
    'wechatpay-serial',
    'wechatpay-signature-type',
  ],
  alipay: ['content-type'],
  bank: ['bank-signature', 'content-type'],
};

/** Bytes that are no callback at all, under the provider's header names. */
function randomCallback(provider: PaymentMethod): fc.Arbitrary<HostileCallback> {
  const body = fc.oneof(
    hostileString.map((text) => Buffer.from(text, 'utf8')),
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'undefined', 'utf8')),
    fc
      .dictionary(hostileString, hostileString, { maxKeys: 8 })
      .map((fields) => Buffer.from(new URLSearchParams(fields).toString(), 'utf8')),
  );
  const headers = fc
    .tuple(
      fc
        .subarray(PROVIDER_HEADERS[provider])
        .chain((names) => fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), hostileString)))),
      hostileHeaders,
    )
    .map(([own, other]) => ({ ...other, ...Object.fromEntries(own) }));
  return fc.record({
    provider: fc.constant<string>(provider),
    callback: fc.record({ headers, body }),
    kind: fc.constant('random' as const),
  });
}

/** One edit of a genuine signed callback: a flipped bit, a cut, an addition, a header changed or dropped. */
function mutatedCallback(provider: PaymentMethod, genuine: () => RawCallback): fc.Arbitrary<HostileCallback> {
  const mutation = fc.oneof(
    fc.record({ flip: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ cut: fc.nat() }),
    fc.record({ append: hostileString.filter((text) => text.length > 0) }),
    fc.record({
      header: fc.constantFrom(...PROVIDER_HEADERS[provider]),
      value: fc.option(hostileString, { nil: undefined }),
    }),
  );
  return mutation.map((edit) => {
    const { headers, body } = genuine();
    let bytes = Buffer.from(body);
    const edited: Record<string, string | undefined> = { ...headers };
    if ('flip' in edit) bytes[edit.flip % bytes.length]! ^= 1 << edit.bit;
    if ('cut' in edit) bytes = bytes.subarray(0, edit.cut % bytes.length);
    if ('append' in edit) bytes = Buffer.concat([bytes, Buffer.from(edit.append, 'utf8')]);
    if ('header' in edit) edited[edit.header] = edit.value;
    return { provider, callback: { headers: edited, body: bytes }, kind: 'mutated' as const };
  });
}

/** Correctly signed with the provider's real keys (and encrypted, for WeChat), meaning nothing. */
function signedNonsense(provider: PaymentMethod, keys: SandboxKeys, now: () => Date): fc.Arbitrary<HostileCallback> {
  const nonsense = fc.dictionary(
    fc.oneof(hostileString, fc.constantFrom('trade_status', 'amount', 'status', 'out_trade_no', 'app_id')),
    hostileString,
    {
      maxKeys: 6,
    },
  );
  const make: Record<PaymentMethod, fc.Arbitrary<RawCallback>> = {
    wechat: fc
      .oneof(
        nonsense.map((fields) => JSON.stringify(fields)),
        hostileString,
      )
      .map((plaintext) => wechatNotification(keys.wechat.sandbox, plaintext, { now: now(), id: 'EV-nonsense' })),
    alipay: nonsense.map((fields) => signedNotification(fields, keys.alipay.sandbox.alipayPrivateKey)),
    bank: fc
      .oneof(
        nonsense.map((fields) => JSON.stringify(fields)),
        hostileString,
      )
      .map((body) => signedBankCallback(body, keys.bank.sandbox.webhookSecrets[0]!, seconds(now()))),
  };
  return make[provider].map((callback) => ({ provider, callback, kind: 'signed-nonsense' as const }));
}

/** Everything a hostile party (or a broken proxy) could post to a provider's callback URL. */
export function hostileCallback(
  provider: PaymentMethod,
  keys: SandboxKeys,
  genuine: () => RawCallback,
  now: () => Date,
): fc.Arbitrary<HostileCallback> {
  return fc.oneof(
    randomCallback(provider),
    mutatedCallback(provider, genuine),
    signedNonsense(provider, keys, now),
    // A provider that does not exist, or a path that is no provider name.
    fc.record({
      provider: hostileString,
      callback: fc.record({ headers: hostileHeaders, body: hostileString.map((text) => Buffer.from(text)) }),
      kind: fc.constant('random' as const),
    }),
  );
}
