// End to end, with real media: a customer places a video call from the widget, an agent answers in the
// agent app, and a supervisor listens, whispers and barges from the supervisor console, all through a
// real Janus and the built web client. Each party is its own headless Chromium whose microphone plays
// its own tone (customer 440 Hz, agent 1000 Hz, supervisor 1800 Hz), so what each one hears can be
// told apart: getStats() shows packets and audio energy rising, a WebAudio analyser shows which tones
// arrive, and framesDecoded shows video. The agent puts the customer on hold and takes the call back
// (the widget and the supervisor's console show it). The queue records calls: the mixed recording is
// checked last.
//
// Janus gathers no ICE candidates on loopback, so it runs in a network namespace this test creates
// (test/support/netns.ts) and removes. Needs root, and the Debian packages janus, chromium and sox.
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import { createTestNetns, type TestNetns } from '../support/netns.js';
import { waitForMedia } from '../support/server.js';
import { startJanusInNetns, type JanusInNetns } from '../support/janus-netns.js';
import { detectTones, launchMediaBrowser, waitForStats, type MediaBrowser, type MediaStats, type ToneReading } from '../support/media-browser.js';
import { baseUrlOf, changeAdminPassword, click, e2eFolders, fill, http as httpTo, sel, startE2eServer, teardown, textOf, waitForText, type E2eFolders } from '../support/e2e.js';

declare const window: {
  __mccsCalls?: Map<string, { main?: unknown; coach?: unknown; publishers: Map<string, unknown>; subscribers: Map<string, unknown> }>;
  __mccsMedia: { refOf(pc: unknown): string | null };
};
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };

const WAIT = 20_000;
const TONES = { customer: 440, agent: 1000, supervisor: 1800 } as const;
const AGENT = { email: 'vera.video@example.com', displayName: 'Vera Video', password: 'agent-pass-123' };
const SUPERVISOR = { email: 'sam.super@example.com', displayName: 'Sam Supervisor', password: 'super-pass-123' };
/** A tone is "heard" when it stands this far above the analyser's noise floor (dB). */
const HEARD_DB = 25;

let folders: E2eFolders | undefined;
let ns: TestNetns | undefined;
let janus: JanusInNetns | undefined;
let mccs: Mccs | undefined;
let baseUrl: string;
let adminToken: string;
const parties: Partial<Record<'customer' | 'agent' | 'supervisor', MediaBrowser>> = {};
let taskId: string;
let callStartedAt: number;

const TEST_TIMEOUT = 120_000;

const http = <T>(method: string, route: string, body?: unknown, token?: string): Promise<T> => httpTo<T>(baseUrl, method, route, body, token);

/** The helper's name for one of the app's own connections (window.__mccsCalls), once it exists. */
async function pcRef(page: Page, which: 'main' | 'coach' | `sub:${string}`): Promise<string> {
  const handle = await page.waitForFunction(
    (task: string, w: string) => {
      const peers = window.__mccsCalls?.get(task);
      if (!peers) return null;
      const pc = w === 'main' ? peers.main : w === 'coach' ? peers.coach : peers.subscribers.get(w.slice(4));
      return pc ? window.__mccsMedia.refOf(pc) : null;
    },
    { timeout: WAIT, polling: 200 },
    taskId,
    which,
  );
  return (await handle.jsonValue()) as string;
}

/** Packets and audio energy keep rising on this connection: media is flowing in, and it is not silence. */
async function expectAudioFlowing(page: Page, ref: string): Promise<MediaStats> {
  const first = await waitForStats(page, (s) => (s.audio?.packetsReceived ?? 0) > 0, WAIT, ref);
  return waitForStats(
    page,
    (s) => !!s.audio && s.audio.packetsReceived >= first.audio!.packetsReceived + 25 && s.audio.totalAudioEnergy > first.audio!.totalAudioEnergy,
    WAIT,
    ref,
  );
}

function heard(r: ToneReading): boolean {
  return r.db - r.floorDb >= HEARD_DB;
}

/** Which of the three tones arrive on a connection, sampled for a second. */
async function tonesOn(page: Page, ref: string): Promise<Record<keyof typeof TONES, boolean>> {
  const [c, a, s] = await detectTones(page, ref, [TONES.customer, TONES.agent, TONES.supervisor], 1_000);
  return { customer: heard(c!), agent: heard(a!), supervisor: heard(s!) };
}

/** Polls until what is heard matches (a mode change takes a moment to reach the mix). */
async function expectTones(page: Page, ref: string, want: Partial<Record<keyof typeof TONES, boolean>>): Promise<void> {
  const deadline = Date.now() + WAIT;
  let last: Record<keyof typeof TONES, boolean> | undefined;
  while (Date.now() < deadline) {
    last = await tonesOn(page, ref);
    if (Object.entries(want).every(([k, v]) => last![k as keyof typeof TONES] === v)) return;
  }
  throw new Error(`tones on ${ref}: wanted ${JSON.stringify(want)}, heard ${JSON.stringify(last)}`);
}

async function signIn(page: Page, prefix: 'agent' | 'admin', who: { email: string; password: string }, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await fill(page, sel(`${prefix}-login-email`), who.email);
  await fill(page, sel(`${prefix}-login-password`), who.password);
  await click(page, sel(`${prefix}-login-submit`));
}

beforeAll(async () => {
  folders = await e2eFolders('mccs-call-e2e-');
  ns = await createTestNetns();
  janus = await startJanusInNetns(ns, { dataDir: path.join(folders.root, 'janus') });
  mccs = await startE2eServer(folders, {
    MCCS_JANUS: 'external',
    MCCS_JANUS_WS_URL: janus.wsUrl,
    MCCS_RECORDINGS_DIR: path.join(folders.root, 'recordings'),
  });
  baseUrl = baseUrlOf(mccs);

  // Admin: password changed, an agent and a supervisor, and the general queue records its calls.
  adminToken = await changeAdminPassword(baseUrl, 'admin-pass-456');
  await http('POST', '/api/admin/accounts', { ...AGENT, role: 'agent', chatCapacity: 2 }, adminToken);
  await http('POST', '/api/admin/accounts', { ...SUPERVISOR, role: 'supervisor', chatCapacity: 1 }, adminToken);
  await http('PATCH', '/api/admin/queues/general', { recordCalls: true }, adminToken);

  // The media server must be reachable before anyone calls.
  await waitForMedia(baseUrl, WAIT);
  for (const who of ['customer', 'agent', 'supervisor'] as const) {
    parties[who] = await launchMediaBrowser({ toneHz: TONES[who], rootDir: folders.root, args: ['--window-size=420,900'] });
    await parties[who]!.page.setViewport({ width: 420, height: 900 });
  }
}, 180_000);

afterAll(async () => {
  for (const p of Object.values(parties)) await p?.close().catch(() => undefined);
  await teardown({ mccs, also: [async () => janus?.close(), async () => ns?.destroy()], root: folders?.root });
}, 60_000);

afterEach(() => {
  // Page errors explain most failures; they are printed, not asserted (a failed fetch is noisy but fine).
  for (const [who, p] of Object.entries(parties)) if (p?.pageErrors.length) console.log(`${who} page errors:\n${p.pageErrors.splice(0).join('\n')}`);
}, TEST_TIMEOUT);

test('the customer places a video call; the agent answers it in the softphone; both hear and see each other', async () => {
  const agent = parties.agent!.page;
  const customer = parties.customer!.page;
  await signIn(agent, 'agent', AGENT, `${baseUrl}/agent/`);
  await agent.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
  await click(agent, sel('agent-ready'));
  await agent.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });

  await customer.goto(`${baseUrl}/widget/`, { waitUntil: 'domcontentloaded' });
  await fill(customer, sel('widget-name'), 'Carl Caller');
  await click(customer, sel('widget-topic-general'));
  await click(customer, sel('call-video'));

  // The agent's offer says it is a video call and rings until answered.
  const offer = await agent.waitForSelector(sel('offer-card', '[data-channel="video"]'), { timeout: WAIT });
  taskId = (await offer!.evaluate((el) => (el as unknown as { getAttribute(n: string): string | null }).getAttribute('data-task-id'))) ?? '';
  await click(agent, sel('offer-accept'));
  callStartedAt = Date.now();
  if (!taskId) {
    const chat = await customer.waitForSelector(sel('widget-chat'), { timeout: WAIT });
    taskId = (await chat!.evaluate((el) => (el as unknown as { getAttribute(n: string): string | null }).getAttribute('data-task-id'))) ?? '';
  }
  expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

  // The customer is told the call is recorded.
  await customer.waitForSelector(sel('call-recording-notice'), { visible: true, timeout: WAIT });

  // Audio both ways: packets and energy rise, and each hears the other's tone, not its own.
  const customerMain = await pcRef(customer, 'main');
  const agentMain = await pcRef(agent, 'main');
  await expectAudioFlowing(customer, customerMain);
  await expectAudioFlowing(agent, agentMain);
  await expectTones(customer, customerMain, { agent: true, customer: false, supervisor: false });
  await expectTones(agent, agentMain, { customer: true, agent: false, supervisor: false });

  // Video both ways: each side subscribed to the other's camera and decodes frames.
  const customerSeesAgent = await pcRef(customer, 'sub:agent-camera');
  const agentSeesCustomer = await pcRef(agent, 'sub:customer-camera');
  await waitForStats(customer, (s) => (s.video?.framesDecoded ?? 0) > 0, WAIT, customerSeesAgent);
  await waitForStats(agent, (s) => (s.video?.framesDecoded ?? 0) > 0, WAIT, agentSeesCustomer);
}, TEST_TIMEOUT);

test('a supervisor listens (heard by nobody), whispers (only the agent hears) and barges (everyone hears)', async () => {
  const supervisor = parties.supervisor!.page;
  const agent = parties.agent!.page;
  const customer = parties.customer!.page;
  await signIn(supervisor, 'admin', SUPERVISOR, `${baseUrl}/admin/`);
  await click(supervisor, sel(`monitor-listen-${taskId}`));
  await supervisor.waitForSelector(sel('monitor-status', '[data-mode="listen"]'), { timeout: WAIT });

  const supMain = await pcRef(supervisor, 'main');
  await expectAudioFlowing(supervisor, supMain);
  await expectTones(supervisor, supMain, { customer: true, agent: true, supervisor: false });
  const customerMain = await pcRef(customer, 'main');
  const agentMain = await pcRef(agent, 'main');
  await expectTones(customer, customerMain, { agent: true, supervisor: false });
  await expectTones(agent, agentMain, { customer: true, supervisor: false });

  // Whisper: the agent's app opens the coach leg and hears the supervisor there; the customer does not.
  await click(supervisor, sel(`monitor-whisper-${taskId}`));
  await supervisor.waitForSelector(sel('monitor-status', '[data-mode="whisper"]'), { timeout: WAIT });
  await agent.waitForSelector(sel('call-coach-indicator'), { visible: true, timeout: WAIT });
  const agentCoach = await pcRef(agent, 'coach');
  await expectAudioFlowing(agent, agentCoach);
  await expectTones(agent, agentCoach, { supervisor: true, customer: false });
  await expectTones(customer, customerMain, { agent: true, supervisor: false });

  // Barge: the supervisor is in the call; the customer hears them too.
  await click(supervisor, sel(`monitor-barge-${taskId}`));
  await supervisor.waitForSelector(sel('monitor-status', '[data-mode="barge"]'), { timeout: WAIT });
  await expectTones(customer, customerMain, { agent: true, supervisor: true });
  await expectTones(agent, agentMain, { customer: true, supervisor: true });
}, TEST_TIMEOUT);

test('the agent puts the customer on hold (the widget and the console say so; neither hears the other) and resumes', async () => {
  const agent = parties.agent!.page;
  const customer = parties.customer!.page;
  const supervisor = parties.supervisor!.page;
  const customerMain = await pcRef(customer, 'main');
  const agentMain = await pcRef(agent, 'main');
  const row = `${sel('supervisor-call-row')}[data-task-id="${taskId}"]`;
  expect(await customer.$(sel('call-hold-indicator'))).toBeNull();
  expect(await supervisor.$eval(row, (el) => (el as unknown as { getAttribute(n: string): string | null }).getAttribute('data-held'))).toBe('false');

  await click(agent, sel('call-hold'));
  await agent.waitForSelector(sel('call-hold', '[aria-pressed="true"]:not([disabled])'), { timeout: WAIT });
  expect(await textOf(agent, sel('call-hold'))).toBe('Resume');
  // The customer's widget says so, with the time on hold.
  await waitForText(customer, sel('call-hold-indicator'), 'On hold', { timeout: WAIT });
  await customer.waitForSelector(sel('call-hold-duration'), { visible: true, timeout: WAIT });
  await waitForText(customer, sel('call-status'), 'You are on hold', { timeout: WAIT });
  // The supervisor monitoring the call sees it held at once (media:hold), with the time on hold.
  await supervisor.waitForSelector(`${row}[data-held="true"] ${sel('supervisor-call-held')}`, { visible: true, timeout: WAIT });
  expect(await textOf(supervisor, `${row} ${sel('supervisor-call-held')}`)).toMatch(/^On hold \d+:\d\d$/);
  await waitForText(supervisor, sel('monitor-status'), 'on hold', { timeout: WAIT });

  // The customer's connection stays up (the barging supervisor and the hold music keep it busy), but
  // the agent's tone no longer reaches it; the agent, out of the call, hears nothing of the customer.
  await expectAudioFlowing(customer, customerMain);
  await expectTones(customer, customerMain, { agent: false, supervisor: true });
  await expectTones(agent, agentMain, { customer: false });

  // Resume: both hear each other again, and the indicators go.
  await click(agent, sel('call-hold'));
  await agent.waitForSelector(sel('call-hold', '[aria-pressed="false"]:not([disabled])'), { timeout: WAIT });
  expect(await textOf(agent, sel('call-hold'))).toBe('Hold');
  await customer.waitForSelector(sel('call-hold-indicator'), { hidden: true, timeout: WAIT });
  await supervisor.waitForSelector(`${row}[data-held="false"]`, { timeout: WAIT });
  expect(await supervisor.$(`${row} ${sel('supervisor-call-held')}`)).toBeNull();
  await expectTones(customer, customerMain, { agent: true, customer: false });
  await expectTones(agent, agentMain, { customer: true, agent: false });
}, TEST_TIMEOUT);

test('the agent hangs up: the call ends for everyone and its mixed recording lasts as long as the call', async () => {
  const agent = parties.agent!.page;
  const customer = parties.customer!.page;
  await click(agent, sel('call-hangup'));
  const callEndedAt = Date.now();
  await customer.waitForFunction(
    (t: string) => !document.querySelector(`[data-testid="call-panel"][data-state="active"]`) && !(globalThis as unknown as typeof window).__mccsCalls?.has(t),
    { timeout: WAIT },
    taskId,
  );
  // The supervisor's console drops it too.
  await parties.supervisor!.page.waitForFunction((t: string) => !document.querySelector(`[data-testid="supervisor-call-row"][data-task-id="${t}"]`), { timeout: WAIT }, taskId);

  // The recording is post-processed after the call; wait for it.
  type Rec = { kind: string; state: string; durationMs: number | null; startedAt: number; endedAt: number; fileUrl: string | null; mimeType: string | null };
  const deadline = Date.now() + WAIT;
  let audio: Rec | undefined;
  while (!audio || audio.state !== 'ready') {
    if (Date.now() > deadline) throw new Error(`no ready audio recording: ${JSON.stringify(audio)}`);
    await new Promise((r) => setTimeout(r, 300));
    const recs = await http<Rec[]>('GET', `/api/tasks/${taskId}/recordings`, undefined, adminToken);
    audio = recs.find((r) => r.kind === 'audio');
  }
  // The file covers the call: within 1 s of the media session's own start and end...
  expect(Math.abs(audio.durationMs! - (audio.endedAt - audio.startedAt))).toBeLessThan(1_000);
  // ...and of the call as this test saw it (answer to hang-up), within the set-up time.
  expect(Math.abs(audio.durationMs! - (callEndedAt - callStartedAt))).toBeLessThan(2_000);
  // Both cameras were recorded too (VideoRoom .mjr → janus-pp-rec → ffmpeg): playable WebM files
  // about as long as the call (each feed starts a moment after the call).
  const deadlineVideo = Date.now() + WAIT;
  let videos: Rec[] = [];
  while (videos.filter((r) => r.state === 'ready').length < 2) {
    if (Date.now() > deadlineVideo) {
      const log = (await janus!.logTail(2000)).split('\n').filter((l) => /record/i.test(l));
      throw new Error(`video recordings not ready: ${JSON.stringify(videos)}; Janus said:\n${log.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    videos = (await http<Rec[]>('GET', `/api/tasks/${taskId}/recordings`, undefined, adminToken)).filter((r) => r.kind === 'video');
  }
  for (const v of videos) {
    expect(v.mimeType).toMatch(/^video\//);
    expect(v.durationMs!).toBeGreaterThan(1_000);
    expect(v.durationMs!).toBeLessThanOrEqual(audio.durationMs! + 1_000);
  }
  // It plays: the file is served with its type and a byte range works, as an <audio> element asks.
  const res = await fetch(baseUrl + audio.fileUrl!, { headers: { authorization: `Bearer ${adminToken}`, range: 'bytes=0-99' } });
  expect(res.status).toBe(206);
  expect(res.headers.get('content-type')).toMatch(/audio/);
  expect((await res.arrayBuffer()).byteLength).toBe(100);
}, TEST_TIMEOUT);
