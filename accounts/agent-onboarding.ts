// Agents who sign up themselves (docs/agents.md): the account starts 'pending'; the agent edits their
// profile and policies and uploads documents; admins approve, reject, suspend or reinstate, each
// decision an append-only audit row; admins see trust signals. Verification, rating and revenue share
// are never the agent's to change: nothing here takes them from the agent.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { In, type DataSource, type Repository } from 'typeorm';
import { DomainError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { AccountEntity, TaskEntity, type AccountRow, type AgentPolicies, type AgentVerification, type SkillLevel } from '../db/entities.js';
import {
  AgentDocumentEntity,
  AgentVerificationEventEntity,
  type AgentDocumentRow,
  type AgentVerificationEventRow,
  type VerificationAction,
} from '../db/accounts-entities.js';
import { ChargingSessionEntity, LedgerTransactionEntity } from '../db/charging-entities.js';
import { RatingEntity } from '../db/context-entities.js';
import type { AccountService } from './account-service.js';
import { DEFAULT_POLICIES, checkAvailability, isValidTimeZone } from './agent-policy.js';

export interface SignUpInput {
  email: string;
  password: string;
  displayName: string;
  legalName: string;
  skills: SkillLevel[];
  languages: string[];
  bio: string;
  timeZone: string;
  /** Minor units per minute, held to the topics' agent price ranges as the later setting is; null or absent: each topic's price. */
  pricePerMinuteMinor?: number | null;
}

export interface ProfilePatch {
  displayName?: string;
  skills?: SkillLevel[];
  languages?: string[];
  bio?: string;
  timeZone?: string;
  availability?: AgentPolicies['availability'];
  channels?: AgentPolicies['channels'];
  concurrentChats?: number;
  dndUntil?: number | null;
}

export interface AgentProfileView {
  id: string;
  email: string;
  displayName: string;
  verification: AgentVerification;
  skills: SkillLevel[];
  languages: string[];
  bio: string;
  timeZone: string;
  availability: AgentPolicies['availability'];
  channels: AgentPolicies['channels'];
  concurrentChats: number;
  dndUntil: number | null;
  totpEnabled: boolean;
}

export interface DocumentUpload {
  filename: string;
  mimeType: 'application/pdf' | 'image/png' | 'image/jpeg';
  contentBase64: string;
}

export interface TrustSignals {
  agentId: string;
  verification: AgentVerification;
  /** Average customer rating 1–5, null when nobody rated the agent yet. */
  rating: number | null;
  ratings: number;
  completedSessions: number;
  /** Charged sessions of the agent that were refunded in whole or part. */
  disputes: number;
  documents: number;
  lastDecision: AgentVerificationEventRow | null;
}

/** Decoded size cap of one document. */
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
const MAX_DOCUMENTS = 20;

const MAGIC: Record<DocumentUpload['mimeType'], number[]> = {
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  'image/jpeg': [0xff, 0xd8, 0xff],
};

/** Which states each decision leaves from, and where it goes. */
const TRANSITIONS: Record<VerificationAction, { from: AgentVerification[]; to: AgentVerification }> = {
  approve: { from: ['pending', 'rejected'], to: 'verified' },
  reject: { from: ['pending'], to: 'rejected' },
  suspend: { from: ['pending', 'verified'], to: 'suspended' },
  reinstate: { from: ['suspended'], to: 'verified' },
};

export class AgentOnboarding {
  readonly #accounts: Repository<AccountRow>;
  readonly #documents: Repository<AgentDocumentRow>;
  readonly #events: Repository<AgentVerificationEventRow>;

  constructor(
    private readonly db: DataSource,
    private readonly accountService: AccountService,
    private readonly opts: {
      documentsDir: string;
      defaultChatCapacity: number;
      /** Charging's rule for an agent's own price (PUT /api/agent/price): throws VALIDATION when no topic allows it. */
      checkAgentPrice: (pricePerMinuteMinor: number | null) => Promise<void>;
      logger: Logger;
    },
  ) {
    this.#accounts = db.getRepository(AccountEntity);
    this.#documents = db.getRepository(AgentDocumentEntity);
    this.#events = db.getRepository(AgentVerificationEventEntity);
  }

  async signUp(input: SignUpInput): Promise<AccountRow> {
    if (!isValidTimeZone(input.timeZone)) throw new DomainError('VALIDATION', `timeZone: unknown time zone "${input.timeZone}"`);
    // Checked before the account exists: a refused price leaves nothing behind to clash with a retry.
    await this.opts.checkAgentPrice(input.pricePerMinuteMinor ?? null);
    const account = await this.accountService.create({
      email: input.email,
      password: input.password,
      displayName: input.displayName,
      role: 'agent',
      skills: dedupeSkills(input.skills),
      languages: [...new Set(input.languages)],
      chatCapacity: Math.min(this.opts.defaultChatCapacity, 10),
      verification: 'pending',
      legalName: input.legalName.trim(),
      bio: input.bio.trim(),
      timeZone: input.timeZone,
      policies: { ...DEFAULT_POLICIES, channels: [...DEFAULT_POLICIES.channels] },
      pricePerMinuteMinor: input.pricePerMinuteMinor ?? null,
    });
    this.opts.logger.info('agent signed up', { accountId: account.id });
    return account;
  }

  async profile(accountId: string): Promise<AgentProfileView> {
    return profileView(await this.accountService.get(accountId));
  }

  async updateProfile(accountId: string, patch: ProfilePatch): Promise<AgentProfileView> {
    const account = await this.accountService.get(accountId);
    if (patch.timeZone !== undefined && !isValidTimeZone(patch.timeZone)) throw new DomainError('VALIDATION', `timeZone: unknown time zone "${patch.timeZone}"`);
    if (patch.availability) {
      const problem = checkAvailability(patch.availability);
      if (problem) throw new DomainError('VALIDATION', problem);
    }
    const policies: AgentPolicies = { ...DEFAULT_POLICIES, ...account.policies };
    if (patch.availability !== undefined) policies.availability = patch.availability;
    if (patch.channels !== undefined) policies.channels = [...new Set(patch.channels)];
    if (patch.dndUntil !== undefined) policies.dndUntil = patch.dndUntil && patch.dndUntil > Date.now() ? patch.dndUntil : null;
    const updated = await this.accountService.update(accountId, {
      ...(patch.displayName !== undefined ? { displayName: patch.displayName.trim() } : {}),
      ...(patch.skills !== undefined ? { skills: dedupeSkills(patch.skills) } : {}),
      ...(patch.languages !== undefined ? { languages: [...new Set(patch.languages)] } : {}),
      ...(patch.bio !== undefined ? { bio: patch.bio.trim() } : {}),
      ...(patch.timeZone !== undefined ? { timeZone: patch.timeZone } : {}),
      ...(patch.concurrentChats !== undefined ? { chatCapacity: patch.concurrentChats } : {}),
      policies,
    });
    return profileView(updated);
  }

  // ---- documents ---------------------------------------------------------------------------------

  async addDocument(accountId: string, upload: DocumentUpload): Promise<AgentDocumentRow> {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(upload.contentBase64)) throw new DomainError('VALIDATION', 'contentBase64: not base64');
    const bytes = Buffer.from(upload.contentBase64, 'base64');
    if (bytes.length === 0) throw new DomainError('VALIDATION', 'contentBase64: the document is empty');
    if (bytes.length > MAX_DOCUMENT_BYTES) throw new DomainError('PAYLOAD_TOO_LARGE', `a document may be at most ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB`);
    const magic = MAGIC[upload.mimeType];
    if (!magic.every((b, i) => bytes[i] === b)) throw new DomainError('UNSUPPORTED_MEDIA_TYPE', `the content is not a ${upload.mimeType} file`);
    if ((await this.#documents.countBy({ accountId })) >= MAX_DOCUMENTS) throw new DomainError('CONFLICT', `at most ${MAX_DOCUMENTS} documents per agent`);
    const row: AgentDocumentRow = {
      id: randomUUID(),
      accountId,
      filename: safeFilename(upload.filename),
      mimeType: upload.mimeType,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      uploadedAt: Date.now(),
    };
    const dir = path.join(this.opts.documentsDir, accountId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(dir, row.id), bytes, { mode: 0o600 });
    await this.#documents.insert(row);
    this.opts.logger.info('agent document uploaded', { accountId, documentId: row.id, mimeType: row.mimeType, sizeBytes: row.sizeBytes });
    return row;
  }

  listDocuments(accountId: string): Promise<AgentDocumentRow[]> {
    return this.#documents.find({ where: { accountId }, order: { uploadedAt: 'ASC' } });
  }

  async readDocument(accountId: string, documentId: string): Promise<{ row: AgentDocumentRow; bytes: Buffer }> {
    const row = await this.#documents.findOneBy({ id: documentId, accountId });
    if (!row) throw new NotFoundError('document');
    // The id is a UUID from our own row, never a path from the request.
    return { row, bytes: await readFile(path.join(this.opts.documentsDir, accountId, row.id)) };
  }

  // ---- verification ------------------------------------------------------------------------------

  /** An admin's decision; the account changes and the audit row is written in one transaction. */
  async decide(agentId: string, action: VerificationAction, reason: string, adminId: string): Promise<{ account: AccountRow; event: AgentVerificationEventRow }> {
    const rule = TRANSITIONS[action];
    const event: AgentVerificationEventRow = { id: randomUUID(), accountId: agentId, action, reason: reason.trim(), byAdmin: adminId, at: Date.now() };
    await this.db.transaction(async (m) => {
      const account = await m.getRepository(AccountEntity).findOneBy({ id: agentId });
      if (!account || account.role !== 'agent') throw new NotFoundError('agent');
      const current = account.verification ?? 'verified';
      const changed = await m
        .getRepository(AccountEntity)
        .update({ id: agentId, verification: In(rule.from) }, { verification: rule.to, updatedAt: event.at });
      if (!changed.affected) throw new DomainError('INVALID_STATE', `cannot ${action} an agent who is ${current}`);
      await m.getRepository(AgentVerificationEventEntity).insert(event);
    });
    this.opts.logger.info('agent verification decided', { agentId, action, by: adminId });
    return { account: await this.accountService.get(agentId), event };
  }

  events(agentId: string): Promise<AgentVerificationEventRow[]> {
    return this.#events.find({ where: { accountId: agentId }, order: { at: 'ASC' } });
  }

  /** Agents for admins, the pending first, optionally of one verification state. */
  async listAgents(verification?: AgentVerification): Promise<AccountRow[]> {
    const rows = await this.#accounts.find({ where: { role: 'agent', ...(verification ? { verification } : {}) }, order: { createdAt: 'ASC' } });
    return rows.sort((a, b) => Number(b.verification === 'pending') - Number(a.verification === 'pending'));
  }

  async trust(agentId: string): Promise<TrustSignals> {
    const account = await this.#accounts.findOneBy({ id: agentId, role: 'agent' });
    if (!account) throw new NotFoundError('agent');
    const completedSessions = await this.db.getRepository(TaskEntity).countBy({ agentId, status: 'completed' });
    const ratingRow = await this.db
      .getRepository(RatingEntity)
      .createQueryBuilder('r')
      .select('AVG(r.stars)', 'avg')
      .addSelect('COUNT(*)', 'n')
      .where('r.agentId = :agentId', { agentId })
      .getRawOne<{ avg: string | number | null; n: string | number }>();
    const disputes = await this.db
      .getRepository(LedgerTransactionEntity)
      .createQueryBuilder('t')
      .innerJoin(ChargingSessionEntity.options.name, 's', 's.id = t.sessionId')
      .select('COUNT(DISTINCT t.sessionId)', 'n')
      .where('t.kind = :kind', { kind: 'refund' })
      .andWhere('s.agentId = :agentId', { agentId })
      .getRawOne<{ n: string | number }>();
    const ratings = Number(ratingRow?.n ?? 0);
    const last = await this.#events.findOne({ where: { accountId: agentId }, order: { at: 'DESC' } });
    return {
      agentId,
      verification: account.verification ?? 'verified',
      rating: ratings > 0 && ratingRow?.avg !== null ? Math.round(Number(ratingRow!.avg) * 100) / 100 : null,
      ratings,
      completedSessions,
      disputes: Number(disputes?.n ?? 0),
      documents: await this.#documents.countBy({ accountId: agentId }),
      lastDecision: last ?? null,
    };
  }
}

export function profileView(a: AccountRow): AgentProfileView {
  const p = { ...DEFAULT_POLICIES, ...a.policies };
  return {
    id: a.id,
    email: a.email,
    displayName: a.displayName,
    verification: a.verification ?? 'verified',
    skills: a.skills,
    languages: a.languages,
    bio: a.bio ?? '',
    timeZone: a.timeZone ?? 'UTC',
    availability: p.availability,
    channels: p.channels,
    concurrentChats: a.chatCapacity,
    dndUntil: p.dndUntil && p.dndUntil > Date.now() ? p.dndUntil : null,
    totpEnabled: a.totpEnabled === true,
  };
}

function dedupeSkills(skills: SkillLevel[]): SkillLevel[] {
  const bySkill = new Map<string, SkillLevel>();
  for (const s of skills) bySkill.set(s.skill, { skill: s.skill, level: s.level });
  return [...bySkill.values()];
}

/** A name fit to show and to offer in a download: no path, no control characters. */
function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\p{L}\p{N} ._()-]/gu, '_').slice(0, 120).trim();
  return clean || 'document';
}
