// SIP trunks managed in the admin console, through the whole server: only admins may see or change
// them, every field is checked (nothing is stored when a check fails), passwords are never sent back
// or logged, and the running SIP bridge applies a change at once: with no trunks file there is no
// bridge until an admin adds a trunk; SIPp calling from the new trunk's addresses is answered; after
// the trunk is removed a new call gets 403 while the call already up goes on to its normal end.
import dgram from 'node:dgram';
import { api, createAgent, type TestServer } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { runSipp, type SippRun } from '../support/sipp.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/sip-bed.js';
import type { SipTrunkView, SipTrunksReply } from '../../protocol/sip.js';

const DIGEST_SECRET = 'digest-Secret-4711';
const REGISTER_SECRET = 'register-Secret-0815';
let bed: PhoneServer;
let server: TestServer;
let admin: string;
let sipPort: number;
let workDir: string;

async function staffToken(role: 'supervisor' | 'agent'): Promise<string> {
  if (role === 'agent') return (await createAgent(server.url, admin)).token;
  const email = `sup-${Date.now()}@example.test`;
  const password = 'supervisor-pass-123';
  const made = await api(server.url, 'POST', '/api/admin/accounts', { email, password, displayName: 'Sue', role: 'supervisor' }, admin);
  expect(made.status).toBe(201);
  return (await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email, password })).body.token;
}

const list = async () => (await api<SipTrunksReply>(server.url, 'GET', '/api/admin/sip/trunks', undefined, admin)).body;

async function sipp(scenario: string, replace?: Record<string, string>): Promise<SippRun> {
  return runSipp({ scenario, workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 20, ...(replace ? { replace } : {}) });
}

beforeAll(async () => {
  bed = await startPhoneServer({ prefix: 'mccs-trunks-', janusRtpPorts: '26000-26999', env: { MCCS_SIP_RTP_PORTS: '46000-46999' } });
  ({ server, admin, workDir, sipPort } = bed);
}, 60_000);

afterAll(() => bed?.close());

test('with no trunks file and no trunk yet there is no SIP bridge: the SIP port is not even open', async () => {
  expect(await list()).toEqual({ enabled: false, trunks: [] });
  const free = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(sipPort, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  expect(free).toBe(true);
});

test('only admins see and change trunks', async () => {
  const body = { id: 'nope', allow: ['192.0.2.0/24'] };
  expect((await api(server.url, 'GET', '/api/admin/sip/trunks')).status).toBe(401);
  expect((await api(server.url, 'POST', '/api/admin/sip/trunks', body)).status).toBe(401);
  for (const role of ['supervisor', 'agent'] as const) {
    const token = await staffToken(role);
    expect((await api(server.url, 'GET', '/api/admin/sip/trunks', undefined, token)).status).toBe(403);
    expect((await api(server.url, 'POST', '/api/admin/sip/trunks', body, token)).status).toBe(403);
    expect((await api(server.url, 'PUT', '/api/admin/sip/trunks/nope', { allow: ['192.0.2.0/24'] }, token)).status).toBe(403);
    expect((await api(server.url, 'DELETE', '/api/admin/sip/trunks/nope', undefined, token)).status).toBe(403);
  }
  expect((await list()).trunks.map((t) => t.id)).not.toContain('nope');
});

test('every field is checked, and a refused trunk is not stored', async () => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['an allow entry that is no CIDR', { id: 'bad', allow: ['10.0.0.0/33'] }],
    ['an allow entry that is no address', { id: 'bad', allow: ['300.1.2.3'] }],
    ['a trunk that would accept anyone', { id: 'bad', maxConcurrent: 3 }],
    ['a port out of range', { id: 'bad', target: 'sip:carrier.example:70000' }],
    ['an unknown transport', { id: 'bad', target: 'sip:carrier.example:5060;transport=sctp' }],
    ['a host with spaces', { id: 'bad', target: 'sip:carrier example' }],
    ['credentials without a password', { id: 'bad', auth: { username: 'pbx' } }],
    ['registration without a password', { id: 'bad', register: { registrar: 'carrier.example:5060', username: 'acct' } }],
    ['a registration lifetime under 60 s', { id: 'bad', register: { registrar: 'carrier.example', username: 'a', password: 'p', expires: 10 } }],
    ['a keep-alive without a target', { id: 'bad', allow: ['192.0.2.1'], keepAlive: { intervalSeconds: 30 } }],
    ['a negative limit', { id: 'bad', allow: ['192.0.2.1'], maxCallsPerSecond: -1 }],
    ['a menu key that is no digit', { id: 'bad', allow: ['192.0.2.1'], menu: { '12': 'general' } }],
    ['an unknown field', { id: 'bad', allow: ['192.0.2.1'], proxy: 'x' }],
    ['an id with a slash', { id: 'a/b', allow: ['192.0.2.1'] }],
  ];
  for (const [what, body] of bad) {
    const res = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/admin/sip/trunks', body, admin);
    expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 400, code: 'VALIDATION' });
  }
  // Two trunks may not both place callbacks.
  expect((await api(server.url, 'POST', '/api/admin/sip/trunks', { id: 'cb-one', target: 'sip:192.0.2.10:5060', callbacks: true }, admin)).status).toBe(201);
  const second = await api<{ error: { message: string } }>(server.url, 'POST', '/api/admin/sip/trunks', { id: 'cb-two', target: 'sip:192.0.2.11:5060', callbacks: true }, admin);
  expect(second.status).toBe(400);
  expect(second.body.error.message).toMatch(/only one SIP trunk may place callbacks/);
  // The same id twice is a conflict.
  expect((await api(server.url, 'POST', '/api/admin/sip/trunks', { id: 'cb-one', target: 'sip:192.0.2.12:5060' }, admin)).status).toBe(409);
  expect((await list()).trunks.map((t) => t.id)).toEqual(['cb-one']);
  expect((await api(server.url, 'DELETE', '/api/admin/sip/trunks/cb-one', undefined, admin)).status).toBe(204);
  expect((await api(server.url, 'DELETE', '/api/admin/sip/trunks/cb-one', undefined, admin)).status).toBe(404);
  expect((await api(server.url, 'PUT', '/api/admin/sip/trunks/cb-one', { allow: ['192.0.2.1'] }, admin)).status).toBe(404);
});

test('passwords are stored but never sent back or logged; an update without them keeps them', async () => {
  // The registrar is a closed port on loopback: registration keeps failing, which is fine here.
  const registrar = `127.0.0.1:${await freePort()}`;
  const created = await api<SipTrunkView>(
    server.url,
    'POST',
    '/api/admin/sip/trunks',
    { id: 'pbx', auth: { username: 'office', password: DIGEST_SECRET, realm: 'mccs' }, register: { registrar, username: 'acct', password: REGISTER_SECRET }, maxConcurrent: 4 },
    admin,
  );
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ id: 'pbx', source: 'console', auth: { username: 'office', realm: 'mccs', passwordSet: true }, register: { username: 'acct', passwordSet: true }, maxConcurrent: 4 });
  const updated = await api<SipTrunkView>(server.url, 'PUT', '/api/admin/sip/trunks/pbx', { auth: { username: 'office', realm: 'mccs' }, register: { registrar, username: 'acct' }, maxConcurrent: 8 }, admin);
  expect(updated.status).toBe(200);
  expect(updated.body).toMatchObject({ maxConcurrent: 8, auth: { passwordSet: true }, register: { passwordSet: true } });
  // A different user needs their own password.
  const newUser = await api(server.url, 'PUT', '/api/admin/sip/trunks/pbx', { auth: { username: 'someone-else' } }, admin);
  expect(newUser.status).toBe(400);
  const listed = await list();
  expect(listed.trunks.find((t) => t.id === 'pbx')).toMatchObject({ registration: { state: expect.stringMatching(/registering|failed/) } });
  for (const text of [JSON.stringify(created.body), JSON.stringify(updated.body), JSON.stringify(listed), server.logs.join('\n')]) {
    expect(text).not.toContain(DIGEST_SECRET);
    expect(text).not.toContain(REGISTER_SECRET);
  }
  expect((await api(server.url, 'DELETE', '/api/admin/sip/trunks/pbx', undefined, admin)).status).toBe(204);
});

test('a trunk added in the console takes calls at once; once removed, a new call gets 403 and the call in progress goes on', async () => {
  expect((await list()).trunks).toEqual([]);
  // A source nobody added yet: refused (the bridge runs since the earlier tests added trunks).
  expect((await sipp('uac-refused.xml', { __STATUS__: '403', __MLINE__: 'm=audio [media_port] RTP/AVP 0', __RTPMAP__: 'a=rtpmap:0 PCMU/8000' })).code).toBe(0);

  const added = await api<SipTrunkView>(server.url, 'POST', '/api/admin/sip/trunks', { id: 'loopback', allow: ['127.0.0.1/32'], queueId: 'general', maxConcurrent: 5 }, admin);
  expect(added.status).toBe(201);
  const first = sipp('uac-call.xml');
  await until('the call to be up on the trunk', async () => (await list()).trunks.find((t) => t.id === 'loopback')?.activeCalls === 1, 10_000);

  expect((await api(server.url, 'DELETE', '/api/admin/sip/trunks/loopback', undefined, admin)).status).toBe(204);
  const refused = await sipp('uac-refused.xml', { __STATUS__: '403', __MLINE__: 'm=audio [media_port] RTP/AVP 0', __RTPMAP__: 'a=rtpmap:0 PCMU/8000' });
  expect(refused.code).toBe(0);
  // The first call's hold, resume and BYE were all answered after its trunk was removed.
  const run = await first;
  expect(run.code).toBe(0);
  expect(run.messages).toMatch(/^BYE sip:/m);
}, 60_000);
