// What staff may know about a customer, and the customer's rights over it. An agent sees the customer
// of a task assigned to them, with contacts masked and only their own past sessions unless the task's
// queue allows more; supervisors and admins see everything. Every look, note, export, merge and
// erasure is written to the access log. Ratings customers give feed the agents' rating in routing.
import { randomUUID } from 'node:crypto';
import { In, IsNull, LessThan, type DataSource, type Repository } from 'typeorm';
import {
  AccountEntity,
  CustomerEntity,
  MessageEntity,
  QueueEntity,
  RecordingEntity,
  TaskEntity,
  type AccountRow,
  type CustomerRow,
  type MessageRow,
  type QueueRow,
  type Role,
  type TaskRow,
} from '../db/entities.js';
import {
  CustomerAccessEntity,
  CustomerIdentityEntity,
  CustomerMergeEntity,
  CustomerNoteEntity,
  EmailVerificationEntity,
  RatingEntity,
  type CustomerAccessRow,
  type CustomerIdentityRow,
  type CustomerNoteRow,
  type EmailVerificationRow,
  type RatingRow,
} from '../db/context-entities.js';
import { DomainError, ForbiddenError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { ConversationView, CustomerContextView, CustomerHistoryView, OfferContext } from '../protocol/context.js';

export interface Viewer {
  id: string;
  role: Role;
}

/** The customer acting on their own profile (export, verifying an email that merges two profiles). */
export type CustomerSelf = { id: string; role: 'customer' };

/** Sessions shown per customer view, newest first, and messages of each. */
const SESSIONS_SHOWN = 20;
const MESSAGES_PER_SESSION = 200;
/** Priority a flagged customer's new task gets (routing serves higher first). */
export const FLAGGED_PRIORITY = 10;
const ENDED: TaskRow['status'][] = ['wrapup', 'completed', 'abandoned'];

/** "+358401234567" → "+3584•••••567": enough to recognise, not to dial. */
export function maskPhone(value: string): string {
  if (value.length <= 7) return '•'.repeat(value.length);
  return value.slice(0, 5) + '•'.repeat(value.length - 8) + value.slice(-3);
}

export function maskEmail(value: string): string {
  const at = value.indexOf('@');
  return at <= 0 ? '•••' : `${value[0]}•••${value.slice(at)}`;
}

export type CustomerContextEvents = {
  /** `fromId` was merged into `intoId`: what holds a customer id in memory (a call in progress) follows. */
  'customer:merged': [e: { intoId: string; fromId: string }];
};

export class CustomerContext {
  readonly observer = new TypedEmitter<CustomerContextEvents>();
  readonly #customers: Repository<CustomerRow>;
  readonly #tasks: Repository<TaskRow>;
  readonly #messages: Repository<MessageRow>;
  readonly #queues: Repository<QueueRow>;
  readonly #accounts: Repository<AccountRow>;
  readonly #identities: Repository<CustomerIdentityRow>;
  readonly #notes: Repository<CustomerNoteRow>;
  readonly #ratings: Repository<RatingRow>;
  readonly #access: Repository<CustomerAccessRow>;
  readonly #emailCodes: Repository<EmailVerificationRow>;

  constructor(
    private readonly db: DataSource,
    private readonly opts: { transcriptRetentionDays: number; logger: Logger; eraseRecordings?: (taskIds: string[]) => Promise<void> },
  ) {
    this.#customers = db.getRepository(CustomerEntity);
    this.#tasks = db.getRepository(TaskEntity);
    this.#messages = db.getRepository(MessageEntity);
    this.#queues = db.getRepository(QueueEntity);
    this.#accounts = db.getRepository(AccountEntity);
    this.#identities = db.getRepository(CustomerIdentityEntity);
    this.#notes = db.getRepository(CustomerNoteEntity);
    this.#ratings = db.getRepository(RatingEntity);
    this.#access = db.getRepository(CustomerAccessEntity);
    this.#emailCodes = db.getRepository(EmailVerificationEntity);
    this.observer.onListenerError = (event, err) => opts.logger.error('customer context observer failed', { event, err });
  }

  // ---- with the offer -----------------------------------------------------------------------

  /**
   * The summary an offer (and the task view) carries for `agentId`: is this someone we know, who
   * served them, what to keep in mind. Who served them last is named only to that agent or when the
   * queue shares history: an agent does not learn of a customer's sessions with others otherwise.
   */
  async offerContext(task: TaskRow, agentId: string | null): Promise<OfferContext> {
    const [customer, past, notes, value, queue] = await Promise.all([
      this.#customers.findOneBy({ id: task.customerId }),
      this.#tasks.find({ where: { customerId: task.customerId, status: In(['wrapup', 'completed']) }, order: { acceptedAt: 'DESC' }, take: 50 }),
      this.#notes.count({ where: { customerId: task.customerId } }),
      this.#paid(task.customerId),
      this.#queues.findOneBy({ id: task.queueId }),
    ]);
    const previous = past.find((t) => t.id !== task.id && t.agentId);
    const named = previous?.agentId && (previous.agentId === agentId || queue?.shareHistory === true);
    const previousAgent = named ? await this.#accounts.findOneBy({ id: previous.agentId! }) : null;
    return {
      returning: past.some((t) => t.id !== task.id),
      sessions: past.filter((t) => t.id !== task.id).length,
      lastContactAt: previous?.acceptedAt ?? null,
      previousAgentName: previousAgent?.displayName ?? null,
      notes,
      tags: customer?.tags ?? [],
      flagged: customer?.flagged === true,
      paid: value,
      language: task.requirements?.language ?? customer?.language ?? null,
    };
  }

  /** ChatService's priority for a new task: flagged customers first. */
  priorityFor = async (customerId: string): Promise<number> => ((await this.#customers.findOneBy({ id: customerId }))?.flagged ? FLAGGED_PRIORITY : 0);

  // ---- staff --------------------------------------------------------------------------------

  /** The customer of a task, as this viewer may see them (and the look is logged). */
  async view(viewer: Viewer, taskId: string): Promise<CustomerContextView> {
    const task = await this.#authorised(viewer, taskId);
    const queue = await this.#queues.findOneBy({ id: task.queueId });
    const staffSeesAll = viewer.role !== 'agent';
    const revealContact = staffSeesAll || queue?.revealContact === true;
    const shareHistory = staffSeesAll || queue?.shareHistory === true;
    const customer = await this.#customers.findOneByOrFail({ id: task.customerId });
    const identities = await this.#identities.find({ where: { customerId: customer.id }, order: { createdAt: 'ASC' } });
    const unverified = await this.#unverifiedEmails(customer.id, identities);
    const all = await this.#tasks.find({ where: { customerId: customer.id }, order: { enqueuedAt: 'DESC' }, take: 200 });
    const visible = all.filter((t) => t.id === task.id || shareHistory || t.agentId === viewer.id).slice(0, SESSIONS_SHOWN);
    const ratings = new Map((await this.#ratings.findBy({ taskId: In(visible.map((t) => t.id)) })).map((r) => [r.taskId, r]));
    const sessions = (await this.#conversations(visible)).map((c, i) => ({
      ...c,
      answeredAt: visible[i]!.acceptedAt,
      endReason: visible[i]!.endReason,
      rating: ratings.get(c.taskId)?.stars ?? null,
    }));
    const notes = await this.#notes.find({ where: { customerId: customer.id }, order: { createdAt: 'DESC' }, take: 100 });
    await this.#log(customer.id, viewer, 'view', task.id);
    return {
      customer: {
        id: customer.id,
        displayName: customer.displayName,
        since: customer.createdAt,
        tags: customer.tags ?? [],
        flagged: customer.flagged === true,
        erased: customer.erasedAt != null,
        identities: [
          ...identities.map((i) => ({
            kind: i.kind,
            value: revealContact || i.kind === 'social' ? i.value : i.kind === 'phone' ? maskPhone(i.value) : maskEmail(i.value),
            masked: !(revealContact || i.kind === 'social'),
            verified: true,
          })),
          ...unverified.map((email) => ({ kind: 'email', value: revealContact ? email : maskEmail(email), masked: !revealContact, verified: false })),
        ],
        language: customer.language ?? null,
      },
      sessions,
      hiddenSessions: all.length - all.filter((t) => t.id === task.id || shareHistory || t.agentId === viewer.id).length,
      notes: notes.map((n) => ({ id: n.id, authorName: n.authorName, body: n.body, createdAt: n.createdAt })),
      paid: await this.#paid(customer.id),
    };
  }

  async addNote(viewer: Viewer, taskId: string, body: string): Promise<{ id: string; createdAt: number }> {
    const task = await this.#authorised(viewer, taskId);
    const author = await this.#accounts.findOneByOrFail({ id: viewer.id });
    const note: CustomerNoteRow = { id: randomUUID(), customerId: task.customerId, taskId, authorId: viewer.id, authorName: author.displayName, body, createdAt: Date.now() };
    await this.#notes.insert(note);
    await this.#log(task.customerId, viewer, 'note', taskId);
    return { id: note.id, createdAt: note.createdAt };
  }

  async setTags(viewer: Viewer, customerId: string, change: { tags?: string[]; flagged?: boolean }): Promise<{ tags: string[]; flagged: boolean }> {
    const customer = await this.#customerOrFail(customerId);
    const tags = change.tags ?? customer.tags ?? [];
    const flagged = change.flagged ?? customer.flagged === true;
    await this.#customers.update({ id: customerId }, { tags, flagged });
    await this.#log(customerId, viewer, 'tag', null);
    return { tags, flagged };
  }

  async accessLog(customerId: string): Promise<CustomerAccessRow[]> {
    await this.#customerOrFail(customerId);
    return this.#access.find({ where: { customerId }, order: { at: 'DESC' }, take: 1000 });
  }

  // ---- customers ------------------------------------------------------------------------------

  /** A customer rates a task an agent handled for them, once. */
  async rate(customerId: string, input: { taskId: string; stars: number; comment?: string }): Promise<{ taskId: string; stars: number }> {
    const task = await this.#tasks.findOneBy({ id: input.taskId });
    if (!task || task.customerId !== customerId) throw new NotFoundError('chat');
    if (!task.agentId || !['wrapup', 'completed'].includes(task.status)) throw new InvalidStateError('only a conversation an agent answered, once it has ended, can be rated');
    try {
      await this.#ratings.insert({ taskId: task.id, customerId, agentId: task.agentId, stars: input.stars, comment: input.comment?.trim() || null, createdAt: Date.now() });
    } catch (err) {
      if (await this.#ratings.existsBy({ taskId: task.id })) throw new DomainError('CONFLICT', 'this conversation is already rated');
      throw err;
    }
    this.opts.logger.info('conversation rated', { taskId: task.id, agentId: task.agentId, stars: input.stars });
    return { taskId: task.id, stars: input.stars };
  }

  /** The agent's rating for routing: the mean of their ratings (one decimal), null before the first. */
  agentRating = async (agentId: string): Promise<number | null> => {
    const row = (await this.#ratings
      .createQueryBuilder('r')
      .select('COUNT(*)', 'n')
      .addSelect('SUM(r.stars)', 'sum')
      .where('r.agentId = :agentId', { agentId })
      .getRawOne()) as { n: string | number; sum: string | number | null } | undefined;
    const n = Number(row?.n ?? 0);
    return n === 0 ? null : Math.round((Number(row!.sum) * 10) / n) / 10;
  };

  /** Everything stored about a customer (their data-access right), as one JSON document. */
  async export(customerId: string, viewer: Viewer | CustomerSelf): Promise<Record<string, unknown>> {
    const customer = await this.#customerOrFail(customerId);
    const tasks = await this.#tasks.find({ where: { customerId }, order: { enqueuedAt: 'ASC' } });
    const taskIds = tasks.map((t) => t.id);
    const [identities, emailCodes, notes, ratings, messages, recordings] = await Promise.all([
      this.#identities.findBy({ customerId }),
      this.#emailCodes.find({ where: { customerId }, order: { createdAt: 'ASC' } }),
      this.#notes.findBy({ customerId }),
      this.#ratings.findBy({ customerId }),
      taskIds.length ? this.#messages.find({ where: { taskId: In(taskIds) }, order: { createdAt: 'ASC' } }) : Promise.resolve([]),
      taskIds.length ? this.db.getRepository(RecordingEntity).findBy({ taskId: In(taskIds) }) : Promise.resolve([]),
    ]);
    await this.#log(customerId, viewer, 'export', null);
    return {
      exportedAt: Date.now(),
      customer: {
        id: customer.id,
        displayName: customer.displayName,
        createdAt: customer.createdAt,
        tags: customer.tags ?? [],
        flagged: customer.flagged === true,
        erasedAt: customer.erasedAt ?? null,
        // The position last shared with consent, as kept: to a tenth of a degree.
        location: customer.locationLat10 != null && customer.locationLon10 != null ? { lat: customer.locationLat10 / 10, lon: customer.locationLon10 / 10 } : null,
        language: customer.language ?? null,
      },
      identities: identities.map((i) => ({ kind: i.kind, value: i.value, since: i.createdAt })),
      // Emails given in the widget and the codes sent for them (never the codes themselves).
      emailVerifications: emailCodes.map((r) => ({ email: r.email, requestedAt: r.createdAt, expiresAt: r.expiresAt, verifiedAt: r.usedAt })),
      conversations: tasks.map((t) => ({
        taskId: t.id,
        channel: t.channel,
        queueId: t.queueId,
        status: t.status,
        enqueuedAt: t.enqueuedAt,
        answeredAt: t.acceptedAt,
        endedAt: t.endedAt,
        endReason: t.endReason,
        callbackNumber: t.callbackNumber,
        messages: messages.filter((m) => m.taskId === t.id).map((m) => ({ sender: m.sender, senderName: m.senderName, body: m.body, at: m.createdAt })),
        recordings: recordings.filter((r) => r.taskId === t.id).map((r) => ({ id: r.id, kind: r.kind, state: r.state, startedAt: r.startedAt, durationMs: r.durationMs })),
      })),
      notes: notes.map((n) => ({ author: n.authorName, body: n.body, at: n.createdAt })),
      ratings: ratings.map((r) => ({ taskId: r.taskId, stars: r.stars, comment: r.comment, at: r.createdAt })),
      paid: await this.#paid(customerId),
    };
  }

  /**
   * Erasure: personal data is removed (name, identities, notes, tags, what was written and said,
   * recordings); the customer id stays as a pseudonym, so financial records (ledger, call detail
   * records) are kept as the law requires, with nothing left that names the person.
   */
  async erase(customerId: string, viewer: Viewer): Promise<{ erased: true; conversations: number }> {
    await this.#customerOrFail(customerId);
    const tasks = await this.#tasks.find({ where: { customerId }, select: { id: true, status: true } });
    const open = tasks.filter((t) => !ENDED.includes(t.status));
    if (open.length) throw new InvalidStateError('the customer has a conversation in progress: erase once it has ended');
    const taskIds = tasks.map((t) => t.id);
    await this.db.transaction(async (m) => {
      await m.getRepository(CustomerEntity).update({ id: customerId }, { displayName: null, tags: [], flagged: false, erasedAt: Date.now(), locationLat10: null, locationLon10: null, language: null });
      await m.getRepository(CustomerIdentityEntity).delete({ customerId });
      await m.getRepository(EmailVerificationEntity).delete({ customerId });
      await m.getRepository(CustomerNoteEntity).delete({ customerId });
      await m.getRepository(RatingEntity).update({ customerId }, { comment: null });
      if (taskIds.length) {
        await m.getRepository(MessageEntity).update({ taskId: In(taskIds) }, { body: '[erased]', senderName: 'erased' });
        await m.getRepository(TaskEntity).update({ id: In(taskIds) }, { firstMessage: '[erased]', callbackNumber: null, wrapUpNotes: null });
      }
    });
    if (taskIds.length) await this.opts.eraseRecordings?.(taskIds);
    await this.#log(customerId, viewer, 'erase', null);
    this.opts.logger.info('customer erased', { customerId, by: viewer.id, conversations: taskIds.length });
    return { erased: true, conversations: taskIds.length };
  }

  /** Two profiles are one person: the second's identities, conversations, notes and ratings move to the first. */
  async merge(intoId: string, fromId: string, viewer: Viewer | CustomerSelf): Promise<{ intoId: string; moved: Record<string, number> }> {
    if (intoId === fromId) throw new DomainError('VALIDATION', 'a customer cannot be merged into itself');
    await this.#customerOrFail(intoId);
    const from = await this.#customerOrFail(fromId);
    const moved = await this.db.transaction(async (m) => {
      const counts: Record<string, number> = {};
      counts.identities = (await m.getRepository(CustomerIdentityEntity).update({ customerId: fromId }, { customerId: intoId })).affected ?? 0;
      counts.conversations = (await m.getRepository(TaskEntity).update({ customerId: fromId }, { customerId: intoId })).affected ?? 0;
      counts.notes = (await m.getRepository(CustomerNoteEntity).update({ customerId: fromId }, { customerId: intoId })).affected ?? 0;
      counts.ratings = (await m.getRepository(RatingEntity).update({ customerId: fromId }, { customerId: intoId })).affected ?? 0;
      counts.emailVerifications = (await m.getRepository(EmailVerificationEntity).update({ customerId: fromId }, { customerId: intoId })).affected ?? 0;
      const into = await m.getRepository(CustomerEntity).findOneByOrFail({ id: intoId });
      await m.getRepository(CustomerEntity).update(
        { id: intoId },
        {
          tags: [...new Set([...(into.tags ?? []), ...(from.tags ?? [])])],
          flagged: into.flagged === true || from.flagged === true,
          displayName: into.displayName ?? from.displayName,
          language: from.language ?? into.language ?? null,
        },
      );
      await m.getRepository(CustomerEntity).update({ id: fromId }, { displayName: null, tags: [], flagged: false, erasedAt: Date.now(), language: null });
      await m.getRepository(CustomerMergeEntity).insert({ id: randomUUID(), intoId, fromId, byId: viewer.id, moved: counts, at: Date.now() });
      return counts;
    });
    this.observer.safeEmit('customer:merged', { intoId, fromId });
    await this.#log(intoId, viewer, 'merge', null);
    await this.#log(fromId, viewer, 'merge', null);
    return { intoId, moved };
  }

  /** The customer's own conversations for the widget: what they and the agents wrote, agents by display name only. */
  async ownHistory(customerId: string): Promise<CustomerHistoryView> {
    await this.#customerOrFail(customerId);
    const tasks = await this.#tasks.find({ where: { customerId }, order: { enqueuedAt: 'DESC' }, take: SESSIONS_SHOWN });
    const conversations = await this.#conversations(tasks);
    return { conversations };
  }

  /** Retention: what was written and said in conversations that ended long enough ago is removed. */
  async sweepTranscripts(now = Date.now()): Promise<number> {
    const before = now - this.opts.transcriptRetentionDays * 86_400_000;
    const old = await this.#tasks.find({ where: { status: In(['completed', 'abandoned']), endedAt: LessThan(before) }, select: { id: true }, take: 1000 });
    const ids = old.map((t) => t.id);
    if (!ids.length) return 0;
    const expired = await this.#messages.createQueryBuilder().update().set({ body: '[expired]' }).where({ taskId: In(ids) }).andWhere("body <> '[expired]' AND body <> '[erased]'").execute();
    await this.#tasks.createQueryBuilder().update().set({ firstMessage: '[expired]' }).where({ id: In(ids) }).andWhere("first_message <> '[expired]' AND first_message <> '[erased]'").execute();
    if (expired.affected) this.opts.logger.info('transcripts past their retention removed', { messages: expired.affected });
    return expired.affected ?? 0;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Staff may see a task's customer: the agent holding the task (or wrapping it up); supervisors and admins. */
  async #authorised(viewer: Viewer, taskId: string): Promise<TaskRow> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task) throw new NotFoundError('conversation');
    if (viewer.role === 'agent' && !(task.agentId === viewer.id && (task.status === 'assigned' || task.status === 'wrapup'))) {
      throw new ForbiddenError('this conversation is not assigned to you');
    }
    return task;
  }

  /** Emails the customer gave but has not confirmed (newest first, a few): shown as such, never linked. */
  async #unverifiedEmails(customerId: string, identities: CustomerIdentityRow[]): Promise<string[]> {
    const pending = await this.#emailCodes.find({ where: { customerId, usedAt: IsNull() }, order: { createdAt: 'DESC' }, take: 20 });
    const verified = new Set(identities.filter((i) => i.kind === 'email').map((i) => i.value));
    return [...new Set(pending.map((p) => p.email))].filter((e) => !verified.has(e)).slice(0, 3);
  }

  async #customerOrFail(id: string): Promise<CustomerRow> {
    const c = await this.#customers.findOneBy({ id });
    if (!c) throw new NotFoundError('customer');
    return c;
  }

  /** Each task as a conversation, with its queue's and agent's names and its first messages. */
  async #conversations(tasks: TaskRow[]): Promise<ConversationView[]> {
    const names = await this.#names(tasks.map((t) => t.agentId).filter((x): x is string => x !== null));
    const queueNames = new Map((await this.#queues.find()).map((q) => [q.id, q.name]));
    return Promise.all(
      tasks.map(async (t) => ({
        taskId: t.id,
        channel: t.channel,
        queueName: queueNames.get(t.queueId) ?? t.queueId,
        agentName: t.agentId ? (names.get(t.agentId) ?? null) : null,
        status: t.status,
        enqueuedAt: t.enqueuedAt,
        endedAt: t.endedAt,
        messages: (await this.#messages.find({ where: { taskId: t.id }, order: { createdAt: 'ASC' }, take: MESSAGES_PER_SESSION })).map((m) => ({
          sender: m.sender,
          senderName: m.senderName,
          body: m.body,
          createdAt: m.createdAt,
        })),
      })),
    );
  }

  async #names(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    return new Map((await this.#accounts.findBy({ id: In([...new Set(ids)]) })).map((a) => [a.id, a.displayName]));
  }

  /** What the customer paid, per currency (settled charged sessions). */
  async #paid(customerId: string): Promise<Array<{ currency: string; amountMinor: number }>> {
    const rows = (await this.db.query(
      "SELECT currency, SUM(amount_minor) AS amount FROM charging_sessions WHERE customer_id = $1 AND state = 'settled' GROUP BY currency".replace(
        '$1',
        this.db.options.type === 'postgres' ? '$1' : '?',
      ),
      [customerId],
    )) as Array<{ currency: string; amount: string | number | null }>;
    return rows.filter((r) => Number(r.amount) > 0).map((r) => ({ currency: r.currency, amountMinor: Number(r.amount) }));
  }

  async #log(customerId: string, viewer: Viewer | CustomerSelf, action: CustomerAccessRow['action'], taskId: string | null): Promise<void> {
    await this.#access.insert({ id: randomUUID(), customerId, viewerId: viewer.id, viewerRole: viewer.role, action, taskId, at: Date.now() });
  }
}
