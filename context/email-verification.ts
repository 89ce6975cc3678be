// A customer's email, proved before it links anything. The widget visitor gives an email; we mail a
// six-digit code (kept only as a hash, good once, for a short time, a few wrong guesses at most). Only
// when the code comes back from the same visitor's session does the email become an identity of their
// profile; if another profile already has it, the two are one person and are merged with the audited
// merge, the older profile keeping everything (so the customer sees their earlier history). Until
// then the email is only "unverified" on the profile and never joins two profiles.
import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { IsNull, LessThan, MoreThan, type DataSource, type Repository } from 'typeorm';
import { CustomerEntity, type CustomerRow } from '../db/entities.js';
import {
  CustomerAccessEntity,
  CustomerIdentityEntity,
  EmailVerificationEntity,
  type CustomerAccessRow,
  type CustomerIdentityRow,
  type EmailVerificationRow,
} from '../db/context-entities.js';
import { DomainError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { EmailCodeReply, EmailVerifiedReply } from '../protocol/context.js';
import type { CustomerContext } from './customer-context.js';

/** What mail goes through (accounts/mailer.ts's outbox by default). */
export interface CodeMailer {
  send(message: { to: string; subject: string; text: string; kind: string }): Promise<void>;
}

export interface EmailVerificationOptions {
  /** How long a code is good for. */
  ttlMs: number;
  /** Codes one visitor may ask for per window, and codes one address may receive per window. */
  perCustomer: { max: number; windowMs: number };
  perEmail: { max: number; windowMs: number };
  /** Wrong codes tried before a code is spent. */
  maxAttempts: number;
  logger: Logger;
}

export const EMAIL_VERIFICATION_DEFAULTS: Omit<EmailVerificationOptions, 'logger'> = {
  ttlMs: 15 * 60_000,
  perCustomer: { max: 3, windowMs: 15 * 60_000 },
  // Nobody's inbox is flooded with codes by visitors typing their address.
  perEmail: { max: 5, windowMs: 60 * 60_000 },
  maxAttempts: 5,
};

/** The code is hashed with its row id, so one table of six-digit hashes does not fit every row. */
const codeHash = (rowId: string, code: string): string => createHash('sha256').update(`${rowId}:${code}`).digest('hex');

/** Emails are compared in lower case (as accounts' are); the value was checked for syntax at the edge. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

export class EmailVerifications {
  readonly #rows: Repository<EmailVerificationRow>;
  readonly #customers: Repository<CustomerRow>;
  readonly #identities: Repository<CustomerIdentityRow>;
  readonly #access: Repository<CustomerAccessRow>;
  /** The last code request's rate-limit step (see #oneAtATime). */
  #issuing: Promise<unknown> = Promise.resolve();

  constructor(
    db: DataSource,
    private readonly context: Pick<CustomerContext, 'merge'>,
    private readonly mailer: CodeMailer,
    private readonly opts: EmailVerificationOptions,
  ) {
    this.#rows = db.getRepository(EmailVerificationEntity);
    this.#customers = db.getRepository(CustomerEntity);
    this.#identities = db.getRepository(CustomerIdentityEntity);
    this.#access = db.getRepository(CustomerAccessEntity);
  }

  /**
   * Count-then-insert of the rate limits, one request at a time in this process, so a burst of
   * simultaneous requests cannot all pass the count (across several nodes it is still per node).
   */
  #oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#issuing.then(work);
    this.#issuing = run.catch(() => undefined);
    return run;
  }

  /** Mails a code to `email` for this visitor; the email is kept as unverified until the code comes back. */
  async request(customerId: string, email: string): Promise<EmailCodeReply> {
    const address = normaliseEmail(email);
    await this.#liveCustomer(customerId);
    const id = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const row = await this.#oneAtATime(async () => {
      const now = Date.now();
      const [mine, theirs] = await Promise.all([
        this.#rows.countBy({ customerId, createdAt: MoreThan(now - this.opts.perCustomer.windowMs) }),
        this.#rows.countBy({ email: address, createdAt: MoreThan(now - this.opts.perEmail.windowMs) }),
      ]);
      if (mine >= this.opts.perCustomer.max || theirs >= this.opts.perEmail.max) {
        const windowMs = mine >= this.opts.perCustomer.max ? this.opts.perCustomer.windowMs : this.opts.perEmail.windowMs;
        throw new DomainError('RATE_LIMITED', `too many codes asked for: try again in ${Math.round(windowMs / 60_000)} minutes`);
      }
      const issued: EmailVerificationRow = { id, customerId, email: address, codeHash: codeHash(id, code), attempts: 0, createdAt: now, expiresAt: now + this.opts.ttlMs, usedAt: null };
      await this.#rows.insert(issued);
      return issued;
    });
    const minutes = Math.round(this.opts.ttlMs / 60_000);
    await this.mailer.send({
      kind: 'email-verification',
      to: address,
      subject: `Your code: ${code}`,
      text: `Your code to confirm this email address is ${code}.\n\nType it in the chat window within ${minutes} minutes. Once confirmed, we recognise you by this address when you contact us again, and the people helping you see your earlier conversations with us.\n\nIf you did not ask for it, ignore this message: nothing is linked without the code.\n`,
    });
    // Neither the code nor the address is logged.
    this.opts.logger.info('email verification code issued', { customerId });
    return { email: address, expiresAt: row.expiresAt, verified: false };
  }

  /**
   * The code came back from this visitor: the email becomes an identity of their profile, merged with
   * the profile that already had it (the older one keeps everything). Returns the profile the visitor
   * is now, which is another one when theirs was merged away.
   */
  async verify(customerId: string, email: string, code: string): Promise<EmailVerifiedReply> {
    const address = normaliseEmail(email);
    await this.#liveCustomer(customerId);
    const now = Date.now();
    const open = await this.#rows.find({
      where: { customerId, email: address, usedAt: IsNull(), expiresAt: MoreThan(now), attempts: LessThan(this.opts.maxAttempts) },
      order: { createdAt: 'DESC' },
    });
    if (!open.length) throw new InvalidStateError('no code is waiting for this email (it expired, was used or was mistyped too often): ask for a new one');
    const match = open.find((r) => timingSafeEqual(Buffer.from(codeHash(r.id, code)), Buffer.from(r.codeHash)));
    if (!match) {
      // Each wrong guess spends one of every open code's tries, so six digits cannot be walked.
      for (const r of open) await this.#rows.increment({ id: r.id }, 'attempts', 1);
      const left = Math.max(0, this.opts.maxAttempts - 1 - Math.max(...open.map((r) => r.attempts)));
      throw new DomainError('VALIDATION', left > 0 ? `that code is not right: ${left} ${left === 1 ? 'try' : 'tries'} left` : 'that code is not right, and no tries are left: ask for a new code');
    }
    // Used up in one conditional write, so the same code cannot verify twice.
    const claimed = await this.#rows.update({ id: match.id, usedAt: IsNull() }, { usedAt: now });
    if (!claimed.affected) throw new InvalidStateError('this code was already used: ask for a new one');

    const into = await this.#link(customerId, address);
    await this.#access.insert({ id: randomUUID(), customerId: into.id, viewerId: customerId, viewerRole: 'customer', action: 'email', taskId: null, at: now });
    this.opts.logger.info('email verified', { customerId, profile: into.id, merged: into.mergedFrom !== null });
    return { email: address, verified: true, customerId: into.id, merged: into.mergedFrom !== null };
  }

  /** The email becomes the profile's identity; if another profile has it, the older of the two absorbs the newer. */
  async #link(customerId: string, email: string): Promise<{ id: string; mergedFrom: string | null }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const owner = await this.#identities.findOneBy({ kind: 'email', value: email });
      if (owner?.customerId === customerId) return { id: customerId, mergedFrom: null };
      if (owner) {
        const [mine, theirs] = await Promise.all([this.#customers.findOneByOrFail({ id: customerId }), this.#customers.findOneByOrFail({ id: owner.customerId })]);
        // The older profile wins; on a tie, the one that already had the email.
        const [older, newer] = mine.createdAt < theirs.createdAt ? [mine, theirs] : [theirs, mine];
        await this.context.merge(older.id, newer.id, { id: customerId, role: 'customer' });
        // The merge moved the newer profile's identities; make sure the email sits on the survivor.
        await this.#identities.update({ kind: 'email', value: email }, { customerId: older.id });
        return { id: older.id, mergedFrom: newer.id };
      }
      try {
        await this.#identities.insert({ id: randomUUID(), customerId, kind: 'email', value: email, createdAt: Date.now() });
        return { id: customerId, mergedFrom: null };
      } catch (err) {
        // Another profile verified the same email at this moment: merge with it on the second pass.
        if (!(await this.#identities.existsBy({ kind: 'email', value: email }))) throw err;
      }
    }
    throw new InvalidStateError('the email could not be linked: try again');
  }

  /** A visitor whose profile was merged away (or erased) holds a token that may no longer add to it. */
  async #liveCustomer(customerId: string): Promise<CustomerRow> {
    const customer = await this.#customers.findOneBy({ id: customerId });
    if (!customer) throw new NotFoundError('customer');
    if (customer.erasedAt != null) throw new InvalidStateError('this profile was erased or merged into another: start a new chat');
    return customer;
  }
}
