// Expected wait time (EWT) for a waiting customer, from the queue's recent handle times:
//
//   EWT(p) = p / servingAgents × averageHandleTime        (clamped to [0, maxEstimateMs])
//
// p is the customer's 1-based place in the queue, servingAgents the number of task slots working the
// queue (agents × their capacity on the channel), averageHandleTime the mean of the last N handle
// times (talk + wrap-up) of the queue. With no history yet, or nobody serving, the answer is null —
// "unknown" — rather than an invented number. Pure: times are passed in.
//
// Limits (docs/routing.md): it assumes one slot frees every AHT / servingAgents on average, so it
// ignores how far into their current task each agent is, tasks ahead that will abandon, higher-priority
// arrivals that will overtake, relaxation bringing in other queues' agents, and agents shared with
// other queues. It is a fair "about N minutes", not a promise.

/** A fixed-size buffer that keeps the newest `capacity` items (oldest dropped first). */
export class RingBuffer<T> {
  readonly #items: T[] = [];
  #next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }

  push(item: T): void {
    if (this.#items.length < this.capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Oldest first. */
  values(): T[] {
    if (this.#items.length < this.capacity) return [...this.#items];
    return [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }

  clear(): void {
    this.#items.length = 0;
    this.#next = 0;
  }
}

export interface ExpectedWaitOptions {
  /** Recent samples kept per queue and kind (handle, answer). */
  historySize: number;
  /** Fewer usable samples than this: the estimate is unknown (null). One chat is not a history. */
  minSamples: number;
  /** Samples older than this (ms before `now`) are ignored; 0 keeps them however old. */
  maxSampleAgeMs: number;
  /** Estimates above this are reported as this, with `capped: true` ("more than an hour"). */
  maxEstimateMs: number;
}

export const DEFAULT_EXPECTED_WAIT_OPTIONS: ExpectedWaitOptions = {
  historySize: 50,
  minSamples: 3,
  maxSampleAgeMs: 0,
  maxEstimateMs: 60 * 60_000,
};

export interface WaitEstimate {
  /** The estimate, ms, within [0, maxEstimateMs]. */
  ms: number;
  /** True when the formula gave more than maxEstimateMs. */
  capped: boolean;
  position: number;
  servingAgents: number;
  averageHandleMs: number;
  /** How many handle-time samples the average is from. */
  samples: number;
}

interface Sample {
  ms: number;
  at: number;
}

/** The formula alone: p / servingAgents × averageHandleMs, clamped. Null when nobody is serving. */
export function expectedWaitMs(position: number, servingAgents: number, averageHandleMs: number, maxEstimateMs = DEFAULT_EXPECTED_WAIT_OPTIONS.maxEstimateMs): { ms: number; capped: boolean } | null {
  if (!Number.isInteger(position) || position < 1) throw new TypeError(`position must be a 1-based integer, got ${position}`);
  if (!(servingAgents > 0)) return null;
  const raw = (position / servingAgents) * Math.max(0, averageHandleMs);
  return raw > maxEstimateMs ? { ms: maxEstimateMs, capped: true } : { ms: Math.round(raw), capped: false };
}

/** Recent handle and answer times per queue, and the expected wait computed from them. */
export class ExpectedWait {
  readonly #opts: ExpectedWaitOptions;
  readonly #handle = new Map<string, RingBuffer<Sample>>();
  readonly #answer = new Map<string, RingBuffer<Sample>>();

  constructor(opts: Partial<ExpectedWaitOptions> = {}) {
    this.#opts = { ...DEFAULT_EXPECTED_WAIT_OPTIONS, ...opts };
    if (!(this.#opts.minSamples >= 1)) throw new TypeError('minSamples must be at least 1');
  }

  /** A task of this queue finished: talk plus wrap-up took handleMs. */
  recordHandled(queueId: string, handleMs: number, at: number): void {
    if (!Number.isFinite(handleMs) || handleMs < 0) return;
    this.#buffer(this.#handle, queueId).push({ ms: handleMs, at });
  }

  /** A task of this queue was answered after waiting waitMs (speed of answer). */
  recordAnswered(queueId: string, waitMs: number, at: number): void {
    if (!Number.isFinite(waitMs) || waitMs < 0) return;
    this.#buffer(this.#answer, queueId).push({ ms: waitMs, at });
  }

  /** Mean of the recent handle times, or null with fewer than minSamples usable samples. */
  averageHandleMs(queueId: string, now: number): number | null {
    return this.#average(this.#handle.get(queueId), now)?.mean ?? null;
  }

  /** Mean of the recent waits of answered tasks, or null with too little history: a cross-check for EWT. */
  averageAnswerMs(queueId: string, now: number): number | null {
    return this.#average(this.#answer.get(queueId), now)?.mean ?? null;
  }

  /**
   * The expected wait of the customer at `position` (1-based) when `servingAgents` slots work the
   * queue. Null ("unknown") when the queue has too little history or nobody is serving it.
   */
  estimate(queueId: string, position: number, servingAgents: number, now: number): WaitEstimate | null {
    const avg = this.#average(this.#handle.get(queueId), now);
    const r = expectedWaitMs(position, servingAgents, avg?.mean ?? 0, this.#opts.maxEstimateMs);
    if (!avg || !r) return null;
    return { ms: r.ms, capped: r.capped, position, servingAgents, averageHandleMs: avg.mean, samples: avg.n };
  }

  /** Drops a queue's history (the queue was deleted, or its work changed so much the past misleads). */
  forget(queueId: string): void {
    this.#handle.delete(queueId);
    this.#answer.delete(queueId);
  }

  #buffer(map: Map<string, RingBuffer<Sample>>, queueId: string): RingBuffer<Sample> {
    let b = map.get(queueId);
    if (!b) {
      b = new RingBuffer<Sample>(this.#opts.historySize);
      map.set(queueId, b);
    }
    return b;
  }

  #average(buffer: RingBuffer<Sample> | undefined, now: number): { mean: number; n: number } | null {
    if (!buffer) return null;
    const maxAge = this.#opts.maxSampleAgeMs;
    const usable = buffer.values().filter((s) => maxAge <= 0 || now - s.at <= maxAge);
    if (usable.length < this.#opts.minSamples) return null;
    return { mean: usable.reduce((sum, s) => sum + s.ms, 0) / usable.length, n: usable.length };
  }
}
