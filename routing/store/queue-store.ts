// The queue store: the shared, fast state routing decisions are made on — waiting tasks in service
// order, agent availability and load per channel, and offers (reservations). One interface, two
// implementations: in-process (embedded default) and Redis (several nodes; every check-and-set is one
// Lua script, so two nodes can never reserve the same agent slot or the same task).
//
// Durable facts stay in the database; everything here can be rebuilt from it after a restart.
// Every method is async, even in memory, so callers are written once for both.

export type Channel = 'chat' | 'call' | 'video' | 'social' | 'callback';

export interface ReserveOptions {
  /** Ring-all: other shared offers of the same task may stand beside this one. */
  shared?: boolean;
  /** The queue lets agents take chats while on a call; by default a call excludes chats. */
  chatsDuringCalls?: boolean;
}

const CALL_CHANNELS: readonly Channel[] = ['call', 'video', 'callback'];

/** A call excludes chats (and social posts) unless the queue allows them during calls. */
export function excludedByCall(load: Partial<Record<Channel, number>>, channel: Channel, chatsDuringCalls: boolean): boolean {
  if (chatsDuringCalls || (channel !== 'chat' && channel !== 'social')) return false;
  return CALL_CHANNELS.some((c) => (load[c] ?? 0) > 0);
}
export const CHANNELS: readonly Channel[] = ['chat', 'call', 'video', 'social', 'callback'];

/** CSTA-style agent states the store keeps; 'busy' and 'wrapup' are derived from load by callers. */
export type StoredPresence = 'logged_off' | 'not_ready' | 'ready';

export interface AgentAvailability {
  agentId: string;
  presence: StoredPresence;
  reason: string | null;
  /** Most tasks at once per channel (0 = never offered that channel). */
  capacity: Partial<Record<Channel, number>>;
  /** Tasks held per channel, counting reserved offers and tasks in wrap-up. */
  load: Partial<Record<Channel, number>>;
  /** When the agent last had no task at all (epoch ms); longest-idle routing orders by this. */
  idleSince: number;
  /** Queues the agent is eligible for (computed by the caller from skills, languages, attributes). */
  queues: string[];
  /** The store's version of this record; bumps on every change (for change detection). */
  version: number;
}

export interface QueuedTask {
  taskId: string;
  queueId: string;
  channel: Channel;
  /** Higher first. */
  priority: number;
  /** Original arrival time (epoch ms); kept when a task returns to the queue, so it keeps its place. */
  enqueuedAt: number;
}

/** A waiting task as a queue lists it: with whether an offer of it stands (passes skip those). */
export interface WaitingTask extends QueuedTask {
  reserved: boolean;
}

/**
 * What enqueueAndReserve did: reserved the first free agent; found nobody free (the task waits); or
 * changed nothing further because the task already waited or no listed agent passed the reserve
 * checks (the caller then matches it the usual way).
 */
export type EnqueueAndReserveResult =
  | { outcome: 'reserved'; reservation: Reservation; agentReason: string | null }
  | { outcome: 'nobody_free' }
  | { outcome: 'not_reserved' };

export type ConditionalRelease = { released: true; agent: AgentAvailability | null } | { released: false };

export interface Reservation {
  taskId: string;
  agentId: string;
  channel: Channel;
  expiresAt: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; reason: 'task_not_waiting' | 'task_reserved' | 'agent_unavailable' | 'agent_full' };

export interface QueueStore {
  readonly kind: 'memory' | 'redis';

  // ---- agents ------------------------------------------------------------------------------
  /** Creates or replaces an agent's availability (presence, capacity, queues); keeps its load. */
  putAgent(agent: Omit<AgentAvailability, 'load' | 'version'>): Promise<AgentAvailability>;
  getAgent(agentId: string): Promise<AgentAvailability | null>;
  setPresence(agentId: string, presence: StoredPresence, reason: string | null, now: number): Promise<AgentAvailability | null>;
  /** Agents of a queue who are ready and have a free slot on `channel`, longest idle first. */
  availableAgents(queueId: string, channel: Channel, limit: number): Promise<AgentAvailability[]>;
  /** Frees one slot (a task ended or its wrap-up finished); sets idleSince when the agent is empty. */
  releaseSlot(agentId: string, channel: Channel, now: number): Promise<AgentAvailability | null>;
  /**
   * Frees one slot only when none of the agent's queues has a task waiting without an offer (a queue
   * with `depth` or more waiting counts as having one: only that many are looked at); otherwise
   * changes nothing and answers released: false, and the
   * caller frees the slot under its queue locks, so that it goes to the oldest of those tasks and not
   * to whichever matching step runs next. Lets the common case (nobody waiting) skip the locks.
   */
  releaseSlotIfNoneWaiting(agentId: string, channel: Channel, now: number, depth: number): Promise<ConditionalRelease>;
  /** Adds a held task without an offer (restored after a restart). */
  holdSlot(agentId: string, channel: Channel): Promise<AgentAvailability | null>;
  removeAgent(agentId: string): Promise<void>;

  // ---- tasks -------------------------------------------------------------------------------
  /** Idempotent: enqueuing a task already waiting changes nothing. */
  enqueue(task: QueuedTask): Promise<void>;
  /**
   * An arrival's common case in one atomic step: enqueues the task and reserves the first agent of
   * its queue, in the store's longest-idle order among the first `limit`, who passes reserve()'s
   * checks. Only for tasks whose choice of agent is the store's own order (the engine decides).
   */
  enqueueAndReserve(task: QueuedTask, expiresAt: number, opts: ReserveOptions & { limit: number }): Promise<EnqueueAndReserveResult>;
  /** Takes a waiting task out (abandoned, answered elsewhere); cancels its reservations. */
  removeTask(taskId: string): Promise<{ removed: boolean; cancelled: Reservation[] }>;
  setPriority(taskId: string, priority: number): Promise<boolean>;
  getTask(taskId: string): Promise<QueuedTask | null>;
  /** Waiting tasks of a queue in service order: priority descending, then enqueuedAt ascending. */
  waiting(queueId: string, limit: number): Promise<WaitingTask[]>;
  /** 1-based place in its queue's service order, or null when not waiting. */
  position(taskId: string): Promise<number | null>;
  waitingCount(queueId: string): Promise<number>;

  // ---- offers (reservations) -------------------------------------------------------------------
  /**
   * Atomically: the task is waiting and (unless `shared`, for ring-all) not reserved, the agent is
   * ready with a free slot on the task's channel → the slot is taken and the reservation recorded.
   */
  reserve(taskId: string, agentId: string, expiresAt: number, opts?: ReserveOptions): Promise<ReserveResult>;
  /**
   * Atomically: the reservation exists and is not expired → the task leaves the queue, the agent keeps
   * the slot, and every other reservation of the task (ring-all) is cancelled and returned.
   */
  accept(taskId: string, agentId: string, now: number): Promise<{ ok: boolean; cancelled: Reservation[] }>;
  /** Cancels one reservation (reject, time-out, agent gone); frees the agent's slot. */
  cancel(taskId: string, agentId: string): Promise<boolean>;
  reservationsOfTask(taskId: string): Promise<Reservation[]>;
  reservationsOfAgent(agentId: string): Promise<Reservation[]>;
  /** Reservations whose expiresAt ≤ now, for the sweeper that cancels them (any node may sweep). */
  expired(now: number, limit: number): Promise<Reservation[]>;

  /** Drops everything under this store (tests and rebuilds only). */
  clear(): Promise<void>;
  health(): Promise<{ state: 'up' | 'down'; detail?: string }>;
  close(): Promise<void>;
}
