// What the browser end-to-end tests (test/e2e/) share: a scratch folder with the web client built into
// it, a real mccs in this process on that folder, headless Chromium with the project's flags, the
// admin's first sign-in, and the page helpers (type, click, wait for text, screenshots into the test's
// artefacts folder, axe-core, a named step that keeps screenshots of every page when it fails).
//
// Needs Chromium at /usr/bin/chromium (Debian package `chromium`); MCCS_E2E_CHROMIUM overrides the path.
// Screenshots go to <os tmpdir>/test-artifacts/mccs-e2e-<name> (MCCS_E2E_ARTIFACTS overrides).
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

export const CHROMIUM = process.env.MCCS_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The longest any single wait for the page may take. */
export const WAIT = 15_000;
/** A phone (an iPhone 12–15's CSS size), with touch. */
export const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } as const;
export const ADMIN_EMAIL = 'admin@mccs.local';
/** The first admin's one-time password in these tests (MCCS_ADMIN_INITIAL_PASSWORD). */
export const ADMIN_FIRST_PASSWORD = 'admin-pass-123';

/** Chromium flags of every e2e browser: no sandbox (root in CI), nothing that phones home or needs a GPU. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'];

/** An element on a page (the server's type check has no DOM library). */
export type Handle = NonNullable<Awaited<ReturnType<Page['$']>>>;

export const sel = (testId: string, extra = ''): string => `[data-testid="${testId}"]${extra}`;

// ---- folders, server, browser --------------------------------------------------------------------

export interface E2eFolders {
  /** Removed by teardown(). */
  root: string;
  dataDir: string;
  /** The built web client the server serves. */
  webRoot: string;
}

/**
 * A scratch folder with an empty data folder and the web client built into it: each run sees the
 * current sources, and a concurrent `npm run build` cannot empty it mid-run.
 */
export async function e2eFolders(prefix: string): Promise<E2eFolders> {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  const dataDir = path.join(root, 'data');
  const webRoot = path.join(root, 'web');
  mkdirSync(dataDir);
  await promisify(execFile)(
    process.execPath,
    [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web-client/vite.config.ts', '--outDir', webRoot, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: REPO },
  );
  return { root, dataDir, webRoot };
}

/**
 * mccs on the folders, on 127.0.0.1 (`MCCS_HTTP_PORT` 0: any free port), without Janus, with a public
 * rate limit no test reaches. `env` adds to or overrides these (undefined leaves a setting out).
 */
export async function startE2eServer(folders: E2eFolders, env: Record<string, string | undefined> = {}): Promise<Mccs> {
  const config = loadConfig({
    MCCS_DATA_DIR: folders.dataDir,
    MCCS_HTTP_PORT: '0',
    MCCS_HTTP_HOST: '127.0.0.1',
    MCCS_WEB_ROOT: folders.webRoot,
    MCCS_JANUS: 'off',
    MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
    MCCS_PUBLIC_RATE_LIMIT: '10000',
    MCCS_LOG_LEVEL: 'warn',
    ...env,
  });
  return startMccs(config, createLogger(config));
}

/** The server's address without the trailing slash, as routes are appended to it. */
export const baseUrlOf = (mccs: Mccs): string => mccs.url.replace(/\/$/, '');

/** Headless Chromium with its profile in the scratch folder. */
export async function launchChromium(folders: Pick<E2eFolders, 'root'>, opts: { protocolTimeout?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (install the Debian package "chromium" or set MCCS_E2E_CHROMIUM)`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    ...(opts.protocolTimeout ? { protocolTimeout: opts.protocolTimeout } : {}),
    userDataDir: mkdtempSync(path.join(folders.root, 'chrome-')),
    args: CHROMIUM_ARGS,
  });
}

/** Closes what was started, in reverse order, and removes the scratch folder; each part may be missing. */
export async function teardown(parts: { browser?: Browser | null; mccs?: Mccs | null; root?: string; also?: Array<() => Promise<unknown>> }): Promise<void> {
  await parts.browser?.close().catch(() => undefined);
  await parts.mccs?.close().catch(() => undefined);
  for (const close of parts.also ?? []) await close().catch(() => undefined);
  if (parts.root) rmSync(parts.root, { recursive: true, force: true });
}

// ---- HTTP API ----------------------------------------------------------------------------------

/** JSON request to the server's HTTP API; throws with the server's error body on 4xx/5xx. */
export async function http<T>(base: string, method: string, route: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface LoginReply {
  token: string;
  account: { role: string; mustChangePassword: boolean; displayName: string };
}

/** The first admin replaces the one-time password (over HTTP; the admin page's own form is not the subject) and signs in again. */
export async function changeAdminPassword(base: string, newPassword: string, firstPassword = ADMIN_FIRST_PASSWORD): Promise<string> {
  const first = await http<LoginReply>(base, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: firstPassword });
  await http(base, 'POST', '/api/auth/password', { currentPassword: firstPassword, newPassword }, first.token);
  return (await http<LoginReply>(base, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: newPassword })).token;
}

// ---- pages -------------------------------------------------------------------------------------

/** Keeps every uncaught error of the pages, named by who, for the test to assert or print. */
export function collectPageErrors(pages: ReadonlyArray<readonly [string, Page]>, into: string[]): void {
  for (const [who, page] of pages) page.on('pageerror', (err) => into.push(`${who}: ${err instanceof Error ? err.message : String(err)}`));
}

export async function visible(page: Page, selector: string, timeout = WAIT): Promise<Handle> {
  const el = await page.waitForSelector(selector, { visible: true, timeout });
  if (!el) throw new Error(`${selector} not found`);
  return el;
}

export async function isDisabled(el: Handle): Promise<boolean> {
  return el.evaluate((e) => !!(e as unknown as { disabled?: boolean }).disabled);
}

/** Replaces a field's value by typing, as a user does, and checks the field holds it. */
export async function fill(page: Page, selector: string, value: string): Promise<void> {
  const el = await visible(page, selector);
  await el.click({ count: 3 });
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await el.type(value);
  const now = await el.evaluate((e) => (e as unknown as { value: string }).value);
  if (now !== value) throw new Error(`${selector} holds "${now}" instead of "${value}"`);
}

/** Clicks once the control is visible and enabled. */
export async function click(page: Page, selector: string): Promise<void> {
  const el = await visible(page, selector);
  const deadline = Date.now() + WAIT;
  while (await isDisabled(el)) {
    if (Date.now() > deadline) throw new Error(`${selector} stayed disabled`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await el.click();
}

/** The visible element's text, spaces collapsed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return (await visible(page, selector)).evaluate((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim());
}

/** The trimmed texts of every element matching `selector`. */
export async function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** Waits until the first element matching `selector` (with `any`: some element) contains `text`. */
export async function waitForText(page: Page, selector: string, text: string, opts: { any?: boolean; timeout?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeout ?? WAIT);
  for (;;) {
    const found = await page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()));
    const seen = opts.any ? found : found.slice(0, 1);
    if (seen.some((t) => t.includes(text))) return;
    if (Date.now() > deadline) throw new Error(`${selector} never contained "${text}"; saw: ${seen.length ? seen.map((t) => `"${t}"`).join(', ') : '(absent)'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Serious or critical axe-core violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: path.join(REPO, 'node_modules/axe-core/axe.min.js') });
  const all = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))`,
  )) as AxeViolation[];
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** How far the page is wider than the screen (≤ 0: no sideways scrolling). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
}

// ---- artefacts and steps -----------------------------------------------------------------------

export interface Artifacts {
  dir: string;
  /** Files saved so far. */
  saved: string[];
  /** A screenshot of the whole page, or of one element. */
  shot(page: Page, name: string, selector?: string): Promise<void>;
  /** Prints where the screenshots are (call from afterAll). */
  report(label: string): void;
}

/** The test's screenshot folder: <os tmpdir>/test-artifacts/mccs-e2e-<name>, or MCCS_E2E_ARTIFACTS. */
export function artifacts(name: string): Artifacts {
  const dir = process.env.MCCS_E2E_ARTIFACTS ?? path.join(tmpdir(), 'test-artifacts', `mccs-e2e-${name}`);
  mkdirSync(dir, { recursive: true });
  const saved: string[] = [];
  return {
    dir,
    saved,
    async shot(page, name, selector) {
      const file = path.join(dir, `${name}.png`);
      if (selector) await (await visible(page, selector)).screenshot({ path: file });
      else await page.screenshot({ path: file, fullPage: true });
      saved.push(file);
    },
    report(label) {
      if (saved.length) console.log(`${label} screenshots in ${dir}:\n  ${saved.map((f) => path.basename(f)).join('\n  ')}`);
    },
  };
}

/**
 * Runs a named part of a test; on failure keeps a screenshot of every open page in the artefacts
 * folder (failed-<step>-<who>.png) and names them, and the pages' errors, in the error.
 */
export function stepper(opts: { artifacts: Artifacts; pages: () => ReadonlyArray<readonly [string, Page | undefined | null]>; pageErrors: string[] }) {
  return async function step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const shots: string[] = [];
      for (const [who, page] of opts.pages()) {
        if (!page || page.isClosed() || page.url() === 'about:blank') continue;
        const file = path.join(opts.artifacts.dir, `failed-${name.replace(/\W+/g, '-')}-${who}.png`);
        // A page in a background tab may never paint: its screenshot is given a few seconds.
        const taken = page.screenshot({ path: file, fullPage: true }).then(() => true, () => false);
        if (await Promise.race([taken, new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref())])) shots.push(file);
      }
      const detail = [`step "${name}" failed`, shots.length ? `screenshots: ${shots.join(', ')}` : '', opts.pageErrors.length ? `page errors: ${opts.pageErrors.join(' | ')}` : '']
        .filter(Boolean)
        .join('\n');
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
        message: `${detail}\n${err instanceof Error ? err.message : String(err)}`,
      });
    }
  };
}

// ---- steps many tests take -----------------------------------------------------------------------

/** The first admin signs in to the admin console (with the password it was changed to). */
export async function signInAdmin(page: Page, base: string, password: string): Promise<void> {
  await page.goto(`${base}/admin/`, { waitUntil: 'domcontentloaded' });
  await fill(page, sel('admin-login-email'), ADMIN_EMAIL);
  await fill(page, sel('admin-login-password'), password);
  await click(page, sel('admin-login-submit'));
}

/** An agent signs in to the workspace; waits until `hello` has arrived (the status shows a presence state). */
export async function signInAgent(page: Page, base: string, who: { email: string; password: string }): Promise<void> {
  await page.goto(`${base}/agent/`, { waitUntil: 'domcontentloaded' });
  await fill(page, sel('agent-login-email'), who.email);
  await fill(page, sel('agent-login-password'), who.password);
  await click(page, sel('agent-login-submit'));
  await page.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
}

/** The agent goes Ready, and the server has agreed. */
export async function goReady(page: Page): Promise<void> {
  await click(page, sel('agent-ready'));
  await page.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });
}

/** The agent accepts the offer shown; its chat is open. */
export async function acceptOffer(page: Page): Promise<void> {
  await click(page, sel('offer-accept'));
  await page.waitForSelector(sel('chat-pane', '[data-status="assigned"]:not([hidden])'), { timeout: WAIT });
}

/** A customer opens the widget and gives their name. */
export async function openWidget(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}/widget/`, { waitUntil: 'domcontentloaded' });
  await fill(page, sel('widget-name'), name);
}

/** In the open widget, the customer picks a topic, writes the first message and starts the chat. */
export async function startWidgetChat(page: Page, topic: string, message: string): Promise<void> {
  await click(page, sel(`widget-topic-${topic}`));
  await fill(page, sel('widget-first-message'), message);
  await click(page, sel('widget-start'));
}

export interface ExpertSignUp {
  email: string;
  password: string;
  displayName: string;
  legalName: string;
  skills: string;
  languages: string;
  bio: string;
  timeZone: string;
  /** Cents per minute; the form's field is left alone without it. */
  price?: string;
}

/** Fills in the agent app's expert sign-up form (not submitted). */
export async function fillSignUp(page: Page, expert: ExpertSignUp): Promise<void> {
  await fill(page, sel('signup-email'), expert.email);
  await fill(page, sel('signup-password'), expert.password);
  await fill(page, sel('signup-display-name'), expert.displayName);
  await fill(page, sel('signup-legal-name'), expert.legalName);
  await fill(page, sel('signup-skills'), expert.skills);
  await fill(page, sel('signup-languages'), expert.languages);
  await fill(page, sel('signup-bio'), expert.bio);
  await fill(page, sel('signup-time-zone'), expert.timeZone);
  if (expert.price !== undefined) await fill(page, sel('signup-price'), expert.price);
}

/** In the admin console, opens the agent awaiting verification. */
export async function openPendingAgent(page: Page): Promise<void> {
  const row = `${sel('admin-agent-row')}[data-verification="pending"]`;
  await page.waitForSelector(row, { timeout: WAIT });
  await click(page, `${row} ${sel('admin-agent-open')}`);
  await page.waitForSelector(sel('admin-agent-trust'), { timeout: WAIT });
}

/** Approves the open agent; the list shows them verified. */
export async function approveOpenAgent(page: Page): Promise<void> {
  await click(page, sel('admin-agent-approve'));
  await page.waitForSelector(`${sel('admin-agent-row')}[data-verification="verified"]`, { timeout: WAIT });
}
