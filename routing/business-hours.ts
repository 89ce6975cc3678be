// Opening hours of a queue in its own time zone: a weekly timetable plus closed dates (holidays).
// Pure: the caller passes `now`. Uses Intl for the zone, so daylight saving time is handled.

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface BusinessHours {
  /** IANA zone, e.g. 'Europe/Helsinki'. */
  timeZone: string;
  /** Open intervals per weekday as "HH:MM" pairs, end exclusive; a missing day is closed. "24:00" ends at midnight. */
  week: Partial<Record<Weekday, Array<[string, string]>>>;
  /** Whole days closed, as YYYY-MM-DD in the queue's zone. */
  closedDates?: string[];
}

const HHMM = /^([01]\d|2[0-4]):([0-5]\d)$/;

function minutes(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new TypeError(`bad time "${hhmm}": expected HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Throws TypeError naming the first problem; returns the value typed. */
export function parseBusinessHours(input: unknown): BusinessHours {
  const v = input as BusinessHours;
  if (!v || typeof v !== 'object' || typeof v.timeZone !== 'string') throw new TypeError('businessHours needs a timeZone');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v.timeZone });
  } catch {
    throw new TypeError(`unknown time zone "${v.timeZone}"`);
  }
  if (!v.week || typeof v.week !== 'object') throw new TypeError('businessHours needs a week');
  for (const [day, spans] of Object.entries(v.week)) {
    if (!WEEKDAYS.includes(day as Weekday)) throw new TypeError(`unknown weekday "${day}"`);
    for (const span of spans ?? []) {
      if (!Array.isArray(span) || span.length !== 2) throw new TypeError(`${day}: each interval is ["HH:MM", "HH:MM"]`);
      if (minutes(span[0]) >= minutes(span[1])) throw new TypeError(`${day}: ${span[0]}–${span[1]} ends before it starts`);
    }
  }
  for (const d of v.closedDates ?? []) if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new TypeError(`bad closed date "${d}"`);
  return v;
}

/** Building a formatter costs far more than using one: one per zone, kept. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(now: number, timeZone: string): { date: string; day: Weekday; minute: number } {
  const parts = formatterFor(timeZone).formatToParts(new Date(now));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    day: get('weekday').slice(0, 3).toLowerCase() as Weekday,
    minute: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

export function isOpen(hours: BusinessHours | null | undefined, now: number): boolean {
  if (!hours) return true;
  const { date, day, minute } = localParts(now, hours.timeZone);
  if (hours.closedDates?.includes(date)) return false;
  return (hours.week[day] ?? []).some(([from, to]) => minute >= minutes(from) && minute < minutes(to));
}

/** The next moment the queue opens (epoch ms, to the minute), searching a fortnight ahead; null if never. */
export function nextOpening(hours: BusinessHours | null | undefined, now: number): number | null {
  if (!hours || isOpen(hours, now)) return now;
  const start = Math.ceil(now / 60_000) * 60_000;
  for (let t = start; t < now + 14 * 86_400_000; t += 60_000) if (isOpen(hours, t)) return t;
  return null;
}
