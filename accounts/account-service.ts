// Staff accounts (agents, supervisors, admins): creation, password checks, the first admin.
import { randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import type { Repository } from 'typeorm';
import { DomainError } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { AccountRow, AgentPolicies, AgentVerification, Role, SkillLevel } from '../db/entities.js';
import { LoginAttemptEntity, type LoginAttemptRow } from '../db/accounts-entities.js';
import { acceptTotp, newTotpSecret, totpUri } from './totp.js';

export interface NewAccount {
  email: string;
  displayName: string;
  role: Role;
  password: string;
  skills?: SkillLevel[];
  languages?: string[];
  chatCapacity?: number;
  /** Self-signed-up agents start 'pending'; accounts made by admins are 'verified'. */
  verification?: AgentVerification;
  legalName?: string | null;
  bio?: string | null;
  timeZone?: string | null;
  policies?: AgentPolicies | null;
  /** The agent's own price per minute (minor units); null: each topic's price. Checked by the caller (charging). */
  pricePerMinuteMinor?: number | null;
}

/** Per-account (per-email) lock-out after repeated failed sign-ins. */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/** A sign-in refused because the email is locked out: the same error as a wrong password, plus when to retry. */
export class AccountLockedError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('UNAUTHENTICATED', 'wrong email or password');
  }
}

export type AccountEvents = {
  /** Every token of the account issued before was revoked (sign out everywhere, suspension, reset). */
  'sessions:revoked': [accountId: string, tokenVersion: number];
};

const WRONG = 'wrong email or password';

// argon2id with the library's defaults (m=64 MiB, t=3, p=4) as OWASP recommends.
const hashPassword = (password: string) => argon2.hash(password, { type: argon2.argon2id });

export class AccountService {
  readonly observer = new TypedEmitter<AccountEvents>();
  readonly #attempts: Repository<LoginAttemptRow>;

  constructor(
    private readonly accounts: Repository<AccountRow>,
    private readonly defaultChatCapacity: number,
    private readonly lockout: LockoutPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
  ) {
    this.#attempts = accounts.manager.getRepository(LoginAttemptEntity);
  }

  async create(input: NewAccount, mustChangePassword = false): Promise<AccountRow> {
    const email = input.email.trim().toLowerCase();
    if (await this.accounts.existsBy({ email })) throw new DomainError('CONFLICT', `an account with email ${email} exists`);
    const now = Date.now();
    const row: AccountRow = {
      id: randomUUID(),
      email,
      displayName: input.displayName.trim(),
      role: input.role,
      passwordHash: await hashPassword(input.password),
      mustChangePassword,
      skills: input.skills ?? [],
      languages: input.languages ?? [],
      chatCapacity: input.chatCapacity ?? this.defaultChatCapacity,
      verification: input.verification ?? 'verified',
      legalName: input.legalName ?? null,
      bio: input.bio ?? null,
      timeZone: input.timeZone ?? null,
      policies: input.policies ?? null,
      pricePerMinuteMinor: input.pricePerMinuteMinor ?? null,
      tokenVersion: 0,
      totpSecret: null,
      totpEnabled: false,
      totpLastStep: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.accounts.insert(row);
    return row;
  }

  /**
   * The account for these credentials; one error for unknown email and wrong password alike. After
   * `lockout.maxFailures` failures within the window the email is locked (known or not, so the lock
   * says nothing about whether the account exists): AccountLockedError, without checking the password.
   * With a second factor enabled, `totp` must be a fresh code (TOTP_REQUIRED when it is missing).
   */
  async authenticate(email: string, password: string, totp?: string): Promise<AccountRow> {
    const normalized = email.trim().toLowerCase();
    const now = Date.now();
    const attempt = await this.#attempts.findOneBy({ email: normalized });
    if (attempt?.lockedUntil && attempt.lockedUntil > now) throw new AccountLockedError(Math.ceil((attempt.lockedUntil - now) / 1000));
    const account = await this.accounts.findOneBy({ email: normalized });
    // Verify against a real hash even for an unknown email, so timing does not reveal which emails exist.
    const hash = account?.passwordHash ?? (await this.#dummyHash());
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!account || !ok) {
      await this.#failed(normalized, attempt, now);
      throw new DomainError('UNAUTHENTICATED', WRONG);
    }
    if (account.totpEnabled && account.totpSecret) {
      if (!totp) throw new DomainError('TOTP_REQUIRED', 'enter the code from your authenticator app');
      const step = acceptTotp(account.totpSecret, totp, account.totpLastStep, now);
      if (step === null) {
        await this.#failed(normalized, attempt, now);
        throw new DomainError('UNAUTHENTICATED', 'wrong or already used code');
      }
      await this.accounts.update({ id: account.id }, { totpLastStep: step });
    }
    if (attempt) await this.#attempts.delete({ email: normalized });
    return account;
  }

  async #failed(email: string, attempt: LoginAttemptRow | null, now: number): Promise<void> {
    if (!attempt || now - attempt.windowStartedAt > this.lockout.windowMs) {
      await this.#attempts.upsert({ email, failures: 1, windowStartedAt: now, lockedUntil: null }, ['email']);
      return;
    }
    await this.#attempts.increment({ email }, 'failures', 1);
    const after = await this.#attempts.findOneBy({ email });
    if (after && after.failures >= this.lockout.maxFailures) await this.#attempts.update({ email }, { lockedUntil: now + this.lockout.lockMs });
  }

  /** Forgets the failed sign-ins of an email (its password was just reset). */
  async clearFailures(email: string): Promise<void> {
    await this.#attempts.delete({ email: email.trim().toLowerCase() });
  }

  /** The account's current token version, or null when it does not exist (tokens.ts checks it). */
  async tokenVersion(accountId: string): Promise<number | null> {
    const row = await this.accounts.findOne({ where: { id: accountId }, select: { id: true, tokenVersion: true } });
    return row ? (row.tokenVersion ?? 0) : null;
  }

  /** Signs the account out everywhere: every token issued before stops working. */
  async revokeSessions(accountId: string): Promise<number> {
    await this.accounts.increment({ id: accountId }, 'tokenVersion', 1);
    const version = (await this.tokenVersion(accountId)) ?? 0;
    this.observer.safeEmit('sessions:revoked', accountId, version);
    return version;
  }

  /** Sets a new password without the current one (a checked reset link); signs out everywhere. */
  async resetPassword(accountId: string, newPassword: string): Promise<void> {
    await this.accounts.update({ id: accountId }, { passwordHash: await hashPassword(newPassword), mustChangePassword: false, updatedAt: Date.now() });
    await this.revokeSessions(accountId);
  }

  // ---- TOTP second factor ----------------------------------------------------------------------

  /** Starts enrolment: a new secret (shown once) that counts only after confirmTotp. */
  async enrolTotp(accountId: string): Promise<{ secret: string; uri: string }> {
    const account = await this.get(accountId);
    if (account.totpEnabled) throw new DomainError('INVALID_STATE', 'a second factor is already enabled: disable it first');
    const secret = newTotpSecret();
    await this.accounts.update({ id: accountId }, { totpSecret: secret, totpLastStep: null, updatedAt: Date.now() });
    return { secret, uri: totpUri(secret, account.email) };
  }

  async confirmTotp(accountId: string, code: string): Promise<void> {
    const account = await this.get(accountId);
    if (account.totpEnabled || !account.totpSecret) throw new DomainError('INVALID_STATE', 'start the enrolment first');
    const step = acceptTotp(account.totpSecret, code, account.totpLastStep);
    if (step === null) throw new DomainError('VALIDATION', 'wrong code: check the time on your device and try the next one');
    await this.accounts.update({ id: accountId }, { totpEnabled: true, totpLastStep: step, updatedAt: Date.now() });
  }

  async disableTotp(accountId: string, code: string): Promise<void> {
    const account = await this.get(accountId);
    if (!account.totpEnabled || !account.totpSecret) throw new DomainError('INVALID_STATE', 'no second factor is enabled');
    if (acceptTotp(account.totpSecret, code, account.totpLastStep) === null) throw new DomainError('VALIDATION', 'wrong or already used code');
    await this.accounts.update({ id: accountId }, { totpEnabled: false, totpSecret: null, totpLastStep: null, updatedAt: Date.now() });
  }

  async changePassword(accountId: string, currentPassword: string, newPassword: string): Promise<void> {
    const account = await this.get(accountId);
    if (!(await argon2.verify(account.passwordHash, currentPassword).catch(() => false))) {
      throw new DomainError('UNAUTHENTICATED', 'current password is wrong');
    }
    if (currentPassword === newPassword) throw new DomainError('VALIDATION', 'the new password must differ from the current one');
    await this.accounts.update(
      { id: accountId },
      { passwordHash: await hashPassword(newPassword), mustChangePassword: false, updatedAt: Date.now() },
    );
  }

  findByEmail(email: string): Promise<AccountRow | null> {
    return this.accounts.findOneBy({ email: email.trim().toLowerCase() });
  }

  /** Changes profile fields of an account (the caller validated them). */
  async update(
    id: string,
    patch: Partial<Pick<AccountRow, 'displayName' | 'skills' | 'languages' | 'chatCapacity' | 'bio' | 'timeZone' | 'policies' | 'legalName' | 'locationLat10' | 'locationLon10'>>,
  ): Promise<AccountRow> {
    if (Object.keys(patch).length) await this.accounts.update({ id }, { ...patch, updatedAt: Date.now() });
    return this.get(id);
  }

  async get(id: string): Promise<AccountRow> {
    const account = await this.accounts.findOneBy({ id });
    if (!account) throw new DomainError('UNAUTHENTICATED', 'account no longer exists');
    return account;
  }

  list(): Promise<AccountRow[]> {
    return this.accounts.find({ order: { createdAt: 'ASC' } });
  }

  /**
   * Creates the first admin when there is none. Returns the one-time password for the caller to print
   * once (it is never logged); null when an admin already exists.
   */
  async ensureAdmin(email: string, presetPassword: string): Promise<{ email: string; password: string } | null> {
    if (await this.accounts.existsBy({ role: 'admin' })) return null;
    const password = presetPassword || randomBytes(12).toString('base64url');
    try {
      await this.create({ email, displayName: 'Administrator', role: 'admin', password }, true);
    } catch (err) {
      // Another node starting at the same moment created it first.
      if (await this.accounts.existsBy({ role: 'admin' })) return null;
      throw err;
    }
    return { email, password };
  }

  #dummy?: Promise<string>;
  #dummyHash(): Promise<string> {
    this.#dummy ??= hashPassword(randomBytes(16).toString('hex'));
    return this.#dummy;
  }
}
