import type * as z from 'zod/v4/core';
import {
  AddPaymentBody,
  CreateOrderBody,
  CreateOrdersBatchBody,
  CreateProductBody,
  OrderParams,
  PaymentParams,
  ReconciliationParams,
  RefundParams,
  RefundPaymentBody,
  StartPaymentBody,
} from './schemas';

/** The scope a token needs for admin routes (API Gateway `authorizationScopes`, checked again in the handler). */
export const ADMIN_SCOPE = 'payments:admin';

/**
 * Who may call a route. public: no token (a provider callback is authenticated by its signature);
 * customer: any valid token, the customer is its `sub`; admin: a valid token with ADMIN_SCOPE.
 */
export type RouteAuth = 'public' | 'customer' | 'admin';

/**
 * What a function may touch in AWS. The CDK stack grants exactly this and the production wiring
 * (src/aws/wiring.ts) builds only this, so a function never holds a credential it does
 * not use. `providers` means the provider secret (the merchants' private keys) and provider APIs.
 */
export interface FunctionAccess {
  table: 'none' | 'read' | 'readWrite';
  providers: boolean;
  /** Sends provider notifications to the worker's queue. */
  queue: boolean;
  /** Publishes domain events to the bus: only the outbox publisher, fed by the table's stream. */
  events: boolean;
}

const READ_ONLY: FunctionAccess = { table: 'read', providers: false, queue: false, events: false };
const TABLE_WRITES: FunctionAccess = { table: 'readWrite', providers: false, queue: false, events: false };
const CALLS_PROVIDERS: FunctionAccess = { table: 'readWrite', providers: true, queue: false, events: false };

export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** The folder under functions/ whose handler.ts serves this route. */
  readonly fn: string;
  readonly auth: RouteAuth;
  readonly summary: string;
  readonly access: FunctionAccess;
  readonly body?: z.$ZodType;
  readonly params?: z.$ZodType;
  readonly successStatus?: number;
  /** Reads `Idempotency-Key` and runs the request at most once per key (creating POSTs). */
  readonly idempotent?: boolean;
}

/**
 * Every HTTP route, once. The CDK stack makes the API Gateway routes (with their authorizer and
 * scopes) and grants from it, the local gateway serves and authorizes it, the OpenAPI document is
 * generated from it, and each handler takes its auth, schemas and idempotency from its entry.
 */
const ROUTE_TABLE = [
  { method: 'GET', path: '/api/products', fn: 'list-products', auth: 'customer', access: READ_ONLY, summary: 'List the product catalogue' },
  {
    method: 'POST',
    path: '/api/products',
    fn: 'create-product',
    auth: 'admin',
    access: TABLE_WRITES,
    summary: 'Add a product (admin scope)',
    body: CreateProductBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'POST',
    path: '/api/orders',
    fn: 'create-order',
    auth: 'customer',
    access: TABLE_WRITES,
    summary: 'Create an order with its payment; reserves stock',
    body: CreateOrderBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'POST',
    path: '/api/orders/batch',
    fn: 'create-orders-batch',
    auth: 'customer',
    access: TABLE_WRITES,
    summary: 'Create several orders at once, all or nothing',
    body: CreateOrdersBatchBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/orders/{orderId}',
    fn: 'get-order',
    auth: 'customer',
    access: READ_ONLY,
    summary: 'An order with all its payments',
    params: OrderParams,
  },
  {
    method: 'POST',
    path: '/api/orders/{orderId}/payments',
    fn: 'add-payment',
    auth: 'customer',
    access: TABLE_WRITES,
    summary: 'A new payment for a pending order',
    params: OrderParams,
    body: AddPaymentBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'POST',
    path: '/api/orders/{orderId}/cancel',
    fn: 'cancel-order',
    auth: 'customer',
    access: CALLS_PROVIDERS,
    summary: 'Cancel an unpaid order; releases stock',
    params: OrderParams,
  },
  {
    method: 'GET',
    path: '/api/payments/{paymentId}',
    fn: 'get-payment',
    auth: 'customer',
    access: READ_ONLY,
    summary: 'A payment (reads expired once past its expiry)',
    params: PaymentParams,
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/start',
    fn: 'start-payment',
    auth: 'customer',
    access: CALLS_PROVIDERS,
    summary: 'Create the provider checkout; returns the pay URL',
    params: PaymentParams,
    body: StartPaymentBody,
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/cancel',
    fn: 'cancel-payment',
    auth: 'customer',
    access: CALLS_PROVIDERS,
    summary: 'Give up a payment; the order stays pending',
    params: PaymentParams,
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/refunds',
    fn: 'refund-payment',
    auth: 'admin',
    access: CALLS_PROVIDERS,
    summary: 'Refund (part of) a succeeded payment (admin scope)',
    params: PaymentParams,
    body: RefundPaymentBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/payments/{paymentId}/refunds',
    fn: 'list-refunds',
    auth: 'customer',
    access: READ_ONLY,
    summary: "A payment's refunds, refunded and refundable amounts",
    params: PaymentParams,
  },
  { method: 'GET', path: '/api/refunds/{refundId}', fn: 'get-refund', auth: 'customer', access: READ_ONLY, summary: 'A refund', params: RefundParams },
  {
    method: 'GET',
    path: '/api/admin/reconciliation/{date}',
    fn: 'get-reconciliation',
    auth: 'admin',
    access: READ_ONLY,
    summary: "A day's reconciliation per provider with its differences (admin scope)",
    params: ReconciliationParams,
  },
  {
    method: 'POST',
    path: '/api/payments/callback/{provider}',
    fn: 'payment-callback',
    auth: 'public',
    // Verifies with the provider keys, archives the body, queues it; the worker applies it.
    access: { table: 'readWrite', providers: true, queue: true, events: false },
    summary: "Provider notification, in the provider's own format",
  },
  {
    method: 'GET',
    path: '/api/openapi.json',
    fn: 'openapi',
    auth: 'public',
    access: { table: 'none', providers: false, queue: false, events: false },
    summary: 'This document',
  },
] as const satisfies readonly ApiRoute[];

export const API_ROUTES: readonly ApiRoute[] = ROUTE_TABLE;

type RouteEntry = (typeof ROUTE_TABLE)[number];
export type RouteFunction = RouteEntry['fn'];

/** A route's entry by its function, with its schemas' types kept for the handler. */
export function routeOf<Fn extends RouteFunction>(fn: Fn): Extract<RouteEntry, { fn: Fn }> {
  return ROUTE_TABLE.find((route) => route.fn === fn) as Extract<RouteEntry, { fn: Fn }>;
}

export interface BackgroundFunction {
  readonly fn: string;
  readonly access: FunctionAccess;
}

/** Functions that are not behind an HTTP route. */
export const BACKGROUND_FUNCTIONS = {
  /** Applies queued provider notifications (dedupe + payment + order in one transaction). */
  worker: { fn: 'payment-worker', access: TABLE_WRITES },
  /** Every minute: reminders, query-then-close-then-expire, unpaid orders cancelled, refunds followed up. */
  sweeper: { fn: 'sweeper', access: CALLS_PROVIDERS },
  /** Daily after the providers publish their bills: our books against each bill, differences recorded and healed. */
  reconciler: { fn: 'reconcile', access: CALLS_PROVIDERS },
  /**
   * The table's stream → new outbox entries' events onto the bus (docs/ARCHITECTURE.md#transactional-outbox).
   * Table writes only to park an event the bus refuses for good.
   */
  publisher: { fn: 'outbox-publisher', access: { table: 'readWrite', providers: false, queue: false, events: true } },
} as const satisfies Record<string, BackgroundFunction>;

/** Every Lambda function of the service with what it may touch. */
export const ALL_FUNCTIONS: readonly BackgroundFunction[] = [...API_ROUTES, ...Object.values(BACKGROUND_FUNCTIONS)];
