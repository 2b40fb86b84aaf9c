import { businessDayWindow, type BusinessDate } from '../../src/domain/bill';
import { fenToYuan, type Fen } from '../../src/domain/money';
import { toAlipayTime } from '../../src/providers/alipay';
import { encodeGbk } from './gbk';
import { writeZip } from './zip';

/**
 * Alipay's daily trade bill as its servers write it: a ZIP of two GBK CSV files with GBK names,
 * `<pid>_<yyyyMMdd>_业务明细.csv` (one row per trade or refund) and `<pid>_<yyyyMMdd>_业务明细(汇总).csv`
 * (the day's totals). Written from docs/PROVIDERS.md#alipay-bills, independently of the merchant's
 * parser (src/providers/alipay/bill.ts).
 */

/** One row of the detail file. */
export interface AlipayBillLine {
  tradeNo: string;
  outTradeNo: string;
  businessType: '交易' | '退款';
  subject: string;
  createdAt: Date;
  finishedAt: Date;
  /** Signed fen: a refund's is negative. */
  amount: Fen;
  /** The refund's out_request_no (or Alipay's own batch number); empty on a trade. */
  refundBatchNo: string;
}

const DETAIL_HEADER = [
  '支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号', '门店名称', '操作员', '终端号', '对方账户',
  '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）', '支付宝优惠（元）', '商家优惠（元）', '券核销金额（元）', '券名称',
  '商家红包消费金额（元）', '卡消费金额（元）', '退款批次号/请求号', '服务费（元）', '分润（元）', '备注',
]; // prettier-ignore
const SUMMARY_HEADER =
  '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）';
const BUYER_ACCOUNT = '159****5620';

function signedYuan(fen: Fen): string {
  return `${fen < 0 ? '-' : ''}${fenToYuan(Math.abs(fen))}`;
}

/** 2026-11-27 → 2026年11月27日 00:00:00, Alipay's way of writing a Beijing time in its `#` lines. */
function chineseTime(instant: Date): string {
  const [day = '', time = ''] = toAlipayTime(instant).split(' ');
  const [year, month, date] = day.split('-');
  return `${year}年${month}月${date}日 ${time}`;
}

/** A text field: quoted when it holds a comma or quote, on one line. */
function textField(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return /[",]/.test(oneLine) ? `"${oneLine.replaceAll('"', '""')}"` : oneLine;
}

/** Id fields end with a TAB, as Alipay writes them (spreadsheets then keep long numbers as text). */
function detailRow(line: AlipayBillLine): string {
  const yuan = signedYuan(line.amount);
  const zero = '0.00';
  return [
    `${line.tradeNo}\t`, `${line.outTradeNo}\t`, `${line.businessType}\t`, textField(line.subject), toAlipayTime(line.createdAt),
    toAlipayTime(line.finishedAt), '\t', '\t', '\t', '\t', `${BUYER_ACCOUNT}\t`, yuan, yuan, zero, zero, zero, zero, zero, '', `${zero}\t`,
    zero, `${line.refundBatchNo}\t`, zero, zero, '',
  ].join(','); // prettier-ignore
}

function headLines(title: string, pid: string, date: BusinessDate, list: string): string[] {
  const { start, end } = businessDayWindow(date);
  return [
    `#支付宝${title}查询`,
    `#账号：[${pid}]`,
    `#起始日期：[${chineseTime(start)}]   终止日期：[${chineseTime(end)}]`,
    `#-----------------------------------------${list}----------------------------------------`,
  ];
}

/** The detail and summary files' text for a day's lines (trades and refunds, oldest first). */
export function alipayBillFiles(
  pid: string,
  date: BusinessDate,
  lines: readonly AlipayBillLine[],
  exportedAt: Date,
): { detail: string; summary: string } {
  const trades = lines.filter((line) => line.businessType === '交易');
  const refunds = lines.filter((line) => line.businessType === '退款');
  const sum = (of: readonly AlipayBillLine[]) => of.reduce((total, line) => total + line.amount, 0);
  const exported = `#导出时间：[${chineseTime(exportedAt)}]`;
  const detail = [
    ...headLines('业务明细', pid, date, '业务明细列表'),
    DETAIL_HEADER.join(','),
    ...lines.map(detailRow),
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${trades.length}笔，商家实收共${signedYuan(sum(trades))}元，商家优惠共0.00元`,
    `#退款合计：${refunds.length}笔，商家实收退款共${signedYuan(sum(refunds))}元，商家优惠退款共0.00元`,
    exported,
  ];
  const net = signedYuan(sum(lines));
  const summary = [
    ...headLines('业务汇总', pid, date, '业务汇总列表'),
    SUMMARY_HEADER,
    `合计,,${trades.length},${refunds.length},${net},${net},0.00,0.00,0.00,0.00,0.00,${net}`,
    '#-----------------------------------------业务汇总列表结束------------------------------------',
    exported,
  ];
  return { detail: `${detail.join('\r\n')}\r\n`, summary: `${summary.join('\r\n')}\r\n` };
}

/** The ZIP Alipay serves at bill_download_url, everything in GBK. */
export function alipayBillZip(
  pid: string,
  date: BusinessDate,
  lines: readonly AlipayBillLine[],
  exportedAt: Date,
): Buffer {
  const { detail, summary } = alipayBillFiles(pid, date, lines, exportedAt);
  const stem = `${pid}_${date.replaceAll('-', '')}_业务明细`;
  return writeZip(
    [
      { name: encodeGbk(`${stem}.csv`), data: encodeGbk(detail) },
      { name: encodeGbk(`${stem}(汇总).csv`), data: encodeGbk(summary) },
    ],
    exportedAt,
  );
}
