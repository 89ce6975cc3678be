// End to end, the admin console's wallboard and SIP trunks: a real mccs in this process, the built web
// client, headless Chromium. An agent (over its socket) is ready, takes one chat and a second customer
// waits: the wallboard tile of the general queue shows 1 waiting and the agent busy, as text and in
// the chart's text alternative; `#wallboard` shows the board alone. An agent whose app closes while it
// gets offers by push is shown as ready "by push" until it opens the app again. Then the admin adds a SIP trunk in
// the form (the SIP bridge starts), sees it listed with its state, edits it without retyping the
// password, and removes it; the password never appears in the page.
//
// Needs Chromium at /usr/bin/chromium (MCCS_E2E_CHROMIUM overrides the path).
import type { Browser, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import {
  artifacts,
  baseUrlOf,
  changeAdminPassword,
  collectPageErrors,
  e2eFolders,
  fill as fillIn,
  launchChromium,
  sel,
  signInAdmin,
  startE2eServer,
  teardown,
  WAIT,
  type E2eFolders,
} from '../support/e2e.js';
import { api, createAgent, visitorToken } from '../support/server.js';
import { browserKeys, startPushEndpoint, type PushEndpoint } from '../support/push-endpoint.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import { freePort } from '../support/ports.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';

const ADMIN_PASSWORD = 'admin-pass-456-changed';
const TRUNK_PASSWORD = 'trunk-Password-9876';
/** Screenshots of the board and the trunks section. */
const art = artifacts('wallboard');

let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let base: string;
let admin: string;
let browser: Browser | null = null;
let page: Page;
let pushService: PushEndpoint | null = null;
const sockets: Array<{ close(): unknown }> = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-wallboard-');
  pushService = await startPushEndpoint();
  mccs = await startE2eServer(folders, { MCCS_SIP_PORT: String(await freePort()), MCCS_PUSH_ALLOW_LOOPBACK: 'yes' });
  base = baseUrlOf(mccs);
  admin = await changeAdminPassword(base, ADMIN_PASSWORD);
  browser = await launchChromium(folders, { protocolTimeout: WAIT + 5_000 });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  collectPageErrors([['admin', page]], pageErrors);
  page.on('dialog', (d) => void d.accept()); // "Remove trunk …?"
}, 120_000);

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await teardown({ browser, mccs, root: folders?.root });
  await pushService?.close();
  art.report('wallboard and trunks');
}, 60_000);

afterEach(() => expect(pageErrors).toEqual([]));

const textOf = (selector: string) => page.$eval(selector, (el) => (el as unknown as { textContent: string | null }).textContent?.trim() ?? '');
async function waitForText(selector: string, want: RegExp): Promise<void> {
  await page.waitForFunction(
    (s: string, src: string) => new RegExp(src).test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector(s)?.textContent ?? ''),
    { timeout: WAIT },
    selector,
    want.source,
  );
}
const fill = (selector: string, value: string) => fillIn(page, selector, value);

test('the wallboard shows the queue live, as text and in its charts, and alone under #wallboard', async () => {
  const a = await createAgent(base, admin, { displayName: 'Wally', chatCapacity: 1 });
  const agent = await connect<AgentSocket>(base, '/agent', a.token);
  sockets.push(agent);
  await next(agent, 'hello');
  await call(agent, 'presence:set', { state: 'ready' });

  await signInAdmin(page, base, ADMIN_PASSWORD);
  const tile = `${sel('wallboard-queue')}[data-queue-id="general"]`;
  await page.waitForSelector(`${tile} ${sel('wallboard-agents-ready')}[data-count="1"]`, { timeout: WAIT });

  // One chat answered (the agent is then full), a second customer waits.
  const customers: CustomerSocket[] = [];
  for (const name of ['First', 'Second']) {
    const v = await visitorToken(base, name);
    const c = await connect<CustomerSocket>(base, '/customer', v.token);
    sockets.push(c);
    customers.push(c);
  }
  const offered = next<Offer>(agent, 'offer');
  await call<CustomerChatView>(customers[0]!, 'chat:start', { queueId: 'general', text: 'hi', clientMsgId: msgId() });
  await call(agent, 'offer:accept', { taskId: (await offered).taskId });
  const second = await call<CustomerChatView>(customers[1]!, 'chat:start', { queueId: 'general', text: 'anyone?', clientMsgId: msgId() });

  await waitForText(`${tile} ${sel('wallboard-waiting')}`, /^1$/);
  await page.waitForSelector(`${tile} ${sel('wallboard-agents-busy')}[data-count="1"]`, { timeout: WAIT });
  expect(await textOf(`${tile} ${sel('wallboard-sl')}`)).toBe('100 %'); // the answered chat waited < 20 s
  await waitForText(`${tile} ${sel('wallboard-waiting-chart')} title`, /1 now, at most 1/);
  expect(await textOf(`${tile} ${sel('wallboard-sl-chart')} title`)).toMatch(/per quarter hour: .*100 %\.$/);

  // The board alone, for a TV.
  await page.click(sel('wallboard-open-full'));
  await page.waitForSelector(sel('wallboard-page'), { timeout: WAIT });
  expect(await page.$(sel('admin-console'))).toBeNull();
  await waitForText(`${tile} ${sel('wallboard-waiting')}`, /^1$/);
  await art.shot(page, 'wallboard');
  await page.click(sel('wallboard-exit'));
  await page.waitForSelector(sel('admin-console'), { timeout: WAIT });

  // The waiting customer gives up; a board opened afterwards still shows that one waited (the
  // server's half-hour history), not only what it has seen since it opened.
  await call(customers[1]!, 'chat:leave', { taskId: second.taskId });
  await waitForText(`${tile} ${sel('wallboard-waiting')}`, /^0$/);
  await page.reload();
  await waitForText(`${tile} ${sel('wallboard-waiting-chart')} title`, /0 now, at most 1/);
}, 90_000);

test('the wallboard shows how many ready agents are reachable by push only', async () => {
  // An agent with a device and "offers when the app is closed", ready, then its app closes.
  const a = await createAgent(base, admin, { displayName: 'Pia' });
  const keys = browserKeys();
  const subscribe = { endpoint: `${pushService!.origin}/push/${a.id}`, keys: { p256dh: keys.p256dh, auth: keys.auth } };
  expect((await api(base, 'POST', '/api/agent/push-subscriptions', subscribe, a.token)).status).toBe(201);
  expect((await api(base, 'PUT', '/api/agent/push-settings', { offersWhenClosed: true }, a.token)).status).toBe(200);
  const app = await connect<AgentSocket>(base, '/agent', a.token);
  sockets.push(app);
  await next(app, 'hello');
  await call(app, 'presence:set', { state: 'ready' });

  const tile = `${sel('wallboard-queue')}[data-queue-id="general"]`;
  const ready = `${tile} ${sel('wallboard-agents-ready')}`;
  await page.waitForSelector(`${ready}[data-count="1"]`, { timeout: WAIT });
  expect(await page.$(`${ready} ${sel('wallboard-agents-by-push')}`)).toBeNull();

  app.close();
  await page.waitForSelector(`${ready} ${sel('wallboard-agents-by-push')}[data-count="1"]`, { timeout: WAIT });
  expect(await textOf(ready)).toBe('1 Ready (1 by push)');

  // The app opens again: ready, no longer by push.
  const back = await connect<AgentSocket>(base, '/agent', a.token);
  sockets.push(back);
  await next(back, 'hello');
  await page.waitForFunction((s: string) => (globalThis as unknown as { document: { querySelector(q: string): unknown } }).document.querySelector(s) === null, { timeout: WAIT }, `${ready} ${sel('wallboard-agents-by-push')}`);
  expect(await textOf(ready)).toBe('1 Ready');
}, 60_000);

test('an admin adds, edits and removes a SIP trunk in the console; its password never shows', async () => {
  await page.waitForSelector(sel('admin-trunks'), { timeout: WAIT });
  await waitForText(sel('admin-trunks-bridge'), /starts when the first trunk is added/);
  await fill(sel('admin-trunk-id'), 'office-pbx');
  await fill(sel('admin-trunk-allow'), '192.0.2.0/24');
  await fill(sel('admin-trunk-auth-user'), 'pbx');
  await fill(sel('admin-trunk-auth-password'), TRUNK_PASSWORD);
  await fill(sel('admin-trunk-max'), '3');
  await page.click(sel('admin-trunk-submit'));
  await waitForText(sel('admin-trunk-saved'), /office-pbx added/);
  const row = `${sel('admin-trunk-row')}[data-trunk-id="office-pbx"]`;
  await waitForText(`${row} ${sel('admin-trunk-state')}`, /0 calls in progress/);
  await waitForText(sel('admin-trunks-bridge'), /running/);
  await art.shot(page, 'trunks', sel('admin-trunks'));

  // Edit: the password field starts empty and stays so; the stored one is kept.
  await page.click(`${row} ${sel('admin-trunk-edit')}`);
  expect(await page.$eval(sel('admin-trunk-auth-password'), (el) => (el as unknown as { value: string }).value)).toBe('');
  await fill(sel('admin-trunk-max'), '7');
  await page.click(sel('admin-trunk-submit'));
  await waitForText(sel('admin-trunk-saved'), /office-pbx changed/);
  expect(await page.content()).not.toContain(TRUNK_PASSWORD);

  await page.click(`${row} ${sel('admin-trunk-remove')}`);
  await waitForText(sel('admin-trunk-saved'), /office-pbx removed/);
  await page.waitForFunction((s: string) => !(globalThis as unknown as { document: { querySelector(q: string): unknown } }).document.querySelector(s), { timeout: WAIT }, row);
}, 90_000);
