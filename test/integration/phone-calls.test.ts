// A phone call through the whole server: SIPp calls the SIP bridge over a trunk, the call waits in a
// queue like a chat (as a task of channel "call"), the agent answers in the softphone (joins the
// caller's media room), and a hang-up on either side ends both the SIP dialog and the task. Real
// Janus on loopback (plain RTP needs no ICE); the softphone's SDP is a real Chromium offer.
import { readFileSync } from 'node:fs';
import { api, createAgent, type TestServer } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { call, connect, next, type AgentSocket } from '../support/sockets.js';
import { runSipp } from '../support/sipp.js';
import type { MediaView, Offer } from '../../protocol/events.js';
import { freePort } from '../support/ports.js';

const AUDIO_OFFER = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
let bed: PhoneServer;
let server: TestServer;
let admin: string;
let sipPort: number;
let workDir: string;
const sockets: Array<{ close(): unknown }> = [];


async function readyAgent(name: string): Promise<AgentSocket> {
  const a = await createAgent(server.url, admin, { displayName: name });
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  await call(socket, 'presence:set', { state: 'ready' });
  return socket;
}

async function caller(scenario: string) {
  return runSipp({ scenario, workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 25 });
}

beforeAll(async () => {
  bed = await startPhoneServer({
    prefix: 'mccs-phone-',
    janusRtpPorts: '25000-25999',
    trunks: [{ id: 'local-test', allow: ['127.0.0.1/32'], queueId: 'general', maxConcurrent: 5 }],
  });
  ({ server, admin, workDir, sipPort } = bed);
}, 60_000);

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(() => bed?.close());

test('a caller on a trunk waits in the queue, the agent answers in the softphone, and the agent’s hang-up sends BYE', async () => {
  const agent = await readyAgent('Phoebe');
  const offered = next<Offer>(agent, 'offer');
  const sipp = caller('uac-wait-bye.xml');
  const offer = await offered;
  expect(offer).toMatchObject({ channel: 'call', customerName: 'Caller', firstMessage: 'Phone call from +4930111', queue: { id: 'general' } });

  const ready = next<MediaView>(agent, 'media:ready');
  await call(agent, 'offer:accept', { taskId: offer.taskId });
  expect((await ready).video).toBe(false);
  const answer = await call<{ sdp: string }>(agent, 'media:join', { taskId: offer.taskId, sdp: AUDIO_OFFER });
  expect(answer.sdp).toMatch(/m=audio/);

  const ended = next<{ reason: string }>(agent, 'media:ended');
  const wrapUp = next<{ status: string }>(agent, 'task:ended');
  await call(agent, 'media:hangup', { taskId: offer.taskId });
  expect((await ended).reason).toBe('hangup');
  expect((await wrapUp).status).toBe('wrapup');
  // The conversation went to wrap-up with the call: the agent can record the outcome.
  expect(await call(agent, 'wrapup:done', { taskId: offer.taskId, code: 'resolved' })).toMatchObject({ status: 'completed' });
  // SIPp got our BYE and answered it: its scenario passes only then.
  const run = await sipp;
  expect(run.messages).toMatch(/^BYE sip:/m);
  expect(run.code).toBe(0);
}, 60_000);

test('a caller who hangs up while waiting is recorded as abandoned, and the task leaves the queue', async () => {
  // Nobody is ready: the call waits (greeting, music on hold) until the caller hangs up (BYE).
  const run = await caller('uac-call.xml');
  expect(run.code).toBe(0);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const metrics = await api<{ live: { waiting: number }; interval: { abandoned: number } }>(server.url, 'GET', '/api/supervisor/queues/general/metrics', undefined, admin);
    if (metrics.body.interval.abandoned >= 1 && metrics.body.live.waiting === 0) break;
    if (Date.now() > deadline) throw new Error(`not abandoned: ${JSON.stringify(metrics.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 60_000);

test('a waiting caller hears the greeting and their place in the queue, and is answered when an agent is free', async () => {
  const sipp = caller('uac-wait-bye.xml');
  // Nobody is ready yet: after the greeting the caller is told they are caller number 1.
  const deadline = Date.now() + 20_000;
  const announced = () => server.logs.some((l) => l.includes('"position announced"') && l.includes('"position":1'));
  while (!announced()) {
    if (Date.now() > deadline) throw new Error('no position announcement');
    await new Promise((r) => setTimeout(r, 200));
  }
  const agent = await readyAgent('Late Larry');
  const offer = await next<Offer>(agent, 'offer');
  expect(offer.channel).toBe('call');
  await call(agent, 'offer:accept', { taskId: offer.taskId });
  await call(agent, 'media:join', { taskId: offer.taskId, sdp: AUDIO_OFFER });
  await call(agent, 'media:hangup', { taskId: offer.taskId });
  expect((await sipp).code).toBe(0);
}, 60_000);

test('a queue that records calls records phone calls too: the caller is told, and the mix lasts as long as the call', async () => {
  const trunkQueue = 'general';
  expect((await api(server.url, 'PATCH', `/api/admin/queues/${trunkQueue}`, { recordCalls: true }, admin)).status).toBe(200);
  try {
    const agent = await readyAgent('Rec Rachel');
    const sipp = caller('uac-talk-wait-bye.xml');
    const offer = await next<Offer>(agent, 'offer');
    await call(agent, 'offer:accept', { taskId: offer.taskId });
    await call(agent, 'media:join', { taskId: offer.taskId, sdp: AUDIO_OFFER });
    await new Promise((r) => setTimeout(r, 2_000)); // the caller talks
    await call(agent, 'media:hangup', { taskId: offer.taskId });
    expect((await sipp).code).toBe(0);
    type Rec = { kind: string; state: string; durationMs: number | null; startedAt: number; endedAt: number };
    const deadline = Date.now() + 15_000;
    let audio: Rec | undefined;
    while (audio?.state !== 'ready') {
      if (Date.now() > deadline) throw new Error(`no recording: ${JSON.stringify(audio)}`);
      await new Promise((r) => setTimeout(r, 200));
      audio = (await api<Rec[]>(server.url, 'GET', `/api/tasks/${offer.taskId}/recordings`, undefined, admin)).body.find((r) => r.kind === 'audio');
    }
    expect(audio.durationMs!).toBeGreaterThan(1_500);
    expect(Math.abs(audio.durationMs! - (audio.endedAt - audio.startedAt))).toBeLessThan(1_000);
    expect(server.logs.some((l) => l.includes('"recording notice played"') && l.includes(offer.taskId))).toBe(true);
  } finally {
    await api(server.url, 'PATCH', `/api/admin/queues/${trunkQueue}`, { recordCalls: false }, admin);
  }
}, 60_000);
