// Canned responses: replies agents reuse in chats. Shared ones are managed by admins (for every queue
// or for one); each agent manages their own. An agent sees the shared ones (of the conversation's
// queue) and their own, never another agent's. Bodies are checked for placeholders we know, so a
// typo is caught when the response is saved, not when a customer reads it.
import { randomUUID } from 'node:crypto';
import { IsNull, type Repository } from 'typeorm';
import type { CannedResponseRow } from '../db/canned-entities.js';
import type { QueueRow } from '../db/entities.js';
import { DomainError, ForbiddenError, NotFoundError } from '../lib/errors.js';
import type { CannedPlaceholder, CannedResponseView } from '../protocol/canned.js';

/** Filled in by the agent app when a response is inserted (web-client/agent/canned.ts has the same list). */
export const CANNED_PLACEHOLDERS: readonly CannedPlaceholder[] = ['{customer.name}', '{agent.name}', '{queue.name}'];

/** Enough for a team's phrase book; a runaway script cannot fill the table. */
export const CANNED_LIMITS = { personalPerAgent: 200, shared: 1000 } as const;

/** Something in braces that looks like a placeholder ({word.word}); other braces are plain text. */
const PLACEHOLDER_LIKE = /\{\s*[A-Za-z_]+\s*\.\s*[A-Za-z_]+\s*\}/g;

export interface CannedFields {
  title: string;
  body: string;
  shortcut?: string | null;
}
export interface SharedCannedFields extends CannedFields {
  queueId?: string | null;
}

export interface CannedResponsesDeps {
  responses: Repository<CannedResponseRow>;
  queues: Repository<QueueRow>;
}

export class CannedResponses {
  readonly #responses: Repository<CannedResponseRow>;
  readonly #queues: Repository<QueueRow>;

  constructor(deps: CannedResponsesDeps) {
    this.#responses = deps.responses;
    this.#queues = deps.queues;
  }

  /** What an agent may insert: the shared ones (for every queue, or `queueId`'s) and their own, by title. */
  async listFor(agentId: string, queueId?: string): Promise<CannedResponseView[]> {
    const [shared, own] = await Promise.all([this.#responses.findBy({ ownerId: IsNull() }), this.#responses.findBy({ ownerId: agentId })]);
    const offered = shared.filter((r) => r.queueId === null || queueId === undefined || r.queueId === queueId);
    // The agent's own first: a personal shortcut may stand in for a shared one.
    return [...own.sort(byTitle), ...offered.sort(byTitle)].map(view);
  }

  async listShared(): Promise<CannedResponseView[]> {
    return (await this.#responses.findBy({ ownerId: IsNull() })).sort(byTitle).map(view);
  }

  async createPersonal(agentId: string, fields: CannedFields): Promise<CannedResponseView> {
    const clean = checkFields(fields);
    if ((await this.#responses.countBy({ ownerId: agentId })) >= CANNED_LIMITS.personalPerAgent) {
      throw new DomainError('CONFLICT', `you have ${CANNED_LIMITS.personalPerAgent} canned responses: delete one before adding another`);
    }
    await this.#assertShortcutFree(agentId, clean.shortcut ?? null);
    return view(await this.#insert({ ownerId: agentId, queueId: null, ...clean }));
  }

  /** The agent's own only: a shared one is the admins' (FORBIDDEN), another agent's is not there for them. */
  async updatePersonal(agentId: string, id: string, patch: Partial<CannedFields>): Promise<CannedResponseView> {
    const row = await this.#personal(agentId, id);
    const clean = checkFields({ title: row.title, body: row.body, shortcut: row.shortcut, ...patch });
    if (patch.shortcut !== undefined) await this.#assertShortcutFree(agentId, clean.shortcut ?? null, row.id);
    return view(await this.#save(row, clean));
  }

  async deletePersonal(agentId: string, id: string): Promise<void> {
    await this.#responses.delete({ id: (await this.#personal(agentId, id)).id });
  }

  async createShared(fields: SharedCannedFields): Promise<CannedResponseView> {
    const clean = checkFields(fields);
    if ((await this.#responses.countBy({ ownerId: IsNull() })) >= CANNED_LIMITS.shared) {
      throw new DomainError('CONFLICT', `there are ${CANNED_LIMITS.shared} shared canned responses: delete one before adding another`);
    }
    const queueId = await this.#queueOrNull(fields.queueId);
    await this.#assertShortcutFree(null, clean.shortcut ?? null);
    return view(await this.#insert({ ownerId: null, queueId, ...clean }));
  }

  async updateShared(id: string, patch: Partial<SharedCannedFields>): Promise<CannedResponseView> {
    const row = await this.#shared(id);
    const clean = checkFields({ title: row.title, body: row.body, shortcut: row.shortcut, ...patch });
    const queueId = patch.queueId === undefined ? row.queueId : await this.#queueOrNull(patch.queueId);
    if (patch.shortcut !== undefined) await this.#assertShortcutFree(null, clean.shortcut ?? null, row.id);
    return view(await this.#save(row, { ...clean, queueId }));
  }

  async deleteShared(id: string): Promise<void> {
    await this.#responses.delete({ id: (await this.#shared(id)).id });
  }

  async #personal(agentId: string, id: string): Promise<CannedResponseRow> {
    const row = await this.#responses.findOneBy({ id });
    if (row && row.ownerId === null) throw new ForbiddenError('shared canned responses are managed by admins');
    if (!row || row.ownerId !== agentId) throw new NotFoundError('canned response');
    return row;
  }

  async #shared(id: string): Promise<CannedResponseRow> {
    const row = await this.#responses.findOneBy({ id });
    // An agent's own responses are theirs alone, also for admins.
    if (!row || row.ownerId !== null) throw new NotFoundError('shared canned response');
    return row;
  }

  async #queueOrNull(queueId: string | null | undefined): Promise<string | null> {
    if (!queueId) return null;
    if (!(await this.#queues.existsBy({ id: queueId }))) throw new DomainError('VALIDATION', `queueId: there is no queue "${queueId}"`);
    return queueId;
  }

  /** Shortcuts are unique among one agent's own, and among the shared ones. */
  async #assertShortcutFree(ownerId: string | null, shortcut: string | null, exceptId?: string): Promise<void> {
    if (!shortcut) return;
    const taken = await this.#responses.findOneBy({ ownerId: ownerId ?? IsNull(), shortcut });
    if (taken && taken.id !== exceptId) throw new DomainError('CONFLICT', `the shortcut /${shortcut} is already used by "${taken.title}"`);
  }

  async #insert(fields: Omit<CannedResponseRow, 'id' | 'createdAt' | 'updatedAt' | 'shortcut'> & { shortcut?: string | null }): Promise<CannedResponseRow> {
    const now = Date.now();
    const row: CannedResponseRow = { id: randomUUID(), createdAt: now, updatedAt: now, ...fields, shortcut: fields.shortcut ?? null };
    await this.#responses.insert(row);
    return row;
  }

  async #save(row: CannedResponseRow, fields: Partial<CannedResponseRow>): Promise<CannedResponseRow> {
    const next: CannedResponseRow = { ...row, ...fields, shortcut: fields.shortcut === undefined ? row.shortcut : fields.shortcut, updatedAt: Date.now() };
    await this.#responses.update({ id: row.id }, { title: next.title, body: next.body, shortcut: next.shortcut, queueId: next.queueId, updatedAt: next.updatedAt });
    return next;
  }
}

/** Trims the title and checks the body's placeholders; throws VALIDATION naming the first unknown one. */
function checkFields<T extends CannedFields>(fields: T): T {
  const title = fields.title.trim();
  if (!title) throw new DomainError('VALIDATION', 'title: must not be blank');
  for (const match of fields.body.match(PLACEHOLDER_LIKE) ?? []) {
    const normalised = match.replace(/\s+/g, '');
    if (!(CANNED_PLACEHOLDERS as readonly string[]).includes(normalised)) {
      throw new DomainError('VALIDATION', `body: unknown placeholder ${match}; use ${CANNED_PLACEHOLDERS.join(', ')}`);
    }
  }
  return { ...fields, title };
}

function byTitle(a: CannedResponseRow, b: CannedResponseRow): number {
  return a.title.localeCompare(b.title);
}

function view(row: CannedResponseRow): CannedResponseView {
  return {
    id: row.id,
    scope: row.ownerId === null ? 'shared' : 'personal',
    queueId: row.queueId,
    title: row.title,
    shortcut: row.shortcut,
    body: row.body,
    updatedAt: row.updatedAt,
  };
}
