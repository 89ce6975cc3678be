// Money follows a profile merge. When two customer profiles turn out to be one person (an email the
// older profile had, confirmed on a new device), the merged-away profile's prepaid money moves to the
// survivor's wallet, so the customer sees and spends one balance. While a charged session of the
// merged profile runs, its wallet stays as it is: the session reserves its next slices there (moving
// the free money away would cut the conversation off early); once it settles, all moves (sweep again).
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Logger } from '../lib/logger.js';
import { walletAccount } from './accounts.js';
import { ChargingValidationError } from './errors.js';
import type { LedgerService } from './ledger.js';
import { inTransaction } from './sql.js';
import { lockWallet, type WalletService } from './wallets.js';

export class WalletMerge {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerService,
    private readonly wallets: WalletService,
    private readonly logger: Logger,
  ) {}

  /**
   * Moves `fromId`'s positive balance (never credit) to `intoId`'s wallet, opened in the same currency
   * if there is none. Returns the amount moved (0: nothing to move; a session still holds part of it,
   * so the next settlement sweeps; or the survivor's wallet is in another currency, which is logged
   * and left for an admin).
   */
  async sweep(fromId: string, intoId: string): Promise<number> {
    if (fromId === intoId) return 0;
    return inTransaction(this.db, async (m) => {
      const from = await lockWallet(m, fromId, Date.now());
      if (!from) return 0;
      const wallet = (await this.wallets.get(fromId, m))!;
      if (wallet.reservedMinor > 0) return 0;
      const movable = wallet.balanceMinor;
      if (movable <= 0) return 0;
      try {
        await this.wallets.open(intoId, from.currency, m);
      } catch (err) {
        if (!(err instanceof ChargingValidationError)) throw err;
        this.logger.warn('a merged profile keeps its balance: the surviving profile pays in another currency', { fromId, intoId, currency: from.currency });
        return 0;
      }
      await this.ledger.post(
        {
          idempotencyKey: `merge:${fromId}:${randomUUID()}`,
          kind: 'adjustment',
          currency: from.currency,
          memo: `profile ${fromId} merged into ${intoId}`,
          postings: [
            { account: walletAccount(fromId), amountMinor: -movable },
            { account: walletAccount(intoId), amountMinor: movable },
          ],
        },
        m,
      );
      this.logger.info('balance moved to the surviving profile', { fromId, intoId, amountMinor: movable, currency: from.currency });
      return movable;
    });
  }
}
