// Staff accounts (agents, supervisors, admins): creation, password checks, the first admin.
import { randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import type { Repository } from 'typeorm';
import { DomainError } from '../lib/errors.js';
import type { AccountRow, Role, SkillLevel } from '../db/entities.js';

export interface NewAccount {
  email: string;
  displayName: string;
  role: Role;
  password: string;
  skills?: SkillLevel[];
  languages?: string[];
  chatCapacity?: number;
}

// argon2id with the library's defaults (m=64 MiB, t=3, p=4) as OWASP recommends.
const hashPassword = (password: string) => argon2.hash(password, { type: argon2.argon2id });

export class AccountService {
  constructor(
    private readonly accounts: Repository<AccountRow>,
    private readonly defaultChatCapacity: number,
  ) {}

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
      createdAt: now,
      updatedAt: now,
    };
    await this.accounts.insert(row);
    return row;
  }

  /** The account for these credentials; one error for unknown email and wrong password alike. */
  async authenticate(email: string, password: string): Promise<AccountRow> {
    const account = await this.accounts.findOneBy({ email: email.trim().toLowerCase() });
    // Verify against a real hash even for an unknown email, so timing does not reveal which emails exist.
    const hash = account?.passwordHash ?? (await this.#dummyHash());
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!account || !ok) throw new DomainError('UNAUTHENTICATED', 'wrong email or password');
    return account;
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
