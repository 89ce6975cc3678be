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

export class TokenService {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttl: { staffSeconds: number; visitorSeconds: number },
  ) {
    if (secret.length < 32) throw new TypeError('token secret must be at least 32 characters');
    this.#key = new TextEncoder().encode(secret);
  }

  async issueStaff(accountId: string, role: Role, mustChangePassword: boolean): Promise<{ token: string; expiresAt: number }> {
    return this.#sign({ kind: 'staff', role, pwc: mustChangePassword || undefined }, accountId, this.ttl.staffSeconds);
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
        return {
          kind: 'staff',
          accountId: payload.sub,
          role: payload.role as Role,
          expiresAt,
          mustChangePassword: payload.pwc === true,
        };
      }
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new DomainError('TOKEN_EXPIRED', 'token expired: sign in again');
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
