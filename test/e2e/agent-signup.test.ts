// End to end on a phone-sized screen (390×844): someone signs up as an expert in the agent app, with
// their own price, and lands in the workspace "awaiting verification" (Ready is refused); an admin
// approves them in the admin page and the agent's workspace says so at once (no reload, no polling);
// the agent goes Ready; a widget customer's chat is offered and accepted. Screenshots go to
// <os tmpdir>/test-artifacts/mccs-e2e-signup (MCCS_E2E_ARTIFACTS overrides); axe-core finds no serious or
// critical violations on the sign-up and workspace screens.
//
// Needs Chromium at /usr/bin/chromium (MCCS_E2E_CHROMIUM overrides) and builds the web client.
import type { Browser, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import {
  acceptOffer,
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
  launchChromium,
  openPendingAgent,
  openWidget,
  sel,
  signInAdmin,
  startE2eServer,
  startWidgetChat,
  stepper,
  teardown,
  WAIT,
  type E2eFolders,
} from '../support/e2e.js';

declare const document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; disabled?: boolean }> };

const ADMIN_PASSWORD = 'admin-pass-123-e2e';
const EXPERT = {
  email: 'erin.expert@example.com',
  password: 'expert-pass-123',
  displayName: 'Erin',
  legalName: 'Erin Q. Expert',
  skills: 'tax:8, vat:6',
  languages: 'en, fr',
  bio: 'Chartered accountant, fifteen years of small-business tax.',
  timeZone: 'Europe/Paris',
  /** Cents per minute. */
  price: '150',
};
const FIRST_MESSAGE = 'Can I deduct my home office?';

const art = artifacts('signup');
let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let baseUrl: string;
let browser: Browser | null = null;
let agentPage: Page;
let adminPage: Page;
let customerPage: Page;
const pageErrors: string[] = [];

const shot = (page: Page, name: string) => art.shot(page, name);
const step = stepper({
  artifacts: art,
  pages: () => [
    ['agent', agentPage],
    ['admin', adminPage],
    ['customer', customerPage],
  ],
  pageErrors,
});

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-signup-');
  mccs = await startE2eServer(folders, { MCCS_MANAGER: 'off' });
  baseUrl = baseUrlOf(mccs);
  await changeAdminPassword(baseUrl, ADMIN_PASSWORD);

  browser = await launchChromium(folders);
  agentPage = await browser.newPage();
  adminPage = await (await browser.createBrowserContext()).newPage();
  customerPage = await (await browser.createBrowserContext()).newPage();
  await agentPage.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  await adminPage.setViewport({ width: 1200, height: 900 });
  await customerPage.setViewport({ width: 390, height: 844 });
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
  await teardown({ browser, mccs, root: folders?.root });
  art.report('agent sign-up');
}, 60_000);

test('sign up on a phone → admin approves → Ready → a widget chat is offered and accepted', async () => {
  await step('sign up', async () => {
    await agentPage.goto(`${baseUrl}/agent/`, { waitUntil: 'domcontentloaded' });
    await click(agentPage, sel('agent-become-expert'));
    await agentPage.waitForSelector(sel('agent-signup-form'), { visible: true, timeout: WAIT });
    expect(await axeViolations(agentPage)).toEqual([]);
    await fillSignUp(agentPage, EXPERT);
    await shot(agentPage, '1-signup-form');
    await click(agentPage, sel('signup-submit'));
  });

  await step('workspace awaiting verification', async () => {
    await agentPage.waitForSelector(sel('agent-workspace'), { timeout: WAIT });
    await agentPage.waitForSelector(sel('agent-verification-banner'), { visible: true, timeout: WAIT });
    await agentPage.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
    expect(await agentPage.$eval(sel('agent-status'), (e) => e.textContent)).toContain('awaiting verification');
    // The price given at sign-up is the one the earnings card shows (and lets the agent change).
    await agentPage.waitForFunction(
      (price: string) => (document.querySelectorAll('[data-testid="agent-price"]')[0] as unknown as { value?: string } | undefined)?.value === price,
      { timeout: WAIT },
      EXPERT.price,
    );
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
    await signInAdmin(adminPage, baseUrl, ADMIN_PASSWORD);
    await openPendingAgent(adminPage);
    expect(await adminPage.$eval(sel('admin-agent-legal-name'), (e) => e.textContent)).toBe(EXPERT.legalName);
    await fill(adminPage, sel('admin-agent-reason'), 'Identity and diploma checked');
    await shot(adminPage, '3-admin-review');
    await approveOpenAgent(adminPage);
    await shot(adminPage, '4-admin-approved');
  });

  await step('the workspace shows the approval at once', async () => {
    // Told by the server (account:updated): the banner goes and the status no longer says why it waited.
    await agentPage.waitForSelector(sel('agent-verification-banner'), { hidden: true, timeout: WAIT });
    await agentPage.waitForFunction(
      () => !(document.querySelectorAll('[data-testid="agent-status"]')[0]?.textContent ?? 'awaiting verification').includes('awaiting verification'),
      { timeout: WAIT },
    );
    expect(await agentPage.$eval(sel('agent-status'), (e) => e.getAttribute('data-state'))).toBe('not_ready');
  });

  await step('agent goes ready', async () => {
    await goReady(agentPage);
    await shot(agentPage, '5-workspace-ready');
  });

  await step('customer chat offered and accepted', async () => {
    await openWidget(customerPage, baseUrl, 'Carol');
    await startWidgetChat(customerPage, 'general', FIRST_MESSAGE);
    const offer = await agentPage.waitForSelector(sel('offer-card'), { timeout: WAIT });
    expect(await offer!.$eval(sel('offer-first-message'), (e) => e.textContent)).toBe(FIRST_MESSAGE);
    await shot(agentPage, '6-offer');
    await acceptOffer(agentPage);
    await customerPage.waitForSelector(sel('widget-status', '[data-state="assigned"]'), { timeout: WAIT });
    expect(await customerPage.$eval(sel('widget-status'), (e) => e.textContent)).toContain(EXPERT.displayName);
    expect(await axeViolations(agentPage)).toEqual([]);
    await shot(agentPage, '7-chat-accepted');
  });
  expect(pageErrors).toEqual([]);
}, 180_000);
