// How long a failing source waits before trying again: doubling from `baseMs` up to `maxMs`, each
// wait drawn between half and all of that ("equal jitter"), so many sources failing together (a
// network outage) do not all retry at the same moment, and none retries at once.
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 3_600_000 };

/** The wait after the `failures`-th failure in a row (1 = first). */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
