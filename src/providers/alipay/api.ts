import type * as z from 'zod/mini';
import type { BusinessDate } from '../../domain/bill';
import { CURRENCY, fenToYuan } from '../../domain/money';
import { isRetryableStatus } from '../kit/http';
import {
  ProviderBusyError,
  ProviderCallError,
  type BillFetch,
  type CloseOutcome,
  type ProviderPaymentState,
  type ProviderRefundState,
  type RefundRequest,
} from '../../core/payments/provider';
import type { Merchant } from './callbacks';
import { alipaySignContent, encodeParams, rsa2Sign, signedNode } from './signatures';
import { checkRefundAnswer } from '../kit/refund-answers';
import {
  type AlipayBillUrlQueryBizContent,
  type AlipayBizContent,
  type AlipayMethod,
  type AlipayRefundBizContent,
  type AlipayRefundQueryBizContent,
  type AlipayRequestParams,
  type AlipayResponseNode,
  type AlipayTradeQueryResponse,
  ALIPAY_BILL_NOT_EXIST,
  ALIPAY_CODE_BUSINESS_FAILED,
  ALIPAY_CODE_SUCCESS,
  ALIPAY_CODE_UNAVAILABLE,
  ALIPAY_FORM_CONTENT_TYPE,
  ALIPAY_REFUND_SUCCESS,
  ALIPAY_TRADE_STATUS_MAPPING,
  AlipayBillUrlQueryResponseSchema,
  AlipayRefundQueryResponseSchema,
  AlipayTradeCloseResponseSchema,
  AlipayTradeQueryResponseSchema,
  AlipayTradeRefundResponseSchema,
  PROVIDER,
  REFUSAL_CODES,
  SYSTEM_ERROR_SUB_CODES,
  alipayResponseNodeName,
  fromAlipayTime,
  isTradeStatus,
  toAlipayTime,
  yuanToFenOrUndefined,
} from './wire';

type SignedParams = AlipayRequestParams & { sign: string };

export function signedRequest(
  merchant: Merchant,
  method: AlipayMethod,
  bizContent: AlipayBizContent,
  now: Date,
  urls: Pick<AlipayRequestParams, 'notify_url' | 'return_url'> = {},
): SignedParams {
  const params: AlipayRequestParams = {
    app_id: merchant.config.appId,
    method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: toAlipayTime(now),
    version: '1.0',
    ...urls,
    biz_content: JSON.stringify(bizContent),
  };
  return { ...params, sign: rsa2Sign(alipaySignContent({ ...params }, ['sign']), merchant.privateKey) };
}

/** POSTs a signed request (retried and timed out by the sender) and returns the verified answer node. */
export async function callGateway<T extends AlipayResponseNode>(
  merchant: Merchant,
  method: AlipayMethod,
  schema: z.ZodMiniType<T>,
  bizContent: AlipayBizContent,
  now: Date,
  operation: string,
  notifyUrl?: string,
): Promise<T> {
  const urls = notifyUrl ? { notify_url: notifyUrl } : {};
  const response = await merchant.send(operation, () => ({
    url: merchant.config.gateway,
    method: 'POST',
    headers: { 'content-type': ALIPAY_FORM_CONTENT_TYPE },
    body: encodeParams({ ...signedRequest(merchant, method, bizContent, now, urls) }),
  }));
  // Alipay answers everything with 200: after anything else a refund's outcome is unknown, so worth asking again.
  const retryable = isRetryableStatus(response.status) || operation === 'refund' || operation === 'queryRefund';
  if (response.status !== 200)
    throw new ProviderCallError(PROVIDER, operation, `gateway answered HTTP ${response.status}`, retryable);
  const nodeName = alipayResponseNodeName(method);
  const node = schema.safeParse(signedNode(response.body, nodeName, merchant.alipayPublicKey));
  if (!node.success) throw new ProviderCallError(PROVIDER, operation, `answer has no ${nodeName} signed by Alipay`);
  return node.data;
}

export function describeFailure(node: AlipayResponseNode): string {
  return `code ${node.code}${node.sub_code ? ` ${node.sub_code}` : ''}`;
}

function isTradeNotExist(node: AlipayResponseNode): boolean {
  return node.code === ALIPAY_CODE_BUSINESS_FAILED && node.sub_code === 'ACQ.TRADE_NOT_EXIST';
}

function tradeState(node: AlipayTradeQueryResponse, paymentId: string): ProviderPaymentState {
  const fail = (message: string) => new ProviderCallError(PROVIDER, 'queryPayment', message);
  if (node.out_trade_no !== paymentId) throw fail('answer is about another out_trade_no');
  const status = node.trade_status ?? '';
  if (!isTradeStatus(status)) throw fail(`unknown trade_status ${status}`);
  const { state } = ALIPAY_TRADE_STATUS_MAPPING[status];
  if (state !== 'paid') return { status: state, providerStatus: status };

  const amount = yuanToFenOrUndefined(node.total_amount ?? '');
  const paidAt = fromAlipayTime(node.send_pay_date ?? '');
  if (!node.trade_no || amount === undefined || !paidAt)
    throw fail('paid trade lacks a valid trade_no, total_amount or send_pay_date');
  return {
    status: 'paid',
    providerTransactionId: node.trade_no,
    amount,
    currency: CURRENCY,
    paidAt,
    providerStatus: status,
  };
}

export async function queryTrade(merchant: Merchant, paymentId: string, now: Date): Promise<ProviderPaymentState> {
  const node = await callGateway(
    merchant,
    'alipay.trade.query',
    AlipayTradeQueryResponseSchema,
    { out_trade_no: paymentId },
    now,
    'queryPayment',
  );
  if (node.code === ALIPAY_CODE_SUCCESS) return tradeState(node, paymentId);
  if (isTradeNotExist(node)) return { status: 'not_found', providerStatus: 'ACQ.TRADE_NOT_EXIST' };
  throw failureOf('queryPayment', node);
}

export async function closeTrade(merchant: Merchant, paymentId: string, now: Date): Promise<CloseOutcome> {
  const node = await callGateway(
    merchant,
    'alipay.trade.close',
    AlipayTradeCloseResponseSchema,
    { out_trade_no: paymentId },
    now,
    'closePayment',
  );
  // Alipay creates the trade only when the buyer opens the pay page, confirms in the app or scans
  // the QR: no trade yet is not closed, the checkout may still be paid until its time_expire.
  if (node.code === ALIPAY_CODE_SUCCESS) return 'closed';
  if (isTradeNotExist(node)) return 'no_trade';
  if (node.sub_code === 'ACQ.TRADE_STATUS_ERROR') {
    throw new ProviderCallError(
      PROVIDER,
      'closePayment',
      'ACQ.TRADE_STATUS_ERROR: trade is already paid or closed',
      false,
    );
  }
  throw failureOf('closePayment', node);
}

/** A query's or close's failure: Alipay being busy is asked again later (ProviderBusyError), anything else is a call error. */
function failureOf(operation: string, node: AlipayResponseNode): ProviderCallError {
  return node.code === ALIPAY_CODE_UNAVAILABLE
    ? new ProviderBusyError(PROVIDER, operation, describeFailure(node))
    : new ProviderCallError(PROVIDER, operation, describeFailure(node));
}

// Refunds: every error is retryable (the outcome is unknown; the same out_request_no is safe to
// send again or to query), and only a refusal code from the gateway is `failed`.

function refusalOf(node: AlipayResponseNode): ProviderRefundState | undefined {
  if (!REFUSAL_CODES.has(node.code) || SYSTEM_ERROR_SUB_CODES.has(node.sub_code ?? '')) return undefined;
  const providerStatus = node.sub_code ?? node.code;
  return { status: 'failed', providerStatus, reason: `${providerStatus}${node.sub_msg ? `: ${node.sub_msg}` : ''}` };
}

/**
 * Done only when code 10000 AND fund_change Y; then this refund's amount is the one we asked for
 * (refund_fee is the trade's cumulative refunded amount, never this refund's). 10000 with
 * fund_change N (or none) is not a failure: most often a retry of a refund already done, so the
 * refund is asked for by query. Alipay answers refunds synchronously, so there is no refund id.
 */
export async function refundTrade(merchant: Merchant, request: RefundRequest): Promise<ProviderRefundState> {
  const bizContent: AlipayRefundBizContent = {
    out_trade_no: request.paymentId,
    refund_amount: fenToYuan(request.amount),
    out_request_no: request.refundId,
    ...(request.reason ? { refund_reason: request.reason } : {}),
  };
  const node = await callGateway(
    merchant,
    'alipay.trade.refund',
    AlipayTradeRefundResponseSchema,
    bizContent,
    request.now,
    'refund',
  );
  const fail = (message: string) => new ProviderCallError(PROVIDER, 'refund', message);
  if (node.code !== ALIPAY_CODE_SUCCESS) {
    const refusal = refusalOf(node);
    if (refusal) return refusal;
    throw fail(describeFailure(node));
  }
  if (node.out_trade_no !== undefined && node.out_trade_no !== request.paymentId)
    throw fail('answer is about another out_trade_no');
  if (node.fund_change !== 'Y') return queryRefund(merchant, { ...request, operation: 'refund' });
  const refundedTotal = yuanToFenOrUndefined(node.refund_fee ?? '');
  if (refundedTotal === undefined || refundedTotal < request.amount)
    throw fail('fund_change Y with a refund_fee below this refund');
  return {
    status: 'succeeded',
    amount: request.amount,
    // gmt_refund_pay is documented for this answer; when missing, the answer's time stands in.
    succeededAt: fromAlipayTime(node.gmt_refund_pay ?? '') ?? request.now.toISOString(),
    providerStatus: 'fund_change=Y',
  };
}

/**
 * REFUND_SUCCESS is done (refund_amount is this refund's); no refund_status means not done yet,
 * and equally that Alipay never received the refund: sending it again with the same number tells.
 * `code` 10000 says only that the query worked (an unknown number answers it too).
 */
export async function queryRefund(
  merchant: Merchant,
  {
    refundId,
    paymentId,
    now,
    operation = 'queryRefund',
  }: { refundId: string; paymentId: string; now: Date; operation?: 'refund' | 'queryRefund' },
): Promise<ProviderRefundState> {
  const bizContent: AlipayRefundQueryBizContent = {
    out_trade_no: paymentId,
    out_request_no: refundId,
    query_options: ['gmt_refund_pay'],
  };
  const node = await callGateway(
    merchant,
    'alipay.trade.fastpay.refund.query',
    AlipayRefundQueryResponseSchema,
    bizContent,
    now,
    operation,
  );
  const fail = (message: string) => new ProviderCallError(PROVIDER, operation, message);
  if (isTradeNotExist(node)) return { status: 'not_found', providerStatus: 'ACQ.TRADE_NOT_EXIST' };
  if (node.code !== ALIPAY_CODE_SUCCESS) throw fail(describeFailure(node));
  checkRefundAnswer(
    PROVIDER,
    operation,
    { refundId, paymentId },
    { refundId: node.out_request_no, paymentId: node.out_trade_no },
  );
  if (node.refund_status === undefined || node.refund_status === '')
    return { status: 'processing', providerStatus: 'refund_status absent' };
  if (node.refund_status !== ALIPAY_REFUND_SUCCESS) throw fail(`unknown refund_status ${node.refund_status}`);
  const amount = yuanToFenOrUndefined(node.refund_amount ?? '');
  if (amount === undefined) throw fail('REFUND_SUCCESS without a valid refund_amount');
  return {
    status: 'succeeded',
    amount,
    succeededAt: fromAlipayTime(node.gmt_refund_pay ?? '') ?? now.toISOString(),
    providerStatus: ALIPAY_REFUND_SUCCESS,
  };
}

/**
 * The day's bill: the signed bill-URL query, then a plain GET of its bill_download_url (valid 30
 * seconds; the file itself is neither signed nor hashed, so its footer totals are its only check,
 * see alipay-bill.ts). isp.bill_not_exist is `not_ready`: Alipay answers it alike for a day not
 * published yet and a day without trades, so only the caller's cut-off can tell the two apart.
 */
export async function fetchBill(
  merchant: Merchant,
  { date, now }: { date: BusinessDate; now: Date },
): Promise<BillFetch> {
  const bizContent: AlipayBillUrlQueryBizContent = { bill_type: 'trade', bill_date: date };
  const method = 'alipay.data.dataservice.bill.downloadurl.query';
  const node = await callGateway(merchant, method, AlipayBillUrlQueryResponseSchema, bizContent, now, 'fetchBill');
  if (node.code === ALIPAY_CODE_BUSINESS_FAILED && node.sub_code === ALIPAY_BILL_NOT_EXIST)
    return { status: 'not_ready', providerStatus: ALIPAY_BILL_NOT_EXIST };
  if (node.code !== ALIPAY_CODE_SUCCESS) throw new ProviderCallError(PROVIDER, 'fetchBill', describeFailure(node));
  const url = node.bill_download_url;
  if (!url) throw new ProviderCallError(PROVIDER, 'fetchBill', 'answer has no bill_download_url');
  const download = await merchant.send('fetchBill', () => ({ url, method: 'GET', headers: {}, binary: true }));
  // An expired URL answers an error: asking again gets a fresh one.
  if (download.status !== 200 || !download.bytes)
    throw new ProviderCallError(PROVIDER, 'fetchBill', `bill download answered HTTP ${download.status}`);
  // Loaded on first use: only the daily reconciliation reads bills, and fflate builds its tables at load.
  const { alipayBillFromZip } = await import('./bill');
  return { status: 'ready', bill: alipayBillFromZip(download.bytes, date) };
}
