// Chromium as a media party: one browser process per party, each with its own sine tone as the fake
// microphone (Chromium's fake capture device is process-wide) and Chromium's test pattern as camera.
// Page-side helpers (window.__mccsMedia, installed before any page script) open peer connections,
// read getStats() and measure which tone a party hears through a WebAudio analyser.
//
// Needs Chromium (/usr/bin/chromium; MCCS_E2E_CHROMIUM overrides) and sox.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { access, rename } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const execFileAsync = promisify(execFile);

export const CHROMIUM = process.env.MCCS_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Flags every test Chromium gets (as test/e2e/chat.test.ts), plus no QUIC. */
export const BASE_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
  '--disable-quic',
] as const;

// ---- tones ---------------------------------------------------------------------------------------

/** Shared by all test processes and runs; files are written under a temporary name, then renamed. */
const TONE_DIR = path.join(tmpdir(), 'mccs-test-tones');
const tones = new Map<string, Promise<string>>();

/**
 * A mono 48 kHz 16-bit WAV of a sine at `hz` (half scale: full scale clips when sox dithers), made
 * once and cached in TONE_DIR.
 */
export function toneWav(hz: number, seconds = 60): Promise<string> {
  const key = `${hz}-${seconds}`;
  let wav = tones.get(key);
  if (!wav) {
    const file = path.join(TONE_DIR, `tone-${hz}-${seconds}s.wav`);
    wav = (async () => {
      if (await exists(file)) return file;
      mkdirSync(TONE_DIR, { recursive: true });
      const partial = `${file}.${process.pid}.tmp.wav`;
      try {
        await execFileAsync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', partial, 'synth', String(seconds), 'sine', String(hz), 'vol', '0.5']);
      } catch (err) {
        tones.delete(key);
        throw new Error(`toneWav: sox failed (apt-get install sox): ${(err as Error).message}`);
      }
      await rename(partial, file);
      return file;
    })();
    tones.set(key, wav);
  }
  return wav;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

// ---- a blank page on a secure origin -------------------------------------------------------------
// getUserMedia needs a secure context; about:blank is not one, http://127.0.0.1 is.

let blank: { server: http.Server; url: string; users: number } | undefined;
let blankStarting: Promise<string> | undefined;

async function acquireBlankPage(): Promise<string> {
  if (blank) {
    blank.users++;
    return blank.url;
  }
  blankStarting ??= new Promise<string>((resolve, reject) => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><title>mccs media</title></head><body></body></html>');
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      blank = { server, url, users: 0 };
      resolve(url);
    });
  });
  const url = await blankStarting;
  blank!.users++;
  return url;
}

function releaseBlankPage(): void {
  if (!blank) return;
  if (--blank.users > 0) return;
  blank.server.close();
  blank = undefined;
  blankStarting = undefined;
}

// ---- launching -----------------------------------------------------------------------------------

export interface LaunchMediaBrowserOptions {
  /** The tone this party "speaks" into its microphone. */
  toneHz: number;
  /** Where the user-data folder goes (a fresh one per launch, removed on close); default os.tmpdir(). */
  rootDir?: string;
  /** Page to open; default a blank page on http://127.0.0.1 (a secure context). */
  url?: string;
  /** Extra Chromium flags. */
  args?: string[];
}

export interface MediaBrowser {
  readonly browser: Browser;
  /** The first page, already on `url`, with the helpers installed. */
  readonly page: Page;
  readonly toneHz: number;
  readonly wav: string;
  /** Uncaught page errors and console errors, for assertions and failure messages. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export async function launchMediaBrowser(opts: LaunchMediaBrowserOptions): Promise<MediaBrowser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`launchMediaBrowser: no Chromium at ${CHROMIUM} (apt-get install chromium, or set MCCS_E2E_CHROMIUM)`);
  });
  const wav = await toneWav(opts.toneHz);
  const root = opts.rootDir ?? tmpdir();
  mkdirSync(root, { recursive: true });
  const userDataDir = mkdtempSync(path.join(root, `chromium-${opts.toneHz}-`));
  const url = opts.url ?? (await acquireBlankPage());
  const ownsBlank = opts.url === undefined;
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir,
      args: [
        ...BASE_CHROMIUM_ARGS,
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${wav}`,
        // WebAudio and <audio> must run without a user gesture; nothing reaches the speakers.
        '--autoplay-policy=no-user-gesture-required',
        '--mute-audio',
        // Real host addresses in candidates; Janus cannot resolve mDNS (.local) names.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        ...(opts.args ?? []),
      ],
    });
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err instanceof Error ? err.message : String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`);
    });
    await installMediaHelpers(page);
    await page.goto(url);
    const b = browser;
    let closing: Promise<void> | undefined;
    return {
      browser: b,
      page,
      toneHz: opts.toneHz,
      wav,
      pageErrors,
      close: () =>
        (closing ??= (async () => {
          await b.close().catch(() => undefined);
          if (ownsBlank) releaseBlankPage();
          rmSync(userDataDir, { recursive: true, force: true });
        })()),
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    if (ownsBlank) releaseBlankPage();
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Installs window.__mccsMedia in every document the page loads from now on (and the current one).
 * Every RTCPeerConnection the page creates, its own or the app's, is registered as `pc<N>`.
 */
export async function installMediaHelpers(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(PAGE_HELPERS);
  await page.evaluate(PAGE_HELPERS);
}

// ---- page-side helpers, called from the test -----------------------------------------------------

/** A registered peer connection: an id given to openPeer, `pc<N>` (N-th created), or 'last'. */
export type PcRef = string;

export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface MediaStats {
  connectionState: string;
  iceConnectionState: string;
  iceGatheringState: string;
  /** Sum over inbound audio streams; audioLevel is the highest. Null before any inbound audio. */
  audio: { packetsReceived: number; bytesReceived: number; totalAudioEnergy: number; audioLevel: number; packetsLost: number } | null;
  video: { packetsReceived: number; framesDecoded: number; frameWidth: number; frameHeight: number } | null;
  outboundAudio: { packetsSent: number; bytesSent: number } | null;
  outboundVideo: { packetsSent: number; framesEncoded: number } | null;
  /** The nominated candidate pair, e.g. "10.128.0.1:50000 -> 10.128.0.2:20011 (udp)". */
  selectedPair: string | null;
}

export interface ToneReading {
  /** The frequency asked about, and its level in dB (highest bin within ±2 bins, averaged over the sample). */
  hz: number;
  db: number;
  /** The strongest frequency between 80 Hz and 8 kHz, and its level. */
  peakHz: number;
  peakDb: number;
  /** Median level over the same band: a reading well above it is a tone, not noise. */
  floorDb: number;
  binHz: number;
}

export interface OpenPeerOptions {
  audio?: boolean;
  video?: boolean;
  /** Bound on waiting for ICE gathering to complete (non-trickle offer); default 5000 ms. */
  iceTimeoutMs?: number;
}

interface PageMedia {
  openPeer(id: string, opts: OpenPeerOptions): Promise<SessionDescription>;
  acceptAnswer(id: string, jsep: SessionDescription): Promise<void>;
  stats(ref: PcRef): Promise<MediaStats>;
  tones(ref: PcRef, hzs: number[], sampleMs: number): Promise<ToneReading[]>;
  closePeer(ref: PcRef): void;
  ids(): string[];
}
type MediaGlobal = { __mccsMedia: PageMedia };

/** getUserMedia + RTCPeerConnection with the tracks; resolves with the complete (non-trickle) offer. */
export function openPeer(page: Page, id: string, opts: OpenPeerOptions = {}): Promise<SessionDescription> {
  return page.evaluate((i, o) => (globalThis as unknown as MediaGlobal).__mccsMedia.openPeer(i, o), id, opts);
}

/** Applies the answer Janus sent back (janode's `jsep`). */
export async function acceptAnswer(page: Page, id: string, jsep: SessionDescription): Promise<void> {
  await page.evaluate((i, j) => (globalThis as unknown as MediaGlobal).__mccsMedia.acceptAnswer(i, j), id, { type: jsep.type, sdp: jsep.sdp });
}

export function getMediaStats(page: Page, pc: PcRef = 'last'): Promise<MediaStats> {
  return page.evaluate((r) => (globalThis as unknown as MediaGlobal).__mccsMedia.stats(r), pc);
}

/**
 * What the party hears on `pc`: its remote audio through an AnalyserNode (fftSize 8192), averaged
 * over `sampleMs`. The helpers play every remote audio track through an (unmuted) <audio> element,
 * since Chromium feeds remote WebRTC audio into WebAudio only while a media element plays it.
 */
export async function detectTone(page: Page, pc: PcRef, hz: number, sampleMs = 1_000): Promise<ToneReading> {
  return (await detectTones(page, pc, [hz], sampleMs))[0]!;
}

/** detectTone for several frequencies from one sample (one reading per entry of `hzs`, in order). */
export function detectTones(page: Page, pc: PcRef, hzs: readonly number[], sampleMs = 1_000): Promise<ToneReading[]> {
  return page.evaluate((r, h, s) => (globalThis as unknown as MediaGlobal).__mccsMedia.tones(r, h, s), pc, [...hzs], sampleMs);
}

export async function closePeer(page: Page, pc: PcRef = 'last'): Promise<void> {
  await page.evaluate((r) => (globalThis as unknown as MediaGlobal).__mccsMedia.closePeer(r), pc);
}

/** Polls getStats every 200 ms until `predicate` holds; throws with the last stats otherwise. */
export async function waitForStats(
  page: Page,
  predicate: (stats: MediaStats) => boolean,
  timeoutMs = 15_000,
  pc: PcRef = 'last',
): Promise<MediaStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await getMediaStats(page, pc);
    if (predicate(stats)) return stats;
    if (Date.now() > deadline) {
      throw new Error(`waitForStats(${pc}): condition not met within ${timeoutMs} ms; last stats: ${JSON.stringify(stats)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Plain JavaScript, run in the page: the server's type check has no DOM library.
const PAGE_HELPERS = String.raw`(() => {
  if (window.__mccsMedia) return;
  const pcs = new Map();
  let count = 0;
  let last = null;
  const Native = window.RTCPeerConnection;
  // Chromium quirks: remote WebRTC audio is played out, which is where totalAudioEnergy and audioLevel
  // are measured, and fed to WebAudio only while a media element plays it; and a muted element (or
  // volume 0) counts zero energy. So every remote audio track gets an unmuted <audio> element; the
  // browser runs with --mute-audio, which silences the output after the measurement.
  const players = new WeakMap();
  const playOut = (pc) => {
    pc.addEventListener('track', (ev) => {
      if (ev.track.kind !== 'audio') return;
      const el = document.createElement('audio');
      el.autoplay = true;
      el.dataset.mccsMedia = 'remote-audio';
      el.srcObject = new MediaStream([ev.track]);
      (document.body || document.documentElement).appendChild(el);
      el.play().catch(() => undefined);
      if (!players.has(pc)) players.set(pc, []);
      players.get(pc).push(el);
    });
  };
  class Tracked extends Native {
    constructor(...args) {
      super(...args);
      const id = 'pc' + count++;
      pcs.set(id, this);
      last = this;
      playOut(this);
    }
  }
  window.RTCPeerConnection = Tracked;
  const get = (ref) => {
    const pc = ref === 'last' ? last : pcs.get(ref);
    if (!pc) throw new Error('no RTCPeerConnection "' + ref + '" (known: ' + [...pcs.keys()].join(', ') + ')');
    return pc;
  };
  const analysers = new WeakMap();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  window.__mccsMedia = {
    ids: () => [...pcs.keys()],
    /** The ref of a connection the app made (found through the app's own hooks, e.g. window.__mccsCalls). */
    refOf: (pc) => { for (const [id, p] of pcs) if (p === pc) return id; return null; },
    async openPeer(id, opts) {
      const audio = opts.audio !== false;
      const video = opts.video === true;
      const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
      const pc = new Native({ iceServers: [] });
      playOut(pc);
      pcs.set(id, pc);
      last = pc;
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (pc.iceGatheringState !== 'complete') {
        await Promise.race([
          new Promise((resolve) => {
            pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve();
            });
          }),
          sleep(opts.iceTimeoutMs ?? 5000),
        ]);
      }
      return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
    },
    async acceptAnswer(id, jsep) {
      await get(id).setRemoteDescription(jsep);
    },
    closePeer(ref) {
      const pc = get(ref);
      for (const s of pc.getSenders()) if (s.track) s.track.stop();
      pc.close();
    },
    async stats(ref) {
      const pc = get(ref);
      const report = await pc.getStats();
      const out = {
        connectionState: pc.connectionState,
        iceConnectionState: pc.iceConnectionState,
        iceGatheringState: pc.iceGatheringState,
        audio: null, video: null, outboundAudio: null, outboundVideo: null, selectedPair: null,
      };
      let pairId = null;
      report.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          const a = out.audio || (out.audio = { packetsReceived: 0, bytesReceived: 0, totalAudioEnergy: 0, audioLevel: 0, packetsLost: 0 });
          a.packetsReceived += s.packetsReceived || 0;
          a.bytesReceived += s.bytesReceived || 0;
          a.totalAudioEnergy += s.totalAudioEnergy || 0;
          a.audioLevel = Math.max(a.audioLevel, s.audioLevel || 0);
          a.packetsLost += s.packetsLost || 0;
        } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
          const v = out.video || (out.video = { packetsReceived: 0, framesDecoded: 0, frameWidth: 0, frameHeight: 0 });
          v.packetsReceived += s.packetsReceived || 0;
          v.framesDecoded += s.framesDecoded || 0;
          v.frameWidth = Math.max(v.frameWidth, s.frameWidth || 0);
          v.frameHeight = Math.max(v.frameHeight, s.frameHeight || 0);
        } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
          const o = out.outboundAudio || (out.outboundAudio = { packetsSent: 0, bytesSent: 0 });
          o.packetsSent += s.packetsSent || 0;
          o.bytesSent += s.bytesSent || 0;
        } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
          const o = out.outboundVideo || (out.outboundVideo = { packetsSent: 0, framesEncoded: 0 });
          o.packetsSent += s.packetsSent || 0;
          o.framesEncoded += s.framesEncoded || 0;
        } else if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
          const l = report.get(s.localCandidateId);
          const r = report.get(s.remoteCandidateId);
          if (l && r) out.selectedPair = l.address + ':' + l.port + ' -> ' + r.address + ':' + r.port + ' (' + l.protocol + ')';
        }
      });
      return out;
    },
    async tones(ref, hzs, sampleMs) {
      const pc = get(ref);
      let a = analysers.get(pc);
      if (!a) {
        const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === 'audio');
        if (tracks.length === 0) throw new Error('no remote audio track on ' + ref);
        const stream = new MediaStream(tracks);
        const ctx = new AudioContext();
        await ctx.resume();
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 8192;
        analyser.smoothingTimeConstant = 0;
        ctx.createMediaStreamSource(stream).connect(analyser);
        a = { ctx, analyser };
        analysers.set(pc, a);
        await sleep(300);
      }
      const { ctx, analyser } = a;
      const bins = analyser.frequencyBinCount;
      const binHz = ctx.sampleRate / analyser.fftSize;
      const power = new Float64Array(bins);
      const frame = new Float32Array(bins);
      let frames = 0;
      const until = performance.now() + sampleMs;
      do {
        analyser.getFloatFrequencyData(frame);
        for (let i = 0; i < bins; i++) power[i] += Number.isFinite(frame[i]) ? Math.pow(10, frame[i] / 10) : 0;
        frames++;
        await sleep(50);
      } while (performance.now() < until);
      const db = (i) => 10 * Math.log10(power[i] / frames + 1e-30);
      const lo = Math.ceil(80 / binHz), hi = Math.min(bins - 1, Math.floor(8000 / binHz));
      let peak = lo;
      const band = [];
      for (let i = lo; i <= hi; i++) {
        band.push(db(i));
        if (db(i) > db(peak)) peak = i;
      }
      band.sort((x, y) => x - y);
      const floorDb = band[Math.floor(band.length / 2)];
      return hzs.map((hz) => {
        const centre = Math.round(hz / binHz);
        let at = -Infinity;
        for (let i = Math.max(0, centre - 2); i <= Math.min(bins - 1, centre + 2); i++) at = Math.max(at, db(i));
        return { hz, db: at, peakHz: peak * binHz, peakDb: db(peak), floorDb, binHz };
      });
    },
  };
})();`;
