import { addMinor, assertMinor, formatMoney, minorUnitDigits, mulDivFloor, mulDivHalfUp, sumMinor } from '../../../charging/money.js';

describe('money', () => {
  test('minor-unit digits follow ISO 4217', () => {
    expect(minorUnitDigits('EUR')).toBe(2);
    expect(minorUnitDigits('JPY')).toBe(0);
    expect(minorUnitDigits('KRW')).toBe(0);
    expect(minorUnitDigits('BHD')).toBe(3);
    expect(minorUnitDigits('KWD')).toBe(3);
    expect(() => minorUnitDigits('XXX')).toThrow(TypeError);
    expect(() => minorUnitDigits('eur')).toThrow(TypeError);
  });

  test('formatMoney moves the decimal point by the currency digits', () => {
    expect(formatMoney(1234, 'EUR')).toBe('12.34 EUR');
    expect(formatMoney(5, 'USD')).toBe('0.05 USD');
    expect(formatMoney(0, 'GBP')).toBe('0.00 GBP');
    expect(formatMoney(-250, 'CHF')).toBe('-2.50 CHF');
    expect(formatMoney(1500, 'JPY')).toBe('1500 JPY');
    expect(formatMoney(146, 'BHD')).toBe('0.146 BHD');
    expect(formatMoney(-1000, 'KWD')).toBe('-1.000 KWD');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'SEK')).toBe('90071992547409.91 SEK');
  });

  test('amounts must be safe integers', () => {
    expect(() => assertMinor(1.5)).toThrow(TypeError);
    expect(() => assertMinor(Number.MAX_SAFE_INTEGER + 1)).toThrow(TypeError);
    expect(() => assertMinor(NaN)).toThrow(TypeError);
    expect(() => assertMinor('12' as unknown)).toThrow(TypeError);
    expect(() => assertMinor(-1, 'x', true)).toThrow(TypeError);
    expect(() => formatMoney(0.1, 'EUR')).toThrow(TypeError);
    expect(() => addMinor(Number.MAX_SAFE_INTEGER, 1)).toThrow(RangeError);
    expect(sumMinor([1, -2, 3])).toBe(2);
  });

  test('integer products and quotients round as documented, also past 2^53', () => {
    expect(mulDivHalfUp(99, 10, 60)).toBe(17n); // 16.5 → 17
    expect(mulDivHalfUp(99, 59, 60)).toBe(97n); // 97.35 → 97
    expect(mulDivHalfUp(-1, 1, 2)).toBe(0n); // -0.5 → 0 (half up, towards +∞)
    expect(mulDivFloor(7, 3, 2)).toBe(10n);
    expect(mulDivHalfUp(Number.MAX_SAFE_INTEGER, 3_600, 60)).toBe(BigInt(Number.MAX_SAFE_INTEGER) * 60n);
  });
});
