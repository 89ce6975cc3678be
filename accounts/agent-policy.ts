// What an agent's own settings mean for routing: when they may be ready (verified, within their weekly
// hours, not in do-not-disturb) and which channels they take. Pure functions over the account row, so
// chat/ and the sweep below ask the same question the same way.
import type { AccountRow, AgentChannel, AgentPolicies } from '../db/entities.js';

export const AGENT_CHANNELS: readonly AgentChannel[] = ['chat', 'call', 'video', 'phone'];

export const DEFAULT_POLICIES: AgentPolicies = { availability: [], channels: [...AGENT_CHANNELS], dndUntil: null };

/** Reasons an agent is kept not ready, as shown to the agent. */
export const NOT_READY_REASONS = {
  pending: 'awaiting verification',
  rejected: 'verification rejected',
  suspended: 'suspended',
  hours: 'outside my hours',
  dnd: 'do not disturb',
} as const;

export function isValidTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Day of the week (0 = Monday) and minute of the day at `now` in `timeZone`. */
export function localWeekTime(timeZone: string, now: number): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: WEEKDAYS.indexOf(get('weekday')), minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** 'HH:MM' → minutes; '24:00' is the end of the day. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Ranges are checked where they come in (`from` before `to`, within one day). */
export function checkAvailability(ranges: AgentPolicies['availability']): string | null {
  for (const r of ranges) {
    if (minutesOf(r.from) >= minutesOf(r.to)) return `availability: ${r.from}–${r.to} must start before it ends (split a night into two days)`;
  }
  return null;
}

/** Within the weekly hours; no hours at all means any time. */
export function withinAvailability(policies: AgentPolicies | null | undefined, timeZone: string | null | undefined, now: number): boolean {
  const ranges = policies?.availability ?? [];
  if (ranges.length === 0) return true;
  const { day, minute } = localWeekTime(timeZone && isValidTimeZone(timeZone) ? timeZone : 'UTC', now);
  return ranges.some((r) => r.day === day && minute >= minutesOf(r.from) && minute < minutesOf(r.to));
}

/** Why this agent may not be ready now, or null when they may. Verification comes first. */
export function notReadyReason(account: AccountRow, now: number): string | null {
  const v = account.verification ?? 'verified';
  if (v !== 'verified') return NOT_READY_REASONS[v];
  const p = account.policies;
  if (p?.dndUntil && p.dndUntil > now) return NOT_READY_REASONS.dnd;
  if (!withinAvailability(p, account.timeZone, now)) return NOT_READY_REASONS.hours;
  return null;
}

/**
 * Routing capacity overrides for channels the agent does not take (0), or undefined when they take
 * them all. `chat` covers social posts too; `phone` is callbacks (calls placed to customers' phones).
 */
export function channelCapacity(account: AccountRow): Partial<Record<'chat' | 'social' | 'call' | 'video' | 'callback', number>> | undefined {
  const channels = account.policies?.channels;
  if (!channels) return undefined;
  const out: Partial<Record<'chat' | 'social' | 'call' | 'video' | 'callback', number>> = {};
  if (!channels.includes('chat')) Object.assign(out, { chat: 0, social: 0 });
  if (!channels.includes('call')) out.call = 0;
  if (!channels.includes('video')) out.video = 0;
  if (!channels.includes('phone')) out.callback = 0;
  return Object.keys(out).length ? out : undefined;
}
