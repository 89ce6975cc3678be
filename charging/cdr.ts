// Call detail records: one row per handling of a task (attempt 1, 2 after a transfer, …), written
// once when it ends, with what it cost. Listed by time with a cursor, exported as JSON or CSV.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { CallDetailRecordEntity, type CallDetailRecordRow, type CdrTariff, type RatingStatus } from '../db/charging-entities.js';
import { toCsv, type CsvCell } from './csv.js';
import { assertCurrency, assertMinor } from './money.js';
import { exec, inTransaction } from './sql.js';

export type { CdrTariff, RatingStatus };
export type CallDetailRecord = CallDetailRecordRow;

export interface CdrInput {
  sessionId: string;
  taskId: string;
  attempt?: number;
  channel: string;
  queueId: string;
  skills?: unknown;
  customerId: string;
  agentId?: string | null;
  trunkId?: string | null;
  enqueuedAt: number;
  offeredAt?: number | null;
  answeredAt?: number | null;
  endedAt?: number | null;
  terminationReason: string;
  tariff?: CdrTariff | null;
  billedSeconds?: number;
  amountMinor?: number;
  currency?: string | null;
  /** Who pays: the customer id, or an account (a company) for postpaid business customers. */
  chargedParty?: string | null;
  ratingStatus: RatingStatus;
}

export interface CdrFilter {
  /** created_at ≥ from, epoch ms. */
  from?: number;
  /** created_at < to, epoch ms. */
  to?: number;
  agentId?: string;
  queueId?: string;
  customerId?: string;
  /** At most this many rows (default 1000, at most 10 000). */
  limit?: number;
  /** nextCursor of the previous page. */
  after?: string;
}

export interface CdrPage {
  rows: CallDetailRecord[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

const RATING_STATUSES: readonly RatingStatus[] = ['rated', 'unrated', 'free', 'failed'];

export const CDR_COLUMNS = [
  'id', 'session_id', 'task_id', 'attempt', 'channel', 'queue_id', 'skills', 'customer_id', 'agent_id', 'trunk_id',
  'enqueued_at', 'offered_at', 'answered_at', 'ended_at', 'wait_ms', 'handle_ms', 'termination_reason', 'tariff',
  'billed_seconds', 'amount_minor', 'currency', 'charged_party', 'rating_status', 'created_at',
] as const;

function encodeCursor(row: CallDetailRecord): string {
  return Buffer.from(`${row.createdAt}:${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split(':', 2);
  const createdAt = Number(at);
  if (!Number.isSafeInteger(createdAt) || !id) throw new TypeError('invalid cursor');
  return { createdAt, id };
}

function optionalTime(value: number | null | undefined, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${what} must be epoch ms`);
  return value;
}

export class CdrService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores the record once per (session, attempt); writing it again returns the first one unchanged. */
  async write(input: CdrInput): Promise<CallDetailRecord> {
    const attempt = input.attempt ?? 1;
    if (!Number.isInteger(attempt) || attempt < 1) throw new TypeError('attempt must be an integer ≥ 1');
    if (!RATING_STATUSES.includes(input.ratingStatus)) throw new TypeError(`unknown rating status: ${String(input.ratingStatus)}`);
    const enqueuedAt = optionalTime(input.enqueuedAt, 'enqueuedAt');
    if (enqueuedAt === null) throw new TypeError('enqueuedAt is required');
    const offeredAt = optionalTime(input.offeredAt, 'offeredAt');
    const answeredAt = optionalTime(input.answeredAt, 'answeredAt');
    const endedAt = optionalTime(input.endedAt, 'endedAt');
    const billedSeconds = input.billedSeconds ?? 0;
    const amountMinor = input.amountMinor ?? 0;
    assertMinor(billedSeconds, 'billedSeconds', true);
    assertMinor(amountMinor, 'amountMinor', true);
    if (input.currency != null) assertCurrency(input.currency);
    const now = this.clock();
    // Wait: until answered (or until the end, for a task nobody answered); handle: answered to end.
    const waitMs = Math.max(0, (answeredAt ?? endedAt ?? enqueuedAt) - enqueuedAt);
    const handleMs = answeredAt !== null && endedAt !== null ? Math.max(0, endedAt - answeredAt) : 0;
    const id = randomUUID();
    const repo = this.db.getRepository(CallDetailRecordEntity);
    await inTransaction(this.db, async (m) => {
      const exists = await exec(m, 'SELECT id FROM call_detail_records WHERE session_id = ? AND attempt = ?', [input.sessionId, attempt]);
      if (exists.rows.length > 0) return;
      await m.getRepository(CallDetailRecordEntity).insert({
        id, sessionId: input.sessionId, taskId: input.taskId, attempt, channel: input.channel, queueId: input.queueId,
        skills: input.skills ?? [], customerId: input.customerId, agentId: input.agentId ?? null, trunkId: input.trunkId ?? null,
        enqueuedAt, offeredAt, answeredAt, endedAt, waitMs, handleMs, terminationReason: input.terminationReason.slice(0, 32),
        tariff: input.tariff ?? null, billedSeconds, amountMinor, currency: input.currency ?? null,
        chargedParty: input.chargedParty ?? input.customerId, ratingStatus: input.ratingStatus, createdAt: now,
      });
    }).catch(async (err: unknown) => {
      // Two writers of the same record at once: the unique (session, attempt) lets one in.
      if (!(await repo.existsBy({ sessionId: input.sessionId, attempt }))) throw err;
    });
    return repo.findOneByOrFail({ sessionId: input.sessionId, attempt });
  }

  /** How many handlings of a task have a record: the next one is this + 1. */
  async attemptsOf(taskId: string): Promise<number> {
    return this.db.getRepository(CallDetailRecordEntity).countBy({ taskId });
  }

  /** Records created in [from, to), oldest first, filtered, a page at a time. */
  async list(filter: CdrFilter = {}): Promise<CdrPage> {
    const limit = filter.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new TypeError('limit must be 1…10000');
    const q = this.db.getRepository(CallDetailRecordEntity).createQueryBuilder('c');
    if (filter.from !== undefined) q.andWhere('c.createdAt >= :from', { from: filter.from });
    if (filter.to !== undefined) q.andWhere('c.createdAt < :to', { to: filter.to });
    if (filter.agentId !== undefined) q.andWhere('c.agentId = :agentId', { agentId: filter.agentId });
    if (filter.queueId !== undefined) q.andWhere('c.queueId = :queueId', { queueId: filter.queueId });
    if (filter.customerId !== undefined) q.andWhere('c.customerId = :customerId', { customerId: filter.customerId });
    if (filter.after !== undefined) {
      const c = decodeCursor(filter.after);
      q.andWhere('(c.createdAt > :cAt OR (c.createdAt = :cAt AND c.id > :cId))', { cAt: c.createdAt, cId: c.id });
    }
    const rows = await q.orderBy('c.createdAt', 'ASC').addOrderBy('c.id', 'ASC').take(limit + 1).getMany();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { rows: page, nextCursor: more ? encodeCursor(page[page.length - 1]!) : null };
  }

  toCsv(rows: readonly CallDetailRecord[]): string {
    return toCsv(CDR_COLUMNS, rows.map(cdrCells));
  }

  toJson(rows: readonly CallDetailRecord[]): string {
    return JSON.stringify(rows);
  }
}

function cdrCells(r: CallDetailRecord): CsvCell[] {
  return [
    r.id, r.sessionId, r.taskId, r.attempt, r.channel, r.queueId, JSON.stringify(r.skills ?? []), r.customerId, r.agentId, r.trunkId,
    r.enqueuedAt, r.offeredAt, r.answeredAt, r.endedAt, r.waitMs, r.handleMs, r.terminationReason,
    r.tariff ? JSON.stringify(r.tariff) : null, r.billedSeconds, r.amountMinor, r.currency, r.chargedParty, r.ratingStatus, r.createdAt,
  ];
}
