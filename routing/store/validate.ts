// Argument checks shared by both QueueStore implementations, so a bad value fails the same way in memory
// and in Redis (a plain TypeError: misuse by the caller, not a domain error).
import { CHANNELS, type AgentAvailability, type Channel, type QueuedTask, type StoredPresence } from './queue-store.js';

/**
 * Priorities are bounded so the Redis waiting score, -priority * 1e13 + enqueuedAt, stays an exact
 * integer in a double: |score| ≤ 100 * 1e13 + 1e13 ≈ 1.01e15 < 2^53 ≈ 9.0e15.
 */
export const MAX_PRIORITY = 100;
/** Exclusive bound on enqueuedAt (epoch ms): 1e13 ms is the year 2286. */
export const MAX_ENQUEUED_AT = 1e13;

const PRESENCES: readonly StoredPresence[] = ['logged_off', 'not_ready', 'ready'];

/** Ids become parts of Redis keys and of "taskId\0agentId" members, so they may not contain NUL. */
export function checkId(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw new TypeError(`${what} must be a non-empty string without NUL characters`);
  }
  return value;
}

export function checkChannel(value: unknown): Channel {
  if (!CHANNELS.includes(value as Channel)) throw new TypeError(`channel must be one of ${CHANNELS.join(', ')}`);
  return value as Channel;
}

export function checkPresence(value: unknown): StoredPresence {
  if (!PRESENCES.includes(value as StoredPresence)) throw new TypeError(`presence must be one of ${PRESENCES.join(', ')}`);
  return value as StoredPresence;
}

export function checkReason(value: unknown): string | null {
  if (value !== null && typeof value !== 'string') throw new TypeError('reason must be a string or null');
  return value;
}

export function checkTime(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${what} must be a finite number`);
  return value;
}

export function checkLimit(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new TypeError('limit must be a non-negative integer');
  return value as number;
}

export function checkPriority(value: unknown): number {
  if (!Number.isInteger(value) || Math.abs(value as number) > MAX_PRIORITY) {
    throw new TypeError(`priority must be an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}`);
  }
  return value as number;
}

export function checkTask(task: QueuedTask): QueuedTask {
  const enqueuedAt = task.enqueuedAt;
  if (!Number.isSafeInteger(enqueuedAt) || enqueuedAt < 0 || enqueuedAt >= MAX_ENQUEUED_AT) {
    throw new TypeError(`enqueuedAt must be an integer epoch-ms time below ${MAX_ENQUEUED_AT}`);
  }
  return {
    taskId: checkId('taskId', task.taskId),
    queueId: checkId('queueId', task.queueId),
    channel: checkChannel(task.channel),
    priority: checkPriority(task.priority),
    enqueuedAt,
  };
}

export type AgentInput = Omit<AgentAvailability, 'load' | 'version'>;

/** Validates and normalises: capacity in CHANNELS order without undefined entries, queues unique. */
export function checkAgent(agent: AgentInput): AgentInput {
  const capacity: Partial<Record<Channel, number>> = {};
  for (const [channel, n] of Object.entries(agent.capacity ?? {})) {
    if (n === undefined) continue;
    checkChannel(channel);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`capacity.${channel} must be a non-negative integer`);
  }
  for (const channel of CHANNELS) {
    const n = agent.capacity?.[channel];
    if (n !== undefined) capacity[channel] = n;
  }
  if (!Array.isArray(agent.queues)) throw new TypeError('queues must be an array of queue ids');
  const queues = [...new Set(agent.queues.map((q) => checkId('queue id', q)))];
  return {
    agentId: checkId('agentId', agent.agentId),
    presence: checkPresence(agent.presence),
    reason: checkReason(agent.reason),
    capacity,
    idleSince: checkTime('idleSince', agent.idleSince),
    queues,
  };
}
