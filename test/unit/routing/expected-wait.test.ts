// The "about N minutes" a waiting customer sees: from recent handle times, unknown until there is history.
import { describe, expect, it } from '@jest/globals';
import { ExpectedWait, RingBuffer, expectedWaitMs } from '../../../routing/expected-wait.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

describe('RingBuffer', () => {
  it('keeps only the newest items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    for (const n of [1, 2, 3, 4, 5]) r.push(n);
    expect(r.values()).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
    r.clear();
    expect(r.values()).toEqual([]);
    expect(() => new RingBuffer(0)).toThrow(TypeError);
  });
});

describe('expectedWaitMs (the formula)', () => {
  it('is position ÷ serving agents × average handle time', () => {
    expect(expectedWaitMs(1, 1, 4 * MIN)).toEqual({ ms: 4 * MIN, capped: false });
    expect(expectedWaitMs(6, 3, 4 * MIN)).toEqual({ ms: 8 * MIN, capped: false });
    expect(expectedWaitMs(1, 4, 4 * MIN)).toEqual({ ms: 1 * MIN, capped: false });
  });

  it('is capped, and unknown when nobody serves the queue', () => {
    expect(expectedWaitMs(100, 1, 10 * MIN, 60 * MIN)).toEqual({ ms: 60 * MIN, capped: true });
    expect(expectedWaitMs(1, 0, 4 * MIN)).toBeNull();
    expect(() => expectedWaitMs(0, 1, MIN)).toThrow(TypeError);
  });
});

describe('ExpectedWait', () => {
  it('says unknown (null) until the queue has enough history, rather than invent a number', () => {
    const ewt = new ExpectedWait({ minSamples: 3 });
    expect(ewt.estimate('billing', 1, 2, T0)).toBeNull();
    ewt.recordHandled('billing', 4 * MIN, T0);
    ewt.recordHandled('billing', 6 * MIN, T0);
    expect(ewt.estimate('billing', 1, 2, T0)).toBeNull();
    ewt.recordHandled('billing', 5 * MIN, T0);
    expect(ewt.estimate('billing', 4, 2, T0)).toEqual({ ms: 10 * MIN, capped: false, position: 4, servingAgents: 2, averageHandleMs: 5 * MIN, samples: 3 });
  });

  it('grows with the position and shrinks with more agents', () => {
    const ewt = new ExpectedWait({ minSamples: 1 });
    ewt.recordHandled('q', 3 * MIN, T0);
    const at = (p: number, n: number) => ewt.estimate('q', p, n, T0)!.ms;
    expect(at(2, 1)).toBeGreaterThan(at(1, 1));
    expect(at(2, 2)).toBeLessThan(at(2, 1));
  });

  it('follows recent handle times: old ones fall out of the bounded history', () => {
    const ewt = new ExpectedWait({ historySize: 5, minSamples: 1 });
    for (let i = 0; i < 5; i++) ewt.recordHandled('q', 20 * MIN, T0 + i);
    expect(ewt.averageHandleMs('q', T0)).toBe(20 * MIN);
    for (let i = 0; i < 5; i++) ewt.recordHandled('q', 2 * MIN, T0 + 10 + i);
    expect(ewt.averageHandleMs('q', T0)).toBe(2 * MIN);
    expect(ewt.estimate('q', 1, 1, T0)!.ms).toBe(2 * MIN);
  });

  it('keeps queues apart and can ignore stale samples', () => {
    const ewt = new ExpectedWait({ minSamples: 1, maxSampleAgeMs: 60 * MIN });
    ewt.recordHandled('a', 10 * MIN, T0);
    ewt.recordHandled('b', 2 * MIN, T0 + 90 * MIN);
    expect(ewt.averageHandleMs('a', T0 + 30 * MIN)).toBe(10 * MIN);
    expect(ewt.averageHandleMs('a', T0 + 61 * MIN)).toBeNull();
    expect(ewt.averageHandleMs('b', T0 + 91 * MIN)).toBe(2 * MIN);
    ewt.forget('b');
    expect(ewt.averageHandleMs('b', T0 + 91 * MIN)).toBeNull();
  });

  it('reports a capped estimate as capped ("more than an hour")', () => {
    const ewt = new ExpectedWait({ minSamples: 1, maxEstimateMs: 60 * MIN });
    ewt.recordHandled('q', 30 * MIN, T0);
    expect(ewt.estimate('q', 10, 1, T0)).toMatchObject({ ms: 60 * MIN, capped: true });
    expect(ewt.estimate('q', 10, 0, T0)).toBeNull();
  });

  it('keeps recent answer times as a cross-check, and ignores nonsense samples', () => {
    const ewt = new ExpectedWait({ minSamples: 2 });
    ewt.recordAnswered('q', 30_000, T0);
    ewt.recordAnswered('q', 90_000, T0);
    ewt.recordAnswered('q', -5, T0);
    ewt.recordHandled('q', Number.NaN, T0);
    expect(ewt.averageAnswerMs('q', T0)).toBe(60_000);
    expect(ewt.averageHandleMs('q', T0)).toBeNull();
  });
});
