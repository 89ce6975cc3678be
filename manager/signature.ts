// HMAC signatures of raw request bodies, `method=hex`: WebSub's X-Hub-Signature (sha1, sha256, sha384,
// sha512) and our webhook's X-Signature (sha256). Compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBSUB_SIGNATURE_METHODS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export const WEBHOOK_SIGNATURE_METHODS = ['sha256'] as const;

export function sign(body: Buffer | string, secret: string, method = 'sha256'): string {
  return `${method}=${createHmac(method, secret).update(body).digest('hex')}`;
}

/** Whether `header` is a valid signature of `body` with `secret` by one of the allowed methods. */
export function verifySignature(header: string | undefined, body: Buffer, secret: string, methods: readonly string[]): boolean {
  const match = header ? /^([a-z0-9]+)=([0-9a-fA-F]+)$/.exec(header.trim()) : null;
  if (!match || !methods.includes(match[1]!)) return false;
  const expected = createHmac(match[1]!, secret).update(body).digest();
  const given = Buffer.from(match[2]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
