// Live queue metrics: feeds one QueueMetrics and the expected-wait history per queue from the chat
// observer (queued, answered, abandoned, completed) and routing events (offers, presence, queue order).
// Readers (HTTP, the /supervisor stream, /metrics) get plain views; nothing here does I/O except the
// lookups it is given.
//
// Counts come from this node's events. The waiting set is also checked against the shared queue store
// (at start and periodically), so tasks restored at start or returned to the queue without a "queued"
// event are seen, and a task that left on another node does not wait here forever.
import { TypedEmitter, type EventMap } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import type { ChatObserverEvents } from '../chat/chat-service.js';
import type { QueueMetricsSnapshot, QueueMetricsView } from '../protocol/http.js';
import { PUSH_REACHABLE_REASON, type OfferRevokeReason, type RoutingEngine, type RoutingEvents, type TaskTicket } from './engine.js';
import { DEFAULT_QUEUE_METRICS_OPTIONS, QueueMetrics, type IntervalSnapshot, type QueueMetricsOptions } from './queue-metrics.js';
import { ExpectedWait, type ExpectedWaitOptions } from './expected-wait.js';
import { WaitingHistory, type WaitingSample } from './waiting-history.js';

/** What the monitor needs of an emitter: subscribing and unsubscribing. */
export interface EventSource<E extends EventMap> {
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): unknown;
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): unknown;
}

export interface AgentWorkState {
  presence: 'ready' | 'not_ready';
  /** Tasks held, wrap-up included (offers not counted). */
  activeTasks: number;
  /** Task slots (chat capacity). */
  capacity: number;
  /** Queues the agent serves. */
  queues: string[];
  /** Ready with the app closed, reachable by push only (docs/push.md). */
  byPush?: boolean;
}

/** An agent's state as its app shows it (and a wallboard counts it). */
export type ShownAgentState = 'ready' | 'busy' | 'wrapup' | 'not_ready' | 'logged_off';

export interface QueueMonitorDeps {
  chat: EventSource<ChatObserverEvents>;
  routing: EventSource<RoutingEvents>;
  /** The agent's state now; null when logged off. */
  agentState(agentId: string): Promise<AgentWorkState | null>;
  /** The state the agent's app shows (wrap-up needs the tasks). Default: derived from agentState, without wrap-up. */
  shownState?(agentId: string): Promise<ShownAgentState>;
  /** A queue's waiting tasks in service order, from the shared queue store. */
  waitingOrder(queueId: string, limit: number): Promise<Array<Pick<TaskTicket, 'id' | 'enqueuedAt'>>>;
  /** Every queue's id, in display order. */
  queueIds(): Promise<string[]>;
}

export interface QueueMonitorOptions {
  metrics: Partial<QueueMetricsOptions>;
  expectedWait: Partial<ExpectedWaitOptions>;
  /** Period of the queue re-listing, waiting-set check and pruning; 0 turns the timer off (tests). */
  reconcileIntervalMs: number;
  /** A task counted as waiting that the store no longer holds, with no leave event, is dropped after this. */
  staleWaitingMs: number;
  now: () => number;
  logger?: Logger;
}

export const DEFAULT_QUEUE_MONITOR_OPTIONS: QueueMonitorOptions = {
  metrics: {},
  expectedWait: {},
  reconcileIntervalMs: 5_000,
  staleWaitingMs: 15_000,
  now: Date.now,
};

/** Waiting tasks read per queue when checking against the store; beyond it nothing is dropped. */
const RECONCILE_LIMIT = 1_000;
/** Offers remembered (for their queue) until revoked or answered; older than expiry + this are forgotten. */
const OFFER_GRACE_MS = 60_000;
const MAX_OFFERS = 10_000;
/** How long a task's leave time is kept, against a slower store read putting it back (see #reconcile). */
const LEFT_MEMORY_MS = 60_000;

const MISSED: ReadonlySet<OfferRevokeReason> = new Set(['timeout', 'rejected']);

interface QueueState {
  metrics: QueueMetrics;
  /** Tasks counted as waiting → when the monitor added them (its clock). */
  waiting: Map<string, number>;
  /** Of those, put in by a store check without counting an entry; a later task:queued still counts one. */
  restored: Set<string>;
  /** Counted as waiting but absent from the store: since when. */
  missingSince: Map<string, number>;
  reconciling: boolean;
  reconcileAgain: boolean;
}

interface AgentTrack {
  presence: 'ready' | 'not_ready' | null;
  /** busy: holding a task; available: ready with nothing; null: not counted (not ready, logged off). */
  state: 'busy' | 'available' | null;
  since: number;
  queues: string[];
  capacity: number;
  /** For the wallboard's agents by state. */
  shown: ShownAgentState;
  /** Reachable by push only (counted among the ready). */
  byPush: boolean;
  /** The queues served when last logged in (kept while logged off). */
  lastQueues: string[];
}

/** One state lookup per agent at a time; events meanwhile are folded into one more lookup. */
interface AgentLookup {
  /** Time of the latest event not yet looked up, or null. */
  nextAt: number | null;
}

const offerKey = (taskId: string, agentId: string) => `${taskId}\u0000${agentId}`;

export class QueueMonitor {
  readonly #deps: QueueMonitorDeps;
  readonly #opts: QueueMonitorOptions;
  readonly #metricsOpts: QueueMetricsOptions;
  readonly #queues = new Map<string, QueueState>();
  readonly #ew: ExpectedWait;
  /** Waiting over the last half hour per queue, for a wallboard that just opened. */
  readonly #history = new WaitingHistory();
  readonly #agents = new Map<string, AgentTrack>();
  readonly #lookups = new Map<string, AgentLookup>();
  readonly #offers = new Map<string, { queueId: string; expiresAt: number }>();
  /** Tasks that left lately: when this monitor saw it (its clock) and when it happened (the event's time). */
  readonly #leftAt = new Map<string, { seenAt: number; eventAt: number }>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #changes = new TypedEmitter<{ change: [queueId: string] }>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #timer: NodeJS.Timeout | null;
  #closed = false;
  /** The first queue listing and store check. */
  readonly ready: Promise<void>;

  constructor(deps: QueueMonitorDeps, opts: Partial<QueueMonitorOptions> = {}) {
    this.#deps = deps;
    this.#opts = { ...DEFAULT_QUEUE_MONITOR_OPTIONS, ...opts };
    this.#metricsOpts = { ...DEFAULT_QUEUE_METRICS_OPTIONS, ...this.#opts.metrics };
    new QueueMetrics('check', this.#metricsOpts); // fails fast on bad options
    this.#ew = new ExpectedWait(this.#opts.expectedWait);
    this.#changes.onListenerError = (_event, err) => this.#opts.logger?.error('queue metrics listener failed', { err });

    const { chat, routing } = deps;
    this.#listen(chat, 'task:queued', (e) => this.#queued(e.taskId, e.queueId, e.at));
    this.#listen(chat, 'task:answered', (e) => this.#answered(e));
    this.#listen(chat, 'task:abandoned', (e) => this.#left('abandoned', e));
    this.#listen(chat, 'task:completed', (e) => this.#completed(e));
    // Wrap-up starts and ends without a routing event of its own: look the agent up again.
    this.#listen(chat, 'task:ended', (e) => this.#presence(e.agentId));
    this.#listen(chat, 'task:completed', (e) => this.#presence(e.agentId));
    this.#listen(routing, 'offer', (agentId, ticket, expiresAt) => this.#offer(agentId, ticket, expiresAt));
    this.#listen(routing, 'offer:revoked', (agentId, taskId, reason) => this.#revoked(agentId, taskId, reason));
    this.#listen(routing, 'presence', (agentId) => this.#presence(agentId));
    this.#listen(routing, 'agent:logged-off', (agentId) => this.#presence(agentId));
    // Positions changed. The store check is left to the timer: on a busy queue this fires constantly.
    this.#listen(routing, 'queue:changed', (queueId) => this.#changed(queueId));

    this.ready = this.#track(this.refresh());
    if (this.#opts.reconcileIntervalMs > 0) {
      this.#timer = setInterval(() => void this.#track(this.refresh()), this.#opts.reconcileIntervalMs);
      this.#timer.unref();
    } else {
      this.#timer = null;
    }
  }

  get bucketMs(): number {
    return this.#metricsOpts.bucketMs;
  }

  get retentionMs(): number {
    return this.#metricsOpts.retentionMs;
  }

  hasQueue(queueId: string): boolean {
    return this.#queues.has(queueId);
  }

  /** Called (synchronously, possibly often) whenever a queue's figures change; returns an unsubscribe. */
  onChange(listener: (queueId: string) => void): () => void {
    this.#changes.on('change', listener);
    return () => this.#changes.off('change', listener);
  }

  // ---- reading ------------------------------------------------------------------------------

  live(queueId: string): QueueMetricsView['live'] | null {
    const q = this.#queues.get(queueId);
    if (!q) return null;
    const now = this.#opts.now();
    const l = q.metrics.live(now);
    return {
      waiting: l.waiting,
      longestWaitMs: l.longestWaitMs,
      oldestEnqueuedAt: l.oldestEnqueuedAt,
      waitingOverThreshold: l.waitingOverThreshold,
      servingAgents: this.#servingSlots(queueId),
      expectedWaitMs: this.expectedWaitMs(queueId, l.waiting + 1),
      agents: this.#agentsByState(queueId),
    };
  }

  /** Figures over [from, to), widened to whole intervals; null for an unknown queue. */
  interval(queueId: string, from: number, to: number): IntervalSnapshot | null {
    const q = this.#queues.get(queueId);
    if (!q) return null;
    this.#flushAgentTime(this.#opts.now());
    return q.metrics.interval(from, to);
  }

  /** Live figures and the interval [from, to) (default: the current one). */
  snapshot(queueId: string, from?: number, to?: number): QueueMetricsView | null {
    const now = this.#opts.now();
    const start = from ?? now;
    const interval = this.interval(queueId, start, to ?? Math.max(now, start) + 1);
    const live = this.live(queueId);
    return interval && live ? { queueId, at: now, live, interval } : null;
  }

  /** Every known queue, live and over the current interval. */
  snapshotAll(): QueueMetricsSnapshot {
    const now = this.#opts.now();
    const queues: QueueMetricsView[] = [];
    for (const id of this.#queues.keys()) {
      const v = this.snapshot(id, now, now + 1);
      if (v) queues.push(v);
    }
    return { at: now, queues };
  }

  /** How many waited over the last half hour, per queue (peaks per 15 s; see waiting-history.ts). */
  waitingHistory(): { at: number; bucketMs: number; windowMs: number; queues: Record<string, WaitingSample[]> } {
    const now = this.#opts.now();
    const queues: Record<string, WaitingSample[]> = {};
    for (const id of this.#queues.keys()) queues[id] = this.#history.samples(id, now);
    const { bucketMs, windowMs } = this.#history.options;
    return { at: now, bucketMs, windowMs, queues };
  }

  /** Expected wait of the customer at `position` (1-based), ms; null when unknown. */
  expectedWaitMs(queueId: string, position: number): number | null {
    if (!Number.isInteger(position) || position < 1) return null;
    return this.#ew.estimate(queueId, position, this.#servingSlots(queueId), this.#opts.now())?.ms ?? null;
  }

  // ---- upkeep -------------------------------------------------------------------------------

  /** Re-lists the queues (a new one shows up at once). */
  async syncQueues(): Promise<void> {
    if (this.#closed) return;
    for (const id of await this.#deps.queueIds()) this.#queue(id);
  }

  /** Re-lists the queues, checks every waiting set against the store, drops old data. */
  async refresh(): Promise<void> {
    await this.syncQueues();
    if (this.#closed) return;
    const now = this.#opts.now();
    for (const [id, q] of this.#queues) {
      q.metrics.prune(now);
      this.#history.record(id, now, q.metrics.waitingCount);
    }
    for (const [id, left] of this.#leftAt) if (now - left.seenAt > LEFT_MEMORY_MS) this.#leftAt.delete(id);
    for (const [key, o] of this.#offers) if (now - o.expiresAt > OFFER_GRACE_MS) this.#offers.delete(key);
    await Promise.all([...this.#queues.keys()].map((id) => this.#reconcile(id)));
  }

  /** Resolves when the lookups started so far have been applied (tests, orderly shutdown). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#changes.removeAllListeners();
  }

  // ---- events -------------------------------------------------------------------------------

  #listen<E extends EventMap, K extends keyof E & string>(source: EventSource<E>, event: K, listener: (...args: E[K]) => void): void {
    const guarded = (...args: E[K]) => {
      if (!this.#closed) listener(...args);
    };
    source.on(event, guarded);
    this.#unsubscribe.push(() => source.off(event, guarded));
  }

  #queued(taskId: string, queueId: string, at: number): void {
    // Relayed from another node after the task already left here (pub/sub does not order events of
    // different nodes): a stale arrival, not a new one.
    if (at < (this.#leftAt.get(taskId)?.eventAt ?? -Infinity)) return;
    const q = this.#queue(queueId);
    // Put back by a store check first: take it out again so the arrival is counted.
    if (q.restored.delete(taskId)) q.metrics.removed(taskId);
    q.metrics.enqueued(taskId, at);
    q.waiting.set(taskId, this.#opts.now());
    q.missingSince.delete(taskId);
    this.#leftAt.delete(taskId);
    this.#changed(queueId);
  }

  #answered(e: ChatObserverEvents['task:answered'][0]): void {
    const q = this.#left('answered', e);
    q.metrics.offerAnswered(e.agentId, e.at);
    this.#offers.delete(offerKey(e.taskId, e.agentId));
    this.#ew.recordAnswered(e.queueId, e.waitMs, e.at);
  }

  #left(kind: 'answered' | 'abandoned', e: { taskId: string; queueId: string; at: number; waitMs: number }): QueueState {
    const q = this.#queue(e.queueId);
    // Waiting since before this node saw it (a restart, another node): the event says how long.
    if (!q.metrics.isWaiting(e.taskId)) q.metrics.restoreWaiting(e.taskId, e.at - e.waitMs);
    if (kind === 'answered') q.metrics.answered(e.taskId, e.at);
    else q.metrics.abandoned(e.taskId, e.at);
    this.#forgetWaiting(q, e.taskId);
    this.#leftAt.set(e.taskId, { seenAt: this.#opts.now(), eventAt: e.at });
    this.#changed(e.queueId);
    return q;
  }

  #completed(e: ChatObserverEvents['task:completed'][0]): void {
    this.#queue(e.queueId).metrics.handled(e.taskId, e.handleMs, e.at);
    this.#ew.recordHandled(e.queueId, e.handleMs, e.at);
    this.#changed(e.queueId);
  }

  #offer(agentId: string, ticket: TaskTicket, expiresAt: number): void {
    this.#queue(ticket.queueId).metrics.offered(agentId, this.#opts.now());
    if (this.#offers.size >= MAX_OFFERS) this.#offers.delete(this.#offers.keys().next().value!);
    this.#offers.set(offerKey(ticket.id, agentId), { queueId: ticket.queueId, expiresAt });
    this.#changed(ticket.queueId);
  }

  #revoked(agentId: string, taskId: string, reason: OfferRevokeReason): void {
    const key = offerKey(taskId, agentId);
    const offer = this.#offers.get(key);
    if (!offer) return; // offered before this monitor started: its queue is unknown
    this.#offers.delete(key);
    const m = this.#queue(offer.queueId).metrics;
    if (MISSED.has(reason)) m.offerMissed(agentId, this.#opts.now());
    else m.offerWithdrawn(agentId, this.#opts.now());
    this.#changed(offer.queueId);
  }

  // Presence events come in bursts (offer, accept, release): lookups are serialised per agent, so they
  // apply in order, and events arriving meanwhile cost one more lookup, not one each.
  #presence(agentId: string): void {
    const at = this.#opts.now();
    const pending = this.#lookups.get(agentId);
    if (pending) {
      pending.nextAt = at;
      return;
    }
    const lookup: AgentLookup = { nextAt: at };
    this.#lookups.set(agentId, lookup);
    this.#track(
      (async () => {
        try {
          while (lookup.nextAt !== null && !this.#closed) {
            const when = lookup.nextAt;
            lookup.nextAt = null;
            const state = await this.#deps.agentState(agentId);
            const shown = state && this.#deps.shownState ? await this.#deps.shownState(agentId) : undefined;
            this.#applyAgent(agentId, state, when, shown);
          }
        } catch (err) {
          if (!this.#closed) this.#opts.logger?.warn('reading agent state for queue metrics failed', { agentId, err });
        } finally {
          this.#lookups.delete(agentId);
        }
      })(),
    );
  }

  #applyAgent(agentId: string, s: AgentWorkState | null, at: number, shown?: ShownAgentState): void {
    if (this.#closed) return;
    let track = this.#agents.get(agentId);
    if (!track) {
      track = { presence: null, state: null, since: at, queues: [], capacity: 0, shown: 'logged_off', byPush: false, lastQueues: [] };
      this.#agents.set(agentId, track);
    }
    const when = Math.max(at, track.since);
    this.#closeSpan(agentId, track, when);
    const before = track.queues;
    track.presence = s?.presence ?? null;
    track.state = !s ? null : s.activeTasks > 0 ? 'busy' : s.presence === 'ready' ? 'available' : null;
    track.since = when;
    track.queues = s?.queues ?? [];
    track.capacity = s?.capacity ?? 0;
    track.shown = !s ? 'logged_off' : shown && shown !== 'logged_off' ? shown : s.presence === 'not_ready' ? 'not_ready' : s.activeTasks >= s.capacity ? 'busy' : 'ready';
    track.byPush = s?.byPush === true;
    if (s) track.lastQueues = s.queues;
    for (const id of new Set([...before, ...track.queues, ...track.lastQueues])) this.#changed(id);
  }

  /** Books the agent's current span up to `to` in every queue it serves. */
  #closeSpan(agentId: string, track: AgentTrack, to: number): void {
    if (!track.state || !(to > track.since)) return;
    for (const id of track.queues) this.#queue(id).metrics.agentTime(agentId, track.state, track.since, to);
  }

  /** Open spans are booked up to now before reading, so occupancy includes the time in progress. */
  #flushAgentTime(now: number): void {
    for (const [agentId, track] of this.#agents) {
      if (!track.state || !(now > track.since)) continue;
      this.#closeSpan(agentId, track, now);
      track.since = now;
    }
  }

  /** Agents of the queue by the state their app shows; logged off: those who served it when last in. */
  #agentsByState(queueId: string): QueueMetricsView['live']['agents'] {
    const n = { ready: 0, byPush: 0, busy: 0, wrapup: 0, notReady: 0, loggedOff: 0 };
    for (const t of this.#agents.values()) {
      if (!t.lastQueues.includes(queueId)) continue;
      if (t.shown === 'ready') {
        n.ready++;
        // Offers reach them by push, with a longer timeout: ready, but slower to answer.
        if (t.byPush) n.byPush++;
      } else if (t.shown === 'busy') n.busy++;
      else if (t.shown === 'wrapup') n.wrapup++;
      else if (t.shown === 'not_ready') n.notReady++;
      else n.loggedOff++;
    }
    return n;
  }

  /** Task slots of ready agents serving the queue (the EWT formula's servingAgents). */
  #servingSlots(queueId: string): number {
    let slots = 0;
    for (const t of this.#agents.values()) if (t.presence === 'ready' && t.queues.includes(queueId)) slots += t.capacity;
    return slots;
  }

  // ---- the waiting set against the store ------------------------------------------------------

  async #reconcile(queueId: string): Promise<void> {
    const q = this.#queue(queueId);
    if (q.reconciling) {
      q.reconcileAgain = true;
      return;
    }
    q.reconciling = true;
    try {
      do {
        q.reconcileAgain = false;
        const startedAt = this.#opts.now();
        const order = await this.#deps.waitingOrder(queueId, RECONCILE_LIMIT);
        if (this.#closed) return;
        const now = this.#opts.now();
        const seen = new Set<string>();
        let changed = false;
        for (const t of order) {
          seen.add(t.id);
          q.missingSince.delete(t.id);
          if (q.metrics.isWaiting(t.id)) continue;
          // Left while the read was under way: the read may predate the leave.
          if ((this.#leftAt.get(t.id)?.seenAt ?? -Infinity) >= startedAt) continue;
          q.metrics.restoreWaiting(t.id, t.enqueuedAt);
          q.waiting.set(t.id, now);
          q.restored.add(t.id);
          changed = true;
        }
        if (order.length < RECONCILE_LIMIT) {
          for (const [id, addedAt] of q.waiting) {
            if (seen.has(id) || addedAt >= startedAt) continue;
            const since = q.missingSince.get(id);
            if (since === undefined) q.missingSince.set(id, startedAt);
            else if (now - since >= this.#opts.staleWaitingMs) {
              // Left without an event here (answered or abandoned on another node): not counted.
              q.metrics.removed(id);
              this.#forgetWaiting(q, id);
              changed = true;
            }
          }
        }
        if (changed) this.#changed(queueId);
      } while (q.reconcileAgain && !this.#closed);
    } catch (err) {
      this.#opts.logger?.warn('checking a queue against the store failed', { queueId, err });
    } finally {
      q.reconciling = false;
    }
  }

  #forgetWaiting(q: QueueState, taskId: string): void {
    q.waiting.delete(taskId);
    q.restored.delete(taskId);
    q.missingSince.delete(taskId);
  }

  // ---- helpers ------------------------------------------------------------------------------

  #queue(queueId: string): QueueState {
    let q = this.#queues.get(queueId);
    if (!q) {
      q = {
        metrics: new QueueMetrics(queueId, this.#metricsOpts),
        waiting: new Map(),
        restored: new Set(),
        missingSince: new Map(),
        reconciling: false,
        reconcileAgain: false,
      };
      this.#queues.set(queueId, q);
    }
    return q;
  }

  #changed(queueId: string): void {
    const q = this.#queues.get(queueId);
    if (q) this.#history.record(queueId, this.#opts.now(), q.metrics.waitingCount);
    this.#changes.safeEmit('change', queueId);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.catch((err: unknown) => {
      if (!this.#closed) this.#opts.logger?.warn('queue metrics upkeep failed', { err });
    }) as Promise<T>;
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
    return tracked;
  }
}

/** The routing side of the monitor's dependencies, from the engine. */
export function routingSource(engine: Pick<RoutingEngine, 'on' | 'off' | 'agentSnapshot' | 'waitingOrder' | 'store'>): Pick<QueueMonitorDeps, 'routing' | 'agentState' | 'waitingOrder'> {
  return {
    routing: engine,
    async agentState(agentId) {
      const [snapshot, stored] = await Promise.all([engine.agentSnapshot(agentId), engine.store.getAgent(agentId)]);
      if (!snapshot || !stored) return null;
      return {
        presence: snapshot.presence,
        activeTasks: snapshot.activeTasks,
        capacity: snapshot.capacity,
        queues: stored.queues,
        // The reason is in the shared store: every node of a cluster sees it on its own lookup.
        byPush: snapshot.presence === 'ready' && snapshot.reason === PUSH_REACHABLE_REASON,
      };
    },
    waitingOrder: (queueId, limit) => engine.waitingOrder(queueId, limit),
  };
}
