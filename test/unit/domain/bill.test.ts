import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addBusinessDays,
  BillFormatError,
  billYuanToFen,
  businessDateOf,
  businessDayWindow,
  beijingTimeToIso,
  isBusinessDate,
} from '../../../src/domain/bill';
import { InvalidAmountError } from '../../../src/domain/errors';

describe('billYuanToFen', () => {
  it.each([
    ['10.00', 1_000],
    ['-10.00', -1_000],
    ['0.01', 1],
    ['-0.01', -1],
    ['7', 700],
    ['7.5', 750],
    ['+3.20', 320],
    ['0', 0],
    ['123456.78', 12_345_678],
    ['999999999999.99', 99_999_999_999_999],
  ])('%s is %i fen', (text, fen) => {
    expect(billYuanToFen(text)).toBe(fen);
  });

  it('"-0.00" is zero fen, not negative zero', () => {
    expect(Object.is(billYuanToFen('-0.00'), 0)).toBe(true);
  });

  it.each([
    ['three decimals', '1.234'],
    ['an exponent', '1e3'],
    ['a thousands separator', '1,000.00'],
    ['only a space', ' '],
    ['nothing', ''],
    ['two signs', '+-1'],
    ['a sign alone', '-'],
    ['a leading zero', '01.00'],
    ['a point with no decimals', '1.'],
    ['a point with no whole part', '.5'],
    ['a currency sign', '¥1.00'],
    ['a decimal comma', '1,50'],
    ['a space inside', '1 000.00'],
    ['thirteen whole digits', '1000000000000.00'],
    ['Infinity', 'Infinity'],
    ['NaN', 'NaN'],
    ['full-width digits', '１.００'],
  ])('refuses %s (%j)', (_case, text) => {
    expect(() => billYuanToFen(text)).toThrow(InvalidAmountError);
  });

  /** Fen as a bill writes it: sign when negative, whole yuan, a point, two decimals. */
  const asYuanText = (fen: number) =>
    `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;
  const wideFen = fc.integer({ min: -99_999_999_999_999, max: 99_999_999_999_999 });

  it('gives back any integer fen written as signed yuan with two decimals', () => {
    fc.assert(
      fc.property(wideFen, (fen) => {
        expect(billYuanToFen(asYuanText(fen))).toBe(fen);
      }),
    );
  });

  it('gives back the same fen with spaces before and after (bill columns are padded)', () => {
    const padding = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 4 });
    fc.assert(
      fc.property(wideFen, padding, padding, (fen, before, after) => {
        expect(billYuanToFen(`${before}${asYuanText(fen)}${after}`)).toBe(fen);
      }),
    );
  });

  it('a leading plus and dropped trailing zero decimals read as the same amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (yuan) => {
        const fen = yuan * 100;
        expect(billYuanToFen(`+${yuan}`)).toBe(fen);
        expect(billYuanToFen(`${yuan}.0`)).toBe(fen);
      }),
    );
  });
});

describe('Beijing business days', () => {
  it('a day runs from 16:00 UTC the day before to 16:00 UTC', () => {
    expect(businessDayWindow('2026-11-27')).toEqual({
      start: new Date('2026-11-26T16:00:00.000Z'),
      end: new Date('2026-11-27T16:00:00.000Z'),
    });
  });

  it.each([
    ['the year end', '2027-01-01', '2026-12-31T16:00:00.000Z', '2027-01-01T16:00:00.000Z'],
    ['a month end', '2026-03-01', '2026-02-28T16:00:00.000Z', '2026-03-01T16:00:00.000Z'],
    ['a leap day', '2028-02-29', '2028-02-28T16:00:00.000Z', '2028-02-29T16:00:00.000Z'],
  ])('the window across %s', (_case, date, start, end) => {
    expect(businessDayWindow(date)).toEqual({ start: new Date(start), end: new Date(end) });
  });

  it.each([
    ['2026-11-27T15:59:59.999Z', '2026-11-27'],
    ['2026-11-27T16:00:00.000Z', '2026-11-28'],
    ['2026-12-31T15:59:59.999Z', '2026-12-31'],
    ['2026-12-31T16:00:00.000Z', '2027-01-01'],
    ['2026-02-28T16:00:00.000Z', '2026-03-01'],
    ['2028-02-28T16:00:00.000Z', '2028-02-29'],
    ['2026-11-26T16:00:00.000Z', '2026-11-27'],
  ])('%s falls on Beijing %s', (instant, date) => {
    expect(businessDateOf(new Date(instant))).toBe(date);
  });

  it('every instant falls in the window of its own business date', () => {
    const instants = fc.date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2099-12-31T00:00:00Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(instants, (instant) => {
        const { start, end } = businessDayWindow(businessDateOf(instant));
        expect(start.getTime()).toBeLessThanOrEqual(instant.getTime());
        expect(instant.getTime()).toBeLessThan(end.getTime());
      }),
    );
  });

  it.each([
    ['2026-11-27', 1, '2026-11-28'],
    ['2026-11-27', -1, '2026-11-26'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2028-03-01', -1, '2028-02-29'],
    ['2026-01-31', 1, '2026-02-01'],
    ['2026-11-27', 0, '2026-11-27'],
    ['2026-11-27', 35, '2027-01-01'],
  ])('%s %+d days is %s', (date, days, expected) => {
    expect(addBusinessDays(date, days)).toBe(expected);
  });

  it.each([
    ['2026-11-27 00:00:00', '2026-11-26T16:00:00.000Z'],
    ['2026-11-27 23:59:59', '2026-11-27T15:59:59.000Z'],
    ['2027-01-01 00:00:00', '2026-12-31T16:00:00.000Z'],
    ['2026-03-01 07:59:59', '2026-02-28T23:59:59.000Z'],
    [' 2026-11-27 10:00:00 ', '2026-11-27T02:00:00.000Z'],
  ])('Beijing time %j is %s', (text, iso) => {
    expect(beijingTimeToIso(text)).toBe(iso);
  });

  it.each([
    ['an ISO time', '2026-11-27T10:00:00'],
    ['no seconds', '2026-11-27 10:00'],
    ['a date alone', '2026-11-27'],
    ['a slash date', '2026/11/27 10:00:00'],
    ['February 30th', '2026-02-30 10:00:00'],
    ['February 29th of a common year', '2026-02-29 10:00:00'],
    ['hour 24', '2026-11-27 24:00:00'],
    ['minute 60', '2026-11-27 10:60:00'],
    ['month 13', '2026-13-01 10:00:00'],
  ])('refuses %s (%j) as a BillFormatError', (_case, text) => {
    expect(() => beijingTimeToIso(text)).toThrow(BillFormatError);
  });

  it.each(['2026-11-27', '2026-02-28', '2028-02-29', '2026-12-31', '2027-01-01'])('%s is a business date', (text) => {
    expect(isBusinessDate(text)).toBe(true);
  });

  it.each([
    '2026-02-30',
    '2026-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-11-00',
    '2026-1-27',
    '20261127',
    ' 2026-11-27',
    '2026-11-27T00:00:00Z',
    '',
  ])('%j is not a business date', (text) => {
    expect(isBusinessDate(text)).toBe(false);
  });
});
