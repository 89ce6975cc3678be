// Money given back. A top-up is refunded by reversing it (wallet → provider, not below the wallet's
// floor). A charged session is refunded in whole or in parts: each part takes back from the agent and
// the tax cumulatively in proportion to what the charge gave them, the platform the rest, so refunds
// that add up to the charge undo it exactly (docs/charging.md, "Refunds").
import type { DataSource, EntityManager } from 'typeorm';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';
import { PLATFORM_REVENUE, walletOwner } from './accounts.js';
import type { LedgerPosting, LedgerService, LedgerTransaction } from './ledger.js';
import { addMinor, assertMinor, mulDivFloor, sumMinor, toSafeNumber } from './money.js';
import { inTransaction } from './sql.js';
import { lockWallet } from './wallets.js';

export interface SessionRefundRequest {
  /** Part of the charge to give back; all that is not yet refunded when absent. */
  amountMinor?: number;
  idempotencyKey: string;
  memo?: string | null;
}

/** The idempotency key of a session's charge (credit-control.ts posts it). */
export const chargeKey = (sessionId: string): string => `charge:${sessionId}`;

export class RefundService {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerService,
    private readonly clock: () => number = Date.now,
  ) {}

  async refundTopUp(topUpTransactionId: string, idempotencyKey: string, memo: string | null = null): Promise<LedgerTransaction> {
    const original = await this.ledger.get(topUpTransactionId);
    if (!original) throw new NotFoundError('top-up');
    if (original.kind !== 'topup') throw new InvalidStateError('only a top-up can be refunded this way');
    return this.ledger.reverse(topUpTransactionId, idempotencyKey, memo, { kind: 'refund' });
  }

  /** Refunds a settled session's charge, or part of it; never more than was charged in total. */
  async refundSession(sessionId: string, request: SessionRefundRequest): Promise<LedgerTransaction> {
    if (request.amountMinor !== undefined) {
      assertMinor(request.amountMinor, 'amountMinor', true);
      if (request.amountMinor === 0) throw new TypeError('a refund must be more than zero');
    }
    const charge = await this.ledger.findByKey(chargeKey(sessionId));
    if (!charge) throw new NotFoundError('charge of this session');
    const customerId = charge.postings.map((p) => walletOwner(p.account)).find((o) => o !== null);
    if (!customerId) throw new InvalidStateError('the charge has no wallet posting');

    return inTransaction(this.db, async (m) => {
      // One refund of a customer at a time, so two parts cannot both see the same remainder.
      await lockWallet(m, customerId, this.clock());
      const again = await this.ledger.findByKey(request.idempotencyKey, m);
      if (again) {
        if (again.sessionId !== sessionId || again.kind !== 'refund') throw new InvalidStateError('this idempotency key belongs to another transaction');
        return again;
      }
      const charged = walletDebit(charge.postings);
      const refundedBefore = await this.#refundedSoFar(m, sessionId, charge.id);
      const remaining = charged - refundedBefore;
      const amount = request.amountMinor ?? remaining;
      if (remaining <= 0) throw new InvalidStateError('this session has been refunded in full');
      if (amount > remaining) throw new InvalidStateError(`at most ${remaining} of this charge can still be refunded`);
      if (refundedBefore === 0 && amount === charged) {
        return this.ledger.reverse(charge.id, request.idempotencyKey, request.memo ?? null, { kind: 'refund', manager: m });
      }
      return this.ledger.post(
        {
          idempotencyKey: request.idempotencyKey,
          kind: 'refund',
          currency: charge.currency,
          memo: request.memo ?? null,
          sessionId,
          postings: proportionalRefund(charge.postings, charged, refundedBefore, amount),
        },
        m,
      );
    });
  }

  /** What the customer got back of this charge so far (refunds of its session, and a reversal of it). */
  async #refundedSoFar(m: EntityManager, sessionId: string, chargeId: string): Promise<number> {
    const txs = await this.ledger.forSession(sessionId, m);
    let total = 0;
    for (const t of txs) {
      if (t.id === chargeId || t.kind === 'charge') continue;
      if (t.kind === 'refund' || t.reversalOf === chargeId) total = addMinor(total, walletCredit(t.postings));
    }
    return total;
  }
}

function walletCredit(postings: LedgerPosting[]): number {
  return sumMinor(postings.filter((p) => walletOwner(p.account) !== null).map((p) => p.amountMinor));
}

const walletDebit = (postings: LedgerPosting[]): number => -walletCredit(postings);

/**
 * The postings of a partial refund of `amount` after `before` was refunded already. Each non-platform
 * party (agent, tax) has given back ⌊its share × refunded / charged⌋ after each refund; the platform
 * gives back the rest. Cumulative, so rounding never drifts and a full refund in parts is exact.
 */
export function proportionalRefund(charge: LedgerPosting[], charged: number, before: number, amount: number): LedgerPosting[] {
  const after = before + amount;
  const postings: LedgerPosting[] = [];
  let fromOthers = 0;
  for (const p of charge) {
    if (walletOwner(p.account) !== null) {
      postings.push({ account: p.account, amountMinor: amount });
      continue;
    }
    if (p.account === PLATFORM_REVENUE) continue;
    const part = toSafeNumber(mulDivFloor(p.amountMinor, after, charged) - mulDivFloor(p.amountMinor, before, charged));
    if (part !== 0) postings.push({ account: p.account, amountMinor: -part });
    fromOthers += part;
  }
  const fromPlatform = amount - fromOthers;
  if (fromPlatform !== 0) postings.push({ account: PLATFORM_REVENUE, amountMinor: -fromPlatform });
  return postings;
}
