// The routing engine: matches waiting tasks to agents over a QueueStore (in-process or Redis), so
// several server nodes can route from one shared state. Every reservation is an atomic store
// operation; this class adds what is local to a node: offer timers, agent connections and their
// grace periods, reject cooldowns, and the order in which candidates are tried.
//
// Matching runs on the events that can create a match — a task arrives, an agent becomes free or
// ready, an offer ends — plus a periodic pass that also sweeps offers orphaned by a node that died.
import { TypedEmitter } from '../lib/typed-emitter.js';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { AgentAvailability, Channel, QueueStore, QueuedTask, Reservation } from './store/queue-store.js';

export interface RoutingQueue {
  id: string;
  requiredSkill: string | null;
}

export interface AgentProfile {
  id: string;
  displayName: string;
  skills: Array<{ skill: string; level: number }>;
  chatCapacity: number;
}

export interface TaskTicket {
  id: string;
  queueId: string;
  priority: number;
  enqueuedAt: number;
  channel?: Channel;
}

export type OfferRevokeReason = 'timeout' | 'taken' | 'abandoned' | 'rejected' | 'agent_gone' | 'not_ready';

export type RoutingEvents = {
  offer: [agentId: string, task: TaskTicket, expiresAt: number];
  'offer:revoked': [agentId: string, taskId: string, reason: OfferRevokeReason];
  presence: [agentId: string];
  /** The waiting order of a queue changed: positions must be re-sent. */
  'queue:changed': [queueId: string];
  /** An agent's connection stayed away past the grace period; it is now logged off. */
  'agent:logged-off': [agentId: string];
};

export interface EngineOptions {
  offerTimeoutMs: number;
  /** Consecutive missed offers after which an agent is set not ready. */
  maxMissedOffers: number;
  /** How long a dropped agent connection may come back before the agent is logged off. */
  disconnectGraceMs: number;
  /** An agent who rejected a task is not offered it again for this long (unless nobody else is free). */
  rejectCooldownMs: number;
  /** Period of the full matching pass and the sweep of expired offers. */
  sweepIntervalMs: number;
  /** How many waiting tasks per queue one pass looks at, and candidates per task. */
  scanDepth: number;
  now?: () => number;
  logger?: Logger;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  offerTimeoutMs: 20_000,
  maxMissedOffers: 3,
  disconnectGraceMs: 30_000,
  rejectCooldownMs: 60_000,
  sweepIntervalMs: 1_000,
  scanDepth: 50,
};

/** Capacity per channel from an agent's profile; calls and video are one at a time. */
function capacityOf(profile: AgentProfile): Partial<Record<Channel, number>> {
  return { chat: profile.chatCapacity, social: profile.chatCapacity, call: 1, video: 1, callback: 1 };
}

export interface AgentSnapshot {
  presence: 'ready' | 'not_ready';
  reason: string | null;
  activeTasks: number;
  pendingOffers: number;
  capacity: number;
  connected: boolean;
}

interface LocalAgent {
  profile: AgentProfile;
  connections: number;
  missedOffers: number;
  graceTimer: NodeJS.Timeout | null;
}

interface TaskMemory {
  /** agentId → when it rejected this task. */
  rejectedAt: Map<string, number>;
  /** Agents who let an offer of this task time out: tried again only when nobody else is free. */
  timedOutBy: Set<string>;
}

const offerKey = (taskId: string, agentId: string) => `${taskId}\u0000${agentId}`;

export class RoutingEngine extends TypedEmitter<RoutingEvents> {
  readonly #store: QueueStore;
  readonly #opts: EngineOptions;
  readonly #now: () => number;
  readonly #queues = new Map<string, RoutingQueue>();
  readonly #agents = new Map<string, LocalAgent>();
  readonly #offerTimers = new Map<string, NodeJS.Timeout>();
  readonly #memory = new Map<string, TaskMemory>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #sweeper: NodeJS.Timeout;
  #passRunning = false;
  #passAgain = false;
  #closed = false;

  constructor(store: QueueStore, opts: Partial<EngineOptions> = {}) {
    super();
    this.#store = store;
    this.#opts = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
    this.#now = opts.now ?? Date.now;
    this.#sweeper = setInterval(() => this.#background(this.#sweep()), this.#opts.sweepIntervalMs);
    this.#sweeper.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get store(): QueueStore {
    return this.#store;
  }

  /** Adds or changes a queue; connected agents' eligibility follows. */
  async setQueue(queue: RoutingQueue): Promise<void> {
    this.#queues.set(queue.id, queue);
    for (const agent of this.#agents.values()) {
      const current = await this.#store.getAgent(agent.profile.id);
      if (current) await this.#putAgent(agent.profile, current.presence, current.reason, current.idleSince);
    }
    this.#requestPass();
  }

  // ---- tasks --------------------------------------------------------------------------------

  async enqueue(ticket: TaskTicket): Promise<void> {
    if (!this.#queues.has(ticket.queueId)) throw new NotFoundError(`queue ${ticket.queueId}`);
    await this.#store.enqueue(toQueued(ticket));
    this.safeEmit('queue:changed', ticket.queueId);
    await this.#matchTask(toQueued(ticket));
  }

  /** Takes a waiting task out of routing (the customer left). Revokes its offers. */
  async remove(taskId: string): Promise<boolean> {
    const task = await this.#store.getTask(taskId);
    const { removed, cancelled } = await this.#store.removeTask(taskId);
    for (const r of cancelled) this.#offerEnded(r, 'abandoned');
    this.#memory.delete(taskId);
    if (removed && task) this.safeEmit('queue:changed', task.queueId);
    return removed;
  }

  async isWaiting(taskId: string): Promise<boolean> {
    return (await this.#store.getTask(taskId)) !== null;
  }

  position(taskId: string): Promise<number | null> {
    return this.#store.position(taskId);
  }

  async waitingOrder(queueId: string, limit = 1000): Promise<TaskTicket[]> {
    return (await this.#store.waiting(queueId, limit)).map(toTicket);
  }

  waitingCount(queueId: string): Promise<number> {
    return this.#store.waitingCount(queueId);
  }

  // ---- offers -------------------------------------------------------------------------------

  /** The agent takes the task offered to it. Throws InvalidStateError when the offer is gone. */
  async accept(agentId: string, taskId: string): Promise<TaskTicket> {
    const task = await this.#store.getTask(taskId);
    const result = task ? await this.#store.accept(taskId, agentId, this.#now()) : { ok: false, cancelled: [] };
    if (!task || !result.ok) throw new InvalidStateError('this offer is no longer valid');
    this.#clearOfferTimer(taskId, agentId);
    for (const r of result.cancelled) this.#offerEnded(r, 'taken');
    this.#memory.delete(taskId);
    const local = this.#agents.get(agentId);
    if (local) local.missedOffers = 0;
    this.safeEmit('queue:changed', task.queueId);
    this.safeEmit('presence', agentId);
    return toTicket(task);
  }

  async reject(agentId: string, taskId: string): Promise<void> {
    if (!(await this.#store.cancel(taskId, agentId))) throw new InvalidStateError('this offer is no longer valid');
    this.#clearOfferTimer(taskId, agentId);
    this.#memoryOf(taskId).rejectedAt.set(agentId, this.#now());
    const local = this.#agents.get(agentId);
    if (local) local.missedOffers = 0;
    this.safeEmit('offer:revoked', agentId, taskId, 'rejected');
    this.safeEmit('presence', agentId);
    // When the cooldown ends, this agent may be the one to take it after all.
    this.#after(this.#opts.rejectCooldownMs, () => this.#requestPass());
    const task = await this.#store.getTask(taskId);
    if (task) await this.#matchTask(task);
  }

  async pendingOffers(agentId: string): Promise<Array<{ ticket: TaskTicket; expiresAt: number }>> {
    const out: Array<{ ticket: TaskTicket; expiresAt: number }> = [];
    for (const r of await this.#store.reservationsOfAgent(agentId)) {
      const task = await this.#store.getTask(r.taskId);
      if (task) out.push({ ticket: toTicket(task), expiresAt: r.expiresAt });
    }
    return out;
  }

  // ---- agents -------------------------------------------------------------------------------

  /**
   * An agent connection opened on this node. `heldTaskIds` are tasks the database says the agent
   * still holds; they count against capacity when the store does not know the agent (after a restart).
   */
  async agentConnected(profile: AgentProfile, heldTaskIds: string[]): Promise<void> {
    let local = this.#agents.get(profile.id);
    if (!local) {
      local = { profile, connections: 0, missedOffers: 0, graceTimer: null };
      this.#agents.set(profile.id, local);
    }
    local.profile = profile;
    local.connections++;
    if (local.graceTimer) clearTimeout(local.graceTimer);
    local.graceTimer = null;

    const known = await this.#store.getAgent(profile.id);
    if (known && known.presence !== 'logged_off') {
      await this.#putAgent(profile, known.presence, known.reason, known.idleSince);
    } else {
      const loadKnown = known !== null;
      await this.#putAgent(profile, 'not_ready', null, this.#now());
      if (!loadKnown) for (const _ of heldTaskIds) await this.#store.holdSlot(profile.id, 'chat');
    }
    this.safeEmit('presence', profile.id);
    this.#requestPass();
  }

  agentDisconnected(agentId: string): void {
    const local = this.#agents.get(agentId);
    if (!local) return;
    local.connections = Math.max(0, local.connections - 1);
    if (local.connections > 0) return;
    // An offer nobody can see is pointless: pass it on now, not after its timeout.
    this.#background(
      (async () => {
        for (const r of await this.#store.reservationsOfAgent(agentId)) {
          if (await this.#store.cancel(r.taskId, agentId)) {
            this.#offerEnded(r, 'agent_gone');
            const task = await this.#store.getTask(r.taskId);
            if (task) await this.#matchTask(task);
          }
        }
      })(),
    );
    local.graceTimer = setTimeout(() => {
      local.graceTimer = null;
      if (local.connections > 0) return;
      this.#agents.delete(agentId);
      this.#background(
        this.#store.setPresence(agentId, 'logged_off', null, this.#now()).then(() => this.safeEmit('agent:logged-off', agentId)),
      );
    }, this.#opts.disconnectGraceMs);
  }

  async setPresence(agentId: string, presence: 'ready' | 'not_ready', reason: string | null = null): Promise<void> {
    const local = this.#agents.get(agentId);
    if (!local) throw new InvalidStateError('agent is not logged in');
    const updated = await this.#store.setPresence(agentId, presence, presence === 'not_ready' ? reason : null, this.#now());
    if (!updated) throw new InvalidStateError('agent is not logged in');
    if (presence === 'ready') local.missedOffers = 0;
    // An agent who steps away does not keep offers: they go to the next agent now.
    if (presence === 'not_ready') {
      for (const r of await this.#store.reservationsOfAgent(agentId)) {
        if (await this.#store.cancel(r.taskId, agentId)) this.#offerEnded(r, 'not_ready');
      }
    }
    this.safeEmit('presence', agentId);
    this.#requestPass();
  }

  /** The agent is done with a task (wrap-up finished): its slot is free again. */
  async releaseTask(agentId: string, _taskId: string, channel: Channel = 'chat'): Promise<void> {
    const agent = await this.#store.releaseSlot(agentId, channel, this.#now());
    if (!agent) return;
    this.safeEmit('presence', agentId);
    await this.#matchAgent(agent);
  }

  async agentSnapshot(agentId: string): Promise<AgentSnapshot | null> {
    const a = await this.#store.getAgent(agentId);
    if (!a || a.presence === 'logged_off') return null;
    const offers = await this.#store.reservationsOfAgent(agentId);
    const load = a.load.chat ?? 0;
    return {
      presence: a.presence,
      reason: a.reason,
      activeTasks: load - offers.filter((r) => r.channel === 'chat').length,
      pendingOffers: offers.length,
      capacity: a.capacity.chat ?? 0,
      connected: (this.#agents.get(agentId)?.connections ?? 0) > 0,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const t of this.#offerTimers.values()) clearTimeout(t);
    for (const t of this.#timers) clearTimeout(t);
    for (const a of this.#agents.values()) if (a.graceTimer) clearTimeout(a.graceTimer);
    this.#offerTimers.clear();
    this.#timers.clear();
    this.#agents.clear();
    this.removeAllListeners();
  }

  // ---- matching -----------------------------------------------------------------------------

  /** Finds an agent for one task and reserves it; false when nobody could take it now. */
  async #matchTask(task: QueuedTask): Promise<boolean> {
    if (this.#closed) return false;
    const now = this.#now();
    const candidates = await this.#store.availableAgents(task.queueId, task.channel, this.#opts.scanDepth);
    for (const agent of this.#order(task, candidates, now)) {
      const result = await this.#store.reserve(task.taskId, agent.agentId, now + this.#opts.offerTimeoutMs);
      if (result.ok) {
        this.#offerMade(result.reservation, task);
        return true;
      }
      // Another node (or an earlier await) took the task: nothing more to do for it.
      if (result.reason === 'task_reserved' || result.reason === 'task_not_waiting') return false;
    }
    return false;
  }

  /** An agent has a free slot: gives it the best waiting task across its queues (oldest first). */
  async #matchAgent(agent: AgentAvailability): Promise<void> {
    if (this.#closed || agent.presence !== 'ready') return;
    const heads: QueuedTask[] = [];
    for (const queueId of agent.queues) heads.push(...(await this.#store.waiting(queueId, this.#opts.scanDepth)));
    heads.sort(byServiceOrder);
    for (const task of heads) {
      if ((await this.#store.reservationsOfTask(task.taskId)).length > 0) continue;
      if (await this.#matchTask(task)) {
        const after = await this.#store.getAgent(agent.agentId);
        if (!after || (after.load[task.channel] ?? 0) >= (after.capacity[task.channel] ?? 0)) return;
      }
    }
  }

  /** Candidates in the order to try: cooled-down rejecters out, timed-out agents last. */
  #order(task: QueuedTask, candidates: AgentAvailability[], now: number): AgentAvailability[] {
    const memory = this.#memory.get(task.taskId);
    if (!memory) return candidates;
    const fresh: AgentAvailability[] = [];
    const timedOut: AgentAvailability[] = [];
    for (const c of candidates) {
      const rejected = memory.rejectedAt.get(c.agentId);
      if (rejected !== undefined && now - rejected < this.#opts.rejectCooldownMs) continue;
      (memory.timedOutBy.has(c.agentId) ? timedOut : fresh).push(c);
    }
    return [...fresh, ...timedOut];
  }

  /** A full pass over every queue's head, coalesced: at most one runs, and one more if asked meanwhile. */
  #requestPass(): void {
    if (this.#closed) return;
    if (this.#passRunning) {
      this.#passAgain = true;
      return;
    }
    this.#passRunning = true;
    this.#background(
      (async () => {
        try {
          do {
            this.#passAgain = false;
            await this.#pass();
          } while (this.#passAgain && !this.#closed);
        } finally {
          this.#passRunning = false;
        }
      })(),
    );
  }

  async #pass(): Promise<void> {
    const heads: QueuedTask[] = [];
    for (const queueId of this.#queues.keys()) heads.push(...(await this.#store.waiting(queueId, this.#opts.scanDepth)));
    heads.sort(byServiceOrder);
    for (const task of heads) {
      if (this.#closed) return;
      if ((await this.#store.reservationsOfTask(task.taskId)).length === 0) await this.#matchTask(task);
    }
  }

  /** Cancels offers whose timer was lost (their node died), then runs a full pass. */
  async #sweep(): Promise<void> {
    const grace = Math.min(2_000, this.#opts.offerTimeoutMs);
    for (const r of await this.#store.expired(this.#now() - grace, 100)) {
      if (this.#offerTimers.has(offerKey(r.taskId, r.agentId))) continue;
      if (await this.#store.cancel(r.taskId, r.agentId)) this.#offerEnded(r, 'timeout');
    }
    this.#requestPass();
  }

  #offerMade(r: Reservation, task: QueuedTask): void {
    const key = offerKey(r.taskId, r.agentId);
    const timer = setTimeout(() => {
      this.#offerTimers.delete(key);
      this.#background(this.#offerTimedOut(r));
    }, Math.max(0, r.expiresAt - this.#now()));
    this.#offerTimers.set(key, timer);
    this.safeEmit('offer', r.agentId, toTicket(task), r.expiresAt);
    this.safeEmit('presence', r.agentId);
  }

  async #offerTimedOut(r: Reservation): Promise<void> {
    if (!(await this.#store.cancel(r.taskId, r.agentId))) return;
    this.#memoryOf(r.taskId).timedOutBy.add(r.agentId);
    this.safeEmit('offer:revoked', r.agentId, r.taskId, 'timeout');
    const local = this.#agents.get(r.agentId);
    if (local && ++local.missedOffers >= this.#opts.maxMissedOffers) {
      const missed = local.missedOffers;
      local.missedOffers = 0;
      await this.#store.setPresence(r.agentId, 'not_ready', `missed ${missed} offers`, this.#now());
    }
    this.safeEmit('presence', r.agentId);
    const task = await this.#store.getTask(r.taskId);
    if (task) await this.#matchTask(task);
  }

  /** Bookkeeping for an offer the store no longer holds. */
  #offerEnded(r: Reservation, reason: OfferRevokeReason): void {
    this.#clearOfferTimer(r.taskId, r.agentId);
    this.safeEmit('offer:revoked', r.agentId, r.taskId, reason);
    this.safeEmit('presence', r.agentId);
  }

  #clearOfferTimer(taskId: string, agentId: string): void {
    const key = offerKey(taskId, agentId);
    clearTimeout(this.#offerTimers.get(key));
    this.#offerTimers.delete(key);
  }

  #memoryOf(taskId: string): TaskMemory {
    let m = this.#memory.get(taskId);
    if (!m) this.#memory.set(taskId, (m = { rejectedAt: new Map(), timedOutBy: new Set() }));
    return m;
  }

  async #putAgent(profile: AgentProfile, presence: AgentAvailability['presence'], reason: string | null, idleSince: number): Promise<void> {
    const queues = [...this.#queues.values()]
      .filter((q) => !q.requiredSkill || profile.skills.some((s) => s.skill === q.requiredSkill))
      .map((q) => q.id);
    await this.#store.putAgent({ agentId: profile.id, presence, reason, capacity: capacityOf(profile), idleSince, queues });
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Background work must never become an unhandled rejection. */
  #background(p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      if (!this.#closed) this.#opts.logger?.error('routing background step failed', { err });
    });
  }
}

function toQueued(t: TaskTicket): QueuedTask {
  return { taskId: t.id, queueId: t.queueId, channel: t.channel ?? 'chat', priority: t.priority, enqueuedAt: t.enqueuedAt };
}

function toTicket(t: QueuedTask): TaskTicket {
  return { id: t.taskId, queueId: t.queueId, priority: t.priority, enqueuedAt: t.enqueuedAt, channel: t.channel };
}

/** Higher priority first; within a priority, the oldest first. */
function byServiceOrder(a: QueuedTask, b: QueuedTask): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0);
}
