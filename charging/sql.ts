// The few database helpers charging needs beyond repositories: transactions that join the caller's,
// and conditional statements written once for both dialects.
import type { DataSource, EntityManager } from 'typeorm';

export function isPostgres(db: DataSource): boolean {
  return db.options.type === 'postgres';
}

/**
 * Runs `work` in a transaction (or in `outer`'s, when the caller already has one). On SQLite the
 * transaction owns the shared connection while it runs (db/sqlite-transactions.ts).
 */
export async function inTransaction<T>(db: DataSource, work: (m: EntityManager) => Promise<T>, outer?: EntityManager): Promise<T> {
  return outer ? work(outer) : db.transaction(work);
}

export interface ExecResult {
  affected: number;
  rows: Array<Record<string, unknown>>;
}

/** A statement with `?` placeholders on either dialect (pg wants $1, $2, …), run in `m`'s transaction. */
export async function exec(m: EntityManager, sql: string, params: unknown[]): Promise<ExecResult> {
  let text = sql;
  if (m.connection.options.type === 'postgres') {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
  }
  const runner = m.queryRunner;
  if (!runner) throw new Error('exec() needs a transaction (inTransaction)');
  const result = await runner.query(text, params, true);
  return { affected: result.affected ?? 0, rows: Array.isArray(result.records) ? result.records : [] };
}

/** A BIGINT from a raw row (pg returns strings), checked to be exact. */
export function safeInt(value: unknown, what = 'value'): number {
  const n = typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${String(value)} is not a safe integer`);
  return n;
}

/** Whether a failed statement broke a unique constraint (SQLite and PostgreSQL word it differently). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e?.driverError?.code ?? e?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed/.test(e?.message ?? '');
}
