// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, as authenticator apps expect) through
// the maintained `otpauth` library. A code is accepted one step early or late, and once only.
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;

function totpOf(secret: string, label = 'account'): TOTP {
  return new TOTP({ issuer: 'mccs', label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) });
}

/** A new random 160-bit secret, base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app takes (as text or as a QR code). */
export function totpUri(secret: string, label: string): string {
  return totpOf(secret, label).toString();
}

/** The time step `code` belongs to, or null when it is wrong, or was already used (`lastStep`). */
export function acceptTotp(secret: string, code: string, lastStep: number | null | undefined, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  const step = Math.floor(now / 1000 / PERIOD) + delta;
  if (lastStep !== null && lastStep !== undefined && step <= lastStep) return null;
  return step;
}
