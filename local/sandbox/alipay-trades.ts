import { createHash } from 'node:crypto';
import * as z from 'zod';
import { type BusinessDate, isBusinessDate } from '../../src/domain/bill';
import { fenToYuan, yuanToFen, type Fen } from '../../src/domain/money';
import {
  ALIPAY_CODE_BUSINESS_FAILED,
  ALIPAY_CODE_INVALID_ARGUMENTS,
  ALIPAY_CODE_SUCCESS,
  ALIPAY_REFUND_SUCCESS,
  toAlipayTime,
  type AlipayRefundQueryResponse,
  type AlipayTradeCloseResponse,
  type AlipayTradeQueryResponse,
  type AlipayTradeRefundResponse,
  type AlipayTradeStatus,
} from '../../src/providers/alipay';
import type { AlipayBillLine } from './alipay-bill';
import type { CheckoutStore, RefundRefusal, SandboxCheckout, SandboxResponse } from './types';

/**
 * The Alipay sandbox's trade API (alipay.ts dispatches to it): query, close, refund, refund query and
 * the day's bill lines, with the gateway's error answers.
 */

/** Checkout state → trade_status. Alipay has no failed state: an unpaid trade ends closed. */
export const TRADE_STATUS: Readonly<Record<SandboxCheckout['state'], AlipayTradeStatus>> = {
  pending: 'WAIT_BUYER_PAY',
  paid: 'TRADE_SUCCESS',
  failed: 'TRADE_CLOSED',
  closed: 'TRADE_CLOSED',
};

export interface GatewayError {
  code: string;
  msg: string;
  sub_code: string;
  sub_msg: string;
}

export function invalidArguments(sub_code: string, sub_msg: string): GatewayError {
  return { code: ALIPAY_CODE_INVALID_ARGUMENTS, msg: 'Invalid Arguments', sub_code, sub_msg };
}

export function businessFailed(sub_code: string, sub_msg: string): GatewayError {
  return { code: ALIPAY_CODE_BUSINESS_FAILED, msg: 'Business Failed', sub_code, sub_msg };
}

export function textError(statusCode: number, error: GatewayError): SandboxResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: `${error.sub_code}: ${error.sub_msg}`,
  };
}

export const TradeRefSchema = z.object({ out_trade_no: z.string().min(1) });
const RefundBizContentSchema = TradeRefSchema.extend({
  refund_amount: z.string(),
  // Optional at Alipay, which then uses out_trade_no (a single, full refund).
  out_request_no: z.string().min(1).max(64).optional(),
  refund_reason: z.string().max(256).optional(),
});
const RefundQueryBizContentSchema = TradeRefSchema.extend({
  out_request_no: z.string().min(1),
  query_options: z.array(z.string()).optional(),
});

export const BILL_URL_METHOD = 'alipay.data.dataservice.bill.downloadurl.query';
export const API_METHODS = new Set([
  'alipay.trade.query',
  'alipay.trade.close',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.trade.precreate',
  'alipay.trade.create',
  BILL_URL_METHOD,
]);

export const BillUrlQueryBizContentSchema = z.object({
  bill_type: z.literal('trade'),
  bill_date: z.string().refine(isBusinessDate),
});
export const BILL_DOWNLOAD_PATH = '/downloadBillFile.resource';
export const BILL_URL_TTL_MS = 30_000;

/**
 * The simulator's own absolute address (`<public base>/sandbox/alipay`), read off the store's
 * checkout page URL (`<public base>/sandbox/checkout/<id>`): the sandbox serves both, and
 * bill_download_url must be absolute.
 */
export function simulatorBase(store: CheckoutStore): string {
  return new URL('../alipay', store.checkoutUrl('_')).href;
}

const REFUND_REFUSALS: Readonly<Record<RefundRefusal, [string, string]>> = {
  not_found: ['ACQ.TRADE_NOT_EXIST', 'trade does not exist'],
  not_paid: ['ACQ.TRADE_STATUS_ERROR', 'trade is not paid'],
  exceeds_refundable: ['ACQ.REASON_TRADE_REFUND_FEE_ERR', 'refund amount is more than the refundable amount'],
  number_reused: ['ACQ.DISCORDANT_REPEAT_REQUEST', 'out_request_no was used with other parameters'],
};
export const PayBizContentSchema = TradeRefSchema.extend({
  total_amount: z.string(),
  subject: z.string().min(1),
  product_code: z.string(),
  time_expire: z.string(),
});

export function parseBizContent<T>(params: ReadonlyMap<string, string>, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(params.get('biz_content') ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function amountOf(yuan: string): Fen | undefined {
  try {
    const fen = yuanToFen(yuan);
    return fen > 0 ? fen : undefined;
  } catch {
    return undefined;
  }
}

/** A stable 28-digit trade_no for checkouts the sandbox page marked paid without one. */
export function tradeNo(checkout: SandboxCheckout): string {
  if (checkout.transactionId) return checkout.transactionId;
  const digest = BigInt(`0x${createHash('sha256').update(checkout.paymentId).digest('hex')}`);
  return `2025${digest.toString().slice(0, 24)}`;
}

export function alipayCheckout(store: CheckoutStore, paymentId: string): SandboxCheckout | undefined {
  const checkout = store.get(paymentId);
  return checkout?.provider === 'alipay' ? checkout : undefined;
}

/** A paid trade refunded in full is TRADE_CLOSED. */
function tradeStatus(checkout: SandboxCheckout, store: CheckoutStore): AlipayTradeStatus {
  const fullyRefunded =
    checkout.state === 'paid' && store.refunds.refundedAmount(checkout.paymentId) === checkout.amount;
  return fullyRefunded ? 'TRADE_CLOSED' : TRADE_STATUS[checkout.state];
}

export function queryTrade(
  checkout: SandboxCheckout | undefined,
  store: CheckoutStore,
  now: Date,
): AlipayTradeQueryResponse {
  if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
  const paid = checkout.state === 'paid';
  return {
    code: ALIPAY_CODE_SUCCESS,
    msg: 'Success',
    trade_no: tradeNo(checkout),
    out_trade_no: checkout.paymentId,
    trade_status: tradeStatus(checkout, store),
    total_amount: fenToYuan(checkout.amount),
    ...(paid && {
      buyer_pay_amount: fenToYuan(checkout.amount),
      send_pay_date: toAlipayTime(new Date(checkout.paidAt ?? now)),
    }),
  };
}

export function closeTrade(checkout: SandboxCheckout | undefined, store: CheckoutStore): AlipayTradeCloseResponse {
  if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
  // Only a trade awaiting payment can be closed.
  if (checkout.state !== 'pending')
    return businessFailed('ACQ.TRADE_STATUS_ERROR', `trade is ${TRADE_STATUS[checkout.state]}`);
  store.put({ ...checkout, state: 'closed' });
  return { code: ALIPAY_CODE_SUCCESS, msg: 'Success', trade_no: tradeNo(checkout), out_trade_no: checkout.paymentId };
}

/** alipay.trade.refund: a number seen before answers that refund (fund_change N), never a second one. */
export function refundTrade(
  params: ReadonlyMap<string, string>,
  store: CheckoutStore,
  now: Date,
): AlipayTradeRefundResponse {
  const biz = parseBizContent(params, RefundBizContentSchema);
  const amount = biz && amountOf(biz.refund_amount);
  if (!biz || amount === undefined) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content is invalid');
  const checkout = alipayCheckout(store, biz.out_trade_no);
  const refundId = biz.out_request_no ?? biz.out_trade_no;
  const refuse = (refusal: RefundRefusal) => businessFailed(...REFUND_REFUSALS[refusal]);
  if (!checkout) return refuse('not_found');
  const isNew = !store.refunds.find(refundId);
  const { outcome } = store.refunds;
  if (isNew && outcome === 'fail' && checkout.state === 'paid')
    return businessFailed('ACQ.SELLER_BALANCE_NOT_ENOUGH', 'the seller balance is not enough');
  const settle = outcome === 'abnormal' ? 'never' : 'now';
  const opened = store.refunds.open(
    { paymentId: checkout.paymentId, refundId, amount, reason: biz.refund_reason, settle },
    now,
  );
  if (opened.result === 'refused') return refuse(opened.refusal);
  const { refund } = opened;
  const moved = opened.result === 'opened' && refund.state === 'succeeded';
  return {
    code: ALIPAY_CODE_SUCCESS,
    msg: 'Success',
    trade_no: tradeNo(checkout),
    out_trade_no: checkout.paymentId,
    buyer_logon_id: '159****5620',
    fund_change: moved ? 'Y' : 'N',
    // Cumulative: everything refunded on the trade so far.
    refund_fee: fenToYuan(store.refunds.refundedAmount(checkout.paymentId)),
    ...(refund.state === 'succeeded' ? { gmt_refund_pay: toAlipayTime(new Date(refund.settledAt ?? now)) } : {}),
  };
}

/** alipay.trade.fastpay.refund.query: refund_status only once the refund has succeeded. */
export function queryRefund(params: ReadonlyMap<string, string>, store: CheckoutStore): AlipayRefundQueryResponse {
  const biz = parseBizContent(params, RefundQueryBizContentSchema);
  if (!biz) return businessFailed('ACQ.INVALID_PARAMETER', 'biz_content.out_trade_no or out_request_no is missing');
  const checkout = alipayCheckout(store, biz.out_trade_no);
  if (!checkout) return businessFailed('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
  const found = store.refunds.find(biz.out_request_no);
  const refund = found?.paymentId === checkout.paymentId && found.state === 'succeeded' ? found : undefined;
  const base = {
    code: ALIPAY_CODE_SUCCESS,
    msg: 'Success',
    trade_no: tradeNo(checkout),
    out_trade_no: checkout.paymentId,
    out_request_no: biz.out_request_no,
  };
  if (!refund) return base;
  const withTime = biz.query_options?.includes('gmt_refund_pay') && refund.settledAt;
  return {
    ...base,
    total_amount: fenToYuan(checkout.amount),
    refund_amount: fenToYuan(refund.amount),
    refund_status: ALIPAY_REFUND_SUCCESS,
    ...(withTime ? { gmt_refund_pay: toAlipayTime(new Date(refund.settledAt ?? '')) } : {}),
  };
}

/**
 * The day's lines: its paid trades and the refunds that moved money in it (Alipay bills no
 * unfinished refund). A console refund has no out_request_no; the refund's sandbox key stands in
 * as Alipay's own batch number, the number the merchant then sees for it.
 */
export function billLines(store: CheckoutStore, date: BusinessDate): AlipayBillLine[] {
  const { payments, refunds } = store.activity('alipay', date);
  const trades = payments.map((checkout): AlipayBillLine => {
    const paidAt = new Date(checkout.paidAt ?? 0);
    const common = { tradeNo: tradeNo(checkout), outTradeNo: checkout.paymentId, subject: checkout.description };
    return {
      ...common,
      businessType: '交易',
      createdAt: paidAt,
      finishedAt: paidAt,
      amount: checkout.amount,
      refundBatchNo: '',
    };
  });
  const refundLines = refunds.flatMap((refund): AlipayBillLine[] => {
    const checkout = alipayCheckout(store, refund.paymentId);
    if (!checkout || refund.state !== 'succeeded') return [];
    const refundedAt = new Date(refund.settledAt ?? refund.createdAt);
    return [
      {
        tradeNo: tradeNo(checkout),
        outTradeNo: checkout.paymentId,
        subject: checkout.description,
        businessType: '退款',
        createdAt: new Date(refund.createdAt),
        finishedAt: refundedAt,
        amount: -refund.amount,
        refundBatchNo: refund.refundId ?? refund.key,
      },
    ];
  });
  return [...trades, ...refundLines].sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime());
}
