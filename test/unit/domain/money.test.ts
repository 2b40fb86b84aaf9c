import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fenToYuan, InvalidAmountError, MAX_AMOUNT_FEN, multiplyFen, sumFen, yuanToFen } from '../../../src/domain';

describe('money: fen <-> yuan strings', () => {
  it.each([
    ['0.01', 1],
    ['1234.50', 123450],
    ['1234.5', 123450],
    ['7', 700],
    ['0', 0],
    ['0.10', 10],
    ['99999999.99', 9_999_999_999],
  ])('%s yuan is %i fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [123450, '1234.50'],
    [700, '7.00'],
    [9_999_999_999, '99999999.99'],
  ])('%i fen is %s yuan', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
  });

  it.each([
    '1.001',
    '-1',
    '-0.01',
    '1e3',
    '',
    ' 1',
    '1 ',
    '01.00',
    '.5',
    '5.',
    '1,00',
    'abc',
    'NaN',
    'Infinity',
    '0x10',
    '100000000.00',
    '+1',
  ])('rejects %j', (input) => {
    expect(() => yuanToFen(input)).toThrow(InvalidAmountError);
  });

  it('rejects amounts that are not integers of fen, or beyond the bound', () => {
    for (const bad of [1.5, -1, MAX_AMOUNT_FEN + 1, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
      expect(() => fenToYuan(bad)).toThrow(InvalidAmountError);
  });

  it('round-trips every valid amount exactly (fen -> yuan -> fen)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_AMOUNT_FEN }), (fen) => {
        expect(yuanToFen(fenToYuan(fen))).toBe(fen);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every valid two-decimal yuan string (yuan -> fen -> yuan)', () => {
    const yuan = fc
      .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 99 }))
      .map(([whole, cents]) => `${whole}.${String(cents).padStart(2, '0')}`);
    fc.assert(
      fc.property(yuan, (text) => {
        expect(fenToYuan(yuanToFen(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects any string with more than two decimals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999 }), fc.stringMatching(/^[0-9]{3,6}$/), (whole, decimals) => {
        expect(() => yuanToFen(`${whole}.${decimals}`)).toThrow(InvalidAmountError);
      }),
    );
  });

  it('rejects arbitrary strings that are not decimal yuan', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^(0|[1-9]\d{0,7})(\.\d{1,2})?$/.test(s)),
        (text) => {
          expect(() => yuanToFen(text)).toThrow(InvalidAmountError);
        },
      ),
    );
  });

  it('sums and multiplies in integers, refusing overflow past the bound', () => {
    expect(sumFen([1, 2, 3])).toBe(6);
    expect(multiplyFen(4550, 3)).toBe(13650);
    expect(() => multiplyFen(MAX_AMOUNT_FEN, 2)).toThrow(InvalidAmountError);
    expect(() => multiplyFen(100, 1.5)).toThrow(InvalidAmountError);
  });
});
