import { expect } from 'vitest';
import { makeHandler as listOrders } from '../../functions/list-orders/handler';
import { makeHandler as adminOrders } from '../../functions/admin-orders/handler';
import { makeHandler as adminPayments } from '../../functions/admin-payments/handler';
import { makeHandler as adminRefunds } from '../../functions/admin-refunds/handler';
import { makeHandler as adminDifferences } from '../../functions/admin-differences/handler';
import { makeHandler as adminDeadLetters } from '../../functions/admin-dead-letters/handler';
import { makeHandler as adminAudit } from '../../functions/admin-audit/handler';
import { makeHandler as updateProduct } from '../../functions/update-product/handler';
import { makeHandler as adjustStock } from '../../functions/adjust-stock/handler';
import { makeHandler as reviewPayment } from '../../functions/review-payment/handler';
import { makeHandler as refundOwed } from '../../functions/refund-owed/handler';
import { makeHandler as settleRefund } from '../../functions/settle-refund/handler';
import { makeHandler as retryRefund } from '../../functions/retry-refund/handler';
import { makeHandler as resolveDifference } from '../../functions/resolve-difference/handler';
import { makeHandler as rerunReconciliation } from '../../functions/rerun-reconciliation/handler';
import { makeHandler as replayDeadLetters } from '../../functions/replay-dead-letters/handler';
import { makeHandler as addPayment } from '../../functions/add-payment/handler';
import { makeHandler as cancelOrder } from '../../functions/cancel-order/handler';
import { makeHandler as cancelPayment } from '../../functions/cancel-payment/handler';
import { makeHandler as createOrder } from '../../functions/create-order/handler';
import { makeHandler as createOrdersBatch } from '../../functions/create-orders-batch/handler';
import { makeHandler as createProduct } from '../../functions/create-product/handler';
import { makeHandler as getOrder } from '../../functions/get-order/handler';
import { makeHandler as getPayment } from '../../functions/get-payment/handler';
import { makeHandler as getReconciliation } from '../../functions/get-reconciliation/handler';
import { makeHandler as getRefund } from '../../functions/get-refund/handler';
import { makeHandler as listRefunds } from '../../functions/list-refunds/handler';
import { makeHandler as refundPayment } from '../../functions/refund-payment/handler';
import { makeHandler as listProducts } from '../../functions/list-products/handler';
import { makeHandler as startPayment } from '../../functions/start-payment/handler';
import { makeHandler as createWebhookEndpoint } from '../../functions/create-webhook-endpoint/handler';
import { makeHandler as deleteWebhookEndpoint } from '../../functions/delete-webhook-endpoint/handler';
import { makeHandler as listWebhookDeliveries } from '../../functions/list-webhook-deliveries/handler';
import { makeHandler as listWebhookEndpoints } from '../../functions/list-webhook-endpoints/handler';
import { makeHandler as replayWebhookDelivery } from '../../functions/replay-webhook-delivery/handler';
import { makeHandler as replayWebhookRange } from '../../functions/replay-webhook-range/handler';
import { makeHandler as rotateWebhookSecret } from '../../functions/rotate-webhook-secret/handler';
import { makeHandler as updateWebhookEndpoint } from '../../functions/update-webhook-endpoint/handler';
import { orderChangeWrites } from '../../src/core/orders/order-writes';
import type { OrderResult } from '../../src/core/orders/orders';
import type { PaymentView } from '../../src/core/orders/views';
import { settlePayment } from '../../src/domain';
import { localWiring, type Wiring } from '../../src/runtime/wiring';
import type { TestEnv } from './harness';
import { httpEvent, invoke, type JsonResponse, type RequestOptions } from './http';

export const ALICE = 'cust_alice';
export const BOB = 'cust_bob';

/** Each customer route's handler module, as the HTTP API routes to it. */
export const CUSTOMER_ROUTES = {
  'GET /api/products': listProducts,
  'POST /api/products': createProduct,
  'POST /api/orders': createOrder,
  'POST /api/orders/batch': createOrdersBatch,
  'GET /api/orders/{orderId}': getOrder,
  'POST /api/orders/{orderId}/payments': addPayment,
  'POST /api/orders/{orderId}/cancel': cancelOrder,
  'GET /api/payments/{paymentId}': getPayment,
  'POST /api/payments/{paymentId}/start': startPayment,
  'POST /api/payments/{paymentId}/cancel': cancelPayment,
  'POST /api/payments/{paymentId}/refunds': refundPayment,
  'GET /api/payments/{paymentId}/refunds': listRefunds,
  'GET /api/refunds/{refundId}': getRefund,
  'GET /api/admin/reconciliation/{date}': getReconciliation,
  'GET /api/orders': listOrders,
  'GET /api/admin/orders': adminOrders,
  'GET /api/admin/payments': adminPayments,
  'GET /api/admin/refunds': adminRefunds,
  'GET /api/admin/differences': adminDifferences,
  'GET /api/admin/dead-letters': adminDeadLetters,
  'GET /api/admin/audit': adminAudit,
  'POST /api/admin/dead-letters/replay': replayDeadLetters,
  'PATCH /api/products/{sku}': updateProduct,
  'POST /api/products/{sku}/stock': adjustStock,
  'POST /api/admin/payments/{paymentId}/review': reviewPayment,
  'POST /api/admin/payments/{paymentId}/refund-owed': refundOwed,
  'POST /api/admin/refunds/{refundId}/settle': settleRefund,
  'POST /api/admin/refunds/{refundId}/retry': retryRefund,
  'POST /api/admin/differences/{differenceId}/resolve': resolveDifference,
  'POST /api/admin/reconciliation/{provider}/{date}/re-run': rerunReconciliation,
  'POST /api/admin/webhooks': createWebhookEndpoint,
  'GET /api/admin/webhooks': listWebhookEndpoints,
  'PATCH /api/admin/webhooks/{endpointId}': updateWebhookEndpoint,
  'DELETE /api/admin/webhooks/{endpointId}': deleteWebhookEndpoint,
  'POST /api/admin/webhooks/{endpointId}/rotate-secret': rotateWebhookSecret,
  'GET /api/admin/webhooks/{endpointId}/deliveries': listWebhookDeliveries,
  'POST /api/admin/webhooks/{endpointId}/deliveries/{deliveryId}/replay': replayWebhookDelivery,
  'POST /api/admin/webhooks/{endpointId}/replay': replayWebhookRange,
} satisfies Record<string, (wiring: Wiring) => unknown>;

export type CustomerRoute = keyof typeof CUSTOMER_ROUTES;

export interface ApiRequest extends Omit<RequestOptions, 'pathParameters'> {
  /** Path parameters: filled into the route's `{name}` placeholders and passed as API Gateway does. */
  params?: Record<string, string>;
}

export type CustomerApi = ReturnType<typeof customerApi>;

/**
 * The customer API as API Gateway invokes it: each route's real handler on the test env's deps,
 * called with a payload-v2 event. Requests are made as Alice unless `customerId` says otherwise.
 */
export function customerApi(env: TestEnv) {
  const handlers = new Map(
    Object.entries(CUSTOMER_ROUTES).map(([route, make]) => [route, make(localWiring(async () => env.deps))]),
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  return <T = any>(route: CustomerRoute, { params = {}, ...request }: ApiRequest = {}): Promise<JsonResponse<T>> => {
    const [method = '', template = ''] = route.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);
    const event = httpEvent(method, path, { customerId: ALICE, ...request, pathParameters: params });
    return invoke<T>(handlers.get(route)!, event);
  };
}

/** POST /api/orders that must succeed: its `{order, payment}`. */
export async function placeOrder(api: CustomerApi, body: unknown): Promise<OrderResult> {
  const response = await api<OrderResult>('POST /api/orders', { body });
  expect(response.statusCode, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

/** The provider confirms the payment: payment succeeded and order paid, as the callback path writes them. */
export async function settleAsPaid(env: TestEnv, payment: Pick<PaymentView, 'paymentId'>): Promise<void> {
  const stored = (await env.repo.getPayment(payment.paymentId))!;
  const order = (await env.repo.getOrder(stored.orderId))!;
  const settlement = settlePayment(stored, order, {
    to: 'succeeded',
    now: env.clock.now(),
    source: 'provider',
    reason: 'test: provider reported success',
    providerTransactionId: 'txn_test',
  });
  if (settlement.kind !== 'applied' || !settlement.order)
    throw new Error(`settling ${payment.paymentId} did not pay its order`);
  await env.repo.commit([
    { kind: 'updatePayment', before: stored, after: settlement.payment },
    ...orderChangeWrites(order, settlement.order),
  ]);
}

export async function stockOf(env: TestEnv, sku: string): Promise<number | undefined> {
  return (await env.repo.getProducts([sku])).get(sku)?.stock;
}

export async function itemsOfKind(env: TestEnv, kind: string): Promise<Array<Record<string, unknown>>> {
  return (await env.scan()).filter((item) => item.kind === kind);
}

/** Every item in the table in a stable order, for "nothing else changed" comparisons. */
export async function tableSnapshot(env: TestEnv): Promise<Array<Record<string, unknown>>> {
  const key = (item: Record<string, unknown>) => `${String(item.pk)}|${String(item.sk)}`;
  return (await env.scan()).sort((a, b) => key(a).localeCompare(key(b)));
}
