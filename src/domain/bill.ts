import { InvalidAmountError } from './errors';
import { decimalYuanToFen } from './money';
import type { PaymentMethod } from './payment';

/**
 * A provider's daily bill, normalised from its own file format (docs/PROVIDERS.md#bills): what the
 * reconciliation compares with our ledger. Bill days are Beijing business dates (UTC+8, no DST).
 */

/** `YYYY-MM-DD`, a Beijing calendar day. */
export type BusinessDate = string;

const BUSINESS_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

export function isBusinessDate(text: string): text is BusinessDate {
  const match = BUSINESS_DATE.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text;
}

/** The day as a UTC instant range [start, end): Beijing midnight to midnight. */
export function businessDayWindow(date: BusinessDate): { start: Date; end: Date } {
  const start = new Date(Date.parse(`${date}T00:00:00Z`) - BEIJING_OFFSET_MS);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The Beijing business date an instant falls on. */
export function businessDateOf(instant: Date): BusinessDate {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** The business date `days` after (or before, when negative) `date`. */
export function addBusinessDays(date: BusinessDate, days: number): BusinessDate {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

const BEIJING_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;

/** "2026-11-27 10:00:00" in Beijing time (the bills' format) → ISO 8601 UTC. */
export function beijingTimeToIso(text: string): string {
  const match = BEIJING_TIME.exec(text.trim());
  if (!match) throw new BillFormatError(`not a Beijing time "yyyy-MM-dd HH:mm:ss": ${JSON.stringify(text)}`);
  const ms = Date.parse(`${match[1]}T${match[2]}+08:00`);
  // Date.parse rolls "02-30" into March and "24:00:00" into the next day: the time must read back as written.
  const readBack = Number.isNaN(ms) ? '' : new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19);
  if (readBack !== `${match[1]}T${match[2]}`) throw new BillFormatError(`not a valid time: ${JSON.stringify(text)}`);
  return new Date(ms).toISOString();
}

/**
 * A bill's yuan text → signed fen, on strings and integers only: "10.00" → 1000, "-0.01" → -1,
 * "7" → 700. Refund rows are negative in Alipay's bill. Whitespace around the amount is ignored
 * (padded columns). More than two decimals, exponents and thousands separators are refused: a
 * bill we cannot read exactly is not reconciled.
 */
export function billYuanToFen(text: string): number {
  const fen = decimalYuanToFen(text.trim());
  if (fen === undefined) throw new InvalidAmountError(text, 'expected a decimal yuan amount with at most two decimals');
  return fen;
}

/** A payment the provider took: it counts as money in. */
export interface BillPayment {
  kind: 'payment';
  /** Our payment id (out_trade_no / 商户订单号). */
  paymentId: string;
  providerTransactionId: string;
  /** Fen, positive. */
  amount: number;
  /** `succeeded`: money taken; `reversed`: taken then given back by the provider (WeChat REVOKED). */
  status: 'succeeded' | 'reversed';
  /** When the provider finished it, ISO UTC. */
  finishedAt: string;
  /** The provider's own wording (交易状态 / 业务类型) for the difference record. */
  providerStatus: string;
}

/** A refund the provider made (through our API or its console). */
export interface BillRefund {
  kind: 'refund';
  /** Our refund id (商户退款单号 / 退款批次号/请求号); for a console refund, the provider's own number. */
  refundId: string;
  paymentId: string;
  providerTransactionId: string;
  providerRefundId?: string;
  /** Fen, positive (Alipay's negative amounts are turned round by its parser). */
  amount: number;
  status: 'succeeded' | 'processing' | 'failed';
  finishedAt: string;
  providerStatus: string;
}

export type BillRow = BillPayment | BillRefund;

export interface ProviderBill {
  provider: PaymentMethod;
  date: BusinessDate;
  rows: BillRow[];
  /** The bill's own summary, checked by the parser against its rows. */
  totals: { paymentCount: number; paymentAmount: number; refundAmount: number };
}

/** A bill file that does not read as its provider's format, or whose summary disagrees with its rows. */
export class BillFormatError extends Error {
  readonly code = 'BILL_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'BillFormatError';
  }
}
