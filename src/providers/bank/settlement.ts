import * as z from 'zod/mini';
import '../../core/kernel/zod-english';
import {
  BillFormatError,
  businessDayWindow,
  type BillPayment,
  type BillRefund,
  type BillRow,
  type BusinessDate,
  type ProviderBill,
} from '../../domain/bill';
import { CURRENCY, isFen } from '../../domain/money';

/**
 * The bank's daily settlement report (docs/PROVIDERS.md#bank-settlement-report): a UTF-8 RFC 4180
 * CSV of the Beijing day's payments and refunds, a header row naming the columns, and a
 * `#totals` trailer of control totals. Amounts are integers of minor units (fen), as everywhere
 * in the bank's API. Pure: no I/O; the download and its signature are in ./bank.ts.
 */

/** The columns we read, found by name in the header row (others are ignored, in any order). */
export const BANK_SETTLEMENT_COLUMNS = [
  'record_type',
  'transaction_id',
  'merchant_reference',
  'refund_id',
  'bank_refund_id',
  'amount',
  'currency',
  'status',
  'booked_at',
] as const;
type Column = (typeof BANK_SETTLEMENT_COLUMNS)[number];

/** First field of the last line; the rest are `key=value` control totals. */
export const BANK_SETTLEMENT_TRAILER = '#totals';
type TrailerKey = 'report_date' | 'payment_count' | 'payment_amount' | 'refund_count' | 'refund_amount';

const PAYMENT_STATUSES: Readonly<Record<string, BillPayment['status']>> = {
  succeeded: 'succeeded',
  reversed: 'reversed',
};
/** Refund statuses are the refund API's; requires_action (the money could not go back to the card,
 * a person settles it) has not ended, so it reads as processing, its wording kept in providerStatus. */
const REFUND_STATUSES: Readonly<Record<string, BillRefund['status']>> = {
  succeeded: 'succeeded',
  pending: 'processing',
  failed: 'failed',
  requires_action: 'processing',
};

/**
 * The records of an RFC 4180 text: fields separated by commas, records by CRLF (a bare LF is
 * accepted, a bare CR is not); a field in double quotes may hold commas, line breaks and `""` for a
 * quote. A quote anywhere else, or an unclosed one, is a format error: a report we cannot read
 * exactly is not read at all. The line ending after the last record is optional.
 */
export function readCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quotedField = false;
  let at = 0;
  const fail = (why: string) => new BillFormatError(`CSV line ${records.length + 1}: ${why}`);
  const endField = () => {
    record.push(field);
    field = '';
    quotedField = false;
  };
  while (at < text.length) {
    const char = text[at];
    if (char === '"') {
      if (field !== '' || quotedField) throw fail('a quote inside an unquoted field');
      const close = closingQuote(text, at + 1);
      if (close < 0) throw fail('a quoted field is never closed');
      field = text.slice(at + 1, close).replaceAll('""', '"');
      quotedField = true;
      at = close + 1;
      if (at < text.length && !',\r\n'.includes(text[at] ?? '')) throw fail('text after a closing quote');
    } else if (char === ',') {
      endField();
      at += 1;
    } else if (char === '\n' || (char === '\r' && text[at + 1] === '\n')) {
      endField();
      records.push(record);
      record = [];
      at += char === '\r' ? 2 : 1;
    } else if (char === '\r') {
      throw fail('a carriage return outside quotes without a line feed');
    } else {
      field += char;
      at += 1;
    }
  }
  if (field !== '' || quotedField || record.length > 0) {
    endField();
    records.push(record);
  }
  return records;
}

/** Index of the quote that closes a quoted field opened before `from` (`""` is an escaped quote), or -1. */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 2)) {
    if (text[at + 1] !== '"') return at;
  }
  return -1;
}

type Field = (name: Column) => string;

/** Column name → position, from the header row; each column we read must be there exactly once. */
function columnsOf(header: readonly string[]): Map<Column, number> {
  const positions = new Map<Column, number>();
  const seen = new Set<string>();
  header.forEach((name, position) => {
    if (seen.has(name)) throw new BillFormatError(`column ${name} appears twice in the header row`);
    seen.add(name);
    if ((BANK_SETTLEMENT_COLUMNS as readonly string[]).includes(name)) positions.set(name as Column, position);
  });
  const missing = BANK_SETTLEMENT_COLUMNS.filter((name) => !positions.has(name));
  if (missing.length > 0) throw new BillFormatError(`the header row lacks ${missing.join(', ')}`);
  return positions;
}

const MINOR_UNITS = /^(0|[1-9]\d*)$/;

/** A whole number of fen (no sign, decimals, exponent or padding); `positive` refuses 0. */
function minorUnits(text: string, what: string, positive: boolean): number {
  const value = MINOR_UNITS.test(text) ? Number(text) : Number.NaN;
  if (!isFen(value) || (positive && value === 0))
    throw new BillFormatError(
      `${what} ${JSON.stringify(text)} is not a ${positive ? 'positive ' : ''}whole number of fen`,
    );
  return value;
}

const BookedAt = z.iso.datetime({ offset: true });

/** `booked_at` (ISO 8601 with its offset) → ISO UTC, which must fall on the report's Beijing day. */
function bookedAt(text: string, window: { start: Date; end: Date }, line: number): string {
  if (!BookedAt.safeParse(text).success)
    throw new BillFormatError(`line ${line}: booked_at ${JSON.stringify(text)} is not ISO 8601 with an offset`);
  const instant = new Date(text);
  if (instant < window.start || instant >= window.end)
    throw new BillFormatError(`line ${line}: booked_at ${text} is not on the report's day`);
  return instant.toISOString();
}

function required(field: Field, name: Column, line: number): string {
  const value = field(name);
  if (value === '') throw new BillFormatError(`line ${line}: ${name} is empty`);
  return value;
}

function rowOf(
  record: readonly string[],
  columns: Map<Column, number>,
  width: number,
  line: number,
  window: { start: Date; end: Date },
): BillRow {
  if (record[0] === BANK_SETTLEMENT_TRAILER)
    throw new BillFormatError(`line ${line}: the ${BANK_SETTLEMENT_TRAILER} trailer before the last line`);
  if (record.length !== width)
    throw new BillFormatError(`line ${line}: ${record.length} fields, the header has ${width}`);
  const field: Field = (name) => record[columns.get(name) ?? -1] ?? '';
  const recordType = field('record_type');
  if (recordType !== 'payment' && recordType !== 'refund')
    throw new BillFormatError(`line ${line}: unknown record_type ${JSON.stringify(recordType)}`);
  const currency = field('currency');
  if (currency !== CURRENCY)
    throw new BillFormatError(`line ${line}: currency ${JSON.stringify(currency)}, expected ${CURRENCY}`);
  const status = field('status');
  const common = {
    paymentId: required(field, 'merchant_reference', line),
    providerTransactionId: required(field, 'transaction_id', line),
    amount: minorUnits(field('amount'), `line ${line}: amount`, true),
    finishedAt: bookedAt(field('booked_at'), window, line),
    providerStatus: status,
  };
  const outcomes = recordType === 'payment' ? PAYMENT_STATUSES : REFUND_STATUSES;
  const outcome = Object.hasOwn(outcomes, status) ? outcomes[status] : undefined;
  if (!outcome) throw new BillFormatError(`line ${line}: unknown ${recordType} status ${JSON.stringify(status)}`);
  if (recordType === 'payment') return { kind: 'payment', ...common, status: outcome as BillPayment['status'] };
  return {
    kind: 'refund',
    refundId: required(field, 'refund_id', line),
    providerRefundId: required(field, 'bank_refund_id', line),
    ...common,
    status: outcome as BillRefund['status'],
  };
}

interface ReportTotals {
  paymentCount: number;
  paymentAmount: number;
  refundCount: number;
  refundAmount: number;
}

/** `#totals,report_date=…,payment_count=…,payment_amount=…,refund_count=…,refund_amount=…`, keys in any order. */
function readTrailer(trailer: readonly string[], date: BusinessDate): ReportTotals {
  const values = new Map<string, string>();
  for (const element of trailer.slice(1)) {
    const split = element.indexOf('=');
    const key = split < 0 ? element : element.slice(0, split);
    if (split < 0) throw new BillFormatError(`trailer element ${JSON.stringify(element)} is not key=value`);
    if (values.has(key)) throw new BillFormatError(`trailer key ${key} appears twice`);
    values.set(key, element.slice(split + 1));
  }
  const value = (key: TrailerKey) => {
    const text = values.get(key);
    if (text === undefined) throw new BillFormatError(`the trailer lacks ${key}`);
    return text;
  };
  if (value('report_date') !== date)
    throw new BillFormatError(`the report is for ${value('report_date')}, asked for ${date}`);
  const total = (key: TrailerKey) => minorUnits(value(key), `trailer ${key}`, false);
  return {
    paymentCount: total('payment_count'),
    paymentAmount: total('payment_amount'),
    refundCount: total('refund_count'),
    refundAmount: total('refund_amount'),
  };
}

/** The trailer's control totals against the rows, and no row twice (by the bank's own ids). */
function checkRows(rows: readonly BillRow[], totals: ReportTotals): void {
  const payments = rows.filter((row) => row.kind === 'payment');
  const refunds = rows.filter((row) => row.kind === 'refund');
  const sum = (items: readonly BillRow[]) => items.reduce((total, row) => total + row.amount, 0);
  const found: ReportTotals = {
    paymentCount: payments.length,
    paymentAmount: sum(payments),
    refundCount: refunds.length,
    refundAmount: sum(refunds),
  };
  for (const key of Object.keys(totals) as (keyof ReportTotals)[]) {
    if (found[key] !== totals[key])
      throw new BillFormatError(`the trailer's ${key} is ${totals[key]}, the rows make ${found[key]}`);
  }
  const duplicate = (ids: string[]) => ids.find((id, index) => ids.indexOf(id) !== index);
  const payment = duplicate(payments.map((row) => row.providerTransactionId));
  if (payment !== undefined) throw new BillFormatError(`payment ${payment} appears twice`);
  const refund = duplicate(refunds.map((row) => row.providerRefundId ?? ''));
  if (refund !== undefined) throw new BillFormatError(`refund ${refund} appears twice`);
}

/**
 * Reads the bank's settlement report for `date` (the text of its verified bytes). Throws
 * BillFormatError for anything that is not exactly the format: an unknown record type or status,
 * an amount that is not whole positive fen, another currency, a row outside the day, a missing
 * or disagreeing trailer, a report for another day.
 */
export function parseBankSettlementReport(text: string, date: BusinessDate): ProviderBill {
  const [header, ...lines] = readCsvRecords(text);
  if (!header) throw new BillFormatError('the report is empty: no header row');
  const trailer = lines.pop();
  if (trailer?.[0] !== BANK_SETTLEMENT_TRAILER)
    throw new BillFormatError(`the report does not end with its ${BANK_SETTLEMENT_TRAILER} trailer`);
  const columns = columnsOf(header);
  const window = businessDayWindow(date);
  // Line numbers count records from 1 (the header), as a person reading the file would.
  const rows = lines.map((record, index) => rowOf(record, columns, header.length, index + 2, window));
  const totals = readTrailer(trailer, date);
  checkRows(rows, totals);
  return {
    provider: 'bank',
    date,
    rows,
    totals: {
      paymentCount: totals.paymentCount,
      paymentAmount: totals.paymentAmount,
      refundAmount: totals.refundAmount,
    },
  };
}
