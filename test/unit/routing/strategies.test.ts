// Who gets the offer first under each queue strategy, the preferred-agent window, and that the order is
// deterministic (same input, same order, whatever order the store returned the agents in).
import { describe, expect, it } from '@jest/globals';
import type { Channel } from '../../../routing/store/queue-store.js';
import { coarsen, distanceKm, type AgentProfile, type TaskRequirements } from '../../../routing/eligibility.js';
import {
  STRATEGIES,
  STRATEGY_DESCRIPTIONS,
  isStrategyName,
  offersAtOnce,
  preferredWindowEndsAt,
  rankCandidates,
  seededRandom,
  type Candidate,
  type RankContext,
  type StrategyName,
} from '../../../routing/strategies.js';

const T0 = 1_700_000_000_000;

interface Spec {
  idleSince?: number;
  load?: Partial<Record<Channel, number>>;
  capacity?: Partial<Record<Channel, number>>;
  skills?: Array<{ skill: string; level: number }>;
  rating?: number | null;
  price?: number | null;
}

function cand(id: string, s: Spec = {}): Candidate {
  const profile: AgentProfile = {
    id,
    skills: s.skills ?? [{ skill: 'billing', level: 1 }],
    languages: ['en'],
    attributes: {},
    rating: s.rating === undefined ? null : s.rating,
    pricePerMinuteMinor: s.price === undefined ? null : s.price,
  };
  return {
    availability: { agentId: id, idleSince: s.idleSince ?? T0, load: s.load ?? {}, capacity: s.capacity ?? { chat: 1 } },
    profile,
  };
}

const REQ: TaskRequirements = { skills: [{ skill: 'billing', minLevel: 1 }], language: 'en' };

function ctx(over: Partial<RankContext> = {}): RankContext {
  return { now: T0 + 60_000, channel: 'chat', requirements: REQ, enqueuedAt: T0, ...over };
}

const ids = (cs: Candidate[]) => cs.map((c) => c.profile.id);

describe('longest_idle', () => {
  it('offers first to the agent free the longest, ties by id', () => {
    const cs = [cand('c', { idleSince: T0 - 10 }), cand('b', { idleSince: T0 - 50 }), cand('a', { idleSince: T0 - 10 })];
    expect(ids(rankCandidates('longest_idle', cs, ctx()))).toEqual(['b', 'a', 'c']);
  });
});

describe('least_occupied', () => {
  it('prefers the smallest share of capacity in use on the task channel, then fewest tasks, then longest idle', () => {
    const cs = [
      cand('half', { capacity: { chat: 4 }, load: { chat: 2 }, idleSince: T0 - 100 }),
      cand('third', { capacity: { chat: 3 }, load: { chat: 1 } }),
      cand('third-on-call', { capacity: { chat: 3, call: 1 }, load: { chat: 1, call: 1 }, idleSince: T0 - 500 }),
      cand('empty', { capacity: { chat: 2 }, load: {}, idleSince: T0 }),
    ];
    expect(ids(rankCandidates('least_occupied', cs, ctx()))).toEqual(['empty', 'third', 'third-on-call', 'half']);
  });

  it('measures occupancy on the task channel only', () => {
    const cs = [cand('chatty', { capacity: { chat: 2, call: 1 }, load: { chat: 2 } }), cand('caller', { capacity: { chat: 2, call: 1 }, load: { call: 1 } })];
    expect(ids(rankCandidates('least_occupied', cs, ctx({ channel: 'call' })))).toEqual(['chatty', 'caller']);
    expect(ids(rankCandidates('least_occupied', cs, ctx({ channel: 'chat' })))).toEqual(['caller', 'chatty']);
  });
});

describe('round_robin', () => {
  const cs = [cand('d'), cand('a'), cand('c'), cand('b')];

  it('continues the cycle after the agent the queue last served, wrapping round', () => {
    expect(ids(rankCandidates('round_robin', cs, ctx()))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(rankCandidates('round_robin', cs, ctx({ lastServedAgentId: 'b' })))).toEqual(['c', 'd', 'a', 'b']);
    expect(ids(rankCandidates('round_robin', cs, ctx({ lastServedAgentId: 'd' })))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps its place when the last served agent is busy now (not a candidate)', () => {
    const withoutB = [cand('a'), cand('c'), cand('d')];
    expect(ids(rankCandidates('round_robin', withoutB, ctx({ lastServedAgentId: 'b' })))).toEqual(['c', 'd', 'a']);
  });

  it('follows the queue linear order when given, unlisted agents at the end of the cycle', () => {
    const order = ['d', 'b', 'a'];
    expect(ids(rankCandidates('round_robin', cs, ctx({ linearOrder: order, lastServedAgentId: 'b' })))).toEqual(['a', 'c', 'd', 'b']);
  });

  it('spreads consecutive tasks over every agent once per cycle', () => {
    let last: string | null = null;
    const served: string[] = [];
    for (let i = 0; i < 8; i++) {
      const first: string = rankCandidates('round_robin', cs, ctx({ lastServedAgentId: last }))[0]!.profile.id;
      served.push(first);
      last = first;
    }
    expect(served).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
  });
});

describe('linear (top-down)', () => {
  it('always starts at the top of the list, whoever was idle longest', () => {
    const cs = [cand('junior', { idleSince: T0 - 1000 }), cand('lead', { idleSince: T0 }), cand('mid'), cand('temp-2', { idleSince: T0 - 5 }), cand('temp-1', { idleSince: T0 - 9 })];
    expect(ids(rankCandidates('linear', cs, ctx({ linearOrder: ['lead', 'mid', 'junior'] })))).toEqual(['lead', 'mid', 'junior', 'temp-1', 'temp-2']);
  });
});

describe('best_skill', () => {
  it('offers first to the highest level in the required skills, then longest idle', () => {
    const req: TaskRequirements = { skills: [{ skill: 'billing', minLevel: 1 }, { skill: 'refunds', minLevel: 1 }], language: 'en' };
    const cs = [
      cand('novice', { skills: [{ skill: 'billing', level: 1 }, { skill: 'refunds', level: 1 }], idleSince: T0 - 999 }),
      cand('expert', { skills: [{ skill: 'billing', level: 5 }, { skill: 'refunds', level: 4 }] }),
      cand('billing-guru', { skills: [{ skill: 'billing', level: 5 }, { skill: 'refunds', level: 2 }, { skill: 'sales', level: 9 }] }),
      cand('solid', { skills: [{ skill: 'billing', level: 4 }, { skill: 'refunds', level: 3 }], idleSince: T0 - 1 }),
    ];
    expect(ids(rankCandidates('best_skill', cs, ctx({ requirements: req })))).toEqual(['expert', 'solid', 'billing-guru', 'novice']);
  });
});

describe('best_rating_in_budget', () => {
  it("offers the best-rated agent the customer can afford; over-budget agents are left out, unrated last", () => {
    const cs = [
      cand('star', { rating: 5, price: 300 }),
      cand('good-cheap', { rating: 4.5, price: 80 }),
      cand('good-dear', { rating: 4.5, price: 150 }),
      cand('new', { rating: null, price: 50 }),
      cand('ok', { rating: 3.9, price: null }),
    ];
    const ranked = rankCandidates('best_rating_in_budget', cs, ctx({ requirements: { ...REQ, budgetPerMinuteMinor: 200 } }));
    expect(ids(ranked)).toEqual(['good-cheap', 'good-dear', 'ok', 'new']);
    expect(ids(rankCandidates('best_rating_in_budget', cs, ctx()))[0]).toBe('star'); // no budget: everyone
  });
});

describe('ring_all', () => {
  const cs = [cand('a', { idleSince: T0 - 1 }), cand('b', { idleSince: T0 - 3 }), cand('c', { idleSince: T0 - 2 }), cand('d')];

  it('rings everyone by default, longest idle first', () => {
    expect(ids(rankCandidates('ring_all', cs, ctx()))).toEqual(['b', 'c', 'a', 'd']);
    expect(offersAtOnce('ring_all', {}, 4)).toBe(4);
  });

  it('rings only ringAllWidth agents at once', () => {
    expect(ids(rankCandidates('ring_all', cs, ctx({ ringAllWidth: 2 })))).toEqual(['b', 'c']);
    expect(offersAtOnce('ring_all', { ringAllWidth: 2 }, 4)).toBe(2);
    expect(offersAtOnce('ring_all', { ringAllWidth: 10 }, 3)).toBe(3);
    expect(() => offersAtOnce('ring_all', { ringAllWidth: 0 })).toThrow(TypeError);
  });

  it('every other strategy offers to one agent at a time', () => {
    for (const s of STRATEGIES.filter((x) => x !== 'ring_all')) expect(offersAtOnce(s, { ringAllWidth: 5 }, 4)).toBe(1);
    expect(offersAtOnce('longest_idle', {}, 0)).toBe(0);
  });
});

describe('weighted_random', () => {
  const cs = ['a', 'b', 'c', 'd'].map((id) => cand(id));

  it('is reproducible with the same seed, whatever order the candidates come in', () => {
    const one = ids(rankCandidates('weighted_random', cs, ctx({ random: seededRandom(42) })));
    const two = ids(rankCandidates('weighted_random', [...cs].reverse(), ctx({ random: seededRandom(42) })));
    expect(two).toEqual(one);
    expect([...one].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('gives the first offer in proportion to weight; weight 0 only after everyone else', () => {
    const weights = { a: 6, b: 3, c: 1, d: 0 };
    const random = seededRandom(7);
    const first: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    const N = 5000;
    for (let i = 0; i < N; i++) {
      const ranked = ids(rankCandidates('weighted_random', cs, ctx({ weights, random })));
      first[ranked[0]!]!++;
      expect(ranked[3]).toBe('d');
    }
    expect(first.a! / N).toBeCloseTo(0.6, 1);
    expect(first.b! / N).toBeCloseTo(0.3, 1);
    expect(first.c! / N).toBeCloseTo(0.1, 1);
    expect(first.d).toBe(0);
  });

  it('refuses to run without a random source (it would not be reproducible)', () => {
    expect(() => rankCandidates('weighted_random', cs, ctx())).toThrow(TypeError);
    expect(() => rankCandidates('weighted_random', cs, ctx({ random: seededRandom(1), weights: { a: Infinity } }))).toThrow(TypeError);
  });
});

describe('preferred agent (the customer’s previous agent)', () => {
  const cs = [cand('x', { idleSince: T0 - 100 }), cand('prev', { idleSince: T0 }), cand('y', { idleSince: T0 - 50 })];
  const pref = { requirements: { ...REQ, preferredAgentId: 'prev' }, preferredForMs: 120_000 };

  it('inside the window, offers the task to the previous agent only', () => {
    expect(ids(rankCandidates('longest_idle', cs, ctx({ ...pref, now: T0 + 119_999 })))).toEqual(['prev']);
    expect(preferredWindowEndsAt(ctx({ ...pref, now: T0 + 30_000 }))).toBe(T0 + 120_000);
  });

  it('inside the window, when the previous agent is not available, nobody: the task waits for them', () => {
    expect(rankCandidates('longest_idle', cs.filter((c) => c.profile.id !== 'prev'), ctx({ ...pref, now: T0 + 1000 }))).toEqual([]);
  });

  it('after the window, anyone, with the previous agent still first', () => {
    expect(ids(rankCandidates('longest_idle', cs, ctx({ ...pref, now: T0 + 120_000 })))).toEqual(['prev', 'x', 'y']);
    expect(ids(rankCandidates('longest_idle', cs.filter((c) => c.profile.id !== 'prev'), ctx({ ...pref, now: T0 + 120_000 })))).toEqual(['x', 'y']);
    expect(preferredWindowEndsAt(ctx({ ...pref, now: T0 + 120_000 }))).toBeNull();
  });

  it('ctx.preferredAgentId overrides the requirements, null switches it off; no window without preferredForMs', () => {
    expect(ids(rankCandidates('longest_idle', cs, ctx({ ...pref, preferredAgentId: 'y', now: T0 + 1 })))).toEqual(['y']);
    expect(ids(rankCandidates('longest_idle', cs, ctx({ ...pref, preferredAgentId: null, now: T0 + 1 })))).toEqual(['x', 'y', 'prev']);
    expect(ids(rankCandidates('longest_idle', cs, ctx({ requirements: pref.requirements, now: T0 + 1 })))).toEqual(['prev', 'x', 'y']);
  });

  it('applies to every strategy, ring_all included', () => {
    for (const s of STRATEGIES) {
      const r = rankCandidates(s, cs, ctx({ ...pref, now: T0 + 1, random: seededRandom(3), ringAllWidth: 2 }));
      expect(ids(r)).toEqual(['prev']);
      const after = rankCandidates(s, cs, ctx({ ...pref, now: T0 + 200_000, random: seededRandom(3), ringAllWidth: 2 }));
      expect(after[0]!.profile.id).toBe('prev');
    }
  });
});

describe('every strategy', () => {
  it('is deterministic and independent of input order, and never invents or loses agents', () => {
    const cs = ['e', 'a', 'd', 'b', 'c'].map((id, i) => cand(id, { idleSince: T0 - (i % 2) * 10, rating: 4, price: 10 }));
    for (const s of STRATEGIES as readonly StrategyName[]) {
      const c = () => ctx({ random: seededRandom(9), linearOrder: ['c', 'a'], lastServedAgentId: 'a' });
      const one = ids(rankCandidates(s, cs, c()));
      expect(ids(rankCandidates(s, [...cs].reverse(), c()))).toEqual(one);
      expect([...one].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    }
  });

  it('has a one-line description and a name check for config', () => {
    expect(STRATEGIES).toHaveLength(8);
    for (const s of STRATEGIES) expect(STRATEGY_DESCRIPTIONS[s]).toMatch(/^[^\n]+$/);
    expect(isStrategyName('ring_all')).toBe(true);
    expect(isStrategyName('toString')).toBe(false);
  });

  it('rejects a candidate whose availability and profile are different agents', () => {
    const bad: Candidate = { ...cand('a'), availability: { ...cand('b').availability } };
    expect(() => rankCandidates('longest_idle', [bad], ctx())).toThrow(TypeError);
  });
});

describe('agents near the customer first', () => {
  const at = (c: Candidate, lat: number, lon: number): Candidate => ({ ...c, profile: { ...c.profile, location: { lat, lon } } });
  const espoo = { lat: 60.2, lon: 24.7 };
  // Longest idle first without a position: Berlin, Unknown, Tampere, Helsinki.
  const berlin = at(cand('berlin', { idleSince: T0 - 4000 }), 52.5, 13.4);
  const unknown = cand('unknown', { idleSince: T0 - 3000 });
  const tampere = at(cand('tampere', { idleSince: T0 - 2000 }), 61.5, 23.8);
  const helsinki = at(cand('helsinki', { idleSince: T0 - 1000 }), 60.2, 24.9);
  const all = [helsinki, tampere, unknown, berlin];

  it('orders by distance band, then by the strategy within a band; unknown positions last', () => {
    const near = { ...REQ, near: espoo };
    expect(ids(rankCandidates('longest_idle', all, ctx({ requirements: near, preferNearby: true })))).toEqual(['helsinki', 'tampere', 'berlin', 'unknown']);
  });

  it('changes nothing when the queue does not prefer nearby agents or the customer shared no position', () => {
    expect(ids(rankCandidates('longest_idle', all, ctx({ requirements: { ...REQ, near: espoo } })))).toEqual(['berlin', 'unknown', 'tampere', 'helsinki']);
    expect(ids(rankCandidates('longest_idle', all, ctx({ preferNearby: true })))).toEqual(['berlin', 'unknown', 'tampere', 'helsinki']);
  });

  it('keeps the preferred (previous) agent first', () => {
    const near = { ...REQ, near: espoo, preferredAgentId: 'berlin' };
    expect(ids(rankCandidates('longest_idle', all, ctx({ requirements: near, preferNearby: true }))).slice(0, 2)).toEqual(['berlin', 'helsinki']);
  });

  it('measures great-circle distance and keeps positions to a tenth of a degree', () => {
    // Helsinki–Berlin is about 1,105 km (great circle; the sphere model is within 0.5 %).
    expect(Math.abs(distanceKm({ lat: 60.17, lon: 24.94 }, { lat: 52.52, lon: 13.4 }) - 1105)).toBeLessThan(6);
    expect(coarsen({ lat: 60.16987, lon: 24.93838 })).toEqual({ lat: 60.2, lon: 24.9 });
  });
});
