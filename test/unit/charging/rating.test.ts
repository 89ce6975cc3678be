import fc from 'fast-check';
import { PriceNotAcceptedError } from '../../../charging/errors.js';
import { MAX_GRANT_SECONDS, rate, secondsAffordable, shareFor, split, tariffFor, type RatePlan, type Tariff } from '../../../charging/rating.js';

const tariff = (t: Partial<Tariff> = {}): Tariff => ({
  planId: 'p1', currency: 'EUR', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60, taxBps: 0, ...t,
});

const plan = (p: Partial<RatePlan> = {}): RatePlan => ({
  id: 'p1', queueId: 'q', channel: 'chat', currency: 'EUR', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60,
  nextIncrementSeconds: 60, agentPriceMinMinor: 50, agentPriceMaxMinor: 500, revenueShareBps: 7000, taxBps: 0, active: true, createdAt: 0, updatedAt: 0, ...p,
});

describe('rate', () => {
  test('60/60: every started minute is billed', () => {
    const t = tariff();
    expect(rate(0, t)).toEqual({ billedSeconds: 0, amountMinor: 0 });
    expect(rate(1, t)).toEqual({ billedSeconds: 60, amountMinor: 120 });
    expect(rate(60, t)).toEqual({ billedSeconds: 60, amountMinor: 120 });
    expect(rate(61, t)).toEqual({ billedSeconds: 120, amountMinor: 240 });
    expect(rate(125, t)).toEqual({ billedSeconds: 180, amountMinor: 360 });
  });

  test('30/6: the first 30 s, then 6 s steps', () => {
    const t = tariff({ perMinuteMinor: 100, firstIncrementSeconds: 30, nextIncrementSeconds: 6 });
    expect(rate(1, t)).toEqual({ billedSeconds: 30, amountMinor: 50 });
    expect(rate(30, t)).toEqual({ billedSeconds: 30, amountMinor: 50 });
    expect(rate(31, t)).toEqual({ billedSeconds: 36, amountMinor: 60 });
    expect(rate(37, t)).toEqual({ billedSeconds: 42, amountMinor: 70 });
  });

  test('1/1: per second, rounded half up to the minor unit', () => {
    const t = tariff({ perMinuteMinor: 99, firstIncrementSeconds: 1, nextIncrementSeconds: 1 });
    expect(rate(1, t)).toEqual({ billedSeconds: 1, amountMinor: 2 }); // 1.65
    expect(rate(10, t)).toEqual({ billedSeconds: 10, amountMinor: 17 }); // 16.5
    expect(rate(59, t)).toEqual({ billedSeconds: 59, amountMinor: 97 }); // 97.35
  });

  test('free seconds come first; the session fee only once something is billed', () => {
    const t = tariff({ freeSeconds: 30, sessionFeeMinor: 50 });
    expect(rate(0, t)).toEqual({ billedSeconds: 0, amountMinor: 0 });
    expect(rate(30, t)).toEqual({ billedSeconds: 0, amountMinor: 0 });
    expect(rate(31, t)).toEqual({ billedSeconds: 60, amountMinor: 170 });
    expect(rate(91, t)).toEqual({ billedSeconds: 120, amountMinor: 290 });
  });

  test('nothing bridged, nothing charged: not even the session fee', () => {
    expect(rate(0, tariff({ sessionFeeMinor: 500 }))).toEqual({ billedSeconds: 0, amountMinor: 0 });
  });

  test('JPY (no minor digits) and BHD (three)', () => {
    expect(rate(45, tariff({ currency: 'JPY', perMinuteMinor: 100, firstIncrementSeconds: 30, nextIncrementSeconds: 6 }))).toEqual({ billedSeconds: 48, amountMinor: 80 });
    expect(rate(3, tariff({ currency: 'JPY', perMinuteMinor: 50, firstIncrementSeconds: 1, nextIncrementSeconds: 1 }))).toEqual({ billedSeconds: 3, amountMinor: 3 }); // 2.5 → 3
    expect(rate(7, tariff({ currency: 'BHD', perMinuteMinor: 1250, firstIncrementSeconds: 1, nextIncrementSeconds: 1 }))).toEqual({ billedSeconds: 7, amountMinor: 146 }); // 145.83
  });

  test('refuses bad input', () => {
    expect(() => rate(-1, tariff())).toThrow(TypeError);
    expect(() => rate(1.5, tariff())).toThrow(TypeError);
    expect(() => rate(1, tariff({ perMinuteMinor: 1.2 }))).toThrow(TypeError);
    expect(() => rate(1, tariff({ nextIncrementSeconds: 0 }))).toThrow(TypeError);
    expect(() => rate(1, tariff({ currency: 'ABC' }))).toThrow(TypeError);
  });
});

describe('tariffFor and shareFor', () => {
  test("the agent's price within the bounds, else the plan's", () => {
    expect(tariffFor(plan(), null).perMinuteMinor).toBe(120);
    expect(tariffFor(plan(), 300).perMinuteMinor).toBe(300);
    expect(() => tariffFor(plan(), 49)).toThrow(PriceNotAcceptedError);
    expect(() => tariffFor(plan(), 501)).toThrow(PriceNotAcceptedError);
    expect(tariffFor(plan({ agentPriceMinMinor: null, agentPriceMaxMinor: null }), 10_000).perMinuteMinor).toBe(10_000);
  });

  test("the agent's share overrides the plan's", () => {
    expect(shareFor(plan(), null)).toBe(7000);
    expect(shareFor(plan(), 8000)).toBe(8000);
    expect(() => shareFor(plan(), 10_001)).toThrow(TypeError);
  });
});

describe('secondsAffordable', () => {
  test('examples', () => {
    const t = tariff();
    expect(secondsAffordable(240, t)).toBe(120);
    expect(secondsAffordable(239, t)).toBe(60);
    expect(secondsAffordable(119, t)).toBe(0);
    expect(secondsAffordable(-5, t)).toBe(0);
    const withFee = tariff({ freeSeconds: 30, sessionFeeMinor: 50 });
    expect(secondsAffordable(170, withFee)).toBe(90);
    expect(secondsAffordable(169, withFee)).toBe(30);
    expect(secondsAffordable(0, tariff({ perMinuteMinor: 0 }))).toBe(MAX_GRANT_SECONDS);
    expect(secondsAffordable(Number.MAX_SAFE_INTEGER, tariff({ perMinuteMinor: 1 }))).toBe(MAX_GRANT_SECONDS);
  });

  test('the sum pays for the seconds granted and not for the next increment', () => {
    const arbTariff = fc.record({
      planId: fc.constant(null),
      currency: fc.constantFrom('EUR', 'JPY', 'BHD'),
      perMinuteMinor: fc.integer({ min: 1, max: 100_000 }),
      sessionFeeMinor: fc.integer({ min: 0, max: 1_000 }),
      freeSeconds: fc.integer({ min: 0, max: 120 }),
      firstIncrementSeconds: fc.integer({ min: 1, max: 120 }),
      nextIncrementSeconds: fc.integer({ min: 1, max: 120 }),
      taxBps: fc.integer({ min: 0, max: 3000 }),
    });
    fc.assert(
      fc.property(arbTariff, fc.integer({ min: 0, max: 10_000_000 }), (t, available) => {
        const s = secondsAffordable(available, t);
        expect(rate(s, t).amountMinor).toBeLessThanOrEqual(available);
        const next = s === t.freeSeconds ? t.freeSeconds + t.firstIncrementSeconds : s + t.nextIncrementSeconds;
        expect(rate(next, t).amountMinor).toBeGreaterThan(available);
      }),
      { numRuns: 500 },
    );
  });
});

describe('split', () => {
  test('examples: tax out of the tax-inclusive amount, agent share rounded down, the rest to the platform', () => {
    expect(split(1000, 7000, 0)).toEqual({ agentMinor: 700, platformMinor: 300, taxMinor: 0 });
    expect(split(1200, 7000, 2000)).toEqual({ agentMinor: 700, platformMinor: 300, taxMinor: 200 });
    expect(split(999, 7000, 2500)).toEqual({ agentMinor: 559, platformMinor: 240, taxMinor: 200 });
    expect(split(1, 7000, 0)).toEqual({ agentMinor: 0, platformMinor: 1, taxMinor: 0 });
    expect(split(0, 7000, 2000)).toEqual({ agentMinor: 0, platformMinor: 0, taxMinor: 0 });
  });

  test('always adds up to the amount, with no negative part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (amount, share, tax) => {
        const s = split(amount, share, tax);
        expect(BigInt(s.agentMinor) + BigInt(s.platformMinor) + BigInt(s.taxMinor)).toBe(BigInt(amount));
        expect(Math.min(s.agentMinor, s.platformMinor, s.taxMinor)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });
});
