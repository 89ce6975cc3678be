// The in-process QueueStore (one node, the embedded default). Each method runs synchronously to the end
// before its promise resolves, so check-then-write is atomic without locks. Every ordered question
// (available agents, service order, expiry) is answered from a sorted array kept per key, so reads cost
// O(log n + limit) and writes O(log n) plus an array shift, never a scan of all agents or tasks.
import {
  CHANNELS,
  excludedByCall,
  type AgentAvailability,
  type Channel,
  type QueueStore,
  type QueuedTask,
  type Reservation,
  type ReserveOptions,
  type ReserveResult,
  type StoredPresence,
  type WaitingTask,
  type ConditionalRelease,
  type EnqueueAndReserveResult,
} from './queue-store.js';
import {
  checkAgent,
  checkChannel,
  checkId,
  checkLimit,
  checkPresence,
  checkPriority,
  checkReason,
  checkTask,
  checkTime,
  type AgentInput,
} from './validate.js';

/** Code-unit order; Redis orders equal scores by bytes, which agrees for ASCII ids. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * An array kept sorted by `compare`. The order must be total (ties broken by an id), so an item that
 * compares equal to a key is that very entry and can be found by binary search.
 */
class SortedList<T> {
  readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  get length(): number {
    return this.items.length;
  }

  /** Index of the first item not before `key`. */
  private lowerBound(key: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(item: T): void {
    this.items.splice(this.lowerBound(item), 0, item);
  }

  indexOf(key: T): number {
    const i = this.lowerBound(key);
    return i < this.items.length && this.compare(this.items[i]!, key) === 0 ? i : -1;
  }

  remove(key: T): boolean {
    const i = this.indexOf(key);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
}

interface AgentRecord {
  agentId: string;
  presence: StoredPresence;
  reason: string | null;
  capacity: Partial<Record<Channel, number>>;
  load: Partial<Record<Channel, number>>;
  idleSince: number;
  queues: string[];
  version: number;
}

interface StoredReservation extends Reservation {
  shared: boolean;
}

interface TaskRecord {
  task: QueuedTask;
  /** By agent id. Either one exclusive reservation or any number of shared (ring-all) ones. */
  reservations: Map<string, StoredReservation>;
}

interface IdleEntry {
  idleSince: number;
  agentId: string;
}

const byIdle = (a: IdleEntry, b: IdleEntry): number => a.idleSince - b.idleSince || compareStrings(a.agentId, b.agentId);
const byService = (a: QueuedTask, b: QueuedTask): number =>
  b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || compareStrings(a.taskId, b.taskId);
const byExpiry = (a: Reservation, b: Reservation): number =>
  a.expiresAt - b.expiresAt || compareStrings(a.taskId, b.taskId) || compareStrings(a.agentId, b.agentId);
const byTaskThenAgent = (a: Reservation, b: Reservation): number =>
  compareStrings(a.taskId, b.taskId) || compareStrings(a.agentId, b.agentId);

/** Where an agent is offerable: the "queue\0channel" pairs, and the idleSince it is sorted by there. */
interface Offerable {
  idleSince: number;
  keys: Set<string>;
}

const availKey = (queueId: string, channel: Channel): string => `${queueId}\0${channel}`;

function hasFreeSlot(agent: AgentRecord, channel: Channel): boolean {
  return agent.presence === 'ready' && (agent.load[channel] ?? 0) < (agent.capacity[channel] ?? 0);
}

function totalLoad(agent: AgentRecord): number {
  let total = 0;
  for (const n of Object.values(agent.load)) total += n ?? 0;
  return total;
}

function copyAgent(a: AgentRecord): AgentAvailability {
  return {
    agentId: a.agentId,
    presence: a.presence,
    reason: a.reason,
    capacity: { ...a.capacity },
    load: { ...a.load },
    idleSince: a.idleSince,
    queues: [...a.queues],
    version: a.version,
  };
}

function copyReservation(r: StoredReservation): Reservation {
  return { taskId: r.taskId, agentId: r.agentId, channel: r.channel, expiresAt: r.expiresAt };
}

export class MemoryQueueStore implements QueueStore {
  readonly kind = 'memory' as const;

  #closed = false;
  readonly #agents = new Map<string, AgentRecord>();
  /** "queue\0channel" → agents ready with a free slot there, longest idle first. Kept exact on every change. */
  readonly #available = new Map<string, SortedList<IdleEntry>>();
  readonly #tasks = new Map<string, TaskRecord>();
  /** Queue id → its waiting tasks in service order (the QueuedTask objects of #tasks). */
  readonly #waiting = new Map<string, SortedList<QueuedTask>>();
  /** Agent id → task id → reservation (the same objects as in the task records). */
  readonly #agentReservations = new Map<string, Map<string, StoredReservation>>();
  readonly #expiry = new SortedList<StoredReservation>(byExpiry);

  // ---- agents ------------------------------------------------------------------------------

  async putAgent(input: AgentInput): Promise<AgentAvailability> {
    const agent = checkAgent(input);
    const existing = this.#agents.get(agent.agentId);
    if (!existing) {
      const record: AgentRecord = { ...agent, load: {}, version: 1 };
      this.#agents.set(agent.agentId, record);
      this.#reindex(record, { idleSince: record.idleSince, keys: new Set() });
      return copyAgent(record);
    }
    this.#change(existing, (a) => {
      a.presence = agent.presence;
      a.reason = agent.reason;
      a.capacity = agent.capacity;
      a.idleSince = agent.idleSince;
      a.queues = agent.queues;
    });
    return copyAgent(existing);
  }

  async getAgent(agentId: string): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    const agent = this.#agents.get(agentId);
    return agent ? copyAgent(agent) : null;
  }

  async setPresence(agentId: string, presence: StoredPresence, reason: string | null, now: number): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkPresence(presence);
    checkReason(reason);
    checkTime('now', now);
    const agent = this.#agents.get(agentId);
    if (!agent) return null;
    this.#change(agent, (a) => {
      // Idle time counts from when an empty agent becomes ready, so a return from a break does not
      // jump the longest-idle order.
      if (presence === 'ready' && a.presence !== 'ready' && totalLoad(a) === 0) a.idleSince = now;
      a.presence = presence;
      a.reason = reason;
    });
    return copyAgent(agent);
  }

  async availableAgents(queueId: string, channel: Channel, limit: number): Promise<AgentAvailability[]> {
    checkId('queueId', queueId);
    checkChannel(channel);
    checkLimit(limit);
    const list = this.#available.get(availKey(queueId, channel));
    if (!list) return [];
    return list.items.slice(0, limit).map((e) => copyAgent(this.#agents.get(e.agentId)!));
  }

  async releaseSlot(agentId: string, channel: Channel, now: number): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkChannel(channel);
    checkTime('now', now);
    const agent = this.#agents.get(agentId);
    if (!agent) return null;
    // Releasing a slot that is not held is a no-op: load never goes negative.
    if ((agent.load[channel] ?? 0) > 0) {
      this.#change(agent, (a) => {
        this.#addLoad(a, channel, -1);
        if (totalLoad(a) === 0) a.idleSince = now;
      });
    }
    return copyAgent(agent);
  }

  async releaseSlotIfNoneWaiting(agentId: string, channel: Channel, now: number, depth: number): Promise<ConditionalRelease> {
    checkId('agentId', agentId);
    checkChannel(channel);
    checkTime('now', now);
    checkLimit(depth);
    const agent = this.#agents.get(agentId);
    if (!agent) return { released: true, agent: null };
    for (const queueId of agent.queues) {
      const heads = this.#waiting.get(queueId)?.items.slice(0, depth) ?? [];
      // A full window may hide an unoffered task behind it: assume it does.
      if (heads.length === depth || heads.some((t) => this.#tasks.get(t.taskId)!.reservations.size === 0)) {
        return { released: false };
      }
    }
    return { released: true, agent: await this.releaseSlot(agentId, channel, now) };
  }

  async holdSlot(agentId: string, channel: Channel): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkChannel(channel);
    const agent = this.#agents.get(agentId);
    if (!agent) return null;
    // No capacity check: this restores a fact (a task the agent already has), it does not make an offer.
    this.#change(agent, (a) => this.#addLoad(a, channel, 1));
    return copyAgent(agent);
  }

  async removeAgent(agentId: string): Promise<void> {
    checkId('agentId', agentId);
    const agent = this.#agents.get(agentId);
    // Its offers go with it: the tasks stay waiting and can be offered to someone else.
    for (const r of [...(this.#agentReservations.get(agentId)?.values() ?? [])]) this.#dropReservation(r, false);
    this.#agentReservations.delete(agentId);
    if (!agent) return;
    const before = this.#offerable(agent);
    this.#agents.delete(agentId);
    this.#reindexTo(agentId, before, { idleSince: agent.idleSince, keys: new Set() });
  }

  // ---- tasks -------------------------------------------------------------------------------

  async enqueue(input: QueuedTask): Promise<void> {
    this.#enqueueNow(checkTask(input));
  }

  async enqueueAndReserve(input: QueuedTask, expiresAt: number, opts: ReserveOptions & { limit: number }): Promise<EnqueueAndReserveResult> {
    const task = checkTask(input);
    checkTime('expiresAt', expiresAt);
    if (checkLimit(opts.limit) === 0) throw new RangeError('limit must be at least 1');
    if (!this.#enqueueNow(task)) return { outcome: 'not_reserved' };
    const free = this.#available.get(availKey(task.queueId, task.channel))?.items.slice(0, opts.limit) ?? [];
    for (const { agentId } of free) {
      const result = this.#reserveNow(task.taskId, agentId, expiresAt, opts);
      if (result.ok) return { outcome: 'reserved', reservation: result.reservation, agentReason: this.#agents.get(agentId)!.reason };
    }
    return { outcome: free.length === 0 ? 'nobody_free' : 'not_reserved' };
  }

  /** False when the task was already waiting (enqueue is idempotent). */
  #enqueueNow(task: QueuedTask): boolean {
    if (this.#tasks.has(task.taskId)) return false;
    this.#tasks.set(task.taskId, { task, reservations: new Map() });
    let list = this.#waiting.get(task.queueId);
    if (!list) this.#waiting.set(task.queueId, (list = new SortedList(byService)));
    list.insert(task);
    return true;
  }

  async removeTask(taskId: string): Promise<{ removed: boolean; cancelled: Reservation[] }> {
    checkId('taskId', taskId);
    const record = this.#tasks.get(taskId);
    if (!record) return { removed: false, cancelled: [] };
    const cancelled = this.#dropAllReservations(record, null);
    this.#unqueue(record.task);
    return { removed: true, cancelled };
  }

  async setPriority(taskId: string, priority: number): Promise<boolean> {
    checkId('taskId', taskId);
    checkPriority(priority);
    const record = this.#tasks.get(taskId);
    if (!record) return false;
    const list = this.#waiting.get(record.task.queueId)!;
    list.remove(record.task);
    record.task.priority = priority;
    list.insert(record.task);
    return true;
  }

  async getTask(taskId: string): Promise<QueuedTask | null> {
    checkId('taskId', taskId);
    const record = this.#tasks.get(taskId);
    return record ? { ...record.task } : null;
  }

  async waiting(queueId: string, limit: number): Promise<WaitingTask[]> {
    checkId('queueId', queueId);
    checkLimit(limit);
    return (this.#waiting.get(queueId)?.items.slice(0, limit) ?? []).map((t) => ({ ...t, reserved: this.#tasks.get(t.taskId)!.reservations.size > 0 }));
  }

  async position(taskId: string): Promise<number | null> {
    checkId('taskId', taskId);
    const record = this.#tasks.get(taskId);
    if (!record) return null;
    return this.#waiting.get(record.task.queueId)!.indexOf(record.task) + 1;
  }

  async waitingCount(queueId: string): Promise<number> {
    checkId('queueId', queueId);
    return this.#waiting.get(queueId)?.length ?? 0;
  }

  // ---- offers (reservations) -------------------------------------------------------------------

  async reserve(taskId: string, agentId: string, expiresAt: number, opts: ReserveOptions = {}): Promise<ReserveResult> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    checkTime('expiresAt', expiresAt);
    return this.#reserveNow(taskId, agentId, expiresAt, opts);
  }

  #reserveNow(taskId: string, agentId: string, expiresAt: number, opts: ReserveOptions): ReserveResult {
    const shared = opts.shared === true;
    const record = this.#tasks.get(taskId);
    if (!record) return { ok: false, reason: 'task_not_waiting' };
    if (record.reservations.has(agentId)) return { ok: false, reason: 'task_reserved' };
    if (record.reservations.size > 0) {
      // Exclusive offers exclude everyone; shared (ring-all) offers only exclude exclusive ones.
      const existingShared = record.reservations.values().next().value!.shared;
      if (!shared || !existingShared) return { ok: false, reason: 'task_reserved' };
    }
    const agent = this.#agents.get(agentId);
    const channel = record.task.channel;
    // Capacity 0 means "never offered this channel": unavailable, not merely full for now.
    if (!agent || agent.presence !== 'ready' || (agent.capacity[channel] ?? 0) === 0) return { ok: false, reason: 'agent_unavailable' };
    if ((agent.load[channel] ?? 0) >= agent.capacity[channel]!) return { ok: false, reason: 'agent_full' };
    if (excludedByCall(agent.load, channel, opts.chatsDuringCalls === true)) return { ok: false, reason: 'agent_full' };

    this.#change(agent, (a) => this.#addLoad(a, channel, 1));
    const reservation: StoredReservation = { taskId, agentId, channel, expiresAt, shared };
    record.reservations.set(agentId, reservation);
    let mine = this.#agentReservations.get(agentId);
    if (!mine) this.#agentReservations.set(agentId, (mine = new Map()));
    mine.set(taskId, reservation);
    this.#expiry.insert(reservation);
    return { ok: true, reservation: copyReservation(reservation) };
  }

  async accept(taskId: string, agentId: string, now: number): Promise<{ ok: boolean; cancelled: Reservation[] }> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    checkTime('now', now);
    const record = this.#tasks.get(taskId);
    const reservation = record?.reservations.get(agentId);
    if (!record || !reservation || reservation.expiresAt <= now) return { ok: false, cancelled: [] };
    // The accepted offer becomes held work: the agent keeps the slot, only the reservation goes.
    this.#dropReservation(reservation, false);
    const cancelled = this.#dropAllReservations(record, agentId);
    this.#unqueue(record.task);
    return { ok: true, cancelled };
  }

  async cancel(taskId: string, agentId: string): Promise<boolean> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    const reservation = this.#tasks.get(taskId)?.reservations.get(agentId);
    if (!reservation) return false;
    this.#dropReservation(reservation, true);
    return true;
  }

  async reservationsOfTask(taskId: string): Promise<Reservation[]> {
    checkId('taskId', taskId);
    const list = [...(this.#tasks.get(taskId)?.reservations.values() ?? [])];
    return list.sort(byTaskThenAgent).map(copyReservation);
  }

  async reservationsOfAgent(agentId: string): Promise<Reservation[]> {
    checkId('agentId', agentId);
    const list = [...(this.#agentReservations.get(agentId)?.values() ?? [])];
    return list.sort(byTaskThenAgent).map(copyReservation);
  }

  async expired(now: number, limit: number): Promise<Reservation[]> {
    checkTime('now', now);
    checkLimit(limit);
    const out: Reservation[] = [];
    for (const r of this.#expiry.items) {
      if (out.length >= limit || r.expiresAt > now) break;
      out.push(copyReservation(r));
    }
    return out;
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async clear(): Promise<void> {
    this.#agents.clear();
    this.#available.clear();
    this.#tasks.clear();
    this.#waiting.clear();
    this.#agentReservations.clear();
    this.#expiry.items.length = 0;
  }

  async health(): Promise<{ state: 'up' | 'down'; detail?: string }> {
    return this.#closed ? { state: 'down', detail: 'closed' } : { state: 'up' };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Applies a change to an agent, bumps its version and keeps the availability lists exact. */
  #change(agent: AgentRecord, mutate: (a: AgentRecord) => void): void {
    const before = this.#offerable(agent);
    mutate(agent);
    agent.version += 1;
    this.#reindex(agent, before);
  }

  #addLoad(agent: AgentRecord, channel: Channel, delta: number): void {
    const n = (agent.load[channel] ?? 0) + delta;
    // Only non-zero loads are kept, so an idle agent's load is {} in both stores.
    if (n > 0) agent.load[channel] = n;
    else delete agent.load[channel];
  }

  #offerable(agent: AgentRecord): Offerable {
    const keys = new Set<string>();
    for (const channel of CHANNELS) {
      if (!hasFreeSlot(agent, channel)) continue;
      for (const q of agent.queues) keys.add(availKey(q, channel));
    }
    return { idleSince: agent.idleSince, keys };
  }

  #reindex(agent: AgentRecord, before: Offerable): void {
    this.#reindexTo(agent.agentId, before, this.#offerable(agent));
  }

  /** Touches only the lists whose membership or sort key changed. */
  #reindexTo(agentId: string, before: Offerable, after: Offerable): void {
    const moved = before.idleSince !== after.idleSince;
    for (const key of before.keys) {
      if (moved || !after.keys.has(key)) {
        const list = this.#available.get(key)!;
        list.remove({ idleSince: before.idleSince, agentId });
        if (list.length === 0) this.#available.delete(key);
      }
    }
    for (const key of after.keys) {
      if (moved || !before.keys.has(key)) {
        let list = this.#available.get(key);
        if (!list) this.#available.set(key, (list = new SortedList(byIdle)));
        list.insert({ idleSince: after.idleSince, agentId });
      }
    }
  }

  /** Removes one reservation from every index; `freeSlot` gives the agent its slot back (an offer is not work, so idleSince stays). */
  #dropReservation(r: StoredReservation, freeSlot: boolean): void {
    this.#tasks.get(r.taskId)?.reservations.delete(r.agentId);
    const mine = this.#agentReservations.get(r.agentId);
    mine?.delete(r.taskId);
    if (mine?.size === 0) this.#agentReservations.delete(r.agentId);
    this.#expiry.remove(r);
    const agent = this.#agents.get(r.agentId);
    if (freeSlot && agent && (agent.load[r.channel] ?? 0) > 0) this.#change(agent, (a) => this.#addLoad(a, r.channel, -1));
  }

  /** Cancels every reservation of a task except `keepAgentId`'s; returns them by agent id. */
  #dropAllReservations(record: TaskRecord, keepAgentId: string | null): Reservation[] {
    const dropped = [...record.reservations.values()].filter((r) => r.agentId !== keepAgentId).sort(byTaskThenAgent);
    for (const r of dropped) this.#dropReservation(r, true);
    return dropped.map(copyReservation);
  }

  #unqueue(task: QueuedTask): void {
    this.#tasks.delete(task.taskId);
    const list = this.#waiting.get(task.queueId)!;
    list.remove(task);
    if (list.length === 0) this.#waiting.delete(task.queueId);
  }
}
