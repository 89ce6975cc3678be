// End to end, an expert's first session on a phone (Chromium at 390×844), through the real UIs:
// someone signs up in the agent app with skills and languages and sets a price; an admin approves them
// in the admin page; the agent turns on offer notifications and goes Ready, then switches to another
// tab (the app goes to the background: document.visibilityState 'hidden', reported to the server). A
// customer in the widget agrees to the paid topic's price, is credited by the admin and starts a chat.
// The offer reaches the agent by Web Push: the server encrypts and VAPID-signs it for the browser's
// subscription and POSTs it to a local push service, which checks the signature and decrypts it; the
// decrypted message is handed to the app's service worker, which shows the notification. Accept on
// the notification accepts the offer in the app; messages flow both ways; the agent ends the chat and
// wraps up; the earnings card shows the session's share in euro cents computed from the rate plan and
// the agent's price, and its history lists the session.
//
// Two stand-ins, both at the browser's edge, none in the product:
// - Headless Chromium cannot make a real push subscription (PushManager.subscribe needs Google's push
//   service and brings this Chromium down), so the page's PushManager hands the app a subscription at
//   the local push service with keys the test holds. The app registers it with the server as usual.
// - The browser's push client is played by DevTools: what the push service received and decrypted is
//   delivered to the service worker (ServiceWorker.deliverPushMessage), as the browser does after
//   decrypting. DevTools cannot click a notification either: the service worker's own notificationclick
//   handler is run with the shown notification and action 'accept' (an untrusted event: its focus()
//   is refused, so the test brings the app to the front as that focus would).
//
// Screenshots go to <os tmpdir>/test-artifacts/mccs-e2e-agent-journey (MCCS_E2E_ARTIFACTS overrides).
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/agent-journey.test.ts --selectProjects e2e
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, CDPSession, Page, WebWorker } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import { browserKeys, decryptAes128gcm, startPushEndpoint, verifyVapid, type BrowserKeys, type PushEndpoint } from '../support/push-endpoint.js';
import {
  approveOpenAgent,
  artifacts,
  axeViolations,
  baseUrlOf,
  changeAdminPassword,
  click,
  collectPageErrors,
  e2eFolders,
  fill,
  fillSignUp,
  goReady,
  horizontalOverflow,
  http,
  launchChromium,
  openPendingAgent,
  openWidget,
  PHONE,
  sel,
  signInAdmin,
  startE2eServer,
  stepper,
  teardown,
  textOf,
  texts,
  visible,
  waitForText,
  WAIT,
  type E2eFolders,
} from '../support/e2e.js';

const TEST_TIMEOUT = 240_000;
const ADMIN_PASSWORD = 'admin-pass-journey-456';
const EXPERT = {
  email: 'jonas.journey@example.com',
  password: 'expert-pass-journey-1',
  displayName: 'Jonas',
  legalName: 'Jonas K. Journey',
  skills: 'tax:8, payroll:6',
  languages: 'en, de',
  bio: 'Payroll and tax for small businesses, twelve years.',
  timeZone: 'Europe/Berlin',
};
const CUSTOMER_NAME = 'Mira Mobile';
const FIRST_MESSAGE = 'Can I pay my employees a bonus tax-free?';
const AGENT_REPLY = 'Hi Mira, Jonas here. Up to a limit, yes: let me explain.';
const CUSTOMER_REPLY = 'Thanks, what is the limit?';

// The paid topic: chat on "general" in EUR. Agents may ask 1.00–5.00 EUR a minute; the first
// increment is 5 minutes (this chat lasts well under that), then per minute; 20 % tax is included in
// the price; the agent keeps 65 % of the net. The expert asks 2.40 EUR a minute.
const PLAN = {
  queueId: 'general',
  channel: 'chat',
  currency: 'EUR',
  perMinuteMinor: 120,
  sessionFeeMinor: 0,
  freeSeconds: 0,
  firstIncrementSeconds: 300,
  nextIncrementSeconds: 60,
  agentPriceMinMinor: 100,
  agentPriceMaxMinor: 500,
  revenueShareBps: 6500,
  taxBps: 2000,
} as const;
const AGENT_PRICE_MINOR = 240;
const CREDIT_MINOR = 2000;
// Rated as docs/charging.md says, in integers: the chat is bridged for less than the first increment,
// so it is billed the whole first increment.
const BILLED_SECONDS = PLAN.firstIncrementSeconds;
const AMOUNT_MINOR = PLAN.sessionFeeMinor + Math.floor((AGENT_PRICE_MINOR * BILLED_SECONDS * 2 + 60) / 120); // half up: 1200
const TAX_MINOR = Math.floor((AMOUNT_MINOR * PLAN.taxBps * 2 + (10_000 + PLAN.taxBps)) / (2 * (10_000 + PLAN.taxBps))); // half up: 200
const AGENT_SHARE_MINOR = Math.floor(((AMOUNT_MINOR - TAX_MINOR) * PLAN.revenueShareBps) / 10_000); // down: 650

/** Euro cents as the apps show them ("6.50 EUR"), from integers only. */
const eur = (minor: number): string => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')} EUR`;

const art = artifacts('agent-journey');
let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let baseUrl: string;
let adminToken: string;
let pushService: PushEndpoint | undefined;
let browser: Browser | null = null;
let adminContext: BrowserContext;
let customerContext: BrowserContext;
let agentPage: Page;
let adminPage: Page;
let customerPage: Page;
/** What the agent's phone shows instead of the app while it is in the background. */
let otherTab: Page | null = null;
let agentCdp: CDPSession;
/** socket.io frames the agent app received (its acknowledgements among them). */
const agentFrames: string[] = [];
const pageErrors: string[] = [];
let keys: BrowserKeys;
let endpointPath: string;

const step = stepper({
  artifacts: art,
  pages: () => [
    ['agent', agentPage],
    ['admin', adminPage],
    ['customer', customerPage],
  ],
  pageErrors,
});

/** The form control inside the label of a form whose text starts with `label` (what a user reads). */
function field(formTestId: string, label: string): string {
  return `::-p-xpath(//form[@data-testid="${formTestId}"]//label[starts-with(normalize-space(.), "${label}")]//*[self::input or self::select])`;
}

/**
 * Stands in for the browser's push client (see the top of the file): PushManager.subscribe and
 * getSubscription give the app a subscription at the local push service with the test's keys, kept
 * in localStorage like a browser keeps its own across reloads.
 */
function pushManagerStandIn(endpoint: string, k: BrowserKeys): string {
  return `(() => {
  if (typeof PushManager === 'undefined') return;
  const endpoint = ${JSON.stringify(endpoint)};
  const keys = { p256dh: ${JSON.stringify(k.p256dh)}, auth: ${JSON.stringify(k.auth)} };
  const STORE = 'e2e-push-subscription-server-key';
  const bytes = (b64url) => {
    const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
  };
  const text = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const subscription = (serverKey) => ({
    endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(serverKey) },
    getKey: (name) => bytes(keys[name]),
    toJSON: () => ({ endpoint, expirationTime: null, keys }),
    unsubscribe: async () => (localStorage.removeItem(STORE), true),
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey;
    const serverKey = typeof key === 'string' ? key : text(ArrayBuffer.isView(key) ? key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) : key);
    localStorage.setItem(STORE, serverKey);
    return subscription(serverKey);
  };
  PushManager.prototype.getSubscription = async function () {
    const serverKey = localStorage.getItem(STORE);
    return serverKey ? subscription(serverKey) : null;
  };
})();`;
}

/** The agent app's service worker, once it runs. */
async function serviceWorker(): Promise<WebWorker> {
  const target = await browser!.waitForTarget((t) => t.type() === 'service_worker' && t.url() === `${baseUrl}/agent/sw.js`, { timeout: WAIT });
  const worker = await target.worker();
  if (!worker) throw new Error('the agent service worker has no worker');
  return worker;
}

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  actions: string[];
}

async function notifications(worker: WebWorker): Promise<ShownNotification[]> {
  return (await worker.evaluate(
    `self.registration.getNotifications().then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, actions: n.actions.map((a) => a.action) })))`,
  )) as ShownNotification[];
}

/** Polls until `read` gives something `done` accepts, at most WAIT. */
async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  pushService = await startPushEndpoint();
  folders = await e2eFolders('mccs-e2e-journey-');
  mccs = await startE2eServer(folders, {
    MCCS_MANAGER: 'off',
    // The local push service is on 127.0.0.1 (docs/push.md).
    MCCS_PUSH_ALLOW_LOOPBACK: 'yes',
    // Time enough for the push, the notification and the tap.
    MCCS_OFFER_TIMEOUT: '60',
  });
  baseUrl = baseUrlOf(mccs);
  adminToken = await changeAdminPassword(baseUrl, ADMIN_PASSWORD);
  // The topic is paid: its rate plan is a precondition here (the admin page's form is in charging.test.ts).
  await http(baseUrl, 'PUT', '/api/admin/rate-plans', PLAN, adminToken);

  keys = browserKeys();
  endpointPath = `/push/${randomUUID()}`;

  browser = await launchChromium(folders, { protocolTimeout: WAIT + 5_000 });
  await browser.defaultBrowserContext().overridePermissions(baseUrl, ['notifications']);
  // The agent's phone is the default context; admin and customer each have their own (their own
  // window, so bringing them forward never hides the agent's app).
  agentPage = await browser.newPage();
  adminContext = await browser.createBrowserContext();
  adminPage = await adminContext.newPage();
  customerContext = await browser.createBrowserContext();
  customerPage = await customerContext.newPage();
  await agentPage.setViewport(PHONE);
  await adminPage.setViewport({ width: 1200, height: 900 });
  await customerPage.setViewport(PHONE);
  await agentPage.evaluateOnNewDocument(pushManagerStandIn(pushService.origin + endpointPath, keys));
  agentCdp = await agentPage.createCDPSession();
  agentCdp.on('Network.webSocketFrameReceived', (e: { response: { payloadData: string } }) => void agentFrames.push(e.response.payloadData));
  await agentCdp.send('Network.enable');
  collectPageErrors(
    [
      ['agent', agentPage],
      ['admin', adminPage],
      ['customer', customerPage],
    ],
    pageErrors,
  );
}, 180_000);

afterAll(async () => {
  await agentCdp?.detach().catch(() => undefined);
  await teardown({ browser, mccs, also: [async () => pushService?.close()], root: folders?.root });
  art.report('agent journey');
}, 60_000);

test('a new expert signs up on a phone, is approved, accepts a pushed offer and sees the session earn money', async () => {
  await step('sign up', async () => {
    await agentPage.goto(`${baseUrl}/agent/`, { waitUntil: 'domcontentloaded' });
    await click(agentPage, sel('agent-become-expert'));
    await visible(agentPage, sel('agent-signup-form'));
    expect(await axeViolations(agentPage)).toEqual([]);
    await fillSignUp(agentPage, EXPERT);
    await art.shot(agentPage, '1-signup-form');
    await click(agentPage, sel('signup-submit'));
    await visible(agentPage, sel('agent-verification-banner'));
    await agentPage.waitForSelector(sel('agent-status', '[data-state="not_ready"]'), { timeout: WAIT });
  });

  await step('the expert sets a price', async () => {
    await fill(agentPage, sel('agent-price'), String(AGENT_PRICE_MINOR));
    await click(agentPage, sel('agent-price-save'));
    await waitForText(agentPage, sel('agent-earnings'), 'Your price is saved.');
    await waitForText(agentPage, sel('agent-earnings'), 'No paid sessions yet this month.');
    expect(await horizontalOverflow(agentPage)).toBeLessThanOrEqual(0);
    expect(await axeViolations(agentPage)).toEqual([]);
    await art.shot(agentPage, '2-workspace-awaiting-verification');
  });

  await step('an admin approves', async () => {
    await signInAdmin(adminPage, baseUrl, ADMIN_PASSWORD);
    await openPendingAgent(adminPage);
    expect(await textOf(adminPage, sel('admin-agent-legal-name'))).toBe(EXPERT.legalName);
    await fill(adminPage, sel('admin-agent-reason'), 'Identity and qualifications checked');
    await approveOpenAgent(adminPage);
    await art.shot(adminPage, '3-admin-approved');
  });

  await step('notifications on, Ready', async () => {
    await click(agentPage, sel('push-toggle'));
    await agentPage.waitForSelector(`${sel('push-toggle')}:checked:not([disabled])`, { timeout: WAIT });
    expect(await agentPage.$(sel('push-error'))).toBeNull();
    await goReady(agentPage);
    await art.shot(agentPage, '4-workspace-ready');
    // The server has this browser's subscription for the agent (the device list shows its push service).
    const { token } = await http<{ token: string }>(baseUrl, 'POST', '/api/auth/login', { email: EXPERT.email, password: EXPERT.password });
    const devices = await http<{ subscriptions: Array<{ pushService: string }> }>(baseUrl, 'GET', '/api/agent/push-subscriptions', undefined, token);
    expect(devices.subscriptions.map((d) => d.pushService)).toEqual([pushService!.origin]);
  });

  await step('the app goes to the background', async () => {
    const acksBefore = agentFrames.length;
    // The agent switches to another tab: the app is still connected, but not on screen.
    otherTab = await browser!.newPage();
    await otherTab.setViewport(PHONE);
    await otherTab.bringToFront();
    await until('the app’s visibility', () => agentPage.evaluate('document.visibilityState'), (v) => v === 'hidden');
    // The server has taken note once it acknowledges the app's report (app:visibility {visible: false}).
    // An acknowledgement on /agent is `43/agent,<id>[<reply>]`.
    await until(
      'the server’s acknowledgement of app:visibility, among the frames',
      async () => agentFrames.slice(acksBefore),
      (frames) => frames.some((f) => /^43\/agent,\d+\[\{"ok":true,"data":\{"visible":false\}\}\]$/.test(f)),
    );
  });

  let taskId = '';
  await step('a customer credited by the admin starts a paid chat', async () => {
    await openWidget(customerPage, baseUrl, CUSTOMER_NAME);
    await click(customerPage, sel('widget-topic-general'));
    await waitForText(customerPage, sel('widget-price-chat'), '/min');
    await fill(customerPage, sel('widget-first-message'), FIRST_MESSAGE);
    await click(customerPage, sel('widget-agree-price'));
    await art.shot(customerPage, '5-widget-price');
    // A new customer has no balance yet: refused, and the admin tops it up.
    await click(customerPage, sel('widget-start'));
    await waitForText(customerPage, sel('widget-error'), 'INSUFFICIENT_FUNDS');
    const stored = JSON.parse(String(await customerPage.evaluate('localStorage.getItem("mccs.widget")'))) as { customerId?: string };
    expect(stored.customerId).toEqual(expect.any(String));
    const form = 'admin-credit-form';
    await fill(adminPage, field(form, 'Customer id'), stored.customerId!);
    await fill(adminPage, field(form, 'Amount'), String(CREDIT_MINOR));
    await fill(adminPage, field(form, 'Currency'), 'EUR');
    await click(adminPage, `${sel(form)} button[type="submit"]`);
    await waitForText(adminPage, `${sel(form)} .notice`, `Credited. Balance now ${eur(CREDIT_MINOR)}.`);

    await click(customerPage, sel('widget-start'));
    const chat = await visible(customerPage, sel('widget-chat'));
    taskId = (await chat.evaluate((e) => (e as unknown as { getAttribute(n: string): string | null }).getAttribute('data-task-id'))) ?? '';
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  let worker: WebWorker;
  await step('the offer arrives by push and is shown as a notification', async () => {
    const pushed = await pushService!.next(WAIT);
    expect(pushed.path).toBe(endpointPath);
    expect(pushed.headers['content-encoding']).toBe('aes128gcm');
    expect(pushed.headers.urgency).toBe('high');
    const { publicKey } = await http<{ publicKey: string }>(baseUrl, 'GET', '/api/push/vapid-public-key');
    await verifyVapid(pushed.headers.authorization, publicKey, pushService!.origin);
    const text = decryptAes128gcm(pushed.body, keys);
    expect(JSON.parse(text)).toMatchObject({ type: 'offer', taskId, channel: 'chat', queue: 'General questions', customerName: CUSTOMER_NAME, firstMessage: FIRST_MESSAGE });

    // The browser's push client hands the decrypted message to the app's service worker.
    worker = await serviceWorker();
    const registrationId = new Promise<string>((resolve) => {
      agentCdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> }) => {
        const r = e.registrations.find((x) => x.scopeURL === `${baseUrl}/agent/` && !x.isDeleted);
        if (r) resolve(r.registrationId);
      });
    });
    await agentCdp.send('ServiceWorker.enable');
    await agentCdp.send('ServiceWorker.deliverPushMessage', { origin: baseUrl, registrationId: await registrationId, data: text });
    const shown = await until('the notifications', () => notifications(worker), (ns) => ns.length > 0);
    expect(shown).toEqual([{ title: `New chat from ${CUSTOMER_NAME} in General questions`, body: FIRST_MESSAGE, tag: `offer:${taskId}`, actions: ['accept', 'open'] }]);
  });

  await step('Accept on the notification accepts the offer', async () => {
    // The worker's own notificationclick handler, with the notification it showed and the Accept action.
    await worker.evaluate(`self.registration.getNotifications().then((ns) => {
      const n = ns.find((x) => x.tag === ${JSON.stringify(`offer:${taskId}`)});
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'accept' }));
    })`);
    // The tap brings the app to the front (the handler's focus(), refused to an untrusted event).
    await otherTab!.close();
    otherTab = null;
    await agentPage.bringToFront();
    await agentPage.waitForSelector(sel('chat-pane', `[data-status="assigned"]:not([hidden])`), { timeout: WAIT });
    await customerPage.waitForSelector(sel('widget-status', '[data-state="assigned"]'), { timeout: WAIT });
    await waitForText(customerPage, sel('widget-status'), EXPERT.displayName);
    // The handler closed the notification.
    expect(await notifications(worker)).toEqual([]);
    expect(await axeViolations(agentPage)).toEqual([]);
    await art.shot(agentPage, '6-chat-accepted');
  });

  await step('messages both ways', async () => {
    await fill(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-input')}`, AGENT_REPLY);
    await click(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-send')}`);
    await waitForText(customerPage, `${sel('widget-messages')} [data-sender="agent"]`, AGENT_REPLY, { any: true });
    await fill(customerPage, sel('widget-input'), CUSTOMER_REPLY);
    await click(customerPage, sel('widget-send'));
    await waitForText(agentPage, `${sel('chat-messages')} [data-sender="customer"]`, CUSTOMER_REPLY, { any: true });
    const bodies = (list: string) => `${sel(list)} ${sel('message', ':not([data-sender="system"])')} ${sel('message-body')}`;
    expect(await texts(agentPage, bodies('chat-messages'))).toEqual([FIRST_MESSAGE, AGENT_REPLY, CUSTOMER_REPLY]);
    expect(await texts(customerPage, bodies('widget-messages'))).toEqual([FIRST_MESSAGE, AGENT_REPLY, CUSTOMER_REPLY]);
    await art.shot(agentPage, '7-chat');
    await art.shot(customerPage, '8-widget-chat');
  });

  await step('the agent ends the chat and wraps up', async () => {
    await click(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-end')}`);
    await visible(agentPage, sel('wrapup-form'));
    await fill(agentPage, sel('wrapup-code'), 'advice-given');
    await fill(agentPage, sel('wrapup-notes'), 'Explained the tax-free bonus limit.');
    await click(agentPage, sel('wrapup-done'));
    await agentPage.waitForSelector(sel('agent-no-chats'), { timeout: WAIT });
    await customerPage.waitForSelector(sel('widget-status', '[data-state="ended"]'), { timeout: WAIT });
  });

  await step('the earnings card shows the session', async () => {
    await waitForText(agentPage, sel('agent-earnings-share'), eur(AGENT_SHARE_MINOR));
    const terms = await agentPage.$$eval(`${sel('agent-earnings-EUR')} dt, ${sel('agent-earnings-EUR')} dd`, (els) => els.map((e) => (e.textContent ?? '').trim()));
    expect(terms).toEqual([
      'Paid sessions',
      '1',
      'Billed time',
      `${Math.floor(BILLED_SECONDS / 60)} min ${BILLED_SECONDS % 60} s`,
      'Customers paid',
      eur(AMOUNT_MINOR),
      'Your share',
      eur(AGENT_SHARE_MINOR),
    ]);
    expect(await textOf(agentPage, sel('agent-payable'))).toContain(eur(AGENT_SHARE_MINOR));
    // The history lists this session, by the charging session the admin's records name for the task.
    const { records } = await http<{ records: Array<{ taskId: string; sessionId: string; amountMinor: number | null }> }>(baseUrl, 'GET', '/api/admin/cdrs?format=json', undefined, adminToken);
    const cdr = records.find((r) => r.taskId === taskId);
    expect(cdr?.amountMinor).toBe(AMOUNT_MINOR);
    const lines = await agentPage.$$eval(`${sel('agent-earnings-history')} ${sel('agent-history-line')}`, (els) =>
      els.map((e) => ({
        kind: e.getAttribute('data-kind'),
        session: e.getAttribute('data-session-id'),
        amount: (e.querySelector('[data-testid="agent-history-amount"]')?.textContent ?? '').trim(),
      })),
    );
    expect(lines).toEqual([{ kind: 'charge', session: cdr!.sessionId, amount: `+${eur(AGENT_SHARE_MINOR)}` }]);
    expect(await horizontalOverflow(agentPage)).toBeLessThanOrEqual(0);
    expect(await axeViolations(agentPage)).toEqual([]);
    await art.shot(agentPage, '9-earnings', sel('agent-earnings'));
  });
  expect(pageErrors).toEqual([]);
}, TEST_TIMEOUT);
