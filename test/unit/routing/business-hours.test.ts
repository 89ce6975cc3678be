import { isOpen, nextOpening, parseBusinessHours } from '../../../routing/business-hours.js';

const helsinki = parseBusinessHours({ timeZone: 'Europe/Helsinki', week: { mon: [['09:00', '17:00']], sat: [['10:00', '12:00']] }, closedDates: ['2026-12-07'] });

test('open inside an interval of the queue’s own time zone, closed outside it', () => {
  // Monday 2026-11-23: 09:30 in Helsinki is 07:30 UTC (winter time, UTC+2).
  expect(isOpen(helsinki, Date.UTC(2026, 10, 23, 7, 30))).toBe(true);
  expect(isOpen(helsinki, Date.UTC(2026, 10, 23, 6, 59))).toBe(false);
  // 17:00 is the end, exclusive.
  expect(isOpen(helsinki, Date.UTC(2026, 10, 23, 15, 0))).toBe(false);
  // Tuesday has no hours.
  expect(isOpen(helsinki, Date.UTC(2026, 10, 24, 8, 0))).toBe(false);
});

test('summer time moves the UTC opening by an hour', () => {
  // Monday 2026-06-01: 09:30 in Helsinki is 06:30 UTC (UTC+3).
  expect(isOpen(helsinki, Date.UTC(2026, 5, 1, 6, 30))).toBe(true);
  expect(isOpen(helsinki, Date.UTC(2026, 5, 1, 5, 59))).toBe(false);
});

test('a closed date closes the whole day', () => {
  expect(isOpen(helsinki, Date.UTC(2026, 11, 7, 8, 0))).toBe(false);
  expect(isOpen(helsinki, Date.UTC(2026, 10, 30, 8, 0))).toBe(true);
});

test('next opening: now when open, the next interval start otherwise, null when never', () => {
  const mondayMorning = Date.UTC(2026, 10, 23, 7, 30);
  expect(nextOpening(helsinki, mondayMorning)).toBe(mondayMorning);
  // Tuesday 10:00 local → Saturday 10:00 local = 08:00 UTC.
  expect(nextOpening(helsinki, Date.UTC(2026, 10, 24, 8, 0))).toBe(Date.UTC(2026, 10, 28, 8, 0));
  expect(nextOpening(parseBusinessHours({ timeZone: 'UTC', week: {} }), Date.UTC(2026, 10, 24))).toBeNull();
  expect(isOpen(null, 0)).toBe(true);
});

test('bad timetables are refused with the reason', () => {
  expect(() => parseBusinessHours({ timeZone: 'Nowhere/City', week: {} })).toThrow(/time zone/);
  expect(() => parseBusinessHours({ timeZone: 'UTC', week: { funday: [] } })).toThrow(/weekday/);
  expect(() => parseBusinessHours({ timeZone: 'UTC', week: { mon: [['9:00', '17:00']] } })).toThrow(/HH:MM/);
  expect(() => parseBusinessHours({ timeZone: 'UTC', week: { mon: [['12:00', '11:00']] } })).toThrow(/before it starts/);
});
