/**
 * Bank gateway (docs/PROVIDERS.md#bank-gateway): a Stripe-style HMAC webhook scheme.
 *
 * Callback: POST JSON, header `Bank-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each
 * v1 is HMAC-SHA256(secret, `${t}.${rawBody}`). Several v1 values and several configured secrets
 * may be live at once (rotation): any pair that matches passes.
 *
 * Pay URL: built locally (no network), signed with HMAC-SHA256 over the sorted parameters.
 * The scheme has no query or close API for payments; see `queryPayment` / `closePayment`.
 *
 * Refund API (ours, Stripe-like, under `gatewayUrl`): `POST /refunds` with `Idempotency-Key` = our
 * refund id and `GET /refunds/{refund_id}`. Requests carry `Bank-Signature` signed with
 * `signingSecret` over `${t}.${METHOD}.${path}.${rawBody}`; the bank's answers carry `Bank-Signature`
 * over `${t}.${rawBody}` with a webhook secret, exactly like its webhooks. `refund.*` webhooks
 * share the payment webhooks' URL and signature.
 *
 * Settlement report (ours too): `GET /settlement-reports/{YYYY-MM-DD}` under `gatewayUrl`, signed
 * like the refund requests; the CSV answer's bytes are signed like every answer. Its format is
 * read by ./settlement.ts.
 */

export {
  BANK_SIGNATURE_HEADER,
  BANK_TOLERANCE_SECONDS,
  BANK_STATUSES,
  BANK_STATUS_OUTCOMES,
  BankCallbackBodySchema,
  BANK_REFUND_STATUSES,
  BANK_REFUND_OUTCOMES,
  BANK_REFUND_EVENTS,
  BankRefundEventSchema,
  BankRefundSchema,
  BankErrorSchema,
} from './wire';
export type {
  BankStatus,
  BankCallbackBody,
  BankRefundStatus,
  BankRefundEvent,
  BankRefundRequestBody,
  BankRefund,
  BankPayParams,
} from './wire';
export { createBankProvider } from './provider';
export type { BankProviderOptions } from './provider';
export { parseBankSettlementReport } from './settlement';
