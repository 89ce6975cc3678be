// Hold through the whole server against a real Janus on loopback. The audio test is a phone call
// both ways: SIPp calls in over a trunk and an agent who takes calls on their own phone is rung
// through the same trunk (SIPp answers); the RTP of both phones is our own peers, so the test hears
// what each side hears. On hold the caller stops hearing the agent (and hears the hold music instead)
// and the agent stops hearing the caller; resume brings both back. The signalling test uses a browser
// call (real Chromium offers, no media): who may hold, idempotency, the customer told, and the state
// after a reload.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { api, createAgent, visitorToken, type TestServer } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { call, connect, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import { runSipp, sippListening, sippMessageFile, type SippRun } from '../support/sipp.js';
import { createRtpPeer, type RtpPeer } from '../support/rtp.js';
import { freePort, freePortPair } from '../support/ports.js';
import type { ActiveCall, AgentTaskView, CustomerChatView, HoldState, MediaView, Offer } from '../../protocol/events.js';
import type { Socket } from 'socket.io-client';

const AUDIO_OFFER = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
const CALLER_TONE = 440;
const AGENT_TONE = 1000;
/** A party's tone as heard through the mix is an amplitude in the thousands; silence and other sounds stay far below. */
const HEARD = 1500;
const GONE = 150;

let bed: PhoneServer;
let server: TestServer;
let admin: string;
let workDir: string;
let sipPort: number;
/** Where the trunk sends its INVITEs: the agent's phone (SIPp) listens here. */
let agentPhonePort: number;
const sockets: Array<{ close(): unknown }> = [];
const peers: RtpPeer[] = [];

async function until(what: string, check: () => boolean, limitMs = 8_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function agentSocket(token: string): Promise<{ socket: AgentSocket; hello: { tasks: AgentTaskView[] } }> {
  const socket = await connect<AgentSocket>(server.url, '/agent', token);
  sockets.push(socket);
  return { socket, hello: await next<{ tasks: AgentTaskView[] }>(socket, 'hello') };
}

async function readyAgent(name: string): Promise<{ socket: AgentSocket; id: string; token: string }> {
  const a = await createAgent(server.url, admin, { displayName: name });
  const { socket } = await agentSocket(a.token);
  await call(socket, 'presence:set', { state: 'ready' });
  return { socket, id: a.id, token: a.token };
}

/** The RTP port in the SDP of the first message `startLine` (a regular expression's source) starts, from a SIPp run's log. */
async function sdpPort(sippSipPort: number, startLine: string): Promise<number> {
  const file = sippMessageFile({ workDir, sipPort: sippSipPort });
  const pattern = new RegExp(`^${startLine}[\\s\\S]*?^m=audio (\\d+)`, 'm');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const port = pattern.exec(await readFile(file, 'utf8').catch(() => ''))?.[1];
    if (port) return Number(port);
    if (Date.now() > deadline) throw new Error(`no SDP after ${startLine} in the log of SIPp on ${sippSipPort}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  let bridgePort: number;
  [agentPhonePort, bridgePort] = await freePortPair();
  bed = await startPhoneServer({
    prefix: 'mccs-hold-',
    janusRtpPorts: '28500-28999',
    sipPort: bridgePort,
    trunks: [{ id: 'carrier', allow: ['127.0.0.1/32'], queueId: 'general', target: `127.0.0.1:${agentPhonePort}`, callbacks: true, maxConcurrent: 5 }],
  });
  ({ server, admin, workDir, sipPort } = bed);
}, 60_000);

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const p of peers.splice(0)) await p.close();
});
afterAll(() => bed?.close());

test('on hold the caller no longer hears the agent (music instead) nor the agent the caller; resume brings both back', async () => {
  const a = await createAgent(server.url, admin, { displayName: 'Holly' });
  expect((await api(server.url, 'PUT', '/api/agent/phone', { phoneNumber: '+358405550001', answerCallsOnPhone: true }, a.token)).status).toBe(200);
  const { socket: agent } = await agentSocket(a.token);
  await call(agent, 'presence:set', { state: 'ready' });

  // The agent's phone: SIPp answers, our peer is its media (SIPp's own tone stream left out).
  const agentPeer = await createRtpPeer();
  const callerPeer = await createRtpPeer();
  peers.push(agentPeer, callerPeer);
  const agentPhone = runSipp({
    scenario: 'uas-answer-wait-bye.xml',
    workDir,
    sipPort: agentPhonePort,
    mediaPort: await freePort(),
    timeoutS: 40,
    replace: { 'm=audio [media_port]': `m=audio ${agentPeer.port}`, '<nop><action><exec rtp_stream="tone.wav,-1,0" /></action></nop>': '' },
  });
  await sippListening(agentPhonePort);

  const offered = next<Offer>(agent, 'offer', (o) => o.channel === 'call');
  const callerSipPort = await freePort();
  const caller = runSipp({
    scenario: 'uac-wait-bye.xml',
    workDir,
    target: { host: '127.0.0.1', port: sipPort },
    sipPort: callerSipPort,
    mediaPort: await freePort(),
    timeoutS: 40,
    replace: { 'm=audio [media_port]': `m=audio ${callerPeer.port}` },
  });
  callerPeer.start({ ip: '127.0.0.1', port: await sdpPort(callerSipPort, 'SIP/2\\.0 200 OK') }, CALLER_TONE);
  const offer = await offered;
  const taskId = offer.taskId;
  await call(agent, 'offer:accept', { taskId });
  agentPeer.start({ ip: '127.0.0.1', port: await sdpPort(agentPhonePort, 'ACK ') }, AGENT_TONE);

  await until('each hears the other', () => callerPeer.toneLevel(AGENT_TONE) > HEARD && agentPeer.toneLevel(CALLER_TONE) > HEARD);

  const held = await call<HoldState>(agent, 'media:hold', { taskId, held: true });
  expect(held).toMatchObject({ taskId, held: true, heldMs: expect.any(Number) });
  expect(held.heldSince).toBeGreaterThan(Date.now() - 5_000);
  await until('the caller no longer hears the agent', () => callerPeer.toneLevel(AGENT_TONE, 300) < GONE);
  await until('the agent no longer hears the caller', () => agentPeer.recentLevel(300) < GONE);
  // What the caller hears now is the hold music, not silence.
  await until('the caller hears the hold music', () => callerPeer.recentLevel(600) > 300);
  // Holding again changes nothing.
  expect(await call<HoldState>(agent, 'media:hold', { taskId, held: true })).toMatchObject({ held: true, heldSince: held.heldSince });
  // A supervisor sees the state; a reload of the agent app shows it too.
  const sup = await connect<Socket>(server.url, '/supervisor', admin);
  sockets.push(sup);
  expect((await call<ActiveCall[]>(sup, 'calls:list', {})).find((c) => c.taskId === taskId)?.held).toBe(true);
  const { hello } = await agentSocket(a.token);
  expect(hello.tasks.find((t) => t.taskId === taskId)?.media).toMatchObject({ held: true, heldSince: held.heldSince });

  await new Promise((r) => setTimeout(r, 300));
  const resumed = await call<HoldState>(agent, 'media:hold', { taskId, held: false });
  expect(resumed).toMatchObject({ held: false, heldSince: null });
  expect(resumed.heldMs).toBeGreaterThanOrEqual(300);
  await until('both hear each other again', () => callerPeer.toneLevel(AGENT_TONE) > HEARD && agentPeer.toneLevel(CALLER_TONE) > HEARD);
  expect((await call<ActiveCall[]>(sup, 'calls:list', {})).find((c) => c.taskId === taskId)?.held).toBe(false);

  expect(await call(agent, 'chat:end', { taskId })).toMatchObject({ status: 'wrapup' });
  await call(agent, 'wrapup:done', { taskId });
  await call(agent, 'presence:set', { state: 'not_ready' });
  const [callerRun, phoneRun] = await Promise.all([caller, agentPhone]) as [SippRun, SippRun];
  expect(phoneRun.code).toBe(0);
  expect(callerRun.code).toBe(0);
}, 90_000);

test('only the agent of the conversation holds the call; the customer is told, also after a reload', async () => {
  const agent = await readyAgent('Hal');
  // Another agent, online but not ready, so the call goes to Hal.
  const other = await agentSocket((await createAgent(server.url, admin, { displayName: 'Olga' })).token);
  const v = await visitorToken(server.url, 'Cleo');
  const customer = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(customer);
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(customer, 'call:start', { queueId: 'general', video: false, clientMsgId: msgId() });
  expect((await offered).taskId).toBe(view.taskId);
  const taskId = view.taskId;
  const ready = next<MediaView>(customer, 'media:ready');
  await call(agent.socket, 'offer:accept', { taskId });
  expect((await ready).held).toBe(false);
  await call(customer, 'media:join', { taskId, sdp: AUDIO_OFFER });

  // Another agent, the customer, and a bad payload are refused; nothing changes.
  expect(await request(other.socket, 'media:hold', { taskId, held: true })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await request(customer, 'media:hold', { taskId, held: true })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
  expect(await request(agent.socket, 'media:hold', { taskId })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(agent.socket, 'media:hold', { taskId, held: 'yes' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect((await call<CustomerChatView>(customer, 'chat:resume', { taskId })).media?.held).toBe(false);
  // Resuming a call that is not held changes nothing.
  expect(await call<HoldState>(agent.socket, 'media:hold', { taskId, held: false })).toMatchObject({ held: false, heldMs: 0 });

  // The agent holds before their own leg joined (their softphone still connecting): it joins held.
  const told = next<HoldState>(customer, 'media:hold');
  await call(agent.socket, 'media:hold', { taskId, held: true });
  expect(await told).toMatchObject({ taskId, held: true });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  // The customer's widget after a reload still shows it.
  expect((await call<CustomerChatView>(customer, 'chat:resume', { taskId })).media).toMatchObject({ held: true });

  // A transfer takes the call off hold: the customer is handed on, not left on hold.
  const released = next<HoldState>(customer, 'media:hold');
  await call(agent.socket, 'task:transfer', { taskId, queueId: 'general' });
  expect(await released).toMatchObject({ held: false });
  await call(customer, 'chat:leave', { taskId });
}, 60_000);
