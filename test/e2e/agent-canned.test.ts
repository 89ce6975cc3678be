// End to end: canned responses in the agent workspace, with the built web client in headless
// Chromium. An admin adds a shared response (HTTP API); the agent adds their own in the workspace;
// in a chat the agent types "/" and a shortcut and presses Enter: the response is put into the box
// with the customer's, the agent's and the queue's names filled in, and nothing is sent until the
// agent (after editing) sends it. The Canned button opens a list that a filter narrows.
//
// Needs Chromium at /usr/bin/chromium (MCCS_E2E_CHROMIUM overrides the path).
import type { Browser, Page } from 'puppeteer-core';
import type { Mccs } from '../../app.js';
import type { ChatMessage, CustomerChatView } from '../../protocol/events.js';
import {
  acceptOffer,
  axeViolations,
  baseUrlOf,
  changeAdminPassword,
  click,
  collectPageErrors,
  e2eFolders,
  fill,
  goReady,
  http as httpTo,
  launchChromium,
  sel,
  signInAgent,
  startE2eServer,
  teardown,
  texts,
  visible,
  waitForText,
  WAIT,
  type E2eFolders,
  type LoginReply,
} from '../support/e2e.js';
import { call, connect, msgId, next, type CustomerSocket } from '../support/sockets.js';

const AGENT = { email: 'cara.canned@example.com', displayName: 'Cara', password: 'agent-pass-123' };
const TEST_TIMEOUT = 120_000;

let folders: E2eFolders | undefined;
let mccs: Mccs | null = null;
let browser: Browser | null = null;
let baseUrl: string;
let page: Page;
let customer: CustomerSocket | undefined;
const pageErrors: string[] = [];

const http = <T>(method: string, route: string, body?: unknown, token?: string): Promise<T> => httpTo<T>(baseUrl, method, route, body, token);
const pane = (testId: string) => `${sel('chat-pane')}:not([hidden]) ${sel(testId)}`;
const inputValue = () => page.$eval(pane('chat-input'), (e) => (e as unknown as { value: string }).value);

beforeAll(async () => {
  folders = await e2eFolders('mccs-e2e-canned-');
  mccs = await startE2eServer(folders);
  baseUrl = baseUrlOf(mccs);
  browser = await launchChromium(folders);
  page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  collectPageErrors([['agent', page]], pageErrors);
}, 120_000);

afterAll(async () => {
  customer?.close();
  await teardown({ browser, mccs, root: folders?.root });
}, 60_000);

test('the agent inserts canned responses with "/" and from the list, fills them in, and sends only after editing', async () => {
  const admin = await changeAdminPassword(baseUrl, 'admin-pass-456-changed');
  await http('POST', '/api/admin/accounts', { ...AGENT, role: 'agent', chatCapacity: 2 }, admin);
  await http('POST', '/api/admin/canned-responses', { title: 'Greeting', shortcut: 'hi', body: 'Hello {customer.name}, {agent.name} here from {queue.name}.' }, admin);
  await http('POST', '/api/admin/canned-responses', { title: 'Refunds', shortcut: 'refund', body: 'Refunds take five days.', queueId: 'billing' }, admin);

  // The agent signs in and adds a response of their own in the workspace.
  await signInAgent(page, baseUrl, AGENT);
  await click(page, `${sel('canned-manager')} summary`);
  await fill(page, sel('canned-new-title'), 'Thanks');
  await fill(page, sel('canned-new-shortcut'), 'thx');
  await fill(page, sel('canned-new-body'), 'Thank you for waiting, {customer.name}.');
  await click(page, sel('canned-save'));
  await waitForText(page, sel('canned-row'), 'Thanks');
  await goReady(page);

  // A customer writes on the general topic; the agent accepts.
  const visitor = await http<{ token: string }>('POST', '/api/visitor-token', { displayName: 'Carol' });
  customer = await connect<CustomerSocket>(baseUrl, '/customer', visitor.token);
  const view = await call<CustomerChatView>(customer, 'chat:start', { queueId: 'general', text: 'Hi, is anyone there?', clientMsgId: msgId(), displayName: 'Carol' });
  await acceptOffer(page);

  // "/" lists the responses with shortcuts; "/hi" and Enter puts the filled-in greeting in the box.
  await (await visible(page, pane('chat-input'))).type('/');
  await page.waitForSelector(pane('canned-picker'), { timeout: WAIT });
  expect(await texts(page, `${pane('canned-item')} .canned-item__title`)).toEqual(expect.arrayContaining([expect.stringContaining('Greeting'), expect.stringContaining('Thanks')]));
  // The list and the box it belongs to pass axe (other parts of the workspace are not this test's subject).
  const mine = (await axeViolations(page)).filter((v) => v.targets.some((t) => /canned|chat-input/.test(t)));
  expect(mine).toEqual([]);
  // The billing queue's response is not offered in a general conversation.
  expect((await texts(page, pane('canned-item'))).some((t) => t.includes('Refunds'))).toBe(false);
  await page.keyboard.type('hi');
  await page.keyboard.press('Enter');
  expect(await inputValue()).toBe('Hello Carol, Cara here from General questions.');
  // Nothing was sent: the agent edits first.
  expect(await texts(page, `${sel('chat-messages')} [data-sender="agent"]`)).toEqual([]);
  await page.keyboard.type(' How can I help?');
  const received = next<ChatMessage>(customer, 'chat:message', (m) => m.sender === 'agent');
  await page.keyboard.press('Enter');
  expect((await received).body).toBe('Hello Carol, Cara here from General questions. How can I help?');
  await page.waitForFunction(() => (document.querySelector('[data-testid="chat-pane"]:not([hidden]) [data-testid="chat-input"]') as unknown as { value: string }).value === '', { timeout: WAIT });

  // The Canned button: a list the filter narrows; the pick goes into the box, Escape closes without one.
  await fill(page, pane('chat-input'), 'Sorry for the delay.');
  await click(page, pane('canned-open'));
  await page.waitForSelector(pane('canned-filter'), { timeout: WAIT });
  await page.keyboard.type('waiting');
  expect(await texts(page, `${pane('canned-item')} .canned-item__title`)).toEqual([expect.stringContaining('Thanks')]);
  await page.keyboard.press('Enter');
  expect(await inputValue()).toBe('Sorry for the delay. Thank you for waiting, Carol.');
  expect(await page.$(pane('canned-picker'))).toBeNull();
  await click(page, pane('canned-open'));
  await page.waitForSelector(`${pane('canned-filter')}:focus`, { timeout: WAIT });
  await page.keyboard.press('Escape');
  expect(await page.$(pane('canned-picker'))).toBeNull();
  expect(await inputValue()).toBe('Sorry for the delay. Thank you for waiting, Carol.');
  expect(await texts(page, `${sel('chat-messages')} [data-sender="agent"]`)).toHaveLength(1);
  await call(customer, 'chat:leave', { taskId: view.taskId });
  expect(pageErrors).toEqual([]);
}, TEST_TIMEOUT);

declare const document: { querySelector(selector: string): unknown };
