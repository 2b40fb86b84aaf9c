import { accessOf, type FunctionAccess } from '../runtime/functions';
import { ADMIN_SCOPE, type RouteAuth, type RouteDefinition } from './route-definition';
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
import { MyOrdersQuery, ProductParams, ProductPatchBody, StockAdjustBody } from './admin-schemas';
import { STAFF_ROUTES } from './staff-routes';
import { WEBHOOK_ROUTES } from './webhook-routes';

export { ADMIN_SCOPE, type RouteAuth, type RouteDefinition };

/**
 * Every HTTP route, once. The CDK stack makes the API Gateway routes (with their authorizer and
 * scopes) from it, the local gateway serves and authorizes it, the OpenAPI document is generated
 * from it, and each handler takes its auth, schemas and idempotency from its entry. What each
 * function may touch is its entry in src/runtime/functions.ts.
 */
const ROUTE_TABLE = [
  {
    method: 'GET',
    path: '/api/products',
    fn: 'list-products',
    auth: 'customer',
    summary: 'List the product catalogue',
  },
  {
    method: 'POST',
    path: '/api/products',
    fn: 'create-product',
    auth: 'admin',
    summary: 'Add a product (admin scope)',
    body: CreateProductBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'PATCH',
    path: '/api/products/{sku}',
    fn: 'update-product',
    auth: 'admin',
    summary: "Change a product's name, price, sale or stock shards (If-Match: its version; admin scope)",
    params: ProductParams,
    body: ProductPatchBody,
  },
  {
    method: 'POST',
    path: '/api/products/{sku}/stock',
    fn: 'adjust-stock',
    auth: 'admin',
    summary: 'Add or take stock, never below what open orders hold (admin scope)',
    params: ProductParams,
    body: StockAdjustBody,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/orders',
    fn: 'list-orders',
    auth: 'customer',
    summary: 'Your orders, newest first, each with its current payment',
    query: MyOrdersQuery,
  },
  {
    method: 'POST',
    path: '/api/orders',
    fn: 'create-order',
    auth: 'customer',
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
    summary: 'An order with all its payments',
    params: OrderParams,
  },
  {
    method: 'POST',
    path: '/api/orders/{orderId}/payments',
    fn: 'add-payment',
    auth: 'customer',
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
    summary: 'Cancel an unpaid order; releases stock',
    params: OrderParams,
  },
  {
    method: 'GET',
    path: '/api/payments/{paymentId}',
    fn: 'get-payment',
    auth: 'customer',
    summary: 'A payment (reads expired once past its expiry)',
    params: PaymentParams,
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/start',
    fn: 'start-payment',
    auth: 'customer',
    summary: 'Start paying in a scene: what the front end does (action), and the pay URL where there is one',
    params: PaymentParams,
    body: StartPaymentBody,
  },
  {
    method: 'GET',
    path: '/api/payment-methods',
    fn: 'list-payment-methods',
    auth: 'public',
    summary: 'The methods and scenes this deployment takes, so a front end shows only those',
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/cancel',
    fn: 'cancel-payment',
    auth: 'customer',
    summary: 'Give up a payment; the order stays pending',
    params: PaymentParams,
  },
  {
    method: 'POST',
    path: '/api/payments/{paymentId}/refunds',
    fn: 'refund-payment',
    auth: 'admin',
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
    summary: "A payment's refunds, refunded and refundable amounts",
    params: PaymentParams,
  },
  {
    method: 'GET',
    path: '/api/refunds/{refundId}',
    fn: 'get-refund',
    auth: 'customer',
    summary: 'A refund',
    params: RefundParams,
  },
  {
    method: 'GET',
    path: '/api/admin/reconciliation/{date}',
    fn: 'get-reconciliation',
    auth: 'admin',
    summary: "A day's reconciliation per provider with its differences (admin scope)",
    params: ReconciliationParams,
  },
  ...STAFF_ROUTES,
  ...WEBHOOK_ROUTES,
  {
    method: 'POST',
    path: '/api/payments/callback/{provider}',
    fn: 'payment-callback',
    auth: 'public',
    summary: "Provider notification, in the provider's own format",
  },
  {
    method: 'GET',
    path: '/api/openapi.json',
    fn: 'openapi',
    auth: 'public',
    summary: 'This document',
  },
] as const satisfies readonly RouteDefinition[];

/** A route with its function's access (src/runtime/functions.ts): what the CDK stack grants its function. */
export interface ApiRoute extends RouteDefinition {
  readonly access: FunctionAccess;
}

export const API_ROUTES: readonly ApiRoute[] = ROUTE_TABLE.map((route) => ({ ...route, access: accessOf(route.fn) }));

type RouteEntry = (typeof ROUTE_TABLE)[number];
export type RouteFunction = RouteEntry['fn'];

/** A route's entry by its function, with its schemas' types kept for the handler. */
export function routeOf<Fn extends RouteFunction>(fn: Fn): Extract<RouteEntry, { fn: Fn }> {
  return ROUTE_TABLE.find((route) => route.fn === fn) as Extract<RouteEntry, { fn: Fn }>;
}
