// Rating: what a conversation costs. Pure functions on integers (docs/charging.md, "Rating").
import type { RatePlanRow } from '../db/charging-entities.js';
import { PriceNotAcceptedError } from './errors.js';
import { assertCurrency, assertMinor, floorDiv, mulDivFloor, mulDivHalfUp, toSafeNumber } from './money.js';

export type ChargingChannel = 'chat' | 'call' | 'video' | 'phone';
export const CHARGING_CHANNELS: readonly ChargingChannel[] = ['chat', 'call', 'video', 'phone'];

/** 10 000 basis points = 100 %. */
export const BPS = 10_000;
/** A grant never exceeds this many seconds (68 years): free tariffs are "unlimited" within an integer column. */
export const MAX_GRANT_SECONDS = 2_147_483_647;

/** What a queue charges on a channel (table rate_plans). Prices include tax. */
export type RatePlan = RatePlanRow;

/** The price that applies to one session: the plan with the agent's price per minute filled in. */
export interface Tariff {
  planId: string | null;
  currency: string;
  perMinuteMinor: number;
  sessionFeeMinor: number;
  freeSeconds: number;
  firstIncrementSeconds: number;
  nextIncrementSeconds: number;
  taxBps: number;
}

export interface Rating {
  /** Seconds charged for: bridged time after the free seconds, rounded up to the increments. */
  billedSeconds: number;
  amountMinor: number;
}

export interface Split {
  agentMinor: number;
  platformMinor: number;
  taxMinor: number;
}

function assertCount(value: unknown, what: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new TypeError(`${what} must be an integer ≥ ${min}, got ${String(value)}`);
}

function assertBps(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > BPS) throw new TypeError(`${what} must be an integer from 0 to ${BPS} basis points, got ${String(value)}`);
}

export function assertTariff(t: Tariff): void {
  assertCurrency(t.currency);
  assertMinor(t.perMinuteMinor, 'perMinuteMinor', true);
  assertMinor(t.sessionFeeMinor, 'sessionFeeMinor', true);
  assertCount(t.freeSeconds, 'freeSeconds');
  assertCount(t.firstIncrementSeconds, 'firstIncrementSeconds', 1);
  assertCount(t.nextIncrementSeconds, 'nextIncrementSeconds', 1);
  assertBps(t.taxBps, 'taxBps');
}

/** The session's tariff: the agent's own price if they have one (it must lie within the plan's bounds), else the plan's. */
export function tariffFor(plan: RatePlan, agentPricePerMinuteMinor: number | null): Tariff {
  let perMinuteMinor = plan.perMinuteMinor;
  if (agentPricePerMinuteMinor !== null) {
    assertMinor(agentPricePerMinuteMinor, 'agent price per minute', true);
    const { agentPriceMinMinor: min, agentPriceMaxMinor: max } = plan;
    if ((min !== null && agentPricePerMinuteMinor < min) || (max !== null && agentPricePerMinuteMinor > max)) {
      throw new PriceNotAcceptedError(`the agent's price per minute is outside the range of this topic's rate plan`, {
        pricePerMinuteMinor: agentPricePerMinuteMinor, minMinor: min, maxMinor: max,
      });
    }
    perMinuteMinor = agentPricePerMinuteMinor;
  }
  const tariff: Tariff = {
    planId: plan.id,
    currency: plan.currency,
    perMinuteMinor,
    sessionFeeMinor: plan.sessionFeeMinor,
    freeSeconds: plan.freeSeconds,
    firstIncrementSeconds: plan.firstIncrementSeconds,
    nextIncrementSeconds: plan.nextIncrementSeconds,
    taxBps: plan.taxBps,
  };
  assertTariff(tariff);
  return tariff;
}

/** The agent's share: their own override, else the plan's default. */
export function shareFor(plan: RatePlan, agentShareBps: number | null): number {
  const share = agentShareBps ?? plan.revenueShareBps;
  assertBps(share, 'revenue share');
  return share;
}

/** Bridged seconds → billed seconds: free seconds first, then the first increment, then whole next increments. */
export function billedSecondsFor(bridgedSeconds: number, t: Tariff): number {
  assertCount(bridgedSeconds, 'bridgedSeconds');
  const chargeable = bridgedSeconds - t.freeSeconds;
  if (chargeable <= 0) return 0;
  if (chargeable <= t.firstIncrementSeconds) return t.firstIncrementSeconds;
  const next = BigInt(t.nextIncrementSeconds);
  const steps = floorDiv(BigInt(chargeable - t.firstIncrementSeconds) + next - 1n, next);
  return toSafeNumber(BigInt(t.firstIncrementSeconds) + steps * next, 'billed seconds');
}

/** The price of billed seconds: session fee + per-minute price × seconds / 60, rounded half up; nothing for 0 s. */
function priceOf(billedSeconds: number, t: Tariff): number {
  if (billedSeconds === 0) return 0;
  return toSafeNumber(BigInt(t.sessionFeeMinor) + mulDivHalfUp(t.perMinuteMinor, billedSeconds, 60));
}

export function rate(bridgedSeconds: number, tariff: Tariff): Rating {
  assertTariff(tariff);
  const billedSeconds = billedSecondsFor(bridgedSeconds, tariff);
  return { billedSeconds, amountMinor: priceOf(billedSeconds, tariff) };
}

/**
 * The most bridged seconds that `availableMinor` pays for, ending on an increment boundary (so every
 * second up to it costs at most that sum). At least the free seconds; MAX_GRANT_SECONDS for a tariff
 * with no per-minute price once its session fee is affordable.
 */
export function secondsAffordable(availableMinor: number, tariff: Tariff): number {
  assertMinor(availableMinor, 'availableMinor');
  assertTariff(tariff);
  const { freeSeconds, firstIncrementSeconds: first, nextIncrementSeconds: next } = tariff;
  const afterFee = BigInt(availableMinor) - BigInt(tariff.sessionFeeMinor);
  if (afterFee < 0n) return Math.min(freeSeconds, MAX_GRANT_SECONDS);
  if (tariff.perMinuteMinor === 0) return MAX_GRANT_SECONDS;
  // half-up(p·b/60) ≤ M  ⇔  p·b + 30 < 60·(M + 1)  ⇔  b ≤ ⌊(60·(M + 1) − 31) / p⌋
  const maxBilled = floorDiv(60n * (afterFee + 1n) - 31n, BigInt(tariff.perMinuteMinor));
  if (maxBilled < BigInt(first)) return Math.min(freeSeconds, MAX_GRANT_SECONDS);
  const steps = floorDiv(maxBilled - BigInt(first), BigInt(next));
  const seconds = BigInt(freeSeconds) + BigInt(first) + steps * BigInt(next);
  return seconds > BigInt(MAX_GRANT_SECONDS) ? MAX_GRANT_SECONDS : Number(seconds);
}

/**
 * Splits a tax-inclusive amount: tax = amount × tax / (1 + tax) rounded half up; of the net, the agent
 * gets share rounded down; the platform gets the rest, so the three always add up to the amount.
 */
export function split(amountMinor: number, shareBps: number, taxBps: number): Split {
  assertMinor(amountMinor, 'amountMinor', true);
  assertBps(shareBps, 'shareBps');
  assertBps(taxBps, 'taxBps');
  const taxMinor = toSafeNumber(mulDivHalfUp(amountMinor, taxBps, BPS + taxBps));
  const net = amountMinor - taxMinor;
  const agentMinor = toSafeNumber(mulDivFloor(net, shareBps, BPS));
  return { agentMinor, platformMinor: net - agentMinor, taxMinor };
}
