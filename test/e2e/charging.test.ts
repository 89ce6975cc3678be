// End to end, charging: a real mccs in this process (charging ticks every 100 ms), the built web client,
// and headless Chromium. The admin signs in to the admin page and saves a rate plan for the general
// topic (chat, 6.00 EUR/min, per-second increments); a prepaid customer on a phone-sized widget sees
// the price, must agree to it, is refused for want of balance, is credited 0.35 EUR by the admin
// through the admin page, and starts the chat. The agent accepts; the widget shows the price, then the
// low-balance warning, then the cut-off when the 3 paid seconds are used up, and the agent is told.
// Afterwards the agent's earnings card shows the session and the 70 % share (0.21 EUR) and the admin's
// revenue table shows 0.30 EUR customers paid.
//
// Screenshots of the price panel, the cut-off widget, the earnings card and the admin's charging section
// are saved to <os tmpdir>/test-artifacts/mccs-e2e-charging (MCCS_E2E_ARTIFACTS overrides; the path is
// printed); on a failure, screenshots of every open page go there too (failed-*.png).
//
// Needs Chromium at /usr/bin/chromium (Debian package `chromium`); MCCS_E2E_CHROMIUM overrides the path.
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/charging.test.ts --selectProjects e2e
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import {
  ADMIN_EMAIL,
  ADMIN_FIRST_PASSWORD,
  artifacts,
  baseUrlOf,
  click,
  collectPageErrors,
  e2eFolders,
  fill,
  http as httpTo,
  isDisabled,
  launchChromium,
  openWidget,
  PHONE,
  sel,
  signInAdmin,
  signInAgent,
  startE2eServer,
  stepper,
  teardown,
  textOf,
  visible,
  waitForText,
  WAIT,
  type E2eFolders,
  type LoginReply,
} from '../support/e2e.js';

/** The little of a table cell the row readers use. */
type Cell = { textContent: string | null };

/** Per test: several browser round trips, each waited for up to WAIT. */
const TEST_TIMEOUT = 90_000;

const ADMIN_PASSWORD = 'admin-pass-456-changed';
const AGENT = { email: 'bob.expert@example.com', displayName: 'Bob Expert', password: 'agent-pass-123' };
const CUSTOMER_NAME = 'Dana Prepaid';
const FIRST_MESSAGE = 'Hello, I would like some expert advice.';

// The plan: 600 cents a minute = 10 cents a second, billed per second. A credit of 35 cents pays for
// 3 whole seconds (30 cents); the agent's default share is 70 % of that: 21 cents.
const PRICE_PER_MINUTE_MINOR = 600;
const CREDIT_MINOR = 35;

const art = artifacts('charging');
let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let baseUrl: string;
let browser: Browser | null = null;
let adminContext: BrowserContext | null = null;
let customerContext: BrowserContext | null = null;
let adminPage: Page;
let agentPage: Page;
let customerPage: Page;
const pageErrors: string[] = [];

const http = <T>(method: 'GET' | 'POST', route: string, body?: unknown, token?: string): Promise<T> => httpTo<T>(baseUrl, method, route, body, token);
const shot = (page: Page, name: string, selector?: string) => art.shot(page, name, selector);

/** The form control inside the label of a form whose text starts with `label` (what a user reads). */
function field(formTestId: string, label: string): string {
  return `::-p-xpath(//form[@data-testid="${formTestId}"]//label[starts-with(normalize-space(.), "${label}")]//*[self::input or self::select])`;
}

const step = stepper({
  artifacts: art,
  pages: () => [
    ['admin', adminPage],
    ['agent', agentPage],
    ['customer', customerPage],
  ],
  pageErrors,
});

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-charging-');
  // Charging ticks every 100 ms, so a few paid seconds run out quickly.
  mccs = await startE2eServer(folders, { MCCS_CHARGING_TICK_MS: '100' });
  baseUrl = baseUrlOf(mccs);

  // No browser round trip may hang the test: a stuck page fails the step instead.
  browser = await launchChromium(folders, { protocolTimeout: WAIT + 5_000 });
  // Each party in its own context: its own window, so each page stays on screen (a page in a
  // background tab renders no frames and input to it can stall), and no shared staff storage.
  adminContext = await browser.createBrowserContext();
  adminPage = await adminContext.newPage();
  agentPage = await browser.newPage();
  // The customer is a stranger: a separate (incognito-like) context, with no staff storage.
  customerContext = await browser.createBrowserContext();
  customerPage = await customerContext.newPage();
  await adminPage.setViewport({ width: 1280, height: 900 });
  await agentPage.setViewport({ width: 1280, height: 900 });
  await customerPage.setViewport(PHONE);
  collectPageErrors(
    [
      ['admin', adminPage],
      ['agent', agentPage],
      ['customer', customerPage],
    ],
    pageErrors,
  );
}, 120_000);

afterAll(async () => {
  await customerContext?.close().catch(() => undefined);
  await adminContext?.close().catch(() => undefined);
  await teardown({ browser, mccs, root: folders?.root });
  art.report('charging e2e');
}, 60_000);

describe('a prepaid customer on a charged topic, through the real UIs', () => {
  test('the admin signs in to the admin page and saves a rate plan for the general topic', async () => {
    // The one-time password is changed over HTTP, as chat.test.ts does; the agent is made the same way.
    const first = await http<LoginReply>('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_FIRST_PASSWORD });
    expect(first.account.mustChangePassword).toBe(true);
    await http('POST', '/api/auth/password', { currentPassword: ADMIN_FIRST_PASSWORD, newPassword: ADMIN_PASSWORD }, first.token);
    const admin = await http<LoginReply>('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await http('POST', '/api/admin/accounts', { ...AGENT, role: 'agent', chatCapacity: 1 }, admin.token);

    await step('admin rate plan', async () => {
      await signInAdmin(adminPage, baseUrl, ADMIN_PASSWORD);
      await visible(adminPage, sel('admin-charging'));
      await waitForText(adminPage, sel('admin-rate-plans'), 'No rate plans');

      const form = 'admin-rate-plan-form';
      const saveButton = `${sel(form)} button[type="submit"]`;
      // The topics come with the queue list; until one is chosen the plan cannot be saved.
      await adminPage.waitForSelector(`${field(form, 'Topic')} option[value="general"]`, { timeout: WAIT });
      expect(await isDisabled(await visible(adminPage, saveButton))).toBe(true);
      await (await visible(adminPage, field(form, 'Topic'))).select('general');
      await (await visible(adminPage, field(form, 'Channel'))).select('chat');
      await fill(adminPage, field(form, 'Currency'), 'EUR');
      await fill(adminPage, field(form, 'Price per minute'), String(PRICE_PER_MINUTE_MINOR));
      await fill(adminPage, field(form, 'Increments'), '1/1');
      await click(adminPage, saveButton);
      await waitForText(adminPage, `${sel(form)} .notice`, 'Rate plan for general (chat) saved.');

      // The table lists the plan as saved.
      await waitForText(adminPage, `${sel('admin-rate-plans')} tbody`, 'general');
      const rows = await adminPage.$$eval(`${sel('admin-rate-plans')} tbody tr`, (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td') as ArrayLike<Cell>).map((td) => (td.textContent ?? '').trim())),
      );
      expect(rows).toEqual([['general', 'chat', '6.00 EUR', '0.00 EUR', '0 s', '1/1', '— to —', '70 %']]);
    });
  }, TEST_TIMEOUT);

  test('the customer sees the price, must agree, is refused without balance, and starts once credited', async () => {
    await step('price panel', async () => {
      await openWidget(customerPage, baseUrl, CUSTOMER_NAME);
      await click(customerPage, sel('widget-topic-general'));
      await waitForText(customerPage, sel('widget-price-chat'), '6.00 EUR/min');
      await fill(customerPage, sel('widget-first-message'), FIRST_MESSAGE);
      // Topic and message are there; only the agreement is missing.
      const agree = await visible(customerPage, sel('widget-agree-price'));
      expect(await agree.evaluate((e) => (e as unknown as { checked: boolean }).checked)).toBe(false);
      expect(await isDisabled(await visible(customerPage, sel('widget-start')))).toBe(true);
      await agree.click();
      expect(await agree.evaluate((e) => (e as unknown as { checked: boolean }).checked)).toBe(true);
      expect(await isDisabled(await visible(customerPage, sel('widget-start')))).toBe(false);
      await shot(customerPage, '1-widget-price-panel');
    });

    await step('refused without balance', async () => {
      await click(customerPage, sel('widget-start'));
      await waitForText(customerPage, sel('widget-error'), 'INSUFFICIENT_FUNDS');
      expect(await textOf(customerPage, sel('widget-error'))).toMatch(/balance/i);
      expect(await customerPage.$(sel('widget-chat'))).toBeNull();
    });

    await step('admin credits the customer', async () => {
      const stored = await customerPage.evaluate('localStorage.getItem("mccs.widget")');
      const customerId = (JSON.parse(String(stored)) as { customerId?: string }).customerId;
      expect(customerId).toEqual(expect.any(String));

      const form = 'admin-credit-form';
      await fill(adminPage, field(form, 'Customer id'), customerId!);
      await fill(adminPage, field(form, 'Amount'), String(CREDIT_MINOR));
      await fill(adminPage, field(form, 'Currency'), 'EUR');
      await click(adminPage, `${sel(form)} button[type="submit"]`);
      await waitForText(adminPage, `${sel(form)} .notice`, 'Credited. Balance now 0.35 EUR.');
    });

    await step('customer starts again', async () => {
      await click(customerPage, sel('widget-start'));
      await visible(customerPage, sel('widget-chat'));
      await customerPage.waitForSelector(sel('widget-status', '[data-state="queued"]'), { timeout: WAIT });
      expect(await customerPage.$(sel('widget-error'))).toBeNull();
    });
  }, TEST_TIMEOUT);

  test('the agent answers; the customer is charged, warned, and cut off when the balance runs out', async () => {
    await step('agent answers', async () => {
      await signInAgent(agentPage, baseUrl, AGENT);
      await waitForText(agentPage, sel('agent-earnings'), 'No paid sessions yet this month.');
      await click(agentPage, sel('agent-ready'));
      await visible(agentPage, sel('offer-card'));
      expect(await textOf(agentPage, sel('offer-customer'))).toContain(CUSTOMER_NAME);
      await click(agentPage, sel('offer-accept'));
    });

    let answeredAt = 0;
    await step('customer is charged and warned', async () => {
      // Both show only while the conversation lasts (about 3 s here), so each is caught as it appears.
      await waitForText(customerPage, sel('widget-charge'), 'Charged at 6.00 EUR/min');
      answeredAt = Date.now();
      await waitForText(customerPage, sel('widget-charge-warning'), 'Your balance pays for about');
    });

    await step('customer is cut off', async () => {
      await customerPage.waitForSelector(sel('widget-status', '[data-state="ended"]'), { timeout: WAIT });
      const cutOffAfterMs = Date.now() - answeredAt;
      expect(await textOf(customerPage, sel('widget-status'))).toBe('Your balance has run out: the conversation has ended.');
      // 3 paid seconds plus a tick or two; well within 8 s.
      expect(cutOffAfterMs).toBeLessThan(8_000);
      // The price and the warning go with the conversation; the customer can start anew.
      expect(await customerPage.$(sel('widget-charge'))).toBeNull();
      expect(await customerPage.$(sel('widget-charge-warning'))).toBeNull();
      expect(await customerPage.$(sel('widget-input'))).toBeNull();
      await visible(customerPage, sel('widget-new-chat'));
      await shot(customerPage, '2-widget-cut-off');
    });

    await step('agent is told', async () => {
      await waitForText(agentPage, sel('agent-notice'), 'prepaid balance ran out', { any: true });
      const notices = await agentPage.$$eval(sel('agent-notice'), (els) => els.map((e) => (e.textContent ?? '').trim()));
      expect(notices).toEqual(expect.arrayContaining([expect.stringContaining(`${CUSTOMER_NAME}'s prepaid balance ran out: the conversation has ended.`)]));
    });
  }, TEST_TIMEOUT);

  test("the agent's earnings card and the admin's revenue report show the session", async () => {
    await step('agent earnings', async () => {
      await agentPage.reload({ waitUntil: 'domcontentloaded' });
      await agentPage.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
      await waitForText(agentPage, sel('agent-earnings-share'), '0.21 EUR');
      expect(await textOf(agentPage, sel('agent-earnings-sessions'))).toBe('1');
      // The card's terms and values, as read: one currency, one paid session of 3 billed seconds.
      const terms = await agentPage.$$eval(`${sel('agent-earnings-EUR')} dt, ${sel('agent-earnings-EUR')} dd`, (els) =>
        els.map((e) => (e.textContent ?? '').trim()),
      );
      expect(terms).toEqual(['Paid sessions', '1', 'Billed time', '0 min 3 s', 'Customers paid', '0.30 EUR', 'Your share', '0.21 EUR']);
      expect(await textOf(agentPage, sel('agent-payable'))).toContain('0.21 EUR');
      await shot(agentPage, '3-agent-earnings', sel('agent-earnings'));
    });

    await step('admin revenue', async () => {
      // The admin's Refresh button brings the report up to date without a page reload.
      await click(adminPage, sel('admin-refresh'));
      await waitForText(adminPage, `${sel('admin-revenue')} tbody`, 'EUR');
      const rows = await adminPage.$$eval(`${sel('admin-revenue')} tbody tr`, (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td') as ArrayLike<Cell>).map((td) => (td.textContent ?? '').trim())),
      );
      // currency, sessions, customers paid, agents, platform, tax, refunds
      expect(rows).toEqual([['EUR', '1', '0.30 EUR', '0.21 EUR', '0.09 EUR', '0.00 EUR', '0.00 EUR']]);
      await shot(adminPage, '4-admin-charging', sel('admin-charging'));
    });
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT);
});
