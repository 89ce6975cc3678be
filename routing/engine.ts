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
import {
  isEligible,
  queuesForAgent,
  type AgentProfile as EligibilityProfile,
  type EligibilityRule,
  type QueueEligibility,
  type SkillRequirement,
  type TaskRequirements,
} from './eligibility.js';
import { effectiveRequirements, nextRelaxationAt, type RelaxationStep } from './relaxation.js';
import { offersAtOnce, preferredWindowEndsAt, rankCandidates, seededRandom, type Candidate, type StrategyName } from './strategies.js';

export interface RoutingQueue {
  id: string;
  /** Shorthand for skills: [{ skill, minLevel: 1 }]. */
  requiredSkill?: string | null;
  /** Skills every agent of the queue has, at least at these levels. */
  skills?: SkillRequirement[];
  /** Agents must speak one of these (empty: any). */
  languages?: string[];
  /** A condition over agent attributes (see eligibility.ts). */
  rule?: EligibilityRule | null;
  strategy?: StrategyName;
  relaxation?: RelaxationStep[];
  ringAllWidth?: number;
  /** Agent order for linear and round-robin. */
  linearOrder?: string[];
  /** weighted_random: weight per agent id. */
  weights?: Record<string, number>;
  /** How long only the customer's previous agent is offered a task (s). */
  preferredAgentSeconds?: number;
  /** Agents on a call may still be offered this queue's chats (default: a call excludes chats). */
  chatsDuringCalls?: boolean;
  /** Nearer agents first when the customer shared their position (strategies.ts, byDistanceBand). */
  preferNearby?: boolean;
}

export interface AgentProfile {
  id: string;
  displayName: string;
  skills: Array<{ skill: string; level: number }>;
  chatCapacity: number;
  languages?: string[];
  attributes?: EligibilityProfile['attributes'];
  rating?: number | null;
  pricePerMinuteMinor?: number | null;
  /** Per-channel capacity that replaces the default (0: the agent takes no work on that channel). */
  channelCapacity?: Partial<Record<Channel, number>>;
  /** Where the agent works from, coarsened; for queues that prefer nearby agents. */
  location?: EligibilityProfile['location'];
}

export interface TaskTicket {
  id: string;
  queueId: string;
  priority: number;
  enqueuedAt: number;
  channel?: Channel;
  /** What the task asks beyond its queue (language, skills, budget, the previous agent). */
  requirements?: Partial<TaskRequirements>;
}

/** Profiles of agents by id, for ranking agents this node does not host (another node's). */
export type ProfileLoader = (agentIds: string[]) => Promise<Map<string, EligibilityProfile>>;

export type OfferRevokeReason = 'timeout' | 'taken' | 'abandoned' | 'rejected' | 'agent_gone' | 'not_ready';

export type RoutingEvents = {
  /** `byPush`: the agent has no connection and is reachable by push only (PUSH_REACHABLE_REASON). */
  offer: [agentId: string, task: TaskTicket, expiresAt: number, byPush?: boolean];
  'offer:revoked': [agentId: string, taskId: string, reason: OfferRevokeReason];
  presence: [agentId: string];
  /** The waiting order of a queue changed: positions must be re-sent. */
  'queue:changed': [queueId: string];
  /** An agent's connection stayed away past the grace period (or the push-reachable maximum); it is now logged off. */
  'agent:logged-off': [agentId: string];
};

export interface EngineOptions {
  offerTimeoutMs: number;
  /** Consecutive missed offers after which an agent is set not ready. */
  maxMissedOffers: number;
  /** How long a dropped agent connection may come back before the agent is logged off. */
  disconnectGraceMs: number;
  /**
   * Whether an agent whose last connection just dropped while ready can be reached by push (their
   * setting, a live subscription, no conversation in progress); such an agent stays ready. Absent: never.
   */
  reachableWhenClosed?: (agentId: string) => Promise<boolean>;
  /** How long an agent reachable by push may stay without any connection before being logged off. */
  pushReachableMs: number;
  /** Offer timeout for agents reachable by push (unlocking a phone and opening the app takes a while). */
  pushOfferTimeoutMs?: number;
  /** An agent who rejected a task is not offered it again for this long (unless nobody else is free). */
  rejectCooldownMs: number;
  /** Period of the full matching pass and the sweep of expired offers. */
  sweepIntervalMs: number;
  /** How many waiting tasks per queue one pass looks at, and candidates per task. */
  scanDepth: number;
  /** Candidates fetched for strategies that must see every ready agent (not only the longest idle). */
  wideScanDepth: number;
  /** Seed for weighted random, so a run can be replayed. */
  randomSeed: number;
  now?: () => number;
  logger?: Logger;
  loadProfiles?: ProfileLoader;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  offerTimeoutMs: 20_000,
  maxMissedOffers: 3,
  disconnectGraceMs: 30_000,
  pushReachableMs: 12 * 3_600_000,
  rejectCooldownMs: 60_000,
  sweepIntervalMs: 1_000,
  scanDepth: 50,
  wideScanDepth: 2_000,
  randomSeed: 1,
};

/** The not-ready reason of an agent whose connection dropped; reconnecting in the grace period makes it ready again. */
export const DISCONNECTED_REASON = 'disconnected';
/**
 * The reason kept with presence 'ready' of an agent whose app is closed but who gets offers by push
 * (docs/push.md). Kept in the store, so every node sees it: offers to such an agent go out by push
 * only, and the first one it misses sets it not ready.
 */
export const PUSH_REACHABLE_REASON = 'reachable by push';
/** The not-ready reason of an agent reachable by push who let an offer time out. */
export const MISSED_BY_PUSH_REASON = 'missed an offer while the app was closed';

/** Candidates read first for longest-idle matching (see #plan). */
const FIRST_WINDOW = 8;

/** Strategies whose order depends only on what the store returns (longest idle first). */
const STORE_ORDERED: ReadonlySet<StrategyName> = new Set(['longest_idle', 'ring_all']);

function queueSkills(q: RoutingQueue): SkillRequirement[] {
  if (q.skills && q.skills.length > 0) return q.skills;
  return q.requiredSkill ? [{ skill: q.requiredSkill, minLevel: 1 }] : [];
}

/** The queue's membership test, at the lowest skill level its relaxation steps can reach. */
function membershipOf(q: RoutingQueue): QueueEligibility {
  const lowest = (q.relaxation ?? []).reduce((sum, step) => sum + (step.lowerSkillLevelBy ?? 0), 0);
  return {
    id: q.id,
    skills: queueSkills(q).map((s) => ({ skill: s.skill, minLevel: Math.max(0, s.minLevel - lowest) })),
    languages: q.languages ?? [],
    rule: q.rule ?? null,
  };
}

function eligibilityProfile(p: AgentProfile): EligibilityProfile {
  return {
    id: p.id,
    skills: p.skills,
    languages: p.languages ?? [],
    attributes: p.attributes ?? {},
    rating: p.rating ?? null,
    pricePerMinuteMinor: p.pricePerMinuteMinor ?? null,
    location: p.location ?? null,
  };
}

/** Capacity per channel from an agent's profile; calls and video are one at a time. */
function capacityOf(profile: AgentProfile): Partial<Record<Channel, number>> {
  return { chat: profile.chatCapacity, social: profile.chatCapacity, call: 1, video: 1, callback: 1, ...profile.channelCapacity };
}

export interface AgentSnapshot {
  presence: 'ready' | 'not_ready';
  reason: string | null;
  /** Chats and calls the agent holds (wrap-up included), offers not counted. */
  activeTasks: number;
  /** Of those, calls (browser audio/video, callbacks): one makes the agent busy. */
  onCalls: number;
  pendingOffers: number;
  capacity: number;
  connected: boolean;
}

interface LocalAgent {
  profile: AgentProfile;
  /** The queues this agent serves (its lock keys). */
  queues: string[];
  connections: number;
  missedOffers: number;
  graceTimer: NodeJS.Timeout | null;
}

/** What #plan decided a match looks at; #decide ranks and reserves within it. */
interface MatchPlan {
  queue: RoutingQueue;
  strategy: StrategyName;
  now: number;
  queues: string[];
  requirements: TaskRequirements;
  /** Candidates read per queue. */
  depth: number;
}

interface TaskMemory {
  /** agentId → when it rejected this task. */
  rejectedAt: Map<string, number>;
  /** Agents who let an offer of this task time out: tried again only when nobody else is free. */
  timedOutBy: Set<string>;
  /** When a re-match is already scheduled (relaxation step or end of the preferred-agent window). */
  rematchAt?: number;
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
  /** Task requirements known to this node (tasks enqueued elsewhere fall back to their queue's). */
  readonly #requirements = new Map<string, Partial<TaskRequirements>>();
  /** Round-robin memory: the agent each queue served last. */
  readonly #lastServed = new Map<string, string>();
  readonly #random: () => number;
  readonly #sweeper: NodeJS.Timeout;
  /**
   * One matching step at a time per queue on this node: a pass that awaits the store between tasks
   * must not see an agent become free halfway, or a younger task of the queue could take the agent
   * ahead of an older one. Steps on different queues run concurrently (and pipeline on Redis).
   */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #passQueued = new Set<string>();
  #closed = false;

  constructor(store: QueueStore, opts: Partial<EngineOptions> = {}) {
    super();
    this.#store = store;
    this.#opts = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
    this.#now = opts.now ?? Date.now;
    this.#random = seededRandom(this.#opts.randomSeed);
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
  setQueue(queue: RoutingQueue): Promise<void> {
    return this.#exclusive([...this.#queues.keys(), queue.id], async () => {
      this.#queues.set(queue.id, queue);
      for (const agent of this.#agents.values()) {
        const current = await this.#store.getAgent(agent.profile.id);
        if (current) await this.#putAgent(agent.profile, current.presence, current.reason, current.idleSince);
      }
      this.#requestPass();
    });
  }

  // ---- tasks --------------------------------------------------------------------------------

  enqueue(ticket: TaskTicket): Promise<void> {
    if (!this.#queues.has(ticket.queueId)) return Promise.reject(new NotFoundError(`queue ${ticket.queueId}`));
    return this.#exclusive([ticket.queueId], async () => {
      if (ticket.requirements) this.#requirements.set(ticket.id, ticket.requirements);
      const task = toQueued(ticket);
      const plan = this.#plan(task);
      if (plan && this.#storeMayChoose(task, plan)) {
        // The common arrival: the store's longest-idle order is the choice, so one atomic step
        // enqueues and reserves (on Redis one round trip instead of two).
        const expiresAt = plan.now + this.#opts.offerTimeoutMs;
        const result = await this.#store.enqueueAndReserve(task, expiresAt, { limit: plan.depth, chatsDuringCalls: plan.queue.chatsDuringCalls === true });
        this.safeEmit('queue:changed', ticket.queueId);
        if (result.outcome === 'reserved') this.#offerMade(result.reservation, task, result.agentReason === PUSH_REACHABLE_REASON);
        else if (result.outcome === 'not_reserved') await this.#matchTask(task);
        return;
      }
      // Issued together, so on Redis the write and the candidate read share one round trip (in this order).
      const [, candidates] = await Promise.all([this.#store.enqueue(task), plan ? this.#readCandidates(task, plan) : []]);
      this.safeEmit('queue:changed', ticket.queueId);
      if (plan) await this.#decideWidening(task, plan, candidates);
    });
  }

  /** Takes a waiting task out of routing (the customer left). Revokes its offers. */
  async remove(taskId: string): Promise<boolean> {
    const task = await this.#store.getTask(taskId);
    const holders = task ? (await this.#store.reservationsOfTask(taskId)).map((r) => r.agentId) : [];
    const keys = [...(task ? [task.queueId] : []), ...holders.flatMap((a) => this.#queuesOf(a))];
    return this.#exclusive(keys, async () => {
      const { removed, cancelled } = await this.#store.removeTask(taskId);
      for (const r of cancelled) this.#offerEnded(r, 'abandoned');
      this.#forget(taskId);
      if (removed && task) this.safeEmit('queue:changed', task.queueId);
      // The agents it was offered to are free again: they go to the oldest tasks they can take.
      if (cancelled.length > 0) await this.#serveFreed(cancelled.map((r) => r.agentId), []);
      return removed;
    });
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

  /** A new priority takes effect at once: the order changes and a pass may now serve this task first. */
  setPriority(taskId: string, queueId: string, priority: number): Promise<void> {
    return this.#exclusive([queueId], async () => {
      if (!(await this.#store.setPriority(taskId, priority))) throw new InvalidStateError('the task is not waiting');
      this.safeEmit('queue:changed', queueId);
      this.#requestPass();
    });
  }

  // ---- offers -------------------------------------------------------------------------------

  /** The agent takes the task offered to it. Throws InvalidStateError when the offer is gone. */
  async accept(agentId: string, taskId: string): Promise<TaskTicket> {
    // Read before the accept in one round trip: the task's record is gone once accepted.
    const [task, result] = await Promise.all([this.#store.getTask(taskId), this.#store.accept(taskId, agentId, this.#now())]);
    if (!task || !result.ok) throw new InvalidStateError('this offer is no longer valid');
    this.#clearOfferTimer(taskId, agentId);
    for (const r of result.cancelled) this.#offerEnded(r, 'taken');
    this.#forget(taskId);
    this.#lastServed.set(task.queueId, agentId);
    const local = this.#agents.get(agentId);
    if (local) local.missedOffers = 0;
    this.safeEmit('queue:changed', task.queueId);
    this.safeEmit('presence', agentId);
    return toTicket(task);
  }

  async reject(agentId: string, taskId: string): Promise<void> {
    const task = await this.#store.getTask(taskId);
    if (!task) throw new InvalidStateError('this offer is no longer valid');
    return this.#exclusive([task.queueId, ...this.#queuesOf(agentId)], () => this.#reject(agentId, task));
  }

  async #reject(agentId: string, task: QueuedTask): Promise<void> {
    const taskId = task.taskId;
    if (!(await this.#store.cancel(taskId, agentId))) throw new InvalidStateError('this offer is no longer valid');
    this.#clearOfferTimer(taskId, agentId);
    this.#memoryOf(taskId).rejectedAt.set(agentId, this.#now());
    const local = this.#agents.get(agentId);
    if (local) local.missedOffers = 0;
    this.safeEmit('offer:revoked', agentId, taskId, 'rejected');
    this.safeEmit('presence', agentId);
    // When the cooldown ends, this agent may be the one to take it after all.
    this.#after(this.#opts.rejectCooldownMs, () => this.#requestPass());
    // The freed agent goes to the oldest task across its queues; the task to whoever is next for it.
    await this.#serveFreed([agentId], [task.queueId]);
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
  agentConnected(profile: AgentProfile, heldTaskIds: string[]): Promise<void> {
    // Counted at once, not when the step's turn comes: a grace period ending meanwhile must see it.
    let local = this.#agents.get(profile.id);
    if (!local) {
      local = { profile, queues: [], connections: 0, missedOffers: 0, graceTimer: null };
      this.#agents.set(profile.id, local);
    }
    local.profile = profile;
    local.connections++;
    if (local.graceTimer) clearTimeout(local.graceTimer);
    local.graceTimer = null;
    return this.#exclusive([...this.#queues.keys()], () => this.#agentConnected(profile, heldTaskIds));
  }

  async #agentConnected(profile: AgentProfile, heldTaskIds: string[]): Promise<void> {
    const known = await this.#store.getAgent(profile.id);
    if (known && known.presence !== 'logged_off') {
      // Back within the grace period: an agent who was ready when the connection dropped is ready again.
      // One reachable by push stays ready, now with its app; an offer pushed to it stands (hello shows it).
      const back = known.presence === 'not_ready' && known.reason === DISCONNECTED_REASON;
      const keptReason = back || known.reason === PUSH_REACHABLE_REASON ? null : known.reason;
      await this.#putAgent(profile, back ? 'ready' : known.presence, keptReason, known.idleSince);
      if (back) await this.#serveFreed([profile.id], []);
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
    // Nobody can see offers now: stop making them (not ready, "disconnected") and pass on the pending
    // ones — unless the agent gets offers by push while the app is closed: then it stays ready, marked
    // reachable by push, and is logged off only after the longer maximum.
    this.#background(
      this.#exclusive(this.#queuesOf(agentId), async () => {
        if (local.connections > 0) return;
        const current = await this.#store.getAgent(agentId);
        const byPush = current?.presence === 'ready' && (await this.#reachableWhenClosed(agentId));
        // A reconnect may have come during that look-up; its own step (queued behind this one) sets presence.
        if (local.connections > 0 || this.#agents.get(agentId) !== local) return;
        if (byPush) {
          await this.#store.setPresence(agentId, 'ready', PUSH_REACHABLE_REASON, this.#now());
          this.#scheduleLogOff(agentId, local, this.#opts.pushReachableMs);
          this.safeEmit('presence', agentId);
        } else if (current?.presence === 'ready') await this.#store.setPresence(agentId, 'not_ready', DISCONNECTED_REASON, this.#now());
        // Offers made while it was connected were not pushed if the app was on screen: they go round
        // again (to this agent by push, when it is still the one to take them).
        await this.#passQueues(await this.#withdrawOffers(agentId, 'agent_gone'));
      }),
    );
    this.#scheduleLogOff(agentId, local, this.#opts.disconnectGraceMs);
  }

  /**
   * Offers can no longer reach this agent by push (delivery failed, no subscription left, the setting
   * was turned off): an agent reachable by push only goes not ready with `reason` and its offers go
   * on to others. A connected agent is not affected.
   */
  pushUnreachable(agentId: string, reason: string): Promise<void> {
    return this.#exclusive(this.#queuesOf(agentId), async () => {
      const queues = await this.#noLongerReachable(agentId, reason);
      if (!queues) return;
      this.safeEmit('presence', agentId);
      await this.#passQueues(queues);
    });
  }

  /**
   * Sets an agent reachable by push not ready with `reason` and withdraws its offers; returns the
   * queues of the tasks waiting again, or null when the agent is not reachable by push (it came back).
   */
  async #noLongerReachable(agentId: string, reason: string): Promise<string[] | null> {
    const agent = await this.#store.getAgent(agentId);
    if (agent?.presence !== 'ready' || agent.reason !== PUSH_REACHABLE_REASON) return null;
    await this.#store.setPresence(agentId, 'not_ready', reason, this.#now());
    this.#opts.logger?.info('agent reachable by push set not ready', { agentId, reason });
    return this.#withdrawOffers(agentId, 'not_ready');
  }

  async #reachableWhenClosed(agentId: string): Promise<boolean> {
    if (!this.#opts.reachableWhenClosed) return false;
    try {
      return await this.#opts.reachableWhenClosed(agentId);
    } catch (err) {
      // Not knowing is not reachable: the agent is handled as before (not ready, logged off after the grace).
      this.#opts.logger?.warn('checking whether an agent is reachable by push failed', { agentId, err });
      return false;
    }
  }

  /** (Re)starts the timer that logs off an agent without connections after `ms`. */
  #scheduleLogOff(agentId: string, local: LocalAgent, ms: number): void {
    if (this.#closed) return;
    if (local.graceTimer) clearTimeout(local.graceTimer);
    local.graceTimer = setTimeout(() => {
      local.graceTimer = null;
      if (local.connections > 0) return;
      this.#background(
        this.#exclusive(local.queues, async () => {
          // A reconnect may have come while this step waited for its turn.
          if (local.connections > 0 || this.#agents.get(agentId) !== local) return;
          this.#agents.delete(agentId);
          await this.#store.setPresence(agentId, 'logged_off', null, this.#now());
          // An agent reachable by push may hold an offer when its maximum ends: it goes on now.
          await this.#passQueues(await this.#withdrawOffers(agentId, 'agent_gone'));
          this.safeEmit('agent:logged-off', agentId);
        }),
      );
    }, ms);
  }

  setPresence(agentId: string, presence: 'ready' | 'not_ready', reason: string | null = null): Promise<void> {
    return this.#exclusive(this.#queuesOf(agentId), () => this.#setPresence(agentId, presence, reason));
  }

  async #setPresence(agentId: string, presence: 'ready' | 'not_ready', reason: string | null): Promise<void> {
    const local = this.#agents.get(agentId);
    if (!local) throw new InvalidStateError('agent is not logged in');
    const updated = await this.#store.setPresence(agentId, presence, presence === 'not_ready' ? reason : null, this.#now());
    if (!updated) throw new InvalidStateError('agent is not logged in');
    if (presence === 'ready') local.missedOffers = 0;
    // An agent who steps away does not keep offers: they go to the next agent now.
    if (presence === 'not_ready') await this.#passQueues(await this.#withdrawOffers(agentId, 'not_ready'));
    // Ready: the oldest task across all its queues first, not the head of whichever queue passes first.
    else await this.#matchAgent(updated);
    this.safeEmit('presence', agentId);
    this.#requestPass();
  }

  /** The agent is done with a task (wrap-up finished): its slot is free again. */
  async releaseTask(agentId: string, _taskId: string, channel: Channel = 'chat'): Promise<void> {
    // Nobody waiting unoffered in the agent's queues (the common case): freed at once, no locks to wait
    // for, since no matching step could hand this slot to a younger task ahead of an older one.
    const fast = await this.#store.releaseSlotIfNoneWaiting(agentId, channel, this.#now(), this.#opts.scanDepth);
    if (fast.released) {
      if (fast.agent) this.safeEmit('presence', agentId);
      return;
    }
    return this.#exclusive(this.#queuesOf(agentId), async () => {
      const agent = await this.#store.releaseSlot(agentId, channel, this.#now());
      if (!agent) return;
      this.safeEmit('presence', agentId);
      await this.#matchAgent(agent);
    });
  }

  async agentSnapshot(agentId: string): Promise<AgentSnapshot | null> {
    const a = await this.#store.getAgent(agentId);
    if (!a || a.presence === 'logged_off') return null;
    const offers = await this.#store.reservationsOfAgent(agentId);
    const load = a.load.chat ?? 0;
    // Offers hold a slot until answered; they are not work yet.
    const onCalls = (['call', 'video', 'callback'] as const).reduce(
      (n, ch) => n + (a.load[ch] ?? 0) - offers.filter((r) => r.channel === ch).length,
      0,
    );
    return {
      presence: a.presence,
      reason: a.reason,
      activeTasks: load - offers.filter((r) => r.channel === 'chat').length + onCalls,
      onCalls,
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
    const plan = this.#plan(task);
    return plan !== null && this.#decideWidening(task, plan, await this.#readCandidates(task, plan));
  }

  /**
   * #decide over the first window of candidates; when a full window yielded nobody (rejected lately,
   * short of this task's own needs), once more over the whole scan depth.
   */
  async #decideWidening(task: QueuedTask, plan: MatchPlan, lists: AgentAvailability[][]): Promise<boolean> {
    if (await this.#decide(task, plan, lists)) return true;
    if (plan.depth >= this.#opts.scanDepth || !lists.some((l) => l.length === plan.depth)) return false;
    const deeper = { ...plan, depth: this.#opts.scanDepth };
    return this.#decide(task, deeper, await this.#readCandidates(task, deeper));
  }

  /** What a match of this task looks at now: its queue, strategy and (relaxed) requirements. */
  #plan(task: QueuedTask): MatchPlan | null {
    if (this.#closed) return null;
    const queue = this.#queues.get(task.queueId);
    if (!queue) return null;
    const now = this.#now();
    const strategy = queue.strategy ?? 'longest_idle';
    const own = this.#requirements.get(task.taskId) ?? {};
    const base: TaskRequirements = { ...own, skills: [...queueSkills(queue), ...(own.skills ?? [])], language: own.language ?? null };
    const effective = effectiveRequirements({ queueId: task.queueId, enqueuedAt: task.enqueuedAt, requirements: base }, queue.relaxation ?? [], now - task.enqueuedAt);
    // Longest idle takes the first agent the store lists who can take the task: a short window almost
    // always has it, and reading (on Redis, shipping) fewer agents per arrival is what keeps up at load.
    const depth =
      strategy === 'longest_idle' ? Math.min(FIRST_WINDOW, this.#opts.scanDepth) : STORE_ORDERED.has(strategy) ? this.#opts.scanDepth : this.#opts.wideScanDepth;
    return { queue, strategy, now, queues: effective.queues, requirements: effective.requirements, depth };
  }

  /**
   * Whether the store's own order (longest idle among the queue's members) is this task's choice of
   * agent, so it may enqueue and reserve in one step: nothing of the task's own to check (requirements,
   * rejections, nearness), no relaxation (members may be below the current level), and one offer
   * timeout for everyone.
   */
  #storeMayChoose(task: QueuedTask, plan: MatchPlan): boolean {
    return (
      plan.strategy === 'longest_idle' &&
      (plan.queue.relaxation ?? []).length === 0 &&
      plan.queue.preferNearby !== true &&
      !this.#requirements.has(task.taskId) &&
      !this.#memory.has(task.taskId) &&
      (this.#opts.pushOfferTimeoutMs ?? this.#opts.offerTimeoutMs) === this.#opts.offerTimeoutMs
    );
  }

  /** Candidates from the task's queue and any queue relaxation has added (one read per queue). */
  #readCandidates(task: QueuedTask, plan: MatchPlan): Promise<AgentAvailability[][]> {
    return Promise.all(plan.queues.map((q) => this.#store.availableAgents(q, task.channel, plan.depth)));
  }

  /** Ranks the candidates and reserves the first that can still take the task. */
  async #decide(task: QueuedTask, plan: MatchPlan, lists: AgentAvailability[][]): Promise<boolean> {
    if (this.#closed) return false;
    const { queue, strategy, now } = plan;
    const seen = new Set<string>();
    const available: AgentAvailability[] = [];
    for (const a of lists.flat()) {
      if (!seen.has(a.agentId)) available.push(a), seen.add(a.agentId);
    }
    if (available.length === 0) return false;

    const profiles = await this.#profiles(available.map((a) => a.agentId));
    const candidates: Candidate[] = [];
    for (const a of available) {
      const profile = profiles.get(a.agentId);
      // Queue membership was checked when the agent joined; the task's own (relaxed) needs are checked here.
      if (profile && !isEligible(profile, plan.requirements, null)) continue;
      candidates.push({ availability: a, profile: profile ?? { id: a.agentId, skills: [], languages: [], attributes: {}, rating: null, pricePerMinuteMinor: null } });
    }
    const ctx = {
      now,
      channel: task.channel,
      requirements: plan.requirements,
      enqueuedAt: task.enqueuedAt,
      preferredForMs: (queue.preferredAgentSeconds ?? 0) * 1000,
      linearOrder: queue.linearOrder,
      lastServedAgentId: this.#lastServed.get(task.queueId) ?? null,
      weights: queue.weights,
      random: this.#random,
      ringAllWidth: queue.ringAllWidth,
      preferNearby: queue.preferNearby === true,
    };
    this.#scheduleRematch(task, queue, ctx);
    const ranked = this.#order(task, rankCandidates(strategy, candidates, ctx).map((c) => c.availability), now);
    // An agent reachable by push only may get longer: the phone must be unlocked and the app opened.
    const byPush = new Set(available.filter((a) => a.reason === PUSH_REACHABLE_REASON).map((a) => a.agentId));
    const expiresAt = (agentId: string) =>
      now + (byPush.has(agentId) ? (this.#opts.pushOfferTimeoutMs ?? this.#opts.offerTimeoutMs) : this.#opts.offerTimeoutMs);

    if (strategy === 'ring_all') {
      // Several agents at once; the first to accept wins and the others' offers are withdrawn.
      let offered = false;
      for (const agent of ranked.slice(0, offersAtOnce(strategy, ctx, ranked.length))) {
        const result = await this.#store.reserve(task.taskId, agent.agentId, expiresAt(agent.agentId), { shared: true, chatsDuringCalls: queue.chatsDuringCalls === true });
        if (result.ok) this.#offerMade(result.reservation, task, byPush.has(agent.agentId)), (offered = true);
        else if (result.reason === 'task_not_waiting' || result.reason === 'task_reserved') break;
      }
      return offered;
    }
    for (const agent of ranked) {
      const result = await this.#store.reserve(task.taskId, agent.agentId, expiresAt(agent.agentId), { chatsDuringCalls: queue.chatsDuringCalls === true });
      if (result.ok) {
        this.#offerMade(result.reservation, task, byPush.has(agent.agentId));
        return true;
      }
      // Another node (or an earlier await) took the task: nothing more to do for it.
      if (result.reason === 'task_reserved' || result.reason === 'task_not_waiting') return false;
    }
    return false;
  }

  /** Profiles for ranking: agents on this node from memory, others from the loader. */
  async #profiles(agentIds: string[]): Promise<Map<string, EligibilityProfile>> {
    const out = new Map<string, EligibilityProfile>();
    const missing: string[] = [];
    for (const id of agentIds) {
      const local = this.#agents.get(id);
      if (local) out.set(id, eligibilityProfile(local.profile));
      else missing.push(id);
    }
    if (missing.length > 0 && this.#opts.loadProfiles) {
      for (const [id, p] of await this.#opts.loadProfiles(missing)) out.set(id, p);
    }
    return out;
  }

  /** A task whose relaxation step or preferred-agent window is still ahead gets matched again then. */
  #scheduleRematch(task: QueuedTask, queue: RoutingQueue, ctx: Parameters<typeof preferredWindowEndsAt>[0]): void {
    const memory = this.#memoryOf(task.taskId);
    const times = [nextRelaxationAt(task, queue.relaxation ?? [], ctx.now), preferredWindowEndsAt(ctx)].filter((t): t is number => t !== null);
    if (times.length === 0) return;
    const at = Math.min(...times);
    if (memory.rematchAt !== undefined && memory.rematchAt <= at) return;
    memory.rematchAt = at;
    this.#after(Math.max(0, at - this.#now()), () => {
      if (memory.rematchAt === at) memory.rematchAt = undefined;
      this.#background(
        this.#exclusive([task.queueId], async () => {
          const t = await this.#store.getTask(task.taskId);
          if (t && (await this.#store.reservationsOfTask(t.taskId)).length === 0) await this.#matchTask(t);
        }),
      );
    });
  }

  #forget(taskId: string): void {
    this.#memory.delete(taskId);
    this.#requirements.delete(taskId);
  }

  /** An agent has a free slot: gives it the best waiting task across its queues (oldest first). */
  async #matchAgent(agent: AgentAvailability): Promise<void> {
    if (this.#closed || agent.presence !== 'ready') return;
    // Read every queue at once: on Redis the reads go out in one pipeline.
    const heads = (await Promise.all(agent.queues.map((q) => this.#store.waiting(q, this.#opts.scanDepth)))).flat();
    heads.sort(byServiceOrder);
    for (const task of heads) {
      if (task.reserved) continue;
      if (await this.#matchTask(task)) {
        const after = await this.#store.getAgent(agent.agentId);
        if (!after || (after.load[task.channel] ?? 0) >= (after.capacity[task.channel] ?? 0)) return;
      }
    }
  }

  /** Candidates in the order to try: cooled-down rejecters out, timed-out agents last. */
  #order<A extends { agentId: string }>(task: QueuedTask, candidates: A[], now: number): A[] {
    const memory = this.#memory.get(task.taskId);
    if (!memory) return candidates;
    const fresh: A[] = [];
    const timedOut: A[] = [];
    for (const c of candidates) {
      const rejected = memory.rejectedAt.get(c.agentId);
      if (rejected !== undefined && now - rejected < this.#opts.rejectCooldownMs) continue;
      (memory.timedOutBy.has(c.agentId) ? timedOut : fresh).push(c);
    }
    return [...fresh, ...timedOut];
  }

  /** Queues a pass over each queue's head; a request for a queue whose pass still waits to run is merged into it. */
  #requestPass(): void {
    if (this.#closed) return;
    for (const queueId of this.#queues.keys()) {
      if (this.#passQueued.has(queueId)) continue;
      this.#passQueued.add(queueId);
      this.#background(
        this.#exclusive([queueId], async () => {
          this.#passQueued.delete(queueId);
          if (!this.#closed) await this.#passQueue(queueId);
        }),
      );
    }
  }

  /**
   * Runs fn once every step queued before it on any of `keys` (queue ids) is done; see #locks. The keys
   * are taken all at once, so two steps can never wait for each other. Helpers called from inside a
   * step do not lock again.
   */
  #exclusive<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    const run = Promise.all(unique.map((k) => this.#locks.get(k))).then(fn, fn);
    const done = run.catch(() => undefined);
    for (const k of unique) {
      this.#locks.set(k, done);
      // Drop the entry once this step is the last one done, so idle queues hold no promise.
      void done.then(() => {
        if (this.#locks.get(k) === done) this.#locks.delete(k);
      });
    }
    return run;
  }

  /** Queues this agent's availability can matter to; every queue when this node does not host it. */
  #queuesOf(agentId: string): string[] {
    return this.#agents.get(agentId)?.queues ?? [...this.#queues.keys()];
  }

  /**
   * Agents whose slot was just freed each get the oldest task across all their queues (a pass over
   * one queue would hand them that queue's head even when another of their queues has an older
   * task), then the given queues are passed for the tasks that wait again. The step holds the locks
   * of the agents' queues and of `queueIds`.
   */
  async #serveFreed(agentIds: string[], queueIds: string[]): Promise<void> {
    for (const agentId of agentIds) {
      const agent = await this.#store.getAgent(agentId);
      if (agent) await this.#matchAgent(agent);
    }
    await this.#passQueues(queueIds);
  }

  /** Passes over several queues (each once), for a step that holds all their locks. */
  async #passQueues(queueIds: string[]): Promise<void> {
    for (const q of new Set(queueIds)) {
      if (this.#queues.has(q)) await this.#passQueue(q);
    }
  }

  async #passQueue(queueId: string): Promise<void> {
    for (const task of await this.#store.waiting(queueId, this.#opts.scanDepth)) {
      if (this.#closed) return;
      // Read before this pass's earlier matches: one of them may have reserved a later task meanwhile
      // (ring-all widening, another node); reserve() refuses those, so the flag only saves round trips.
      if (!task.reserved) await this.#matchTask(task);
    }
  }

  /** Cancels offers whose timer was lost (their node died), then runs a full pass. */
  async #sweep(): Promise<void> {
    const grace = Math.min(2_000, this.#opts.offerTimeoutMs);
    for (const r of await this.#store.expired(this.#now() - grace, 100)) {
      if (this.#offerTimers.has(offerKey(r.taskId, r.agentId))) continue;
      const task = await this.#store.getTask(r.taskId);
      const keys = [...(task ? [task.queueId] : []), ...this.#queuesOf(r.agentId)];
      await this.#exclusive(keys, async () => {
        if (await this.#store.cancel(r.taskId, r.agentId)) {
          this.#offerEnded(r, 'timeout');
          const away = await this.#noLongerReachable(r.agentId, MISSED_BY_PUSH_REASON);
          if (away) this.safeEmit('presence', r.agentId);
          await this.#serveFreed([r.agentId], [...keys, ...(away ?? [])]);
        }
      });
    }
    this.#requestPass();
  }

  /** `byPush`: the agent was reachable by push only when read for this match; #offerTimedOut reads it again. */
  #offerMade(r: Reservation, task: QueuedTask, byPush: boolean): void {
    const key = offerKey(r.taskId, r.agentId);
    const timer = setTimeout(() => {
      this.#offerTimers.delete(key);
      this.#background(this.#exclusive([task.queueId, ...this.#queuesOf(r.agentId)], () => this.#offerTimedOut(r, task.queueId, byPush)));
    }, Math.max(0, r.expiresAt - this.#now()));
    this.#offerTimers.set(key, timer);
    this.safeEmit('offer', r.agentId, toTicket(task), r.expiresAt, byPush);
    this.safeEmit('presence', r.agentId);
  }

  async #offerTimedOut(r: Reservation, queueId: string, byPush: boolean): Promise<void> {
    if (!(await this.#store.cancel(r.taskId, r.agentId))) return;
    this.#memoryOf(r.taskId).timedOutBy.add(r.agentId);
    this.safeEmit('offer:revoked', r.agentId, r.taskId, 'timeout');
    const local = this.#agents.get(r.agentId);
    const queues = [queueId];
    // A closed phone must not hold customers up offer after offer: one miss and it is not ready.
    const away = byPush ? await this.#noLongerReachable(r.agentId, MISSED_BY_PUSH_REASON) : null;
    if (away) {
      if (local) local.missedOffers = 0;
      queues.push(...away);
    } else if (local && ++local.missedOffers >= this.#opts.maxMissedOffers) {
      const missed = local.missedOffers;
      local.missedOffers = 0;
      await this.#store.setPresence(r.agentId, 'not_ready', `missed ${missed} offers`, this.#now());
      // Not ready means no offers: any others it still holds (ring-all, several chats) go on now.
      queues.push(...(await this.#withdrawOffers(r.agentId, 'not_ready')));
    }
    this.safeEmit('presence', r.agentId);
    // The agent's freed slot goes to the oldest task it can take, not straight back to this one.
    await this.#serveFreed([r.agentId], queues);
  }

  /** Cancels every offer the agent holds; returns the queues of the tasks that are waiting again. */
  async #withdrawOffers(agentId: string, reason: OfferRevokeReason): Promise<string[]> {
    const queues: string[] = [];
    for (const r of await this.#store.reservationsOfAgent(agentId)) {
      if (await this.#store.cancel(r.taskId, agentId)) {
        this.#offerEnded(r, reason);
        const task = await this.#store.getTask(r.taskId);
        if (task) queues.push(task.queueId);
      }
    }
    return queues;
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
    const queues = queuesForAgent(eligibilityProfile(profile), [...this.#queues.values()].map(membershipOf));
    const local = this.#agents.get(profile.id);
    if (local) local.queues = queues;
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
