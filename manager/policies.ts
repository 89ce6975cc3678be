// The admin's policies, compiled: which posts each one wants. A post that several policies want goes
// to the one giving it the highest priority (the first of them on a tie), once.
import type { PolicyConfig } from '../protocol/manager.js';
import { Query } from './query.js';
import { taskPriority } from './priority.js';
import type { TextIndex } from './text-index.js';

/** What a policy looks at, computed once per post. */
export interface PostFacts {
  sourceId: string;
  publishedAt: number;
  reach: number | undefined;
  /** Detected on first use: only posts a policy's query wants need it. */
  language(): string | undefined;
  comparative: number;
  text: TextIndex;
}

export class CompiledPolicy {
  readonly query: Query;
  readonly #sources: ReadonlySet<string>;
  readonly #languages: ReadonlySet<string>;

  /** Throws QuerySyntaxError for a bad query. */
  constructor(readonly config: PolicyConfig) {
    this.query = new Query(config.query);
    this.#sources = new Set(config.sourceIds);
    this.#languages = new Set(config.languages);
  }

  wants(post: PostFacts, now: number): boolean {
    const c = this.config;
    if (this.#sources.size > 0 && !this.#sources.has(post.sourceId)) return false;
    if (c.windowHours !== undefined && now - post.publishedAt > c.windowHours * 3_600_000) return false;
    if (c.minReach !== undefined && (post.reach ?? 0) < c.minReach) return false;
    if (c.maxSentiment !== undefined && post.comparative > c.maxSentiment) return false;
    if (!this.query.matches(post.text)) return false;
    if (this.#languages.size === 0) return true;
    const language = post.language();
    return language !== undefined && this.#languages.has(language);
  }

  priority(post: PostFacts): number {
    return taskPriority(this.config.basePriority, post.comparative, post.reach);
  }
}

/** The policy a post goes to, and at what priority; undefined when none wants it. */
export function choosePolicy(policies: readonly CompiledPolicy[], post: PostFacts, now: number): { policy: CompiledPolicy; priority: number } | undefined {
  let best: { policy: CompiledPolicy; priority: number } | undefined;
  for (const policy of policies) {
    if (!policy.wants(post, now)) continue;
    const priority = policy.priority(post);
    if (!best || priority > best.priority) best = { policy, priority };
  }
  return best;
}
