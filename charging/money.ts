// Money is an integer count of a currency's minor unit (cents, öre, fils) and an ISO 4217 code. No
// floating point: products that may pass 2^53 (seconds × price) are computed in BigInt, and every
// result is checked to be a safe integer again before it leaves this module.

/** Minor-unit digits per ISO 4217 code (the currencies we accept; others are refused). */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  EUR: 2, USD: 2, GBP: 2, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2, RON: 2,
  CAD: 2, AUD: 2, NZD: 2, SGD: 2, HKD: 2, CNY: 2, INR: 2, BRL: 2, MXN: 2, ZAR: 2, TRY: 2, ILS: 2, AED: 2,
  JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0,
  BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, LYD: 3, IQD: 3,
});

/** The same amount, kept with its currency wherever both travel together. */
export interface Money {
  amountMinor: number;
  currency: string;
}

export function isCurrency(code: unknown): code is string {
  return typeof code === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, code);
}

export function assertCurrency(code: unknown): asserts code is string {
  if (!isCurrency(code)) throw new TypeError(`unknown or unsupported currency: ${String(code)}`);
}

export function minorUnitDigits(currency: string): number {
  assertCurrency(currency);
  return CURRENCY_EXPONENTS[currency]!;
}

/** An amount of minor units: a safe integer (negative allowed unless `nonNegative`). */
export function assertMinor(value: unknown, what = 'amount', nonNegative = false): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`${what} must be a safe integer of minor units, got ${String(value)}`);
  if (nonNegative && value < 0) throw new TypeError(`${what} must not be negative, got ${value}`);
}

/** A BigInt result back to a number, refusing anything a JS number cannot hold exactly. */
export function toSafeNumber(value: bigint, what = 'amount'): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} out of the safe integer range: ${value}`);
  }
  return Number(value);
}

/** a + b, refusing a result that is not a safe integer. */
export function addMinor(a: number, b: number): number {
  assertMinor(a);
  assertMinor(b);
  return toSafeNumber(BigInt(a) + BigInt(b));
}

/** Sum of amounts, exact. */
export function sumMinor(values: Iterable<number>): number {
  let total = 0n;
  for (const v of values) {
    assertMinor(v);
    total += BigInt(v);
  }
  return toSafeNumber(total, 'sum');
}

/** ⌊n / d⌋ for BigInt with d > 0 (BigInt division truncates towards zero). */
export function floorDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d !== 0n && n < 0n ? q - 1n : q;
}

/** a × b / d rounded half up (towards +∞ at exactly .5); d > 0. */
export function mulDivHalfUp(a: number | bigint, b: number | bigint, d: number | bigint): bigint {
  const den = BigInt(d);
  if (den <= 0n) throw new RangeError('divisor must be positive');
  return floorDiv(2n * BigInt(a) * BigInt(b) + den, 2n * den);
}

/** a × b / d rounded down; d > 0. */
export function mulDivFloor(a: number | bigint, b: number | bigint, d: number | bigint): bigint {
  const den = BigInt(d);
  if (den <= 0n) throw new RangeError('divisor must be positive');
  return floorDiv(BigInt(a) * BigInt(b), den);
}

/**
 * "12.34 EUR", "1500 JPY", "-0.250 BHD": the decimal point moved by the currency's digits, never by
 * dividing, so the text is exactly the stored amount. ASCII minus, so reports and CSV stay plain text.
 */
export function formatMoney(minor: number, currency: string): string {
  assertMinor(minor);
  const digits = minorUnitDigits(currency);
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : '';
  return `${minor < 0 ? '-' : ''}${whole}${fraction} ${currency}`;
}
