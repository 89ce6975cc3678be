// SIP trunks with two server processes sharing PostgreSQL and Redis: a trunk an admin adds, changes
// or removes through one node is applied by the other node's SIP bridge without a restart (each node
// hears a notice on Redis and reads the trunks again from the database). A trunk an earlier version
// stored with its passwords in clear is sealed when both nodes start at once, and both still use it.
// Needs the build (`npm run build`).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../db/data-source.js';
import { SipTrunkEntity } from '../../db/sip-entities.js';
import { startNode, stopNode, type NodeProcess } from '../support/node-process.js';
import { createTempDatabase, type TempDatabase } from '../support/postgres.js';
import { ADMIN_FIRST_PASSWORD, TOKEN_SECRET, adminToken, api } from '../support/server.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/media-bed.js';
import type { SipTrunkView, SipTrunksReply } from '../../protocol/sip.js';

const REDIS_URL = process.env.MCCS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DIGEST_SECRET = 'digest-Secret-4711';
const REGISTER_SECRET = 'register-Secret-0815';

let db: TempDatabase;
let a: NodeProcess;
let b: NodeProcess;
let admin: string;

const trunks = async (node: NodeProcess): Promise<SipTrunkView[]> => {
  const res = await api<SipTrunksReply>(node.url, 'GET', '/api/admin/sip/trunks', undefined, admin);
  expect(res.status).toBe(200);
  return res.body.trunks;
};
const trunk = async (node: NodeProcess, id: string) => (await trunks(node)).find((t) => t.id === id);

async function storedSettings(id: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<{ settings: string }>('SELECT settings FROM sip_trunks WHERE id = $1', [id])).rows[0]?.settings;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTempDatabase();
  // The schema, and a trunk as the earlier version stored it: passwords in clear.
  const ds = await openDatabase({ kind: 'postgres', url: db.url });
  await ds.getRepository(SipTrunkEntity).save({
    id: 'legacy',
    settings: { auth: { username: 'office', password: DIGEST_SECRET, realm: 'mccs' }, maxConcurrent: 4 },
    createdAt: Date.now(),
    updatedAt: Date.now(),
    updatedBy: 'admin',
  });
  await ds.destroy();
  const shared = {
    MCCS_DATABASE_URL: db.url,
    MCCS_REDIS_URL: REDIS_URL,
    MCCS_REDIS_PREFIX: `mccs-test:${randomBytes(4).toString('hex')}:`,
    MCCS_TOKEN_SECRET: TOKEN_SECRET,
    MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
    MCCS_JANUS: 'off',
    MCCS_WEB_ROOT: '',
    MCCS_LOG_LEVEL: 'info',
  };
  // Each node its own SIP and relay ports; started together, so both find the clear row.
  [a, b] = await Promise.all([
    startNode({ ...shared, MCCS_SIP_PORT: String(await freePort()), MCCS_SIP_RTP_PORTS: '48000-48499' }),
    startNode({ ...shared, MCCS_SIP_PORT: String(await freePort()), MCCS_SIP_RTP_PORTS: '48500-48999' }),
  ]);
  admin = await adminToken(a.url);
}, 60_000);

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((n) => stopNode(n)));
  await db?.drop();
});

test('a trunk stored in clear is sealed when both nodes start at once, and both still have it', async () => {
  const stored = (await storedSettings('legacy'))!;
  expect(stored).not.toContain(DIGEST_SECRET);
  expect(JSON.parse(stored)).toMatchObject({ auth: { username: 'office', passwordSealed: expect.stringMatching(/^v1:/) }, maxConcurrent: 4 });
  for (const node of [a, b]) {
    expect(await trunk(node, 'legacy')).toMatchObject({ source: 'console', auth: { username: 'office', passwordSet: true }, maxConcurrent: 4 });
  }
});

test("a trunk added, changed and removed through one node is applied by the other node's bridge", async () => {
  // Nobody listens there: registration keeps failing, which is enough to show the bridge runs the trunk.
  const registrar = `127.0.0.1:${await freePort()}`;
  expect(await trunk(b, 'carrier')).toBeUndefined();
  const added = await api(a.url, 'POST', '/api/admin/sip/trunks', { id: 'carrier', register: { registrar, username: 'acct', password: REGISTER_SECRET }, maxConcurrent: 2 }, admin);
  expect(added.status).toBe(201);
  // Node B lists it with its registration state, which only B's own running bridge reports.
  await until("node B's bridge to run the new trunk", async () => (await trunk(b, 'carrier'))?.registration !== undefined, 10_000);
  expect(await trunk(b, 'carrier')).toMatchObject({ source: 'console', register: { registrar, username: 'acct', passwordSet: true }, maxConcurrent: 2 });

  // Changed on B (password kept): A follows.
  const changed = await api(b.url, 'PUT', '/api/admin/sip/trunks/carrier', { register: { registrar, username: 'acct' }, maxConcurrent: 9 }, admin);
  expect(changed.status).toBe(200);
  await until('node A to apply the change', async () => (await trunk(a, 'carrier'))?.maxConcurrent === 9, 10_000);
  expect(JSON.parse((await storedSettings('carrier'))!)).toMatchObject({ register: { passwordSealed: expect.stringMatching(/^v1:/) }, maxConcurrent: 9 });

  // Removed on B: gone from A too.
  expect((await api(b.url, 'DELETE', '/api/admin/sip/trunks/carrier', undefined, admin)).status).toBe(204);
  await until('node A to drop the trunk', async () => (await trunk(a, 'carrier')) === undefined, 10_000);
  expect((await trunks(a)).map((t) => t.id)).toEqual(['legacy']);

  for (const node of [a, b]) {
    const output = node.output.join('');
    expect(output).not.toContain(DIGEST_SECRET);
    expect(output).not.toContain(REGISTER_SECRET);
  }
  expect(b.output.join('')).toMatch(/SIP trunks changed on another server process: applied/);
}, 60_000);
