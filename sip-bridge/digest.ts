// HTTP digest authentication (RFC 2617 / RFC 8760 with MD5) both ways. Inbound trunks: the bridge
// challenges with 401 and a nonce it can check without storing it (timestamp + HMAC), and verifies
// the caller's Authorization header against the trunk's password. Outbound (REGISTER, OPTIONS,
// INVITE to a provider): DigestClient answers the provider's 401/407 with the trunk's credentials.
/// <reference path="./sip.d.ts" />
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthHeader, SipResponse } from 'sip';

export interface DigestCredentials {
  username: string;
  password: string;
  realm: string;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const unq = (s: string | undefined): string | undefined => (s === undefined ? undefined : s.replace(/^"(.*)"$/s, '$1').replace(/\\(.)/g, '$1'));

export class DigestAuthenticator {
  readonly #key: Buffer;
  readonly #nonceTtlMs: number;
  readonly #now: () => number;

  constructor(opts: { nonceTtlMs?: number; now?: () => number; key?: Buffer } = {}) {
    this.#key = opts.key ?? randomBytes(32);
    this.#nonceTtlMs = opts.nonceTtlMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** A WWW-Authenticate header value for a 401 (stale=true when the caller's nonce had expired). */
  challenge(realm: string, stale = false): AuthHeader {
    const h: AuthHeader = { scheme: 'Digest', realm: quote(realm), nonce: quote(this.#nonce()), algorithm: 'MD5', qop: '"auth"' };
    if (stale) h.stale = 'true';
    return h;
  }

  /**
   * Checks an Authorization header for a request. 'stale' means the password was right but the nonce
   * is too old (challenge again with stale=true); 'missing' means no credentials for this realm.
   */
  verify(method: string, headers: AuthHeader[] | undefined, creds: DigestCredentials): 'ok' | 'missing' | 'stale' | 'invalid' {
    const h = (headers ?? []).find((a) => /^digest$/i.test(a.scheme) && unq(a.realm) === creds.realm);
    if (!h) return 'missing';
    const username = unq(h.username);
    const nonce = unq(h.nonce);
    const uri = unq(h.uri);
    const response = unq(h.response)?.toLowerCase();
    const algorithm = unq(h.algorithm) ?? 'MD5';
    if (!username || !nonce || !uri || !response || !/^md5$/i.test(algorithm)) return 'invalid';
    if (username !== creds.username) return 'invalid';
    const fresh = this.#checkNonce(nonce);
    if (fresh === 'forged') return 'invalid';
    const ha1 = md5(`${username}:${creds.realm}:${creds.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const qop = unq(h.qop);
    let expected: string;
    if (qop === undefined) {
      expected = md5(`${ha1}:${nonce}:${ha2}`);
    } else if (qop === 'auth') {
      const nc = unq(h.nc);
      const cnonce = unq(h.cnonce);
      if (!nc || !cnonce || !/^[0-9a-f]{8}$/i.test(nc)) return 'invalid';
      expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    } else {
      return 'invalid';
    }
    if (!safeEqual(expected, response)) return 'invalid';
    return fresh === 'expired' ? 'stale' : 'ok';
  }

  #nonce(): string {
    const ts = this.#now().toString(16);
    const salt = randomBytes(6).toString('hex');
    return `${ts}.${salt}.${this.#mac(`${ts}.${salt}`)}`;
  }

  #checkNonce(nonce: string): 'fresh' | 'expired' | 'forged' {
    const m = /^([0-9a-f]+)\.([0-9a-f]+)\.([0-9a-f]+)$/.exec(nonce);
    if (!m || !safeEqual(this.#mac(`${m[1]}.${m[2]}`), m[3]!)) return 'forged';
    const age = this.#now() - parseInt(m[1]!, 16);
    return age >= 0 && age <= this.#nonceTtlMs ? 'fresh' : 'expired';
  }

  #mac(s: string): string {
    return createHmac('sha256', this.#key).update(s).digest('hex').slice(0, 32);
  }
}

function quote(s: string): string {
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The client side: an Authorization header answering a challenge. qop=auth (with cnonce and nc) by
 * default; `qop: 'none'` for a challenge that offers no qop (RFC 2069 response).
 */
export function digestAuthorization(
  challenge: AuthHeader,
  req: { method: string; uri: string; username: string; password: string; cnonce?: string; nc?: number; qop?: 'auth' | 'none' },
): AuthHeader {
  const realm = unq(challenge.realm) ?? '';
  const nonce = unq(challenge.nonce) ?? '';
  const ha1 = md5(`${req.username}:${realm}:${req.password}`);
  const ha2 = md5(`${req.method}:${req.uri}`);
  const base: AuthHeader = { scheme: 'Digest', username: quote(req.username), realm: quote(realm), nonce: quote(nonce), uri: quote(req.uri) };
  if (challenge.opaque !== undefined) base.opaque = challenge.opaque;
  if (req.qop === 'none') return { ...base, response: quote(md5(`${ha1}:${nonce}:${ha2}`)), algorithm: 'MD5' };
  const cnonce = req.cnonce ?? randomBytes(8).toString('hex');
  const nc = (req.nc ?? 1).toString(16).padStart(8, '0');
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return { ...base, qop: 'auth', nc, cnonce: quote(cnonce), response: quote(response), algorithm: 'MD5' };
}

export interface ClientCredentials {
  username: string;
  password: string;
  /** Answer only challenges of this realm; default: any realm the peer names. */
  realm?: string;
}

/** The header to add to a request retried after a challenge. */
export interface DigestAnswer {
  name: 'authorization' | 'proxy-authorization';
  value: AuthHeader;
  /** The challenge said our last nonce had only expired (stale=true): a retry is worth it even after one failed. */
  stale: boolean;
}

/** Answers one trunk's 401/407 challenges with its credentials, counting each nonce's uses (nc). */
export class DigestClient {
  readonly #creds: ClientCredentials;
  #nonce = '';
  #nc = 0;

  constructor(creds: ClientCredentials) {
    this.#creds = creds;
  }

  /**
   * The answer to a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate), or undefined when none of its
   * challenges is one we can answer (not Digest/MD5, no qop=auth nor plain digest, another realm).
   */
  answer(rs: SipResponse, method: string, uri: string): DigestAnswer | undefined {
    const proxy = rs.status === 407;
    const challenges = (rs.headers[proxy ? 'proxy-authenticate' : 'www-authenticate'] ?? []) as AuthHeader[];
    for (const c of challenges) {
      if (!/^digest$/i.test(c.scheme) || !/^md5$/i.test(unq(c.algorithm) ?? 'MD5')) continue;
      if (this.#creds.realm !== undefined && unq(c.realm) !== this.#creds.realm) continue;
      const offered = (unq(c.qop) ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
      if (offered.length && !offered.includes('auth')) continue;
      const nonce = unq(c.nonce) ?? '';
      if (nonce !== this.#nonce) {
        this.#nonce = nonce;
        this.#nc = 0;
      }
      const value = digestAuthorization(c, { method, uri, username: this.#creds.username, password: this.#creds.password, nc: ++this.#nc, qop: offered.length ? 'auth' : 'none' });
      return { name: proxy ? 'proxy-authorization' : 'authorization', value, stale: /^true$/i.test(unq(c.stale) ?? '') };
    }
    return undefined;
  }
}
