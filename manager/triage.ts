// Decides what becomes of each collected post: dropped (with the reason), or a submission for the
// server. Order: already seen (source + id) → policies (sources, time window, reach, sentiment,
// language, query) → copies of posts already handed on (URL, near-identical text) → the chosen
// policy's hourly limit. Sentiment (AFINN-165 via `sentiment`) and language
// are worked out here, once per post.
import Sentiment from 'sentiment';
import { MAX_POST_TEXT, type PolicyConfig, type SocialPostSubmission } from '../protocol/manager.js';
import { Deduplicator, type DedupOptions } from './dedup.js';
import { detectLanguage } from './language.js';
import { CompiledPolicy, choosePolicy, type PostFacts } from './policies.js';
import type { CollectedPost } from './post.js';
import { HourlyLimit } from './rate-limit.js';
import { TextIndex } from './text-index.js';

export type DropReason = 'duplicate_id' | 'duplicate_url' | 'near_duplicate' | 'no_policy' | 'rate_limited';

export type Verdict =
  | { kind: 'submit'; submission: Omit<SocialPostSubmission, 'managerId'> }
  | { kind: 'drop'; reason: DropReason; policyId?: string };

export interface PolicyProblem {
  policyId: string;
  message: string;
}

export class Triage {
  readonly #dedup: Deduplicator;
  readonly #sentiment = new Sentiment();
  #policies: CompiledPolicy[] = [];
  /** Kept across policy reloads, so editing a policy does not reset its hour. */
  readonly #limits = new Map<string, HourlyLimit>();

  constructor(dedup: Partial<DedupOptions> = {}) {
    this.#dedup = new Deduplicator(dedup);
  }

  /** Replaces the policies; returns the ones left out and why (a bad query). */
  setPolicies(configs: readonly PolicyConfig[]): PolicyProblem[] {
    const problems: PolicyProblem[] = [];
    const compiled: CompiledPolicy[] = [];
    for (const config of configs) {
      try {
        compiled.push(new CompiledPolicy(config));
      } catch (err) {
        problems.push({ policyId: config.id, message: (err as Error).message });
      }
    }
    this.#policies = compiled;
    for (const [id, limit] of this.#limits) {
      const config = configs.find((c) => c.id === id);
      if (config?.maxTasksPerHour !== limit.limit) this.#limits.delete(id);
    }
    return problems;
  }

  judge(post: CollectedPost, now = Date.now()): Verdict {
    if (!this.#dedup.firstSighting(post.sourceId, post.externalId)) return { kind: 'drop', reason: 'duplicate_id' };
    const text = clip(post.text, MAX_POST_TEXT);
    const index = new TextIndex(post.title ? `${post.title}\n${text}` : text);
    const { score, comparative } = this.#sentiment.analyze(text);
    let detected: { language: string | undefined } | undefined;
    const language = () => (detected ??= { language: post.language ?? detectLanguage(text) }).language;
    const facts: PostFacts = { sourceId: post.sourceId, publishedAt: post.publishedAt, reach: post.author.reach, language, comparative, text: index };

    const chosen = choosePolicy(this.#policies, facts, now);
    if (!chosen) return { kind: 'drop', reason: 'no_policy' };
    const policyId = chosen.policy.config.id;
    const fingerprint = this.#dedup.fingerprint(post.url, index.words);
    const duplicate = this.#dedup.check(fingerprint);
    if (duplicate) return { kind: 'drop', reason: duplicate, policyId };
    const max = chosen.policy.config.maxTasksPerHour;
    if (max !== undefined) {
      let limit = this.#limits.get(policyId);
      if (!limit) this.#limits.set(policyId, (limit = new HourlyLimit(max)));
      if (!limit.take(now)) return { kind: 'drop', reason: 'rate_limited', policyId };
    }
    this.#dedup.remember(fingerprint);
    const lang = language();
    return {
      kind: 'submit',
      submission: {
        policyId,
        queueId: chosen.policy.config.queueId,
        priority: chosen.priority,
        post: {
          sourceId: post.sourceId,
          externalId: post.externalId,
          ...(post.url ? { url: post.url } : {}),
          text,
          ...(post.title ? { title: clip(post.title, 1000) } : {}),
          author: {
            ...(post.author.handle ? { handle: clip(post.author.handle, 300) } : {}),
            ...(post.author.name ? { name: clip(post.author.name, 300) } : {}),
            ...(post.author.url ? { url: post.author.url } : {}),
            ...(post.author.reach !== undefined ? { reach: post.author.reach } : {}),
          },
          ...(lang ? { language: lang } : {}),
          publishedAt: post.publishedAt,
          sentiment: { score, comparative },
          matchedTerms: chosen.policy.query.matchedTerms(index).slice(0, 100),
        },
      },
    };
  }
}

/** Cuts a text to the contract's length (sources may carry longer ones). */
function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
