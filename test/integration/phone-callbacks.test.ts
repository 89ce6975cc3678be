// Callbacks through the whole server: a waiting customer leaves their number and keeps their place;
// when an agent accepts, the SIP bridge calls the number through the trunk marked for callbacks (SIPp
// plays the customer's phone: it rings, answers with its offer, streams a tone), the phone's room
// becomes the task's call, the agent's softphone joins it, and the agent's hang-up sends BYE. A
// number that does not answer leaves a note in the conversation. Real Janus on loopback.
import { readFileSync } from 'node:fs';
import { api, createAgent, visitorToken, type TestServer } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import { runSipp, sippListening, type SippRun } from '../support/sipp.js';
import { freePort, freePortPair } from '../support/ports.js';
import type { ChatMessage, CustomerChatView, MediaView, Offer } from '../../protocol/events.js';

const AUDIO_OFFER = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
let bed: PhoneServer;
let server: TestServer;
let admin: string;
let workDir: string;
/** Where the trunk sends our INVITEs: the SIPp "phone" listens here during a test. */
let phonePort: number;
/** Where the bridge listens for the trunk's inbound calls. */
let sipPort: number;
const sockets: Array<{ close(): unknown }> = [];

/** SIPp as the customer's phone, listening before this resolves; `run` ends with SIPp. */
async function phone(scenario: string): Promise<{ run: Promise<SippRun> }> {
  const run = runSipp({ scenario, workDir, sipPort: phonePort, mediaPort: await freePort(), timeoutS: 25 });
  await sippListening(phonePort);
  return { run };
}

/** A customer who waits with nobody ready, then asks to be called back; and an agent who becomes ready. */
async function callbackOffered(number: string): Promise<{ agent: AgentSocket; offer: Offer; customer: CustomerSocket }> {
  const v = await visitorToken(server.url, 'Robin');
  const customer = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(customer);
  const view = await call<CustomerChatView>(customer, 'chat:start', { queueId: 'general', text: 'Please call me', clientMsgId: msgId() });
  await call(customer, 'chat:callback', { taskId: view.taskId, phone: number });
  const a = await createAgent(server.url, admin, { displayName: 'Cal' });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(agent);
  await next(agent, 'hello');
  const offered = next<Offer>(agent, 'offer', (o) => o.taskId === view.taskId);
  await call(agent, 'presence:set', { state: 'ready' });
  const offer = await offered;
  expect(offer.callbackNumber).toBe(number);
  return { agent, offer, customer };
}

beforeAll(async () => {
  let bridgePort: number;
  [phonePort, bridgePort] = await freePortPair();
  bed = await startPhoneServer({
    prefix: 'mccs-callback-',
    janusRtpPorts: '26000-26999',
    sipPort: bridgePort,
    trunks: [{ id: 'carrier', allow: ['127.0.0.1/32'], target: `127.0.0.1:${phonePort}`, callbacks: true, maxConcurrent: 5 }],
  });
  ({ server, admin, workDir, sipPort } = bed);
}, 60_000);

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(() => bed?.close());

test('accepting a callback calls the customer; once they answer the agent joins, and the agent’s hang-up sends BYE', async () => {
  const sipp = (await phone('uas-answer-wait-bye.xml')).run;
  const { agent, offer } = await callbackOffered('+358401234567');
  const ready = next<MediaView>(agent, 'media:ready', (m) => m.taskId === offer.taskId, 15_000);
  const calling = next<ChatMessage>(agent, 'chat:message', (m) => m.sender === 'system' && m.body.includes('+358401234567'));
  await call(agent, 'offer:accept', { taskId: offer.taskId });
  expect((await calling).body).toMatch(/Calling the customer back/);
  // The agent is told to join only once the phone answered and is in the room.
  expect((await ready).video).toBe(false);
  const answer = await call<{ sdp: string }>(agent, 'media:join', { taskId: offer.taskId, sdp: AUDIO_OFFER });
  expect(answer.sdp).toMatch(/m=audio/);

  const ended = next<{ reason: string }>(agent, 'media:ended');
  await call(agent, 'media:hangup', { taskId: offer.taskId });
  expect((await ended).reason).toBe('hangup');
  const run = await sipp;
  // The INVITE went to the number as E.164 through the trunk, and the phone got our BYE.
  expect(run.messages).toMatch(/^INVITE sip:\+358401234567@/m);
  expect(run.messages).toMatch(/^BYE sip:/m);
  expect(run.code).toBe(0);
}, 60_000);

test('a callback nobody answers leaves a note for the agent, and the conversation stays with them', async () => {
  const sipp = (await phone('uas-busy.xml')).run;
  const { agent, offer } = await callbackOffered('+358409999999');
  const failed = next<ChatMessage>(agent, 'chat:message', (m) => m.sender === 'system' && m.body.includes('did not connect'), 15_000);
  await call(agent, 'offer:accept', { taskId: offer.taskId });
  expect((await failed).body).toContain('+358409999999');
  expect((await sipp).code).toBe(0);
  expect(await call(agent, 'chat:end', { taskId: offer.taskId })).toMatchObject({ status: 'wrapup' });
  // Admins see the trunk, with no call left on it.
  const trunks = await api<{ enabled: boolean; trunks: Array<{ id: string; activeCalls: number }> }>(server.url, 'GET', '/api/admin/sip/trunks', undefined, admin);
  expect(trunks.body).toEqual({ enabled: true, trunks: [expect.objectContaining({ id: 'carrier', activeCalls: 0 })] });
}, 60_000);

test('an agent who takes calls on their own phone: accepting a phone caller rings the agent’s number into the call, and ending it hangs up both', async () => {
  const a = await createAgent(server.url, admin, { displayName: 'Mobile Mo' });
  const set = await api<{ phoneNumber: string; answerCallsOnPhone: boolean; available: boolean }>(server.url, 'PUT', '/api/agent/phone', { phoneNumber: '+358405550000', answerCallsOnPhone: true }, a.token);
  expect(set.body).toEqual({ phoneNumber: '+358405550000', answerCallsOnPhone: true, available: true });
  expect((await api(server.url, 'PUT', '/api/agent/phone', { phoneNumber: null, answerCallsOnPhone: true }, a.token)).status).toBe(400);
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(agent);
  await next(agent, 'hello');
  await call(agent, 'presence:set', { state: 'ready' });

  const agentPhone = (await phone('uas-answer-wait-bye.xml')).run;
  const offered = next<Offer>(agent, 'offer', (o) => o.channel === 'call');
  const caller = runSipp({ scenario: 'uac-wait-bye.xml', workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 25 });
  const offer = await offered;
  await call(agent, 'offer:accept', { taskId: offer.taskId });
  // The agent's phone rings and answers; the call is bridged without the browser.
  const deadline = Date.now() + 10_000;
  while (!server.logs.some((l) => l.includes('agent answered on their phone') && l.includes(offer.taskId))) {
    if (Date.now() > deadline) throw new Error('the agent’s phone was not connected');
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await call(agent, 'chat:end', { taskId: offer.taskId })).toMatchObject({ status: 'wrapup' });
  const [callerRun, phoneRun] = await Promise.all([caller, agentPhone]);
  expect(phoneRun.messages).toMatch(/^INVITE sip:\+358405550000@/m);
  expect(phoneRun.code).toBe(0);
  expect(callerRun.code).toBe(0);
  // The browser was never asked to join.
  expect(await next(agent, 'media:ready', () => true, 300).catch(() => null)).toBeNull();
  await call(agent, 'presence:set', { state: 'not_ready' });
}, 60_000);

// Last: its task stays in the queue (nobody takes the callback here).
test('a waiting phone caller presses 9: they hear they will be called back, the call ends, and the task keeps its place with their number', async () => {
  const sipp = runSipp({ scenario: 'uac-callback-9.xml', workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 25 });
  const run = await sipp;
  // The bridge hung up after the goodbye (the scenario passes only when it got our BYE).
  expect(run.code).toBe(0);
  expect(run.messages).toMatch(/^BYE sip:/m);
  const a = await createAgent(server.url, admin, { displayName: 'Later' });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(agent);
  await next(agent, 'hello');
  const offered = next<Offer>(agent, 'offer', (o) => o.callbackNumber === '+4930111');
  await call(agent, 'presence:set', { state: 'ready' });
  const offer = await offered;
  expect(offer).toMatchObject({ channel: 'call', firstMessage: 'Phone call from +4930111' });
  // The number is one customer across calls: the offer knows them from the call before (to Mobile Mo,
  // whom it does not name: the queue does not share history).
  expect(offer.context).toMatchObject({ returning: true, sessions: 1, previousAgentName: null });
}, 60_000);
