// Post-processing of real Janus recordings (media/recording/postprocess.ts). A Janus of the test's
// own (loopback, AudioBridge and Streaming plugins) records:
//   - a plain-RTP AudioBridge participant sent 2 s of PCMU from a UDP socket here: an audio .mjr
//   - a Streaming mountpoint fed 2 s of VP8 by ffmpeg: a video .mjr, as the VideoRoom writes for a
//     camera (a VideoRoom publisher needs a browser; the browser media tests cover that room)
// and each is turned into a playable file whose length ffprobe confirms.
// Needs the Debian packages janus, janus-tools (janus-pp-rec) and ffmpeg.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Janode, { type JanodeConnection, type JanodeSession } from 'janode';
import JanodeHandle, { type JanusMessage } from 'janode/handle';
import AudioBridgePlugin, { type AudioBridgeHandle } from 'janode/plugins/audiobridge';
import { makePlayable, PostprocessError } from '../../media/recording/postprocess.js';
import { linearToUlaw } from '../support/rtp.js';

/** A handle that only sends requests: synchronous plugin replies resolve them (Streaming plugin). */
class PlainHandle extends JanodeHandle {
  override handleMessage(): null {
    return null;
  }
}
const StreamingPlugin = { id: 'janus.plugin.streaming', Handle: PlainHandle };

let root: string;
let recDir: string;
let janus: ChildProcess | undefined;
let conn: JanodeConnection | undefined;
let session: JanodeSession | undefined;
let audioMjr: string;
let videoMjr: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Janus's module folders beside its binary (Debian: /usr/lib/<multiarch>/janus). */
async function janusModules(): Promise<string> {
  const binary = await realpath(execFileSync('sh', ['-c', 'command -v janus'], { encoding: 'utf8' }).trim());
  const lib = path.join(path.dirname(path.dirname(binary)), 'lib');
  for (const candidate of [path.join(lib, 'janus'), ...(await readdir(lib)).map((d) => path.join(lib, d, 'janus'))]) {
    if (await stat(path.join(candidate, 'plugins')).then((s) => s.isDirectory(), () => false)) return candidate;
  }
  throw new Error('Janus plugin folder not found');
}

async function startJanus(dir: string, wsPort: number): Promise<ChildProcess> {
  const modules = await janusModules();
  const except = async (folder: string, keep: string[]) =>
    (await readdir(path.join(modules, folder)).catch(() => [] as string[])).filter((n) => n.endsWith('.so') && !keep.includes(n)).join(',');
  const q = JSON.stringify;
  await writeFile(
    path.join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = ${q(dir)}
  plugins_folder = ${q(path.join(modules, 'plugins'))}
  transports_folder = ${q(path.join(modules, 'transports'))}
  events_folder = ${q(path.join(modules, 'events'))}
  loggers_folder = ${q(path.join(modules, 'loggers'))}
  debug_level = 3
}
media: { rtp_port_range = "23000-23499" }
plugins: { disable = ${q(await except('plugins', ['libjanus_audiobridge.so', 'libjanus_streaming.so']))} }
transports: { disable = ${q(await except('transports', ['libjanus_websockets.so']))} }
loggers: { disable = ${q(await except('loggers', []))} }
events: { broadcast = false
  disable = ${q(await except('events', []))} }
`,
  );
  await writeFile(path.join(dir, 'janus.transport.websockets.jcfg'), `general: { json = "compact"\n ws = true\n ws_port = ${wsPort}\n ws_ip = "127.0.0.1"\n wss = false }\nadmin: { admin_ws = false }\n`);
  await writeFile(path.join(dir, 'janus.plugin.audiobridge.jcfg'), 'general: { string_ids = true\n rtp_port_range = "23500-23999" }\n');
  await writeFile(path.join(dir, 'janus.plugin.streaming.jcfg'), 'general: { string_ids = true\n rtp_port_range = "24000-24499" }\n');
  const child = spawn('janus', [`--configs-folder=${dir}`, `--config=${path.join(dir, 'janus.jcfg')}`, '--disable-colors'], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!(await portAnswers(wsPort))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('Janus did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

function ffprobe(file: string): Promise<{ durationMs: number; codec: string }> {
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', file], (err, stdout) => {
      if (err) return reject(err);
      const json = JSON.parse(stdout) as { format: { duration: string }; streams: Array<{ codec_name: string }> };
      resolve({ durationMs: Number(json.format.duration) * 1000, codec: json.streams[0]!.codec_name });
    });
  });
}

/** Decodes the whole file; resolves with what ffmpeg complained about (nothing for a sound file). */
function decodeErrors(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], (err, _stdout, stderr) => resolve(err ? `exit: ${err.message}` : stderr.trim()));
  });
}

/** Top-level elements of a WebM (Matroska) segment, in file order. */
function segmentChildren(buf: Buffer): string[] {
  const vint = (at: number, keepMarker: boolean): { value: number; length: number } => {
    const first = buf[at]!;
    let length = 1;
    while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
    let value = keepMarker ? first : first & (0xff >> length);
    for (let i = 1; i < length; i++) value = value * 256 + buf[at + i]!;
    return { value, length };
  };
  const names: Record<number, string> = { 0x114d9b74: 'SeekHead', 0x1549a966: 'Info', 0x1654ae6b: 'Tracks', 0x1c53bb6b: 'Cues', 0x1f43b675: 'Cluster', 0x1254c367: 'Tags', 0xec: 'Void' };
  let at = 0;
  const header = vint(at, true); // EBML header
  const headerSize = vint(at + header.length, false);
  at += header.length + headerSize.length + headerSize.value;
  const segment = vint(at, true);
  expect(segment.value).toBe(0x18538067);
  at += segment.length + vint(at + segment.length, false).length;
  const out: string[] = [];
  while (at < buf.length) {
    const id = vint(at, true);
    const size = vint(at + id.length, false);
    out.push(names[id.value] ?? id.value.toString(16));
    at += id.length + size.length + size.value;
  }
  return out;
}

beforeAll(async () => {
  Janode.Logger.setLevel('error');
  root = await mkdtemp(path.join(os.tmpdir(), 'mccs-postprocess-'));
  recDir = path.join(root, 'janus-rec');
  await mkdir(recDir);
  const wsPort = await freePort();
  janus = await startJanus(root, wsPort);
  conn = await Janode.connect({ address: { url: `ws://127.0.0.1:${wsPort}` }, max_retries: 0 });
  session = await conn.create(30);

  // Audio: a plain-RTP participant recorded on its own (codec PCMU, so the .mjr holds G.711).
  const bridge: AudioBridgeHandle = await session.attach(AudioBridgePlugin);
  await bridge.create({ room: 'rec-test', allow_rtp: true, sampling_rate: 16000 });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const joined = (await bridge.join({
    room: 'rec-test',
    display: 'phone',
    codec: 'pcmu',
    record: true,
    filename: path.join(recDir, 'phone'),
    rtp_participant: { ip: '127.0.0.1', port: socket.address().port, payload_type: 0 },
  } as Parameters<AudioBridgeHandle['join']>[0])) as unknown as { rtp_participant?: { ip: string; port: number } };
  const to = joined.rtp_participant!;
  let seq = 0;
  let ts = 0;
  let phase = 0;
  const sent = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const packet = Buffer.alloc(12 + 160);
      packet[0] = 0x80;
      packet[1] = 0; // PCMU
      packet.writeUInt16BE(seq++ & 0xffff, 2);
      packet.writeUInt32BE(ts >>> 0, 4);
      packet.writeUInt32BE(0x1234abcd, 8);
      for (let i = 0; i < 160; i++) packet[12 + i] = linearToUlaw(8000 * Math.sin((phase += (2 * Math.PI * 440) / 8000)));
      ts += 160;
      socket.send(packet, to.port, to.ip);
      if (seq >= 100) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  expect(Date.now() - sent).toBeGreaterThan(1800);
  await bridge.leave();
  await bridge.destroy({ room: 'rec-test' });
  socket.close();
  audioMjr = path.join(recDir, 'phone-audio.mjr');

  // Video: VP8 over RTP from ffmpeg into a Streaming mountpoint that records it.
  const handle = await session.attach(StreamingPlugin);
  const streaming = (body: Record<string, unknown>): Promise<JanusMessage> => handle.sendRequest({ janus: 'message', body }, 10_000);
  const created = await streaming({ request: 'create', type: 'rtp', id: 'cam', media: [{ type: 'video', mid: 'v', port: 0, pt: 96, codec: 'vp8' }] });
  const port = (created.plugindata?.data.stream as { ports: Array<{ port: number }> }).ports[0]!.port;
  const recording = await streaming({ request: 'recording', action: 'start', id: 'cam', media: [{ mid: 'v', filename: path.join(recDir, 'camera') }] });
  expect(recording.plugindata?.data.streaming).toBe('ok');
  await new Promise<void>((resolve, reject) => {
    const ff = spawn(
      'ffmpeg',
      ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-payload_type', '96', '-f', 'rtp', `rtp://127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    ff.once('error', reject);
    ff.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}`))));
  });
  await streaming({ request: 'recording', action: 'stop', id: 'cam', media: [{ mid: 'v' }] });
  await streaming({ request: 'destroy', id: 'cam' });
  videoMjr = path.join(recDir, 'camera.mjr');
}, 60_000);

afterAll(async () => {
  await session?.destroy().catch(() => undefined);
  await conn?.close().catch(() => undefined);
  if (janus && janus.exitCode === null) {
    const exited = new Promise((r) => janus!.once('exit', r));
    janus.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (janus.exitCode === null) janus.kill('SIGKILL');
  }
  if (root) await rm(root, { recursive: true, force: true });
}, 30_000);

test('an AudioBridge participant’s .mjr becomes a WAV of the length that was sent', async () => {
  expect((await stat(audioMjr)).size).toBeGreaterThan(10_000);
  const source = path.join(recDir, 'audio-copy.mjr');
  await copyFile(audioMjr, source);
  const out = await makePlayable(source, path.join(root, 'out', 'audio'));
  expect(out).toMatchObject({ kind: 'audio', mimeType: 'audio/wav', codec: 'pcmu', path: path.join(root, 'out', 'audio.wav') });
  const probe = await ffprobe(out.path);
  expect(Math.abs(probe.durationMs - 2000)).toBeLessThan(250);
  expect(Math.abs(out.durationMs - probe.durationMs)).toBeLessThan(5);
  expect(out.bytes).toBe((await stat(out.path)).size);
  expect(out.firstPacketAt).toBeGreaterThan(Date.now() - 120_000);
  expect(await decodeErrors(out.path)).toBe('');
  // Consumed on success; no temporary files left beside the result.
  await expect(stat(source)).rejects.toThrow();
  expect(await readdir(path.join(root, 'out'))).toEqual(['audio.wav']);
});

test('a VP8 .mjr becomes a WebM with its seek index before the media, that ffmpeg decodes whole', async () => {
  const header = execFileSync('janus-pp-rec', ['--json', '--header', videoMjr], { encoding: 'utf8' });
  expect(JSON.parse(header.trim().split('\n').find((l) => l.startsWith('{'))!)).toMatchObject({ t: 'v', c: 'vp8' });
  const source = path.join(recDir, 'video-copy.mjr');
  await copyFile(videoMjr, source);
  const out = await makePlayable(source, path.join(root, 'out', 'video'));
  expect(out).toMatchObject({ kind: 'video', mimeType: 'video/webm', codec: 'vp8', path: path.join(root, 'out', 'video.webm') });
  const probe = await ffprobe(out.path);
  expect(probe.codec).toBe('vp8');
  expect(Math.abs(probe.durationMs - 2000)).toBeLessThan(300);
  expect(await decodeErrors(out.path)).toBe('');
  const order = segmentChildren(await readFile(out.path));
  expect(order.indexOf('Cues')).toBeGreaterThan(-1);
  expect(order.indexOf('Cues')).toBeLessThan(order.indexOf('Cluster'));
  await expect(stat(source)).rejects.toThrow();
  expect((await readdir(path.join(root, 'out'))).sort()).toEqual(['audio.wav', 'video.webm']);
});

describe('failures are reported, and leave the source where it was', () => {
  test('a header-only .mjr (the media server recorded nothing)', async () => {
    const source = path.join(recDir, 'empty.mjr');
    await writeFile(source, (await readFile(videoMjr)).subarray(0, 8));
    await expect(makePlayable(source, path.join(root, 'fail', 'empty'))).rejects.toThrow(PostprocessError);
    await expect(makePlayable(source, path.join(root, 'fail', 'empty'))).rejects.toThrow(/no Janus recording header/);
    expect((await stat(source)).size).toBe(8);
    expect(await readdir(path.join(root, 'fail'))).toEqual([]);
  });

  test('a missing tool, a tool that takes too long, an empty or missing source, a bad path', async () => {
    const source = path.join(recDir, 'kept.mjr');
    await copyFile(videoMjr, source);
    await expect(makePlayable(source, path.join(root, 'fail', 'x'), { janusPpRec: '/nonexistent/janus-pp-rec' })).rejects.toThrow(/janus-pp-rec is not installed/);
    await expect(makePlayable(source, path.join(root, 'fail', 'x'), { ffmpeg: '/nonexistent/ffmpeg' })).rejects.toThrow(/ffmpeg is not installed/);
    await expect(makePlayable(source, path.join(root, 'fail', 'x'), { probeTimeoutMs: 1 })).rejects.toThrow(/did not finish within/);
    expect((await stat(source)).size).toBeGreaterThan(0);
    const empty = path.join(recDir, 'empty.wav');
    await writeFile(empty, '');
    await expect(makePlayable(empty, path.join(root, 'fail', 'y'))).rejects.toThrow(/empty/);
    await expect(makePlayable(path.join(recDir, 'nothing.mjr'), path.join(root, 'fail', 'z'))).rejects.toThrow(/does not exist/);
    await expect(makePlayable('relative.mjr', path.join(root, 'fail', 'z'))).rejects.toThrow(TypeError);
    await expect(makePlayable(source, `${root}/fail/../escape`)).rejects.toThrow(TypeError);
    await expect(makePlayable(source, path.join(root, 'fail', '-rf'))).rejects.toThrow(TypeError);
    expect(await readdir(path.join(root, 'fail'))).toEqual([]);
  });
});
