// Browser calls through the signalling API against a real Janus on loopback: who may do what on a
// call, its life from offer to hang-up, a chat turned into a call, supervisor monitoring, and that a
// call always ends with its task. SDP offers are real Chromium offers (fixtures); media flow itself is
// asserted by the browser tests, which run Janus in a network namespace.
import { readFileSync } from 'node:fs';
import { adminToken, api, createAgent, startTestServer, visitorToken, waitForMedia, type TestServer } from '../support/server.js';
import { call, connect, drain, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { ActiveCall, CustomerChatView, MediaView, Offer } from '../../protocol/events.js';
import type { Socket } from 'socket.io-client';
import { freePort } from '../support/ports.js';

const AUDIO_OFFER = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
const VIDEO_OFFER = readFileSync(new URL('../fixtures/chromium-video-offer.sdp', import.meta.url), 'utf8');

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];


async function customer(name = 'Casey'): Promise<{ socket: CustomerSocket; customerId: string }> {
  const v = await visitorToken(server.url, name);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  return { socket, customerId: v.customerId };
}

async function readyAgent(name: string): Promise<{ socket: AgentSocket; id: string; token: string }> {
  const a = await createAgent(server.url, admin, { displayName: name });
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  await call(socket, 'presence:set', { state: 'ready' });
  return { socket, id: a.id, token: a.token };
}

async function supervisor(): Promise<Socket> {
  const socket = await connect<Socket>(server.url, '/supervisor', admin);
  sockets.push(socket);
  return socket;
}

/** A call task from the widget, answered by the agent; resolves once both were told to join. */
async function answeredCall(video = false): Promise<{ c: Awaited<ReturnType<typeof customer>>; agent: Awaited<ReturnType<typeof readyAgent>>; taskId: string }> {
  const agent = await readyAgent('Alex');
  const c = await customer();
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'call:start', { queueId: 'general', video, clientMsgId: msgId() });
  const offer = await offered;
  expect(offer.channel).toBe(video ? 'video' : 'call');
  const readyC = next<MediaView>(c.socket, 'media:ready');
  const readyA = next<MediaView>(agent.socket, 'media:ready');
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  const media = await readyC;
  expect(media).toMatchObject({ taskId: view.taskId, video, startedBy: 'customer', recording: false });
  // ICE servers come with the call: STUN, and TURN with a credential bound to this customer that expires.
  const turn = media.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn')));
  expect(media.iceServers.some((s) => s.urls.includes('stun:stun.example.test:3478'))).toBe(true);
  expect(turn?.username).toMatch(new RegExp(`^\\d+:${c.customerId}$`));
  expect(Number(turn!.username!.split(':')[0]) * 1000).toBeGreaterThan(Date.now());
  expect(turn?.credential).toMatch(/^[A-Za-z0-9+/]+=*$/);
  await readyA;
  return { c, agent, taskId: view.taskId };
}

beforeAll(async () => {
  const wsPort = await freePort();
  server = await startTestServer({
    MCCS_JANUS: 'auto',
    MCCS_JANUS_WS_PORT: String(wsPort),
    MCCS_JANUS_RTP_PORTS: '22000-22999',
    MCCS_STUN_URLS: 'stun:stun.example.test:3478',
    MCCS_TURN_URLS: 'turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349',
    MCCS_TURN_SECRET: 'turn-shared-secret-for-tests',
  });
  admin = await adminToken(server.url);
  // Janus starts in the background; wait until a call could get media.
  await waitForMedia(server.url);
}, 60_000);

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await server?.close();
});

test('a call from the widget: offered as a call, both parties join, and a hang-up ends call and conversation', async () => {
  const { c, agent, taskId } = await answeredCall();
  const answerC = await call<{ sdp: string }>(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  expect(answerC.sdp).toMatch(/^v=0/);
  expect(answerC.sdp).toMatch(/a=fingerprint:/);
  expect(answerC.sdp).toMatch(/m=audio/);
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  // Joining again (a reload) replaces the old leg instead of failing.
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  expect(await call(c.socket, 'media:mute', { taskId, muted: true })).toEqual({ muted: true });

  const sup = await supervisor();
  const calls = await call<ActiveCall[]>(sup, 'calls:list', {});
  expect(calls.find((x) => x.taskId === taskId)).toMatchObject({ agentName: 'Alex', customerName: 'Casey', video: false });

  const ended = next<{ reason: string }>(c.socket, 'media:ended');
  const chatEnded = next<{ by: string }>(c.socket, 'chat:ended');
  await call(agent.socket, 'media:hangup', { taskId });
  expect((await ended).reason).toBe('hangup');
  expect((await chatEnded).by).toBe('agent');
  expect((await call<ActiveCall[]>(sup, 'calls:list', {})).some((x) => x.taskId === taskId)).toBe(false);
  // The call is over: joining again is refused.
  expect(await request(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
}, 30_000);

test('only the call’s own customer and agent may use it, with SDP of the right kind', async () => {
  const { c, agent, taskId } = await answeredCall();
  const stranger = await customer('Mallory');
  const otherAgent = await readyAgent('Other');
  expect(await request(stranger.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  expect(await request(otherAgent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await request(otherAgent.socket, 'media:hangup', { taskId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  // A video offer where audio is expected, garbage, and a missing field: clear validation errors.
  expect(await request(c.socket, 'media:join', { taskId, sdp: VIDEO_OFFER })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(c.socket, 'media:join', { taskId, sdp: 'v=0\r\nnot really sdp' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(c.socket, 'media:join', { taskId })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  // No whisper going on: the agent's coach leg is refused; the customer never has one.
  expect(await request(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER, mix: 'coach' })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  expect(await request(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER, mix: 'coach' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  // Audio call: no video publishing.
  expect(await request(c.socket, 'media:publish', { taskId, source: 'camera', sdp: VIDEO_OFFER })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  // The rightful customer still can.
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:hangup', { taskId });
}, 30_000);

test('video: publishing needs a video call and a video offer; only the agent shares a screen', async () => {
  const { c, agent, taskId } = await answeredCall(true);
  const pub = await call<{ feedId: string; sdp: string }>(c.socket, 'media:publish', { taskId, source: 'camera', sdp: VIDEO_OFFER });
  expect(pub.feedId).toBe('customer-camera');
  expect(pub.sdp).toMatch(/m=video/);
  expect(await request(c.socket, 'media:publish', { taskId, source: 'camera', sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(c.socket, 'media:publish', { taskId, source: 'screen', sdp: VIDEO_OFFER })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  await call(agent.socket, 'media:publish', { taskId, source: 'screen', sdp: VIDEO_OFFER });
  // A feed is announced and listed only once its media is up (the fixture offer never connects), so
  // subscribing now is refused by the media server; the browser tests subscribe to live feeds.
  expect((await call<CustomerChatView>(c.socket, 'chat:resume', { taskId })).media?.feeds).toEqual([]);
  expect(await request(agent.socket, 'media:subscribe', { taskId, feedId: 'customer-camera' })).toMatchObject({ ok: false, error: { code: 'MEDIA_UNAVAILABLE' } });
  expect(await request(c.socket, 'media:subscribe', { taskId, feedId: 'customer-camera' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(c.socket, 'media:unpublish', { taskId, feedId: 'agent-screen' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await call(agent.socket, 'media:unpublish', { taskId, feedId: 'agent-screen' })).toEqual({ feedId: 'agent-screen' });
  await call(agent.socket, 'chat:end', { taskId });
}, 30_000);

test('a chat becomes a call when a party starts one, and the call ends when the chat ends', async () => {
  const agent = await readyAgent('Alex');
  const c = await customer();
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'Can we talk?', clientMsgId: msgId() });
  expect((await offered).channel).toBe('chat');
  // Not before the chat is answered.
  expect(await request(c.socket, 'media:start', { taskId: view.taskId, video: false })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  const ready = next<MediaView>(agent.socket, 'media:ready');
  const started = await call<MediaView>(c.socket, 'media:start', { taskId: view.taskId, video: false });
  expect(started).toMatchObject({ startedBy: 'customer', video: false });
  expect((await ready).startedBy).toBe('customer');
  // Starting again returns the same call.
  expect(await call<MediaView>(agent.socket, 'media:start', { taskId: view.taskId, video: false })).toMatchObject({ startedBy: 'customer' });
  const ended = next<{ reason: string }>(c.socket, 'media:ended');
  await call(agent.socket, 'chat:end', { taskId: view.taskId });
  expect((await ended).reason).toBe('task_ended');
}, 30_000);

test('a supervisor listens, whispers to the agent (who is asked to open the coach leg), barges and leaves', async () => {
  const { c, agent, taskId } = await answeredCall();
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  const sup = await supervisor();
  expect(await request(sup, 'monitor:mode', { taskId, mode: 'whisper' })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  const listened = await call<{ sdp: string; iceServers: unknown[] }>(sup, 'monitor:join', { taskId, sdp: AUDIO_OFFER });
  expect(listened.sdp).toMatch(/m=audio/);
  expect(await request(sup, 'monitor:coach', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });

  const coachOn = next<{ active: boolean }>(agent.socket, 'media:coach');
  expect(await call(sup, 'monitor:mode', { taskId, mode: 'whisper' })).toEqual({ mode: 'whisper' });
  expect((await coachOn).active).toBe(true);
  await call(sup, 'monitor:coach', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER, mix: 'coach' });
  expect((await call<ActiveCall[]>(sup, 'calls:list', {})).find((x) => x.taskId === taskId)?.monitorMode).toBe('whisper');

  const coachOff = next<{ active: boolean }>(agent.socket, 'media:coach');
  expect(await call(sup, 'monitor:mode', { taskId, mode: 'barge' })).toEqual({ mode: 'barge' });
  expect((await coachOff).active).toBe(false);
  await call(sup, 'monitor:leave', { taskId });
  // An agent token cannot reach the supervisor namespace at all (tested with the namespace); a
  // monitored call still ends with its task and the supervisor is told.
  await call(sup, 'monitor:join', { taskId, sdp: AUDIO_OFFER });
  const supEnded = next<{ reason: string }>(sup, 'media:ended');
  await call(agent.socket, 'media:hangup', { taskId });
  expect((await supEnded).reason).toBe('hangup');
}, 30_000);

test('staff get ICE servers for their softphone; the media-node registry is for supervisors and admins', async () => {
  const agent = await createAgent(server.url, admin, { displayName: 'Ice' });
  const v = await visitorToken(server.url);
  expect((await api(server.url, 'GET', '/api/media/ice-servers', undefined, agent.token)).status).toBe(200);
  expect((await api(server.url, 'GET', '/api/media/ice-servers')).status).toBe(401);
  expect((await api(server.url, 'GET', '/api/media/ice-servers', undefined, v.token)).status).toBe(403);
  const nodes = await api<{ nodes: Array<{ id: string; health: { state: string }; load: number }> }>(server.url, 'GET', '/api/admin/media/nodes', undefined, admin);
  expect(nodes.status).toBe(200);
  expect(nodes.body.nodes).toHaveLength(1);
  expect(nodes.body.nodes[0]).toMatchObject({ health: { state: 'up' } });
  expect((await api(server.url, 'GET', '/api/admin/media/nodes', undefined, agent.token)).status).toBe(403);
});

test('cold transfer: the call stays up for the customer, the old agent leaves it, the new agent is offered the task and joins', async () => {
  const { c, agent, taskId } = await answeredCall();
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  const second = await readyAgent('Blake');
  // Only the assigned agent may transfer, and only to somewhere real.
  expect(await request(second.socket, 'task:transfer', { taskId, agentId: second.id })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await request(agent.socket, 'task:transfer', { taskId })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  expect(await request(agent.socket, 'task:transfer', { taskId, queueId: 'no-such-queue' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

  const leftCall = next<{ reason: string }>(agent.socket, 'media:ended');
  const offered = next<Offer>(second.socket, 'offer', (o) => o.taskId === taskId);
  expect(await call(agent.socket, 'task:transfer', { taskId, agentId: second.id })).toMatchObject({ status: 'queued', queueId: 'general' });
  expect((await leftCall).reason).toBe('transferred');
  expect((await offered).channel).toBe('call');
  // The old agent is out of it: no more media for them on this task.
  expect(await request(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

  const ready = next<MediaView>(second.socket, 'media:ready');
  await call(second.socket, 'offer:accept', { taskId });
  expect((await ready).taskId).toBe(taskId);
  await call(second.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  // The customer never left the call: still in it, no new media:ready needed, and it ends normally.
  const ended = next<{ reason: string }>(c.socket, 'media:ended');
  await call(second.socket, 'media:hangup', { taskId });
  expect((await ended).reason).toBe('hangup');
}, 30_000);

test('warm transfer: the agent stays on the line with the customer until the next agent joins, then leaves', async () => {
  const { c, agent, taskId } = await answeredCall();
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  const next2 = await readyAgent('Blake');
  const offered = next<Offer>(next2.socket, 'offer', (o) => o.taskId === taskId);
  await call(agent.socket, 'task:transfer', { taskId, agentId: next2.id, warm: true });
  await offered;
  // Still on the line while the next agent is being found.
  expect(await call(agent.socket, 'media:mute', { taskId, muted: false })).toEqual({ muted: false });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });

  const handedOver = next<{ reason: string }>(agent.socket, 'media:ended');
  const ready = next<MediaView>(next2.socket, 'media:ready');
  await call(next2.socket, 'offer:accept', { taskId });
  await ready;
  await call(next2.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  expect((await handedOver).reason).toBe('transferred');
  expect(await request(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  await call(next2.socket, 'media:hangup', { taskId });
}, 30_000);

test('a third party: the agent invites another agent, who joins, is kept from other work while in the call, and leaves', async () => {
  const { c, agent, taskId } = await answeredCall();
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  const expert = await readyAgent('Expert');
  const bystander = await readyAgent('Bystander');
  // Only the conversation's agent invites; the customer cannot, nor can an uninvited agent join.
  expect(await request(bystander.socket, 'media:invite', { taskId, agentId: expert.id })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await request(bystander.socket, 'media:join', { taskId, sdp: AUDIO_OFFER })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

  const invited = next<{ taskId: string; from: string; customerName: string }>(expert.socket, 'media:invited');
  expect(await call(agent.socket, 'media:invite', { taskId, agentId: expert.id })).toEqual({ agentId: expert.id });
  expect(await invited).toMatchObject({ taskId, from: 'Alex', customerName: 'Casey' });
  drain(expert.socket, 'presence');
  const busy = next<{ state: string; reason: string | null }>(expert.socket, 'presence', (s) => s.state === 'not_ready');
  await call(expert.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  expect(await busy).toMatchObject({ state: 'not_ready', reason: 'in a call' });
  // A guest shares no video and cannot end the call for the others.
  const back = next<{ state: string }>(expert.socket, 'presence', (s) => s.state === 'ready');
  const left = next<{ reason: string }>(expert.socket, 'media:ended');
  await call(expert.socket, 'media:hangup', { taskId });
  expect((await left).reason).toBe('hangup');
  await back;
  // The call goes on for the customer and the agent.
  expect(await call(c.socket, 'media:mute', { taskId, muted: true })).toEqual({ muted: true });
  await call(agent.socket, 'media:hangup', { taskId });
}, 30_000);

test('staff see their colleagues’ presence for transfers; visitors and strangers do not', async () => {
  const a = await readyAgent('Ready Rita');
  const list = await api<{ agents: Array<{ id: string; displayName: string; state: string; email?: string }> }>(server.url, 'GET', '/api/staff/agents', undefined, a.token);
  expect(list.status).toBe(200);
  expect(list.body.agents.find((x) => x.id === a.id)).toEqual({ id: a.id, displayName: 'Ready Rita', state: 'ready' });
  expect(list.body.agents.some((x) => 'email' in x)).toBe(false);
  const v = await visitorToken(server.url);
  expect((await api(server.url, 'GET', '/api/staff/agents', undefined, v.token)).status).toBe(403);
  expect((await api(server.url, 'GET', '/api/staff/agents')).status).toBe(401);
});

test('a call excludes chats: a chat waits while the only agent is on a call, unless the queue allows chats during calls', async () => {
  const { c, agent, taskId } = await answeredCall();
  await call(c.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  await call(agent.socket, 'media:join', { taskId, sdp: AUDIO_OFFER });
  const chatter = await customer('Chatty');
  drain(agent.socket, 'offer');
  const view = await call<CustomerChatView>(chatter.socket, 'chat:start', { queueId: 'general', text: 'Quick question', clientMsgId: msgId() });
  expect(view.status).toBe('queued');
  expect(view.position).toBe(1);
  // Not offered to the agent on the call (an offer normally arrives within milliseconds).
  await expect(next(agent.socket, 'offer', (o: Offer) => o.taskId === view.taskId, 1_500)).rejects.toThrow(/no "offer"/);
  // The queue now allows chats during calls: the waiting chat is offered to the agent on the call.
  const offered = next<Offer>(agent.socket, 'offer', (o) => o.taskId === view.taskId);
  const patched = await api(server.url, 'PATCH', '/api/admin/queues/general', { chatsDuringCalls: true }, admin);
  try {
    expect(patched.status).toBe(200);
    expect((await offered).channel).toBe('chat');
  } finally {
    await api(server.url, 'PATCH', '/api/admin/queues/general', { chatsDuringCalls: false }, admin);
  }
  await call(agent.socket, 'offer:reject', { taskId: view.taskId });
  await call(chatter.socket, 'chat:leave', { taskId: view.taskId });
  await call(agent.socket, 'media:hangup', { taskId });
}, 30_000);
