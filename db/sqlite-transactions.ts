// Transactions that are really isolated on the embedded database. TypeORM's better-sqlite3 driver runs
// everything on one shared connection, so while a transaction is open any other statement of the
// process — a message saved by another socket, a charging tick — runs inside it: a rollback would
// drop that other work, and a second transaction would nest as a savepoint of the first.
//
// Here an explicit transaction (`dataSource.transaction`) owns the connection: statements issued from
// its own async context (AsyncLocalStorage) run at once, everything else waits until it commits or
// rolls back, and explicit transactions run one after another. Statements outside transactions still
// run concurrently with each other. A transaction TypeORM opens on its own (a repository save) is
// short and is waited for before an explicit one starts; other statements may still land in it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

type TransactionFn = EntityManager['transaction'];

/** Installs the isolation on an initialised better-sqlite3 DataSource (after migrations). */
export function isolateSqliteTransactions(ds: DataSource): void {
  if (ds.options.type !== 'better-sqlite3') throw new TypeError('isolateSqliteTransactions is for better-sqlite3 only');
  const runner: QueryRunner = ds.driver.createQueryRunner('master'); // the one shared runner
  const context = new AsyncLocalStorage<symbol>();
  /** The explicit transaction that owns the connection now, and a promise settled when it ends. */
  let owner: { token: symbol; ended: Promise<void> } | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const query = runner.query.bind(runner) as QueryRunner['query'];
  runner.query = (async (...args: Parameters<QueryRunner['query']>) => {
    while (owner && context.getStore() !== owner.token) await owner.ended;
    return query(...args);
  }) as QueryRunner['query'];

  const manager = ds.manager;
  const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  manager.transaction = ((...args: unknown[]) => {
    // A transaction opened inside the owner's work nests as TypeORM nests it (a savepoint).
    if (owner && context.getStore() === owner.token) return transaction(...args);
    const run = queue.then(async () => {
      // A transaction TypeORM opened by itself (a save) finishes first: ours must not become its savepoint.
      while (runner.isTransactionActive) await new Promise<void>((resolve) => setImmediate(resolve));
      let end!: () => void;
      const token = Symbol('transaction');
      owner = { token, ended: new Promise<void>((resolve) => (end = resolve)) };
      try {
        return await context.run(token, () => transaction(...args));
      } finally {
        owner = null;
        end();
      }
    });
    queue = run.catch(() => undefined);
    return run;
  }) as TransactionFn;
}
