// How many contacts waited, per queue, over the last half hour: what a wallboard draws as soon as it
// opens (before it has seen any live update). One sample per bucket holds the peak of that bucket, so
// a burst between two updates is not lost; a queue with no change keeps its last level (a chart
// carries it forward). Memory: at most window ÷ bucket samples per queue.

export interface WaitingSample {
  /** Start of the bucket (epoch ms). */
  at: number;
  /** The most contacts waiting at once during the bucket. */
  waiting: number;
}

export interface WaitingHistoryOptions {
  bucketMs: number;
  windowMs: number;
}

export const DEFAULT_WAITING_HISTORY: WaitingHistoryOptions = { bucketMs: 15_000, windowMs: 30 * 60_000 };

export class WaitingHistory {
  readonly #opts: WaitingHistoryOptions;
  readonly #queues = new Map<string, WaitingSample[]>();

  constructor(opts: Partial<WaitingHistoryOptions> = {}) {
    this.#opts = { ...DEFAULT_WAITING_HISTORY, ...opts };
    if (!(this.#opts.bucketMs > 0) || !(this.#opts.windowMs >= this.#opts.bucketMs)) throw new RangeError('waiting history: bucketMs > 0 and windowMs ≥ bucketMs');
  }

  get options(): WaitingHistoryOptions {
    return { ...this.#opts };
  }

  /** The queue has `waiting` contacts at `at`. */
  record(queueId: string, at: number, waiting: number): void {
    const bucket = at - (at % this.#opts.bucketMs);
    let list = this.#queues.get(queueId);
    if (!list) this.#queues.set(queueId, (list = []));
    const last = list[list.length - 1];
    if (last && last.at === bucket) last.waiting = Math.max(last.waiting, waiting);
    else if (!last || last.at < bucket) list.push({ at: bucket, waiting });
    // (A sample older than the last bucket comes from a clock step back: dropped.)
    this.#prune(list, at);
  }

  /**
   * The samples of the window ending at `now`, oldest first. A level set before the window and still
   * standing at its start is given as a sample at the window's start; before the first sample the
   * level is unknown.
   */
  samples(queueId: string, now: number): WaitingSample[] {
    const list = this.#queues.get(queueId);
    if (!list) return [];
    this.#prune(list, now);
    const start = now - this.#opts.windowMs;
    return list.map((s) => ({ at: Math.max(s.at, start), waiting: s.waiting }));
  }

  forget(queueId: string): void {
    this.#queues.delete(queueId);
  }

  #prune(list: WaitingSample[], now: number): void {
    // The newest sample older than the window is kept: it says the level at the window's start.
    while (list.length > 1 && now - list[1]!.at >= this.#opts.windowMs) list.shift();
  }
}
