// ICE servers handed to browsers with each call: STUN as configured, and TURN with short-lived
// credentials in coturn's shared-secret ("TURN REST API") scheme. The TURN server and mccs share
// one secret and never talk to each other: mccs signs `<unix expiry>:<userId>` with it and the
// TURN server checks the signature and the expiry on each allocation (coturn `use-auth-secret`).
// A credential that leaks stops working after ttlSeconds; the secret itself never leaves the server.
import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/events.js';

export type { IceServer };

export interface IceServerIssuerOptions {
  /** `stun:host[:port]` URLs; given to clients as one entry without credentials. */
  stunUrls?: readonly string[];
  /** `turn:` / `turns:` URLs (`?transport=udp|tcp` allowed); one entry sharing one credential. */
  turnUrls?: readonly string[];
  /** coturn's `static-auth-secret`; empty or absent: no TURN entry at all. */
  turnSecret?: string;
  /** How long a credential is valid; default ICE_SERVER_DEFAULTS.ttlSeconds. */
  ttlSeconds?: number;
  /** Clock in milliseconds since the epoch (tests). */
  now?: () => number;
}

export interface IceServerIssuer {
  /** Whether issue() includes a TURN entry (URLs and a secret are both configured). */
  readonly hasTurn: boolean;
  /** The ICE servers for one user, with a fresh TURN credential bound to userId. */
  issue(userId: string): IceServer[];
}

/** Defaults and limits in one place (ioredis style); lib/config.ts enforces the same range. */
export const ICE_SERVER_DEFAULTS = {
  ttlSeconds: 600,
  minTtlSeconds: 60,
  maxTtlSeconds: 86_400,
} as const;

export interface ParsedIceUrl {
  scheme: 'stun' | 'turn' | 'turns';
  host: string;
  port?: number;
  transport?: 'udp' | 'tcp';
}

// RFC 7064 (stun:) and RFC 7065 (turn:, turns:): scheme ":" host [":" port] [ "?transport=" udp|tcp ].
// No "//", no user info, no path. IPv6 literals in brackets.
const ICE_URL = /^(stun|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/** Parses a STUN/TURN URL; throws TypeError saying what is wrong. */
export function parseIceUrl(url: string): ParsedIceUrl {
  const m = ICE_URL.exec(url);
  if (!m) {
    const hint = /^(stun|turns?):\/\//.test(url) ? ' (no "//" after the scheme: write turn:host:3478)' : '';
    throw new TypeError(`invalid ICE server URL "${url}": expected stun:host[:port] or turn:/turns:host[:port][?transport=udp|tcp]${hint}`);
  }
  const scheme = m[1] as ParsedIceUrl['scheme'];
  const parsed: ParsedIceUrl = { scheme, host: m[2]! };
  if (m[3] !== undefined) {
    const port = Number(m[3]);
    if (port < 1 || port > 65_535) throw new TypeError(`invalid ICE server URL "${url}": port ${port} is out of range`);
    parsed.port = port;
  }
  if (m[4] !== undefined) {
    if (scheme === 'stun') throw new TypeError(`invalid ICE server URL "${url}": ?transport= is only for turn: and turns:`);
    parsed.transport = m[4] as 'udp' | 'tcp';
  }
  return parsed;
}

/**
 * coturn's `use-auth-secret` credential: username `<unix expiry>:<userId>`, password
 * base64(HMAC-SHA1(secret, username)).
 */
export function turnCredential(secret: string, userId: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${userId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

export function createIceServerIssuer(opts: IceServerIssuerOptions): IceServerIssuer {
  const stunUrls = [...(opts.stunUrls ?? [])];
  const turnUrls = [...(opts.turnUrls ?? [])];
  for (const url of stunUrls) {
    if (parseIceUrl(url).scheme !== 'stun') throw new TypeError(`"${url}" is a TURN URL in the STUN list`);
  }
  for (const url of turnUrls) {
    if (parseIceUrl(url).scheme === 'stun') throw new TypeError(`"${url}" is a STUN URL in the TURN list`);
  }
  const ttl = opts.ttlSeconds ?? ICE_SERVER_DEFAULTS.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < ICE_SERVER_DEFAULTS.minTtlSeconds || ttl > ICE_SERVER_DEFAULTS.maxTtlSeconds) {
    throw new TypeError(
      `TURN credential lifetime must be a whole number of seconds from ${ICE_SERVER_DEFAULTS.minTtlSeconds} to ${ICE_SERVER_DEFAULTS.maxTtlSeconds}, got ${ttl}`,
    );
  }
  // Kept in the closure only: never a property, so logging the issuer cannot print it.
  const secret = opts.turnSecret ?? '';
  const now = opts.now ?? Date.now;
  const hasTurn = secret !== '' && turnUrls.length > 0;

  return {
    hasTurn,
    issue(userId: string): IceServer[] {
      // coturn splits the username at the separator ':'; a second one, or whitespace, would make the
      // expiry ambiguous or the username unusable in a browser's RTCIceServer.
      if (!/^[^\s:]{1,128}$/.test(userId)) {
        throw new TypeError(`TURN user id must be 1-128 characters without ':' or whitespace, got ${JSON.stringify(userId)}`);
      }
      const servers: IceServer[] = [];
      if (stunUrls.length) servers.push({ urls: [...stunUrls] });
      if (hasTurn) {
        const expiresAt = Math.floor(now() / 1000) + ttl;
        servers.push({ urls: [...turnUrls], ...turnCredential(secret, userId, expiresAt) });
      }
      return servers;
    },
  };
}
