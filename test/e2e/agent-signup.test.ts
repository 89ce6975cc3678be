// End to end on a phone-sized screen (390×844): someone signs up as an expert in the agent app and
// lands in the workspace "awaiting verification" (Ready is refused); an admin approves them in the
// admin page; the agent goes Ready; a widget customer's chat is offered and accepted. Screenshots go to
// MCCS_E2E_ARTIFACTS (default /tmp/test-artifacts/mccs-e2e-signup/); axe-core finds no serious or
// critical violations on the sign-up and workspace screens.
//
// Needs Chromium at /usr/bin/chromium (MCCS_E2E_CHROMIUM overrides) and builds the web client.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { startMccs, type Mccs } from '../../app.js';

declare const document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; disabled?: boolean }> };

const CHROMIUM = process.env.MCCS_E2E_CHROMIUM ?? '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = process.env.MCCS_E2E_ARTIFACTS ?? '/tmp/test-artifacts/mccs-e2e-signup';
const WAIT = 15_000;
const ADMIN_EMAIL = 'admin@mccs.local';
const ADMIN_PASSWORD = 'admin-pass-123-e2e';
const EXPERT = {
  email: 'erin.expert@example.com',
  password: 'expert-pass-123',
  displayName: 'Erin',
  legalName: 'Erin Q. Expert',
  skills: 'tax:8, vat:6',
  languages: 'en, fr',
  bio: 'Chartered accountant, fifteen years of small-business tax.',
};
const FIRST_MESSAGE = 'Can I deduct my home office?';

let root: string;
let mccs: Mccs | null = null;
let baseUrl: string;
let browser: Browser | null = null;
let agentPage: Page;
let adminPage: Page;
let customerPage: Page;
const pageErrors: string[] = [];

const sel = (testId: string, extra = '') => `[data-testid="${testId}"]${extra}`;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function fill(page: Page, selector: string, value: string): Promise<void> {
  const el = await page.waitForSelector(selector, { visible: true, timeout: WAIT });
  await el!.click({ count: 3 });
  await page.keyboard.press('Backspace');
  await el!.type(value);
}

async function click(page: Page, selector: string): Promise<void> {
  const el = await page.waitForSelector(selector, { visible: true, timeout: WAIT });
  await page.waitForFunction((s: string) => !document.querySelectorAll(s)[0]?.disabled, { timeout: WAIT }, selector);
  await el!.click();
}

async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; help: string; targets: string[] }>> {
  await page.addScriptTag({ path: path.join(REPO, 'node_modules/axe-core/axe.min.js') });
  const all = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))`,
  )) as Array<{ id: string; impact: string; help: string; targets: string[] }>;
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    for (const [who, page] of [
      ['agent', agentPage],
      ['admin', adminPage],
      ['customer', customerPage],
    ] as const) {
      if (page && !page.isClosed()) await shot(page, `failed-${name.replace(/\W+/g, '-')}-${who}`).catch(() => undefined);
    }
    const message = `step "${name}" failed (screenshots in ${ARTIFACTS})${pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : ''}\n${err instanceof Error ? err.message : String(err)}`;
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { message });
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}`);
  root = mkdtempSync(path.join(tmpdir(), 'mccs-e2e-signup-'));
  const dataDir = path.join(root, 'data');
  const webRoot = path.join(root, 'web');
  mkdirSync(dataDir);
  await promisify(execFile)(
    process.execPath,
    [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web-client/vite.config.ts', '--outDir', webRoot, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: REPO },
  );
  const config = loadConfig({
    MCCS_DATA_DIR: dataDir,
    MCCS_HTTP_PORT: '0',
    MCCS_HTTP_HOST: '127.0.0.1',
    MCCS_WEB_ROOT: webRoot,
    MCCS_JANUS: 'off',
    MCCS_MANAGER: 'off',
    MCCS_ADMIN_INITIAL_PASSWORD: 'admin-first-pass-1',
    MCCS_PUBLIC_RATE_LIMIT: '10000',
    MCCS_LOG_LEVEL: 'warn',
  });
  mccs = await startMccs(config, createLogger(config));
  baseUrl = mccs.url.replace(/\/$/, '');
  // The admin's one-time password, changed through the API (the console test covers that screen).
  const first = (await (await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: 'admin-first-pass-1' }) })).json()) as { token: string };
  const changed = await fetch(`${baseUrl}/api/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${first.token}` },
    body: JSON.stringify({ currentPassword: 'admin-first-pass-1', newPassword: ADMIN_PASSWORD }),
  });
  if (changed.status !== 204) throw new Error(`admin password change failed: ${changed.status}`);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(path.join(root, 'chrome-')),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
  agentPage = await browser.newPage();
  adminPage = await (await browser.createBrowserContext()).newPage();
  customerPage = await (await browser.createBrowserContext()).newPage();
  await agentPage.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  await adminPage.setViewport({ width: 1200, height: 900 });
  await customerPage.setViewport({ width: 390, height: 844 });
  for (const [who, page] of [
    ['agent', agentPage],
    ['admin', adminPage],
    ['customer', customerPage],
  ] as const) {
    page.on('pageerror', (err) => pageErrors.push(`${who}: ${err instanceof Error ? err.message : String(err)}`));
  }
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await mccs?.close().catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

test('sign up on a phone → admin approves → Ready → a widget chat is offered and accepted', async () => {
  await step('sign up', async () => {
    await agentPage.goto(`${baseUrl}/agent/`, { waitUntil: 'domcontentloaded' });
    await click(agentPage, sel('agent-become-expert'));
    await agentPage.waitForSelector(sel('agent-signup-form'), { visible: true, timeout: WAIT });
    expect(await axeViolations(agentPage)).toEqual([]);
    await fill(agentPage, sel('signup-email'), EXPERT.email);
    await fill(agentPage, sel('signup-password'), EXPERT.password);
    await fill(agentPage, sel('signup-display-name'), EXPERT.displayName);
    await fill(agentPage, sel('signup-legal-name'), EXPERT.legalName);
    await fill(agentPage, sel('signup-skills'), EXPERT.skills);
    await fill(agentPage, sel('signup-languages'), EXPERT.languages);
    await fill(agentPage, sel('signup-bio'), EXPERT.bio);
    await fill(agentPage, sel('signup-time-zone'), 'Europe/Paris');
    await shot(agentPage, '1-signup-form');
    await click(agentPage, sel('signup-submit'));
  });

  await step('workspace awaiting verification', async () => {
    await agentPage.waitForSelector(sel('agent-workspace'), { timeout: WAIT });
    await agentPage.waitForSelector(sel('agent-verification-banner'), { visible: true, timeout: WAIT });
    await agentPage.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
    expect(await agentPage.$eval(sel('agent-status'), (e) => e.textContent)).toContain('awaiting verification');
    await click(agentPage, sel('agent-ready'));
    // Refused: the server says why, and the agent stays not ready.
    await agentPage.waitForFunction(
      () => Array.from(document.querySelectorAll('[data-testid="agent-notice"]')).some((n) => (n.textContent ?? '').includes('awaiting verification')),
      { timeout: WAIT },
    );
    expect(await agentPage.$eval(sel('agent-status'), (e) => e.getAttribute('data-state'))).toBe('not_ready');
    expect(await agentPage.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    expect(await axeViolations(agentPage)).toEqual([]);
    await shot(agentPage, '2-workspace-awaiting-verification');
  });

  await step('admin approves', async () => {
    await adminPage.goto(`${baseUrl}/admin/`, { waitUntil: 'domcontentloaded' });
    await fill(adminPage, sel('admin-login-email'), ADMIN_EMAIL);
    await fill(adminPage, sel('admin-login-password'), ADMIN_PASSWORD);
    await click(adminPage, sel('admin-login-submit'));
    const row = `${sel('admin-agent-row')}[data-verification="pending"]`;
    await adminPage.waitForSelector(row, { timeout: WAIT });
    await click(adminPage, `${row} ${sel('admin-agent-open')}`);
    await adminPage.waitForSelector(sel('admin-agent-trust'), { timeout: WAIT });
    expect(await adminPage.$eval(sel('admin-agent-legal-name'), (e) => e.textContent)).toBe(EXPERT.legalName);
    await fill(adminPage, sel('admin-agent-reason'), 'Identity and diploma checked');
    await shot(adminPage, '3-admin-review');
    await click(adminPage, sel('admin-agent-approve'));
    await adminPage.waitForSelector(`${sel('admin-agent-row')}[data-verification="verified"]`, { timeout: WAIT });
    await shot(adminPage, '4-admin-approved');
  });

  await step('agent goes ready', async () => {
    await click(agentPage, sel('agent-ready'));
    await agentPage.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });
    await shot(agentPage, '5-workspace-ready');
  });

  await step('customer chat offered and accepted', async () => {
    await customerPage.goto(`${baseUrl}/widget/`, { waitUntil: 'domcontentloaded' });
    await fill(customerPage, sel('widget-name'), 'Carol');
    await click(customerPage, sel('widget-topic-general'));
    await fill(customerPage, sel('widget-first-message'), FIRST_MESSAGE);
    await click(customerPage, sel('widget-start'));
    const offer = await agentPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
    expect(await offer!.$eval(sel('offer-first-message'), (e) => e.textContent)).toBe(FIRST_MESSAGE);
    await shot(agentPage, '6-offer');
    await click(agentPage, sel('offer-accept'));
    await agentPage.waitForSelector(sel('chat-pane', '[data-status="assigned"]:not([hidden])'), { timeout: WAIT });
    await customerPage.waitForSelector(sel('widget-status', '[data-state="assigned"]'), { timeout: WAIT });
    expect(await customerPage.$eval(sel('widget-status'), (e) => e.textContent)).toContain(EXPERT.displayName);
    expect(await axeViolations(agentPage)).toEqual([]);
    await shot(agentPage, '7-chat-accepted');
  });
  expect(pageErrors).toEqual([]);
}, 180_000);
