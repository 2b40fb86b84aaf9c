/**
 * Alipay OpenAPI gateway, RSA2 (docs/PROVIDERS.md#alipay), from the merchant's side.
 *
 * Everything is a flat set of string parameters signed with RSA-SHA256 over the sorted
 * `key=value&...` of the raw (decoded) values (signatures.ts):
 * - our requests (pay URL, query, close) are signed with the app private key over every
 *   parameter but `sign`;
 * - Alipay's notifications are signed with Alipay's key over every parameter but `sign` and
 *   `sign_type` (the official SDKs also accept the variant that keeps `sign_type`: so do we);
 * - Alipay's JSON answers are signed over the exact text of the `<method>_response` node.
 * Times on the wire are "yyyy-MM-dd HH:mm:ss" in GMT+8; amounts are yuan strings with two decimals (wire.ts).
 */
export {
  ALIPAY_FORM_CONTENT_TYPE,
  ALIPAY_TRADE_STATUSES,
  ALIPAY_TRADE_STATUS_MAPPING,
  AlipayNotificationSchema,
  ALIPAY_CODE_SUCCESS,
  ALIPAY_CODE_INVALID_ARGUMENTS,
  ALIPAY_CODE_BUSINESS_FAILED,
  AlipayTradeQueryResponseSchema,
  AlipayTradeCloseResponseSchema,
  AlipayTradeRefundResponseSchema,
  AlipayRefundQueryResponseSchema,
  ALIPAY_REFUND_SUCCESS,
  AlipayBillUrlQueryResponseSchema,
  ALIPAY_BILL_NOT_EXIST,
  alipayResponseNodeName,
  toAlipayTime,
  fromAlipayTime,
} from './wire';
export type {
  AlipayTradeStatus,
  AlipayMethod,
  AlipayRequestParams,
  AlipayPayBizContent,
  AlipayTradeRef,
  AlipayRefundBizContent,
  AlipayRefundQueryBizContent,
  AlipayBillUrlQueryBizContent,
  AlipayNotification,
  AlipayResponseNode,
  AlipayTradeQueryResponse,
  AlipayTradeCloseResponse,
  AlipayTradeRefundResponse,
  AlipayRefundQueryResponse,
  AlipayBillUrlQueryResponse,
} from './wire';
export { alipaySignContent, parseAlipayForm } from './signatures';
export { createAlipayProvider } from './provider';
export type { AlipayProviderOptions } from './provider';
