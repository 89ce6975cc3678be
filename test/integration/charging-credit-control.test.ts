// Online charging on both databases: reservation slices, re-reservation, warning, cut-off and
// settlement with a fake clock; concurrent starts on one wallet; recovery after a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../db/data-source.js';
import type { Config } from '../../lib/config.js';
import { CreditControl, type CreditControlEvents, type Settlement } from '../../charging/credit-control.js';
import { InsufficientFundsError } from '../../charging/errors.js';
import { LedgerService } from '../../charging/ledger.js';
import type { Tariff } from '../../charging/rating.js';
import { WalletService } from '../../charging/wallets.js';
import { createTempDatabase } from '../support/postgres.js';

type Dialect = { name: string; open(): Promise<{ db: Config['db']; cleanup(): Promise<void> }> };
const dialects: Dialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmpdir(), 'mccs-charging-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'charging.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
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
const EUR_60_60: Tariff = { planId: 'plan-1', currency: 'EUR', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60, taxBps: 0 };

describe.each(dialects)('credit control: $name', (dialect) => {
  let config: Config['db'];
  let cleanup: () => Promise<void>;
  let db: DataSource;
  let now: number;
  let ledger: LedgerService;
  let wallets: WalletService;
  let credit: CreditControl;
  let n = 0;
  const events: Array<[keyof CreditControlEvents, unknown]> = [];

  beforeAll(async () => {
    ({ db: config, cleanup } = await dialect.open());
    db = await openDatabase(config);
  });
  afterAll(async () => {
    await db?.destroy();
    await cleanup?.();
  });
  beforeEach(() => {
    now = T0;
    const clock = () => now;
    ledger = new LedgerService(db, clock);
    wallets = new WalletService(db, clock);
    credit = new CreditControl({ db, ledger, wallets, clock });
    events.length = 0;
    for (const name of ['warning', 'cutoff', 'settled', 'error'] as const) credit.on(name, (e: unknown) => events.push([name, e]));
  });

  const id = (what: string) => `${what}-${dialect.name}-${++n}`;

  async function topUp(customerId: string, amountMinor: number): Promise<void> {
    await wallets.open(customerId, 'EUR');
    await ledger.post({
      idempotencyKey: id('top'), kind: 'topup', currency: 'EUR',
      postings: [{ account: 'provider:test', amountMinor: -amountMinor }, { account: `wallet:${customerId}`, amountMinor }],
    });
  }

  const start = (sessionId: string, customerId: string, tariff = EUR_60_60, agentId = 'agent-1') =>
    credit.start({ sessionId, taskId: `task-${sessionId}`, customerId, agentId, queueId: 'experts', channel: 'call', tariff, shareBps: 7000 });

  test('reserves a slice, re-reserves, warns once, cuts off, and settles within the grant', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const session = id('s');
    expect(await start(session, customer)).toEqual({ sessionId: session, currency: 'EUR', reservedMinor: 600, grantedSeconds: 300 });
    expect((await wallets.get(customer))!).toMatchObject({ balanceMinor: 1000, reservedMinor: 600, availableMinor: 400 });

    credit.bridged(session, T0);
    await credit.tick(T0 + 100_000); // 200 s left: nothing to do
    expect((await wallets.get(customer))!.reservedMinor).toBe(600);
    const row = await db.query(`SELECT bridged_ms FROM charging_sessions WHERE id = '${session}'`);
    expect(Number(row[0].bridged_ms)).toBe(100_000);

    await credit.tick(T0 + 200_000); // 100 s left: CCR-Update, as far as the balance goes (8 minutes)
    expect((await wallets.get(customer))!).toMatchObject({ reservedMinor: 960, availableMinor: 40 });
    expect(credit.status(session, T0 + 200_000)).toMatchObject({ grantedSeconds: 480, secondsLeft: 280 });
    expect(events).toEqual([]);

    await credit.tick(T0 + 430_000);
    await credit.tick(T0 + 435_000);
    expect(events).toEqual([['warning', { sessionId: session, taskId: `task-${session}`, secondsLeft: 50 }]]);

    await credit.tick(T0 + 480_000);
    await credit.tick(T0 + 485_000);
    expect(events.slice(1)).toEqual([['cutoff', { sessionId: session, taskId: `task-${session}` }]]);

    const settled = await credit.stop(session, T0 + 487_000, 'balance_exhausted');
    expect(settled).toMatchObject({ bridgedSeconds: 487, billedSeconds: 480, amountMinor: 960, agentMinor: 672, platformMinor: 288, taxMinor: 0, ratingStatus: 'rated', reason: 'balance_exhausted' });
    expect(events.at(-1)).toEqual(['settled', settled]);
    expect((await wallets.get(customer))!).toMatchObject({ balanceMinor: 40, reservedMinor: 0, availableMinor: 40 });
    expect(await ledger.balance('agent:agent-1', 'EUR')).toBeGreaterThanOrEqual(672);
    const charge = await ledger.get(settled.chargeTransactionId!);
    expect(charge).toMatchObject({ kind: 'charge', sessionId: session, idempotencyKey: `charge:${session}` });

    // Stopping again returns the same settlement and posts nothing.
    expect(await credit.stop(session, T0 + 999_000, 'again')).toEqual(settled);
    expect(await ledger.forSession(session)).toHaveLength(1);
  });

  test('only bridged time is billed: intervals add up', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const session = id('s');
    await start(session, customer);
    credit.bridged(session, T0);
    credit.unbridged(session, T0 + 30_000);
    credit.bridged(session, T0 + 100_000);
    credit.bridged(session, T0 + 110_000); // already bridged: no effect
    const settled = await credit.stop(session, T0 + 130_500, 'agent_ended'); // still bridged: closed at stop
    expect(settled).toMatchObject({ bridgedSeconds: 61, billedSeconds: 120, amountMinor: 240 });
  });

  test('a balance below the first increment is refused and nothing is held', async () => {
    const customer = id('c');
    await topUp(customer, 119);
    const session = id('s');
    await expect(start(session, customer)).rejects.toThrow(InsufficientFundsError);
    expect((await wallets.get(customer))!.reservedMinor).toBe(0);
    expect(await db.query(`SELECT id FROM charging_sessions WHERE id = '${session}'`)).toEqual([]);
    // Free seconds do not make up for it: the first paid increment must be covered.
    await expect(start(id('s'), customer, { ...EUR_60_60, freeSeconds: 600 })).rejects.toThrow(InsufficientFundsError);
  });

  test('nothing bridged: no charge, the reservation is released', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const session = id('s');
    await start(session, customer, { ...EUR_60_60, sessionFeeMinor: 100 });
    const settled = await credit.stop(session, T0 + 60_000, 'customer_left');
    expect(settled).toMatchObject({ bridgedSeconds: 0, amountMinor: 0, chargeTransactionId: null });
    expect((await wallets.get(customer))!).toMatchObject({ balanceMinor: 1000, reservedMinor: 0 });
    expect(await ledger.forSession(session)).toEqual([]);
  });

  test('free seconds: bridged time within them costs nothing and is marked free', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const session = id('s');
    await start(session, customer, { ...EUR_60_60, freeSeconds: 120, sessionFeeMinor: 50 });
    credit.bridged(session, T0);
    expect(await credit.stop(session, T0 + 90_000, 'agent_ended')).toMatchObject({ amountMinor: 0, ratingStatus: 'free', chargeTransactionId: null });
  });

  test('postpaid: the same flow down to minus the credit limit', async () => {
    const customer = id('c');
    await wallets.open(customer, 'EUR');
    await wallets.setCreditTerms(customer, 'postpaid', 500);
    const session = id('s');
    expect(await start(session, customer)).toMatchObject({ reservedMinor: 480, grantedSeconds: 240 });
    credit.bridged(session, T0);
    await credit.tick(T0 + 200_000);
    expect(events.map(([e]) => e)).toEqual(['warning']);
    await credit.tick(T0 + 240_000);
    expect(events.map(([e]) => e)).toEqual(['warning', 'cutoff']);
    const settled = await credit.stop(session, T0 + 242_000, 'balance_exhausted');
    expect(settled.amountMinor).toBe(480);
    expect((await wallets.get(customer))!).toMatchObject({ balanceMinor: -480, floorMinor: -500, availableMinor: 20 });
  });

  test('a top-up during the session lets the next tick extend the grant again', async () => {
    const customer = id('c');
    await topUp(customer, 240);
    const session = id('s');
    expect(await start(session, customer)).toMatchObject({ grantedSeconds: 120 });
    credit.bridged(session, T0);
    await credit.tick(T0 + 70_000);
    expect(events.map(([e]) => e)).toEqual(['warning']);
    await topUp(customer, 600);
    await credit.tick(T0 + 75_000);
    expect(credit.status(session, T0 + 75_000)).toMatchObject({ grantedSeconds: 420 });
    expect((await credit.stop(session, T0 + 200_000, 'agent_ended')).amountMinor).toBe(480);
  });

  test('concurrent starts on one wallet never reserve more than it has', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const sessions = Array.from({ length: 12 }, () => id('s'));
    const results = await Promise.allSettled(sessions.map((s) => start(s, customer)));
    const granted = results.filter((r) => r.status === 'fulfilled');
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InsufficientFundsError);
    expect(granted.length).toBeGreaterThanOrEqual(2);
    const wallet = (await wallets.get(customer))!;
    const held = granted.reduce((sum, r) => sum + (r as PromiseFulfilledResult<{ reservedMinor: number }>).value.reservedMinor, 0);
    expect(wallet.reservedMinor).toBe(held);
    expect(wallet.reservedMinor).toBeLessThanOrEqual(1000);
    expect(wallet.availableMinor).toBeGreaterThanOrEqual(0);
    expect(wallet.availableMinor).toBeLessThan(120); // the rest could not pay another first minute
    for (const s of sessions) if (credit.status(s)) await credit.stop(s, T0, 'test');
    expect((await wallets.get(customer))!.reservedMinor).toBe(0);
  });

  test('reservations racing debits of the same wallet never take it below its floor', async () => {
    const customer = id('c');
    await topUp(customer, 800);
    const topUps = [];
    for (let i = 0; i < 4; i++) {
      topUps.push(
        await ledger.post({
          idempotencyKey: id('top'), kind: 'topup', currency: 'EUR',
          postings: [{ account: 'provider:test', amountMinor: -300 }, { account: `wallet:${customer}`, amountMinor: 300 }],
        }),
      );
    }
    const sessions = Array.from({ length: 8 }, () => id('s'));
    const results = await Promise.allSettled([
      ...sessions.map((s) => start(s, customer)),
      ...topUps.map((t) => ledger.reverse(t.id, id('rev'), 'race', { kind: 'refund' })),
    ]);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InsufficientFundsError);
    const wallet = (await wallets.get(customer))!;
    expect(wallet.availableMinor).toBeGreaterThanOrEqual(0);
    expect(wallet.balanceMinor - wallet.reservedMinor).toBeGreaterThanOrEqual(0);
    for (const s of sessions) if (credit.status(s)) await credit.stop(s, T0, 'test');
    expect((await wallets.get(customer))!.reservedMinor).toBe(0);
  });

  test('recover() after a crash settles from the checkpoint, once', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    const session = id('s');
    await start(session, customer);
    credit.bridged(session, T0);
    await credit.tick(T0 + 90_000); // checkpoint: 90 s
    now = T0 + 150_000; // …then the process dies without stop()

    const second = await openDatabase(config);
    try {
      const clock = () => T0 + 200_000;
      const recovering = new CreditControl({ db: second, ledger: new LedgerService(second, clock), wallets: new WalletService(second, clock), clock });
      const first = await recovering.recover(T0 + 200_000);
      const mine = first.settlements.filter((s: Settlement) => s.sessionId === session);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ bridgedSeconds: 90, billedSeconds: 120, amountMinor: 240, reason: 'recovered' });
      expect((await recovering.recover(T0 + 300_000)).settled).toBe(0);
      expect((await new WalletService(second).get(customer))!).toMatchObject({ balanceMinor: 760, reservedMinor: 0 });
    } finally {
      await second.destroy();
    }
    // The old process, were it still around, finds the session settled and charges nothing more.
    expect((await credit.stop(session, T0 + 400_000, 'late')).amountMinor).toBe(240);
    expect(await ledger.forSession(session)).toHaveLength(1);
  });

  test('the timer ticks on its own until closed', async () => {
    const customer = id('c');
    await topUp(customer, 1000);
    let fire: (() => void) | null = null;
    const clock = () => now;
    const timed = new CreditControl({
      db, ledger, wallets, clock,
      timers: { setInterval: (fn) => ((fire = fn), 1), clearInterval: () => (fire = null) },
    });
    const session = id('s');
    await timed.start({ sessionId: session, taskId: 't', customerId: customer, agentId: 'agent-1', queueId: 'q', channel: 'chat', tariff: EUR_60_60, shareBps: 7000 });
    timed.bridged(session, T0);
    timed.startTimer();
    now = T0 + 42_000;
    fire!();
    await new Promise((r) => setTimeout(r, 200));
    expect(timed.status(session)).toMatchObject({ bridgedMs: 42_000 });
    const row = await db.query(`SELECT bridged_ms FROM charging_sessions WHERE id = '${session}'`);
    expect(Number(row[0].bridged_ms)).toBe(42_000);
    timed.close();
    expect(fire).toBeNull();
    await timed.stop(session, now, 'test');
  });
});
