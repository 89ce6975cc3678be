// The TypeORM DataSource for the configured database. Migrations run at start; schema sync never does.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { Config } from '../lib/config.js';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';
import { isolateSqliteTransactions } from './sqlite-transactions.js';

export function createDataSource(db: Config['db']): DataSource {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, synchronize: false, logging: false } as const;
  if (db.kind === 'postgres') {
    return new DataSource({ ...common, type: 'postgres', url: db.url, extra: { max: 20 } });
  }
  if (db.file !== ':memory:') mkdirSync(path.dirname(db.file), { recursive: true });
  return new DataSource({
    ...common,
    type: 'better-sqlite3',
    database: db.file,
    // WAL lets readers proceed during a write; NORMAL sync is durable across process crashes in WAL mode.
    prepareDatabase: (sqlite: { pragma(s: string): unknown }) => {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('busy_timeout = 5000');
    },
  });
}

/** Any constant works; it names the lock every mccs node takes while migrating. */
const MIGRATION_LOCK_ID = 7_300_517;

/** Connects and brings the schema up to date. */
export async function openDatabase(db: Config['db']): Promise<DataSource> {
  const ds = createDataSource(db);
  await ds.initialize();
  if (db.kind !== 'postgres') {
    await ds.runMigrations({ transaction: 'each' });
    isolateSqliteTransactions(ds);
    return ds;
  }
  // Several nodes may start together: a session-level advisory lock lets one migrate at a time,
  // and the others then find nothing left to do.
  const runner = ds.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
  return ds;
}
