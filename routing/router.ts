// The first routing engine: in-process, one queue per topic, priority then arrival order, offered to the
// longest-idle ready agent with free chat capacity and the queue's skill. Offers time out and go to the
// next agent while the task keeps its place. Durable state lives in the database (chat/); this holds
// only what can be rebuilt from it after a restart.
import { TypedEmitter } from '../lib/typed-emitter.js';
import { InvalidStateError, NotFoundError } from '../lib/errors.js';

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
}

export type OfferRevokeReason = 'timeout' | 'taken' | 'abandoned' | 'rejected' | 'agent_gone' | 'not_ready';

export type RouterEvents = {
  offer: [agentId: string, task: TaskTicket, expiresAt: number];
  'offer:revoked': [agentId: string, taskId: string, reason: OfferRevokeReason];
  presence: [agentId: string];
  /** The waiting order of a queue changed: positions must be re-sent. */
  'queue:changed': [queueId: string];
  /** An agent's connection stayed away past the grace period; it is now logged off. */
  'agent:logged-off': [agentId: string];
};

export interface RouterOptions {
  offerTimeoutMs: number;
  /** Consecutive missed offers after which an agent is set not ready. */
  maxMissedOffers: number;
  /** How long a dropped agent connection may come back before the agent is logged off. */
  disconnectGraceMs: number;
  /** An agent who rejected a task is not offered it again for this long. */
  rejectCooldownMs: number;
  now?: () => number;
}

export const DEFAULT_ROUTER_OPTIONS: RouterOptions = {
  offerTimeoutMs: 20_000,
  maxMissedOffers: 3,
  disconnectGraceMs: 30_000,
  rejectCooldownMs: 60_000,
};

type Presence = 'ready' | 'not_ready';

interface AgentState {
  profile: AgentProfile;
  presence: Presence;
  reason: string | null;
  connections: number;
  /** Tasks the agent holds (talking or wrapping up); each counts against capacity. */
  tasks: Set<string>;
  offers: Set<string>;
  idleSince: number;
  missedOffers: number;
  graceTimer: NodeJS.Timeout | null;
}

interface WaitingTask {
  ticket: TaskTicket;
  offer: { agentId: string; expiresAt: number; timer: NodeJS.Timeout } | null;
  rejectedAt: Map<string, number>;
  /** Agents who let an offer of this task time out: tried again only when nobody else is free. */
  timedOutBy: Set<string>;
}

export interface AgentSnapshot {
  presence: Presence;
  reason: string | null;
  activeTasks: number;
  pendingOffers: number;
  capacity: number;
  connected: boolean;
}

export class Router extends TypedEmitter<RouterEvents> {
  readonly #opts: RouterOptions;
  readonly #now: () => number;
  readonly #queues = new Map<string, RoutingQueue>();
  readonly #agents = new Map<string, AgentState>();
  /** Every waiting or offered task, by id. */
  readonly #waiting = new Map<string, WaitingTask>();
  /** Re-match when a reject cooldown ends, so a task declined by the only agent is not forgotten. */
  readonly #cooldownTimers = new Set<NodeJS.Timeout>();
  #dispatchScheduled = false;
  #closed = false;

  constructor(opts: Partial<RouterOptions> = {}) {
    super();
    this.#opts = { ...DEFAULT_ROUTER_OPTIONS, ...opts };
    this.#now = opts.now ?? Date.now;
  }

  get closed(): boolean {
    return this.#closed;
  }

  setQueue(queue: RoutingQueue): void {
    this.#queues.set(queue.id, queue);
    this.#scheduleDispatch();
  }

  // ---- tasks --------------------------------------------------------------------------------

  enqueue(ticket: TaskTicket): void {
    if (!this.#queues.has(ticket.queueId)) throw new NotFoundError(`queue ${ticket.queueId}`);
    if (this.#waiting.has(ticket.id)) return;
    this.#waiting.set(ticket.id, { ticket, offer: null, rejectedAt: new Map(), timedOutBy: new Set() });
    this.safeEmit('queue:changed', ticket.queueId);
    this.#scheduleDispatch();
  }

  /** Takes a waiting task out of routing (the customer left). Revokes its offer if any. */
  remove(taskId: string): boolean {
    const entry = this.#waiting.get(taskId);
    if (!entry) return false;
    if (entry.offer) this.#revoke(entry, 'abandoned');
    this.#waiting.delete(taskId);
    this.safeEmit('queue:changed', entry.ticket.queueId);
    return true;
  }

  isWaiting(taskId: string): boolean {
    return this.#waiting.has(taskId);
  }

  /** 1-based place among the queue's waiting tasks, in the order they will be served. */
  position(taskId: string): number | null {
    const entry = this.#waiting.get(taskId);
    if (!entry) return null;
    return this.waitingOrder(entry.ticket.queueId).findIndex((t) => t.id === taskId) + 1;
  }

  waitingOrder(queueId: string): TaskTicket[] {
    return [...this.#waiting.values()].map((w) => w.ticket).filter((t) => t.queueId === queueId).sort(byServiceOrder);
  }

  waitingCount(queueId: string): number {
    let n = 0;
    for (const w of this.#waiting.values()) if (w.ticket.queueId === queueId) n++;
    return n;
  }

  // ---- offers -------------------------------------------------------------------------------

  /** The agent takes the task offered to it. Throws InvalidStateError when the offer is gone. */
  accept(agentId: string, taskId: string): TaskTicket {
    const entry = this.#waiting.get(taskId);
    const agent = this.#agents.get(agentId);
    if (!entry || !agent || entry.offer?.agentId !== agentId) throw new InvalidStateError('this offer is no longer valid');
    clearTimeout(entry.offer.timer);
    agent.offers.delete(taskId);
    agent.tasks.add(taskId);
    agent.missedOffers = 0;
    this.#waiting.delete(taskId);
    this.safeEmit('queue:changed', entry.ticket.queueId);
    this.safeEmit('presence', agentId);
    return entry.ticket;
  }

  reject(agentId: string, taskId: string): void {
    const entry = this.#waiting.get(taskId);
    if (!entry || entry.offer?.agentId !== agentId) throw new InvalidStateError('this offer is no longer valid');
    entry.rejectedAt.set(agentId, this.#now());
    const agent = this.#agents.get(agentId);
    if (agent) agent.missedOffers = 0;
    this.#revoke(entry, 'rejected');
    const timer = setTimeout(() => {
      this.#cooldownTimers.delete(timer);
      this.#scheduleDispatch();
    }, this.#opts.rejectCooldownMs);
    this.#cooldownTimers.add(timer);
  }

  pendingOffers(agentId: string): Array<{ ticket: TaskTicket; expiresAt: number }> {
    const agent = this.#agents.get(agentId);
    if (!agent) return [];
    return [...agent.offers].flatMap((id) => {
      const e = this.#waiting.get(id);
      return e?.offer ? [{ ticket: e.ticket, expiresAt: e.offer.expiresAt }] : [];
    });
  }

  // ---- agents -------------------------------------------------------------------------------

  /**
   * An agent connection opened. `heldTaskIds` are tasks the database says the agent still holds
   * (after a reload or restart); they count against capacity.
   */
  agentConnected(profile: AgentProfile, heldTaskIds: string[]): void {
    let agent = this.#agents.get(profile.id);
    if (!agent) {
      agent = {
        profile,
        presence: 'not_ready',
        reason: null,
        connections: 0,
        tasks: new Set(),
        offers: new Set(),
        idleSince: this.#now(),
        missedOffers: 0,
        graceTimer: null,
      };
      this.#agents.set(profile.id, agent);
    }
    agent.profile = profile;
    for (const id of heldTaskIds) agent.tasks.add(id);
    agent.connections++;
    if (agent.graceTimer) clearTimeout(agent.graceTimer);
    agent.graceTimer = null;
    this.safeEmit('presence', profile.id);
    this.#scheduleDispatch();
  }

  agentDisconnected(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (!agent) return;
    agent.connections = Math.max(0, agent.connections - 1);
    if (agent.connections > 0) return;
    // An offer nobody can see is pointless: pass it on now, not after its timeout.
    for (const taskId of [...agent.offers]) {
      const entry = this.#waiting.get(taskId);
      if (entry) this.#revoke(entry, 'agent_gone');
    }
    this.#scheduleDispatch();
    agent.graceTimer = setTimeout(() => {
      agent.graceTimer = null;
      if (agent.connections > 0) return;
      this.#agents.delete(agentId);
      this.safeEmit('agent:logged-off', agentId);
    }, this.#opts.disconnectGraceMs);
  }

  setPresence(agentId: string, presence: Presence, reason: string | null = null): void {
    const agent = this.#mustAgent(agentId);
    if (presence === 'ready' && agent.presence !== 'ready') agent.idleSince = this.#now();
    agent.presence = presence;
    agent.reason = presence === 'not_ready' ? reason : null;
    if (presence === 'ready') agent.missedOffers = 0;
    // An agent who steps away does not keep offers: they go to the next agent now.
    if (presence === 'not_ready') {
      for (const taskId of [...agent.offers]) {
        const entry = this.#waiting.get(taskId);
        if (entry) this.#revoke(entry, 'not_ready');
      }
    }
    this.safeEmit('presence', agentId);
    this.#scheduleDispatch();
  }

  /** The agent holds this task (it accepted it before a restart, for instance). */
  holdTask(agentId: string, taskId: string): void {
    this.#agents.get(agentId)?.tasks.add(taskId);
  }

  /** The agent is done with a task (wrap-up finished): its capacity is free again. */
  releaseTask(agentId: string, taskId: string): void {
    const agent = this.#agents.get(agentId);
    if (!agent || !agent.tasks.delete(taskId)) return;
    if (agent.tasks.size === 0) agent.idleSince = this.#now();
    this.safeEmit('presence', agentId);
    this.#scheduleDispatch();
  }

  agentSnapshot(agentId: string): AgentSnapshot | null {
    const a = this.#agents.get(agentId);
    if (!a) return null;
    return {
      presence: a.presence,
      reason: a.reason,
      activeTasks: a.tasks.size,
      pendingOffers: a.offers.size,
      capacity: a.profile.chatCapacity,
      connected: a.connections > 0,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiting.values()) if (w.offer) clearTimeout(w.offer.timer);
    for (const a of this.#agents.values()) if (a.graceTimer) clearTimeout(a.graceTimer);
    for (const t of this.#cooldownTimers) clearTimeout(t);
    this.#cooldownTimers.clear();
    this.#waiting.clear();
    this.#agents.clear();
    this.removeAllListeners();
  }

  // ---- matching -----------------------------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled || this.#closed) return;
    this.#dispatchScheduled = true;
    // Coalesce a burst of changes (many arrivals, a presence change) into one matching pass.
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      if (!this.#closed) this.#dispatch();
    });
  }

  #dispatch(): void {
    const now = this.#now();
    const unoffered = [...this.#waiting.values()].filter((w) => !w.offer).sort((a, b) => byServiceOrder(a.ticket, b.ticket));
    for (const entry of unoffered) {
      const agent = this.#bestAgent(entry, now);
      if (agent) this.#offer(entry, agent, now);
    }
  }

  #bestAgent(entry: WaitingTask, now: number): AgentState | null {
    const queue = this.#queues.get(entry.ticket.queueId);
    if (!queue) return null;
    let best: AgentState | null = null;
    let fallback: AgentState | null = null;
    for (const agent of this.#agents.values()) {
      if (agent.presence !== 'ready' || agent.connections === 0) continue;
      if (agent.tasks.size + agent.offers.size >= agent.profile.chatCapacity) continue;
      if (queue.requiredSkill && !agent.profile.skills.some((s) => s.skill === queue.requiredSkill)) continue;
      const rejected = entry.rejectedAt.get(agent.profile.id);
      if (rejected !== undefined && now - rejected < this.#opts.rejectCooldownMs) continue;
      // Longest idle first; an agent already talking counts as idle since its last free moment.
      if (entry.timedOutBy.has(agent.profile.id)) {
        if (!fallback || agent.idleSince < fallback.idleSince) fallback = agent;
      } else if (!best || agent.idleSince < best.idleSince) best = agent;
    }
    return best ?? fallback;
  }

  #offer(entry: WaitingTask, agent: AgentState, now: number): void {
    const agentId = agent.profile.id;
    const expiresAt = now + this.#opts.offerTimeoutMs;
    const timer = setTimeout(() => this.#offerTimedOut(entry.ticket.id, agentId), this.#opts.offerTimeoutMs);
    entry.offer = { agentId, expiresAt, timer };
    agent.offers.add(entry.ticket.id);
    this.safeEmit('offer', agentId, entry.ticket, expiresAt);
  }

  #offerTimedOut(taskId: string, agentId: string): void {
    const entry = this.#waiting.get(taskId);
    if (!entry || entry.offer?.agentId !== agentId) return;
    entry.timedOutBy.add(agentId);
    this.#revoke(entry, 'timeout');
    const agent = this.#agents.get(agentId);
    if (agent && ++agent.missedOffers >= this.#opts.maxMissedOffers) {
      agent.presence = 'not_ready';
      agent.reason = `missed ${agent.missedOffers} offers`;
      agent.missedOffers = 0;
      this.safeEmit('presence', agentId);
    }
    this.#scheduleDispatch();
  }

  #revoke(entry: WaitingTask, reason: OfferRevokeReason): void {
    if (!entry.offer) return;
    const { agentId, timer } = entry.offer;
    clearTimeout(timer);
    entry.offer = null;
    this.#agents.get(agentId)?.offers.delete(entry.ticket.id);
    this.safeEmit('offer:revoked', agentId, entry.ticket.id, reason);
    this.#scheduleDispatch();
  }

  #mustAgent(agentId: string): AgentState {
    const agent = this.#agents.get(agentId);
    if (!agent) throw new InvalidStateError('agent is not logged in');
    return agent;
  }
}

/** Higher priority first; within a priority, the oldest first. */
function byServiceOrder(a: TaskTicket, b: TaskTicket): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
