// The data layer on both databases it supports: migrations apply (and re-apply as a no-op), values
// come back with their types, and the constraints that protect stored data hold.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../db/data-source.js';
import { AccountEntity, MessageEntity, TaskEntity, type TaskRow } from '../../db/entities.js';
import type { Config } from '../../lib/config.js';
import { createTempDatabase, type TempDatabase } from '../support/postgres.js';

type Dialect = { name: string; open(): Promise<{ db: Config['db']; cleanup(): Promise<void> }> };

const dialects: Dialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmpdir(), 'mccs-db-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'test.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const temp: TempDatabase = await createTempDatabase();
      return { db: { kind: 'postgres', url: temp.url }, cleanup: () => temp.drop() };
    },
  },
];

function task(overrides: Partial<TaskRow> = {}): TaskRow {
  return {
    id: randomUUID(),
    channel: 'chat',
    queueId: 'general',
    customerId: randomUUID(),
    status: 'queued',
    priority: 0,
    firstMessage: 'hello',
    agentId: null,
    enqueuedAt: 1_732_000_000_123,
    offeredAt: null,
    acceptedAt: null,
    endedAt: null,
    endReason: null,
    wrapUpCode: null,
    wrapUpNotes: null,
    completedAt: null,
    requirements: null,
    callbackNumber: null,
    callbackRequestedAt: null,
    ...overrides,
  };
}

describe.each(dialects)('database: $name', (dialect) => {
  let ds: DataSource;
  let config: Config['db'];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ db: config, cleanup } = await dialect.open());
    ds = await openDatabase(config);
  });
  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
  });

  test('migrations create every table, and running them again changes nothing', async () => {
    const tables = ['accounts', 'queues', 'customers', 'tasks', 'messages'];
    for (const t of tables) expect(await ds.createQueryRunner().hasTable(t)).toBe(true);
    const again = await ds.runMigrations();
    expect(again).toHaveLength(0);
    expect(await ds.showMigrations()).toBe(false);
  });

  test('epoch-millisecond times and JSON columns come back as the values stored', async () => {
    const row = task({ acceptedAt: 1_732_000_001_456 });
    await ds.getRepository(TaskEntity).insert(row);
    const back = await ds.getRepository(TaskEntity).findOneByOrFail({ id: row.id });
    expect(back.enqueuedAt).toBe(1_732_000_000_123);
    expect(back.acceptedAt).toBe(1_732_000_001_456);
    expect(back.offeredAt).toBeNull();

    const accounts = ds.getRepository(AccountEntity);
    const id = randomUUID();
    await accounts.insert({
      id,
      email: `${id}@example.test`,
      displayName: 'A',
      role: 'agent',
      passwordHash: 'x',
      mustChangePassword: true,
      skills: [{ skill: 'billing', level: 7 }],
      languages: ['en', 'fi'],
      chatCapacity: 3,
      createdAt: 1,
      updatedAt: 2,
    });
    const a = await accounts.findOneByOrFail({ id });
    expect(a.skills).toEqual([{ skill: 'billing', level: 7 }]);
    expect(a.languages).toEqual(['en', 'fi']);
    expect(a.mustChangePassword).toBe(true);
  });

  test('a message id sent twice in one chat is stored once', async () => {
    const messages = ds.getRepository(MessageEntity);
    const taskId = randomUUID();
    const base = { taskId, sender: 'customer' as const, senderId: null, senderName: 'C', body: 'hi', clientMsgId: 'same', createdAt: 5 };
    await messages.insert({ id: randomUUID(), ...base });
    await expect(messages.insert({ id: randomUUID(), ...base })).rejects.toThrow();
    expect(await messages.countBy({ taskId })).toBe(1);
    // Messages without a client id (system notes) may repeat.
    await messages.insert({ id: randomUUID(), ...base, clientMsgId: null });
    await messages.insert({ id: randomUUID(), ...base, clientMsgId: null });
    expect(await messages.countBy({ taskId })).toBe(3);
  });

  test('emails are unique', async () => {
    const accounts = ds.getRepository(AccountEntity);
    const make = () => ({
      id: randomUUID(),
      email: 'dup@example.test',
      displayName: 'D',
      role: 'agent' as const,
      passwordHash: 'x',
      mustChangePassword: false,
      skills: [],
      languages: [],
      chatCapacity: 1,
      createdAt: 1,
      updatedAt: 1,
    });
    await accounts.insert(make());
    await expect(accounts.insert(make())).rejects.toThrow();
    expect(await accounts.countBy({ email: 'dup@example.test' })).toBe(1);
  });

  test('a conditional state change applies once: the loser of a race changes nothing', async () => {
    const repo = ds.getRepository(TaskEntity);
    const row = task();
    await repo.insert(row);
    const first = await repo.update({ id: row.id, status: 'queued' }, { status: 'assigned', agentId: 'a1' });
    const second = await repo.update({ id: row.id, status: 'queued' }, { status: 'assigned', agentId: 'a2' });
    expect(first.affected).toBe(1);
    expect(second.affected).toBe(0);
    expect((await repo.findOneByOrFail({ id: row.id })).agentId).toBe('a1');
  });

  // On SQLite TypeORM shares one connection: without db/sqlite-transactions.ts the save below ran inside
  // the open transaction and was rolled back with it, and the second transaction nested in the first.
  describe('transactions are isolated from the rest of the process', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const exists = async (id: string) => (await ds.getRepository(TaskEntity).countBy({ id })) === 1;

    test("a rolled-back transaction takes only its own statements with it, not another caller's save", async () => {
      const mine = task();
      const other = task();
      const failing = ds.transaction(async (m) => {
        await m.getRepository(TaskEntity).insert(mine);
        await sleep(60); // another caller saves meanwhile
        throw new Error('rolled back on purpose');
      });
      await sleep(15);
      await ds.getRepository(TaskEntity).save(other);
      await expect(failing).rejects.toThrow('rolled back on purpose');
      expect(await exists(mine.id)).toBe(false);
      expect(await exists(other.id)).toBe(true);
    });

    test("a second transaction does not become part of a first that rolls back", async () => {
      const first = task();
      const second = task();
      const failing = ds.transaction(async (m) => {
        await m.getRepository(TaskEntity).insert(first);
        await sleep(60);
        throw new Error('first rolled back');
      });
      await sleep(15);
      await ds.transaction(async (m) => void (await m.getRepository(TaskEntity).insert(second)));
      await expect(failing).rejects.toThrow('first rolled back');
      expect(await exists(first.id)).toBe(false);
      expect(await exists(second.id)).toBe(true);
    });

    test('a transaction opened inside a transaction runs within it (no deadlock)', async () => {
      const outer = task();
      const inner = task();
      await ds.transaction(async (m) => {
        await m.getRepository(TaskEntity).insert(outer);
        await ds.transaction(async (m2) => void (await m2.getRepository(TaskEntity).insert(inner)));
      });
      expect(await exists(outer.id)).toBe(true);
      expect(await exists(inner.id)).toBe(true);
    });
  });
});
