// Money for display: integer minor units (cents) turned into text by moving the decimal point, never
// by dividing, so what the customer sees is exactly what the server charges (docs/charging.md).

/** Minor-unit digits of the currencies whose exponent is not 2 (ISO 4217). */
const EXPONENT: Record<string, number> = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, LYD: 3, IQD: 3 };

export function formatMoney(minor: number, currency: string): string {
  const digits = EXPONENT[currency] ?? 2;
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : '';
  return `${negative ? '−' : ''}${whole}${fraction} ${currency}`;
}

/** "1.20 EUR/min", plus the session fee when there is one. */
export function describePrice(p: { perMinuteMinor: number; sessionFeeMinor?: number; currency: string }): string {
  const perMinute = `${formatMoney(p.perMinuteMinor, p.currency)}/min`;
  return p.sessionFeeMinor ? `${perMinute} + ${formatMoney(p.sessionFeeMinor, p.currency)} per session` : perMinute;
}
