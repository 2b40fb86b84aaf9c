import type { Fen } from '../../src/domain/money';
import type { SandboxCheckout, SandboxRefund } from './types';

/**
 * The trade bill file WeChat Pay serves, written from WeChat's side (independently of the
 * merchant's parser in src/providers/wechat/bill.ts): UTF-8 with a BOM, CRLF lines, the 27
 * `ALL` columns in WeChat's order, every data field and summary value prefixed with a backtick.
 * Refund lines carry 0.00 in the order amount columns and the refund's numbers and amounts.
 */

export const WECHAT_BILL_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;
type Column = (typeof WECHAT_BILL_COLUMNS)[number];

export const WECHAT_BILL_SUMMARY_COLUMNS = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
] as const;

/** bill_type: every line, the payments only, or the refunds only. */
export type WechatBillType = 'ALL' | 'SUCCESS' | 'REFUND';

/** The sandbox's fee: 0.6 %, shown by WeChat in yuan with 5 decimals (thousandths of a fen). */
const FEE_RATE_TEXT = '0.60%';
const FEE_MILLIFEN_PER_FEN = 6;

const REFUND_STATUS: Readonly<Record<SandboxRefund['state'], string>> = {
  processing: 'PROCESSING',
  succeeded: 'SUCCESS',
  failed: 'REFUNDCLOSE',
  // Money sent back elsewhere than the customer's original account.
  abnormal: 'CHANGE',
};

function yuan(amount: Fen): string {
  return `${Math.trunc(amount / 100)}.${String(amount % 100).padStart(2, '0')}`;
}

/** Thousandths of a fen → yuan with 5 decimals, signed (refund lines give the fee back). */
function feeYuan(millifen: number): string {
  const sign = millifen < 0 ? '-' : '';
  const magnitude = Math.abs(millifen);
  return `${sign}${Math.trunc(magnitude / 100_000)}.${String(magnitude % 100_000).padStart(5, '0')}`;
}

function beijingTime(instant: string): string {
  return new Date(Date.parse(instant) + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

interface BillLine {
  fields: Readonly<Partial<Record<Column, string>>>;
  settlement: Fen;
  refund: Fen;
  feeMillifen: number;
}

export interface WechatBillSource {
  appid: string;
  mchid: string;
  payments: readonly SandboxCheckout[];
  refunds: readonly { refund: SandboxRefund; checkout: SandboxCheckout }[];
  transactionIdOf(checkout: SandboxCheckout): string;
}

function commonFields(
  source: WechatBillSource,
  checkout: SandboxCheckout,
  time: string,
  status: string,
): Partial<Record<Column, string>> {
  return {
    交易时间: beijingTime(time),
    公众账号ID: source.appid,
    商户号: source.mchid,
    特约商户号: '0',
    微信订单号: source.transactionIdOf(checkout),
    商户订单号: checkout.paymentId,
    用户标识: 'sandbox-openid',
    交易类型: 'NATIVE',
    交易状态: status,
    付款银行: 'OTHERS',
    货币种类: checkout.currency,
    代金券金额: '0.00',
    充值券退款金额: '0.00',
    商品名称: checkout.description,
    费率: FEE_RATE_TEXT,
  };
}

function paymentLine(source: WechatBillSource, checkout: SandboxCheckout): BillLine {
  const feeMillifen = checkout.amount * FEE_MILLIFEN_PER_FEN;
  const fields = {
    ...commonFields(source, checkout, checkout.paidAt ?? '', 'SUCCESS'),
    应结订单金额: yuan(checkout.amount),
    微信退款单号: '0',
    商户退款单号: '0',
    退款金额: '0.00',
    手续费: feeYuan(feeMillifen),
    订单金额: yuan(checkout.amount),
    申请退款金额: '0.00',
  };
  return { fields, settlement: checkout.amount, refund: 0, feeMillifen };
}

/** Dated when it ended (or, still processing, was made): the time the sandbox's day window uses. */
function refundLine(source: WechatBillSource, { refund, checkout }: WechatBillSource['refunds'][number]): BillLine {
  const feeMillifen = -refund.amount * FEE_MILLIFEN_PER_FEN;
  const fields = {
    ...commonFields(source, checkout, refund.settledAt ?? refund.createdAt, 'REFUND'),
    应结订单金额: '0.00',
    微信退款单号: refund.key,
    // A console refund's number is WeChat's own (the store keeps refund_id as refundId for it).
    商户退款单号: refund.refundId ?? refund.key,
    退款金额: yuan(refund.amount),
    退款类型: 'ORIGINAL',
    退款状态: REFUND_STATUS[refund.state],
    手续费: feeYuan(feeMillifen),
    订单金额: '0.00',
    申请退款金额: yuan(refund.amount),
  };
  return { fields, settlement: 0, refund: refund.amount, feeMillifen };
}

const backticked = (values: readonly string[]) => values.map((value) => `\`${value}`).join(',');

/** The day's bill file, payments then refunds, each oldest first. */
export function wechatBillFile(source: WechatBillSource, billType: WechatBillType): Buffer {
  const lines = [
    ...(billType === 'REFUND' ? [] : source.payments.map((checkout) => paymentLine(source, checkout))),
    ...(billType === 'SUCCESS' ? [] : source.refunds.map((refund) => refundLine(source, refund))),
  ];
  const total = (pick: (line: BillLine) => number) => lines.reduce((sum, line) => sum + pick(line), 0);
  const summary = [
    String(lines.length),
    yuan(total((line) => line.settlement)),
    yuan(total((line) => line.refund)),
    '0.00',
    feeYuan(total((line) => line.feeMillifen)),
    yuan(total((line) => line.settlement)),
    yuan(total((line) => line.refund)),
  ];
  const text = [
    WECHAT_BILL_COLUMNS.join(','),
    ...lines.map((line) => backticked(WECHAT_BILL_COLUMNS.map((column) => line.fields[column] ?? ''))),
    WECHAT_BILL_SUMMARY_COLUMNS.join(','),
    backticked(summary),
  ].join('\r\n');
  return Buffer.from(`\uFEFF${text}\r\n`, 'utf8');
}
