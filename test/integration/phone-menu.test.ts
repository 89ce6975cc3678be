// The topic menu of a trunk: after the greeting the caller hears the menu and presses a digit (SIP
// INFO); the call then waits in the chosen queue. SIPp presses 2 (technical); the agent is offered
// the call in that queue and its hang-up BYEs the caller. Real Janus on loopback.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminToken, createAgent, startTestServer, waitForMedia, type TestServer } from '../support/server.js';
import { call, connect, next, type AgentSocket } from '../support/sockets.js';
import { runSipp } from '../support/sipp.js';
import type { Offer } from '../../protocol/events.js';
import { freePort } from '../support/ports.js';

let server: TestServer;
let workDir: string;
let sipPort: number;


beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'mccs-menu-'));
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', path.join(workDir, 'tone.wav'), 'synth', '3', 'sine', '440', 'vol', '0.5']);
  const trunks = path.join(workDir, 'trunks.json');
  writeFileSync(trunks, JSON.stringify([{ id: 'menu-trunk', allow: ['127.0.0.1/32'], queueId: 'general', menu: { '1': 'billing', '2': 'technical' } }]));
  sipPort = await freePort();
  server = await startTestServer({
    MCCS_JANUS: 'auto',
    MCCS_JANUS_WS_PORT: String(await freePort()),
    MCCS_JANUS_RTP_PORTS: '26000-26999',
    MCCS_SIP_PORT: String(sipPort),
    MCCS_SIP_TRUNKS_FILE: trunks,
  });
  await waitForMedia(server.url);
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(workDir, { recursive: true, force: true });
});

test('the caller presses 2 in the menu and waits in the technical queue', async () => {
  const admin = await adminToken(server.url);
  const a = await createAgent(server.url, admin, { displayName: 'Tess Tech' });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  try {
    await next(agent, 'hello');
    await call(agent, 'presence:set', { state: 'ready' });
    const sipp = runSipp({ scenario: 'uac-menu-2.xml', workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 40 });
    // The digit cuts the menu short: the call is offered in the queue it chose.
    const offer = await next<Offer>(agent, 'offer', () => true, 30_000);
    expect(offer).toMatchObject({ channel: 'call', queue: { id: 'technical' } });
    expect(server.logs.some((l) => l.includes('"topic chosen"') && l.includes('"byDigit":true'))).toBe(true);
    await call(agent, 'offer:accept', { taskId: offer.taskId });
    await call(agent, 'media:hangup', { taskId: offer.taskId });
    expect((await sipp).code).toBe(0);
  } finally {
    agent.close();
  }
}, 60_000);

test('the caller presses 2 as an RFC 4733 telephone-event (through the RTP relay) and waits in the technical queue', async () => {
  const admin = await adminToken(server.url);
  const a = await createAgent(server.url, admin, { displayName: 'Rita Relay' });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  try {
    await next(agent, 'hello');
    await call(agent, 'presence:set', { state: 'ready' });
    const sipp = runSipp({ scenario: 'uac-menu-2-rfc4733.xml', workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 40 });
    const offer = await next<Offer>(agent, 'offer', () => true, 30_000);
    expect(offer).toMatchObject({ channel: 'call', queue: { id: 'technical' } });
    await call(agent, 'offer:accept', { taskId: offer.taskId });
    await call(agent, 'media:hangup', { taskId: offer.taskId });
    expect((await sipp).code).toBe(0);
  } finally {
    agent.close();
  }
}, 60_000);
