// How a queue orders the agents who may take a task. Pure: the caller passes the candidates (already
// available and eligible), the time and, for weighted random, a seeded random source; the same input
// always gives the same order. The router offers the task to the first candidate, or, for ring_all, to
// the first `offersAtOnce()` candidates at the same time (first accept wins, via a shared reservation).
import type { AgentAvailability, Channel } from './store/queue-store.js';
import { distanceKm, skillLevel, withinBudget, type AgentProfile, type TaskRequirements } from './eligibility.js';

export type StrategyName =
  | 'longest_idle'
  | 'least_occupied'
  | 'round_robin'
  | 'ring_all'
  | 'linear'
  | 'best_skill'
  | 'best_rating_in_budget'
  | 'weighted_random';

/** One line each; docs/routing.md has the longer story. */
export const STRATEGY_DESCRIPTIONS: Readonly<Record<StrategyName, string>> = {
  longest_idle: 'The agent free the longest (earliest idleSince) first.',
  least_occupied: 'The agent with the smallest share of their capacity in use on the task’s channel first, then fewest tasks held, then longest idle.',
  round_robin: 'Agents in a fixed cycle (the queue’s linear order, else by id), starting after the agent the queue last served.',
  ring_all: 'Offered to several agents at once (ringAllWidth, default all), longest idle first; the first to accept wins.',
  linear: 'Top-down: always the first available agent of the queue’s linear order; unlisted agents last, longest idle first.',
  best_skill: 'Highest total level in the task’s required skills first, then longest idle.',
  best_rating_in_budget: 'Agents priced within the customer’s budget only; highest rating first (unrated last), then cheapest, then longest idle.',
  weighted_random: 'Random order, each agent drawn with probability proportional to their weight (default 1; 0 = only after everyone else).',
};

export const STRATEGIES = Object.keys(STRATEGY_DESCRIPTIONS) as readonly StrategyName[];

export function isStrategyName(v: unknown): v is StrategyName {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(STRATEGY_DESCRIPTIONS, v);
}

/** An agent who may take the task: availability from the queue store plus the routing profile. */
export interface Candidate {
  availability: Pick<AgentAvailability, 'agentId' | 'load' | 'capacity' | 'idleSince'>;
  profile: AgentProfile;
}

export interface RankContext {
  now: number;
  /** The task's channel: occupancy is load / capacity on this channel. */
  channel: Channel;
  /** The task's (effective, relaxed) requirements: skills for best_skill, budget for best_rating_in_budget. */
  requirements: TaskRequirements;
  /** When the task joined the queue (epoch ms); starts the preferred-agent window. */
  enqueuedAt: number;
  /** Overrides requirements.preferredAgentId when given (null: no preferred agent). */
  preferredAgentId?: string | null;
  /** How long only the preferred agent may take the task (ms). 0 or absent: no exclusive window. */
  preferredForMs?: number;
  /** The queue's agent order for linear and round_robin (agent ids). */
  linearOrder?: readonly string[];
  /** Round-robin memory: the agent the queue last served; the cycle continues after them. */
  lastServedAgentId?: string | null;
  /** weighted_random: weight per agent id (missing: 1). */
  weights?: Readonly<Record<string, number>>;
  /** weighted_random: a seeded source in [0, 1) (see seededRandom); required for that strategy. */
  random?: () => number;
  /** ring_all: how many agents are offered the task at once (default: all candidates). */
  ringAllWidth?: number;
  /** The queue prefers agents near the customer (requirements.near): nearer distance bands first. */
  preferNearby?: boolean;
}

/** Distances within one band count as equally near; the strategy orders agents inside a band. */
export const NEARBY_BAND_KM = 50;

/**
 * Orders the candidates for a task by the queue's strategy, best first. Does not filter availability or
 * eligibility (pass only eligible, available agents), except:
 * - best_rating_in_budget drops agents priced above the customer's budget;
 * - the preferred agent: inside the window (now − enqueuedAt < preferredForMs) only that agent is
 *   returned, or nobody when they are not among the candidates (the task waits for them); after the
 *   window, the preferred agent comes first and the rest follow the strategy;
 * - ring_all returns at most ringAllWidth candidates.
 * Ties are broken by idleSince (earlier first), then agent id, so the order never depends on input order.
 */
export function rankCandidates(strategy: StrategyName, candidates: readonly Candidate[], ctx: RankContext): Candidate[] {
  for (const c of candidates) {
    if (c.availability.agentId !== c.profile.id) throw new TypeError(`candidate availability ${c.availability.agentId} does not match profile ${c.profile.id}`);
  }
  let pool = [...candidates];
  if (strategy === 'best_rating_in_budget') pool = pool.filter((c) => withinBudget(c.profile, ctx.requirements.budgetPerMinuteMinor));

  const preferred = preferredAgentOf(ctx);
  if (preferred !== null && inPreferredWindow(ctx)) return pool.filter((c) => c.profile.id === preferred).slice(0, 1);

  let ranked = order(strategy, pool, ctx);
  if (ctx.preferNearby && ctx.requirements.near) ranked = byDistanceBand(ranked, ctx.requirements.near);
  if (preferred !== null) {
    const i = ranked.findIndex((c) => c.profile.id === preferred);
    if (i > 0) ranked = [ranked[i]!, ...ranked.slice(0, i), ...ranked.slice(i + 1)];
  }
  if (strategy === 'ring_all') ranked = ranked.slice(0, offersAtOnce(strategy, ctx, ranked.length));
  return ranked;
}

/** Stable: nearer bands first, agents without a known position last, the strategy's order within a band. */
function byDistanceBand(ranked: Candidate[], near: NonNullable<TaskRequirements['near']>): Candidate[] {
  const band = (c: Candidate) => (c.profile.location ? Math.floor(distanceKm(near, c.profile.location) / NEARBY_BAND_KM) : Number.POSITIVE_INFINITY);
  return ranked
    .map((c, i) => ({ c, i, b: band(c) }))
    .sort((x, y) => x.b - y.b || x.i - y.i)
    .map((x) => x.c);
}

/** How many of the ranked candidates the router offers the task to at the same time. */
export function offersAtOnce(strategy: StrategyName, ctx: Pick<RankContext, 'ringAllWidth'>, available = Infinity): number {
  if (strategy !== 'ring_all') return Math.min(1, available);
  const width = ctx.ringAllWidth;
  if (width === undefined) return available;
  if (!Number.isInteger(width) || width < 1) throw new TypeError(`ringAllWidth must be a positive integer, got ${width}`);
  return Math.min(width, available);
}

type PreferredCtx = Pick<RankContext, 'now' | 'enqueuedAt' | 'preferredForMs' | 'preferredAgentId' | 'requirements'>;

function preferredAgentOf(ctx: PreferredCtx): string | null {
  const id = ctx.preferredAgentId !== undefined ? ctx.preferredAgentId : ctx.requirements.preferredAgentId;
  return id ?? null;
}

function inPreferredWindow(ctx: PreferredCtx): boolean {
  return (ctx.preferredForMs ?? 0) > 0 && ctx.now - ctx.enqueuedAt < (ctx.preferredForMs ?? 0);
}

/**
 * When the preferred agent's exclusive window ends (epoch ms), if the task is in it now: the router
 * schedules a new match then, so the task goes to anyone once the window is over. Null otherwise.
 */
export function preferredWindowEndsAt(ctx: PreferredCtx): number | null {
  if (preferredAgentOf(ctx) === null || !inPreferredWindow(ctx)) return null;
  return ctx.enqueuedAt + (ctx.preferredForMs ?? 0);
}

// ---- orders ------------------------------------------------------------------------------------

type Cmp = (a: Candidate, b: Candidate) => number;

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The tie-break every strategy ends with: longest idle, then id. */
const byIdleThenId: Cmp = (a, b) => a.availability.idleSince - b.availability.idleSince || compareIds(a.profile.id, b.profile.id);

function occupancy(c: Candidate, channel: Channel): number {
  const capacity = c.availability.capacity[channel] ?? 0;
  const load = c.availability.load[channel] ?? 0;
  return capacity > 0 ? load / capacity : 1;
}

function totalLoad(c: Candidate): number {
  let n = 0;
  for (const v of Object.values(c.availability.load)) n += v ?? 0;
  return n;
}

function skillScore(c: Candidate, req: TaskRequirements): number {
  let sum = 0;
  for (const r of req.skills) sum += skillLevel(c.profile, r.skill) ?? 0;
  return sum;
}

/** Position in a cycle: the linear order first (by index), then unlisted agents by id. */
function cycleKey(id: string, linear: readonly string[] | undefined): [number, string] {
  const i = linear ? linear.indexOf(id) : -1;
  return [i >= 0 ? i : Number.MAX_SAFE_INTEGER, id];
}

function compareKeys(a: [number, string], b: [number, string]): number {
  return a[0] - b[0] || compareIds(a[1], b[1]);
}

function order(strategy: StrategyName, pool: Candidate[], ctx: RankContext): Candidate[] {
  switch (strategy) {
    case 'longest_idle':
    case 'ring_all':
      return pool.sort(byIdleThenId);
    case 'least_occupied':
      return pool.sort((a, b) => occupancy(a, ctx.channel) - occupancy(b, ctx.channel) || totalLoad(a) - totalLoad(b) || byIdleThenId(a, b));
    case 'linear': {
      const linear = ctx.linearOrder ?? [];
      return pool.sort((a, b) => {
        const ia = linear.indexOf(a.profile.id);
        const ib = linear.indexOf(b.profile.id);
        if (ia >= 0 && ib >= 0) return ia - ib;
        if (ia >= 0) return -1;
        if (ib >= 0) return 1;
        return byIdleThenId(a, b);
      });
    }
    case 'round_robin': {
      const linear = ctx.linearOrder;
      const sorted = pool.sort((a, b) => compareKeys(cycleKey(a.profile.id, linear), cycleKey(b.profile.id, linear)));
      const last = ctx.lastServedAgentId;
      if (last == null) return sorted;
      const lastKey = cycleKey(last, linear);
      // The cycle goes on after the last served agent even when they are not a candidate now.
      const after = sorted.filter((c) => compareKeys(cycleKey(c.profile.id, linear), lastKey) > 0);
      const upTo = sorted.filter((c) => compareKeys(cycleKey(c.profile.id, linear), lastKey) <= 0);
      return [...after, ...upTo];
    }
    case 'best_skill':
      return pool.sort((a, b) => skillScore(b, ctx.requirements) - skillScore(a, ctx.requirements) || byIdleThenId(a, b));
    case 'best_rating_in_budget':
      return pool.sort((a, b) => {
        const ra = a.profile.rating;
        const rb = b.profile.rating;
        if (ra !== rb) {
          if (ra === null) return 1;
          if (rb === null) return -1;
          return rb - ra;
        }
        const pa = a.profile.pricePerMinuteMinor ?? 0;
        const pb = b.profile.pricePerMinuteMinor ?? 0;
        return pa - pb || byIdleThenId(a, b);
      });
    case 'weighted_random':
      return weightedShuffle(pool, ctx);
  }
}

/**
 * Weighted sampling without replacement (Efraimidis–Spirakis): each agent gets key u^(1/w) with u drawn
 * from ctx.random, highest key first. Draws happen in id order, so the result depends only on the seed
 * and the candidates, not on the order the store returned them in. Weight 0 (or negative) agents come
 * after all others, longest idle first.
 */
function weightedShuffle(pool: Candidate[], ctx: RankContext): Candidate[] {
  const random = ctx.random;
  if (!random) throw new TypeError('weighted_random needs ctx.random (use seededRandom(seed))');
  const byId = pool.sort((a, b) => compareIds(a.profile.id, b.profile.id));
  const weighted: Array<{ c: Candidate; key: number }> = [];
  const zero: Candidate[] = [];
  for (const c of byId) {
    const w = ctx.weights?.[c.profile.id] ?? 1;
    if (!Number.isFinite(w)) throw new TypeError(`weight of ${c.profile.id} must be a finite number, got ${w}`);
    if (w <= 0) {
      zero.push(c);
      continue;
    }
    const u = random();
    weighted.push({ c, key: Math.pow(u, 1 / w) });
  }
  weighted.sort((a, b) => b.key - a.key || byIdleThenId(a.c, b.c));
  return [...weighted.map((x) => x.c), ...zero.sort(byIdleThenId)];
}

/** A small seeded generator (mulberry32) in [0, 1), for weighted_random and tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
