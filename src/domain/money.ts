import { InvalidAmountError } from './errors';

/**
 * Money inside the system is an integer number of fen (CNY minor units). Conversions to the
 * providers' decimal yuan strings are done on strings and integers only: no floating point.
 */
export type Fen = number;
export const CURRENCY = 'CNY';
export type Currency = typeof CURRENCY;

/** 99,999,999.99 yuan: above any single payment the providers accept, far below 2^53. */
export const MAX_AMOUNT_FEN: Fen = 9_999_999_999;

const YUAN_TEXT = /^([+-]?)(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?$/;

/**
 * Decimal yuan text → signed fen, on strings and integers only: "-0.01" → -1, "7" → 700; at most
 * two decimals and twelve integer digits, no exponent, spaces or separators. Undefined when the
 * text is not such an amount. The one parser behind yuanToFen and the bills' billYuanToFen.
 */
export function decimalYuanToFen(text: string): number | undefined {
  const match = YUAN_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '0', fraction = ''] = match;
  const fen = Number.parseInt(whole, 10) * 100 + Number.parseInt(fraction.padEnd(2, '0'), 10);
  return sign === '-' && fen !== 0 ? -fen : fen;
}

export function isFen(value: unknown): value is Fen {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT_FEN;
}

export function assertFen(value: unknown): Fen {
  if (!isFen(value)) throw new InvalidAmountError(value, `must be an integer number of fen in 0..${MAX_AMOUNT_FEN}`);
  return value;
}

/** "0.01" → 1, "1234.50" → 123450, "7" → 700. Rejects more than two decimals, signs, exponents, spaces. */
export function yuanToFen(yuan: string): Fen {
  if (typeof yuan !== 'string') throw new InvalidAmountError(yuan, 'must be a decimal string');
  const fen = /^[+-]/.test(yuan) ? undefined : decimalYuanToFen(yuan);
  if (fen === undefined)
    throw new InvalidAmountError(yuan, 'expected a non-negative decimal with at most two decimals');
  return assertFen(fen);
}

/** 1 → "0.01", 123450 → "1234.50": always two decimals, as Alipay expects. */
export function fenToYuan(fen: Fen): string {
  assertFen(fen);
  const whole = Math.trunc(fen / 100);
  const cents = fen - whole * 100;
  return `${whole}.${String(cents).padStart(2, '0')}`;
}

export function sumFen(amounts: readonly Fen[]): Fen {
  return assertFen(amounts.reduce((total, amount) => total + assertFen(amount), 0));
}

export function multiplyFen(unit: Fen, quantity: number): Fen {
  if (!Number.isSafeInteger(quantity) || quantity < 0)
    throw new InvalidAmountError(quantity, 'quantity must be a non-negative integer');
  return assertFen(assertFen(unit) * quantity);
}
