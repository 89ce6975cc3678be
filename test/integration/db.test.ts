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
});
