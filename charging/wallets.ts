// Customer wallets: the currency a customer pays in, prepaid or postpaid, and what running sessions
// hold. The balance itself is the ledger's (account wallet:<customerId>); a reservation only raises
// reserved_minor, by a conditional UPDATE that never lets available = balance − reserved − floor
// fall below zero.
import type { DataSource, EntityManager } from 'typeorm';
import { CustomerWalletEntity, LedgerBalanceEntity, type CustomerWalletRow, type WalletKind } from '../db/charging-entities.js';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';
import { walletAccount } from './accounts.js';
import { ChargingValidationError } from './errors.js';
import { assertCurrency, assertMinor } from './money.js';
import { exec, inTransaction } from './sql.js';

export type { WalletKind };

export interface Wallet {
  customerId: string;
  currency: string;
  kind: WalletKind;
  creditLimitMinor: number;
  balanceMinor: number;
  reservedMinor: number;
  /** The lowest the balance may go: 0 prepaid, −credit limit postpaid. */
  floorMinor: number;
  /** What the customer may still spend or reserve: balance − reserved − floor. */
  availableMinor: number;
  createdAt: number;
  updatedAt: number;
}

/**
 * Locks the wallet row for the rest of the transaction (PostgreSQL: row lock; SQLite: writes are
 * serial anyway). Everything that lowers available takes this lock first, so each later statement in
 * the transaction sees the wallet's latest committed balance and reservations.
 */
export async function lockWallet(m: EntityManager, customerId: string, now: number): Promise<CustomerWalletRow | null> {
  const locked = await exec(m, 'UPDATE customer_wallets SET updated_at = ? WHERE customer_id = ?', [now, customerId]);
  if (locked.affected === 0) return null;
  return m.getRepository(CustomerWalletEntity).findOneBy({ customerId });
}

function assertKind(kind: unknown): asserts kind is WalletKind {
  if (kind !== 'prepaid' && kind !== 'postpaid') throw new TypeError(`wallet kind must be prepaid or postpaid, got ${String(kind)}`);
}

export class WalletService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The customer's wallet, opened (prepaid, empty) if they have none. A wallet holds one currency for
   * good: asking for another throws.
   */
  async open(customerId: string, currency: string, manager?: EntityManager): Promise<Wallet> {
    const account = walletAccount(customerId);
    assertCurrency(currency);
    const now = this.clock();
    return inTransaction(
      this.db,
      async (m) => {
        await exec(
          m,
          `INSERT INTO customer_wallets (customer_id, currency, kind, credit_limit_minor, reserved_minor, created_at, updated_at)
           VALUES (?, ?, 'prepaid', 0, 0, ?, ?) ON CONFLICT DO NOTHING`,
          [customerId, currency, now, now],
        );
        const wallet = (await this.get(customerId, m))!;
        if (wallet.currency !== currency) throw new ChargingValidationError(`the customer's wallet holds ${wallet.currency}, not ${currency}`, { customerId });
        await exec(m, 'INSERT INTO ledger_balances (account, currency, balance_minor, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT DO NOTHING', [account, currency, now]);
        return wallet;
      },
      manager,
    );
  }

  async get(customerId: string, manager?: EntityManager): Promise<Wallet | null> {
    const m = manager ?? this.db.manager;
    const row = await m.getRepository(CustomerWalletEntity).findOneBy({ customerId });
    if (!row) return null;
    const balance = await m.getRepository(LedgerBalanceEntity).findOneBy({ account: walletAccount(customerId), currency: row.currency });
    const balanceMinor = balance?.balanceMinor ?? 0;
    const floorMinor = 0 - row.creditLimitMinor; // never -0
    return { ...row, balanceMinor, floorMinor, availableMinor: balanceMinor - row.reservedMinor - floorMinor };
  }

  /** What to show a customer: their wallet, or an empty prepaid one in `currency` when they have none yet (nothing is stored). */
  async view(customerId: string, currency: string): Promise<Wallet> {
    assertCurrency(currency);
    const wallet = await this.get(customerId);
    if (wallet) return wallet;
    return { customerId, currency, kind: 'prepaid', creditLimitMinor: 0, balanceMinor: 0, reservedMinor: 0, floorMinor: 0, availableMinor: 0, createdAt: 0, updatedAt: 0 };
  }

  /** Prepaid (credit limit 0) or postpaid with a credit limit; a lower limit only stops new spending. */
  async setCreditTerms(customerId: string, kind: WalletKind, creditLimitMinor: number): Promise<Wallet> {
    assertKind(kind);
    assertMinor(creditLimitMinor, 'creditLimitMinor', true);
    if (kind === 'prepaid' && creditLimitMinor !== 0) throw new TypeError('a prepaid wallet has no credit limit');
    return inTransaction(this.db, async (m) => {
      const result = await exec(m, 'UPDATE customer_wallets SET kind = ?, credit_limit_minor = ?, updated_at = ? WHERE customer_id = ?', [
        kind, creditLimitMinor, this.clock(), customerId,
      ]);
      if (result.affected === 0) throw new NotFoundError('wallet');
      return (await this.get(customerId, m))!;
    });
  }

  /** Holds `amountMinor` for a session if available allows it; false (nothing held) otherwise. */
  async reserve(customerId: string, amountMinor: number, manager?: EntityManager): Promise<boolean> {
    assertMinor(amountMinor, 'amountMinor', true);
    if (amountMinor === 0) return true;
    const now = this.clock();
    return inTransaction(
      this.db,
      async (m) => {
        if (!(await lockWallet(m, customerId, now))) throw new NotFoundError('wallet');
        const result = await exec(
          m,
          `UPDATE customer_wallets SET reserved_minor = reserved_minor + ?, updated_at = ?
           WHERE customer_id = ?
             AND (SELECT b.balance_minor FROM ledger_balances b WHERE b.account = ? AND b.currency = customer_wallets.currency)
                 - reserved_minor - ? >= -credit_limit_minor`,
          [amountMinor, now, customerId, walletAccount(customerId), amountMinor],
        );
        return result.affected === 1;
      },
      manager,
    );
  }

  /** Gives back what a session held. Releasing more than is held is a bug, and throws. */
  async release(customerId: string, amountMinor: number, manager?: EntityManager): Promise<void> {
    assertMinor(amountMinor, 'amountMinor', true);
    if (amountMinor === 0) return;
    await inTransaction(
      this.db,
      async (m) => {
        const result = await exec(m, 'UPDATE customer_wallets SET reserved_minor = reserved_minor - ?, updated_at = ? WHERE customer_id = ? AND reserved_minor >= ?', [
          amountMinor, this.clock(), customerId, amountMinor,
        ]);
        if (result.affected !== 1) throw new InvalidStateError(`cannot release ${amountMinor}: the wallet does not hold that much`);
      },
      manager,
    );
  }
}
