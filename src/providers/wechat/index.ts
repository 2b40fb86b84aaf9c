/**
 * WeChat Pay API v3 (docs/PROVIDERS.md#wechat-pay-api-v3), merchant side.
 *
 * Inbound (callbacks) and WeChat's answers to our calls are signed the same way: RSA-SHA256
 * (PKCS#1 v1.5) over `${Wechatpay-Timestamp}\n${Wechatpay-Nonce}\n${raw body}\n`, with the platform
 * public key named by `Wechatpay-Serial` (signatures.ts). A callback's `resource` is AES-256-GCM
 * encrypted with our APIv3 key (callbacks.ts). Outbound requests carry an
 * `Authorization: WECHATPAY2-SHA256-RSA2048 ...` header signed with our merchant key over
 * `METHOD\nURL\ntimestamp\nnonce\nbody\n` (api.ts). Wire types and status tables: wire.ts.
 */
export {
  WECHAT_SIGNATURE_TYPE,
  WECHAT_SIGNTEST_PREFIX,
  WECHAT_REPLAY_WINDOW_SECONDS,
  WECHAT_TRADE_STATES,
  WECHAT_CALLBACK_OUTCOMES,
  WECHAT_QUERY_STATUSES,
  WechatCallbackEnvelopeSchema,
  WechatTransactionSchema,
  isWechatTradeState,
  WECHAT_REFUND_STATUSES,
  WECHAT_REFUND_OUTCOMES,
  WECHAT_REFUND_EVENTS,
  WechatRefundSchema,
  WechatRefundResourceSchema,
  isWechatRefundStatus,
  toBeijingRfc3339,
} from './wire';
export type {
  WechatTradeState,
  WechatCallbackEnvelope,
  WechatTransaction,
  WechatNativeOrderRequest,
  WechatRefundStatus,
  WechatRefundRequest,
  WechatRefund,
  WechatRefundResource,
} from './wire';
export { createWechatProvider, type WechatProviderOptions } from './provider';
export { parseWechatBill } from './bill';
