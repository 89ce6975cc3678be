// What every kind of source is to the Manager, and what the Manager gives each one: callbacks to hand
// on posts and to report its state, never the Manager itself.
import type { Logger } from '../../lib/logger.js';
import type { SourceConfig, SourceStatusBody } from '../../protocol/manager.js';
import type { CollectedPost } from '../post.js';
import type { BackoffOptions } from './backoff.js';
import type { FetchLimits } from './http-fetch.js';
import type { IntakeServer } from '../intake-server.js';

export type SourceStatus = SourceStatusBody;

export interface SourceContext {
  config: SourceConfig;
  logger: Logger;
  /** Posts the source collected, in its order. */
  onPosts(posts: CollectedPost[]): void;
  onStatus(status: SourceStatus): void;
  intake: IntakeServer;
  limits: FetchLimits;
  backoff: BackoffOptions;
  /** Replaces every feed's polling period (tests, benchmarks); otherwise the source's intervalSeconds. */
  feedIntervalMs?: number;
  /** The Manager's listener as reachable from outside (WebSub callbacks). */
  publicUrl: string;
}

export interface Source {
  readonly id: string;
  start(): void;
  /** Stops timers and connections; idempotent. */
  close(): Promise<void>;
}

/** A reason short enough for the admin page, from whatever was thrown. */
export function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 500 ? message.slice(0, 497) + '...' : message;
}
