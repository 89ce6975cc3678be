// End to end, a phone call with real media: SIPp calls the SIP bridge over a trunk, talks (a 440 Hz
// tone) and echoes back whatever audio it receives (-rtp_echo); the agent answers in the agent app in
// Chromium, whose microphone plays a 1000 Hz tone. The agent hears the caller, and hears their own
// tone come back over the phone leg, which proves audio went both ways: browser → Janus → SIPp. The agent's hang-up sends
// the caller a BYE. Janus runs in a network namespace this test makes (as in call.test.ts).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Mccs } from '../../app.js';
import { createTestNetns, type TestNetns } from '../support/netns.js';
import { waitForMedia } from '../support/server.js';
import { startJanusInNetns, type JanusInNetns } from '../support/janus-netns.js';
import { detectTones, launchMediaBrowser, waitForStats, type MediaBrowser } from '../support/media-browser.js';
import { runSipp } from '../support/sipp.js';
import { freePort } from '../support/ports.js';
import { baseUrlOf, changeAdminPassword, click, e2eFolders, fill, http as httpTo, sel, startE2eServer, teardown, type E2eFolders } from '../support/e2e.js';

declare const window: { __mccsCalls?: Map<string, { main?: unknown }>; __mccsMedia: { refOf(pc: unknown): string | null } };

const WAIT = 20_000;
const AGENT = { email: 'pat.phone@example.com', displayName: 'Pat Phone', password: 'agent-pass-123' };

let folders: E2eFolders | undefined;
let ns: TestNetns | undefined;
let janus: JanusInNetns | undefined;
let mccs: Mccs | undefined;
let agent: MediaBrowser | undefined;
let baseUrl: string;
let sipPort: number;

const http = <T>(method: string, route: string, body?: unknown, token?: string): Promise<T> => httpTo<T>(baseUrl, method, route, body, token);

beforeAll(async () => {
  folders = await e2eFolders('mccs-phone-e2e-');
  const root = folders.root;
  ns = await createTestNetns();
  janus = await startJanusInNetns(ns, { dataDir: path.join(root, 'janus') });
  // The caller (SIPp) sends from the veth's host side, so Janus in the namespace can send RTP back.
  const trunks = path.join(root, 'trunks.json');
  writeFileSync(trunks, JSON.stringify([{ id: 'test-carrier', allow: [`${ns.hostIp}/32`], queueId: 'general' }]));
  sipPort = await freePort();
  mccs = await startE2eServer(folders, {
    MCCS_JANUS: 'external',
    MCCS_JANUS_WS_URL: janus.wsUrl,
    MCCS_SIP_HOST: ns.hostIp,
    MCCS_SIP_PORT: String(sipPort),
    MCCS_SIP_TRUNKS_FILE: trunks,
  });
  baseUrl = baseUrlOf(mccs);
  const admin = await changeAdminPassword(baseUrl, 'admin-pass-456');
  await http('POST', '/api/admin/accounts', { ...AGENT, role: 'agent', chatCapacity: 2 }, admin);
  await waitForMedia(baseUrl, WAIT);
  agent = await launchMediaBrowser({ toneHz: 1000, rootDir: root });
  // What the caller says: a 440 Hz tone, G.711 µ-law, streamed by SIPp in a loop.
  await promisify(execFile)('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', path.join(root, 'tone.wav'), 'synth', '3', 'sine', '440', 'vol', '0.5']);
}, 180_000);

afterAll(async () => {
  await agent?.close().catch(() => undefined);
  await teardown({ mccs, also: [async () => janus?.close(), async () => ns?.destroy()], root: folders?.root });
}, 60_000);

test('a phone caller is answered in the agent app and audio flows both ways over the phone leg', async () => {
  const page = agent!.page;
  await page.goto(`${baseUrl}/agent/`, { waitUntil: 'domcontentloaded' });
  await fill(page, sel('agent-login-email'), AGENT.email);
  await fill(page, sel('agent-login-password'), AGENT.password);
  await click(page, sel('agent-login-submit'));
  await page.waitForSelector(`${sel('agent-status')}:not([data-state="unknown"])`, { timeout: WAIT });
  await click(page, sel('agent-ready'));
  await page.waitForSelector(sel('agent-status', '[data-state="ready"]'), { timeout: WAIT });

  const sipp = runSipp({
    scenario: 'uac-talk-wait-bye.xml',
    workDir: folders!.root,
    target: { host: ns!.hostIp, port: sipPort },
    localIp: ns!.hostIp,
    sipPort: await freePort(),
    mediaPort: await freePort(),
    extraArgs: ['-rtp_echo'],
    timeoutS: 40,
  });
  const offer = await page.waitForSelector(sel('offer-card', '[data-channel="call"]'), { timeout: WAIT });
  const taskId = await offer!.evaluate((el) => (el as unknown as { getAttribute(n: string): string }).getAttribute('data-task-id'));
  await click(page, sel('offer-accept'));

  // The softphone joins the caller's room; the caller echoes what it hears, so the agent hears
  // their own tone back, which only happens if audio reached the phone leg and came back.
  const ref = (await (
    await page.waitForFunction(
      (t: string) => {
        const pc = window.__mccsCalls?.get(t)?.main;
        return pc ? window.__mccsMedia.refOf(pc) : null;
      },
      { timeout: WAIT, polling: 200 },
      taskId,
    )
  ).jsonValue()) as string;
  await waitForStats(page, (s) => (s.audio?.packetsReceived ?? 0) > 50 && (s.audio?.totalAudioEnergy ?? 0) > 0, WAIT, ref);
  // The agent hears the caller's 440 Hz, and their own 1000 Hz echoed back by the phone.
  const deadline = Date.now() + WAIT;
  for (;;) {
    const [caller, echo] = await detectTones(page, ref, [440, 1000], 1_000);
    if (caller!.db - caller!.floorDb >= 25 && echo!.db - echo!.floorDb >= 25) break;
    if (Date.now() > deadline) throw new Error(`the agent did not hear both the caller and the echo: ${JSON.stringify({ caller, echo })}`);
  }

  await click(page, sel('call-hangup'));
  const run = await sipp;
  expect(run.messages).toMatch(/^BYE sip:/m);
  expect(run.code).toBe(0);
}, 120_000);
