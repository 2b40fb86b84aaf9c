import type { z } from 'zod';
import type { OrderView, PaymentView } from '../core/orders/views';
import type { Product } from '../domain/order';
import type { PayAction } from '../domain/scene';
import type { PaymentMethodsView } from '../core/payments/scenes';
import type { CreateOrderBody, CreateOrdersBatchBody, StartPaymentBody } from '../http/schemas';

/**
 * A typed client for the customer API (docs/API.md#routes), for a web or mobile front end, scripts and tests.
 * It only uses `fetch`: every import here is a type, so nothing of the server comes along.
 */

type CreateOrderRequest = z.input<typeof CreateOrderBody>;
export type OrderItemRequest = CreateOrderRequest['items'][number];
export type PaymentMethod = NonNullable<CreateOrderRequest['paymentMethod']>;
export type BatchOrderRequest = z.input<typeof CreateOrdersBatchBody>['orders'][number];
export type StartPaymentOptions = NonNullable<z.input<typeof StartPaymentBody>>;
export type PaymentStatus = PaymentView['status'];
export type { OrderView, PaymentView, Product, PayAction, PaymentMethodsView };

export interface OrderWithPayment {
  order: OrderView;
  payment: PaymentView;
}

export interface OrderWithPayments {
  order: OrderView;
  payments: PaymentView[];
}

export interface StartedPayment {
  /** A new payment when the customer switched scene (the old one is cancelled): follow this one. */
  payment: PaymentView;
  /** What the front end does to pay: `pay(action)` (src/client/pay.ts) does it. */
  action: PayAction;
  /** Redirect and QR scenes: the page to open, or the QR content (as before scenes). */
  payUrl?: string;
}

export interface CreateOptions {
  paymentMethod?: PaymentMethod;
  /** Narrows the payment's time to pay (never beyond the deployment's). */
  ttlMinutes?: number;
  /** Reuse the same key when retrying one purchase: the server then answers the first result again. */
  idempotencyKey?: string;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<Response>;

export interface PaymentsClientOptions {
  /** e.g. http://127.0.0.1:3000 or the API Gateway URL; paths start at /api. */
  baseUrl: string;
  /** The customer's bearer token (JWT). */
  token: string;
  fetch?: FetchLike;
}

/** An error answer of the API, in its `{"error": {code, message, details?}}` shape. */
export class PaymentsApiError extends Error {
  override readonly name = 'PaymentsApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const TERMINAL_STATUSES: readonly PaymentStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

/** One API call: JSON in and out, the bearer token, an API error for any non-2xx answer. */
function caller(options: PaymentsClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  return async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${options.token}`,
      ...extraHeaders,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw apiError(response.status, text);
    return JSON.parse(text) as T;
  };
}

export function createPaymentsClient(options: PaymentsClientOptions) {
  const call = caller(options);
  const id = (value: string) => encodeURIComponent(value);
  const idempotency = (key: string | undefined) => ({ 'idempotency-key': key ?? crypto.randomUUID() });

  const client = {
    async listProducts(): Promise<Product[]> {
      return (await call<{ products: Product[] }>('GET', '/api/products')).products;
    },

    createOrder(
      items: OrderItemRequest[],
      { paymentMethod, ttlMinutes, idempotencyKey }: CreateOptions = {},
    ): Promise<OrderWithPayment> {
      return call('POST', '/api/orders', { items, paymentMethod, ttlMinutes }, idempotency(idempotencyKey));
    },

    /** Several orders at once, all or nothing; every payment has the same method. */
    async createOrders(
      orders: BatchOrderRequest[],
      { paymentMethod, ttlMinutes, idempotencyKey }: CreateOptions = {},
    ): Promise<OrderWithPayment[]> {
      return (
        await call<{ results: OrderWithPayment[] }>(
          'POST',
          '/api/orders/batch',
          { orders, paymentMethod, ttlMinutes },
          idempotency(idempotencyKey),
        )
      ).results;
    },

    getOrder(orderId: string): Promise<OrderWithPayments> {
      return call('GET', `/api/orders/${id(orderId)}`);
    },

    /** An open payment past its expiry already reads `expired`. */
    getPayment(paymentId: string): Promise<PaymentView> {
      return call('GET', `/api/payments/${id(paymentId)}`);
    },

    /** Starts paying in a scene (the method's default when left out); `payer`: the id the scene needs, unless the token carries it. */
    startPayment(paymentId: string, { scene, channel, payer }: StartPaymentOptions = {}): Promise<StartedPayment> {
      return call('POST', `/api/payments/${id(paymentId)}/start`, { scene, channel, payer });
    },

    /** The methods and scenes this deployment takes (public: no token needed). */
    paymentMethods: (): Promise<PaymentMethodsView> => call('GET', '/api/payment-methods'),

    /** A new payment for a pending order whose last payment ended unpaid (409 while one is open). */
    repay(orderId: string, { paymentMethod, ttlMinutes, idempotencyKey }: CreateOptions = {}): Promise<PaymentView> {
      return call(
        'POST',
        `/api/orders/${id(orderId)}/payments`,
        { paymentMethod, ttlMinutes },
        idempotency(idempotencyKey),
      );
    },

    /** The customer gives up this payment; the order stays pending and can be paid again. */
    cancelPayment(paymentId: string): Promise<PaymentView> {
      return call('POST', `/api/payments/${id(paymentId)}/cancel`);
    },

    /** Cancels an unpaid order with its open payment and releases its stock. */
    async cancelOrder(orderId: string): Promise<OrderView> {
      return (await call<{ order: OrderView }>('POST', `/api/orders/${id(orderId)}/cancel`)).order;
    },

    /**
     * Polls the payment until it ends (succeeded, failed, cancelled, expired), e.g. after the
     * customer was sent to the pay URL. Rejects when it is still open after `timeoutMs`.
     */
    waitForPaymentOutcome(
      paymentId: string,
      polling: { timeoutMs?: number; intervalMs?: number } = {},
    ): Promise<PaymentView> {
      return pollUntilEnded(() => client.getPayment(paymentId), paymentId, polling);
    },
  };
  return client;
}

async function pollUntilEnded(
  read: () => Promise<PaymentView>,
  paymentId: string,
  { timeoutMs = 60_000, intervalMs = 1_000 }: { timeoutMs?: number; intervalMs?: number },
): Promise<PaymentView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const payment = await read();
    if (TERMINAL_STATUSES.includes(payment.status)) return payment;
    if (Date.now() + intervalMs > deadline)
      throw new Error(`Payment ${paymentId} is still ${payment.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type PaymentsClient = ReturnType<typeof createPaymentsClient>;

/** The API's error shape; the gateway's own answers (401, unknown route) carry only `{message}`. */
function apiError(status: number, text: string): PaymentsApiError {
  let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown }; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON (a proxy's error page): the text itself is the message.
  }
  const code =
    typeof parsed?.error?.code === 'string' ? parsed.error.code : status === 401 ? 'UNAUTHENTICATED' : `HTTP_${status}`;
  const message = parsed?.error?.message ?? parsed?.message ?? (text.slice(0, 200) || `HTTP ${status}`);
  return new PaymentsApiError(status, code, String(message), parsed?.error?.details);
}
