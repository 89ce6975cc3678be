// The TypeORM DataSource for the configured database. Migrations run at start; schema sync never does.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { Config } from '../lib/config.js';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';

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

/** Connects and brings the schema up to date. */
export async function openDatabase(db: Config['db']): Promise<DataSource> {
  const ds = createDataSource(db);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
