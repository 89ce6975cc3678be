// Rate plans: what each queue charges per channel (one plan per queue and channel), kept valid on
// every write so rating never meets a plan it cannot use.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { RatePlanEntity, type RatePlanRow } from '../db/charging-entities.js';
import { NotFoundError } from '../lib/errors.js';
import { ChargingValidationError, ConflictError } from './errors.js';
import { isCurrency } from './money.js';
import { BPS, CHARGING_CHANNELS, type ChargingChannel, type RatePlan } from './rating.js';
import { inTransaction, isUniqueViolation } from './sql.js';

export interface RatePlanInput {
  queueId: string;
  channel: ChargingChannel;
  currency: string;
  perMinuteMinor: number;
  sessionFeeMinor?: number;
  freeSeconds?: number;
  firstIncrementSeconds?: number;
  nextIncrementSeconds?: number;
  agentPriceMinMinor?: number | null;
  agentPriceMaxMinor?: number | null;
  revenueShareBps?: number;
  taxBps?: number;
  active?: boolean;
}

export type RatePlanPatch = Partial<Omit<RatePlanInput, 'queueId' | 'channel'>>;

/** Per-minute billing, 70 % to the agent, no fee, no free time, no tax. */
export const RATE_PLAN_DEFAULTS = {
  sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60,
  agentPriceMinMinor: null, agentPriceMaxMinor: null, revenueShareBps: 7_000, taxBps: 0, active: true,
} as const;

function fail(message: string): never {
  throw new ChargingValidationError(message);
}

function checkAmount(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${what} must be a non-negative integer of minor units`);
}

function checkInt(value: unknown, what: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`${what} must be an integer from ${min} to ${max}`);
}

/** Throws ChargingValidationError naming the first field that is wrong. */
export function validateRatePlan(p: Omit<RatePlan, 'id' | 'createdAt' | 'updatedAt'>): void {
  if (typeof p.queueId !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(p.queueId)) fail('queueId is not a queue id');
  if (!CHARGING_CHANNELS.includes(p.channel)) fail(`channel must be one of ${CHARGING_CHANNELS.join(', ')}`);
  if (!isCurrency(p.currency)) fail(`currency ${String(p.currency)} is not supported`);
  checkAmount(p.perMinuteMinor, 'perMinuteMinor');
  checkAmount(p.sessionFeeMinor, 'sessionFeeMinor');
  checkInt(p.freeSeconds, 'freeSeconds', 0, 86_400);
  checkInt(p.firstIncrementSeconds, 'firstIncrementSeconds', 1, 3_600);
  checkInt(p.nextIncrementSeconds, 'nextIncrementSeconds', 1, 3_600);
  if (p.agentPriceMinMinor !== null) checkAmount(p.agentPriceMinMinor, 'agentPriceMinMinor');
  if (p.agentPriceMaxMinor !== null) checkAmount(p.agentPriceMaxMinor, 'agentPriceMaxMinor');
  const min = p.agentPriceMinMinor ?? 0;
  const max = p.agentPriceMaxMinor ?? Number.MAX_SAFE_INTEGER;
  if (min > max) fail('agentPriceMinMinor is above agentPriceMaxMinor');
  if (p.perMinuteMinor < min || p.perMinuteMinor > max) fail("perMinuteMinor must lie within the agents' price range");
  checkInt(p.revenueShareBps, 'revenueShareBps', 0, BPS);
  checkInt(p.taxBps, 'taxBps', 0, BPS);
  if (typeof p.active !== 'boolean') fail('active must be true or false');
}

export class RatePlanService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(input: RatePlanInput): Promise<RatePlan> {
    const now = this.clock();
    const plan: RatePlan = { ...RATE_PLAN_DEFAULTS, ...(stripUndefined(input) as RatePlanInput), id: randomUUID(), createdAt: now, updatedAt: now };
    validateRatePlan(plan);
    try {
      await inTransaction(this.db, (m) => m.getRepository(RatePlanEntity).insert(plan));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`queue ${plan.queueId} already has a rate plan for ${plan.channel}`);
      throw err;
    }
    return plan;
  }

  async update(id: string, patch: RatePlanPatch): Promise<RatePlan> {
    const current = await this.get(id);
    if (!current) throw new NotFoundError('rate plan');
    const { queueId: _q, channel: _c, ...allowed } = patch as RatePlanInput;
    const plan: RatePlan = { ...current, ...stripUndefined(allowed), updatedAt: this.clock() };
    validateRatePlan(plan);
    await inTransaction(this.db, (m) => m.getRepository(RatePlanEntity).update({ id }, plan));
    return plan;
  }

  async remove(id: string): Promise<void> {
    const result = await inTransaction(this.db, (m) => m.getRepository(RatePlanEntity).delete({ id }));
    if (!result.affected) throw new NotFoundError('rate plan');
  }

  async get(id: string): Promise<RatePlan | null> {
    return this.db.getRepository(RatePlanEntity).findOneBy({ id });
  }

  async list(filter: { queueId?: string } = {}): Promise<RatePlan[]> {
    return this.db.getRepository(RatePlanEntity).find({ where: filter.queueId ? { queueId: filter.queueId } : {}, order: { queueId: 'ASC', channel: 'ASC' } });
  }

  /** The active plan of a queue on a channel; null: that channel of the queue is free. */
  async planFor(queueId: string, channel: ChargingChannel): Promise<RatePlan | null> {
    return this.db.getRepository(RatePlanEntity).findOneBy({ queueId, channel, active: true });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type { RatePlanRow };
