// Call detail records on both databases: written once per session and attempt, listed by time and
// filters a page at a time, exported as JSON and CSV.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../db/data-source.js';
import type { Config } from '../../lib/config.js';
import { CDR_COLUMNS, CdrService, type CdrInput } from '../../charging/cdr.js';
import { createTempDatabase } from '../support/postgres.js';

type Dialect = { name: string; open(): Promise<{ db: Config['db']; cleanup(): Promise<void> }> };
const dialects: Dialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmpdir(), 'mccs-cdr-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'cdr.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const temp = await createTempDatabase();
      return { db: { kind: 'postgres', url: temp.url }, cleanup: () => temp.drop() };
    },
  },
];

const T0 = 1_732_400_000_000;

describe.each(dialects)('call detail records: $name', (dialect) => {
  let cleanup: () => Promise<void>;
  let db: DataSource;
  let now = T0;
  let cdrs: CdrService;

  beforeAll(async () => {
    let config: Config['db'];
    ({ db: config, cleanup } = await dialect.open());
    db = await openDatabase(config);
    cdrs = new CdrService(db, () => now);
  });
  afterAll(async () => {
    await db?.destroy();
    await cleanup?.();
  });

  const input = (i: Partial<CdrInput> = {}): CdrInput => ({
    sessionId: 's-1', taskId: 't-1', attempt: 1, channel: 'call', queueId: 'experts', skills: [{ skill: 'tax', minLevel: 3 }],
    customerId: 'cust-1', agentId: 'agent-1', trunkId: null, enqueuedAt: T0 - 60_000, offeredAt: T0 - 50_000, answeredAt: T0 - 45_000, endedAt: T0,
    terminationReason: 'agent_ended',
    tariff: { planId: 'p', perMinuteMinor: 120, sessionFeeMinor: 0, freeSeconds: 0, firstIncrementSeconds: 60, nextIncrementSeconds: 60 },
    billedSeconds: 60, amountMinor: 120, currency: 'EUR', chargedParty: 'cust-1', ratingStatus: 'rated', ...i,
  });

  test('written once per session and attempt, with wait and handle times', async () => {
    const first = await cdrs.write(input());
    expect(first).toMatchObject({ waitMs: 15_000, handleMs: 45_000, amountMinor: 120, skills: [{ skill: 'tax', minLevel: 3 }], answeredAt: T0 - 45_000, trunkId: null });
    expect(first.tariff).toEqual(input().tariff);
    now += 1;
    const again = await cdrs.write(input({ amountMinor: 999 }));
    expect(again).toEqual(first);
    const concurrent = await Promise.all([cdrs.write(input({ sessionId: 's-2' })), cdrs.write(input({ sessionId: 's-2' }))]);
    expect(concurrent[0]).toEqual(concurrent[1]);
    const second = await cdrs.write(input({ attempt: 2, agentId: 'agent-2' }));
    expect(second.id).not.toBe(first.id);
    const abandoned = await cdrs.write(input({ sessionId: 's-3', agentId: null, offeredAt: null, answeredAt: null, ratingStatus: 'unrated', billedSeconds: 0, amountMinor: 0, tariff: null }));
    expect(abandoned).toMatchObject({ waitMs: 60_000, handleMs: 0, agentId: null, tariff: null });
    await expect(cdrs.write(input({ sessionId: 's-4', attempt: 0 }))).rejects.toThrow(TypeError);
    await expect(cdrs.write(input({ sessionId: 's-4', amountMinor: 1.5 }))).rejects.toThrow(TypeError);
  });

  test('listed by time, filtered, a page at a time', async () => {
    for (let i = 0; i < 7; i++) {
      now = T0 + 100_000 + i * 1000;
      await cdrs.write(input({ sessionId: `page-${i}`, queueId: i % 2 ? 'odd' : 'even', agentId: `pager-${i % 3}` }));
    }
    const from = T0 + 100_000;
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await cdrs.list({ from, limit: 3, after });
      seen.push(...page.rows.map((r) => r.sessionId));
      after = page.nextCursor ?? undefined;
    } while (after);
    expect(seen).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6']);
    expect((await cdrs.list({ from, queueId: 'odd' })).rows.map((r) => r.sessionId)).toEqual(['page-1', 'page-3', 'page-5']);
    expect((await cdrs.list({ from, agentId: 'pager-0' })).rows.map((r) => r.sessionId)).toEqual(['page-0', 'page-3', 'page-6']);
    expect((await cdrs.list({ from, to: from + 2_000 })).rows).toHaveLength(2);
    expect((await cdrs.list({ customerId: 'nobody' })).rows).toEqual([]);
    await expect(cdrs.list({ limit: 0 })).rejects.toThrow(TypeError);
    await expect(cdrs.list({ after: 'garbage' })).rejects.toThrow(TypeError);
  });

  test('exported as JSON and as CSV with formula injection defused', async () => {
    now = T0 + 500_000;
    const evil = await cdrs.write(input({ sessionId: 'evil', customerId: '=cmd|calc', terminationReason: 'a,"b"' }));
    const csv = cdrs.toCsv([evil]);
    const [header, line] = csv.split('\r\n');
    expect(header).toBe(CDR_COLUMNS.join(','));
    expect(line).toContain(",'=cmd|calc,");
    expect(line).toContain(',"a,""b""",');
    expect(line).toContain(`,"[{""skill"":""tax"",""minLevel"":3}]",`);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(JSON.parse(cdrs.toJson([evil]))).toEqual([evil]);
  });
});
