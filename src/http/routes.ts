import type * as z from 'zod/v4/core';
import { accessOf, type FunctionAccess, type HttpFunction } from '../runtime/functions';
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
import {
  CreateWebhookEndpointBody,
  ListWebhookDeliveriesQuery,
  ReplayWebhookRangeBody,
  UpdateWebhookEndpointBody,
  WebhookDeliveryParams,
  WebhookEndpointParams,
} from './webhook-schemas';
import {
  AdminOrdersQuery,
  AdminPaymentParams,
  AdminPaymentsQuery,
  AdminRefundParams,
  AdminRefundsQuery,
  AuditQuery,
  DifferenceParams,
  MyOrdersQuery,
  PageQuery,
  ProductParams,
  ProductPatchBody,
  ReasonBody,
  ReviewBody,
  SettleRefundBody,
  StockAdjustBody,
} from './admin-schemas';

/** The scope a token needs for admin routes (API Gateway `authorizationScopes`, checked again in the handler). */
export const ADMIN_SCOPE = 'payments:admin';

/**
 * Who may call a route. public: no token (a provider callback is authenticated by its signature);
 * customer: any valid token, the customer is its `sub`; admin: a valid token with ADMIN_SCOPE.
 */
export type RouteAuth = 'public' | 'customer' | 'admin';

/** One entry of the route table. */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** The folder under functions/ whose handler.ts serves this route. */
  readonly fn: HttpFunction;
  readonly auth: RouteAuth;
  readonly summary: string;
  readonly body?: z.$ZodType;
  readonly params?: z.$ZodType;
  /** The query string's parameters (API Gateway's queryStringParameters). */
  readonly query?: z.$ZodType;
  readonly successStatus?: number;
  /** Reads `Idempotency-Key` and runs the request at most once per key (creating POSTs). */
  readonly idempotent?: boolean;
}

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
    summary: "Change a product's name, price or sale (If-Match: its version; admin scope)",
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
  {
    method: 'GET',
    path: '/api/admin/orders',
    fn: 'admin-orders',
    auth: 'admin',
    summary: "Orders, newest first: anyone's, or one customer's (admin scope)",
    query: AdminOrdersQuery,
  },
  {
    method: 'GET',
    path: '/api/admin/payments',
    fn: 'admin-payments',
    auth: 'admin',
    summary: 'Payments, newest first, by status, method or flag (admin scope)',
    query: AdminPaymentsQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/payments/{paymentId}/review',
    fn: 'review-payment',
    auth: 'admin',
    summary: "Settle a payment parked for review: accept the provider's amount, or refund it (admin scope)",
    params: AdminPaymentParams,
    body: ReviewBody,
    idempotent: true,
  },
  {
    method: 'POST',
    path: '/api/admin/payments/{paymentId}/refund-owed',
    fn: 'refund-owed',
    auth: 'admin',
    summary: 'Refund what a payment owes back and no refund covers (admin scope)',
    params: AdminPaymentParams,
    body: ReasonBody,
    successStatus: 201,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/admin/refunds',
    fn: 'admin-refunds',
    auth: 'admin',
    summary: 'Refunds, newest first, by status (admin scope)',
    query: AdminRefundsQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/refunds/{refundId}/settle',
    fn: 'settle-refund',
    auth: 'admin',
    summary: 'Settle an abnormal refund paid back another way (admin scope)',
    params: AdminRefundParams,
    body: SettleRefundBody,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/admin/differences',
    fn: 'admin-differences',
    auth: 'admin',
    summary: 'Reconciliation differences neither healed nor resolved, newest day first (admin scope)',
    query: PageQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/differences/{differenceId}/resolve',
    fn: 'resolve-difference',
    auth: 'admin',
    summary: 'Resolve a reconciliation difference with a note (admin scope)',
    params: DifferenceParams,
    body: ReasonBody,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/admin/dead-letters',
    fn: 'admin-dead-letters',
    auth: 'admin',
    summary: 'Notifications the worker gave up on: what, why, how often (admin scope)',
    query: PageQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/dead-letters/replay',
    fn: 'replay-dead-letters',
    auth: 'admin',
    summary: 'Send every dead-lettered notification back to the worker (as npm run dlq:replay; admin scope)',
    body: ReasonBody,
    idempotent: true,
  },
  {
    method: 'GET',
    path: '/api/admin/audit',
    fn: 'admin-audit',
    auth: 'admin',
    summary: "An item's staff actions: who, what, when, why, before and after (admin scope)",
    query: AuditQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/webhooks',
    fn: 'create-webhook-endpoint',
    auth: 'admin',
    summary: 'Register a webhook endpoint; its signing secret is in this answer only (admin scope)',
    body: CreateWebhookEndpointBody,
    successStatus: 201,
  },
  {
    method: 'GET',
    path: '/api/admin/webhooks',
    fn: 'list-webhook-endpoints',
    auth: 'admin',
    summary: 'Every webhook endpoint, without secrets (admin scope)',
  },
  {
    method: 'PATCH',
    path: '/api/admin/webhooks/{endpointId}',
    fn: 'update-webhook-endpoint',
    auth: 'admin',
    summary: "Change a webhook endpoint's URL, event types or description, or enable or disable it (admin scope)",
    params: WebhookEndpointParams,
    body: UpdateWebhookEndpointBody,
  },
  {
    method: 'DELETE',
    path: '/api/admin/webhooks/{endpointId}',
    fn: 'delete-webhook-endpoint',
    auth: 'admin',
    summary: 'Delete a webhook endpoint and its secrets; its delivery log expires by itself (admin scope)',
    params: WebhookEndpointParams,
  },
  {
    method: 'POST',
    path: '/api/admin/webhooks/{endpointId}/rotate-secret',
    fn: 'rotate-webhook-secret',
    auth: 'admin',
    summary: 'A new signing secret, in this answer only; the old one signs beside it for 24 h (admin scope)',
    params: WebhookEndpointParams,
  },
  {
    method: 'GET',
    path: '/api/admin/webhooks/{endpointId}/deliveries',
    fn: 'list-webhook-deliveries',
    auth: 'admin',
    summary: "A webhook endpoint's deliveries, newest first, each with every attempt (admin scope)",
    params: WebhookEndpointParams,
    query: ListWebhookDeliveriesQuery,
  },
  {
    method: 'POST',
    path: '/api/admin/webhooks/{endpointId}/deliveries/{deliveryId}/replay',
    fn: 'replay-webhook-delivery',
    auth: 'admin',
    summary: 'Send a delivery again now, with the same webhook-id (admin scope)',
    params: WebhookDeliveryParams,
    successStatus: 202,
  },
  {
    method: 'POST',
    path: '/api/admin/webhooks/{endpointId}/replay',
    fn: 'replay-webhook-range',
    auth: 'admin',
    summary: 'Send again every delivery whose event happened in a time range, oldest first (admin scope)',
    params: WebhookEndpointParams,
    body: ReplayWebhookRangeBody,
    successStatus: 202,
  },
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
