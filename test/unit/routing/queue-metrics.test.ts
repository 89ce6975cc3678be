// The figures a supervisor watches on a queue: live waiting and longest wait, and per interval the
// service level (exact definition in docs/routing.md), ASA, AHT, abandon rate, occupancy and answer rate.
import { describe, expect, it } from '@jest/globals';
import { QueueMetrics } from '../../../routing/queue-metrics.js';

const SEC = 1000;
const MIN = 60 * SEC;
const BUCKET = 15 * MIN;
/** A bucket boundary, so test intervals line up with buckets. */
const T0 = Math.ceil(1_700_000_000_000 / BUCKET) * BUCKET;

describe('live', () => {
  it('shows how many wait, the longest wait, and how many are already past the threshold', () => {
    const m = new QueueMetrics('billing', { serviceLevelThresholdMs: 20 * SEC });
    expect(m.live(T0)).toEqual({ now: T0, waiting: 0, longestWaitMs: 0, oldestEnqueuedAt: null, waitingOverThreshold: 0 });
    m.enqueued('t1', T0);
    m.enqueued('t2', T0 + 15 * SEC);
    m.enqueued('t3', T0 + 40 * SEC);
    expect(m.live(T0 + 45 * SEC)).toEqual({ now: T0 + 45 * SEC, waiting: 3, longestWaitMs: 45 * SEC, oldestEnqueuedAt: T0, waitingOverThreshold: 2 });
    m.answered('t1', T0 + 50 * SEC);
    expect(m.live(T0 + 50 * SEC)).toMatchObject({ waiting: 2, longestWaitMs: 35 * SEC, oldestEnqueuedAt: T0 + 15 * SEC });
  });

  it('ignores a duplicate enqueue and events for tasks it never saw wait', () => {
    const m = new QueueMetrics('q');
    expect(m.enqueued('t1', T0)).toBe(true);
    expect(m.enqueued('t1', T0 + 5 * SEC)).toBe(false);
    expect(m.live(T0 + 10 * SEC).longestWaitMs).toBe(10 * SEC);
    expect(m.answered('ghost', T0)).toBe(false);
    expect(m.answered('t1', T0 + 10 * SEC)).toBe(true);
    expect(m.abandoned('t1', T0 + 11 * SEC)).toBe(false); // already gone: not counted twice
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ entered: 1, left: 1, answered: 1, abandoned: 0 });
  });
});

describe('service level', () => {
  // 10 contacts in one interval, 20 s threshold:
  //   answered at 5, 20 (exactly the threshold: within), 21, 90 s
  //   abandoned at 3, 60 s; callback requested at 10, 45 s
  //   two still waiting at the end of the interval.
  function scenario(shortAbandonMs = 0): QueueMetrics {
    const m = new QueueMetrics('q', { serviceLevelThresholdMs: 20 * SEC, shortAbandonMs });
    const leave: Array<[string, number, 'answered' | 'abandoned' | 'callbackRequested']> = [
      ['a1', 5, 'answered'],
      ['a2', 20, 'answered'],
      ['a3', 21, 'answered'],
      ['a4', 90, 'answered'],
      ['x1', 3, 'abandoned'],
      ['x2', 60, 'abandoned'],
      ['c1', 10, 'callbackRequested'],
      ['c2', 45, 'callbackRequested'],
    ];
    leave.forEach(([id], i) => m.enqueued(id, T0 + i * MIN));
    leave.forEach(([id, waitS, kind], i) => m[kind](id, T0 + i * MIN + waitS * SEC));
    m.enqueued('w1', T0 + 10 * MIN);
    m.enqueued('w2', T0 + 11 * MIN);
    return m;
  }

  it('is contacts that left within the threshold (answered, abandoned or callback) over all that left', () => {
    const s = scenario().interval(T0, T0 + BUCKET);
    expect(s).toMatchObject({ entered: 10, left: 8, answered: 4, abandoned: 2, callbacks: 2, leftWithinThreshold: 4, answeredWithinThreshold: 2 });
    // within: a1, a2 (exactly 20 s), x1, c1 = 4 of 8; the two still waiting do not count yet
    expect(s.serviceLevel).toBeCloseTo(0.5, 10);
    expect(s.serviceLevelExcludingShortAbandons).toBeNull();
  });

  it('optionally reports the variant without short abandons (x1 left after 3 s)', () => {
    const s = scenario(5 * SEC).interval(T0, T0 + BUCKET);
    expect(s.shortAbandons).toBe(1);
    expect(s.serviceLevel).toBeCloseTo(4 / 8, 10);
    expect(s.serviceLevelExcludingShortAbandons).toBeCloseTo(3 / 7, 10);
  });

  it('with ASA, abandon rate and the longest wait among those who left', () => {
    const s = scenario().interval(T0, T0 + BUCKET);
    expect(s.asaMs).toBe(((5 + 20 + 21 + 90) / 4) * SEC);
    expect(s.abandonRate).toBeCloseTo(2 / 8, 10);
    expect(s.longestWaitMs).toBe(90 * SEC);
  });

  it('counts a contact in the interval it left in, not the one it joined in', () => {
    const m = new QueueMetrics('q', { serviceLevelThresholdMs: 20 * SEC });
    m.enqueued('t', T0 + BUCKET - 10 * SEC);
    m.answered('t', T0 + BUCKET + 30 * SEC);
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ entered: 1, left: 0, serviceLevel: null });
    expect(m.interval(T0 + BUCKET, T0 + 2 * BUCKET)).toMatchObject({ entered: 0, left: 1, serviceLevel: 0, asaMs: 40 * SEC });
  });

  it('treats each queue visit as a contact (a task back in the queue is measured again)', () => {
    const m = new QueueMetrics('q', { serviceLevelThresholdMs: 20 * SEC });
    m.enqueued('t', T0);
    m.answered('t', T0 + 5 * SEC);
    m.enqueued('t', T0 + 5 * MIN); // the agent dropped; the task came back
    m.answered('t', T0 + 6 * MIN);
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ entered: 2, left: 2, leftWithinThreshold: 1, serviceLevel: 0.5 });
  });

  it('a restored waiting contact is not counted as a new arrival but is measured when it leaves', () => {
    const m = new QueueMetrics('q', { serviceLevelThresholdMs: 20 * SEC });
    m.restoreWaiting('t', T0);
    m.abandoned('t', T0 + 30 * SEC);
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ entered: 0, left: 1, abandoned: 1, serviceLevel: 0 });
  });

  it('a removed contact (moved elsewhere) counts nowhere', () => {
    const m = new QueueMetrics('q');
    m.enqueued('t', T0);
    expect(m.removed('t')).toBe(true);
    expect(m.answered('t', T0 + SEC)).toBe(false);
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ entered: 1, left: 0, serviceLevel: null });
  });

  it('uses the configured threshold', () => {
    const m = new QueueMetrics('q', { serviceLevelThresholdMs: 60 * SEC });
    m.enqueued('t', T0);
    m.answered('t', T0 + 45 * SEC);
    expect(m.interval(T0, T0 + BUCKET).serviceLevel).toBe(1);
    expect(() => new QueueMetrics('q', { serviceLevelThresholdMs: 20 * SEC, shortAbandonMs: 30 * SEC })).toThrow(TypeError);
  });
});

describe('handle time, occupancy, answer rate', () => {
  it('AHT is the mean handle time of tasks ended in the interval', () => {
    const m = new QueueMetrics('q');
    m.handled('t1', 4 * MIN, T0 + MIN);
    m.handled('t2', 6 * MIN, T0 + 2 * MIN);
    m.handled('t3', 100 * MIN, T0 + BUCKET + MIN);
    expect(m.interval(T0, T0 + BUCKET)).toMatchObject({ handled: 2, ahtMs: 5 * MIN });
    expect(m.interval(T0, T0 + 2 * BUCKET)).toMatchObject({ handled: 3, ahtMs: (110 / 3) * MIN });
  });

  it('occupancy is busy ÷ (busy + available), split exactly across intervals, per agent and overall', () => {
    const m = new QueueMetrics('q');
    m.agentTime('ann', 'busy', T0, T0 + 12 * MIN);
    m.agentTime('ann', 'available', T0 + 12 * MIN, T0 + 15 * MIN);
    m.agentTime('bob', 'available', T0 + 5 * MIN, T0 + 10 * MIN);
    m.agentTime('bob', 'busy', T0 + 10 * MIN, T0 + 25 * MIN); // 5 min here, 10 min in the next bucket
    const first = m.interval(T0, T0 + BUCKET);
    expect(first.agents.ann!.occupancy).toBeCloseTo(12 / 15, 10);
    expect(first.agents.bob!.occupancy).toBeCloseTo(5 / 10, 10);
    expect(first.occupancy).toBeCloseTo(17 / 25, 10);
    const second = m.interval(T0 + BUCKET, T0 + 2 * BUCKET);
    expect(second).toMatchObject({ busyMs: 10 * MIN, availableMs: 0, occupancy: 1 });
  });

  it('answer rate is accepted ÷ (accepted + missed); withdrawn ring-all offers do not count against an agent', () => {
    const m = new QueueMetrics('q');
    for (const id of ['ann', 'bob', 'cyd']) m.offered(id, T0); // ring-all
    m.offerAnswered('ann', T0 + SEC);
    m.offerWithdrawn('bob', T0 + SEC);
    m.offerWithdrawn('cyd', T0 + SEC);
    m.offered('bob', T0 + MIN);
    m.offerMissed('bob', T0 + MIN + 20 * SEC);
    m.offered('cyd', T0 + 2 * MIN);
    m.offerAnswered('cyd', T0 + 2 * MIN + SEC);
    const s = m.interval(T0, T0 + BUCKET);
    expect(s).toMatchObject({ offered: 5, offersAnswered: 2, offersMissed: 1, offersWithdrawn: 2 });
    expect(s.answerRate).toBeCloseTo(2 / 3, 10);
    expect(s.agents.ann!.answerRate).toBe(1);
    expect(s.agents.bob!.answerRate).toBe(0);
    expect(s.agents.cyd!.answerRate).toBe(1);
    expect(Object.keys(s.agents)).toEqual(['ann', 'bob', 'cyd']);
  });

  it('reports null, not 0, for figures with nothing to measure', () => {
    const s = new QueueMetrics('q').interval(T0, T0 + BUCKET);
    expect(s).toMatchObject({ serviceLevel: null, asaMs: null, ahtMs: null, abandonRate: null, occupancy: null, answerRate: null, longestWaitMs: null });
  });
});

describe('intervals and memory', () => {
  it('widens an interval to whole buckets and lists buckets for charts, empty ones included', () => {
    const m = new QueueMetrics('q');
    m.enqueued('t', T0 + 20 * MIN);
    const s = m.interval(T0 + 16 * MIN, T0 + 17 * MIN);
    expect(s).toMatchObject({ from: T0 + BUCKET, to: T0 + 2 * BUCKET, entered: 1 });
    const list = m.buckets(T0, T0 + 3 * BUCKET);
    expect(list.map((b) => [b.from - T0, b.entered])).toEqual([
      [0, 0],
      [BUCKET, 1],
      [2 * BUCKET, 0],
    ]);
    expect(() => m.interval(T0, T0)).toThrow(TypeError);
  });

  it('keeps 24 h of 15-minute buckets and drops older ones', () => {
    const m = new QueueMetrics('q');
    for (let i = 0; i < 200; i++) m.handled(`t${i}`, MIN, T0 + i * BUCKET);
    expect(m.bucketCount).toBe(96);
    const newest = T0 + 199 * BUCKET;
    expect(m.interval(newest - 95 * BUCKET, newest + 1)).toMatchObject({ handled: 96, complete: true });
    expect(m.interval(T0, newest + 1)).toMatchObject({ handled: 96, complete: false });
    expect(m.handled('late', MIN, T0)).toBe(false); // too old to count
    m.prune(newest + 24 * 60 * MIN);
    expect(m.bucketCount).toBe(0);
  });

  it('a very long agent-time span costs at most the retention window', () => {
    const m = new QueueMetrics('q');
    m.agentTime('ann', 'available', 0, T0);
    expect(m.bucketCount).toBe(96);
    expect(m.interval(T0 - BUCKET, T0).availableMs).toBe(BUCKET);
  });
});
