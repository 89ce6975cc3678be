// Online charging of a session's bridged time, after Diameter Credit-Control (RFC 8506): start() is
// CCR-Initial (reserve a first slice), the tick's re-reservation is CCR-Update, stop() is
// CCR-Terminate (rate what was used, post one charge, release the rest). The billing clock runs only
// while customer and agent are both connected. Reservations are held on the customer's wallet; the
// session row keeps a checkpoint of bridged time, so recover() can settle what a crash left open
// (docs/charging.md, "Online charging").
import type { DataSource, EntityManager } from 'typeorm';
import { ChargingSessionEntity, type ChargingSessionRow } from '../db/charging-entities.js';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { agentAccount, PLATFORM_REVENUE, TAX_PAYABLE, walletAccount } from './accounts.js';
import { InsufficientFundsError } from './errors.js';
import type { LedgerService } from './ledger.js';
import { assertTariff, CHARGING_CHANNELS, MAX_GRANT_SECONDS, rate, secondsAffordable, split, type ChargingChannel, type Tariff } from './rating.js';
import { chargeKey } from './refunds.js';
import { exec, inTransaction, isUniqueViolation } from './sql.js';
import { lockWallet, type WalletService } from './wallets.js';

export interface StartRequest {
  /** Names the charged session; the settlement's charge is idempotent by it. */
  sessionId: string;
  taskId: string;
  customerId: string;
  agentId: string;
  queueId: string;
  channel: ChargingChannel;
  tariff: Tariff;
  /** The agent's share of the net amount (rating.ts shareFor). */
  shareBps: number;
}

export interface Grant {
  sessionId: string;
  currency: string;
  reservedMinor: number;
  /** Bridged seconds the reservation pays for (MAX_GRANT_SECONDS: unlimited). */
  grantedSeconds: number;
}

export interface Settlement {
  sessionId: string;
  taskId: string;
  customerId: string;
  agentId: string;
  queueId: string;
  channel: ChargingChannel;
  currency: string;
  tariff: Tariff;
  /** Bridged time in whole seconds (rounded up). */
  bridgedSeconds: number;
  billedSeconds: number;
  amountMinor: number;
  agentMinor: number;
  platformMinor: number;
  taxMinor: number;
  /** The ledger charge; null when nothing was charged. */
  chargeTransactionId: string | null;
  /** For the CDR: 'free' when time was bridged but nothing charged (free seconds), else 'rated'. */
  ratingStatus: 'rated' | 'free';
  reason: string;
  settledAt: number;
}

export interface SessionStatus {
  sessionId: string;
  bridged: boolean;
  bridgedMs: number;
  grantedSeconds: number;
  reservedMinor: number;
  /** Paid bridged time left, whole seconds (rounded down). */
  secondsLeft: number;
}

export type CreditControlEvents = {
  /** Paid time is running out (≤ warnSeconds) and the wallet pays for no more; sent once per shortage. */
  warning: [e: { sessionId: string; taskId: string; secondsLeft: number }];
  /** The granted time is used up: end the media and the task now, then call stop(). */
  cutoff: [e: { sessionId: string; taskId: string }];
  settled: [s: Settlement];
  /** A tick failed for one session (the database was unreachable); the next tick tries again. */
  error: [e: { sessionId: string; error: unknown }];
};

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface CreditControlOptions {
  db: DataSource;
  ledger: LedgerService;
  wallets: WalletService;
  clock?: () => number;
  timers?: Timers;
  /** How often tick() runs once startTimer() was called. */
  tickMs?: number;
  /** Bridged seconds each (re)reservation aims to cover. */
  sliceSeconds?: number;
  /** Re-reserve when less paid time than this is left. */
  reReserveBelowSeconds?: number;
  /** Warn when this much paid time or less is left and no more can be reserved. */
  warnSeconds?: number;
}

export const CREDIT_CONTROL_DEFAULTS = { tickMs: 5_000, sliceSeconds: 300, reReserveBelowSeconds: 120, warnSeconds: 60 } as const;

/** What this process knows of a running session beyond its row: the clock. */
interface Live {
  row: ChargingSessionRow;
  tariff: Tariff;
  /** Closed bridged intervals, ms. */
  accumulatedMs: number;
  /** Start of the bridged interval in progress; null while not bridged. */
  bridgedSince: number | null;
  warned: boolean;
  cutOff: boolean;
  /** Operations on one session (tick, stop) run one after another. */
  queue: Promise<unknown>;
}

const defaultTimers: Timers = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** ms → whole seconds, rounded up, without floating point. */
function ceilSeconds(ms: number): number {
  const rest = ms % 1000;
  return (ms - rest) / 1000 + (rest > 0 ? 1 : 0);
}

function isFree(t: Tariff): boolean {
  return t.perMinuteMinor === 0 && t.sessionFeeMinor === 0;
}

/** The grant that reaches `targetSeconds` as far as `budgetMinor` pays, aligned to the increments. */
function grantFor(tariff: Tariff, targetSeconds: number, budgetMinor: number): { seconds: number; minor: number } {
  const want = rate(Math.min(targetSeconds, MAX_GRANT_SECONDS), tariff).amountMinor;
  const seconds = secondsAffordable(Math.min(want, Math.max(budgetMinor, 0)), tariff);
  return { seconds, minor: rate(seconds, tariff).amountMinor };
}

function assertId(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) throw new TypeError(`${what} must be a non-empty string of at most 64 characters`);
}

export class CreditControl extends TypedEmitter<CreditControlEvents> {
  readonly #db: DataSource;
  readonly #ledger: LedgerService;
  readonly #wallets: WalletService;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #settings: typeof CREDIT_CONTROL_DEFAULTS;
  readonly #live = new Map<string, Live>();
  #timer: unknown = null;
  #ticking = false;

  constructor(options: CreditControlOptions) {
    super();
    this.#db = options.db;
    this.#ledger = options.ledger;
    this.#wallets = options.wallets;
    this.#clock = options.clock ?? Date.now;
    this.#timers = options.timers ?? defaultTimers;
    this.#settings = {
      tickMs: options.tickMs ?? CREDIT_CONTROL_DEFAULTS.tickMs,
      sliceSeconds: options.sliceSeconds ?? CREDIT_CONTROL_DEFAULTS.sliceSeconds,
      reReserveBelowSeconds: options.reReserveBelowSeconds ?? CREDIT_CONTROL_DEFAULTS.reReserveBelowSeconds,
      warnSeconds: options.warnSeconds ?? CREDIT_CONTROL_DEFAULTS.warnSeconds,
    } as typeof CREDIT_CONTROL_DEFAULTS;
  }

  /** Runs tick() every tickMs until close(). */
  startTimer(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#timers.setInterval(() => void this.tick(this.#clock()), this.#settings.tickMs);
  }

  /** Stops the timer. Open sessions stay open in the database; recover() settles them at the next start. */
  close(): void {
    if (this.#timer !== null) this.#timers.clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * CCR-Initial: opens the wallet if need be and reserves a first slice (sliceSeconds of price, or what
   * the wallet allows). Throws InsufficientFundsError when that does not cover the free seconds plus
   * the first increment and the session fee.
   */
  async start(req: StartRequest): Promise<Grant> {
    for (const key of ['sessionId', 'taskId', 'customerId', 'agentId', 'queueId'] as const) assertId(req[key], key);
    if (!CHARGING_CHANNELS.includes(req.channel)) throw new TypeError(`unknown channel: ${String(req.channel)}`);
    assertTariff(req.tariff);
    if (!Number.isInteger(req.shareBps) || req.shareBps < 0 || req.shareBps > 10_000) throw new TypeError('shareBps must be 0…10000');
    if (this.#live.has(req.sessionId)) throw new InvalidStateError('this charging session has already started');
    const { tariff } = req;
    const now = this.#clock();
    await this.#wallets.open(req.customerId, tariff.currency);
    const mustCover = isFree(tariff) ? 0 : tariff.freeSeconds + tariff.firstIncrementSeconds;
    const target = Math.max(this.#settings.sliceSeconds, mustCover);

    let outcome: { row: ChargingSessionRow } | { shortBy: { availableMinor: number; requiredMinor: number } };
    try {
      outcome = await inTransaction(this.#db, async (m) => {
        if (!(await lockWallet(m, req.customerId, now))) throw new NotFoundError('wallet');
        const wallet = (await this.#wallets.get(req.customerId, m))!;
        const grant = grantFor(tariff, target, wallet.availableMinor);
        // Report a shortage without writing anything; the caller throws after the transaction ends.
        if (grant.seconds < mustCover) return { shortBy: { availableMinor: wallet.availableMinor, requiredMinor: rate(mustCover, tariff).amountMinor } };
        if (!(await this.#wallets.reserve(req.customerId, grant.minor, m))) throw new Error('reservation failed under the wallet lock');
        const row: ChargingSessionRow = {
          id: req.sessionId, taskId: req.taskId, customerId: req.customerId, agentId: req.agentId, queueId: req.queueId,
          channel: req.channel, currency: tariff.currency, tariff: { ...tariff }, shareBps: req.shareBps, state: 'open',
          reservedMinor: grant.minor, grantedSeconds: grant.seconds, bridgedMs: 0, startedAt: now, updatedAt: now,
          settledAt: null, billedSeconds: null, amountMinor: null, agentMinor: null, platformMinor: null, taxMinor: null,
          chargeTransactionId: null, endReason: null,
        };
        await m.getRepository(ChargingSessionEntity).insert(row);
        return { row };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new InvalidStateError('this charging session has already started');
      throw err;
    }
    if ('shortBy' in outcome) throw new InsufficientFundsError('the balance does not cover the first increment of this session', { ...outcome.shortBy, currency: tariff.currency });
    const { row } = outcome;
    this.#live.set(row.id, { row, tariff, accumulatedMs: 0, bridgedSince: null, warned: false, cutOff: false, queue: Promise.resolve() });
    return { sessionId: row.id, currency: row.currency, reservedMinor: row.reservedMinor, grantedSeconds: row.grantedSeconds };
  }

  /** Both parties are connected from `atMs` on: the billing clock runs. Repeated calls change nothing. */
  bridged(sessionId: string, atMs: number): void {
    const live = this.#mustLive(sessionId);
    if (live.bridgedSince === null) live.bridgedSince = atMs;
  }

  /** One party left at `atMs`: the clock stops; a later bridged() adds another interval. */
  unbridged(sessionId: string, atMs: number): void {
    const live = this.#mustLive(sessionId);
    if (live.bridgedSince === null) return;
    live.accumulatedMs += Math.max(0, atMs - live.bridgedSince);
    live.bridgedSince = null;
  }

  status(sessionId: string, nowMs = this.#clock()): SessionStatus | null {
    const live = this.#live.get(sessionId);
    if (!live) return null;
    const bridgedMs = this.#bridgedMs(live, nowMs);
    const leftMs = Math.max(0, live.row.grantedSeconds * 1000 - bridgedMs);
    return {
      sessionId, bridged: live.bridgedSince !== null, bridgedMs, grantedSeconds: live.row.grantedSeconds,
      reservedMinor: live.row.reservedMinor, secondsLeft: (leftMs - (leftMs % 1000)) / 1000,
    };
  }

  /** Checkpoints, re-reserves (CCR-Update), warns and cuts off, for every session this process runs. */
  async tick(nowMs = this.#clock()): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      for (const live of [...this.#live.values()]) {
        await this.#serial(live, () => this.#tickOne(live, nowMs)).catch((error: unknown) => this.safeEmit('error', { sessionId: live.row.id, error }));
      }
    } finally {
      this.#ticking = false;
    }
  }

  /**
   * CCR-Terminate: rates the bridged time (never beyond the granted time), posts one charge (idempotent
   * by session id), releases the whole reservation and closes the row. Stopping a settled session
   * returns its settlement again. Works from the checkpoint when this process does not run the session.
   */
  async stop(sessionId: string, atMs: number, reason: string): Promise<Settlement> {
    const live = this.#live.get(sessionId);
    if (!live) return this.#settle(sessionId, null, atMs, reason);
    return this.#serial(live, () => this.#settle(sessionId, live, atMs, reason));
  }

  /**
   * Settles open sessions this process does not run, from their last checkpoint: at start-up all of
   * them when this is the only process; with several processes only those whose process stopped
   * checkpointing before `staleBeforeMs` (every tick refreshes a running session's row).
   */
  async recover(nowMs = this.#clock(), opts: { staleBeforeMs?: number } = {}): Promise<{ settled: number; settlements: Settlement[] }> {
    const open = await this.#db.getRepository(ChargingSessionEntity).find({ where: { state: 'open' }, order: { startedAt: 'ASC' } });
    const settlements: Settlement[] = [];
    for (const row of open) {
      if (this.#live.has(row.id)) continue;
      if (opts.staleBeforeMs !== undefined && row.updatedAt >= opts.staleBeforeMs) continue;
      settlements.push(await this.#settle(row.id, null, nowMs, 'recovered'));
    }
    return { settled: settlements.length, settlements };
  }

  #mustLive(sessionId: string): Live {
    const live = this.#live.get(sessionId);
    if (!live) throw new NotFoundError('charging session');
    return live;
  }

  #bridgedMs(live: Live, nowMs: number): number {
    return live.accumulatedMs + (live.bridgedSince === null ? 0 : Math.max(0, nowMs - live.bridgedSince));
  }

  #serial<T>(live: Live, work: () => Promise<T>): Promise<T> {
    const run = live.queue.then(work);
    live.queue = run.catch(() => undefined);
    return run;
  }

  async #tickOne(live: Live, nowMs: number): Promise<void> {
    if (!this.#live.has(live.row.id)) return;
    const usedMs = this.#bridgedMs(live, nowMs);
    // Written every tick, also when unchanged: updated_at is this process's heartbeat for the session.
    await inTransaction(this.#db, (m) => exec(m, "UPDATE charging_sessions SET bridged_ms = ?, updated_at = ? WHERE id = ? AND state = 'open'", [usedMs, nowMs, live.row.id]));
    const leftMs = () => live.row.grantedSeconds * 1000 - usedMs;
    if (leftMs() < this.#settings.reReserveBelowSeconds * 1000 && live.row.grantedSeconds < MAX_GRANT_SECONDS) {
      if (await this.#reReserve(live, nowMs)) live.warned = false;
    }
    if (leftMs() <= 0) {
      if (!live.cutOff) {
        live.cutOff = true;
        this.safeEmit('cutoff', { sessionId: live.row.id, taskId: live.row.taskId });
      }
      return;
    }
    if (leftMs() <= this.#settings.warnSeconds * 1000 && !live.warned) {
      live.warned = true;
      this.safeEmit('warning', { sessionId: live.row.id, taskId: live.row.taskId, secondsLeft: ceilSeconds(leftMs()) });
    }
  }

  /** CCR-Update: extends the grant by a slice, or by what the wallet still allows; false when it allows nothing more. */
  async #reReserve(live: Live, nowMs: number): Promise<boolean> {
    const { row, tariff } = live;
    const extended = await inTransaction(this.#db, async (m) => {
      if (!(await lockWallet(m, row.customerId, nowMs))) return null;
      const wallet = (await this.#wallets.get(row.customerId, m))!;
      const grant = grantFor(tariff, row.grantedSeconds + this.#settings.sliceSeconds, row.reservedMinor + wallet.availableMinor);
      if (grant.seconds <= row.grantedSeconds) return null;
      const claimed = await exec(m, "UPDATE charging_sessions SET reserved_minor = ?, granted_seconds = ?, updated_at = ? WHERE id = ? AND state = 'open'", [
        grant.minor, grant.seconds, nowMs, row.id,
      ]);
      if (claimed.affected !== 1) return null;
      if (!(await this.#wallets.reserve(row.customerId, grant.minor - row.reservedMinor, m))) throw new Error('reservation failed under the wallet lock');
      return grant;
    });
    if (!extended) return false;
    live.row = { ...row, reservedMinor: extended.minor, grantedSeconds: extended.seconds, updatedAt: nowMs };
    return true;
  }

  async #settle(sessionId: string, live: Live | null, atMs: number, reason: string): Promise<Settlement> {
    if (live && live.bridgedSince !== null) this.unbridged(sessionId, atMs);
    const outcome = await inTransaction(this.#db, async (m) => {
      const row = await m.getRepository(ChargingSessionEntity).findOneBy({ id: sessionId });
      if (!row) throw new NotFoundError('charging session');
      if (row.state === 'settled') return { settlement: settlementOf(row), fresh: false };
      return { settlement: await this.#settleOpen(m, row, live ? live.accumulatedMs : row.bridgedMs, atMs, reason), fresh: true };
    });
    this.#live.delete(sessionId);
    if (outcome.fresh) this.safeEmit('settled', outcome.settlement);
    return outcome.settlement;
  }

  async #settleOpen(m: EntityManager, row: ChargingSessionRow, bridgedMs: number, atMs: number, reason: string): Promise<Settlement> {
    const tariff = row.tariff as Tariff;
    // Cut-off ends the session when the grant is used up; time past it (at most a tick and the
    // teardown) is not charged, so a charge never exceeds the reservation.
    const chargedSeconds = Math.min(ceilSeconds(bridgedMs), row.grantedSeconds);
    const { billedSeconds, amountMinor } = rate(chargedSeconds, tariff);
    if (amountMinor > row.reservedMinor) throw new Error(`invariant broken: charge ${amountMinor} exceeds reservation ${row.reservedMinor}`);
    const parts = split(amountMinor, row.shareBps, tariff.taxBps);
    const claimed = await exec(
      m,
      `UPDATE charging_sessions SET state = 'settled', settled_at = ?, updated_at = ?, bridged_ms = ?, billed_seconds = ?, amount_minor = ?,
         agent_minor = ?, platform_minor = ?, tax_minor = ?, end_reason = ? WHERE id = ? AND state = 'open'`,
      [atMs, atMs, bridgedMs, billedSeconds, amountMinor, parts.agentMinor, parts.platformMinor, parts.taxMinor, reason.slice(0, 32), row.id],
    );
    if (claimed.affected !== 1) throw new InvalidStateError('the charging session was settled concurrently');
    await this.#wallets.release(row.customerId, row.reservedMinor, m);
    let chargeTransactionId: string | null = null;
    if (amountMinor > 0) {
      const postings = [
        { account: walletAccount(row.customerId), amountMinor: -amountMinor },
        { account: agentAccount(row.agentId), amountMinor: parts.agentMinor },
        { account: PLATFORM_REVENUE, amountMinor: parts.platformMinor },
        { account: TAX_PAYABLE, amountMinor: parts.taxMinor },
      ].filter((p) => p.amountMinor !== 0);
      const charge = await this.#ledger.post(
        { idempotencyKey: chargeKey(row.id), kind: 'charge', currency: row.currency, sessionId: row.id, memo: `session ${row.id}`, postings },
        m,
      );
      chargeTransactionId = charge.id;
      await exec(m, 'UPDATE charging_sessions SET charge_transaction_id = ? WHERE id = ?', [chargeTransactionId, row.id]);
    }
    return settlementOf({
      ...row, state: 'settled', settledAt: atMs, bridgedMs, billedSeconds, amountMinor, agentMinor: parts.agentMinor,
      platformMinor: parts.platformMinor, taxMinor: parts.taxMinor, endReason: reason.slice(0, 32), chargeTransactionId,
    });
  }
}

function settlementOf(row: ChargingSessionRow): Settlement {
  const amountMinor = row.amountMinor ?? 0;
  return {
    sessionId: row.id, taskId: row.taskId, customerId: row.customerId, agentId: row.agentId, queueId: row.queueId,
    channel: row.channel, currency: row.currency, tariff: row.tariff as Tariff, bridgedSeconds: ceilSeconds(row.bridgedMs),
    billedSeconds: row.billedSeconds ?? 0, amountMinor, agentMinor: row.agentMinor ?? 0, platformMinor: row.platformMinor ?? 0,
    taxMinor: row.taxMinor ?? 0, chargeTransactionId: row.chargeTransactionId,
    ratingStatus: amountMinor === 0 && row.bridgedMs > 0 ? 'free' : 'rated', reason: row.endReason ?? '', settledAt: row.settledAt ?? 0,
  };
}
