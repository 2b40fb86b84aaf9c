import * as z from 'zod/mini';
import '../../core/kernel/zod-english';
import type { BusinessDate } from '../../domain/bill';
import { yuanToFen, type Fen } from '../../domain/money';
import type { NotificationOutcome } from '../../domain/notification';
import type { CheckoutRefusal } from '../../core/payments/provider';

export const PROVIDER = 'alipay';
export const ALIPAY_FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded;charset=utf-8';

export const ALIPAY_TRADE_STATUSES = ['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED'] as const;
export type AlipayTradeStatus = (typeof ALIPAY_TRADE_STATUSES)[number];

/** Every trade_status: what a notification of it asserts, and what a query answer of it means. */
export const ALIPAY_TRADE_STATUS_MAPPING: Readonly<
  Record<AlipayTradeStatus, { outcome: NotificationOutcome | undefined; state: 'pending' | 'paid' | 'closed' }>
> = {
  // Trade created, buyer has not paid yet; Alipay does not notify it by default.
  WAIT_BUYER_PAY: { outcome: undefined, state: 'pending' },
  TRADE_SUCCESS: { outcome: 'succeeded', state: 'paid' },
  // Paid and past the refund period.
  TRADE_FINISHED: { outcome: 'succeeded', state: 'paid' },
  // Closed unpaid (timeout or close call), or fully refunded. A notification of a full refund
  // carries refund fields and is read as a refund (isRefundNotice); a query cannot tell the two
  // apart, but the caller's state machine does (a succeeded payment cannot become cancelled).
  TRADE_CLOSED: { outcome: 'cancelled', state: 'closed' },
};

export type AlipayMethod =
  | 'alipay.trade.page.pay'
  | 'alipay.trade.wap.pay'
  | 'alipay.trade.app.pay'
  | 'alipay.trade.precreate'
  | 'alipay.trade.create'
  | 'alipay.trade.query'
  | 'alipay.trade.close'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query'
  | 'alipay.data.dataservice.bill.downloadurl.query';

/** Common request parameters; `sign` signs all the others. */
export interface AlipayRequestParams {
  app_id: string;
  method: AlipayMethod;
  format: 'JSON';
  charset: 'utf-8';
  sign_type: 'RSA2';
  timestamp: string;
  version: '1.0';
  notify_url?: string;
  return_url?: string;
  /** JSON text of the method's business parameters. */
  biz_content: string;
}

/** biz_content of alipay.trade.page.pay / alipay.trade.wap.pay. */
export interface AlipayPayBizContent {
  out_trade_no: string;
  total_amount: string;
  subject: string;
  product_code: 'FAST_INSTANT_TRADE_PAY' | 'QUICK_WAP_WAY';
  time_expire: string;
}

/** biz_content of alipay.trade.app.pay (an order string for the app SDK, SCENES.md §5). */
export interface AlipayAppPayBizContent {
  out_trade_no: string;
  total_amount: string;
  subject: string;
  product_code: 'QUICK_MSECURITY_PAY';
  time_expire: string;
}

/** biz_content of alipay.trade.precreate (当面付 QR, SCENES.md §6). */
export interface AlipayPrecreateBizContent {
  out_trade_no: string;
  total_amount: string;
  subject: string;
  product_code: 'FACE_TO_FACE_PAYMENT';
  time_expire: string;
}

/** biz_content of alipay.trade.create (mini-program, SCENES.md §7). */
export interface AlipayCreateBizContent {
  out_trade_no: string;
  total_amount: string;
  subject: string;
  product_code: 'JSAPI_PAY' | 'FACE_TO_FACE_PAYMENT';
  buyer_open_id: string;
  /** The mini-program that opens the cashier. */
  op_app_id: string;
  time_expire: string;
}

/** biz_content of alipay.trade.query / alipay.trade.close. */
export interface AlipayTradeRef {
  out_trade_no: string;
}

/** biz_content of alipay.trade.refund. */
export interface AlipayRefundBizContent {
  out_trade_no: string;
  /** Yuan, two decimals: this refund's amount. */
  refund_amount: string;
  /** Our refund id: one per refund, reused on every retry (a new one is a second refund). */
  out_request_no: string;
  refund_reason?: string;
}

/** biz_content of alipay.trade.fastpay.refund.query; gmt_refund_pay is only answered when asked for. */
export interface AlipayRefundQueryBizContent {
  out_trade_no: string;
  out_request_no: string;
  query_options: ['gmt_refund_pay'];
}

/** biz_content of alipay.data.dataservice.bill.downloadurl.query: `trade` is the bill of the merchant's trades and refunds. */
export interface AlipayBillUrlQueryBizContent {
  bill_type: 'trade';
  /** yyyy-MM-dd, a Beijing day. */
  bill_date: BusinessDate;
}

export type AlipayBizContent =
  | AlipayPayBizContent
  | AlipayPrecreateBizContent
  | AlipayCreateBizContent
  | AlipayTradeRef
  | AlipayRefundBizContent
  | AlipayRefundQueryBizContent
  | AlipayBillUrlQueryBizContent;

const present = z.string().check(z.minLength(1));

/** The asynchronous notification (form fields). trade_status stays a plain string so an unknown
 * word is reported as such. */
export const AlipayNotificationSchema = z.object({
  notify_time: present,
  notify_type: z.optional(z.string()),
  notify_id: present,
  app_id: present,
  charset: z.optional(z.string()),
  version: z.optional(z.string()),
  sign_type: z.literal('RSA2'),
  sign: present,
  trade_no: present,
  out_trade_no: present,
  trade_status: present,
  total_amount: present,
  receipt_amount: z.optional(z.string()),
  buyer_pay_amount: z.optional(z.string()),
  gmt_create: z.optional(z.string()),
  gmt_payment: z.optional(z.string()),
  gmt_close: z.optional(z.string()),
  seller_id: z.optional(z.string()),
  subject: z.optional(z.string()),
  /** Refund fields, on the notification Alipay sends after a refund: out_biz_no is the refund's
   * out_request_no, refund_fee the CUMULATIVE amount refunded on the trade (yuan). */
  out_biz_no: z.optional(z.string()),
  refund_fee: z.optional(z.string()),
  gmt_refund: z.optional(z.string()),
});
export type AlipayNotification = z.infer<typeof AlipayNotificationSchema>;

export const ALIPAY_CODE_SUCCESS = '10000';
/** Service currently unavailable (isp.unknow-error, 系统繁忙): Alipay says retry the query or close shortly. */
export const ALIPAY_CODE_UNAVAILABLE = '20000';
export const ALIPAY_CODE_INVALID_ARGUMENTS = '40002';
export const ALIPAY_CODE_BUSINESS_FAILED = '40004';

/** Fields every answer node carries. */
const ResponseNodeSchema = z.object({
  code: z.string(),
  msg: z.optional(z.string()),
  sub_code: z.optional(z.string()),
  sub_msg: z.optional(z.string()),
});
export type AlipayResponseNode = z.infer<typeof ResponseNodeSchema>;

export const AlipayTradeQueryResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  trade_status: z.optional(z.string()),
  total_amount: z.optional(z.string()),
  buyer_pay_amount: z.optional(z.string()),
  send_pay_date: z.optional(z.string()),
});
export type AlipayTradeQueryResponse = z.infer<typeof AlipayTradeQueryResponseSchema>;

export const AlipayPrecreateResponseSchema = z.extend(ResponseNodeSchema, {
  out_trade_no: z.optional(z.string()),
  /** Valid 2 hours whatever the timeouts say; render it as a QR. */
  qr_code: z.optional(z.string()),
});
export type AlipayPrecreateResponse = z.infer<typeof AlipayPrecreateResponseSchema>;

export const AlipayCreateResponseSchema = z.extend(ResponseNodeSchema, {
  out_trade_no: z.optional(z.string()),
  trade_no: z.optional(z.string()),
});
export type AlipayCreateResponse = z.infer<typeof AlipayCreateResponseSchema>;

export const AlipayTradeCloseResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
});
export type AlipayTradeCloseResponse = z.infer<typeof AlipayTradeCloseResponseSchema>;

export const AlipayTradeRefundResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  buyer_logon_id: z.optional(z.string()),
  /** Y: this call moved money; N (or absent): it did not, e.g. a retry of a finished refund. */
  fund_change: z.optional(z.string()),
  /** CUMULATIVE refunded on the trade, never this refund's amount. */
  refund_fee: z.optional(z.string()),
  gmt_refund_pay: z.optional(z.string()),
});
export type AlipayTradeRefundResponse = z.infer<typeof AlipayTradeRefundResponseSchema>;

export const AlipayRefundQueryResponseSchema = z.extend(ResponseNodeSchema, {
  trade_no: z.optional(z.string()),
  out_trade_no: z.optional(z.string()),
  out_request_no: z.optional(z.string()),
  total_amount: z.optional(z.string()),
  /** This refund's amount (yuan). */
  refund_amount: z.optional(z.string()),
  /** REFUND_SUCCESS when done; absent while not done, and for a number Alipay never received. */
  refund_status: z.optional(z.string()),
  gmt_refund_pay: z.optional(z.string()),
});
export type AlipayRefundQueryResponse = z.infer<typeof AlipayRefundQueryResponseSchema>;

export const ALIPAY_REFUND_SUCCESS = 'REFUND_SUCCESS';

export const AlipayBillUrlQueryResponseSchema = z.extend(ResponseNodeSchema, {
  /** Where the day's bill ZIP can be fetched with a plain GET, for 30 seconds. */
  bill_download_url: z.optional(z.string()),
});
export type AlipayBillUrlQueryResponse = z.infer<typeof AlipayBillUrlQueryResponseSchema>;

/** The bill-URL query's "no bill for that day": not published yet, or no trades; Alipay does not say which. */
export const ALIPAY_BILL_NOT_EXIST = 'isp.bill_not_exist';

/** Gateway codes that refuse a request outright: missing or invalid arguments, business refusal, no permission. */
export const REFUSAL_CODES: ReadonlySet<string> = new Set([
  '40001',
  ALIPAY_CODE_INVALID_ARGUMENTS,
  ALIPAY_CODE_BUSINESS_FAILED,
  '40006',
]);
/** Business-failed answers that are not refusals: Alipay's "system error, call again with the same
 * parameters" (it spells it both ways). */
export const SYSTEM_ERROR_SUB_CODES: ReadonlySet<string> = new Set(['ACQ.SYSTEM_ERROR', 'AQC.SYSTEM_ERROR']);

/**
 * precreate / create sub-codes that say why Alipay will not create the checkout (SCENES.md §8):
 * a trade bound to another buyer, changed parameters under the same out_trade_no, a trade already
 * paid or closed; a product the app has not signed for (ACQ.ACCESS_FORBIDDEN).
 */
export const ALIPAY_CHECKOUT_REFUSALS: Readonly<Record<string, CheckoutRefusal>> = {
  'ACQ.ACCESS_FORBIDDEN': 'scene_not_enabled',
  'isv.insufficient-isv-permissions': 'scene_not_enabled',
  'ACQ.TRADE_BUYER_NOT_MATCH': 'payer_mismatch',
  'ACQ.CONTEXT_INCONSISTENT': 'number_taken',
  'ACQ.TRADE_HAS_SUCCESS': 'already_paid',
  'ACQ.TRADE_HAS_CLOSE': 'closed',
};

/** The JSON member holding a method's answer: alipay.trade.query → alipay_trade_query_response. */
export function alipayResponseNodeName(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

export function isTradeStatus(status: string): status is AlipayTradeStatus {
  return (ALIPAY_TRADE_STATUSES as readonly string[]).includes(status);
}

/** Alipay's times are "yyyy-MM-dd HH:mm:ss" in Beijing time (the kit's). */
export { toBeijingText as toAlipayTime, fromBeijingText as fromAlipayTime } from '../kit/beijing-time';

export function yuanToFenOrUndefined(yuan: string): Fen | undefined {
  try {
    return yuanToFen(yuan);
  } catch {
    return undefined;
  }
}
