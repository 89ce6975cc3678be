// What a browser's push subscription must look like before it is stored. The server later POSTs to the
// endpoint on its own, so the endpoint is held to what push services are: https on a public host name.
import { createECDH } from 'node:crypto';
import { isIP } from 'node:net';
import { DomainError } from '../lib/errors.js';

export interface SubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Throws VALIDATION unless `endpoint` is an https URL on a host name (no address literal, no
 * credentials). With `allowLoopback` (tests) http and https on the loopback address are accepted too.
 */
export function checkEndpoint(endpoint: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DomainError('VALIDATION', 'endpoint: not a URL');
  }
  if (url.username || url.password) throw new DomainError('VALIDATION', 'endpoint: must not carry credentials');
  if (allowLoopback && LOOPBACK_HOSTS.has(url.hostname) && (url.protocol === 'http:' || url.protocol === 'https:')) return url;
  if (url.protocol !== 'https:') throw new DomainError('VALIDATION', 'endpoint: must be an https URL');
  // Push services have public names; an address or a local name could aim the server's requests inward.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
    throw new DomainError('VALIDATION', 'endpoint: must name a public push service host');
  }
  return url;
}

/** Throws VALIDATION unless p256dh is a P-256 public key and auth a 16-byte secret (RFC 8291). */
export function checkKeys(keys: SubscriptionInput['keys']): void {
  if (Buffer.from(keys.auth, 'base64url').length !== 16) throw new DomainError('VALIDATION', 'keys.auth: must be 16 bytes');
  try {
    // Deriving a secret with a throwaway key rejects anything that is not a point on the curve.
    const probe = createECDH('prime256v1');
    probe.generateKeys();
    probe.computeSecret(Buffer.from(keys.p256dh, 'base64url'));
  } catch {
    throw new DomainError('VALIDATION', 'keys.p256dh: not a P-256 public key');
  }
}
