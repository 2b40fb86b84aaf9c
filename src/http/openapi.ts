import * as z from 'zod';
import { MAX_CALLBACK_BYTES } from '../core/payments/callbacks';
import { errorCodesWithStatus } from './errors';
import { MAX_BODY_BYTES } from './route';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency';
import {
  CancelledOrderSchema,
  ErrorSchema,
  OrderAndPaymentSchema,
  OrderBatchSchema,
  OrderItemSchema,
  OrderSchema,
  OrderWithPaymentsSchema,
  PaymentCheckoutSchema,
  PaymentMethodsSchema,
  PaymentLogEntrySchema,
  PaymentSchema,
  ProductListSchema,
  ProductSchema,
  RefundEnvelopeSchema,
  RefundListSchema,
  ReconciliationDaySchema,
  RefundSchema,
  TimestampSchema,
} from './response-schemas';
import { STAFF_RESPONSE_COMPONENTS } from './admin-response-schemas';
import { ADMIN_SCOPE, API_ROUTES, type ApiRoute } from './routes';
import { pathParameters, queryParameters } from './openapi-parameters';
import { PaymentMethodSchema } from './schemas';
import { WEBHOOK_RESPONSE_COMPONENTS, WEBHOOK_SUCCESS_BODY } from './webhook-response-schemas';

/**
 * The OpenAPI 3.1 document, generated from API_ROUTES and the very zod schemas the handlers
 * validate with, so the published contract cannot say something the code does not do.
 */

type JsonSchema = z.core.JSONSchema.BaseSchema;
type Ref = { $ref: string };
type Json = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  security: Array<Record<string, string[]>>;
  parameters?: Array<Json | Ref>;
  requestBody?: { required: boolean; description?: string; content: Record<string, { schema?: JsonSchema | Ref }> };
  responses: Record<string, Json | Ref>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers?: Array<{ url: string }>;
  paths: Record<string, Partial<Record<'get' | 'post' | 'patch' | 'delete', OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, Json>;
    parameters: Record<string, Json>;
    headers: Record<string, Json>;
    securitySchemes: Record<string, Json>;
  };
}

const BEARER = 'bearerJwt';
const JSON_TYPE = 'application/json';

/** Response bodies published as named components (nested ones too, for client generators). */
const RESPONSE_COMPONENTS = {
  Timestamp: TimestampSchema,
  OrderItem: OrderItemSchema,
  Order: OrderSchema,
  PaymentLogEntry: PaymentLogEntrySchema,
  Payment: PaymentSchema,
  Product: ProductSchema,
  OrderAndPayment: OrderAndPaymentSchema,
  OrderWithPayments: OrderWithPaymentsSchema,
  OrderBatch: OrderBatchSchema,
  CancelledOrder: CancelledOrderSchema,
  PaymentCheckout: PaymentCheckoutSchema,
  PaymentMethods: PaymentMethodsSchema,
  ProductList: ProductListSchema,
  Refund: RefundSchema,
  RefundEnvelope: RefundEnvelopeSchema,
  RefundList: RefundListSchema,
  ReconciliationDay: ReconciliationDaySchema,
  Error: ErrorSchema,
  ...STAFF_RESPONSE_COMPONENTS,
  ...WEBHOOK_RESPONSE_COMPONENTS,
} satisfies Record<string, z.ZodType>;
type ResponseComponent = keyof typeof RESPONSE_COMPONENTS;

/** What each JSON route answers on success, by its function (ApiRoute.fn). */
const SUCCESS_BODY: Readonly<Record<string, ResponseComponent>> = {
  ...WEBHOOK_SUCCESS_BODY,
  'list-products': 'ProductList',
  'create-product': 'Product',
  'create-order': 'OrderAndPayment',
  'create-orders-batch': 'OrderBatch',
  'get-order': 'OrderWithPayments',
  'add-payment': 'Payment',
  'cancel-order': 'CancelledOrder',
  'get-payment': 'Payment',
  'start-payment': 'PaymentCheckout',
  'cancel-payment': 'Payment',
  'refund-payment': 'RefundEnvelope',
  'list-refunds': 'RefundList',
  'get-refund': 'RefundEnvelope',
  'get-reconciliation': 'ReconciliationDay',
  'update-product': 'ProductChange',
  'adjust-stock': 'StockAdjustment',
  'list-orders': 'OrderList',
  'admin-orders': 'OrderList',
  'admin-payments': 'StaffPaymentList',
  'review-payment': 'PaymentSettled',
  'refund-owed': 'PaymentSettled',
  'admin-refunds': 'StaffRefundList',
  'settle-refund': 'RefundSettled',
  'retry-refund': 'RefundSettled',
  'admin-differences': 'DifferenceList',
  'resolve-difference': 'DifferenceResolved',
  'rerun-reconciliation': 'ReconciliationRerun',
  'admin-dead-letters': 'DeadLetterList',
  'admin-audit': 'AuditList',
  'replay-dead-letters': 'DeadLettersReplayed',
};

/** Routes that do not speak our JSON contract: documented by hand below. */
const CUSTOM_OPERATIONS: Readonly<Record<string, (route: ApiRoute) => OpenApiOperation>> = {
  'payment-callback': providerCallbackOperation,
  openapi: thisDocumentOperation,
  'list-payment-methods': paymentMethodsOperation,
};

export function buildOpenApiDocument(options: { serverUrl?: string } = {}): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of API_ROUTES) {
    const operation = (CUSTOM_OPERATIONS[route.fn] ?? jsonOperation)(route);
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Payments API',
      version: '1.0.0',
      description:
        'Orders and their payments through WeChat Pay, Alipay and a bank gateway. Amounts are integers in fen (CNY minor units); times are ISO-8601 UTC. Response objects may gain fields: ignore the ones you do not know.',
    },
    // Without a server URL (the committed copy) clients resolve paths against the document's host.
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths,
    components: {
      schemas: componentSchemas(),
      responses: ERROR_RESPONSES,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retry safe: the same key with the same body answers the first response again (Idempotent-Replayed: true) without repeating it; with another body it is a 409. Kept at least 24 h.',
          // The pattern validateKey (idempotency.ts) enforces; the test checks they agree.
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
        },
      },
      headers: {
        IdempotentReplayed: {
          description:
            'Present (true) when this is the stored answer to an earlier request with the same Idempotency-Key',
          schema: { type: 'string', const: 'true' },
        },
      },
      securitySchemes: {
        [BEARER]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The customer is the token's sub; customers see only their own orders and payments (others: 404).",
        },
      },
    },
  };
}

/** The document as written to docs/openapi.json and served: keys sorted so it diffs cleanly. */
export function serializeOpenApiDocument(document: OpenApiDocument): string {
  return `${JSON.stringify(document, sortedKeys, 2)}\n`;
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A route behind httpRoute: JSON in, JSON out, errors in the shared shape. */
function jsonOperation(route: ApiRoute): OpenApiOperation {
  const success = SUCCESS_BODY[route.fn];
  if (!success) throw new Error(`No success body for ${route.fn}: add it to SUCCESS_BODY in openapi.ts`);
  const parameters = [
    ...pathParameters(route, route.params),
    ...queryParameters(route.query),
    ...(route.idempotent ? [componentRef('parameters', 'IdempotencyKey')] : []),
  ];
  return {
    ...operationBasics(route),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            // A body that defaults to {} (add-payment, start-payment) may be left out.
            required: !z.safeParse(route.body, undefined).success,
            content: { [JSON_TYPE]: { schema: componentRef('schemas', requestComponentName(route)) } },
          },
        }
      : {}),
    responses: {
      [String(route.successStatus ?? 200)]: {
        description: route.summary,
        ...(route.idempotent
          ? { headers: { 'Idempotent-Replayed': componentRef('headers', 'IdempotentReplayed') } }
          : {}),
        content: { [JSON_TYPE]: { schema: componentRef('schemas', success) } },
      },
      ...errorResponses(route),
    },
  };
}

/** The error statuses a route can answer, from what httpRoute and the route itself do. */
function errorResponses(route: ApiRoute): Record<string, Ref> {
  const statuses: Array<[string, keyof typeof ERROR_RESPONSES, boolean]> = [
    ['400', 'BadRequest', Boolean(route.body || route.params || route.query || route.idempotent)],
    ['401', 'Unauthenticated', route.auth !== 'public'],
    ['403', 'Forbidden', route.auth === 'admin'],
    ['404', 'NotFound', Boolean(route.params)],
    // Only a checkout's creation meets a provider's rules (WeChat RULELIMIT, TRADE_ERROR).
    ['402', 'PaymentDeclined', route.fn === 'start-payment'],
    // Every POST changes state: stock, an order or payment in the wrong state, or a reused key.
    ['409', 'Conflict', route.method !== 'GET'],
    ['412', 'PreconditionFailed', route.method === 'PATCH'],
    ['428', 'PreconditionRequired', route.method === 'PATCH'],
    ['413', 'PayloadTooLarge', Boolean(route.body)],
    ['415', 'UnsupportedMediaType', Boolean(route.body)],
    ['5XX', 'ServerError', true],
  ];
  return Object.fromEntries(
    statuses.filter(([, , applies]) => applies).map(([status, name]) => [status, componentRef('responses', name)]),
  );
}

const errorResponse = (description: string, schema: JsonSchema | Ref = componentRef('schemas', 'Error')) => ({
  description,
  content: { [JSON_TYPE]: { schema } },
});

/** The gateway's own refusal body (`{"message": ...}`), or ours when the handler refuses. */
const GATEWAY_OR_OURS: JsonSchema = {
  anyOf: [
    componentRef('schemas', 'Error'),
    { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  ],
};

/** The codes of one status, from the one table of codes (src/http/errors.ts). */
const codes = (status: number) => errorCodesWithStatus(status).join(', ');

const ERROR_RESPONSES = {
  BadRequest: errorResponse(
    `Invalid input: ${codes(400)}. VALIDATION_FAILED lists each field in details; BATCH_TOO_LARGE gives the limit and what the batch needs`,
  ),
  // API Gateway's JWT authorizer refuses most bad tokens itself, in its own shape, before any function runs.
  Unauthenticated: errorResponse(
    `No valid bearer token: {"message": "Unauthorized"} from the API Gateway authorizer, or ${codes(401)}`,
    GATEWAY_OR_OURS,
  ),
  Forbidden: errorResponse(
    `The token lacks the ${ADMIN_SCOPE} scope this admin route needs: {"message": "Forbidden"} from the authorizer, or ${codes(403)}`,
    GATEWAY_OR_OURS,
  ),
  PaymentDeclined: errorResponse(
    `${codes(402)}: the provider's rules declined the payment (details.providerCode); the customer pays another way`,
  ),
  NotFound: errorResponse(`${codes(404)}: it does not exist, or belongs to another customer`),
  Conflict: errorResponse(
    `Conflict with the current state: ${codes(409)}. IDEMPOTENCY_KEY_REUSED: the key was used with another body; STALE_STATE: it kept changing while we changed it, read it again and retry`,
  ),
  PreconditionFailed: errorResponse(
    `${codes(412)}: If-Match names a version the item has moved on from; read it again`,
  ),
  PreconditionRequired: errorResponse(`${codes(428)}: a PATCH must send If-Match with the version read`),
  PayloadTooLarge: errorResponse(`${codes(413)}: the body is over ${MAX_BODY_BYTES} bytes`),
  UnsupportedMediaType: errorResponse(`${codes(415)}: a body must be sent as application/json`),
  ServerError: errorResponse(
    `${codes(500)} (details are logged, not shown), ${codes(502)} (502) or ${codes(503)} (503)`,
  ),
};

/** POST /api/payments/callback/{provider}: signed by the provider, in its own format both ways. */
function providerCallbackOperation(route: ApiRoute): OpenApiOperation {
  return {
    ...operationBasics(route),
    parameters: pathParameters(route, z.object({ provider: PaymentMethodSchema })),
    requestBody: {
      required: true,
      description:
        "The provider's notification exactly as it sends it; its signature is the authentication, verified over the raw bytes. wechat: JSON with an AES-GCM encrypted resource, signed in the Wechatpay-* headers. alipay: form fields signed in `sign` (RSA2). bank: JSON signed in the Bank-Signature header (HMAC-SHA256).",
      content: { [JSON_TYPE]: {}, 'application/x-www-form-urlencoded': {} },
    },
    responses: {
      '200': {
        description:
          'Accepted, in the provider\'s acknowledgement format: alipay the text `success`, bank `{"received": true}`',
        content: { 'text/plain': {}, [JSON_TYPE]: {} },
      },
      '204': { description: 'Accepted (wechat): no body' },
      '400': {
        description:
          "Rejected (bad signature, stale, unknown payment, amount mismatch): the provider's own failure format; not retried",
      },
      '404': errorResponse('UNKNOWN_PROVIDER: not one of wechat, alipay, bank, or not configured in this deployment'),
      '413': {
        description: `The body is over ${MAX_CALLBACK_BYTES} bytes: refused unread, in the provider's own failure format; not retried`,
      },
      '500': { description: "Not stored yet: the provider's own failure format, so that it retries" },
    },
  };
}

/** Public, so not an httpRoute: no token, no error of its own. */
function paymentMethodsOperation(route: ApiRoute): OpenApiOperation {
  return {
    ...operationBasics(route),
    responses: {
      '200': {
        description: route.summary,
        content: { [JSON_TYPE]: { schema: componentRef('schemas', 'PaymentMethods') } },
      },
      '5XX': componentRef('responses', 'ServerError'),
    },
  };
}

function thisDocumentOperation(route: ApiRoute): OpenApiOperation {
  return {
    ...operationBasics(route),
    responses: {
      '200': { description: 'This OpenAPI 3.1 document', content: { [JSON_TYPE]: { schema: { type: 'object' } } } },
    },
  };
}

function operationBasics(route: ApiRoute): Pick<OpenApiOperation, 'operationId' | 'summary' | 'security'> {
  return {
    operationId: route.fn.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()),
    summary: route.summary,
    // An empty list overrides nothing and says it plainly: no token needed.
    security: route.auth === 'public' ? [] : [{ [BEARER]: route.auth === 'admin' ? [ADMIN_SCOPE] : [] }],
  };
}

/**
 * Request bodies and response bodies as JSON Schema 2020-12 (OpenAPI 3.1's dialect). `input` is
 * what a client sends for requests (defaulted fields optional); for responses it leaves plain
 * objects open (no additionalProperties: false) as docs/API.md#conventions promises, while strict request objects stay closed.
 */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(RESPONSE_COMPONENTS)) registry.add(schema, { id });
  for (const route of API_ROUTES) if (route.body) registry.add(route.body, { id: requestComponentName(route) });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // `$id` would be a fragment URI (invalid in 2020-12) and `$schema` is the document's dialect already.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $id: _id, $schema: _schema, ...schema }]) => [id, schema]),
  );
}

/** create-orders-batch → CreateOrdersBatchRequest. */
function requestComponentName(route: ApiRoute): string {
  return `${route.fn.replace(/(^|-)(\w)/g, (_, _dash: string, letter: string) => letter.toUpperCase())}Request`;
}

function componentRef(kind: 'schemas' | 'responses' | 'parameters' | 'headers', name: string): Ref {
  return { $ref: `#/components/${kind}/${name}` };
}
