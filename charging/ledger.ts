// The double-entry ledger: every movement of money is one transaction whose postings add up to zero,
// written once (idempotency key) and never changed; a mistake is undone by a reversal entry. Balances
// are kept per account and currency in the same database transaction as the postings, and a wallet
// is debited only by a conditional UPDATE that keeps it at or above its floor (docs/charging.md).
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  CustomerWalletEntity,
  LedgerBalanceEntity,
  LedgerPostingEntity,
  LedgerTransactionEntity,
  type LedgerTransactionKind,
  type LedgerTransactionRow,
} from '../db/charging-entities.js';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';
import { isAccount, walletOwner } from './accounts.js';
import { ChargingValidationError, ConflictError, InsufficientFundsError } from './errors.js';
import { assertCurrency, assertMinor, sumMinor } from './money.js';
import { exec, inTransaction, isUniqueViolation } from './sql.js';
import { lockWallet } from './wallets.js';

export type TransactionKind = LedgerTransactionKind;
export const TRANSACTION_KINDS: readonly TransactionKind[] = ['topup', 'charge', 'refund', 'reversal', 'payout', 'adjustment'];

export interface PostingInput {
  account: string;
  /** Signed minor units; never 0. */
  amountMinor: number;
  /** For a debit of a non-wallet account: it must stay at or above this (a payout cannot exceed what is owed). */
  floorMinor?: number;
}

export interface PostInput {
  idempotencyKey: string;
  kind: TransactionKind;
  currency: string;
  memo?: string | null;
  sessionId?: string | null;
  reversalOf?: string | null;
  postings: PostingInput[];
}

export interface LedgerPosting {
  account: string;
  amountMinor: number;
}

export interface LedgerTransaction {
  id: string;
  idempotencyKey: string;
  kind: TransactionKind;
  currency: string;
  memo: string | null;
  reversalOf: string | null;
  sessionId: string | null;
  createdAt: number;
  postings: LedgerPosting[];
}

const KEY = /^[A-Za-z0-9_.:@-]{1,160}$/;

function validate(input: PostInput): void {
  if (typeof input.idempotencyKey !== 'string' || !KEY.test(input.idempotencyKey)) throw new TypeError(`invalid idempotency key: ${String(input.idempotencyKey)}`);
  if (!TRANSACTION_KINDS.includes(input.kind)) throw new TypeError(`unknown transaction kind: ${String(input.kind)}`);
  assertCurrency(input.currency);
  if (input.memo != null && (typeof input.memo !== 'string' || input.memo.length > 300)) throw new TypeError('memo must be a string of at most 300 characters');
  if (!Array.isArray(input.postings) || input.postings.length < 2) throw new ChargingValidationError('a transaction needs at least two postings');
  const seen = new Set<string>();
  for (const p of input.postings) {
    if (!isAccount(p.account)) throw new TypeError(`invalid account: ${String(p.account)}`);
    if (seen.has(p.account)) throw new ChargingValidationError(`account ${p.account} appears twice in one transaction`);
    seen.add(p.account);
    assertMinor(p.amountMinor, `posting to ${p.account}`);
    if (p.amountMinor === 0) throw new ChargingValidationError(`posting to ${p.account} is zero`);
    if (p.floorMinor !== undefined) assertMinor(p.floorMinor, 'floorMinor');
  }
  if (sumMinor(input.postings.map((p) => p.amountMinor)) !== 0) {
    throw new ChargingValidationError('the postings of a transaction must add up to zero', { currency: input.currency });
  }
}

/** What makes two requests under one key the same request (the memo is free text and may be reworded). */
function fingerprint(t: { kind: string; currency: string; sessionId?: string | null; reversalOf?: string | null; postings: LedgerPosting[] }): string {
  const postings = t.postings.map((p) => `${p.account}=${p.amountMinor}`).sort();
  return JSON.stringify([t.kind, t.currency, t.sessionId ?? null, t.reversalOf ?? null, postings]);
}

function sameOrConflict(existing: LedgerTransaction, input: PostInput): LedgerTransaction {
  if (fingerprint(existing) !== fingerprint(input)) {
    throw new ConflictError('this idempotency key was already used for a different transaction', { idempotencyKey: input.idempotencyKey });
  }
  return existing;
}

export class LedgerService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Posts a balanced transaction once; the same key again returns the first one, a different body under it throws. */
  async post(input: PostInput, manager?: EntityManager): Promise<LedgerTransaction> {
    validate(input);
    try {
      return await inTransaction(this.db, (m) => this.#postIn(m, input), manager);
    } catch (err) {
      if (manager || !isUniqueViolation(err)) throw err;
      // Lost a race: another request with this key (or reversing the same transaction) committed first.
      const existing = await this.findByKey(input.idempotencyKey);
      if (existing) return sameOrConflict(existing, input);
      if (input.reversalOf) throw new InvalidStateError('this transaction has already been reversed');
      throw err;
    }
  }

  /**
   * Undoes a transaction exactly: the same postings with opposite signs, linked by reversal_of (a
   * transaction is undone at most once). `kind: 'refund'` for money given back, else 'reversal'.
   */
  async reverse(
    transactionId: string,
    idempotencyKey: string,
    memo: string | null,
    options: { kind?: 'reversal' | 'refund'; manager?: EntityManager } = {},
  ): Promise<LedgerTransaction> {
    const work = async (m: EntityManager): Promise<LedgerTransaction> => {
      const original = await this.#get(m, transactionId);
      if (!original) throw new NotFoundError('ledger transaction');
      const input: PostInput = {
        idempotencyKey,
        kind: options.kind ?? 'reversal',
        currency: original.currency,
        memo,
        sessionId: original.sessionId,
        reversalOf: original.id,
        postings: original.postings.map((p) => ({ account: p.account, amountMinor: -p.amountMinor })),
      };
      validate(input);
      const byKey = await this.#findByKey(m, idempotencyKey);
      if (byKey) return sameOrConflict(byKey, input);
      if (original.reversalOf) throw new InvalidStateError('a reversal cannot be reversed; post the entry again instead');
      if (await m.getRepository(LedgerTransactionEntity).existsBy({ reversalOf: original.id })) {
        throw new InvalidStateError('this transaction has already been reversed');
      }
      return this.#postIn(m, input);
    };
    try {
      return await inTransaction(this.db, work, options.manager);
    } catch (err) {
      if (options.manager || !isUniqueViolation(err)) throw err;
      const existing = await this.findByKey(idempotencyKey);
      if (existing && existing.reversalOf === transactionId) return existing;
      throw new InvalidStateError('this transaction has already been reversed');
    }
  }

  async get(transactionId: string, manager?: EntityManager): Promise<LedgerTransaction | null> {
    return this.#get(manager ?? this.db.manager, transactionId);
  }

  async findByKey(idempotencyKey: string, manager?: EntityManager): Promise<LedgerTransaction | null> {
    return this.#findByKey(manager ?? this.db.manager, idempotencyKey);
  }

  /** Transactions of one kind (or all) that belong to a charged session, oldest first. */
  async forSession(sessionId: string, manager?: EntityManager): Promise<LedgerTransaction[]> {
    const m = manager ?? this.db.manager;
    const rows = await m.getRepository(LedgerTransactionEntity).find({ where: { sessionId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return Promise.all(rows.map((r) => this.#withPostings(m, r)));
  }

  /** The account's balance in a currency (0 when it never moved). */
  async balance(account: string, currency: string, manager?: EntityManager): Promise<number> {
    const row = await (manager ?? this.db.manager).getRepository(LedgerBalanceEntity).findOneBy({ account, currency });
    return row?.balanceMinor ?? 0;
  }

  async #postIn(m: EntityManager, input: PostInput): Promise<LedgerTransaction> {
    const existing = await this.#findByKey(m, input.idempotencyKey);
    if (existing) return sameOrConflict(existing, input);
    const now = this.clock();
    const postings = [...input.postings].sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));

    // Wallets first, in name order: a debited wallet is locked so its reservations cannot move meanwhile.
    for (const p of postings) {
      const owner = walletOwner(p.account);
      if (owner === null) continue;
      const wallet = p.amountMinor < 0 ? await lockWallet(m, owner, now) : await m.getRepository(CustomerWalletEntity).findOneBy({ customerId: owner });
      if (!wallet) throw new NotFoundError(`wallet of customer ${owner}`);
      if (wallet.currency !== input.currency) {
        throw new ChargingValidationError(`the wallet holds ${wallet.currency}, not ${input.currency}`, { customerId: owner });
      }
    }

    const row: LedgerTransactionRow = {
      id: randomUUID(),
      idempotencyKey: input.idempotencyKey,
      kind: input.kind,
      currency: input.currency,
      memo: input.memo ?? null,
      reversalOf: input.reversalOf ?? null,
      sessionId: input.sessionId ?? null,
      createdAt: now,
    };
    await m.getRepository(LedgerTransactionEntity).insert(row);
    await m.getRepository(LedgerPostingEntity).insert(
      postings.map((p) => ({ id: randomUUID(), transactionId: row.id, account: p.account, amountMinor: p.amountMinor, currency: input.currency, createdAt: now })),
    );
    for (const p of postings) await this.#applyToBalance(m, p, input.currency, now);
    return { ...row, postings: postings.map((p) => ({ account: p.account, amountMinor: p.amountMinor })) };
  }

  /** balance += amount; a debit of a wallet (or of an account with a floor) only if the floor still holds. */
  async #applyToBalance(m: EntityManager, p: PostingInput, currency: string, now: number): Promise<void> {
    await exec(m, 'INSERT INTO ledger_balances (account, currency, balance_minor, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT DO NOTHING', [p.account, currency, now]);
    const update = 'UPDATE ledger_balances SET balance_minor = balance_minor + ?, updated_at = ? WHERE account = ? AND currency = ?';
    const owner = walletOwner(p.account);
    let result;
    if (p.amountMinor < 0 && owner !== null) {
      // available = balance − reserved − floor, floor = −credit limit: the debit may not make it negative.
      result = await exec(m, `${update} AND balance_minor + ? >= (SELECT w.reserved_minor - w.credit_limit_minor FROM customer_wallets w WHERE w.customer_id = ?)`, [
        p.amountMinor, now, p.account, currency, p.amountMinor, owner,
      ]);
    } else if (p.amountMinor < 0 && p.floorMinor !== undefined) {
      result = await exec(m, `${update} AND balance_minor + ? >= ?`, [p.amountMinor, now, p.account, currency, p.amountMinor, p.floorMinor]);
    } else {
      result = await exec(m, update, [p.amountMinor, now, p.account, currency]);
    }
    if (result.affected !== 1) throw new InsufficientFundsError(`${p.account} cannot be debited by ${-p.amountMinor}`, { account: p.account });
  }

  async #findByKey(m: EntityManager, idempotencyKey: string): Promise<LedgerTransaction | null> {
    const row = await m.getRepository(LedgerTransactionEntity).findOneBy({ idempotencyKey });
    return row ? this.#withPostings(m, row) : null;
  }

  async #get(m: EntityManager, id: string): Promise<LedgerTransaction | null> {
    const row = await m.getRepository(LedgerTransactionEntity).findOneBy({ id });
    return row ? this.#withPostings(m, row) : null;
  }

  async #withPostings(m: EntityManager, row: LedgerTransactionRow): Promise<LedgerTransaction> {
    const postings = await m.getRepository(LedgerPostingEntity).find({ where: { transactionId: row.id }, order: { account: 'ASC' } });
    return { ...row, postings: postings.map((p) => ({ account: p.account, amountMinor: p.amountMinor })) };
  }
}
