// The media test harness, end to end: a network namespace, a real Janus inside it, and two headless
// Chromium parties (tones 440 Hz and 1000 Hz as microphones) in one AudioBridge room, driven through
// janode from this process. Asserts that media flows both ways (getStats) and that each party hears
// the other's tone and not its own (WebAudio analyser), that the room's mix is recorded into the
// harness's recordings folder, and that teardown removes the namespace.
//
// Needs root (ip netns), the Debian packages janus, chromium and sox. Missing any of them fails the test.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Janode, { type JanodeConnection, type JanodeSession } from 'janode';
import AudioBridgePlugin, { type AudioBridgeHandle } from 'janode/plugins/audiobridge';
import { createTestNetns, type TestNetns } from '../support/netns.js';
import { startJanusInNetns, type JanusInNetns } from '../support/janus-netns.js';
import {
  acceptAnswer,
  detectTones,
  getMediaStats,
  launchMediaBrowser,
  openPeer,
  waitForStats,
  type MediaBrowser,
  type MediaStats,
  type ToneReading,
} from '../support/media-browser.js';

const ROOM = `harness-${process.pid}`;
const PARTIES = [
  { name: 'A', toneHz: 440 },
  { name: 'B', toneHz: 1000 },
] as const;

let root: string;
let ns: TestNetns | undefined;
let janus: JanusInNetns | undefined;
let conn: JanodeConnection | undefined;
let session: JanodeSession | undefined;
let admin: AudioBridgeHandle | undefined;
const browsers: MediaBrowser[] = [];
const handles: AudioBridgeHandle[] = [];
const t0 = Date.now();
const timings: string[] = [];
const mark = (what: string): void => void timings.push(`${what} +${Date.now() - t0} ms`);

function nsExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.split(/\s+/)[0] === name);
}

function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function teardown(): Promise<void> {
  await Promise.all(browsers.splice(0).map((b) => b.close()));
  await conn?.close().catch(() => undefined);
  conn = undefined;
  await janus?.close();
  await ns?.destroy();
}

beforeAll(async () => {
  Janode.Logger.setLevel('error'); // 'transaction not found for incoming message ack' after a jsep is noise
  root = await mkdtemp(path.join(os.tmpdir(), 'mccs-media-harness-'));
  ns = await createTestNetns();
  mark('netns');
  janus = await startJanusInNetns(ns, { dataDir: root });
  mark('janus up');
  conn = await Janode.connect({ address: { url: janus.wsUrl }, max_retries: 1, retry_time_secs: 1 });
  session = await conn.create(30);
  admin = await session.attach(AudioBridgePlugin);
  await admin.create({ room: ROOM, description: 'media harness', record: true, filename: 'harness-mix', rec_dir: janus.recordDir });
  mark('room created');
}, 60_000);

afterAll(async () => {
  await teardown();
  if (root) await rm(root, { recursive: true, force: true });
  // Shown with --verbose or on failure; the report cites these.
  console.log(`media harness timings: ${timings.join(', ')}`);
}, 60_000);

describe('media harness: WebRTC through Janus in a network namespace', () => {
  test('Janus listens on the namespace address, not in the root namespace', () => {
    expect(janus!.wsUrl).toBe(`ws://${ns!.nsIp}:8188`);
    expect(nsExists(ns!.name)).toBe(true);
    expect(linkExists(ns!.hostIf)).toBe(true);
  });

  test('two parties in an AudioBridge room hear each other, and not themselves', async () => {
    for (const p of PARTIES) browsers.push(await launchMediaBrowser({ toneHz: p.toneHz, rootDir: root }));
    mark('browsers');

    // Each party: non-trickle offer from the page → join + configure({ jsep }) → answer back to the page.
    for (const [i, p] of PARTIES.entries()) {
      const page = browsers[i]!.page;
      const offer = await openPeer(page, 'call', { audio: true, iceTimeoutMs: 5_000 });
      expect(offer.sdp).toContain(`c=IN IP4`);
      const handle = await session!.attach(AudioBridgePlugin);
      handles.push(handle);
      await handle.join({ room: ROOM, display: p.name });
      const configured = await handle.configure({ muted: false, jsep: offer });
      expect(configured.jsep?.type).toBe('answer');
      await acceptAnswer(page, 'call', configured.jsep!);
    }
    mark('negotiated');

    const flowing = (s: MediaStats): boolean =>
      s.connectionState === 'connected' && (s.audio?.packetsReceived ?? 0) > 50 && (s.audio?.totalAudioEnergy ?? 0) > 0;
    const first = await Promise.all(browsers.map((b) => waitForStats(b.page, flowing, 20_000, 'call')));
    mark('media flowing');

    // Keeps rising: a connection that stalls after the first packets fails here.
    await new Promise((r) => setTimeout(r, 1_500));
    const second = await Promise.all(browsers.map((b) => getMediaStats(b.page, 'call')));
    for (const [i, s] of second.entries()) {
      expect(s.audio!.packetsReceived).toBeGreaterThan(first[i]!.audio!.packetsReceived + 25);
      expect(s.audio!.totalAudioEnergy).toBeGreaterThan(first[i]!.audio!.totalAudioEnergy);
      expect(s.outboundAudio!.packetsSent).toBeGreaterThan(50);
      expect(s.selectedPair).toContain(ns!.nsIp);
    }

    // Tones: A (440) hears B's 1000 Hz, B (1000) hears A's 440 Hz; nobody hears their own tone.
    const readings: Record<string, { other: ToneReading; own: ToneReading }> = {};
    for (const [i, p] of PARTIES.entries()) {
      const otherHz = PARTIES[1 - i]!.toneHz;
      const page = browsers[i]!.page;
      const [other, own] = (await detectTones(page, 'call', [otherHz, p.toneHz], 1_500)) as [ToneReading, ToneReading];
      readings[p.name] = { other, own };
      expect(Math.abs(other.peakHz - otherHz)).toBeLessThanOrEqual(2 * other.binHz);
      expect(other.db - other.floorDb).toBeGreaterThan(30);
      expect(other.db - own.db).toBeGreaterThan(30);
    }
    mark('tones checked');
    console.log(
      `media harness: pairs ${second.map((s) => s.selectedPair).join(' | ')}; ` +
        Object.entries(readings)
          .map(
            ([who, r]) =>
              `${who} hears peak ${r.other.peakHz.toFixed(0)} Hz at ${r.other.db.toFixed(1)} dB (floor ${r.other.floorDb.toFixed(1)}), ` +
              `own tone ${r.own.db.toFixed(1)} dB`,
          )
          .join('; '),
    );
  }, 90_000);

  test('the room mix is recorded into the harness recordings folder', async () => {
    for (const h of handles.splice(0)) await h.leave().catch(() => undefined);
    await admin!.destroy({ room: ROOM }); // AudioBridge closes the recording when the room goes
    const files = await readdir(janus!.recordDir);
    const mix = files.find((f) => f.startsWith('harness-mix'));
    expect(mix).toBeDefined();
    expect((await stat(path.join(janus!.recordDir, mix!))).size).toBeGreaterThan(48_000); // > 0.5 s of 48 kHz 16-bit
  });

  test('teardown stops Janus and removes the namespace and its veth pair', async () => {
    const name = ns!.name;
    const hostIf = ns!.hostIf;
    const pid = janus!.pid;
    await teardown();
    await ns!.destroy(); // idempotent
    mark('torn down');
    expect(nsExists(name)).toBe(false);
    expect(linkExists(hostIf)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});
