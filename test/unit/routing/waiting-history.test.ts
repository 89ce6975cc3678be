// The waiting history a wallboard draws when it opens: peaks per bucket, the window, the level carried
// into the window.
import { WaitingHistory } from '../../../routing/waiting-history.js';

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 15_000);

test('one sample per bucket keeps the peak of the bucket', () => {
  const h = new WaitingHistory({ bucketMs: 15_000, windowMs: 60_000 });
  h.record('q', T0 + 1_000, 2);
  h.record('q', T0 + 5_000, 7);
  h.record('q', T0 + 14_000, 1);
  h.record('q', T0 + 15_000, 3);
  expect(h.samples('q', T0 + 20_000)).toEqual([
    { at: T0, waiting: 7 },
    { at: T0 + 15_000, waiting: 3 },
  ]);
  expect(h.samples('other', T0)).toEqual([]);
});

test('keeps the window: older samples go, and the level standing at the window start is given there', () => {
  const h = new WaitingHistory({ bucketMs: 15_000, windowMs: 60_000 });
  h.record('q', T0, 4);
  h.record('q', T0 + 30_000, 1);
  // At T0 + 100 s the window starts at T0 + 40 s: the 1 recorded at T0 + 30 s still stands then.
  expect(h.samples('q', T0 + 100_000)).toEqual([{ at: T0 + 40_000, waiting: 1 }]);
  h.record('q', T0 + 105_000, 6);
  expect(h.samples('q', T0 + 110_000)).toEqual([
    { at: T0 + 50_000, waiting: 1 },
    { at: T0 + 105_000, waiting: 6 },
  ]);
});

test('memory stays bounded by the window', () => {
  const h = new WaitingHistory({ bucketMs: 15_000, windowMs: 30 * 60_000 });
  for (let i = 0; i < 10_000; i++) h.record('q', T0 + i * 15_000, i % 5);
  expect(h.samples('q', T0 + 9_999 * 15_000).length).toBeLessThanOrEqual(121);
});

test('a sample from a clock step back is dropped; bad options are refused', () => {
  const h = new WaitingHistory({ bucketMs: 15_000, windowMs: 60_000 });
  h.record('q', T0 + 30_000, 2);
  h.record('q', T0, 9);
  expect(h.samples('q', T0 + 31_000)).toEqual([{ at: T0 + 30_000, waiting: 2 }]);
  expect(() => new WaitingHistory({ bucketMs: 0 })).toThrow(RangeError);
  expect(() => new WaitingHistory({ bucketMs: 60_000, windowMs: 1_000 })).toThrow(RangeError);
});
