// End to end, customer context in Chromium: Robin talked to agent Ada before (a reply, a note, a tag,
// and an email Robin confirmed). Robin comes back from a new browser, confirms the same email in the
// widget with the code from the outbox and sees the earlier conversation; the chat Robin starts is
// offered to Ada with who Robin is (returning, last with Ada, the note, the tag, the browser's
// language) and the first message; the accepted chat's context panel shows the earlier conversation,
// the note, the tag and the email masked; Ada's new note is still there after a reload. Then Robin asks
// a topic whose queue does not share history: agent Ben, in his own browser, sees only his
// conversation and that earlier ones with others are hidden.
//
// Needs Chromium at /usr/bin/chromium; MCCS_E2E_CHROMIUM overrides the path.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/customer-context.test.ts --selectProjects e2e
import type { Browser, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import {
  acceptOffer,
  artifacts,
  baseUrlOf,
  changeAdminPassword,
  click,
  collectPageErrors,
  e2eFolders,
  fill,
  goReady,
  launchChromium,
  sel,
  signInAgent,
  startE2eServer,
  startWidgetChat,
  stepper,
  teardown,
  texts,
  waitForText,
  WAIT,
  type E2eFolders,
} from '../support/e2e.js';
import { mailedCode as mailedCodeIn } from '../support/outbox.js';
import { api, createAgent, visitorToken } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';

const TEST_TIMEOUT = 90_000;
const EMAIL = 'robin.returning@example.test';
const EARLIER_QUESTION = 'Is my invoice for March correct?';
const EARLIER_ANSWER = 'Yes, the March invoice is correct.';
const EARLIER_NOTE = 'Prefers answers by email.';

const art = artifacts('customer-context');
let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let base: string;
let browser: Browser | null = null;
let customerPage: Page;
let adaPage: Page;
let benPage: Page;
let ada: { id: string; email: string; password: string; token: string };
let ben: { id: string; email: string; password: string; token: string };
let robin: { customerId: string; token: string };
let admin: string;
const pageErrors: string[] = [];
const step = stepper({ artifacts: art, pageErrors, pages: () => [['customer', customerPage], ['ada', adaPage], ['ben', benPage]] });

const mailedCode = (email: string): string => mailedCodeIn(folders!.dataDir, email);

/** Opens the context panel of the visible chat and waits until it has loaded. */
async function openContext(page: Page): Promise<string> {
  const panel = `${sel('chat-pane')}:not([hidden]) ${sel('context-panel')}`;
  await click(page, `${panel} summary`);
  await page.waitForSelector(`${panel} ${sel('context-sessions')}`, { visible: true, timeout: WAIT });
  return panel;
}

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-context-');
  mccs = await startE2eServer(folders);
  base = baseUrlOf(mccs);
  admin = await changeAdminPassword(base, 'admin-pass-456-changed');
  ada = await createAgent(base, admin, { displayName: 'Ada Agent', chatCapacity: 2 });
  ben = await createAgent(base, admin, { displayName: 'Ben Agent', chatCapacity: 2 });

  // Robin's earlier conversation with Ada, a note, a tag and a confirmed email: through the API.
  robin = await visitorToken(base, 'Robin');
  const robinSocket = await connect<CustomerSocket>(base, '/customer', robin.token);
  const adaSocket = await connect<AgentSocket>(base, '/agent', ada.token);
  try {
    await next(adaSocket, 'hello');
    await call(adaSocket, 'presence:set', { state: 'ready' });
    const offered = next<Offer>(adaSocket, 'offer');
    const view = await call<CustomerChatView>(robinSocket, 'chat:start', { queueId: 'general', text: EARLIER_QUESTION, clientMsgId: msgId() });
    await offered;
    await call(adaSocket, 'offer:accept', { taskId: view.taskId });
    await call(adaSocket, 'chat:send', { taskId: view.taskId, text: EARLIER_ANSWER, clientMsgId: msgId() });
    await call(adaSocket, 'chat:end', { taskId: view.taskId });
    expect((await api(base, 'POST', `/api/tasks/${view.taskId}/notes`, { body: EARLIER_NOTE }, ada.token)).status).toBe(201);
    await call(adaSocket, 'wrapup:done', { taskId: view.taskId });
    await call(adaSocket, 'presence:set', { state: 'not_ready' });
  } finally {
    robinSocket.close();
    adaSocket.close();
  }
  expect((await api(base, 'PUT', `/api/customers/${robin.customerId}/tags`, { tags: ['vip'] }, admin)).status).toBe(200);
  expect((await api(base, 'POST', '/api/me/email', { email: EMAIL }, robin.token)).status).toBe(202);
  expect((await api(base, 'POST', '/api/me/email/verify', { email: EMAIL, code: mailedCode(EMAIL) }, robin.token)).status).toBe(200);

  browser = await launchChromium(folders);
  // Each person in a browser context of their own (their own storage).
  customerPage = await (await browser.createBrowserContext()).newPage();
  adaPage = await (await browser.createBrowserContext()).newPage();
  benPage = await (await browser.createBrowserContext()).newPage();
  // Robin's new browser prefers Finnish.
  await customerPage.setExtraHTTPHeaders({ 'Accept-Language': 'fi-FI,fi;q=0.9,en;q=0.5' });
  for (const page of [customerPage, adaPage, benPage]) await page.setViewport({ width: 480, height: 900 });
  collectPageErrors([['customer', customerPage], ['ada', adaPage], ['ben', benPage]], pageErrors);
}, 120_000);

afterAll(async () => {
  await teardown({ browser, mccs, root: folders?.root });
  art.report('customer context');
}, 60_000);

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

test('back in a new browser, the customer confirms their email in the widget and sees their earlier conversation', async () => {
  await step('confirm email in the widget', async () => {
    await customerPage.goto(`${base}/widget/`, { waitUntil: 'domcontentloaded' });
    await click(customerPage, `${sel('widget-email')} summary`);
    await fill(customerPage, sel('widget-email-input'), EMAIL);
    await click(customerPage, sel('widget-email-send'));
    await customerPage.waitForSelector(sel('widget-email-code'), { visible: true, timeout: WAIT });
    await fill(customerPage, sel('widget-email-code'), mailedCode(EMAIL));
    await click(customerPage, sel('widget-email-confirm'));
    await waitForText(customerPage, sel('widget-email-confirmed'), EMAIL);
    await customerPage.waitForSelector(sel('widget-history-item'), { timeout: WAIT });
    const earlier = await texts(customerPage, sel('widget-history-item'));
    expect(earlier).toHaveLength(1);
    expect(earlier[0]).toContain('with Ada Agent');
    await click(customerPage, `${sel('widget-history-item')} summary`);
    await waitForText(customerPage, sel('widget-history-item'), EARLIER_ANSWER);
  });
}, TEST_TIMEOUT);

test("the agent's offer says who the customer is; the context panel shows history, notes, tags and the email masked; a new note survives a reload", async () => {
  await step('offer and context panel', async () => {
    await signInAgent(adaPage, base, ada);
    await goReady(adaPage);

    await startWidgetChat(customerPage, 'general', 'Hello again, a question about April.');
    await customerPage.waitForSelector(sel('widget-chat'), { timeout: WAIT });

    const offer = await adaPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
    expect(await offer!.$eval(sel('offer-first-message'), (e) => e.textContent)).toBe('Hello again, a question about April.');
    expect(await offer!.$eval(sel('offer-customer'), (e) => e.textContent)).toContain('Robin');
    const summary = await offer!.$eval(sel('offer-context'), (e) => e.textContent ?? '');
    for (const bit of ['Returning: 1 earlier conversation', 'last with Ada Agent', 'language fi-FI', '1 note', 'vip']) expect(summary).toContain(bit);
    await acceptOffer(adaPage);

    const panel = await openContext(adaPage);
    expect(await adaPage.$$eval(`${panel} ${sel('context-session')}`, (els) => els.length)).toBe(2);
    await waitForText(adaPage, `${panel} ${sel('context-sessions')}`, 'Ada Agent');
    expect(await texts(adaPage, `${panel} ${sel('context-note')}`)).toEqual([expect.stringContaining(EARLIER_NOTE)]);
    expect(await texts(adaPage, `${panel} ${sel('context-tag')}`)).toEqual(['vip']);
    const identities = await adaPage.$eval(`${panel} ${sel('context-identities')}`, (e) => e.textContent ?? '');
    expect(identities).toContain('email: r•••@example.test');
    expect(identities).not.toContain(EMAIL);
    expect(await adaPage.$eval(`${panel} ${sel('context-language')}`, (e) => e.textContent)).toContain('fi-FI');

    await fill(adaPage, `${panel} ${sel('context-note-input')}`, 'Wants the April invoice split.');
    await click(adaPage, `${panel} ${sel('context-note-save')}`);
    await waitForText(adaPage, `${panel} ${sel('context-notes')}`, 'Wants the April invoice split.');

    await adaPage.reload({ waitUntil: 'domcontentloaded' });
    await adaPage.waitForSelector(sel('chat-pane', '[data-status="assigned"]:not([hidden])'), { timeout: WAIT });
    const again = await openContext(adaPage);
    const notes = await texts(adaPage, `${again} ${sel('context-note')}`);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('Wants the April invoice split.');
    expect(notes[0]).toContain('Ada Agent');

    // Ada ends the chat and stops taking new ones.
    await click(adaPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-end')}`);
    await adaPage.waitForSelector(sel('wrapup-form'), { visible: true, timeout: WAIT });
    await click(adaPage, sel('wrapup-done'));
    await adaPage.waitForSelector(sel('agent-no-chats'), { timeout: WAIT });
    await click(adaPage, sel('agent-not-ready'));
    await adaPage.waitForSelector(sel('agent-status', '[data-state="not_ready"]'), { timeout: WAIT });
  });
}, TEST_TIMEOUT);

test("an agent of a queue that does not share history sees only their own conversation, not Ada's", async () => {
  await step('queue without shared history', async () => {
    await signInAgent(benPage, base, ben);
    await goReady(benPage);

    await customerPage.waitForSelector(sel('widget-ended'), { timeout: WAIT });
    await click(customerPage, sel('widget-new-chat'));
    await startWidgetChat(customerPage, 'technical', 'My router keeps restarting.');

    await benPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
    await acceptOffer(benPage);
    const panel = await openContext(benPage);
    const sessions = await texts(benPage, `${panel} ${sel('context-session')}`);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toContain('Technical help');
    expect(sessions[0]).toContain('Ben Agent');
    expect(await benPage.$eval(`${panel} ${sel('context-hidden')}`, (e) => e.textContent)).toContain('2 earlier conversation(s) with other agents are not shown to you');
    expect(await benPage.$eval(`${panel} ${sel('context-sessions')}`, (e) => e.textContent ?? '')).not.toContain('Ada Agent');
    // Notes are on the customer, so Ben sees them (with who wrote them), but not Ada's conversations.
    expect(await texts(benPage, `${panel} ${sel('context-note')}`)).toHaveLength(2);
  });
}, TEST_TIMEOUT);
