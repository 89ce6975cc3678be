// One Manager feeds one mccs server: it reads that server's sources and policies (and re-reads them
// every refresh), runs the sources, judges every post (triage.ts), submits the chosen ones as
// "social" tasks, reports each source's state, and follows what agents did with them (outcomes).
// A process serving several servers runs one Manager per server over one shared intake listener
// (index.ts): each server has its own policies, limits and de-duplication.
import type { Logger } from '../lib/logger.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { PolicyConfig, PostOutcome, SocialPost, SourceConfig, SourceStatusBody } from '../protocol/manager.js';
import type { CursorStore } from './cursor-store.js';
import type { IntakeServer } from './intake-server.js';
import type { CollectedPost } from './post.js';
import { ServerClient, type ClientOptions, type ServerTarget } from './server-client.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './sources/backoff.js';
import { FeedSource } from './sources/feed-source.js';
import { DEFAULT_FETCH_LIMITS, type FetchLimits } from './sources/http-fetch.js';
import { reasonOf, type Source, type SourceContext } from './sources/source.js';
import { StreamSource } from './sources/stream-source.js';
import { WebhookSource } from './sources/webhook-source.js';
import { WebSubSource } from './sources/websub-source.js';
import { StatusReporter } from './status-reporter.js';
import { Triage, type DropReason } from './triage.js';
import type { DedupOptions } from './dedup.js';

export type ManagerDropReason = DropReason | 'backlog_full' | 'submit_failed';

export type ManagerEvents = {
  /** A post a source collected, before judging. */
  post: [CollectedPost];
  submitted: [{ post: SocialPost; policyId: string; queueId: string; priority: number; taskId: string; duplicate: boolean }];
  dropped: [{ reason: ManagerDropReason; post: CollectedPost; policyId?: string; error?: string }];
  'source:state': [{ sourceId: string; status: SourceStatusBody }];
  outcome: [PostOutcome];
  close: [];
};

export interface ManagerOptions {
  server: ServerTarget;
  /** Names this Manager in its submissions. */
  managerId: string;
  intake: IntakeServer;
  /** The intake listener as reachable by hubs (WebSub callbacks). */
  publicUrl: string;
  logger: Logger;
  refreshIntervalMs?: number;
  outcomesIntervalMs?: number;
  /** Submissions in flight at once, and waiting at most; more are dropped as backlog_full. */
  maxInFlight?: number;
  maxBacklog?: number;
  /** Progress reports (counters) per source at most this often; state changes go at once. */
  statusIntervalMs?: number;
  limits?: Partial<FetchLimits>;
  backoff?: Partial<BackoffOptions>;
  /** Replaces every feed's interval (tests, benchmarks). */
  feedIntervalMs?: number;
  dedup?: Partial<DedupOptions>;
  client?: Partial<ClientOptions>;
  cursors?: CursorStore;
}

interface RunningSource {
  source: Source;
  /** The configuration it runs with, to notice a change. */
  configKey: string;
}

export class Manager extends TypedEmitter<ManagerEvents> {
  readonly client: ServerClient;
  readonly #options: ManagerOptions;
  readonly #logger: Logger;
  readonly #triage: Triage;
  readonly #status: StatusReporter;
  readonly #sources = new Map<string, RunningSource>();
  readonly #backlog: Array<() => Promise<void>> = [];
  #inFlight = 0;
  readonly #idle = new Set<() => void>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #outcomesTimer: NodeJS.Timeout | undefined;
  #cursor: string | undefined;
  #lastOutcomeError: string | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;
  #started = false;

  constructor(options: ManagerOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger.child({ component: 'manager', server: options.server.url });
    this.client = new ServerClient(options.server, options.client);
    this.#triage = new Triage(options.dedup);
    this.#status = new StatusReporter(async (sourceId, status) => {
      try {
        await this.client.reportSourceStatus(sourceId, status);
      } catch (err) {
        this.#logger.warn('source status not reported', { sourceId, reason: reasonOf(err) });
        throw err;
      }
    }, options.statusIntervalMs ?? 30_000);
    this.onListenerError = (event, err) => this.#logger.error('manager event listener failed', { event, err });
    this.#cursor = options.cursors?.load();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ids of the sources running now. */
  get sourceIds(): string[] {
    return [...this.#sources.keys()];
  }

  /** Reads the configuration once (resolving when done, even if the server is unreachable) and starts the timers. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    await this.refresh();
    this.#scheduleRefresh();
    this.#scheduleOutcomes(0);
  }

  #scheduleRefresh(): void {
    if (this.#closed) return;
    this.#refreshTimer = setTimeout(() => {
      void this.refresh().finally(() => this.#scheduleRefresh());
    }, this.#options.refreshIntervalMs ?? 60_000);
  }

  /** Re-reads sources and policies from the server; new, removed and changed sources take effect. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    let config;
    try {
      config = await this.client.getConfig();
    } catch (err) {
      this.#logger.warn('configuration not read; keeping the current one', { reason: reasonOf(err) });
      return;
    }
    if (this.#closed) return;
    for (const item of config.invalid) {
      this.#logger.warn(`invalid ${item.kind} in the server's configuration, left out`, { id: item.id, problem: item.message });
      if (item.kind === 'source' && item.id) this.#status.report(item.id, { state: 'error', reason: `invalid configuration: ${item.message}` });
    }
    this.#applyPolicies(config.policies);
    await this.#applySources(config.sources.filter((s) => s.enabled));
  }

  #applyPolicies(policies: PolicyConfig[]): void {
    for (const problem of this.#triage.setPolicies(policies)) {
      this.#logger.warn('policy left out', { policyId: problem.policyId, problem: problem.message });
    }
  }

  async #applySources(configs: SourceConfig[]): Promise<void> {
    const wanted = new Map(configs.map((c) => [c.id, c]));
    const stopping: Promise<void>[] = [];
    for (const [id, running] of this.#sources) {
      const config = wanted.get(id);
      if (!config || JSON.stringify(config) !== running.configKey) {
        this.#sources.delete(id);
        if (!config) this.#status.forget(id);
        stopping.push(running.source.close());
      }
    }
    // A changed source's old instance lets go of its intake route before the new one takes it.
    await Promise.all(stopping);
    if (this.#closed) return;
    for (const config of configs) {
      if (this.#sources.has(config.id)) continue;
      const source = this.#createSource(config);
      this.#sources.set(config.id, { source, configKey: JSON.stringify(config) });
      this.#logger.info('source started', { sourceId: config.id, kind: config.kind, name: config.name });
      source.start();
    }
  }

  #createSource(config: SourceConfig): Source {
    const ctx: SourceContext = {
      config,
      logger: this.#logger,
      intake: this.#options.intake,
      publicUrl: this.#options.publicUrl,
      limits: { ...DEFAULT_FETCH_LIMITS, ...this.#options.limits },
      backoff: { ...DEFAULT_BACKOFF, ...this.#options.backoff },
      ...(this.#options.feedIntervalMs !== undefined ? { feedIntervalMs: this.#options.feedIntervalMs } : {}),
      onPosts: (posts) => {
        if (this.#sources.get(config.id)?.source !== source) return;
        for (const post of posts) this.#accept(post);
      },
      onStatus: (status) => {
        if (this.#closed) return;
        this.safeEmit('source:state', { sourceId: config.id, status });
        this.#status.report(config.id, status);
      },
    };
    const source: Source =
      config.kind === 'feed' ? new FeedSource(ctx) : config.kind === 'websub' ? new WebSubSource(ctx) : config.kind === 'webhook' ? new WebhookSource(ctx) : new StreamSource(ctx);
    return source;
  }

  #accept(post: CollectedPost): void {
    if (this.#closed) return;
    this.safeEmit('post', post);
    const verdict = this.#triage.judge(post);
    if (verdict.kind === 'drop') {
      this.safeEmit('dropped', { reason: verdict.reason, post, ...(verdict.policyId ? { policyId: verdict.policyId } : {}) });
      return;
    }
    const submission = { managerId: this.#options.managerId, ...verdict.submission };
    const job = async () => {
      try {
        const reply = await this.client.submitPost(submission);
        this.safeEmit('submitted', { post: submission.post, policyId: submission.policyId, queueId: submission.queueId, priority: submission.priority, taskId: reply.taskId, duplicate: reply.duplicate === true });
      } catch (err) {
        const error = reasonOf(err);
        this.#logger.warn('post not submitted', { sourceId: post.sourceId, externalId: post.externalId, reason: error });
        this.safeEmit('dropped', { reason: 'submit_failed', post, policyId: submission.policyId, error });
      }
    };
    if (this.#backlog.length >= (this.#options.maxBacklog ?? 10_000)) {
      this.safeEmit('dropped', { reason: 'backlog_full', post, policyId: submission.policyId });
      return;
    }
    this.#backlog.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < (this.#options.maxInFlight ?? 16) && this.#backlog.length > 0) {
      const job = this.#backlog.shift()!;
      this.#inFlight++;
      void job().finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#inFlight === 0 && this.#backlog.length === 0) for (const resolve of this.#idle) resolve();
      });
    }
  }

  /** Resolves when every accepted post has been submitted or dropped. */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#backlog.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#idle.delete(done);
        resolve();
      };
      this.#idle.add(done);
    });
  }

  #scheduleOutcomes(delayMs: number): void {
    if (this.#closed) return;
    this.#outcomesTimer = setTimeout(() => void this.#pollOutcomes(), delayMs);
  }

  async #pollOutcomes(): Promise<void> {
    const interval = this.#options.outcomesIntervalMs ?? 10_000;
    try {
      // Drain what has piled up, a bounded number of pages per round.
      for (let page = 0; page < 20 && !this.#closed; page++) {
        const reply = await this.client.getOutcomes(this.#cursor);
        if (this.#closed) return;
        for (const outcome of reply.outcomes) {
          this.#logger.info('post handled', { taskId: outcome.taskId, sourceId: outcome.sourceId, externalId: outcome.externalId, outcome: outcome.outcome, agentId: outcome.agentId });
          this.safeEmit('outcome', outcome);
        }
        const moved = reply.cursor !== this.#cursor;
        this.#cursor = reply.cursor;
        if (moved) this.#options.cursors?.save(reply.cursor);
        if (reply.outcomes.length === 0 || !moved) break;
      }
      this.#lastOutcomeError = undefined;
    } catch (err) {
      const reason = reasonOf(err);
      // Said once, not every round, while the server keeps failing the same way.
      if (reason !== this.#lastOutcomeError) this.#logger.warn('outcomes not read', { reason });
      this.#lastOutcomeError = reason;
    }
    this.#scheduleOutcomes(interval);
  }

  /** Stops the sources (WebSub ones unsubscribe) and the timers, then waits for submissions under way. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#outcomesTimer);
    await this.#refreshing;
    await Promise.all([...this.#sources.values()].map((r) => r.source.close().catch((err: unknown) => this.#logger.warn('source did not close cleanly', { reason: reasonOf(err) }))));
    this.#sources.clear();
    this.#status.close();
    await this.drained();
    this.client.close();
    this.safeEmit('close');
    this.removeAllListeners();
  }
}
