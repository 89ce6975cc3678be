// End to end: a real mccs in this process, the built web client, and headless Chromium.
// An admin prepares an agent through the HTTP API; the agent signs in through the workspace and goes
// Ready; a customer starts a chat in the widget; the agent accepts the offer; both exchange messages;
// the agent ends the chat and wraps up; the customer sees the end. Then the server restarts on the same
// data folder and a reload of the widget shows the stored conversation again. Last, the admin console
// creates a queue that the widget then offers as a topic.
//
// Needs Chromium at /usr/bin/chromium (Debian package `chromium`); MCCS_E2E_CHROMIUM overrides the path.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects e2e
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import {
  acceptOffer,
  ADMIN_EMAIL,
  ADMIN_FIRST_PASSWORD,
  artifacts,
  baseUrlOf,
  click,
  collectPageErrors,
  e2eFolders,
  fill,
  goReady,
  http as httpTo,
  launchChromium,
  openWidget,
  sel,
  signInAdmin,
  signInAgent,
  startE2eServer,
  startWidgetChat,
  stepper,
  teardown,
  texts,
  waitForText as waitForTextIn,
  WAIT,
  type E2eFolders,
  type LoginReply,
} from '../support/e2e.js';

// The functions given to waitForFunction run in the page; this names the little of the DOM they use
// without adding the DOM library to the server's type check.
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};

const ADMIN_PASSWORD = 'admin-pass-456-changed';
const AGENT = { email: 'alice.agent@example.com', displayName: 'Alice Agent', password: 'agent-pass-123' };
const CUSTOMER_NAME = 'Carol Customer';
const FIRST_MESSAGE = 'Hello, I have a general question about my order.';
const AGENT_REPLY = 'Hi Carol, Alice here. How can I help?';
const CUSTOMER_REPLY = 'Where can I see my delivery date?';

/** Per test: several browser round trips, each waited for up to WAIT. */
const TEST_TIMEOUT = 90_000;

const art = artifacts('chat');
let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let baseUrl: string;
let port: number;
let browser: Browser | null = null;
let customerContext: BrowserContext;
let agentPage: Page;
let customerPage: Page;
const pageErrors: string[] = [];

/** On the given port (0: any), with the public URL the restart keeps. */
function start(httpPort: number): Promise<Mccs> {
  return startE2eServer(folders!, {
    MCCS_HTTP_PORT: String(httpPort),
    MCCS_PUBLIC_URL: httpPort ? `http://127.0.0.1:${httpPort}` : undefined,
  });
}

const http = <T>(method: 'GET' | 'POST', route: string, body?: unknown, token?: string): Promise<T> => httpTo<T>(baseUrl, method, route, body, token);

/** Waits until some element matching `selector` contains `text`. */
const waitForText = (page: Page, selector: string, text: string): Promise<void> => waitForTextIn(page, selector, text, { any: true });

/** The bodies of the customer's and the agent's messages in a message list (system notes left out). */
function conversation(listTestId: string): string {
  return `${sel(listTestId)} ${sel('message', ':not([data-sender="system"])')} ${sel('message-body')}`;
}

const step = stepper({
  artifacts: art,
  pages: () => [
    ['agent', agentPage],
    ['customer', customerPage],
  ],
  pageErrors,
});

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-');
  mccs = await start(0);
  baseUrl = baseUrlOf(mccs);
  port = Number(new URL(baseUrl).port);

  browser = await launchChromium(folders);
  agentPage = await browser.newPage();
  customerContext = await browser.createBrowserContext();
  customerPage = await customerContext.newPage();
  for (const page of [agentPage, customerPage]) await page.setViewport({ width: 420, height: 860 });
  collectPageErrors(
    [
      ['agent', agentPage],
      ['customer', customerPage],
    ],
    pageErrors,
  );
}, 120_000);

afterAll(async () => {
  await teardown({ browser, mccs, root: folders?.root });
}, 60_000);

describe('chat from the widget to an agent and back', () => {
  test('the admin changes the one-time password and creates an agent (HTTP API)', async () => {
    const first = await http<LoginReply>('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_FIRST_PASSWORD });
    expect(first.account.role).toBe('admin');
    expect(first.account.mustChangePassword).toBe(true);
    await http('POST', '/api/auth/password', { currentPassword: ADMIN_FIRST_PASSWORD, newPassword: ADMIN_PASSWORD }, first.token);
    const admin = await http<LoginReply>('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(admin.account.mustChangePassword).toBe(false);

    const created = await http<{ email: string; role: string; chatCapacity: number }>(
      'POST',
      '/api/admin/accounts',
      { ...AGENT, role: 'agent', chatCapacity: 2 },
      admin.token,
    );
    expect(created).toMatchObject({ email: AGENT.email, role: 'agent', chatCapacity: 2 });

    const queues = await http<Array<{ id: string; name: string }>>('GET', '/api/queues');
    expect(queues.map((q) => q.id)).toEqual(expect.arrayContaining(['general', 'billing', 'technical']));
  }, TEST_TIMEOUT);

  test('the agent signs in through the workspace and goes Ready', async () => {
    await step('agent sign-in', async () => {
      await signInAgent(agentPage, baseUrl, AGENT);
      await goReady(agentPage);
      expect(await agentPage.$eval(sel('agent-load'), (e) => e.textContent)).toContain('/ 2');
    });
  }, TEST_TIMEOUT);

  test('the customer starts a chat on the general topic and the agent accepts the offer', async () => {
    await step('customer start', async () => {
      await openWidget(customerPage, baseUrl, CUSTOMER_NAME);
      await startWidgetChat(customerPage, 'general', FIRST_MESSAGE);
      await customerPage.waitForSelector(sel('widget-chat'), { timeout: WAIT });
      await waitForText(customerPage, `${sel('widget-messages')} [data-sender="customer"]`, FIRST_MESSAGE);
    });

    await step('agent offer', async () => {
      const offer = await agentPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
      expect(await offer!.$eval(sel('offer-first-message'), (e) => e.textContent)).toBe(FIRST_MESSAGE);
      expect(await offer!.$eval(sel('offer-customer'), (e) => e.textContent)).toContain(CUSTOMER_NAME);
      expect(await offer!.$eval(sel('offer-queue'), (e) => e.textContent)).toBe('General questions');
      await acceptOffer(agentPage);
      await waitForText(agentPage, `${sel('chat-messages')} [data-sender="customer"]`, FIRST_MESSAGE);
      await agentPage.waitForFunction(() => document.querySelectorAll('[data-testid="offer-card"]').length === 0, {
        timeout: WAIT,
      });
    });

    await step('customer sees the agent', async () => {
      await customerPage.waitForSelector(sel('widget-status', '[data-state="assigned"]'), { timeout: WAIT });
      await waitForText(customerPage, sel('widget-status'), AGENT.displayName);
    });
  }, TEST_TIMEOUT);

  test('agent and customer exchange messages and each sees the other', async () => {
    await step('agent writes', async () => {
      await fill(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-input')}`, AGENT_REPLY);
      await click(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-send')}`);
      await waitForText(agentPage, `${sel('chat-messages')} [data-sender="agent"]`, AGENT_REPLY);
      await waitForText(customerPage, `${sel('widget-messages')} [data-sender="agent"]`, AGENT_REPLY);
    });

    await step('customer writes', async () => {
      await fill(customerPage, sel('widget-input'), CUSTOMER_REPLY);
      await click(customerPage, sel('widget-send'));
      await waitForText(customerPage, `${sel('widget-messages')} [data-sender="customer"]`, CUSTOMER_REPLY);
      await waitForText(agentPage, `${sel('chat-messages')} [data-sender="customer"]`, CUSTOMER_REPLY);
      // Each message is shown once, whether it arrives by acknowledgement, by event, or both, in order.
      expect(await texts(customerPage, conversation('widget-messages'))).toEqual([
        FIRST_MESSAGE,
        AGENT_REPLY,
        CUSTOMER_REPLY,
      ]);
      expect(await texts(agentPage, conversation('chat-messages'))).toEqual([
        FIRST_MESSAGE,
        AGENT_REPLY,
        CUSTOMER_REPLY,
      ]);
    });
  }, TEST_TIMEOUT);

  test('the agent ends the chat and wraps up; the customer sees the chat ended', async () => {
    await step('end and wrap-up', async () => {
      await click(agentPage, `${sel('chat-pane')}:not([hidden]) ${sel('chat-end')}`);
      await agentPage.waitForSelector(sel('wrapup-form'), { visible: true, timeout: WAIT });
      await fill(agentPage, sel('wrapup-code'), 'resolved');
      await fill(agentPage, sel('wrapup-notes'), 'Pointed the customer to the order page.');
      await click(agentPage, sel('wrapup-done'));
      await agentPage.waitForSelector(sel('agent-no-chats'), { timeout: WAIT });
    });

    await step('customer sees the end', async () => {
      await customerPage.waitForSelector(sel('widget-ended'), { visible: true, timeout: WAIT });
      await customerPage.waitForSelector(sel('widget-status', '[data-state="ended"]'), { timeout: WAIT });
      expect(await customerPage.$(sel('widget-input'))).toBeNull();
      await customerPage.waitForSelector(sel('widget-new-chat'), { visible: true, timeout: WAIT });
    });
  }, TEST_TIMEOUT);

  test('after a server restart on the same data folder, a reload shows the stored conversation', async () => {
    await step('restart', async () => {
      await mccs!.close();
      mccs = null;
      mccs = await start(port);

      await customerPage.reload({ waitUntil: 'domcontentloaded' });
      await customerPage.waitForSelector(sel('widget-chat'), { timeout: WAIT });
      await waitForText(customerPage, `${sel('widget-messages')} [data-sender="agent"]`, AGENT_REPLY);
      expect(await texts(customerPage, conversation('widget-messages'))).toEqual([
        FIRST_MESSAGE,
        AGENT_REPLY,
        CUSTOMER_REPLY,
      ]);
      await customerPage.waitForSelector(sel('widget-ended'), { visible: true, timeout: WAIT });

      // The agent's session token is still valid against the restarted server: the workspace comes back.
      await agentPage.reload({ waitUntil: 'domcontentloaded' });
      await agentPage.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
      await agentPage.waitForSelector(sel('agent-no-chats'), { timeout: WAIT });
    });
  }, TEST_TIMEOUT);

  test('the admin console lists queues and accounts, and a queue it creates becomes a widget topic', async () => {
    await step('admin console', async () => {
      const adminPage = await browser!.newPage();
      adminPage.on('pageerror', (err) => pageErrors.push(`admin: ${err instanceof Error ? err.message : String(err)}`));
      await signInAdmin(adminPage, baseUrl, ADMIN_PASSWORD);
      await adminPage.waitForSelector(sel('admin-queue-row', '[data-queue-id="general"]'), { timeout: WAIT });
      await adminPage.waitForSelector(sel('admin-account-row', `[data-account-email="${AGENT.email}"]`), { timeout: WAIT });

      await fill(adminPage, sel('admin-queue-id'), 'returns');
      await fill(adminPage, sel('admin-queue-name'), 'Returns');
      await fill(adminPage, sel('admin-queue-description'), 'Sending an order back');
      await click(adminPage, sel('admin-queue-submit'));
      await adminPage.waitForSelector(sel('admin-queue-created'), { timeout: WAIT });
      await adminPage.waitForSelector(sel('admin-queue-row', '[data-queue-id="returns"]'), { timeout: WAIT });
      await adminPage.close();

      // The customer's ended chat offers a new one, whose topic list now has the new queue.
      await click(customerPage, sel('widget-new-chat'));
      await customerPage.waitForSelector(sel('widget-topic-returns'), { timeout: WAIT });
      expect(await customerPage.$eval(sel('widget-name'), (e) => (e as unknown as { value: string }).value)).toBe(CUSTOMER_NAME);
    });
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT);
});
