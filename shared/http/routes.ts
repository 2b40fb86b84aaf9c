import type { z } from 'zod';
import {
  AddPaymentBody,
  CreateOrderBody,
  CreateOrdersBatchBody,
  CreateProductBody,
  OrderParams,
  PaymentParams,
  StartPaymentBody,
} from './schemas';

/**
 * Every HTTP route, once: the CDK stack makes API Gateway routes from it, the local runtime
 * serves it, and the OpenAPI document is generated from it. `fn` is the folder under functions/.
 */
export interface ApiRoute {
  method: 'GET' | 'POST';
  path: string;
  fn: string;
  /** jwt: the HTTP API JWT authorizer guards it; none: public (callbacks are signed instead). */
  auth: 'jwt' | 'none';
  summary: string;
  body?: z.ZodType;
  params?: z.ZodType;
  successStatus?: number;
  idempotent?: boolean;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', path: '/api/products', fn: 'list-products', auth: 'jwt', summary: 'List the product catalogue' },
  { method: 'POST', path: '/api/products', fn: 'create-product', auth: 'jwt', summary: 'Add a product (admin scope)', body: CreateProductBody, successStatus: 201, idempotent: true },
  { method: 'POST', path: '/api/orders', fn: 'create-order', auth: 'jwt', summary: 'Create an order with its payment; reserves stock', body: CreateOrderBody, successStatus: 201, idempotent: true },
  { method: 'POST', path: '/api/orders/batch', fn: 'create-orders-batch', auth: 'jwt', summary: 'Create several orders at once, all or nothing', body: CreateOrdersBatchBody, successStatus: 201, idempotent: true },
  { method: 'GET', path: '/api/orders/{orderId}', fn: 'get-order', auth: 'jwt', summary: 'An order with all its payments', params: OrderParams },
  { method: 'POST', path: '/api/orders/{orderId}/payments', fn: 'add-payment', auth: 'jwt', summary: 'A new payment for a pending order', params: OrderParams, body: AddPaymentBody, successStatus: 201, idempotent: true },
  { method: 'POST', path: '/api/orders/{orderId}/cancel', fn: 'cancel-order', auth: 'jwt', summary: 'Cancel an unpaid order; releases stock', params: OrderParams },
  { method: 'GET', path: '/api/payments/{paymentId}', fn: 'get-payment', auth: 'jwt', summary: 'A payment (reads expired once past its expiry)', params: PaymentParams },
  { method: 'POST', path: '/api/payments/{paymentId}/start', fn: 'start-payment', auth: 'jwt', summary: 'Create the provider checkout; returns the pay URL', params: PaymentParams, body: StartPaymentBody },
  { method: 'POST', path: '/api/payments/{paymentId}/cancel', fn: 'cancel-payment', auth: 'jwt', summary: 'Give up a payment; the order stays pending', params: PaymentParams },
  { method: 'POST', path: '/api/payments/callback/{provider}', fn: 'payment-callback', auth: 'none', summary: "Provider notification, in the provider's own format" },
  { method: 'GET', path: '/api/openapi.json', fn: 'openapi', auth: 'none', summary: 'This document' },
];

/** Functions that are not behind an HTTP route. */
export const BACKGROUND_FUNCTIONS = {
  worker: 'payment-worker',
  sweeper: 'sweeper',
} as const;
