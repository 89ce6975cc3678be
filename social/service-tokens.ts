// Credentials of machines that use the public API on their own behalf (a Manager): an admin makes
// one, sees the token once, and can revoke it. Only a SHA-256 of the token is stored, so a copy of
// the database does not hold usable credentials; 32 random bytes need no slow hash.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, type Repository } from 'typeorm';
import type { ServiceTokenRow } from '../db/social-entities.js';
import { NotFoundError } from '../lib/errors.js';

const PREFIX = 'mccs_svc_';
/** lastUsedAt is written at most this often per token, so a busy Manager does not write on every call. */
const TOUCH_EVERY_MS = 60_000;

export interface ServiceTokenView {
  id: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function view(row: ServiceTokenRow): ServiceTokenView {
  return { id: row.id, name: row.name, createdAt: row.createdAt, revokedAt: row.revokedAt, lastUsedAt: row.lastUsedAt };
}

export class ServiceTokenService {
  constructor(private readonly tokens: Repository<ServiceTokenRow>) {}

  /** A new credential; the token is returned only here. */
  async create(name: string, createdBy: string): Promise<{ token: string; serviceToken: ServiceTokenView }> {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const row: ServiceTokenRow = { id: randomUUID(), name, tokenHash: hashOf(token), createdBy, createdAt: Date.now(), revokedAt: null, lastUsedAt: null };
    await this.tokens.insert(row);
    return { token, serviceToken: view(row) };
  }

  async list(): Promise<ServiceTokenView[]> {
    return (await this.tokens.find({ order: { createdAt: 'ASC' } })).map(view);
  }

  /** Revokes every live token of this name (the embedded Manager's from the previous start). */
  async revokeNamed(name: string): Promise<void> {
    await this.tokens.update({ name, revokedAt: IsNull() }, { revokedAt: Date.now() });
  }

  async revoke(id: string): Promise<void> {
    const result = await this.tokens.update({ id, revokedAt: IsNull() }, { revokedAt: Date.now() });
    if (!result.affected && !(await this.tokens.existsBy({ id }))) throw new NotFoundError('service token');
  }

  /** The credential a bearer token names, when it is one of ours and not revoked. */
  async verify(token: string): Promise<ServiceTokenView | null> {
    if (!token.startsWith(PREFIX)) return null;
    const row = await this.tokens.findOneBy({ tokenHash: hashOf(token), revokedAt: IsNull() });
    if (!row) return null;
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt > TOUCH_EVERY_MS) {
      row.lastUsedAt = now;
      await this.tokens.update({ id: row.id }, { lastUsedAt: now });
    }
    return view(row);
  }
}
