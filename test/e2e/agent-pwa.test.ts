// End to end, the agent app as an installable web app on a phone-sized screen (390×844): a valid
// manifest with its icons, a service worker that takes control and turns a pushed offer into a
// notification, an offer opened from a notification link (highlighted), no horizontal overflow and no
// serious accessibility violations (axe-core) on the sign-in page and the workspace, and the app's
// shell still opening from the worker's cache with the server stopped and the browser offline.
//
// Screenshots go to <os tmpdir>/test-artifacts/mccs-e2e-agent-pwa (MCCS_E2E_ARTIFACTS overrides).
// Needs Chromium at /usr/bin/chromium; MCCS_E2E_CHROMIUM overrides the path.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/agent-pwa.test.ts --selectProjects e2e
import type { Browser, Page } from 'puppeteer-core';
import type { CustomerChatView } from '../../protocol/events.js';
import { artifacts, axeViolations, e2eFolders, horizontalOverflow, launchChromium, PHONE, sel, teardown, WAIT, type E2eFolders } from '../support/e2e.js';
import { adminToken, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, type CustomerSocket } from '../support/sockets.js';

const TEST_TIMEOUT = 60_000;

const art = artifacts('agent-pwa');
let folders: E2eFolders | undefined;
let server: TestServer | null = null;
let base: string;
let browser: Browser | null = null;
let page: Page;
let agent: { email: string; password: string; token: string; id: string };
const sockets: Array<{ close(): unknown }> = [];

const shot = (p: Page, name: string) => art.shot(p, name);

async function signIn(p: Page): Promise<void> {
  await p.waitForSelector(sel('agent-login-email'), { visible: true, timeout: WAIT });
  await p.type(sel('agent-login-email'), agent.email);
  await p.type(sel('agent-login-password'), agent.password);
  await p.click(sel('agent-login-submit'));
  await p.waitForSelector(sel('agent-workspace'), { visible: true, timeout: WAIT });
}

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-pwa-');
  // The support server (its own data folder, JSON logs) serving this run's build.
  server = await startTestServer({ MCCS_WEB_ROOT: folders.webRoot, MCCS_LOG_LEVEL: 'warn' });
  base = server.url.replace(/\/$/, '');
  const admin = await adminToken(base);
  const created = await createAgent(base, admin, { displayName: 'Phoebe Phone' });
  agent = { ...created };

  browser = await launchChromium(folders);
  await browser.defaultBrowserContext().overridePermissions(base, ['notifications']);
  page = await browser.newPage();
  await page.setViewport(PHONE);
}, 120_000);

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await teardown({ browser, also: [async () => server?.close()], root: folders?.root });
  art.report('agent PWA');
}, 60_000);

test('the manifest names the app, its scope and installable icons', async () => {
  const res = await fetch(`${base}/agent/manifest.webmanifest`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/manifest\+json|application\/json/);
  const manifest = (await res.json()) as Record<string, unknown> & { icons: Array<{ src: string; sizes: string; type: string; purpose?: string }> };
  expect(manifest).toMatchObject({ name: expect.any(String), short_name: expect.any(String), start_url: '/agent/', scope: '/agent/', display: 'standalone' });
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);
  for (const size of [192, 512]) {
    const icon = manifest.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png');
    expect(icon).toBeDefined();
    const png = Buffer.from(await (await fetch(base + icon!.src)).arrayBuffer());
    // PNG signature, then the IHDR chunk's width and height.
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
  }
  expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
  const sw = await fetch(`${base}/agent/sw.js`);
  expect(sw.status).toBe(200);
  expect(sw.headers.get('content-type')).toMatch(/javascript/);
});

test('the sign-in page fits a phone and has no serious accessibility problems', async () => {
  await page.goto(`${base}/agent/`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(sel('agent-login-email'), { visible: true, timeout: WAIT });
  expect(await page.$eval('link[rel="manifest"]', (l) => l.getAttribute('href'))).toBe('/agent/manifest.webmanifest');
  expect(await page.$eval('meta[name="viewport"]', (m) => m.getAttribute('content'))).toContain('width=device-width');
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  expect(await axeViolations(page)).toEqual([]);
  await shot(page, 'agent-login-phone');
}, TEST_TIMEOUT);

test('signed in, the service worker controls the page after a reload, and the workspace fits a phone', async () => {
  await signIn(page);
  await page.waitForFunction(`navigator.serviceWorker.getRegistration('/agent/').then((r) => !!(r && r.active))`, { timeout: WAIT, polling: 200 });
  // Not networkidle: socket.io keeps a connection open.
  await page.reload({ waitUntil: 'domcontentloaded' });
  expect(await page.evaluate('navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL')).toBe(`${base}/agent/sw.js`);
  await page.waitForSelector(sel('agent-status', '[data-state="not_ready"]'), { timeout: WAIT });
  await page.waitForSelector(sel('push-toggle'), { visible: true, timeout: WAIT });
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  expect(await axeViolations(page)).toEqual([]);
  await shot(page, 'agent-workspace-phone');
}, TEST_TIMEOUT);

test('a pushed offer becomes a notification with Accept and Open', async () => {
  // The push service is left out: DevTools hands the message straight to the service worker.
  const cdp = await page.createCDPSession();
  const registrationId = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> }) => {
      const r = e.registrations.find((x) => x.scopeURL === `${base}/agent/` && !x.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const payload = { type: 'offer', taskId: 'task-123', channel: 'chat', queue: 'General questions', customerName: 'Nina Night', firstMessage: 'Are you there?', expiresAt: Date.now() + 20_000 };
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: base, registrationId: await registrationId, data: JSON.stringify(payload) });
  // The worker shows it a moment later.
  let shown: unknown[] = [];
  for (const until = Date.now() + WAIT; shown.length === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    shown = (await page.evaluate(
      `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, actions: n.actions.map((a) => a.action) })))`,
    )) as unknown[];
  }
  expect(shown).toEqual([{ title: 'New chat from Nina Night in General questions', body: 'Are you there?', tag: 'offer:task-123', actions: ['accept', 'open'] }]);
  await cdp.detach();
}, TEST_TIMEOUT);

test('opened from an offer’s notification link, the app highlights that offer', async () => {
  await page.click(sel('agent-ready'));
  await page.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });
  const v = await visitorToken(base, 'Olga Offer');
  const customer = await connect<CustomerSocket>(base, '/customer', v.token);
  sockets.push(customer);
  const chat = await call<CustomerChatView>(customer, 'chat:start', { queueId: 'general', text: 'I need help on the go', clientMsgId: msgId() });
  await page.waitForSelector(sel('offer-card', `[data-task-id="${chat.taskId}"]`), { timeout: WAIT });

  // As the service worker opens it when the app was closed: a new window on /agent/?offer=<taskId>.
  // (The first tab stays connected, so the offer is not passed on meanwhile.)
  const second = await browser!.newPage();
  await second.setViewport(PHONE);
  await second.goto(`${base}/agent/?offer=${encodeURIComponent(chat.taskId)}`, { waitUntil: 'domcontentloaded' });
  await signIn(second);
  await second.waitForSelector(`${sel('offer-card', `[data-task-id="${chat.taskId}"]`)}.offer--highlight`, { timeout: WAIT });
  expect(await second.evaluate('location.search')).toBe('');
  await shot(second, 'agent-offer-from-notification');
  await second.close();
}, TEST_TIMEOUT);

test('with the server stopped and the browser offline, the app shell still opens and says it is offline', async () => {
  await server!.close();
  server = null;
  await page.setOfflineMode(true);
  await page.reload({ waitUntil: 'domcontentloaded' });
  // The page came from the service worker's cache; the app says it cannot reach the server.
  // (Chromium's offline emulation leaves navigator.onLine true, so the connection notice speaks here,
  // not the device-offline one.)
  await page.waitForSelector(sel('agent-workspace'), { visible: true, timeout: WAIT });
  await page.waitForSelector(sel('agent-connection'), { visible: true, timeout: WAIT });
  expect(await page.$eval(sel('agent-connection'), (e) => e.textContent)).toContain('Connection lost');
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await shot(page, 'agent-offline-phone');
}, TEST_TIMEOUT);
