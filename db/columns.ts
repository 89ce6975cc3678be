// Column kinds every entity file shares. Times are epoch milliseconds in BIGINT columns: exact, and
// the same on SQLite and PostgreSQL.
import type { ValueTransformer } from 'typeorm';

/** pg returns BIGINT as a string (it may not fit a JS number); ours are epoch ms, which always fit. */
export const epochMs: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null || v === undefined ? v : Number(v)),
};

export const timeColumn = (nullable = false) => ({ type: 'bigint' as const, nullable, transformer: epochMs });

/** JSON kept as text: portable, and small enough that nobody queries inside it. */
export const jsonText = <T>(fallback: T): ValueTransformer => ({
  to: (v: T | undefined) => JSON.stringify(v ?? fallback),
  from: (v: string | null) => (v ? (JSON.parse(v) as T) : fallback),
});
