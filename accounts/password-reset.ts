// Password reset by a one-time link: a random token mailed to the account's address, kept only as its
// SHA-256, good once and for a short time. Asking never says whether the email has an account.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, MoreThan, type DataSource, type Repository } from 'typeorm';
import { DomainError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PasswordResetTokenEntity, type PasswordResetTokenRow } from '../db/accounts-entities.js';
import type { AccountService } from './account-service.js';
import type { Mailer } from './mailer.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface PasswordResetOptions {
  ttlMs: number;
  /** Base URL of the server, for the link (read when a link is made: the port is known late). */
  baseUrl: () => string;
  logger: Logger;
}

export class PasswordResets {
  readonly #tokens: Repository<PasswordResetTokenRow>;

  constructor(
    db: DataSource,
    private readonly accounts: AccountService,
    private readonly mailer: Mailer,
    private readonly opts: PasswordResetOptions,
  ) {
    this.#tokens = db.getRepository(PasswordResetTokenEntity);
  }

  /** Mails a reset link when the email has an account; silently nothing otherwise. */
  async request(email: string): Promise<void> {
    const account = await this.accounts.findByEmail(email);
    if (!account) return;
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.#tokens.insert({ id: randomUUID(), accountId: account.id, tokenHash: sha256(token), createdAt: now, expiresAt: now + this.opts.ttlMs, usedAt: null });
    // In the fragment, so the token never reaches a server log when the link is opened.
    const link = `${this.opts.baseUrl()}/agent/#reset=${token}`;
    const minutes = Math.round(this.opts.ttlMs / 60_000);
    await this.mailer.send({
      kind: 'password-reset',
      to: account.email,
      subject: 'Reset your mccs password',
      text: `Someone (hopefully you) asked to reset the password of ${account.email}.\n\nOpen this link within ${minutes} minutes to choose a new one:\n${link}\n\nIf you did not ask, ignore this message.\n`,
    });
    this.opts.logger.info('reset link issued', { accountId: account.id });
  }

  /** Sets the new password if the token is good: unused, not expired. Uses the token up either way it succeeds. */
  async confirm(token: string, newPassword: string): Promise<void> {
    const now = Date.now();
    const row = await this.#tokens.findOneBy({ tokenHash: sha256(token), usedAt: IsNull(), expiresAt: MoreThan(now) });
    // Used up in one conditional write, so two requests with the same link cannot both succeed.
    const claimed = row ? await this.#tokens.update({ id: row.id, usedAt: IsNull() }, { usedAt: now }) : null;
    if (!row || !claimed?.affected) throw new DomainError('INVALID_STATE', 'this reset link is invalid, used or expired: ask for a new one');
    await this.accounts.resetPassword(row.accountId, newPassword);
    const account = await this.accounts.get(row.accountId);
    await this.accounts.clearFailures(account.email);
    this.opts.logger.info('password reset', { accountId: row.accountId });
  }
}
