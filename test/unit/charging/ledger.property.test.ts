// Ledger invariants under random sequences of top-ups, charged sessions (reservations, re-reservations,
// settlements), refunds, reversals, payouts and replays, on a real SQLite database.
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../../db/data-source.js';
import { CreditControl } from '../../../charging/credit-control.js';
import { DomainError } from '../../../lib/errors.js';
import { LedgerService, type PostInput } from '../../../charging/ledger.js';
import { RefundService } from '../../../charging/refunds.js';
import { PayoutService } from '../../../charging/payouts.js';
import { WalletService } from '../../../charging/wallets.js';
import type { Tariff } from '../../../charging/rating.js';

const TARIFFS: Tariff[] = [
  { planId: 'a', currency: 'EUR', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60, taxBps: 0 },
  { planId: 'b', currency: 'EUR', perMinuteMinor: 99, sessionFeeMinor: 25, freeSeconds: 30, firstIncrementSeconds: 30, nextIncrementSeconds: 6, taxBps: 2000 },
  { planId: 'c', currency: 'EUR', perMinuteMinor: 7, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 1, nextIncrementSeconds: 1, taxBps: 1900 },
];

type Op =
  | { op: 'topup'; customer: number; amount: number }
  | { op: 'start'; customer: number; agent: number; tariff: number; share: number }
  | { op: 'talk'; session: number; seconds: number }
  | { op: 'stop'; session: number }
  | { op: 'refund'; session: number; amount: number | null }
  | { op: 'reverseTopUp'; index: number }
  | { op: 'payout'; agent: number; percent: number }
  | { op: 'replay'; index: number }
  | { op: 'conflict'; index: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('topup' as const), customer: fc.nat(3), amount: fc.integer({ min: 1, max: 3_000 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('start' as const), customer: fc.nat(3), agent: fc.nat(1), tariff: fc.nat(2), share: fc.integer({ min: 0, max: 10_000 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('talk' as const), session: fc.nat(20), seconds: fc.integer({ min: 1, max: 400 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('stop' as const), session: fc.nat(20) }), weight: 2 },
  fc.record({ op: fc.constant('refund' as const), session: fc.nat(20), amount: fc.option(fc.integer({ min: 1, max: 500 })) }),
  fc.record({ op: fc.constant('reverseTopUp' as const), index: fc.nat(20) }),
  fc.record({ op: fc.constant('payout' as const), agent: fc.nat(1), percent: fc.integer({ min: 1, max: 120 }) }),
  fc.record({ op: fc.constant('replay' as const), index: fc.nat(30) }),
  fc.record({ op: fc.constant('conflict' as const), index: fc.nat(30) }),
);

describe('ledger invariants (property-based, SQLite)', () => {
  let db: DataSource;
  let run = 0;

  beforeAll(async () => {
    db = await openDatabase({ kind: 'sqlite', file: ':memory:' });
  });
  afterAll(async () => db?.destroy());

  async function snapshot(): Promise<string> {
    const balances = await db.query('SELECT account, currency, balance_minor FROM ledger_balances ORDER BY account, currency');
    const wallets = await db.query('SELECT customer_id, reserved_minor FROM customer_wallets ORDER BY customer_id');
    const count = await db.query('SELECT COUNT(*) AS n FROM ledger_postings');
    return JSON.stringify([balances, wallets, count]);
  }

  async function checkInvariants(): Promise<void> {
    const unbalanced = await db.query('SELECT transaction_id, currency, SUM(amount_minor) AS s FROM ledger_postings GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0');
    expect(unbalanced).toEqual([]);
    const drift = await db.query(
      `SELECT b.account, b.balance_minor, (SELECT COALESCE(SUM(p.amount_minor), 0) FROM ledger_postings p WHERE p.account = b.account AND p.currency = b.currency) AS total
       FROM ledger_balances b WHERE b.balance_minor <> (SELECT COALESCE(SUM(p.amount_minor), 0) FROM ledger_postings p WHERE p.account = b.account AND p.currency = b.currency)`,
    );
    expect(drift).toEqual([]);
    const missing = await db.query('SELECT DISTINCT p.account FROM ledger_postings p LEFT JOIN ledger_balances b ON b.account = p.account AND b.currency = p.currency WHERE b.account IS NULL');
    expect(missing).toEqual([]);
    const wallets = await db.query(
      `SELECT w.customer_id, w.reserved_minor, w.credit_limit_minor, b.balance_minor,
              (SELECT COALESCE(SUM(s.reserved_minor), 0) FROM charging_sessions s WHERE s.customer_id = w.customer_id AND s.state = 'open') AS held
       FROM customer_wallets w JOIN ledger_balances b ON b.account = 'wallet:' || w.customer_id AND b.currency = w.currency`,
    );
    for (const w of wallets) {
      expect(w.reserved_minor).toBeGreaterThanOrEqual(0);
      expect(w.balance_minor - w.reserved_minor).toBeGreaterThanOrEqual(-w.credit_limit_minor);
      expect(w.reserved_minor).toBe(w.held);
    }
    const agents = await db.query("SELECT account, balance_minor FROM ledger_balances WHERE account LIKE 'payout:%' AND balance_minor < 0");
    expect(agents).toEqual([]);
  }

  test('every transaction balances, balances equal their postings, no wallet below its floor, replays change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 40 }), async (ops) => {
        const r = ++run;
        let now = 1_732_400_000_000 + r * 10_000_000;
        const clock = () => now;
        const ledger = new LedgerService(db, clock);
        const wallets = new WalletService(db, clock);
        const refunds = new RefundService(db, ledger, clock);
        const payouts = new PayoutService(db, ledger);
        const credit = new CreditControl({ db, ledger, wallets, clock, sliceSeconds: 60, reReserveBelowSeconds: 30 });
        const customers = [0, 1, 2, 3].map((i) => `r${r}c${i}`);
        const agents = [0, 1].map((i) => `r${r}a${i}`);
        for (const [i, c] of customers.entries()) {
          await wallets.open(c, 'EUR');
          if (i >= 2) await wallets.setCreditTerms(c, 'postpaid', 300 * (i - 1));
        }
        const sessions: string[] = [];
        const settled: string[] = [];
        const topUps: string[] = [];
        const posted: PostInput[] = [];
        let n = 0;
        const expectDomain = (err: unknown) => {
          if (!(err instanceof DomainError)) throw err;
        };

        for (const o of ops) {
          n++;
          now += 1_000;
          try {
            switch (o.op) {
              case 'topup': {
                const input: PostInput = {
                  idempotencyKey: `r${r}-top-${n}`, kind: 'topup', currency: 'EUR',
                  postings: [{ account: 'provider:test', amountMinor: -o.amount }, { account: `wallet:${customers[o.customer]}`, amountMinor: o.amount }],
                };
                topUps.push((await ledger.post(input)).id);
                posted.push(input);
                break;
              }
              case 'start': {
                const sessionId = `r${r}s${n}`;
                await credit.start({ sessionId, taskId: sessionId, customerId: customers[o.customer]!, agentId: agents[o.agent]!, queueId: 'q', channel: 'chat', tariff: TARIFFS[o.tariff]!, shareBps: o.share });
                sessions.push(sessionId);
                break;
              }
              case 'talk': {
                const open = sessions.filter((s) => !settled.includes(s));
                const s = open[o.session % Math.max(open.length, 1)];
                if (!s) break;
                credit.bridged(s, now);
                for (let t = 0; t < o.seconds; t += 20) {
                  now += Math.min(20, o.seconds - t) * 1000;
                  await credit.tick(now);
                }
                credit.unbridged(s, now);
                break;
              }
              case 'stop': {
                const open = sessions.filter((s) => !settled.includes(s));
                const s = open[o.session % Math.max(open.length, 1)];
                if (!s) break;
                await credit.stop(s, now, 'ended');
                settled.push(s);
                break;
              }
              case 'refund': {
                const s = settled[o.session % Math.max(settled.length, 1)];
                if (!s) break;
                await refunds.refundSession(s, { amountMinor: o.amount ?? undefined, idempotencyKey: `r${r}-refund-${n}` }).catch((err: unknown) => {
                  // No charge (nothing bridged) or nothing left to refund.
                  expectDomain(err);
                });
                break;
              }
              case 'reverseTopUp': {
                const id = topUps[o.index % Math.max(topUps.length, 1)];
                if (id) await refunds.refundTopUp(id, `r${r}-untop-${n}`);
                break;
              }
              case 'payout': {
                // A share of what the agent is owed; above 100 % it must be refused.
                const owed = await ledger.balance(`agent:${agents[o.agent]}`, 'EUR');
                const amount = Math.max(1, Math.floor((owed * o.percent) / 100));
                await payouts.recordPayout(agents[o.agent]!, { amountMinor: amount, currency: 'EUR' }, `r${r}-pay-${n}`);
                expect(amount).toBeLessThanOrEqual(owed);
                break;
              }
              case 'replay': {
                const input = posted[o.index % Math.max(posted.length, 1)];
                if (!input) break;
                const before = await snapshot();
                await ledger.post(input);
                expect(await snapshot()).toBe(before);
                break;
              }
              case 'conflict': {
                const input = posted[o.index % Math.max(posted.length, 1)];
                if (!input) break;
                const before = await snapshot();
                const changed = { ...input, postings: input.postings.map((p) => ({ ...p, amountMinor: p.amountMinor * 2 })) };
                await expect(ledger.post(changed)).rejects.toThrow(/idempotency key/);
                expect(await snapshot()).toBe(before);
                break;
              }
            }
          } catch (err) {
            expectDomain(err);
          }
          await checkInvariants();
        }
        // Settling twice charges nothing more.
        for (const s of sessions.filter((x) => !settled.includes(x))) await credit.stop(s, now, 'ended');
        const before = await snapshot();
        for (const s of sessions) await credit.stop(s, now, 'again');
        expect(await snapshot()).toBe(before);
        // Whatever an agent is owed can be paid out, and not a unit more.
        for (const a of agents) {
          const owed = await ledger.balance(`agent:${a}`, 'EUR');
          if (owed > 0) await payouts.recordPayout(a, { amountMinor: owed, currency: 'EUR' }, `r${r}-payall-${a}`);
          await expect(payouts.recordPayout(a, { amountMinor: 1, currency: 'EUR' }, `r${r}-payone-${a}`)).rejects.toThrow(/cannot be debited/);
        }
        await checkInvariants();
      }),
      { numRuns: 30 },
    );
  });
});
