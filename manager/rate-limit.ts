// Tasks per policy per rolling hour. Keeps the times of the last `limit` tasks: a new one is allowed
// when the oldest of them is more than an hour old.
const HOUR_MS = 3_600_000;

export class HourlyLimit {
  readonly #times: number[] = [];
  dropped = 0;

  constructor(readonly limit: number) {}

  /** Takes a slot if one is free at `now`; counts a drop otherwise. */
  take(now: number): boolean {
    if (this.#times.length >= this.limit) {
      if (now - this.#times[0]! < HOUR_MS) {
        this.dropped++;
        return false;
      }
      this.#times.shift();
    }
    this.#times.push(now);
    return true;
  }
}
