// The server's side of the Manager: the sources and policies admins configure (Managers fetch them),
// what Managers report of their sources, posts that become tasks of channel "social" (routed like any
// other), and what agents do with them: record a reply, mark the post handled. Outcomes go back to the
// Managers, oldest first, behind a cursor.
import { randomUUID } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { IsNull, MoreThan, type DataSource, type Repository } from 'typeorm';
import { SocialPolicyEntity, SocialPostEntity, SocialSourceEntity, type SocialPolicyRow, type SocialPostRow, type SocialSourceRow } from '../db/social-entities.js';
import { QueueEntity, type QueueRow, type TaskRow } from '../db/entities.js';
import { DomainError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { parseQuery, QuerySyntaxError } from '../manager/query.js';
import { PolicyConfig, SourceConfig, type PostOutcome, type SocialPostSubmission, type SourceStatusBody } from '../protocol/manager.js';
import type { SocialOutcome, SocialPostView, TaskStatus } from '../protocol/events.js';
import type { ChatService } from '../chat/chat-service.js';
import type { CustomerDirectory } from '../chat/customer-directory.js';

/** A source as admins see it: secrets replaced by whether they are set. */
export interface SourceView {
  config: Omit<SourceConfig, 'streamToken' | 'webhookSecret'> & { hasStreamToken: boolean; hasWebhookSecret: boolean };
  state: SocialSourceRow['state'];
  reason: string | null;
  lastFetchAt: number | null;
  nextFetchAt: number | null;
  itemsSeen: number | null;
  statusAt: number | null;
}

/** Outcomes are handed out only once this old, so one committed a moment late is not skipped by the cursor. */
const OUTCOME_SETTLE_MS = 1_000;
const OUTCOMES_PAGE = 500;

function sourceView(row: SocialSourceRow): SourceView {
  const { streamToken, webhookSecret, ...config } = row.config;
  return {
    config: { ...config, hasStreamToken: Boolean(streamToken), hasWebhookSecret: Boolean(webhookSecret) },
    state: row.state,
    reason: row.reason,
    lastFetchAt: row.lastFetchAt,
    nextFetchAt: row.nextFetchAt,
    itemsSeen: row.itemsSeen,
    statusAt: row.statusAt,
  };
}

function firstError(schema: Parameters<typeof Value.Errors>[0], value: unknown): string | null {
  const e = Value.Errors(schema, value).First();
  return e ? `${e.path || '(body)'}: ${e.message}` : null;
}

export class SocialService {
  readonly #sources: Repository<SocialSourceRow>;
  readonly #policies: Repository<SocialPolicyRow>;
  readonly #posts: Repository<SocialPostRow>;
  readonly #queues: Repository<QueueRow>;
  #seq = 0;
  /** 'config:changed': an admin changed sources or policies (an embedded Manager refreshes at once). */
  readonly observer = new TypedEmitter<{ 'config:changed': [] }>();

  constructor(
    db: DataSource,
    private readonly chat: ChatService,
    private readonly customers: CustomerDirectory,
    private readonly logger: Logger,
  ) {
    this.#sources = db.getRepository(SocialSourceEntity);
    this.#policies = db.getRepository(SocialPolicyEntity);
    this.#posts = db.getRepository(SocialPostEntity);
    this.#queues = db.getRepository(QueueEntity);
  }

  // ---- admins ---------------------------------------------------------------------------------

  async listSources(): Promise<SourceView[]> {
    return (await this.#sources.find({ order: { createdAt: 'ASC' } })).map(sourceView);
  }

  /** Adds or replaces a source; a secret left out of a replacement keeps its stored value. */
  async saveSource(input: SourceConfig): Promise<SourceView> {
    const existing = await this.#sources.findOneBy({ id: input.id });
    const config: SourceConfig = {
      ...input,
      ...(input.streamToken === undefined && existing?.config.streamToken ? { streamToken: existing.config.streamToken } : {}),
      ...(input.webhookSecret === undefined && existing?.config.webhookSecret ? { webhookSecret: existing.config.webhookSecret } : {}),
    };
    const problem = firstError(SourceConfig, config) ?? sourceProblem(config);
    if (problem) throw new DomainError('VALIDATION', problem);
    const now = Date.now();
    const row: SocialSourceRow = existing
      ? { ...existing, config, updatedAt: now }
      : { id: config.id, config, state: 'new', reason: null, lastFetchAt: null, nextFetchAt: null, itemsSeen: null, statusAt: null, createdAt: now, updatedAt: now };
    await this.#sources.save(row);
    this.observer.safeEmit('config:changed');
    return sourceView(row);
  }

  async removeSource(id: string): Promise<void> {
    if (!(await this.#sources.delete({ id })).affected) throw new NotFoundError('source');
    this.observer.safeEmit('config:changed');
  }

  async listPolicies(): Promise<PolicyConfig[]> {
    return (await this.#policies.find({ order: { createdAt: 'ASC' } })).map((r) => r.config);
  }

  async savePolicy(config: PolicyConfig): Promise<PolicyConfig> {
    const problem = firstError(PolicyConfig, config);
    if (problem) throw new DomainError('VALIDATION', problem);
    try {
      parseQuery(config.query);
    } catch (err) {
      if (err instanceof QuerySyntaxError) throw new DomainError('VALIDATION', `query: ${err.message}`);
      throw err;
    }
    if (!(await this.#queues.existsBy({ id: config.queueId }))) throw new NotFoundError(`queue ${config.queueId}`);
    const now = Date.now();
    const existing = await this.#policies.findOneBy({ id: config.id });
    await this.#policies.save({ id: config.id, config, createdAt: existing?.createdAt ?? now, updatedAt: now });
    this.observer.safeEmit('config:changed');
    return config;
  }

  async removePolicy(id: string): Promise<void> {
    if (!(await this.#policies.delete({ id })).affected) throw new NotFoundError('policy');
    this.observer.safeEmit('config:changed');
  }

  // ---- Managers -------------------------------------------------------------------------------

  /** What Managers run: every source (with its secrets) and every policy. */
  async managerConfig(): Promise<{ sources: SourceConfig[]; policies: PolicyConfig[] }> {
    const [sources, policies] = await Promise.all([this.#sources.find({ order: { createdAt: 'ASC' } }), this.#policies.find({ order: { createdAt: 'ASC' } })]);
    return { sources: sources.map((s) => s.config), policies: policies.map((p) => p.config) };
  }

  async reportStatus(sourceId: string, body: SourceStatusBody): Promise<void> {
    const result = await this.#sources.update(
      { id: sourceId },
      {
        state: body.state,
        reason: body.reason ?? null,
        lastFetchAt: body.lastFetchAt ?? null,
        nextFetchAt: body.nextFetchAt ?? null,
        itemsSeen: body.itemsSeen ?? null,
        statusAt: Date.now(),
      },
    );
    if (!result.affected) throw new NotFoundError('source');
  }

  /**
   * A post becomes a social task in the policy's queue, once: the same source and external id again
   * returns the task made the first time. The author becomes a customer record (named by handle).
   */
  async submit(sub: SocialPostSubmission): Promise<{ taskId: string; duplicate: boolean }> {
    const { post } = sub;
    const known = await this.#posts.findOneBy({ sourceId: post.sourceId, externalId: post.externalId });
    if (known) return { taskId: known.taskId, duplicate: true };
    if (!(await this.#sources.existsBy({ id: post.sourceId }))) throw new NotFoundError(`source ${post.sourceId}`);
    // The post is stored first, under the task's id: the offer shows it, and two Managers delivering
    // the same post at once meet at the unique (source, external id) before any task is made.
    const taskId = randomUUID();
    try {
      await this.#posts.insert({
        taskId,
        sourceId: post.sourceId,
        externalId: post.externalId,
        managerId: sub.managerId,
        policyId: sub.policyId,
        post,
        reply: null,
        outcome: null,
        handledBy: null,
        handledAt: null,
        outcomeSeq: null,
        createdAt: Date.now(),
      });
    } catch (err) {
      const winner = await this.#posts.findOneBy({ sourceId: post.sourceId, externalId: post.externalId });
      if (!winner) throw err;
      return { taskId: winner.taskId, duplicate: true };
    }
    const name = (post.author.name ?? post.author.handle ?? 'Web author').slice(0, 80);
    const text = [post.title, post.text].filter(Boolean).join('\n\n') || '(no text)';
    try {
      // An author with a handle is one customer across their posts on that source.
      const handle = post.author.handle?.trim().toLowerCase();
      const customer = handle ? await this.customers.findOrCreateByIdentity('social', `${post.sourceId}:${handle}`.slice(0, 320), name) : await this.customers.createVisitor(name);
      await this.chat.startChat(customer.id, { taskId, queueId: sub.queueId, channel: 'social', text, clientMsgId: `social-${taskId}`, displayName: name, priority: sub.priority });
    } catch (err) {
      // Refused (queue closed or full, unknown queue): the Manager may offer the post again later.
      await this.#posts.delete({ taskId });
      throw err;
    }
    this.logger.info('social post queued', { taskId, sourceId: post.sourceId, policyId: sub.policyId, priority: sub.priority });
    return { taskId, duplicate: false };
  }

  /** Handled posts after the cursor (an outcome sequence number), oldest first. */
  async outcomes(after: string | undefined): Promise<{ outcomes: PostOutcome[]; cursor: string }> {
    const from = after && /^\d{1,20}$/.test(after) ? Number(after) : 0;
    const rows = await this.#posts.find({ where: { outcomeSeq: MoreThan(from) }, order: { outcomeSeq: 'ASC' }, take: OUTCOMES_PAGE });
    const settled = rows.filter((r) => (r.handledAt ?? 0) <= Date.now() - OUTCOME_SETTLE_MS);
    // Stop at the first unsettled one, so nothing after it is passed over.
    const cut = rows.findIndex((r) => !settled.includes(r));
    const ready = cut === -1 ? rows : rows.slice(0, cut);
    return {
      outcomes: ready.map((r) => ({
        taskId: r.taskId,
        sourceId: r.sourceId,
        externalId: r.externalId,
        outcome: r.outcome!,
        ...(r.reply ? { reply: r.reply } : {}),
        agentId: r.handledBy!,
        handledAt: r.handledAt!,
      })),
      cursor: String(ready.at(-1)?.outcomeSeq ?? from),
    };
  }

  // ---- agents ---------------------------------------------------------------------------------

  /** ChatService's taskDetails: the post of a social task. */
  taskDetails = async (task: TaskRow): Promise<{ social?: SocialPostView }> => {
    if (task.channel !== 'social') return {};
    const row = await this.#posts.findOneBy({ taskId: task.id });
    return row ? { social: await this.#view(row, task.customerId) } : {};
  };

  async recordReply(agentId: string, taskId: string, text: string): Promise<SocialPostView> {
    const { row, task } = await this.#assigned(agentId, taskId);
    if (row.outcome) throw new InvalidStateError('this post is already handled');
    await this.#posts.update({ taskId }, { reply: text });
    return this.#view({ ...row, reply: text }, task.customerId);
  }

  /** The post is handled: its outcome (and the reply) is stored for the Managers, and the task ends. */
  async handle(agentId: string, input: { taskId: string; outcome: SocialOutcome; reply?: string }): Promise<{ taskId: string; status: TaskStatus; social: SocialPostView }> {
    const { row, task } = await this.#assigned(agentId, input.taskId);
    const reply = input.reply ?? row.reply;
    if (input.outcome === 'replied' && !reply) throw new DomainError('VALIDATION', 'record the reply before marking the post replied');
    const handledAt = Date.now();
    // Milliseconds with three digits more: ordered across processes, distinct within one.
    const outcomeSeq = handledAt * 1000 + (this.#seq = (this.#seq + 1) % 1000);
    const done = await this.#posts.update({ taskId: input.taskId, outcome: IsNull() }, { outcome: input.outcome, reply, handledBy: agentId, handledAt, outcomeSeq });
    if (!done.affected) throw new InvalidStateError('this post is already handled');
    const status = await this.chat.agentEnd(agentId, input.taskId);
    this.logger.info('social post handled', { taskId: input.taskId, outcome: input.outcome, agentId });
    return { taskId: input.taskId, status, social: await this.#view({ ...row, outcome: input.outcome, reply, handledBy: agentId, handledAt, outcomeSeq }, task.customerId) };
  }

  /**
   * Reach the author: when they are a known customer with a phone number, a callback task about the
   * post waits in the post's queue (the next free agent of it calls them, through the callback trunk).
   */
  async reachAuthor(agentId: string, taskId: string): Promise<{ taskId: string; callbackNumber: string }> {
    const { row, task } = await this.#assigned(agentId, taskId);
    const phone = await this.customers.phoneOf(task.customerId);
    if (!phone) throw new InvalidStateError('the author is not a known customer with a phone number');
    const about = row.post.url ?? row.post.title ?? row.post.text.slice(0, 200);
    const view = await this.chat.startChat(task.customerId, {
      queueId: task.queueId,
      text: `Call back about their post: ${about}`,
      clientMsgId: `reach-${taskId}`,
    });
    if (view.callbackNumber) return { taskId: view.taskId, callbackNumber: view.callbackNumber };
    const callback = await this.chat.requestCallback(task.customerId, view.taskId, phone);
    this.logger.info('author to be called back', { taskId, callbackTaskId: view.taskId, by: agentId });
    return { taskId: callback.taskId, callbackNumber: callback.callbackNumber };
  }

  async #assigned(agentId: string, taskId: string): Promise<{ row: SocialPostRow; task: TaskRow }> {
    const task = await this.chat.task(taskId);
    if (!task || task.agentId !== agentId) throw new DomainError('FORBIDDEN', 'this post is not assigned to you');
    if (task.status !== 'assigned') throw new InvalidStateError('this post is not in progress');
    const row = await this.#posts.findOneBy({ taskId });
    if (!row) throw new NotFoundError('post');
    return { row, task };
  }

  async #view(row: SocialPostRow, authorId: string): Promise<SocialPostView> {
    const source = await this.#sources.findOneBy({ id: row.sourceId });
    const p = row.post;
    return {
      sourceId: row.sourceId,
      sourceName: source?.config.name ?? row.sourceId,
      url: p.url ?? null,
      title: p.title ?? null,
      text: p.text,
      author: p.author,
      language: p.language ?? null,
      publishedAt: p.publishedAt,
      sentiment: p.sentiment,
      matchedTerms: p.matchedTerms,
      reply: row.reply,
      outcome: row.outcome,
      reachable: (await this.customers.phoneOf(authorId)) !== null,
    };
  }
}

/** What a kind of source needs beyond the schema. */
function sourceProblem(c: SourceConfig): string | null {
  if ((c.kind === 'feed' || c.kind === 'stream') && !c.url) return `a ${c.kind} source needs a url`;
  if (c.kind === 'websub' && !c.url && !c.topicUrl) return 'a websub source needs a url or a topicUrl';
  if (c.kind === 'webhook' && !c.webhookSecret) return 'a webhook source needs a webhookSecret';
  return null;
}
