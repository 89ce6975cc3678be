// Turns what Janus wrote during a call into files a browser plays:
//   .wav (AudioBridge mix)   measured from its header, then moved as it is
//   .mjr (recorded RTP)      janus-pp-rec extracts the frames into the codec's container (VP8/VP9 →
//                            WebM, H.264/AV1/H.265 → MP4, Opus → Ogg, G.711/G.722 → WAV); WebM is
//                            then remuxed by ffmpeg with its cues (seek index) at the front, so a
//                            player can seek before the whole file has arrived; ffprobe gives the length
// Every tool runs without a shell, with an argument list of absolute paths, under a timeout.
// The source is consumed only on success; on failure it stays where it was and the error says why.
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { parseWav, WAV_HEADER_BYTES } from './wav.js';

export const POSTPROCESS_DEFAULTS = {
  janusPpRec: 'janus-pp-rec',
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffprobe',
  /** Per conversion step: both tools copy frames without re-encoding, minutes of call take seconds. */
  timeoutMs: 10 * 60_000,
  /** Header reads and ffprobe. */
  probeTimeoutMs: 30_000,
} as const;

export interface PostprocessOptions {
  /** Program names (looked up on PATH) or absolute paths. */
  janusPpRec?: string;
  ffmpeg?: string;
  ffprobe?: string;
  timeoutMs?: number;
  probeTimeoutMs?: number;
}

export interface PlayableRecording {
  kind: 'audio' | 'video';
  /** Absolute path of the playable file: `destinationBase` plus the container's extension. */
  path: string;
  mimeType: string;
  bytes: number;
  durationMs: number;
  /** The media server's codec name (pcm for a .wav mix). */
  codec: string;
  /** When the media server wrote the stream's first packet (epoch ms); known for .mjr files only. */
  firstPacketAt: number | null;
}

/** A recording could not be made playable; the message is one line, fit for the database and logs. */
export class PostprocessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostprocessError';
  }
}

interface Target {
  kind: 'audio' | 'video';
  ext: string;
  mimeType: string;
  /** Extra janus-pp-rec arguments before the file names. */
  ppArgs?: string[];
  /** Remux with ffmpeg afterwards to put the WebM cues first. */
  remuxCues?: boolean;
}

/** What janus-pp-rec 1.1 writes for each codec it can extract (`janus-pp-rec --file-extensions`). */
const TARGETS: Record<string, Target> = {
  vp8: { kind: 'video', ext: 'webm', mimeType: 'video/webm', remuxCues: true },
  vp9: { kind: 'video', ext: 'webm', mimeType: 'video/webm', remuxCues: true },
  h264: { kind: 'video', ext: 'mp4', mimeType: 'video/mp4', ppArgs: ['--faststart'] },
  h265: { kind: 'video', ext: 'mp4', mimeType: 'video/mp4', ppArgs: ['--faststart'] },
  av1: { kind: 'video', ext: 'mp4', mimeType: 'video/mp4', ppArgs: ['--faststart'] },
  opus: { kind: 'audio', ext: 'ogg', mimeType: 'audio/ogg' },
  multiopus: { kind: 'audio', ext: 'ogg', mimeType: 'audio/ogg' },
  pcmu: { kind: 'audio', ext: 'wav', mimeType: 'audio/wav' },
  pcma: { kind: 'audio', ext: 'wav', mimeType: 'audio/wav' },
  g722: { kind: 'audio', ext: 'wav', mimeType: 'audio/wav' },
};

const SAFE_BASENAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Makes `source` (.wav or .mjr, absolute) playable at `destinationBase` + extension (absolute, its
 * folder is created). Resolves with what was written; rejects with PostprocessError.
 */
export async function makePlayable(source: string, destinationBase: string, opts: PostprocessOptions = {}): Promise<PlayableRecording> {
  checkPath('source', source);
  checkPath('destination', destinationBase);
  if (!SAFE_BASENAME.test(path.basename(destinationBase))) throw new TypeError(`unsafe destination name ${JSON.stringify(path.basename(destinationBase))}`);
  const info = await lstat(source).catch(() => undefined);
  if (!info) throw new PostprocessError(`source file ${source} does not exist`);
  if (!info.isFile()) throw new PostprocessError(`source ${source} is not a regular file`);
  if (info.size === 0) throw new PostprocessError(`source file ${source} is empty: the media server recorded nothing`);
  await mkdir(path.dirname(destinationBase), { recursive: true, mode: 0o750 });

  const ext = path.extname(source).toLowerCase();
  if (ext === '.wav') return moveWav(source, info.size, destinationBase);
  if (ext === '.mjr') return convertMjr(source, destinationBase, { ...POSTPROCESS_DEFAULTS, ...opts });
  throw new PostprocessError(`cannot post-process ${path.basename(source)}: expected a .wav or .mjr file`);
}

// ---- .wav --------------------------------------------------------------------------------------

/** Duration of a WAVE file from its header. */
export async function wavDurationMs(file: string): Promise<number> {
  const { size } = await stat(file);
  return parseWav(await readHead(file, WAV_HEADER_BYTES), size).durationMs;
}

async function moveWav(source: string, size: number, destinationBase: string): Promise<PlayableRecording> {
  let durationMs: number;
  try {
    durationMs = parseWav(await readHead(source, WAV_HEADER_BYTES), size).durationMs;
  } catch (err) {
    throw new PostprocessError(`${path.basename(source)}: ${(err as Error).message}`);
  }
  const target = `${destinationBase}.wav`;
  await moveFile(source, target);
  return { kind: 'audio', path: target, mimeType: 'audio/wav', bytes: size, durationMs, codec: 'pcm', firstPacketAt: null };
}

// ---- .mjr --------------------------------------------------------------------------------------

interface MjrHeader {
  /** a(udio), v(ideo) or d(ata). */
  t: string;
  c: string;
  /** Created and first-packet-written times, µs since the epoch. */
  s?: number;
  u?: number;
}

type Tools = Required<PostprocessOptions>;

async function convertMjr(source: string, destinationBase: string, tools: Tools): Promise<PlayableRecording> {
  const header = await readMjrHeader(source, tools);
  const target = TARGETS[header.c.toLowerCase()];
  if (!target) throw new PostprocessError(`${path.basename(source)}: codec ${header.c} cannot be converted to a playable file`);
  const final = `${destinationBase}.${target.ext}`;
  const extracted = target.remuxCues ? `${destinationBase}.extract.${target.ext}` : `${destinationBase}.part.${target.ext}`;
  try {
    await run(tools.janusPpRec, ['--disable-colors', '--debug-level=2', ...(target.ppArgs ?? []), source, extracted], tools.timeoutMs);
    await nonEmpty(extracted, 'janus-pp-rec');
    if (target.remuxCues) {
      // -c copy: no re-encoding; cues_to_front rewrites the file once the index is known.
      await run(
        tools.ffmpeg,
        ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', extracted, '-map', '0', '-c', 'copy', '-cues_to_front', '1', '-f', 'webm', `${destinationBase}.part.${target.ext}`],
        tools.timeoutMs,
      );
      await nonEmpty(`${destinationBase}.part.${target.ext}`, 'ffmpeg');
    }
    const durationMs = await probeDurationMs(`${destinationBase}.part.${target.ext}`, tools);
    await rename(`${destinationBase}.part.${target.ext}`, final);
    await chmod(final, 0o640).catch(() => undefined);
    const { size } = await stat(final);
    await unlink(source).catch(() => undefined);
    return {
      kind: target.kind,
      path: final,
      mimeType: target.mimeType,
      bytes: size,
      durationMs,
      codec: header.c.toLowerCase(),
      firstPacketAt: typeof header.u === 'number' && header.u > 0 ? Math.round(header.u / 1000) : null,
    };
  } finally {
    await rm(extracted, { force: true });
    await rm(`${destinationBase}.part.${target.ext}`, { force: true });
  }
}

async function readMjrHeader(source: string, tools: Tools): Promise<MjrHeader> {
  const { stdout } = await run(tools.janusPpRec, ['--json', '--header', '--disable-colors', '--debug-level=0', source], tools.probeTimeoutMs);
  // janus-pp-rec prints the header as one JSON line and exits 0 even when the file has none.
  const line = stdout.split('\n').find((l) => l.trim().startsWith('{'));
  let header: Partial<MjrHeader> | undefined;
  try {
    header = line ? (JSON.parse(line) as Partial<MjrHeader>) : undefined;
  } catch {
    header = undefined;
  }
  if (!header || typeof header.c !== 'string' || typeof header.t !== 'string') {
    throw new PostprocessError(`${path.basename(source)}: no Janus recording header (empty or damaged .mjr)`);
  }
  return header as MjrHeader;
}

async function probeDurationMs(file: string, tools: Tools): Promise<number> {
  const { stdout } = await run(tools.ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', file], tools.probeTimeoutMs);
  let seconds = NaN;
  try {
    seconds = Number((JSON.parse(stdout) as { format?: { duration?: string } }).format?.duration);
  } catch {
    // reported below
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new PostprocessError(`ffprobe found no duration in ${path.basename(file)}: the converted file is not playable`);
  return Math.round(seconds * 1000);
}

// ---- helpers -----------------------------------------------------------------------------------

function checkPath(what: string, p: string): void {
  if (typeof p !== 'string' || !path.isAbsolute(p) || p.includes('\0') || path.normalize(p) !== p) {
    throw new TypeError(`${what} must be a normalised absolute path, got ${JSON.stringify(p)}`);
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function nonEmpty(file: string, tool: string): Promise<void> {
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size === 0) throw new PostprocessError(`${tool} wrote no output: the recording holds no usable media`);
}

/** rename, or copy and delete across file systems; never overwrites. */
async function moveFile(from: string, to: string): Promise<void> {
  if (await lstat(to).then(() => true, () => false)) throw new PostprocessError(`destination ${to} exists`);
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw new PostprocessError(`cannot move ${path.basename(from)}: ${(err as Error).message}`);
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
    await unlink(from);
  }
  await chmod(to, 0o640).catch(() => undefined);
}

interface ToolOutput {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8', shell: false }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
      const name = path.basename(cmd);
      if (e.code === 'ENOENT') return reject(new PostprocessError(`${name} is not installed (apt-get install ${name === 'janus-pp-rec' ? 'janus-tools' : 'ffmpeg'})`));
      if (e.killed) return reject(new PostprocessError(`${name} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      reject(new PostprocessError(`${name} failed (${typeof e.code === 'number' ? `exit code ${e.code}` : e.signal ?? e.code}): ${lastLine(stderr || stdout)}`));
    });
  });
}

function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.findLast((l) => /err|fail|invalid|cannot/i.test(l)) ?? lines.at(-1) ?? 'no output';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
