// Per-queue statistics, live and per interval, fed with routing events. Pure: every event carries its
// time; nothing reads a clock or starts a timer. Memory is bounded: counters live in fixed buckets
// (15 minutes by default) kept for a retention window (24 h), plus the set of tasks waiting right now.
//
// Definitions (docs/routing.md, "Metrics", is the reference):
// - A contact "leaves the queue" when it is answered (an agent accepted it), abandoned (the customer
//   left), or turned into a callback request. Its wait is leave time − enqueue time. Each queue visit
//   counts: a task that returns to the queue and leaves again is a second contact.
// - Service level = contacts that left the queue within the threshold (answered, abandoned or callback,
//   wait ≤ threshold) ÷ all contacts that left the queue, both counted in the interval they left in.
// - ASA = Σ wait of answered ÷ answered. AHT = Σ handle ms ÷ tasks handled (counted when they end).
// - Abandon rate = abandoned ÷ contacts that left the queue.
// - Occupancy = busy ms ÷ (busy + available) ms of the agents serving the queue (not-ready excluded).
// - Agent answer rate = offers accepted ÷ (accepted + missed); offers withdrawn before the agent could
//   act (another ring-all agent took it, the customer left) count for neither.

export interface QueueMetricsOptions {
  /** Service-level threshold, ms (inclusive: a wait of exactly this much is within). */
  serviceLevelThresholdMs: number;
  /** Bucket width, ms; intervals are reported in whole buckets aligned to the epoch (UTC). */
  bucketMs: number;
  /** How long buckets are kept after the newest event, ms. */
  retentionMs: number;
  /**
   * Secondary figure only: when > 0, `serviceLevelExcludingShortAbandons` leaves out abandons within
   * this many ms (customers who left before anyone could answer) from both sides of the ratio.
   * At most serviceLevelThresholdMs.
   */
  shortAbandonMs: number;
}

export const DEFAULT_QUEUE_METRICS_OPTIONS: QueueMetricsOptions = {
  serviceLevelThresholdMs: 20_000,
  bucketMs: 15 * 60_000,
  retentionMs: 24 * 60 * 60_000,
  shortAbandonMs: 0,
};

export type LeaveKind = 'answered' | 'abandoned' | 'callback';
export type AgentTimeState = 'busy' | 'available';

export interface LiveSnapshot {
  now: number;
  waiting: number;
  /** How long the oldest waiting contact has waited (0 when none). */
  longestWaitMs: number;
  oldestEnqueuedAt: number | null;
  /** Waiting contacts already past the service-level threshold: they will count against it. */
  waitingOverThreshold: number;
}

export interface AgentIntervalStats {
  offered: number;
  answered: number;
  missed: number;
  withdrawn: number;
  /** answered ÷ (answered + missed), null when neither happened. */
  answerRate: number | null;
  busyMs: number;
  availableMs: number;
  /** busyMs ÷ (busyMs + availableMs), null when no time was recorded. */
  occupancy: number | null;
}

export interface IntervalSnapshot {
  /** The bucket-aligned bounds covered: [from, to). */
  from: number;
  to: number;
  /** False when part of the interval is older than the retention window (its data is gone). */
  complete: boolean;
  serviceLevelThresholdMs: number;
  /** Contacts that joined the queue in the interval. */
  entered: number;
  /** Contacts that left the queue in the interval: answered + abandoned + callbacks. */
  left: number;
  answered: number;
  abandoned: number;
  callbacks: number;
  /** Of `left`, those whose wait was ≤ the threshold. */
  leftWithinThreshold: number;
  answeredWithinThreshold: number;
  /** leftWithinThreshold ÷ left; null when nobody left. */
  serviceLevel: number | null;
  /** Abandons within shortAbandonMs (0 when that option is off). */
  shortAbandons: number;
  /** (leftWithinThreshold − shortAbandons) ÷ (left − shortAbandons); null when the option is off or nothing is left. */
  serviceLevelExcludingShortAbandons: number | null;
  /** Average speed of answer, ms; null when nothing was answered. */
  asaMs: number | null;
  /** The longest wait among contacts that left, ms; null when nobody left. */
  longestWaitMs: number | null;
  /** abandoned ÷ left; null when nobody left. */
  abandonRate: number | null;
  handled: number;
  /** Average handle time, ms; null when nothing was handled. */
  ahtMs: number | null;
  busyMs: number;
  availableMs: number;
  occupancy: number | null;
  offered: number;
  offersAnswered: number;
  offersMissed: number;
  offersWithdrawn: number;
  answerRate: number | null;
  /** The same per agent. */
  agents: Record<string, AgentIntervalStats>;
}

interface AgentCounts {
  offered: number;
  answered: number;
  missed: number;
  withdrawn: number;
  busyMs: number;
  availableMs: number;
}

interface Bucket {
  entered: number;
  answered: number;
  abandoned: number;
  callbacks: number;
  answeredInSl: number;
  abandonedInSl: number;
  callbacksInSl: number;
  shortAbandons: number;
  answerWaitSum: number;
  longestWait: number;
  handled: number;
  handleSum: number;
  agents: Map<string, AgentCounts>;
}

function emptyBucket(): Bucket {
  return {
    entered: 0,
    answered: 0,
    abandoned: 0,
    callbacks: 0,
    answeredInSl: 0,
    abandonedInSl: 0,
    callbacksInSl: 0,
    shortAbandons: 0,
    answerWaitSum: 0,
    longestWait: -1,
    handled: 0,
    handleSum: 0,
    agents: new Map(),
  };
}

function ratio(num: number, den: number): number | null {
  return den > 0 ? num / den : null;
}

export class QueueMetrics {
  readonly #opts: QueueMetricsOptions;
  /** Tasks waiting now → when they joined. */
  readonly #waiting = new Map<string, number>();
  /** Bucket start → counters. */
  readonly #buckets = new Map<number, Bucket>();
  /** Start of the newest bucket written; retention counts back from it. */
  #newest = -Infinity;

  constructor(
    readonly queueId: string,
    opts: Partial<QueueMetricsOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_QUEUE_METRICS_OPTIONS, ...opts };
    const { bucketMs, retentionMs, serviceLevelThresholdMs } = this.#opts;
    if (!Number.isInteger(bucketMs) || bucketMs < 1000) throw new TypeError('bucketMs must be a whole number of ms, at least 1000');
    if (!(retentionMs >= bucketMs)) throw new TypeError('retentionMs must be at least one bucket');
    if (!(serviceLevelThresholdMs >= 0)) throw new TypeError('serviceLevelThresholdMs must be ≥ 0');
    if (!(this.#opts.shortAbandonMs >= 0 && this.#opts.shortAbandonMs <= serviceLevelThresholdMs)) {
      throw new TypeError('shortAbandonMs must be between 0 and serviceLevelThresholdMs');
    }
  }

  get options(): Readonly<QueueMetricsOptions> {
    return this.#opts;
  }

  // ---- contacts ------------------------------------------------------------------------------

  /** A contact joined the queue at `at`. Idempotent while it waits (the first time stays). */
  enqueued(taskId: string, at: number): boolean {
    if (this.#waiting.has(taskId)) return false;
    this.#waiting.set(taskId, at);
    const b = this.#bucket(at);
    if (b) b.entered++;
    return true;
  }

  /**
   * Puts a contact back into the waiting set without counting an entry: rebuilding after a restart,
   * with the time it originally joined.
   */
  restoreWaiting(taskId: string, enqueuedAt: number): void {
    if (!this.#waiting.has(taskId)) this.#waiting.set(taskId, enqueuedAt);
  }

  answered(taskId: string, at: number): boolean {
    return this.#leave(taskId, at, 'answered');
  }

  abandoned(taskId: string, at: number): boolean {
    return this.#leave(taskId, at, 'abandoned');
  }

  callbackRequested(taskId: string, at: number): boolean {
    return this.#leave(taskId, at, 'callback');
  }

  /** The contact left without counting anywhere (moved to another queue, deleted). */
  removed(taskId: string): boolean {
    return this.#waiting.delete(taskId);
  }

  /** A task of this queue ended: talk plus wrap-up took handleMs; counted in the bucket of `at`. */
  handled(taskId: string, handleMs: number, at: number): boolean {
    void taskId; // kept for symmetry and logs; handle time is not tied to a queue visit
    if (!Number.isFinite(handleMs) || handleMs < 0) return false;
    const b = this.#bucket(at);
    if (!b) return false;
    b.handled++;
    b.handleSum += handleMs;
    return true;
  }

  // ---- offers and agent time ----------------------------------------------------------------------

  offered(agentId: string, at: number): boolean {
    return this.#agentCount(agentId, at, 'offered');
  }

  offerAnswered(agentId: string, at: number): boolean {
    return this.#agentCount(agentId, at, 'answered');
  }

  /** The agent rejected the offer or let it time out. */
  offerMissed(agentId: string, at: number): boolean {
    return this.#agentCount(agentId, at, 'missed');
  }

  /** The offer went away before the agent could act: another agent took it (ring-all), the customer left. */
  offerWithdrawn(agentId: string, at: number): boolean {
    return this.#agentCount(agentId, at, 'withdrawn');
  }

  /**
   * The agent spent [from, to) busy (holding at least one task, wrap-up included) or available (ready
   * with nothing). Split exactly across buckets. Feed it to every queue the agent serves.
   */
  agentTime(agentId: string, state: AgentTimeState, from: number, to: number): void {
    if (!(to > from)) return;
    const size = this.#opts.bucketMs;
    this.#bucket(to - 1); // moves the retention window first, so a huge span costs at most one window
    let t = Math.max(from, this.#newest - this.#opts.retentionMs + size);
    while (t < to) {
      const start = Math.floor(t / size) * size;
      const end = Math.min(to, start + size);
      const b = this.#bucket(t);
      if (b) {
        const a = this.#agent(b, agentId);
        if (state === 'busy') a.busyMs += end - t;
        else a.availableMs += end - t;
      }
      t = end;
    }
  }

  // ---- reading --------------------------------------------------------------------------------

  live(now: number): LiveSnapshot {
    let oldest: number | null = null;
    let over = 0;
    for (const at of this.#waiting.values()) {
      if (oldest === null || at < oldest) oldest = at;
      if (now - at > this.#opts.serviceLevelThresholdMs) over++;
    }
    return {
      now,
      waiting: this.#waiting.size,
      longestWaitMs: oldest === null ? 0 : Math.max(0, now - oldest),
      oldestEnqueuedAt: oldest,
      waitingOverThreshold: over,
    };
  }

  /** Contacts waiting now (live().waiting without the scan). */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /** Whether the task is counted as waiting here. */
  isWaiting(taskId: string): boolean {
    return this.#waiting.has(taskId);
  }

  /** Totals over [from, to), widened to whole buckets (from rounded down, to rounded up). */
  interval(from: number, to: number): IntervalSnapshot {
    if (!(to > from)) throw new TypeError(`interval needs to > from (got ${from}..${to})`);
    const size = this.#opts.bucketMs;
    const start = Math.floor(from / size) * size;
    const end = Math.ceil(to / size) * size;
    const picked: Bucket[] = [];
    for (const [s, b] of this.#buckets) if (s >= start && s < end) picked.push(b);
    return this.#snapshot(start, end, picked);
  }

  /** One snapshot per bucket over [from, to), empty buckets included: for charts and reports. */
  buckets(from: number, to: number): IntervalSnapshot[] {
    if (!(to > from)) throw new TypeError(`buckets needs to > from (got ${from}..${to})`);
    const size = this.#opts.bucketMs;
    const out: IntervalSnapshot[] = [];
    for (let s = Math.floor(from / size) * size; s < to; s += size) {
      const b = this.#buckets.get(s);
      out.push(this.#snapshot(s, s + size, b ? [b] : []));
    }
    return out;
  }

  /** Drops buckets older than the retention window before `now` (when no events arrive to do it). */
  prune(now: number): void {
    this.#advance(Math.floor(now / this.#opts.bucketMs) * this.#opts.bucketMs);
  }

  /** How many buckets are held (memory check). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  // ---- internals ------------------------------------------------------------------------------

  #leave(taskId: string, at: number, kind: LeaveKind): boolean {
    const enqueuedAt = this.#waiting.get(taskId);
    if (enqueuedAt === undefined) return false;
    this.#waiting.delete(taskId);
    const b = this.#bucket(at);
    if (!b) return false;
    const wait = Math.max(0, at - enqueuedAt);
    const within = wait <= this.#opts.serviceLevelThresholdMs;
    b.longestWait = Math.max(b.longestWait, wait);
    if (kind === 'answered') {
      b.answered++;
      b.answerWaitSum += wait;
      if (within) b.answeredInSl++;
    } else if (kind === 'abandoned') {
      b.abandoned++;
      if (within) b.abandonedInSl++;
      if (this.#opts.shortAbandonMs > 0 && wait <= this.#opts.shortAbandonMs) b.shortAbandons++;
    } else {
      b.callbacks++;
      if (within) b.callbacksInSl++;
    }
    return true;
  }

  #agentCount(agentId: string, at: number, field: 'offered' | 'answered' | 'missed' | 'withdrawn'): boolean {
    const b = this.#bucket(at);
    if (!b) return false;
    this.#agent(b, agentId)[field]++;
    return true;
  }

  #agent(b: Bucket, agentId: string): AgentCounts {
    let a = b.agents.get(agentId);
    if (!a) {
      a = { offered: 0, answered: 0, missed: 0, withdrawn: 0, busyMs: 0, availableMs: 0 };
      b.agents.set(agentId, a);
    }
    return a;
  }

  /** The bucket for time `at`, created if needed; null when `at` is older than the retention window. */
  #bucket(at: number): Bucket | null {
    const size = this.#opts.bucketMs;
    const start = Math.floor(at / size) * size;
    if (start > this.#newest) this.#advance(start);
    if (start <= this.#newest - this.#opts.retentionMs) return null;
    let b = this.#buckets.get(start);
    if (!b) {
      b = emptyBucket();
      this.#buckets.set(start, b);
    }
    return b;
  }

  #advance(newestStart: number): void {
    if (newestStart > this.#newest) this.#newest = newestStart;
    const cutoff = this.#newest - this.#opts.retentionMs;
    for (const s of this.#buckets.keys()) if (s <= cutoff) this.#buckets.delete(s);
  }

  #snapshot(from: number, to: number, picked: Bucket[]): IntervalSnapshot {
    const t = emptyBucket();
    const agents = new Map<string, AgentCounts>();
    for (const b of picked) {
      t.entered += b.entered;
      t.answered += b.answered;
      t.abandoned += b.abandoned;
      t.callbacks += b.callbacks;
      t.answeredInSl += b.answeredInSl;
      t.abandonedInSl += b.abandonedInSl;
      t.callbacksInSl += b.callbacksInSl;
      t.shortAbandons += b.shortAbandons;
      t.answerWaitSum += b.answerWaitSum;
      t.longestWait = Math.max(t.longestWait, b.longestWait);
      t.handled += b.handled;
      t.handleSum += b.handleSum;
      for (const [id, a] of b.agents) {
        const sum = agents.get(id) ?? { offered: 0, answered: 0, missed: 0, withdrawn: 0, busyMs: 0, availableMs: 0 };
        sum.offered += a.offered;
        sum.answered += a.answered;
        sum.missed += a.missed;
        sum.withdrawn += a.withdrawn;
        sum.busyMs += a.busyMs;
        sum.availableMs += a.availableMs;
        agents.set(id, sum);
      }
    }
    const left = t.answered + t.abandoned + t.callbacks;
    const within = t.answeredInSl + t.abandonedInSl + t.callbacksInSl;
    const all: AgentCounts = { offered: 0, answered: 0, missed: 0, withdrawn: 0, busyMs: 0, availableMs: 0 };
    const perAgent: Record<string, AgentIntervalStats> = {};
    for (const id of [...agents.keys()].sort()) {
      const a = agents.get(id)!;
      all.offered += a.offered;
      all.answered += a.answered;
      all.missed += a.missed;
      all.withdrawn += a.withdrawn;
      all.busyMs += a.busyMs;
      all.availableMs += a.availableMs;
      perAgent[id] = {
        ...a,
        answerRate: ratio(a.answered, a.answered + a.missed),
        occupancy: ratio(a.busyMs, a.busyMs + a.availableMs),
      };
    }
    const short = this.#opts.shortAbandonMs > 0 ? t.shortAbandons : 0;
    return {
      from,
      to,
      complete: from > this.#newest - this.#opts.retentionMs,
      serviceLevelThresholdMs: this.#opts.serviceLevelThresholdMs,
      entered: t.entered,
      left,
      answered: t.answered,
      abandoned: t.abandoned,
      callbacks: t.callbacks,
      leftWithinThreshold: within,
      answeredWithinThreshold: t.answeredInSl,
      serviceLevel: ratio(within, left),
      shortAbandons: short,
      serviceLevelExcludingShortAbandons: this.#opts.shortAbandonMs > 0 ? ratio(within - short, left - short) : null,
      asaMs: ratio(t.answerWaitSum, t.answered),
      longestWaitMs: t.longestWait >= 0 ? t.longestWait : null,
      abandonRate: ratio(t.abandoned, left),
      handled: t.handled,
      ahtMs: ratio(t.handleSum, t.handled),
      busyMs: all.busyMs,
      availableMs: all.availableMs,
      occupancy: ratio(all.busyMs, all.busyMs + all.availableMs),
      offered: all.offered,
      offersAnswered: all.answered,
      offersMissed: all.missed,
      offersWithdrawn: all.withdrawn,
      answerRate: ratio(all.answered, all.answered + all.missed),
      agents: perAgent,
    };
  }
}
