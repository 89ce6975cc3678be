// Call recordings: the queue's policy (record or not, how long to keep), the folder the media server
// records into, turning its files into playable ones after the call (media/recording/postprocess.ts),
// one row per recorded stream, who may play them, short-lived playback links, and the retention sweep.
//
// Folder layout under MCCS_RECORDINGS_DIR:
//   incoming/<sessionId>-…            what the media server writes while a call runs
//   YYYY/MM/DD/<recordingId>.<ext>     finished recordings (the day the call ended, UTC)
// Names in the folder are ours (UUIDs), never user input; the database keeps paths relative to it.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { In, LessThanOrEqual, type Repository } from 'typeorm';
import type { QueueRow, RecordingKind, RecordingRow, Role, TaskRow } from '../db/entities.js';
import { DomainError, ForbiddenError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { RecordingFile } from '../media/index.js';
import { makePlayable, PostprocessError, type PostprocessOptions } from '../media/recording/postprocess.js';

export const RECORDING_DEFAULTS = {
  /** How often the retention sweep runs once start() is called. */
  sweepIntervalMs: 3_600_000,
  /** Lifetime of a playback link (POST /api/recordings/:id/link). */
  linkTtlSeconds: 300,
  /** Files post-processed at the same time; each runs janus-pp-rec and ffmpeg. */
  concurrency: 1,
  /** Rows handled per database round trip in the sweep. */
  sweepBatch: 200,
} as const;

const DAY_MS = 86_400_000;

export interface RecordingServiceRepos {
  recordings: Repository<RecordingRow>;
  queues: Repository<QueueRow>;
  tasks: Repository<TaskRow>;
}

export interface RecordingServiceOptions {
  /** MCCS_RECORDINGS_DIR (absolute). */
  dir: string;
  /** MCCS_RECORDING_RETENTION_DAYS: for queues without a retention of their own. */
  defaultRetentionDays: number;
  /** Secret the playback links are signed with (the token secret; a separate key is derived from it). */
  linkSecret: string;
  logger: Logger;
  sweepIntervalMs?: number;
  linkTtlSeconds?: number;
  concurrency?: number;
  /** Other folders finalize() accepts files from (a remote Janus's share mounted here). */
  extraSourceDirs?: string[];
  postprocess?: PostprocessOptions;
}

export interface FinalizeInput {
  mediaSessionId: string;
  taskId: string;
  queueId: string;
  /** What the media server wrote for the session (MediaRoom.recordingFiles() after destroy()). */
  files: RecordingFile[];
  startedAt: number;
  endedAt: number;
}

/** Who asks: a signed-in staff member. */
export interface StaffRef {
  accountId: string;
  role: Role;
}

export interface OpenedRecording {
  recording: RecordingRow;
  /** Absolute path of the file. */
  path: string;
  mimeType: string;
  bytes: number;
  /** A name for Content-Disposition: recording-<task>-<kind>-<date>.<ext>. */
  fileName: string;
}

export class RecordingService {
  readonly #repos: RecordingServiceRepos;
  readonly #dir: string;
  readonly #incoming: string;
  readonly #opts: Required<Omit<RecordingServiceOptions, 'extraSourceDirs' | 'postprocess' | 'linkSecret'>> & Pick<RecordingServiceOptions, 'postprocess'>;
  readonly #linkKey: Buffer;
  readonly #log: Logger;
  readonly #sourceDirs: string[];
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #slots: number;
  readonly #waiting: Array<() => void> = [];

  constructor(repos: RecordingServiceRepos, opts: RecordingServiceOptions) {
    if (!path.isAbsolute(opts.dir)) throw new TypeError(`recordings dir must be absolute, got ${opts.dir}`);
    if (!(Number.isInteger(opts.defaultRetentionDays) && opts.defaultRetentionDays >= 1)) throw new TypeError('defaultRetentionDays must be a whole number ≥ 1');
    if (!opts.linkSecret || opts.linkSecret.length < 16) throw new TypeError('linkSecret must be at least 16 characters');
    this.#repos = repos;
    this.#dir = path.resolve(opts.dir);
    this.#incoming = path.join(this.#dir, 'incoming');
    this.#opts = {
      dir: this.#dir,
      defaultRetentionDays: opts.defaultRetentionDays,
      logger: opts.logger,
      sweepIntervalMs: opts.sweepIntervalMs ?? RECORDING_DEFAULTS.sweepIntervalMs,
      linkTtlSeconds: opts.linkTtlSeconds ?? RECORDING_DEFAULTS.linkTtlSeconds,
      concurrency: opts.concurrency ?? RECORDING_DEFAULTS.concurrency,
      postprocess: opts.postprocess,
    };
    this.#slots = Math.max(1, this.#opts.concurrency);
    // Domain separation: a link key can never verify a session token, nor the other way round.
    this.#linkKey = createHmac('sha256', opts.linkSecret).update('mccs recording links v1').digest();
    this.#log = opts.logger;
    this.#sourceDirs = [this.#incoming, ...(opts.extraSourceDirs ?? []).map((d) => path.resolve(d))];
  }

  /** The recordings folder (absolute). */
  get dir(): string {
    return this.#dir;
  }

  // ---- policy, and where the media server writes ---------------------------------------------------

  /** Whether the queue records its calls, and how many days it keeps them. Unknown queues do not record. */
  async policy(queueId: string): Promise<{ record: boolean; retentionDays: number }> {
    const queue = await this.#repos.queues.findOneBy({ id: queueId });
    return { record: queue?.recordCalls === true, retentionDays: queue?.recordingRetentionDays ?? this.#opts.defaultRetentionDays };
  }

  /**
   * The folder to give the media server (RoomOptions.recordDir) for a call of this queue; undefined
   * when the queue does not record. Created on first use. Files in it are named after the session.
   */
  async recordDirFor(queueId: string): Promise<string | undefined> {
    if (!(await this.policy(queueId)).record) return undefined;
    await mkdir(this.#incoming, { recursive: true, mode: 0o750 });
    return this.#incoming;
  }

  // ---- after a call -------------------------------------------------------------------------------

  /**
   * Makes each file playable, moves it into the recordings folder and stores a row for it ('ready',
   * or 'failed' with the reason). Never rejects: failures are logged and recorded. A second call
   * for the same session skips streams already stored. (The call service's CallRecorder.finalize.)
   */
  async finalize(input: FinalizeInput): Promise<void> {
    await this.processSession(input);
  }

  /** finalize(), resolving with the rows it stored. */
  processSession(input: FinalizeInput): Promise<RecordingRow[]> {
    const work = this.#finalize(input).catch((err: unknown) => {
      this.#log.error('recordings of a call could not be stored', { mediaSessionId: input.mediaSessionId, taskId: input.taskId, err });
      return [] as RecordingRow[];
    });
    return this.#track(work);
  }

  async #finalize(input: FinalizeInput): Promise<RecordingRow[]> {
    const { retentionDays } = await this.policy(input.queueId);
    const existing = await this.#repos.recordings.findBy({ mediaSessionId: input.mediaSessionId });
    const stored: RecordingRow[] = [];
    for (const file of input.files) {
      const feedId = file.feedId ? file.feedId.slice(0, 64) : null;
      const declared: RecordingKind = file.kind === 'audio-mix' ? 'audio' : 'video';
      // The mix is the one stream without a feed id; a feed is known by its id whatever it turned out to hold.
      if (existing.some((r) => r.feedId === feedId && (feedId !== null || r.kind === 'audio'))) continue;
      try {
        stored.push(await this.#withSlot(() => this.#store(input, file, declared, feedId, retentionDays)));
      } catch (err) {
        this.#log.error('a recording could not be stored', { mediaSessionId: input.mediaSessionId, taskId: input.taskId, source: file.path, err });
      }
    }
    return stored;
  }

  async #store(input: FinalizeInput, file: RecordingFile, declared: RecordingKind, feedId: string | null, retentionDays: number): Promise<RecordingRow> {
    const id = randomUUID();
    const day = new Date(input.endedAt).toISOString().slice(0, 10).split('-'); // [YYYY, MM, DD]
    const relativeBase = path.join(...day, id);
    const base: RecordingRow = {
      id,
      taskId: input.taskId,
      mediaSessionId: input.mediaSessionId,
      queueId: input.queueId,
      kind: declared,
      feedId,
      filePath: null,
      mimeType: null,
      bytes: null,
      durationMs: null,
      state: 'failed',
      failureReason: null,
      startedAt: input.startedAt,
      endedAt: input.endedAt,
      createdAt: Date.now(),
      expiresAt: input.endedAt + retentionDays * DAY_MS,
    };
    const log = { recordingId: id, mediaSessionId: input.mediaSessionId, taskId: input.taskId, source: file.path };
    let row: RecordingRow;
    const source = await this.#checkedSource(file.path);
    if (typeof source !== 'string') {
      row = { ...base, failureReason: source.reason };
    } else {
      try {
        const done = await makePlayable(source, path.join(this.#dir, relativeBase), this.#opts.postprocess);
        const startedAt = done.firstPacketAt ?? input.startedAt;
        row = {
          ...base,
          kind: done.kind,
          filePath: path.relative(this.#dir, done.path),
          mimeType: done.mimeType,
          bytes: done.bytes,
          durationMs: done.durationMs,
          state: 'ready',
          startedAt,
          endedAt: Math.max(startedAt + done.durationMs, startedAt),
        };
      } catch (err) {
        const reason = err instanceof PostprocessError || err instanceof TypeError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
        // The raw file is kept beside where the playable one would be, under the same retention,
        // so an operator can retry by hand and the sweep still deletes it in time.
        const kept = await this.#keepSource(source, `${relativeBase}.source${path.extname(source).toLowerCase()}`);
        row = { ...base, filePath: kept, failureReason: `${reason}${kept ? ` (original kept as ${kept})` : ''}`.slice(0, 500) };
      }
    }
    try {
      await this.#repos.recordings.insert(row);
    } catch (err) {
      this.#log.error('recording made but its row could not be stored; the file is unreferenced', { ...log, file: row.filePath, err });
      throw err;
    }
    if (row.state === 'ready') this.#log.info('recording stored', { ...log, kind: row.kind, ms: row.durationMs, bytes: row.bytes });
    else this.#log.warn('recording failed', { ...log, reason: row.failureReason });
    return row;
  }

  /** The real path of a file the media server wrote, when it lies in a folder we record into. */
  async #checkedSource(file: string): Promise<string | { reason: string }> {
    if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0')) return { reason: 'the media server reported an invalid file path' };
    const ext = path.extname(file).toLowerCase();
    if (ext !== '.wav' && ext !== '.mjr') return { reason: `unexpected recording file type ${ext || '(none)'}` };
    const real = await realpath(file).catch(() => undefined);
    if (!real) return { reason: `the media server's file ${path.basename(file)} does not exist (not written, or written on another machine)` };
    for (const dir of this.#sourceDirs) {
      const root = await realpath(dir).catch(() => undefined);
      if (root && real.startsWith(root + path.sep)) return real;
    }
    return { reason: `${path.basename(file)} is outside the recordings folder; not touched` };
  }

  async #keepSource(source: string, relative: string): Promise<string | null> {
    try {
      const target = path.join(this.#dir, relative);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o750 });
      await rename(source, target);
      return relative;
    } catch {
      return null;
    }
  }

  // ---- reading ------------------------------------------------------------------------------------

  async listForTask(taskId: string): Promise<RecordingRow[]> {
    return this.#repos.recordings.find({ where: { taskId }, order: { startedAt: 'ASC', kind: 'ASC', id: 'ASC' } });
  }

  /** Admins and supervisors see every task's recordings; an agent those of tasks assigned to them. */
  async authorizeTask(staff: StaffRef, taskId: string): Promise<TaskRow> {
    const task = await this.#repos.tasks.findOneBy({ id: taskId });
    if (!task) throw new NotFoundError(`task ${taskId}`);
    if (staff.role === 'admin' || staff.role === 'supervisor') return task;
    if (staff.role === 'agent' && task.agentId === staff.accountId) return task;
    throw new ForbiddenError('only the agent the task is assigned to, supervisors and admins may use its recordings');
  }

  /** The recording, when `staff` may use it (NOT_FOUND, FORBIDDEN otherwise). */
  async authorizeRecording(staff: StaffRef, recordingId: string): Promise<RecordingRow> {
    const row = await this.#repos.recordings.findOneBy({ id: recordingId });
    if (!row) throw new NotFoundError(`recording ${recordingId}`);
    await this.authorizeTask(staff, row.taskId);
    return row;
  }

  /** The file behind a ready recording. NOT_FOUND when unknown, deleted or missing; INVALID_STATE when it failed. */
  async open(recordingId: string): Promise<OpenedRecording> {
    const row = await this.#repos.recordings.findOneBy({ id: recordingId });
    if (!row) throw new NotFoundError(`recording ${recordingId}`);
    if (row.state === 'deleted') throw new DomainError('NOT_FOUND', `recording ${recordingId} was deleted at the end of its retention period`);
    if (row.state === 'failed' || !row.filePath || !row.mimeType) {
      throw new InvalidStateError(`recording ${recordingId} could not be made playable: ${row.failureReason ?? 'no file'}`);
    }
    const file = this.#inside(row.filePath);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      this.#log.error('recording file missing', { recordingId, file });
      throw new DomainError('NOT_FOUND', `the file of recording ${recordingId} is missing on this server`);
    }
    const date = new Date(row.startedAt).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const who = row.feedId ? `-${row.feedId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40)}` : '';
    const fileName = `recording-${row.taskId.slice(0, 8)}-${row.kind}${who}-${date}${path.extname(row.filePath)}`;
    return { recording: row, path: file, mimeType: row.mimeType, bytes: info.size, fileName };
  }

  // ---- playback links -----------------------------------------------------------------------------

  /** A token that lets whoever holds it fetch this recording's file until it expires. */
  createLink(recordingId: string, accountId: string, now = Date.now()): { token: string; expiresAt: number } {
    const exp = Math.floor(now / 1000) + this.#opts.linkTtlSeconds;
    return { token: `${exp}.${accountId}.${this.#mac(recordingId, accountId, exp)}`, expiresAt: exp * 1000 };
  }

  /** The account that asked for the link; UNAUTHENTICATED when forged or for another recording, TOKEN_EXPIRED when old. */
  verifyLink(recordingId: string, token: string, now = Date.now()): { accountId: string } {
    const m = /^(\d{1,12})\.([A-Za-z0-9-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (m) {
      const exp = Number(m[1]);
      const expected = Buffer.from(this.#mac(recordingId, m[2]!, exp));
      const given = Buffer.from(m[3]!);
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        if (exp * 1000 <= now) throw new DomainError('TOKEN_EXPIRED', 'playback link expired: ask for a new one');
        return { accountId: m[2]! };
      }
    }
    throw new DomainError('UNAUTHENTICATED', 'invalid playback link');
  }

  #mac(recordingId: string, accountId: string, exp: number): string {
    return createHmac('sha256', this.#linkKey).update(`${recordingId}\n${accountId}\n${exp}`).digest('base64url');
  }

  // ---- retention ----------------------------------------------------------------------------------

  /**
   * Deletes the files of recordings whose retention has run out and marks their rows deleted (the
   * metadata stays). Also removes media-server files in incoming/ older than the default retention
   * (left by a crash mid-call). Returns how many recordings were deleted.
   */
  /** Erasure: the recordings of these tasks expire now and are deleted by the sweep. */
  async expireForTasks(taskIds: string[], now = Date.now()): Promise<number> {
    if (!taskIds.length) return 0;
    await this.#repos.recordings.update({ taskId: In(taskIds), state: In(['ready', 'failed']) }, { expiresAt: now });
    return this.sweepExpired(now);
  }

  sweepExpired(now = Date.now()): Promise<number> {
    this.#sweeping ??= this.#track(this.#sweep(now)).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(now: number): Promise<number> {
    let deleted = 0;
    const stuck = new Set<string>();
    for (;;) {
      const batch = await this.#repos.recordings.find({
        where: { state: In(['ready', 'failed']), expiresAt: LessThanOrEqual(now) },
        order: { expiresAt: 'ASC', id: 'ASC' },
        take: RECORDING_DEFAULTS.sweepBatch + stuck.size,
      });
      const todo = batch.filter((r) => !stuck.has(r.id));
      if (todo.length === 0) break;
      for (const row of todo) {
        try {
          if (row.filePath) {
            const file = this.#inside(row.filePath);
            await rm(file, { force: true });
            await this.#pruneEmptyParents(path.dirname(file));
          }
          const done = await this.#repos.recordings.update({ id: row.id, state: row.state }, { state: 'deleted', filePath: null });
          if (done.affected) deleted++;
        } catch (err) {
          stuck.add(row.id);
          this.#log.error('could not delete an expired recording; will retry at the next sweep', { recordingId: row.id, err });
        }
      }
      if (todo.length < RECORDING_DEFAULTS.sweepBatch) break;
    }
    await this.#sweepIncoming(now);
    if (deleted) this.#log.info('expired recordings deleted', { deleted });
    return deleted;
  }

  async #sweepIncoming(now: number): Promise<void> {
    const limit = now - this.#opts.defaultRetentionDays * DAY_MS;
    const names = await readdir(this.#incoming).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(this.#incoming, name);
      const info = await lstat(file).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs <= limit) {
        await rm(file, { force: true }).catch(() => undefined);
        this.#log.warn('removed a stale media-server recording file (left by an interrupted call)', { file });
      }
    }
  }

  /** Removes now-empty day, month and year folders up to (not including) the recordings folder. */
  async #pruneEmptyParents(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.#dir + path.sep) && d !== this.#incoming; d = path.dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }

  /** Starts the hourly retention sweep (one runs at once). Idempotent. */
  start(): void {
    if (this.#timer) return;
    const run = (): void => {
      this.sweepExpired().catch((err: unknown) => this.#log.error('recording retention sweep failed', { err }));
    };
    this.#timer = setInterval(run, this.#opts.sweepIntervalMs);
    this.#timer.unref();
    run();
  }

  /** Stops the timer and waits for post-processing and a sweep under way. Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight]);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** An absolute path for a stored relative one, refusing anything that would leave the folder. */
  #inside(relative: string): string {
    const file = path.resolve(this.#dir, relative);
    if (!file.startsWith(this.#dir + path.sep)) throw new TypeError(`recording path ${relative} leaves the recordings folder`);
    return file;
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  async #withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#slots > 0) this.#slots--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#slots++;
    }
  }
}
