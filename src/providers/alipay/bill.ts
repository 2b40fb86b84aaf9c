import { unzipSync, type UnzipFileInfo } from 'fflate';
import {
  BillFormatError,
  beijingTimeToIso,
  billYuanToFen,
  type BillPayment,
  type BillRefund,
  type BillRow,
  type BusinessDate,
  type ProviderBill,
} from '../../domain/bill';

/**
 * Alipay's daily trade bill (docs/PROVIDERS.md#alipay-bills): a ZIP of GBK CSV files, read here
 * into the normalised ProviderBill. Pure: bytes or text in, bill out, BillFormatError when the
 * file does not read as Alipay's format or its footer totals disagree with its rows.
 */

/**
 * No entry may declare more than this many bytes, compressed or not: a day's detail file is about
 * 300 bytes a row, so 64 MiB is some 200 000 rows; beyond it we refuse rather than inflate (a zip
 * bomb). fflate inflates an entry into a buffer of its declared size and never grows it, so memory
 * stays within the bound whatever the data holds; an entry that inflates to less than it declared
 * is refused, and one that would inflate to more is cut at its declared size, which loses the
 * footer and so fails the footer check.
 */
export const ALIPAY_BILL_MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** The columns we read, by their header names (full-width parentheses, as Alipay writes them). */
export const ALIPAY_BILL_COLUMNS = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  businessType: '业务类型',
  finishedAt: '完成时间',
  orderAmount: '订单金额（元）',
  merchantReceived: '商家实收（元）',
  merchantDiscount: '商家优惠（元）',
  refundBatchNo: '退款批次号/请求号',
} as const;
type Column = keyof typeof ALIPAY_BILL_COLUMNS;

const DETAIL_ENTRY = /^(?:.*\/)?(\d+)_(\d{8})_业务明细\.csv$/;
const GBK = new TextDecoder('gbk', { fatal: true });

/**
 * The ZIP's entry names are GBK bytes without the UTF-8 flag, which fflate reads as latin1: the
 * latin1 code units are those bytes again. A name fflate read as UTF-8 (flagged) is kept as read.
 */
function entryName(name: string): string {
  if ([...name].some((char) => char.charCodeAt(0) > 0xff)) return name;
  try {
    return GBK.decode(Buffer.from(name, 'latin1'));
  } catch {
    return name;
  }
}

/** The detail file of the day's ZIP, decoded from GBK. */
export function alipayBillDetailText(zip: Uint8Array, date: BusinessDate): string {
  const declaredSizes = new Map<string, number>();
  const isDetail = (file: UnzipFileInfo) => {
    if (file.size > ALIPAY_BILL_MAX_ENTRY_BYTES || file.originalSize > ALIPAY_BILL_MAX_ENTRY_BYTES) {
      throw new BillFormatError(
        `ZIP entry ${entryName(file.name)} declares more than ${ALIPAY_BILL_MAX_ENTRY_BYTES} bytes`,
      );
    }
    if (!DETAIL_ENTRY.test(entryName(file.name))) return false;
    declaredSizes.set(file.name, file.originalSize);
    return true;
  };
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, { filter: isDetail });
  } catch (error) {
    if (error instanceof BillFormatError) throw error;
    throw new BillFormatError(`not a readable ZIP: ${error instanceof Error ? error.message : String(error)}`);
  }
  const details = Object.entries(entries);
  if (details.length !== 1)
    throw new BillFormatError(`expected one <pid>_<yyyyMMdd>_业务明细.csv in the ZIP, found ${details.length}`);
  const [[name, bytes]] = details as [[string, Uint8Array]];
  if (bytes.length !== declaredSizes.get(name))
    throw new BillFormatError(`${entryName(name)} inflates to other than its declared size`);
  const day = DETAIL_ENTRY.exec(entryName(name))?.[2];
  if (day !== date.replaceAll('-', '')) throw new BillFormatError(`the ZIP holds the bill of ${day}, not of ${date}`);
  try {
    return GBK.decode(bytes);
  } catch {
    throw new BillFormatError('the detail file is not GBK text');
  }
}

/** ZIP bytes as downloaded → the day's bill. */
export function alipayBillFromZip(zip: Uint8Array, date: BusinessDate): ProviderBill {
  return parseAlipayBill(alipayBillDetailText(zip, date), date);
}

/**
 * One CSV line's fields, double quotes honoured. Every field is trimmed of spaces and TABs: Alipay
 * ends id fields with a TAB (so spreadsheets keep long numbers as text).
 */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted && char === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      fields.push(field.trim());
      field = '';
    } else field += char;
  }
  if (quoted) throw new BillFormatError(`unterminated quote in ${JSON.stringify(line)}`);
  fields.push(field.trim());
  return fields;
}

const START_DATE = /起始日期：\[(\d{4})年(\d{2})月(\d{2})日/;
/**
 * A footer line's totals, in either wording Alipay has published: today's sums 商家实收 and
 * 商家优惠; the older one (`#交易合计：4笔，交易金额共0.08元，优惠金额共0.00元`) sums 订单金额 and
 * 订单金额 less 商家实收. Each total is checked against its rows, signed as written.
 */
interface FooterWording {
  pattern: RegExp;
  sums: readonly [(row: Row) => number, (row: Row) => number];
}

const received = (row: Row) => fen(row.merchantReceived);
const ordered = (row: Row) => fen(row.orderAmount);
const CURRENT_SUMS = [received, (row: Row) => fen(row.merchantDiscount)] as const;
const OLDER_SUMS = [ordered, (row: Row) => ordered(row) - received(row)] as const;

const FOOTERS: Readonly<Record<'交易' | '退款', readonly FooterWording[]>> = {
  交易: [
    { pattern: /^#交易合计：(\d+)笔，商家实收共(-?[\d.]+)元，商家优惠共(-?[\d.]+)元/, sums: CURRENT_SUMS },
    { pattern: /^#交易合计：(\d+)笔，交易金额共(-?[\d.]+)元，优惠金额共(-?[\d.]+)元/, sums: OLDER_SUMS },
  ],
  退款: [
    { pattern: /^#退款合计：(\d+)笔，商家实收退款共(-?[\d.]+)元，商家优惠退款共(-?[\d.]+)元/, sums: CURRENT_SUMS },
    { pattern: /^#退款合计：(\d+)笔，交易退款金额共(-?[\d.]+)元，优惠退款金额共(-?[\d.]+)元/, sums: OLDER_SUMS },
  ],
};

interface Totals {
  count: number;
  stated: readonly [number, number];
  sums: FooterWording['sums'];
}

function footerTotals(lines: readonly string[], businessType: '交易' | '退款'): Totals {
  for (const line of lines) {
    for (const { pattern, sums } of FOOTERS[businessType]) {
      const match = pattern.exec(line);
      if (match) return { count: Number(match[1]), stated: [fen(match[2] ?? ''), fen(match[3] ?? '')], sums };
    }
  }
  throw new BillFormatError(`the footer has no ${businessType}合计 line`);
}

function fen(yuan: string): number {
  try {
    return billYuanToFen(yuan);
  } catch {
    throw new BillFormatError(`not a yuan amount: ${JSON.stringify(yuan)}`);
  }
}

type Row = Readonly<Record<Column, string>>;

function rowReader(header: readonly string[]): (fields: readonly string[]) => Row {
  const index = Object.fromEntries(
    Object.entries(ALIPAY_BILL_COLUMNS).map(([column, name]) => {
      const at = header.indexOf(name);
      if (at < 0) throw new BillFormatError(`the header row has no column ${name}`);
      return [column, at];
    }),
  ) as Record<Column, number>;
  return (fields) => {
    if (fields.length !== header.length)
      throw new BillFormatError(`a row has ${fields.length} fields, the header ${header.length}`);
    return Object.fromEntries(Object.entries(index).map(([column, at]) => [column, fields[at] ?? ''])) as Row;
  };
}

function required(row: Row, column: Column): string {
  if (!row[column]) throw new BillFormatError(`a ${row.businessType} row has no ${ALIPAY_BILL_COLUMNS[column]}`);
  return row[column];
}

/** 交易 → a payment (positive amounts); 退款 → a refund (negative amounts, turned positive). */
function billRow(row: Row): BillRow {
  const ids = { paymentId: required(row, 'outTradeNo'), providerTransactionId: required(row, 'tradeNo') };
  const amount = fen(row.orderAmount);
  const finishedAt = beijingTimeToIso(row.finishedAt);
  if (row.businessType === '交易') {
    if (amount <= 0)
      throw new BillFormatError(`payment ${ids.paymentId} has a non-positive 订单金额 ${row.orderAmount}`);
    const payment: BillPayment = {
      kind: 'payment',
      ...ids,
      amount,
      status: 'succeeded',
      finishedAt,
      providerStatus: '交易',
    };
    return payment;
  }
  if (row.businessType === '退款') {
    if (amount >= 0)
      throw new BillFormatError(`refund of ${ids.paymentId} has a non-negative 订单金额 ${row.orderAmount}`);
    const refundId = required(row, 'refundBatchNo');
    const refund: BillRefund = {
      kind: 'refund',
      refundId,
      ...ids,
      amount: -amount,
      status: 'succeeded',
      finishedAt,
      providerStatus: '退款',
    };
    return refund;
  }
  throw new BillFormatError(`unknown 业务类型 ${JSON.stringify(row.businessType)}`);
}

/** The footer's count and its two sums (signed, as written) must be the rows'. */
function checkTotals(rows: readonly Row[], businessType: '交易' | '退款', footer: Totals): void {
  const ofType = rows.filter((row) => row.businessType === businessType);
  const found = [ofType.length, ...footer.sums.map((sum) => ofType.reduce((total, row) => total + sum(row), 0))];
  const stated = [footer.count, ...footer.stated];
  if (found.some((value, index) => value !== stated[index])) {
    throw new BillFormatError(
      `the ${businessType} footer says ${JSON.stringify(stated)} (count, fen, fen) but the rows add up to ${JSON.stringify(found)}`,
    );
  }
}

/**
 * The detail file's text (already decoded from GBK) → the day's bill. Layout: `#` lines (title,
 * account, 起始日期/终止日期, a separator), the header row, the data rows, `#` footer lines
 * (separator, 交易合计, 退款合计, 导出时间). The footer's totals are checked against the rows
 * (counts, 商家实收 and 商家优惠 per 业务类型); `totals` then sums the rows' 订单金额, the amount
 * the rows carry.
 */
export function parseAlipayBill(detailCsvText: string, date: BusinessDate): ProviderBill {
  const lines = detailCsvText
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  const start = lines.find((line) => line.startsWith('#') && START_DATE.test(line))?.match(START_DATE);
  if (!start) throw new BillFormatError('the header lines have no 起始日期');
  if (`${start[1]}-${start[2]}-${start[3]}` !== date)
    throw new BillFormatError(`the bill starts on ${start[1]}-${start[2]}-${start[3]}, not ${date}`);

  const headerAt = lines.findIndex((line) => !line.startsWith('#'));
  if (headerAt < 0) throw new BillFormatError('the file has no header row');
  const read = rowReader(csvFields(lines[headerAt] ?? ''));
  const body = lines.slice(headerAt + 1);
  const footerAt = body.findIndex((line) => line.startsWith('#'));
  const dataLines = footerAt < 0 ? body : body.slice(0, footerAt);
  const footer = footerAt < 0 ? [] : body.slice(footerAt);
  if (footer.some((line) => !line.startsWith('#'))) throw new BillFormatError('a data row follows the footer');

  const rows = dataLines.map((line) => read(csvFields(line)));
  const billRows = rows.map(billRow);
  checkTotals(rows, '交易', footerTotals(footer, '交易'));
  checkTotals(rows, '退款', footerTotals(footer, '退款'));
  const amountOf = (kind: BillRow['kind']) =>
    billRows.filter((row) => row.kind === kind).reduce((total, row) => total + row.amount, 0);
  return {
    provider: 'alipay',
    date,
    rows: billRows,
    totals: {
      paymentCount: billRows.filter((row) => row.kind === 'payment').length,
      paymentAmount: amountOf('payment'),
      refundAmount: amountOf('refund'),
    },
  };
}
