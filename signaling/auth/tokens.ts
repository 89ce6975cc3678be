// Signed bearer tokens (JWT, HS256, via jose). Staff tokens name an account and its role; visitor
// tokens name an anonymous customer. Verification distinguishes expired from forged, so clients can
// tell "log in again" from "go away".
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { DomainError } from '../../lib/errors.js';
import type { Role } from '../../db/entities.js';

export type Principal =
  | { kind: 'staff'; accountId: string; role: Role; expiresAt: number; mustChangePassword: boolean }
  | { kind: 'visitor'; customerId: string; expiresAt: number };

const ISSUER = 'mccs';

/** Where a staff token's version is checked: the account's current one, or null when it is gone. */
export interface SessionVersions {
  tokenVersion(accountId: string): Promise<number | null>;
}

/** Staff principals and the version their token carried, for the synchronous check of live sockets. */
const issued = new WeakMap<Principal, { service: TokenService; version: number }>();

/**
 * False once the principal's sessions were revoked (sign out everywhere, suspension), as far as the
 * issuing service knows without waiting: live sockets ask this on every event, and an answer older
 * than a few seconds is refreshed in the background.
 */
export function principalRevoked(principal: Principal | undefined): boolean {
  const entry = principal ? issued.get(principal) : undefined;
  return entry !== undefined && principal!.kind === 'staff' && entry.service.revokedNow(principal!.accountId, entry.version);
}

export class TokenService {
  readonly #key: Uint8Array;

  /** accountId → its current token version and when it was read. */
  readonly #versions = new Map<string, { version: number | null; at: number; refreshing: boolean }>();

  constructor(
    secret: string,
    private readonly ttl: { staffSeconds: number; visitorSeconds: number },
    private readonly sessions?: SessionVersions,
  ) {
    if (secret.length < 32) throw new TypeError('token secret must be at least 32 characters');
    this.#key = new TextEncoder().encode(secret);
  }

  async issueStaff(accountId: string, role: Role, mustChangePassword: boolean, tokenVersion = 0): Promise<{ token: string; expiresAt: number }> {
    return this.#sign({ kind: 'staff', role, pwc: mustChangePassword || undefined, ver: tokenVersion || undefined }, accountId, this.ttl.staffSeconds);
  }

  /** The account's sessions were revoked here: tokens of older versions fail at once on this node. */
  noteRevoked(accountId: string, version: number): void {
    this.#versions.set(accountId, { version, at: Date.now(), refreshing: false });
  }

  /** Synchronous: from what is known (refreshed in the background after 5 s). */
  revokedNow(accountId: string, version: number): boolean {
    if (!this.sessions) return false;
    const known = this.#versions.get(accountId);
    if (known && !known.refreshing && Date.now() - known.at > 5000) {
      known.refreshing = true;
      void this.#currentVersion(accountId).catch(() => {
        known.refreshing = false;
      });
    }
    return known !== undefined && known.version !== version;
  }

  async #currentVersion(accountId: string): Promise<number | null> {
    const version = await this.sessions!.tokenVersion(accountId);
    this.#versions.set(accountId, { version, at: Date.now(), refreshing: false });
    return version;
  }

  async issueVisitor(customerId: string): Promise<{ token: string; expiresAt: number }> {
    return this.#sign({ kind: 'visitor' }, customerId, this.ttl.visitorSeconds);
  }

  /** Throws DomainError TOKEN_EXPIRED or UNAUTHENTICATED. */
  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ['HS256'] });
      const expiresAt = (payload.exp ?? 0) * 1000;
      if (payload.kind === 'visitor' && payload.sub) return { kind: 'visitor', customerId: payload.sub, expiresAt };
      if (payload.kind === 'staff' && payload.sub && typeof payload.role === 'string') {
        const version = typeof payload.ver === 'number' ? payload.ver : 0;
        if (this.sessions && (await this.#currentVersion(payload.sub)) !== version) {
          throw new DomainError('UNAUTHENTICATED', 'this session was signed out: sign in again');
        }
        const principal: Principal = {
          kind: 'staff',
          accountId: payload.sub,
          role: payload.role as Role,
          expiresAt,
          mustChangePassword: payload.pwc === true,
        };
        if (this.sessions) issued.set(principal, { service: this, version });
        return principal;
      }
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new DomainError('TOKEN_EXPIRED', 'token expired: sign in again');
      if (err instanceof DomainError) throw err;
    }
    throw new DomainError('UNAUTHENTICATED', 'invalid token');
  }

  async #sign(claims: Record<string, unknown>, subject: string, ttlSeconds: number) {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.#key);
    return { token, expiresAt: (now + ttlSeconds) * 1000 };
  }
}

/** The configured secret, or one generated once and kept (0600) in the data folder so tokens survive restarts. */
export function resolveTokenSecret(configured: string, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'token-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}
