// End to end: a real mccs in this process, the built web client, and headless Chromium.
// An admin prepares an agent through the HTTP API; the agent signs in through the workspace and goes
// Ready; a customer starts a chat in the widget; the agent accepts the offer; both exchange messages;
// the agent ends the chat and wraps up; the customer sees the end. Then the server restarts on the same
// data folder and a reload of the widget shows the stored conversation again. Last, the admin console
// creates a queue that the widget then offers as a topic.
//
// Needs Chromium at /usr/bin/chromium (Debian package `chromium`); MCCS_E2E_CHROMIUM overrides the path.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects e2e
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { startMccs, type Mccs } from '../../app.js';

// The functions given to waitForFunction run in the page; this names the little of the DOM they use
// without adding the DOM library to the server's type check.
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};

const CHROMIUM = process.env.MCCS_E2E_CHROMIUM ?? '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WAIT = 15_000;

const ADMIN_EMAIL = 'admin@mccs.local';
const ADMIN_FIRST_PASSWORD = 'admin-pass-123';
const ADMIN_PASSWORD = 'admin-pass-456-changed';
const AGENT = { email: 'alice.agent@example.com', displayName: 'Alice Agent', password: 'agent-pass-123' };
const CUSTOMER_NAME = 'Carol Customer';
const FIRST_MESSAGE = 'Hello, I have a general question about my order.';
const AGENT_REPLY = 'Hi Carol, Alice here. How can I help?';
const CUSTOMER_REPLY = 'Where can I see my delivery date?';

/** Per test: several browser round trips, each waited for up to WAIT. */
const TEST_TIMEOUT = 90_000;

let root: string;
let dataDir: string;
let webRoot: string;
let mccs: Mccs | null = null;
let baseUrl: string;
let port: number;
let browser: Browser | null = null;
let customerContext: BrowserContext;
let agentPage: Page;
let customerPage: Page;
const pageErrors: string[] = [];

async function start(httpPort: number): Promise<Mccs> {
  const config = loadConfig({
    MCCS_DATA_DIR: dataDir,
    MCCS_HTTP_PORT: String(httpPort),
    MCCS_HTTP_HOST: '127.0.0.1',
    MCCS_PUBLIC_URL: httpPort ? `http://127.0.0.1:${httpPort}` : undefined,
    MCCS_WEB_ROOT: webRoot,
    MCCS_JANUS: 'off',
    MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
    MCCS_PUBLIC_RATE_LIMIT: '10000',
    MCCS_LOG_LEVEL: 'warn',
  });
  return startMccs(config, createLogger(config));
}

/** JSON request to the server's HTTP API; throws with the server's error body on 4xx/5xx. */
async function http<T>(method: 'GET' | 'POST', route: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(baseUrl + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

interface LoginReply {
  token: string;
  account: { role: string; mustChangePassword: boolean; displayName: string };
}

function sel(testId: string, extra = ''): string {
  return `[data-testid="${testId}"]${extra}`;
}

/** Waits until some element matching `selector` contains `text`. */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    (s: string, t: string) => Array.from(document.querySelectorAll(s)).some((e) => (e.textContent ?? '').includes(t)),
    { timeout: WAIT },
    selector,
    text,
  );
}

/** The bodies of the customer's and the agent's messages in a message list (system notes left out). */
function conversation(listTestId: string): string {
  return `${sel(listTestId)} ${sel('message', ':not([data-sender="system"])')} ${sel('message-body')}`;
}

async function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** Types into a field and waits until the field holds the text (so the app's state has it too). */
async function fill(page: Page, selector: string, value: string): Promise<void> {
  const el = await page.waitForSelector(selector, { visible: true, timeout: WAIT });
  await el!.click({ count: 3 });
  await el!.type(value);
}

async function click(page: Page, selector: string): Promise<void> {
  const el = await page.waitForSelector(selector, { visible: true, timeout: WAIT });
  await page.waitForFunction(
    (s: string) => {
      const e = document.querySelectorAll(s)[0] as unknown as { disabled?: boolean } | undefined;
      return !!e && !e.disabled;
    },
    { timeout: WAIT },
    selector,
  );
  await el!.click();
}

/** On failure, keeps screenshots of both pages to look at, and names them in the error. */
async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const shots: string[] = [];
    const dir = path.join(tmpdir(), 'mccs-e2e-failures');
    mkdirSync(dir, { recursive: true });
    for (const [who, page] of [
      ['agent', agentPage],
      ['customer', customerPage],
    ] as const) {
      if (!page || page.isClosed()) continue;
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}-${who}.png`);
      await page.screenshot({ path: file, fullPage: true }).then(
        () => shots.push(file),
        () => undefined,
      );
    }
    const detail = [`step "${name}" failed`, shots.length ? `screenshots: ${shots.join(', ')}` : '', pageErrors.length ? `page errors: ${pageErrors.join(' | ')}` : '']
      .filter(Boolean)
      .join('\n');
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
      message: `${detail}\n${err instanceof Error ? err.message : String(err)}`,
    });
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (install the Debian package "chromium" or set MCCS_E2E_CHROMIUM)`);
  root = mkdtempSync(path.join(tmpdir(), 'mccs-e2e-'));
  dataDir = path.join(root, 'data');
  webRoot = path.join(root, 'web');
  mkdirSync(dataDir);

  // The web client as the server will serve it, built into this run's own folder.
  await promisify(execFile)(
    process.execPath,
    [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web-client/vite.config.ts', '--outDir', webRoot, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: REPO },
  );

  mccs = await start(0);
  baseUrl = mccs.url.replace(/\/$/, '');
  port = Number(new URL(baseUrl).port);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(path.join(root, 'chrome-')),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
  agentPage = await browser.newPage();
  customerContext = await browser.createBrowserContext();
  customerPage = await customerContext.newPage();
  for (const [who, page] of [
    ['agent', agentPage],
    ['customer', customerPage],
  ] as const) {
    await page.setViewport({ width: 420, height: 860 });
    page.on('pageerror', (err) => pageErrors.push(`${who}: ${err instanceof Error ? err.message : String(err)}`));
  }
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await mccs?.close().catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
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
      await agentPage.goto(`${baseUrl}/agent/`, { waitUntil: 'domcontentloaded' });
      await fill(agentPage, sel('agent-login-email'), AGENT.email);
      await fill(agentPage, sel('agent-login-password'), AGENT.password);
      await click(agentPage, sel('agent-login-submit'));
      await agentPage.waitForSelector(sel('agent-workspace'), { timeout: WAIT });
      // `hello` has arrived once the status shows a presence state.
      await agentPage.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
      await click(agentPage, sel('agent-ready'));
      await agentPage.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });
      expect(await agentPage.$eval(sel('agent-load'), (e) => e.textContent)).toContain('/ 2');
    });
  }, TEST_TIMEOUT);

  test('the customer starts a chat on the general topic and the agent accepts the offer', async () => {
    await step('customer start', async () => {
      await customerPage.goto(`${baseUrl}/widget/`, { waitUntil: 'domcontentloaded' });
      await fill(customerPage, sel('widget-name'), CUSTOMER_NAME);
      await click(customerPage, sel('widget-topic-general'));
      await fill(customerPage, sel('widget-first-message'), FIRST_MESSAGE);
      await click(customerPage, sel('widget-start'));
      await customerPage.waitForSelector(sel('widget-chat'), { timeout: WAIT });
      await waitForText(customerPage, `${sel('widget-messages')} [data-sender="customer"]`, FIRST_MESSAGE);
    });

    await step('agent offer', async () => {
      const offer = await agentPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
      expect(await offer!.$eval(sel('offer-first-message'), (e) => e.textContent)).toBe(FIRST_MESSAGE);
      expect(await offer!.$eval(sel('offer-customer'), (e) => e.textContent)).toContain(CUSTOMER_NAME);
      expect(await offer!.$eval(sel('offer-queue'), (e) => e.textContent)).toBe('General questions');
      await click(agentPage, sel('offer-accept'));
      await agentPage.waitForSelector(sel('chat-pane', '[data-status="assigned"]:not([hidden])'), { timeout: WAIT });
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
      await adminPage.goto(`${baseUrl}/admin/`, { waitUntil: 'domcontentloaded' });
      await fill(adminPage, sel('admin-login-email'), ADMIN_EMAIL);
      await fill(adminPage, sel('admin-login-password'), ADMIN_PASSWORD);
      await click(adminPage, sel('admin-login-submit'));
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
