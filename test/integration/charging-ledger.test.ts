// The ledger's services on both databases: refunds (whole, in parts, of a top-up), reversals, payouts,
// statements and reports, rate plans.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../db/data-source.js';
import type { Config } from '../../lib/config.js';
import { InvalidStateError } from '../../lib/errors.js';
import { CreditControl } from '../../charging/credit-control.js';
import { ChargingValidationError, ConflictError, InsufficientFundsError } from '../../charging/errors.js';
import { LedgerService } from '../../charging/ledger.js';
import { PayoutService } from '../../charging/payouts.js';
import { RatePlanService } from '../../charging/rate-plans.js';
import { tariffFor } from '../../charging/rating.js';
import { RefundService } from '../../charging/refunds.js';
import { WalletService } from '../../charging/wallets.js';
import { createTempDatabase } from '../support/postgres.js';

type Dialect = { name: string; open(): Promise<{ db: Config['db']; cleanup(): Promise<void> }> };
const dialects: Dialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmpdir(), 'mccs-ledger-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'ledger.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const temp = await createTempDatabase();
      return { db: { kind: 'postgres', url: temp.url }, cleanup: () => temp.drop() };
    },
  },
];

const T0 = 1_732_400_000_000;

describe.each(dialects)('ledger services: $name', (dialect) => {
  let cleanup: () => Promise<void>;
  let db: DataSource;
  let now = T0;
  const clock = () => now;
  let ledger: LedgerService;
  let wallets: WalletService;
  let refunds: RefundService;
  let payouts: PayoutService;
  let plans: RatePlanService;
  let credit: CreditControl;
  let n = 0;
  const id = (what: string) => `${what}-${dialect.name}-${++n}`;

  beforeAll(async () => {
    let config: Config['db'];
    ({ db: config, cleanup } = await dialect.open());
    db = await openDatabase(config);
    ledger = new LedgerService(db, clock);
    wallets = new WalletService(db, clock);
    refunds = new RefundService(db, ledger, clock);
    payouts = new PayoutService(db, ledger);
    plans = new RatePlanService(db, clock);
    credit = new CreditControl({ db, ledger, wallets, clock });
  });
  afterAll(async () => {
    await db?.destroy();
    await cleanup?.();
  });

  async function topUp(customerId: string, amountMinor: number, currency = 'EUR') {
    await wallets.open(customerId, currency);
    return ledger.post({
      idempotencyKey: id('top'), kind: 'topup', currency,
      postings: [{ account: 'provider:test', amountMinor: -amountMinor }, { account: `wallet:${customerId}`, amountMinor }],
    });
  }

  /** A settled session of `seconds` bridged at 1.20 EUR/min with 20 % tax inside, 70 % to the agent. */
  async function chargedSession(customerId: string, agentId: string, seconds: number, queueId = 'experts') {
    const sessionId = id('s');
    const tariff = { planId: null, currency: 'EUR', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60, taxBps: 2000 };
    await credit.start({ sessionId, taskId: sessionId, customerId, agentId, queueId, channel: 'chat', tariff, shareBps: 7000 });
    credit.bridged(sessionId, now);
    return credit.stop(sessionId, now + seconds * 1000, 'agent_ended');
  }

  test('a transaction that does not add up, repeats an account or mixes in another currency is refused', async () => {
    const c = id('c');
    await topUp(c, 100);
    await expect(ledger.post({ idempotencyKey: id('k'), kind: 'adjustment', currency: 'EUR', postings: [{ account: `wallet:${c}`, amountMinor: 5 }, { account: 'platform:revenue', amountMinor: -4 }] })).rejects.toThrow(ChargingValidationError);
    await expect(ledger.post({ idempotencyKey: id('k'), kind: 'adjustment', currency: 'USD', postings: [{ account: `wallet:${c}`, amountMinor: 5 }, { account: 'platform:revenue', amountMinor: -5 }] })).rejects.toThrow(/holds EUR/);
    await expect(ledger.post({ idempotencyKey: id('k'), kind: 'adjustment', currency: 'EUR', postings: [{ account: 'bogus', amountMinor: 5 }, { account: 'platform:revenue', amountMinor: -5 }] })).rejects.toThrow(TypeError);
    await expect(ledger.post({ idempotencyKey: id('k'), kind: 'adjustment', currency: 'EUR', postings: [{ account: `wallet:${c}`, amountMinor: -101 }, { account: 'platform:revenue', amountMinor: 101 }] })).rejects.toThrow(InsufficientFundsError);
    expect(await ledger.balance(`wallet:${c}`, 'EUR')).toBe(100);
  });

  test('a transaction is reversed exactly, once', async () => {
    const c = id('c');
    const top = await topUp(c, 500);
    const reversal = await ledger.reverse(top.id, id('rev'), 'typo');
    expect(reversal.postings).toEqual(top.postings.map((p) => ({ ...p, amountMinor: -p.amountMinor })));
    expect(await ledger.reverse(top.id, reversal.idempotencyKey, 'typo')).toEqual(reversal);
    await expect(ledger.reverse(top.id, id('rev'), 'again')).rejects.toThrow(InvalidStateError);
    await expect(ledger.reverse(reversal.id, id('rev'), 'undo the undo')).rejects.toThrow(InvalidStateError);
    expect(await ledger.balance(`wallet:${c}`, 'EUR')).toBe(0);
  });

  test('a top-up is refunded only while its money is unspent', async () => {
    const c = id('c');
    const top = await topUp(c, 300);
    await chargedSession(c, 'agent-x', 60); // spends 120
    await expect(refunds.refundTopUp(top.id, id('rt'))).rejects.toThrow(InsufficientFundsError);
    await topUp(c, 200);
    const refund = await refunds.refundTopUp(top.id, id('rt'), 'customer asked');
    expect(refund).toMatchObject({ kind: 'refund', reversalOf: top.id });
    expect(await ledger.balance(`wallet:${c}`, 'EUR')).toBe(80);
  });

  test('a session refunded in parts gives back exactly what its charge posted', async () => {
    const c = id('c');
    const agent = id('agent');
    await topUp(c, 10_000);
    const s = await chargedSession(c, agent, 299); // 5 minutes: 600 = tax 100 + agent 350 + platform 150
    expect(s).toMatchObject({ amountMinor: 600, taxMinor: 100, agentMinor: 350, platformMinor: 150 });
    const first = await refunds.refundSession(s.sessionId, { amountMinor: 100, idempotencyKey: id('rf') });
    // ⌊350 × 100 / 600⌋ from the agent, ⌊100 × 100 / 600⌋ tax, the rest from the platform.
    expect(first.postings).toEqual(
      expect.arrayContaining([{ account: `wallet:${c}`, amountMinor: 100 }, { account: `agent:${agent}`, amountMinor: -58 }, { account: 'tax:payable', amountMinor: -16 }, { account: 'platform:revenue', amountMinor: -26 }]),
    );
    expect(await refunds.refundSession(s.sessionId, { amountMinor: 100, idempotencyKey: first.idempotencyKey })).toEqual(first);
    await expect(refunds.refundSession(s.sessionId, { amountMinor: 501, idempotencyKey: id('rf') })).rejects.toThrow(InvalidStateError);
    await refunds.refundSession(s.sessionId, { amountMinor: 333, idempotencyKey: id('rf') });
    await refunds.refundSession(s.sessionId, { idempotencyKey: id('rf') }); // the rest
    await expect(refunds.refundSession(s.sessionId, { idempotencyKey: id('rf') })).rejects.toThrow(/in full/);
    expect(await ledger.balance(`wallet:${c}`, 'EUR')).toBe(10_000);
    expect(await ledger.balance(`agent:${agent}`, 'EUR')).toBe(0);
  });

  test('a whole refund reverses the charge', async () => {
    const c = id('c');
    await topUp(c, 1_000);
    const s = await chargedSession(c, id('agent'), 30);
    const refund = await refunds.refundSession(s.sessionId, { idempotencyKey: id('rf'), memo: 'bad line' });
    expect(refund).toMatchObject({ kind: 'refund', reversalOf: s.chargeTransactionId, sessionId: s.sessionId });
    expect(await ledger.balance(`wallet:${c}`, 'EUR')).toBe(1_000);
  });

  test('payouts, statements, earnings and the revenue report', async () => {
    const c = id('c');
    const agent = id('agent');
    await topUp(c, 10_000);
    now = T0 + 1_000_000;
    const early = await chargedSession(c, agent, 60, 'q-a'); // 120: agent 70
    now = T0 + 2_000_000;
    const from = now;
    const later = await chargedSession(c, agent, 120, 'q-b'); // 240: tax 40, agent 140, platform 60
    now += 1_000;
    await refunds.refundSession(later.sessionId, { amountMinor: 24, idempotencyKey: id('rf') });
    now += 1_000;
    await expect(payouts.recordPayout(agent, { amountMinor: 1_000, currency: 'EUR' }, id('po'))).rejects.toThrow(InsufficientFundsError);
    const key = id('po');
    const payout = await payouts.recordPayout(agent, { amountMinor: 100, currency: 'EUR' }, key, 'November');
    expect((await payouts.recordPayout(agent, { amountMinor: 100, currency: 'EUR' }, key)).id).toBe(payout.id);
    await expect(payouts.recordPayout(agent, { amountMinor: 99, currency: 'EUR' }, key)).rejects.toThrow(ConflictError);
    const to = now + 1_000_000;

    const [statement] = await payouts.statement(agent, { from, to });
    expect(statement).toMatchObject({ currency: 'EUR', openingMinor: early.agentMinor, earningsMinor: 140, refundsMinor: -14, payoutsMinor: -100, closingMinor: 70 + 140 - 14 - 100 });
    expect(statement!.lines.map((l) => l.kind)).toEqual(['charge', 'refund', 'payout']);
    expect(await ledger.balance(`payout:${agent}`, 'EUR')).toBe(100);

    expect(await payouts.agentEarnings(agent, { from, to })).toEqual([{ agentId: agent, currency: 'EUR', sessions: 1, billedSeconds: 120, grossMinor: 240, agentMinor: 140 }]);
    const report = (await payouts.revenueReport({ from, to })).filter((r) => r.agentId === agent);
    expect(report).toEqual([{ queueId: 'q-b', agentId: agent, currency: 'EUR', sessions: 1, billedSeconds: 120, grossMinor: 240, agentMinor: 140, platformMinor: 60, taxMinor: 40, refundsMinor: 24 }]);
  });

  test('rate plans: one per queue and channel, validated, the agent price within bounds', async () => {
    const queueId = id('q');
    const plan = await plans.create({ queueId, channel: 'call', currency: 'EUR', perMinuteMinor: 150, agentPriceMinMinor: 100, agentPriceMaxMinor: 400, taxBps: 2000 });
    expect(plan).toMatchObject({ sessionFeeMinor: 0, firstIncrementSeconds: 60, revenueShareBps: 7000, active: true });
    expect(await plans.planFor(queueId, 'call')).toEqual(plan);
    expect(await plans.planFor(queueId, 'chat')).toBeNull();
    await expect(plans.create({ queueId, channel: 'call', currency: 'EUR', perMinuteMinor: 1 })).rejects.toThrow(ConflictError);
    await expect(plans.create({ queueId, channel: 'video', currency: 'EUR', perMinuteMinor: 10, agentPriceMinMinor: 50, agentPriceMaxMinor: 40 })).rejects.toThrow(ChargingValidationError);
    await expect(plans.create({ queueId, channel: 'video', currency: 'XYZ', perMinuteMinor: 10 })).rejects.toThrow(ChargingValidationError);
    await expect(plans.create({ queueId, channel: 'video', currency: 'EUR', perMinuteMinor: 10, nextIncrementSeconds: 0 })).rejects.toThrow(/nextIncrementSeconds/);
    const updated = await plans.update(plan.id, { perMinuteMinor: 200, active: false });
    expect(updated.perMinuteMinor).toBe(200);
    expect(await plans.planFor(queueId, 'call')).toBeNull();
    expect(tariffFor(updated, 350).perMinuteMinor).toBe(350);
    expect(await plans.list({ queueId })).toHaveLength(1);
    await plans.remove(plan.id);
    expect(await plans.get(plan.id)).toBeNull();
  });

  test('wallets hold one currency; amounts round-trip as exact integers', async () => {
    const c = id('c');
    await topUp(c, Number.MAX_SAFE_INTEGER - 10, 'JPY');
    expect((await wallets.get(c))!.balanceMinor).toBe(Number.MAX_SAFE_INTEGER - 10);
    await expect(wallets.open(c, 'EUR')).rejects.toThrow(/holds JPY/);
    expect(await wallets.view(id('nobody'), 'EUR')).toMatchObject({ balanceMinor: 0, availableMinor: 0, currency: 'EUR' });
  });
});
