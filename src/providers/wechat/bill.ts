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
import { CURRENCY } from '../../domain/money';

/**
 * WeChat Pay's daily trade bill (`bill_type=ALL`), read exactly (docs/PROVIDERS.md#bills): UTF-8
 * (a BOM first), CRLF lines, comma-separated; line 1 names the columns, then one line per payment
 * or refund with every field prefixed by a backtick, then the summary's column names and its
 * values (backticked too). Columns are found by name: WeChat says their order may change.
 */

/** 交易状态 of a payment row, → our payment status. */
const PAYMENT_STATUSES: Readonly<Record<string, BillPayment['status']>> = { SUCCESS: 'succeeded', REVOKED: 'reversed' };
/** 交易状态 of a refund row. */
const REFUND_ROW = 'REFUND';
/** 退款状态 → our refund status; anything else (CHANGE: sent elsewhere, REFUNDCLOSE…) did not return the money. */
const REFUND_STATUSES: Readonly<Record<string, BillRefund['status']>> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
};

const COLUMN = {
  time: '交易时间',
  transactionId: '微信订单号',
  paymentId: '商户订单号',
  tradeStatus: '交易状态',
  currency: '货币种类',
  settlementAmount: '应结订单金额',
  couponAmount: '代金券金额',
  providerRefundId: '微信退款单号',
  refundId: '商户退款单号',
  refundAmount: '退款金额',
  refundStatus: '退款状态',
  orderAmount: '订单金额',
  requestedRefundAmount: '申请退款金额',
} as const;
type ColumnKey = keyof typeof COLUMN;
/** 订单金额 is the only column a bill may lack: older bills had none (see `paymentAmount`). */
const OPTIONAL_COLUMNS: ReadonlySet<ColumnKey> = new Set(['orderAmount']);

const SUMMARY = {
  rowCount: '总交易单数',
  settlementAmount: '应结订单总金额',
  refundAmount: '退款总金额',
  orderAmount: '订单总金额',
  requestedRefundAmount: '申请退款总金额',
} as const;
type SummaryKey = keyof typeof SUMMARY;
const OPTIONAL_SUMMARY: ReadonlySet<SummaryKey> = new Set(['orderAmount', 'requestedRefundAmount']);

type Row = (key: ColumnKey) => string;

/** A line of names → where each wanted one is; a missing required name fails the whole bill. */
function locate<K extends string>(
  names: readonly string[],
  wanted: Readonly<Record<K, string>>,
  optional: ReadonlySet<K>,
  what: string,
): Map<K, number> {
  const positions = new Map<K, number>();
  for (const [key, name] of Object.entries(wanted) as [K, string][]) {
    const index = names.indexOf(name);
    if (index >= 0) positions.set(key, index);
    else if (!optional.has(key)) throw new BillFormatError(`the ${what} has no column ${name}`);
  }
  return positions;
}

/**
 * A backticked line → its fields. Split at ",`" rather than at every comma, so a comma inside a
 * field (a 商品名称 such as "Tea, green") stays in it; the count is then checked by the caller.
 */
function backtickedFields(line: string, lineNumber: number): string[] {
  if (!line.startsWith('`'))
    throw new BillFormatError(`line ${lineNumber} is not backticked as WeChat writes data lines`);
  return line.slice(1).split(',`');
}

function fen(text: string, column: string, lineNumber: number): number {
  try {
    return billYuanToFen(text);
  } catch {
    throw new BillFormatError(`line ${lineNumber}: ${column} ${JSON.stringify(text)} is not a yuan amount`);
  }
}

/**
 * What the customer's order came to: 订单金额. A bill without that column (or with it empty) says
 * only 应结订单金额 (订单金额 less non-cash coupons), which is the order's amount when no coupon was
 * used (代金券金额 0); with a coupon and no 订单金额, the order's amount cannot be told.
 */
function paymentAmount(row: Row, lineNumber: number): number {
  const order = row('orderAmount');
  if (order !== '') return fen(order, COLUMN.orderAmount, lineNumber);
  if (fen(row('couponAmount'), COLUMN.couponAmount, lineNumber) !== 0) {
    throw new BillFormatError(`line ${lineNumber}: no 订单金额 and a coupon was used: the order's amount is unknown`);
  }
  return fen(row('settlementAmount'), COLUMN.settlementAmount, lineNumber);
}

function billRow(row: Row, lineNumber: number): BillRow {
  if (row('currency') !== CURRENCY)
    throw new BillFormatError(`line ${lineNumber}: 货币种类 ${row('currency')}, expected ${CURRENCY}`);
  const tradeStatus = row('tradeStatus');
  const common = {
    paymentId: row('paymentId'),
    providerTransactionId: row('transactionId'),
    finishedAt: beijingTimeToIso(row('time')),
  };
  if (!common.paymentId || !common.providerTransactionId)
    throw new BillFormatError(`line ${lineNumber}: no 商户订单号 or 微信订单号`);
  const paymentStatus = PAYMENT_STATUSES[tradeStatus];
  if (paymentStatus) {
    return {
      kind: 'payment',
      ...common,
      amount: paymentAmount(row, lineNumber),
      status: paymentStatus,
      providerStatus: tradeStatus,
    };
  }
  if (tradeStatus !== REFUND_ROW)
    throw new BillFormatError(
      `line ${lineNumber}: 交易状态 ${JSON.stringify(tradeStatus)} is neither a payment nor a refund`,
    );
  const refundId = row('refundId');
  const providerRefundId = row('providerRefundId');
  if (!refundId || refundId === '0') throw new BillFormatError(`line ${lineNumber}: a refund row without 商户退款单号`);
  const refundStatus = row('refundStatus');
  return {
    kind: 'refund',
    ...common,
    refundId,
    ...(providerRefundId && providerRefundId !== '0' ? { providerRefundId } : {}),
    amount: fen(row('requestedRefundAmount'), COLUMN.requestedRefundAmount, lineNumber),
    status: REFUND_STATUSES[refundStatus] ?? 'failed',
    providerStatus: refundStatus,
  };
}

/**
 * The summary against the rows. Each checked total is the sum of its column over every data line,
 * whatever a refund line carries in a payment column and the other way round, so the check does
 * not depend on how WeChat fills the other kind's columns: 总交易单数 (every line, payments and
 * refunds), 应结订单总金额, 退款总金额, and, when present, 订单总金额 and 申请退款总金额. The fee
 * totals (5 decimals) are not read.
 */
function checkSummary(
  names: string[],
  values: string[],
  lines: { row: Row; lineNumber: number }[],
  columns: ReadonlyMap<ColumnKey, number>,
  valuesLine: number,
): void {
  const positions = locate(names, SUMMARY, OPTIONAL_SUMMARY, 'summary');
  if (values.length !== names.length)
    throw new BillFormatError(`line ${valuesLine}: ${values.length} summary values for ${names.length} names`);
  for (const [key, index] of positions) {
    const stated = values[index] ?? '';
    if (key === 'rowCount') {
      // A count, written as an integer or with zero decimals (`45.0`, as in wechatpay-axios-plugin's fixture).
      const count = /^(\d+)(?:\.0+)?$/.exec(stated);
      if (!count || Number(count[1]) !== lines.length)
        throw new BillFormatError(`总交易单数 is ${stated}, the bill has ${lines.length} lines`);
      continue;
    }
    // Each amount total sums the column of the same key; a bill without 订单金额 cannot be checked against 订单总金额.
    const column: ColumnKey = key;
    if (!columns.has(column)) continue;
    const counted = lines.reduce(
      (sum, { row, lineNumber }) => sum + fen(row(column) || '0', COLUMN[column], lineNumber),
      0,
    );
    if (fen(stated, SUMMARY[key], valuesLine) !== counted)
      throw new BillFormatError(`${SUMMARY[key]} is ${stated}, the lines add up to ${counted} fen`);
  }
}

/** The bill's text (already UTF-8 decoded) → its rows, checked against its own summary. */
export function parseWechatBill(text: string, date: BusinessDate): ProviderBill {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.at(-1) === '') lines.pop();
  if (lines.length < 3)
    throw new BillFormatError(
      `a WeChat bill has a header, a summary header and summary values; this one has ${lines.length} lines`,
    );
  const names = (lines[0] ?? '').split(',');
  const positions = locate(names, COLUMN, OPTIONAL_COLUMNS, 'bill');
  const summaryHeader = lines.length - 2;

  const data = lines.slice(1, summaryHeader).map((line, index) => {
    const lineNumber = index + 2;
    const fields = backtickedFields(line, lineNumber);
    if (fields.length !== names.length)
      throw new BillFormatError(`line ${lineNumber}: ${fields.length} fields for ${names.length} columns`);
    const row: Row = (key) => {
      const position = positions.get(key);
      return position === undefined ? '' : (fields[position] ?? '').trim();
    };
    return { row, lineNumber };
  });
  const rows = data.map(({ row, lineNumber }) => billRow(row, lineNumber));
  checkSummary(
    (lines[summaryHeader] ?? '').split(','),
    backtickedFields(lines[summaryHeader + 1] ?? '', summaryHeader + 2),
    data,
    positions,
    summaryHeader + 2,
  );

  const payments = rows.filter((row) => row.kind === 'payment');
  const sum = (some: BillRow[]) => some.reduce((total, row) => total + row.amount, 0);
  return {
    provider: 'wechat',
    date,
    rows,
    totals: {
      paymentCount: payments.length,
      paymentAmount: sum(payments),
      refundAmount: sum(rows.filter((row) => row.kind === 'refund')),
    },
  };
}
