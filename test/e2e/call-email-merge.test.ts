// End to end, with real media: Robin talked to agent Ada before and confirmed an email then. Robin comes
// back from a new browser (a new, anonymous profile), tops up and places a paid audio call from the
// widget; agent Ada answers in the agent app. During the call Ada asks Robin to confirm the email so the
// history shows: Robin types the mailed code in the widget, the server merges the new profile into the
// older one and the widget continues on a new connection with the older profile's token.
//
// What Robin and Ada notice is checked across that switch: the call goes on without a break (the same
// peer connections, inbound audio packets keep rising on both sides and each still hears the other's
// tone), the chat stays on screen and works both ways, Ada's context panel now shows Robin's earlier
// conversation, note and email, the call's controls still reach the other side (hold, mute), and when
// Robin hangs up the call ends for both at once. The call's record is on the surviving profile, it was
// charged once from the money Robin put in on this device, and the old token sees nothing.
//
// Customer and agent are each a headless Chromium whose microphone plays its own tone (customer 440 Hz,
// agent 1000 Hz). Janus gathers no ICE candidates on loopback, so it runs in a network namespace this
// test creates (test/support/netns.ts). Needs root, and the Debian packages janus, chromium and sox.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/call-email-merge.test.ts --selectProjects e2e
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import type { CustomerHistoryView } from '../../protocol/context.js';
import { createTestNetns, type TestNetns } from '../support/netns.js';
import { startJanusInNetns, type JanusInNetns } from '../support/janus-netns.js';
import { detectTones, launchMediaBrowser, waitForStats, type MediaBrowser, type MediaStats } from '../support/media-browser.js';
import { api, createAgent, waitForMedia } from '../support/server.js';
import { chatParties } from '../support/chat-parties.js';
import { call, connect, msgId, next, type AgentSocket } from '../support/sockets.js';
import {
  artifacts,
  baseUrlOf,
  changeAdminPassword,
  click,
  e2eFolders,
  fill,
  goReady,
  sel,
  signInAgent,
  startE2eServer,
  stepper,
  teardown,
  texts,
  waitForText,
  WAIT,
  type E2eFolders,
} from '../support/e2e.js';
import { mailedCode as mailedCodeIn } from '../support/outbox.js';

declare const window: {
  __mccsCalls?: Map<string, { main?: unknown }>;
  __mccsMedia: { refOf(pc: unknown): string | null };
  localStorage: { getItem(k: string): string | null };
};

const TEST_TIMEOUT = 120_000;
const TONES = { customer: 440, agent: 1000 } as const;
/** A tone is "heard" when it stands this far above the analyser's noise floor (dB). */
const HEARD_DB = 25;
const EMAIL = 'robin.returning@example.test';
const EARLIER_QUESTION = 'Is my invoice for March correct?';
const EARLIER_NOTE = 'Likes short answers.';
/** The call topic's price: 60 cents a minute, per second; the credit pays for far longer than the test. */
const PER_MINUTE_MINOR = 60;
const CREDIT_MINOR = 500;

const art = artifacts('call-email-merge');
let folders: E2eFolders | undefined;
let ns: TestNetns | undefined;
let janus: JanusInNetns | undefined;
let mccs: Mccs | undefined;
let base: string;
let admin: string;
let ada: { id: string; email: string; password: string; token: string };
/** Robin's first profile (with the earlier conversation) and the one the new browser got. */
let robinOlderId: string;
let robinNewerId: string;
let robinNewerToken: string;
let taskId: string;
const parties: Partial<Record<'customer' | 'agent', MediaBrowser>> = {};
const pageErrors: string[] = [];
const customer = (): Page => parties.customer!.page;
const agent = (): Page => parties.agent!.page;
const step = stepper({ artifacts: art, pageErrors, pages: () => [['customer', parties.customer?.page], ['agent', parties.agent?.page]] });
const seed = chatParties(() => ({ url: base, admin }));

const mailedCode = (email: string): string => mailedCodeIn(folders!.dataDir, email);

/** The widget's stored session (the visitor token it acts with and whose profile that is). */
async function widgetSession(): Promise<{ token: string; customerId: string }> {
  return customer().evaluate(() => JSON.parse(window.localStorage.getItem('mccs.widget') ?? 'null') as { token: string; customerId: string });
}

/** The helper's name for the app's main call connection of the task (window.__mccsCalls), once it exists. */
async function mainPc(page: Page): Promise<string> {
  const handle = await page.waitForFunction(
    (task: string) => {
      const pc = window.__mccsCalls?.get(task)?.main;
      return pc ? window.__mccsMedia.refOf(pc) : null;
    },
    { timeout: WAIT, polling: 200 },
    taskId,
  );
  return (await handle.jsonValue()) as string;
}

/** Inbound audio keeps arriving after `since`: packets and energy rise, on the same connection. */
async function audioKeepsFlowing(page: Page, ref: string, since: MediaStats): Promise<MediaStats> {
  return waitForStats(
    page,
    (s) => s.connectionState === 'connected' && !!s.audio && s.audio.packetsReceived >= since.audio!.packetsReceived + 50 && s.audio.totalAudioEnergy > since.audio!.totalAudioEnergy,
    WAIT,
    ref,
  );
}

async function audioFlowing(page: Page, ref: string): Promise<MediaStats> {
  return waitForStats(page, (s) => (s.audio?.packetsReceived ?? 0) > 0, WAIT, ref);
}

/** Polls (a second's sample at a time) until the tone is heard on the connection, or is not. */
async function expectHears(page: Page, ref: string, hz: number, heard: boolean): Promise<void> {
  const deadline = Date.now() + WAIT;
  let last = '';
  while (Date.now() < deadline) {
    const [r] = await detectTones(page, ref, [hz], 1_000);
    if (r!.db - r!.floorDb >= HEARD_DB === heard) return;
    last = `${(r!.db - r!.floorDb).toFixed(1)} dB above the floor`;
  }
  throw new Error(`${hz} Hz on ${ref}: wanted ${heard ? 'heard' : 'silent'}, last ${last}`);
}

/** The agent's context panel of the open conversation, (re)opened so it loads what the server has now. */
async function reopenContext(page: Page): Promise<string> {
  const panel = `${sel('chat-pane')}:not([hidden]) ${sel('context-panel')}`;
  const open = await page.$eval(panel, (el) => (el as unknown as { open: boolean }).open);
  if (open) await click(page, `${panel} summary`);
  await click(page, `${panel} summary`);
  await page.waitForSelector(`${panel} ${sel('context-sessions')}`, { visible: true, timeout: WAIT });
  return panel;
}

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-call-merge-');
  ns = await createTestNetns();
  janus = await startJanusInNetns(ns, { dataDir: path.join(folders.root, 'janus') });
  mccs = await startE2eServer(folders, { MCCS_JANUS: 'external', MCCS_JANUS_WS_URL: janus.wsUrl });
  base = baseUrlOf(mccs);
  admin = await changeAdminPassword(base, 'admin-pass-456-changed');
  ada = await createAgent(base, admin, { displayName: 'Ada Agent', chatCapacity: 2 });

  // Robin's earlier conversation with Ada, a note on Robin, and the email Robin confirmed then.
  const adaSocket = await connect<AgentSocket>(base, '/agent', ada.token);
  seed.sockets.push(adaSocket);
  await next(adaSocket, 'hello');
  await call(adaSocket, 'presence:set', { state: 'ready' });
  const robin = await seed.customer('Robin');
  robinOlderId = robin.id;
  const earlier = await seed.served(robin, { socket: adaSocket }, 'general', EARLIER_QUESTION);
  await call(adaSocket, 'chat:send', { taskId: earlier.taskId, text: 'Yes, it is correct.', clientMsgId: msgId() });
  await call(adaSocket, 'chat:end', { taskId: earlier.taskId });
  await call(adaSocket, 'wrapup:done', { taskId: earlier.taskId });
  await call(adaSocket, 'presence:set', { state: 'not_ready' });
  seed.closeAll();
  expect((await api(base, 'POST', `/api/tasks/${earlier.taskId}/notes`, { body: EARLIER_NOTE }, admin)).status).toBe(201);
  expect((await api(base, 'POST', '/api/me/email', { email: EMAIL }, robin.token)).status).toBe(202);
  expect((await api(base, 'POST', '/api/me/email/verify', { email: EMAIL, code: mailedCode(EMAIL) }, robin.token)).status).toBe(200);

  // Calls on the general topic are charged.
  const plan = await api(base, 'PUT', '/api/admin/rate-plans', { queueId: 'general', channel: 'call', currency: 'EUR', perMinuteMinor: PER_MINUTE_MINOR, firstIncrementSeconds: 1, nextIncrementSeconds: 1 }, admin);
  expect(plan.status).toBe(200);

  await waitForMedia(base, WAIT);
  for (const who of ['customer', 'agent'] as const) {
    parties[who] = await launchMediaBrowser({ toneHz: TONES[who], rootDir: folders.root, args: ['--window-size=480,1000'] });
    await parties[who]!.page.setViewport({ width: 480, height: 1000 });
    parties[who]!.page.on('pageerror', (err) => pageErrors.push(`${who}: ${err instanceof Error ? err.message : String(err)}`));
  }
}, 180_000);

afterAll(async () => {
  seed.closeAll();
  for (const p of Object.values(parties)) await p?.close().catch(() => undefined);
  await teardown({ mccs, also: [async () => janus?.close(), async () => ns?.destroy()], root: folders?.root });
  art.report('call across an email merge');
}, 60_000);

afterEach(() => {
  // Uncaught errors fail the test; console errors (a failed fetch is noisy but fine) are printed.
  for (const [who, p] of Object.entries(parties)) if (p?.pageErrors.length) console.log(`${who} console:\n${p.pageErrors.splice(0).join('\n')}`);
  expect(pageErrors.splice(0)).toEqual([]);
});

test('from a new browser Robin tops up and places a paid audio call; Ada answers; both hear each other', async () => {
  await step('Ada is ready', async () => {
    await signInAgent(agent(), base, ada);
    await goReady(agent());
  });

  await step('Robin calls, is refused for want of balance, is credited and calls again', async () => {
    await customer().goto(`${base}/widget/`, { waitUntil: 'domcontentloaded' });
    await fill(customer(), sel('widget-name'), 'Robin');
    await click(customer(), sel('widget-topic-general'));
    await click(customer(), sel('widget-agree-price'));
    await click(customer(), sel('call-audio'));
    await waitForText(customer(), sel('widget-error'), 'balance');
    const fresh = await widgetSession();
    robinNewerId = fresh.customerId;
    robinNewerToken = fresh.token;
    expect(robinNewerId).not.toBe(robinOlderId);
    const credited = await api(base, 'POST', `/api/admin/customers/${robinNewerId}/credit`, { amountMinor: CREDIT_MINOR, currency: 'EUR', idempotencyKey: `robin-${Date.now()}` }, admin);
    expect(credited.status).toBe(200);
    await click(customer(), sel('call-audio'));
  });

  await step('Ada is offered a first contact and answers; the call is charged', async () => {
    const offer = await agent().waitForSelector(sel('offer-card', '[data-channel="call"]'), { timeout: WAIT });
    taskId = (await offer!.evaluate((el) => (el as unknown as { getAttribute(n: string): string | null }).getAttribute('data-task-id'))) ?? '';
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await offer!.$eval(sel('offer-context'), (e) => e.textContent ?? '')).toContain('First contact');
    await click(agent(), sel('offer-accept'));
    await waitForText(customer(), sel('widget-charge'), 'Charged at 0.60 EUR/min');
  });

  await step('audio both ways', async () => {
    const customerPc = await mainPc(customer());
    const agentPc = await mainPc(agent());
    await audioFlowing(customer(), customerPc);
    await audioFlowing(agent(), agentPc);
    await expectHears(customer(), customerPc, TONES.agent, true);
    await expectHears(agent(), agentPc, TONES.customer, true);
  });

  await step("Ada's context panel shows only this conversation", async () => {
    const panel = await reopenContext(agent());
    expect(await agent().$$eval(`${panel} ${sel('context-session')}`, (els) => els.length)).toBe(1);
    expect(await agent().$(`${panel} ${sel('context-note')}`)).toBeNull();
  });
}, TEST_TIMEOUT);

test('Robin confirms the email during the call: the widget switches to the older profile and the call goes on without a break', async () => {
  const customerPc = await mainPc(customer());
  const agentPc = await mainPc(agent());
  let before: { customer: MediaStats; agent: MediaStats };

  await step('confirm the email in the widget', async () => {
    await click(customer(), `${sel('widget-chat')} ${sel('widget-email')} summary`);
    await fill(customer(), sel('widget-email-input'), EMAIL);
    await click(customer(), sel('widget-email-send'));
    await customer().waitForSelector(sel('widget-email-code'), { visible: true, timeout: WAIT });
    await fill(customer(), sel('widget-email-code'), mailedCode(EMAIL));
    before = { customer: await audioFlowing(customer(), customerPc), agent: await audioFlowing(agent(), agentPc) };
    await click(customer(), sel('widget-email-confirm'));
    await waitForText(customer(), sel('widget-email-confirmed'), EMAIL);
    // The widget now acts as the older profile, and shows its earlier conversation.
    await customer().waitForFunction((older: string) => JSON.parse(window.localStorage.getItem('mccs.widget') ?? '{}').customerId === older, { timeout: WAIT }, robinOlderId);
    await waitForText(customer(), sel('widget-history-item'), 'with Ada Agent', { any: true });
  });

  await step('the same connections keep carrying audio both ways', async () => {
    expect(await mainPc(customer())).toBe(customerPc);
    expect(await mainPc(agent())).toBe(agentPc);
    const afterCustomer = await audioKeepsFlowing(customer(), customerPc, before.customer);
    const afterAgent = await audioKeepsFlowing(agent(), agentPc, before.agent);
    // Measured once more from here, so the rise is after the switch, not only across it.
    await audioKeepsFlowing(customer(), customerPc, afterCustomer);
    await audioKeepsFlowing(agent(), agentPc, afterAgent);
    await expectHears(customer(), customerPc, TONES.agent, true);
    await expectHears(agent(), agentPc, TONES.customer, true);
    // The call and the chat are still on screen, the same task, still charged.
    await customer().waitForSelector(`${sel('widget-chat')}[data-task-id="${taskId}"] ${sel('call-panel')}[data-state="active"]`, { timeout: WAIT });
    await agent().waitForSelector(`${sel('chat-pane')}[data-task-id="${taskId}"] ${sel('call-panel')}[data-state="active"]`, { timeout: WAIT });
    await waitForText(customer(), sel('widget-charge'), 'Charged at 0.60 EUR/min');
  });
}, TEST_TIMEOUT);

test('after the merge the chat works both ways and the context panel shows the merged history', async () => {
  await step('Robin writes, Ada reads and answers, Robin reads', async () => {
    await fill(customer(), sel('widget-input'), 'Can you see my March invoice now?');
    await click(customer(), sel('widget-send'));
    await waitForText(agent(), `${sel('chat-pane')}[data-task-id="${taskId}"] ${sel('chat-messages')}`, 'Can you see my March invoice now?');
    await fill(agent(), `${sel('chat-pane')}[data-task-id="${taskId}"] ${sel('chat-input')}`, 'Yes, I see it now.');
    await click(agent(), `${sel('chat-pane')}[data-task-id="${taskId}"] ${sel('chat-send')}`);
    await waitForText(customer(), sel('widget-messages'), 'Yes, I see it now.');
    // Nothing was sent twice, nor lost to the old connection.
    const mine = await texts(customer(), `${sel('widget-messages')} ${sel('message-body')}`);
    expect(mine.filter((t) => t.includes('Can you see my March invoice now?'))).toHaveLength(1);
  });

  await step("Ada's context panel shows the earlier conversation, the note and the confirmed email", async () => {
    const panel = await reopenContext(agent());
    await agent().waitForFunction((p: string) => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(`${p} [data-testid="context-session"]`).length === 2, { timeout: WAIT }, panel);
    const sessions = await texts(agent(), `${panel} ${sel('context-session')}`);
    expect(sessions.filter((t) => t.includes('chat') && t.includes('Ada Agent') && t.includes('completed'))).toHaveLength(1);
    expect(await agent().$(`${panel} ${sel('context-hidden')}`)).toBeNull();
    expect(await texts(agent(), `${panel} ${sel('context-note')}`)).toEqual([expect.stringContaining(EARLIER_NOTE)]);
    const identities = await agent().$eval(`${panel} ${sel('context-identities')}`, (e) => e.textContent ?? '');
    expect(identities).toContain('email: r•••@example.test');
    expect(identities).not.toContain('unverified');
  });
}, TEST_TIMEOUT);

test("after the merge the call's controls still reach the other side: hold and mute", async () => {
  const customerPc = await mainPc(customer());
  const agentPc = await mainPc(agent());

  await step('Ada puts Robin on hold: the widget says so; then takes the call back', async () => {
    await click(agent(), sel('call-hold'));
    await agent().waitForSelector(sel('call-hold', '[aria-pressed="true"]:not([disabled])'), { timeout: WAIT });
    await waitForText(customer(), sel('call-hold-indicator'), 'On hold');
    await expectHears(customer(), customerPc, TONES.agent, false);
    await click(agent(), sel('call-hold'));
    await agent().waitForSelector(sel('call-hold', '[aria-pressed="false"]:not([disabled])'), { timeout: WAIT });
    await customer().waitForSelector(sel('call-hold-indicator'), { hidden: true, timeout: WAIT });
    await expectHears(customer(), customerPc, TONES.agent, true);
  });

  await step('Robin mutes (Ada hears nothing) and unmutes (Ada hears Robin again)', async () => {
    await click(customer(), sel('call-mute'));
    await customer().waitForSelector(sel('call-mute', '[aria-pressed="true"]'), { timeout: WAIT });
    await expectHears(agent(), agentPc, TONES.customer, false);
    await click(customer(), sel('call-mute'));
    await customer().waitForSelector(sel('call-mute', '[aria-pressed="false"]'), { timeout: WAIT });
    await expectHears(agent(), agentPc, TONES.customer, true);
    expect(await customer().$(sel('widget-call-note'))).toBeNull();
  });
}, TEST_TIMEOUT);

test('Robin hangs up: the call ends for both at once; its record is on the surviving profile, charged once; the old token sees nothing', async () => {
  await step('hang up', async () => {
    await click(customer(), sel('call-hangup'));
    await agent().waitForFunction((t: string) => !(globalThis as unknown as typeof window).__mccsCalls?.has(t), { timeout: WAIT }, taskId);
    await waitForText(agent(), `${sel('chat-pane')}[data-task-id="${taskId}"] ${sel('chat-status')}`, 'wrap-up');
  });

  await step('the record and the charge', async () => {
    const deadline = Date.now() + WAIT;
    type Cdr = { taskId: string; customerId: string; channel: string; currency: string | null; amountMinor: number; billedSeconds: number };
    let cdrs: Cdr[] = [];
    while (Date.now() < deadline && !cdrs.some((c) => c.taskId === taskId)) {
      cdrs = (await api<{ records: Cdr[] }>(base, 'GET', `/api/admin/cdrs?customerId=${robinOlderId}`, undefined, admin)).body.records;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cdr = cdrs.find((c) => c.taskId === taskId);
    // The call's record is on the surviving profile, with the time talked across the switch.
    expect(cdr).toMatchObject({ customerId: robinOlderId, channel: 'call', currency: 'EUR' });
    expect(cdr!.billedSeconds).toBeGreaterThanOrEqual(5);
    expect(cdr!.amountMinor).toBe(cdr!.billedSeconds);
    expect((await api<{ records: Cdr[] }>(base, 'GET', `/api/admin/cdrs?customerId=${robinNewerId}`, undefined, admin)).body.records).toEqual([]);
    // Charged once, from the money Robin put in on this device; once the call ended, the rest moved to
    // the surviving profile (the call kept reserving where it started), and nothing is still held.
    type Wallet = { balanceMinor: number; reservedMinor: number };
    const walletsNow = () => Promise.all([robinOlderId, robinNewerId].map(async (id) => (await api<Wallet>(base, 'GET', `/api/admin/customers/${id}/wallet`, undefined, admin)).body));
    let wallets = await walletsNow();
    while (Date.now() < deadline && wallets[1]!.balanceMinor !== 0) {
      await new Promise((r) => setTimeout(r, 200));
      wallets = await walletsNow();
    }
    expect(wallets.map((w) => w.balanceMinor)).toEqual([CREDIT_MINOR - cdr!.amountMinor, 0]);
    expect(wallets.map((w) => w.reservedMinor)).toEqual([0, 0]);

    // Robin's token from before the merge holds nothing any more; the surviving one has both conversations.
    const old = await api<CustomerHistoryView>(base, 'GET', '/api/me/conversations', undefined, robinNewerToken);
    expect(old.status === 200 ? old.body.conversations : []).toEqual([]);
    const now = await widgetSession();
    const mine = await api<CustomerHistoryView>(base, 'GET', '/api/me/conversations', undefined, now.token);
    expect(mine.body.conversations.map((c) => c.taskId)).toContain(taskId);
    expect(mine.body.conversations).toHaveLength(2);
  });
}, TEST_TIMEOUT);
