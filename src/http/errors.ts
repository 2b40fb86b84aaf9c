import { $ZodError } from 'zod/v4/core';
import { DomainError } from '../domain/errors';

/**
 * Every code the API answers with and its HTTP status, in one place: errors are mapped with it,
 * the OpenAPI document lists each status's codes from it, and a test holds the README to it.
 * A domain code not listed is a plain 500 INTERNAL_ERROR.
 */
export const API_ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_AMOUNT: 400,
  INVALID_JSON: 400,
  UNKNOWN_SKU: 400,
  BATCH_TOO_LARGE: 400,
  WEBHOOK_URL_REFUSED: 400,
  /** The payment's method has no such scene (GET /api/payment-methods lists them). */
  SCENE_NOT_SUPPORTED: 400,
  /** The method has the scene, this deployment has not configured it (its appid). */
  SCENE_NOT_CONFIGURED: 400,
  /** The scene needs a payer id (openid, alipayOpenId) the token and the body lack. */
  PAYER_REQUIRED: 400,
  /** The provider says the payer id is not of the scene's app (WeChat OPENID_MISMATCH), or the trade has another buyer. */
  PAYER_MISMATCH: 400,
  /** The provider's rules declined the payment (WeChat RULELIMIT, TRADE_ERROR): the customer pays another way. */
  PAYMENT_DECLINED: 402,
  /** A list's `cursor` that this very list did not hand out (edited, or another list's). */
  INVALID_CURSOR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ORDER_NOT_FOUND: 404,
  PAYMENT_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  REFUND_NOT_FOUND: 404,
  WEBHOOK_ENDPOINT_NOT_FOUND: 404,
  WEBHOOK_DELIVERY_NOT_FOUND: 404,
  DIFFERENCE_NOT_FOUND: 404,
  DEAD_LETTER_NOT_FOUND: 404,
  /** A callback for a provider that is not one of ours, or not configured here. */
  UNKNOWN_PROVIDER: 404,
  OUT_OF_STOCK: 409,
  TOO_MANY_PENDING_ORDERS: 409,
  ORDER_NOT_PENDING: 409,
  PAYMENT_ALREADY_OPEN: 409,
  PAYMENT_EXPIRED: 409,
  PAYMENT_UNDER_REVIEW: 409,
  PAYMENT_CLOSING: 409,
  /** Starting it, the provider said the payment is paid: details.payment is the payment now (succeeded). */
  PAYMENT_ALREADY_PAID: 409,
  /** Starting it, the provider said the payment is closed: it is cancelled here too; create a new one. */
  PAYMENT_CLOSED: 409,
  /** The provider holds the payment's number with other parameters: cancel it and create a new one. */
  CHECKOUT_CONFLICT: 409,
  INVALID_TRANSITION: 409,
  STALE_STATE: 409,
  ALREADY_EXISTS: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  PAYMENT_NOT_REFUNDABLE: 409,
  REFUND_EXCEEDS_REFUNDABLE: 409,
  REFUND_WINDOW_CLOSED: 409,
  REFUND_LIMIT_REACHED: 409,
  RESTOCK_EXCEEDS_ORDER: 409,
  WEBHOOK_ENDPOINT_LIMIT_REACHED: 409,
  WEBHOOK_ENDPOINT_DISABLED: 409,
  PURCHASE_LIMIT_REACHED: 409,
  PRODUCT_UNAVAILABLE: 409,
  /** PATCH price / active or a stock adjustment on a product with sharded stock. */
  PRODUCT_SHARDED: 409,
  ADJUSTMENT_EXCEEDS_STOCK: 409,
  /** A staff action on an item that no longer waits for it: details.current is the item now. */
  NO_LONGER_WAITING: 409,
  REVIEW_NOT_SETTLEABLE: 409,
  /** retry on an abnormal refund whose provider has no re-submission (Alipay, bank): settle it offline. */
  REFUND_RETRY_NOT_SUPPORTED: 409,
  /** The provider refused the re-submission (its code and message in the answer); the refund still waits. */
  REFUND_RETRY_REFUSED: 409,
  /** If-Match named a version the item has moved on from: details.current is the item now. */
  PRECONDITION_FAILED: 412,
  /** A PATCH without If-Match. */
  PRECONDITION_REQUIRED: 428,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Another refusal of the body parser (middy). */
  BAD_REQUEST: 400,
  INTERNAL_ERROR: 500,
  PROVIDER_UNAVAILABLE: 502,
  PROVIDER_NOT_CONFIGURED: 503,
  /** The scene is configured here but the provider has not enabled it on the merchant account (WeChat NO_AUTH). */
  SCENE_NOT_ENABLED: 503,
  /** DynamoDB throttled the transaction (a hot partition) past the retries: retryable, never OUT_OF_STOCK. */
  CAPACITY_EXCEEDED: 503,
} as const satisfies Record<string, number>;

/** The codes answered with `status`, in the table's order. */
export function errorCodesWithStatus(status: number): string[] {
  return Object.entries(API_ERROR_STATUS)
    .filter(([, codeStatus]) => codeStatus === status)
    .map(([code]) => code);
}

export class HttpError extends DomainError {}

export interface ErrorResponse {
  statusCode: number;
  body: { error: { code: string; message: string; details?: unknown } };
}

export function statusOf(error: DomainError): number {
  return (API_ERROR_STATUS as Record<string, number>)[error.code] ?? 500;
}

/** Maps any thrown value to the API's error shape; below 500 the message is shown, otherwise not. */
export function toErrorResponse(error: unknown): ErrorResponse {
  // Core's error class: what both classic zod and zod/mini throw.
  if (error instanceof $ZodError) {
    const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    return {
      statusCode: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'The request is invalid', details } },
    };
  }
  if (error instanceof DomainError) {
    const statusCode = statusOf(error);
    if (statusCode < 500 || statusCode === 502 || statusCode === 503) {
      return {
        statusCode,
        body: {
          error: {
            code: error.code,
            message: error.message,
            ...(error.details === undefined ? {} : { details: error.details }),
          },
        },
      };
    }
  }
  const middyStatus = middyErrorStatus(error);
  if (middyStatus) return middyStatus;
  return {
    statusCode: 500,
    body: { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side; it was logged.' } },
  };
}

/** Errors raised by middy's own middlewares (createError): shown as our codes. */
function middyErrorStatus(error: unknown): ErrorResponse | undefined {
  if (
    !(error instanceof Error) ||
    !('statusCode' in error) ||
    typeof error.statusCode !== 'number' ||
    error.statusCode >= 500
  )
    return undefined;
  const malformedJson = error.message.includes('JSON');
  const statusCode = malformedJson ? 400 : error.statusCode;
  const code = malformedJson ? 'INVALID_JSON' : statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
  return {
    statusCode,
    body: { error: { code, message: malformedJson ? 'The body is not valid JSON' : error.message } },
  };
}
