// The recording service on both databases: the migration (recordings table, queue policy columns),
// finalize() turning what the media server wrote into rows and files, who may use them, and the
// retention sweep deleting expired files while keeping fresh ones.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import winston from 'winston';
import { openDatabase } from '../../db/data-source.js';
import { QueueEntity, RecordingEntity, TaskEntity, type QueueRow, type TaskRow } from '../../db/entities.js';
import type { Config } from '../../lib/config.js';
import { DomainError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { CallRecorder } from '../../calls/call-service.js';
import { RecordingService } from '../../recordings/recording-service.js';
import { createTempDatabase } from '../support/postgres.js';

const logger = winston.createLogger({ silent: true }) as unknown as Logger;
const DAY = 86_400_000;

type Dialect = { name: string; open(): Promise<{ db: Config['db']; cleanup(): Promise<void> }> };
const dialects: Dialect[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(tmpdir(), 'mccs-recdb-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'test.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const temp = await createTempDatabase();
      return { db: { kind: 'postgres', url: temp.url }, cleanup: () => temp.drop() };
    },
  },
];

function queue(id: string, recordCalls: boolean, recordingRetentionDays: number | null): QueueRow {
  return {
    id,
    name: id,
    description: '',
    requiredSkill: null,
    createdAt: 1,
    strategy: 'longest_idle',
    skills: [],
    languages: [],
    rule: null,
    relaxation: [],
    linearOrder: [],
    weights: {},
    ringAllWidth: null,
    preferredAgentSeconds: 0,
    maxWaiting: null,
    overflowQueueId: null,
    businessHours: null,
    closedAction: 'wait',
    chatsDuringCalls: false,
    recordCalls,
    recordingRetentionDays,
  };
}

function task(queueId: string, agentId: string | null): TaskRow {
  return {
    id: randomUUID(),
    channel: 'call',
    queueId,
    customerId: randomUUID(),
    status: 'completed',
    priority: 0,
    firstMessage: 'Audio call',
    agentId,
    enqueuedAt: 1,
    offeredAt: null,
    acceptedAt: null,
    endedAt: null,
    endReason: null,
    wrapUpCode: null,
    wrapUpNotes: null,
    completedAt: null,
    requirements: null,
    callbackNumber: null,
    callbackRequestedAt: null,
  };
}

/** A mix as the AudioBridge writes it (16 kHz mono 16-bit), `seconds` long. */
function writeMix(file: string, seconds: number): void {
  execFileSync('sox', ['-V1', '-n', '-r', '16000', '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', '300']);
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof DomainError ? err.code : `not a DomainError: ${String(err)}`;
  }
  return undefined;
}

describe.each(dialects)('recordings on $name', (dialect) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let dir: string;
  let service: RecordingService;
  const agentId = randomUUID();
  let recorded: TaskRow;

  beforeAll(async () => {
    const opened = await dialect.open();
    cleanup = opened.cleanup;
    ds = await openDatabase(opened.db);
    dir = mkdtempSync(path.join(tmpdir(), 'mccs-recordings-'));
    service = new RecordingService(
      { recordings: ds.getRepository(RecordingEntity), queues: ds.getRepository(QueueEntity), tasks: ds.getRepository(TaskEntity) },
      { dir, defaultRetentionDays: 90, linkSecret: 'link-secret-for-tests-0123456789', logger },
    );
    await ds.getRepository(QueueEntity).insert([queue('sales', true, 7), queue('quiet', false, null), queue('longer', true, null)]);
    recorded = task('sales', agentId);
    await ds.getRepository(TaskEntity).insert(recorded);
  });

  afterAll(async () => {
    await service?.stop();
    await ds?.destroy();
    await cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the migration adds the recordings table and the queue policy, which round-trip', async () => {
    expect(await ds.createQueryRunner().hasTable('recordings')).toBe(true);
    expect(await ds.showMigrations()).toBe(false);
    const back = await ds.getRepository(QueueEntity).findOneByOrFail({ id: 'sales' });
    expect(back.recordCalls).toBe(true);
    expect(back.recordingRetentionDays).toBe(7);
    // A queue inserted without the new columns (as before the migration) does not record.
    await ds.query(`INSERT INTO queues (id, name, description, created_at) VALUES ('legacy', 'Legacy', '', 1)`);
    expect(await ds.getRepository(QueueEntity).findOneByOrFail({ id: 'legacy' })).toMatchObject({ recordCalls: false, recordingRetentionDays: null });
  });

  test('the call service can use it as its CallRecorder', async () => {
    const recorder: CallRecorder = service;
    const recordDir = (await recorder.recordDirFor('sales'))!;
    const sessionId = randomUUID();
    writeMix(path.join(recordDir, `${sessionId}-mix.wav`), 0.3);
    const t = task('sales', agentId);
    await ds.getRepository(TaskEntity).insert(t);
    const endedAt = Date.now();
    await recorder.finalize({ mediaSessionId: sessionId, taskId: t.id, queueId: 'sales', startedAt: endedAt - 300, endedAt, files: [{ kind: 'audio-mix', path: path.join(recordDir, `${sessionId}-mix.wav`) }] });
    expect(await service.listForTask(t.id)).toMatchObject([{ mediaSessionId: sessionId, kind: 'audio', state: 'ready' }]);
  });

  test('policy: a recording queue gets a folder for the media server, others none; retention falls back to the default', async () => {
    expect(await service.policy('sales')).toEqual({ record: true, retentionDays: 7 });
    expect(await service.policy('longer')).toEqual({ record: true, retentionDays: 90 });
    expect(await service.policy('quiet')).toEqual({ record: false, retentionDays: 90 });
    expect(await service.policy('no-such-queue')).toEqual({ record: false, retentionDays: 90 });
    const incoming = await service.recordDirFor('sales');
    expect(incoming).toBe(path.join(dir, 'incoming'));
    expect(statSync(incoming!).isDirectory()).toBe(true);
    expect(await service.recordDirFor('quiet')).toBeUndefined();
  });

  test('finalize stores the mix as a ready recording and records why other files failed', async () => {
    const sessionId = randomUUID();
    const incoming = (await service.recordDirFor('sales'))!;
    const mix = path.join(incoming, `${sessionId}-mix.wav`);
    writeMix(mix, 2);
    const damaged = path.join(incoming, `${sessionId}-camera-video-1.mjr`);
    writeFileSync(damaged, 'MJR00002 and then nothing useful');
    const outside = path.join(tmpdir(), `${sessionId}-elsewhere.mjr`);
    writeFileSync(outside, 'x');
    const endedAt = Date.now() - 3_600_000;
    const startedAt = endedAt - 2000;
    const day = path.join(...new Date(endedAt).toISOString().slice(0, 10).split('-'));

    const rows = await service.processSession({
      mediaSessionId: sessionId,
      taskId: recorded.id,
      queueId: 'sales',
      startedAt,
      endedAt,
      files: [
        { kind: 'audio-mix', path: mix },
        { kind: 'video-feed', path: damaged, feedId: 'camera' },
        { kind: 'video-feed', path: outside, feedId: 'elsewhere' },
        { kind: 'video-feed', path: path.join(incoming, `${sessionId}-gone-video-1.mjr`), feedId: 'gone' },
      ],
    });
    expect(rows).toHaveLength(4);
    const [audio, bad, foreign, gone] = rows;

    expect(audio).toMatchObject({ kind: 'audio', feedId: null, state: 'ready', mimeType: 'audio/wav', failureReason: null, startedAt, queueId: 'sales' });
    expect(Math.abs(audio!.durationMs! - 2000)).toBeLessThan(50);
    expect(audio!.filePath).toBe(path.join(day, `${audio!.id}.wav`));
    expect(audio!.bytes).toBe(statSync(path.join(dir, audio!.filePath!)).size);
    expect(audio!.expiresAt).toBe(endedAt + 7 * DAY);
    expect(existsSync(mix)).toBe(false); // moved, not copied

    expect(bad).toMatchObject({ kind: 'video', feedId: 'camera', state: 'failed' });
    expect(bad!.failureReason).toMatch(/janus-pp-rec|header|damaged/);
    expect(bad!.filePath).toBe(path.join(day, `${bad!.id}.source.mjr`)); // kept for a manual retry, under retention
    expect(existsSync(path.join(dir, bad!.filePath!))).toBe(true);

    expect(foreign).toMatchObject({ state: 'failed', filePath: null });
    expect(foreign!.failureReason).toMatch(/outside the recordings folder/);
    expect(existsSync(outside)).toBe(true); // not ours to move
    rmSync(outside);
    expect(gone).toMatchObject({ state: 'failed', filePath: null });
    expect(gone!.failureReason).toMatch(/does not exist/);

    // Stored, and listed for the task; a second finalize of the same session adds nothing.
    const listed = await service.listForTask(recorded.id);
    expect(listed.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(listed[0]!.bytes).toBe(audio!.bytes); // BIGINT comes back as a number
    expect(await service.processSession({ mediaSessionId: sessionId, taskId: recorded.id, queueId: 'sales', startedAt, endedAt, files: [{ kind: 'audio-mix', path: mix }] })).toEqual([]);

    const opened = await service.open(audio!.id);
    expect(opened).toMatchObject({ path: path.join(dir, audio!.filePath!), mimeType: 'audio/wav', bytes: audio!.bytes });
    const stamp = new Date(startedAt).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    expect(opened.fileName).toBe(`recording-${recorded.id.slice(0, 8)}-audio-${stamp}.wav`);
    expect(await codeOf(service.open(bad!.id))).toBe('INVALID_STATE');
    expect(await codeOf(service.open(randomUUID()))).toBe('NOT_FOUND');
  });

  test('admins, supervisors and the assigned agent may use a task’s recordings; others may not', async () => {
    const [rec] = await service.listForTask(recorded.id);
    const ok = async (role: 'admin' | 'supervisor' | 'agent', accountId: string) => codeOf(service.authorizeRecording({ role, accountId }, rec!.id));
    expect(await ok('admin', randomUUID())).toBeUndefined();
    expect(await ok('supervisor', randomUUID())).toBeUndefined();
    expect(await ok('agent', agentId)).toBeUndefined();
    expect(await ok('agent', randomUUID())).toBe('FORBIDDEN');
    expect(await codeOf(service.authorizeTask({ role: 'admin', accountId: 'a' }, randomUUID()))).toBe('NOT_FOUND');
    expect(await codeOf(service.authorizeRecording({ role: 'admin', accountId: 'a' }, randomUUID()))).toBe('NOT_FOUND');
  });

  test('the retention sweep deletes expired files and marks them deleted, keeps fresh ones, and cleans stale incoming files', async () => {
    const incoming = (await service.recordDirFor('sales'))!;
    const now = Date.now();
    const finalize = async (endedAt: number, seconds: number, queueId = 'sales') => {
      const sessionId = randomUUID();
      const mix = path.join(incoming, `${sessionId}-mix.wav`);
      writeMix(mix, seconds);
      const t = task(queueId, agentId);
      await ds.getRepository(TaskEntity).insert(t);
      const [row] = await service.processSession({ mediaSessionId: sessionId, taskId: t.id, queueId, startedAt: endedAt - seconds * 1000, endedAt, files: [{ kind: 'audio-mix', path: mix }] });
      expect(row?.state).toBe('ready');
      return row!;
    };
    const expired = await finalize(now - 8 * DAY, 0.5); // sales keeps 7 days
    const fresh = await finalize(now - 6 * DAY, 0.5);
    const longer = await finalize(now - 8 * DAY, 0.5, 'longer'); // the 90-day default
    const damaged = path.join(incoming, `${randomUUID()}-cam-video-1.mjr`);
    writeFileSync(damaged, 'not a recording');
    const [failedExpired] = await service.processSession({
      mediaSessionId: randomUUID(), taskId: recorded.id, queueId: 'sales', startedAt: now - 9 * DAY, endedAt: now - 9 * DAY,
      files: [{ kind: 'video-feed', path: damaged, feedId: 'cam' }],
    });
    expect(failedExpired).toMatchObject({ state: 'failed' });
    expect(existsSync(path.join(dir, failedExpired!.filePath!))).toBe(true);
    const earlier = (await service.listForTask(recorded.id)).filter((r) => r.endedAt > now - DAY && r.filePath);
    expect(earlier.length).toBeGreaterThan(0);
    const staleRaw = path.join(incoming, `${randomUUID()}-mix.wav`);
    const liveRaw = path.join(incoming, `${randomUUID()}-mix.wav`);
    writeFileSync(staleRaw, 'left by a crash');
    writeFileSync(liveRaw, 'a call under way');
    const old = (now - 91 * DAY) / 1000;
    utimesSync(staleRaw, old, old);

    const sweepAt = now;
    const deleted = await service.sweepExpired(sweepAt);
    const byId = async (id: string) => ds.getRepository(RecordingEntity).findOneByOrFail({ id });
    expect((await byId(expired.id)).state).toBe('deleted');
    expect((await byId(expired.id)).filePath).toBeNull();
    expect(existsSync(path.join(dir, expired.filePath!))).toBe(false);
    for (const kept of [fresh, longer, ...earlier]) {
      expect((await byId(kept.id)).state).toBe(kept.state);
      expect(existsSync(path.join(dir, kept.filePath!))).toBe(true);
    }
    expect((await byId(failedExpired!.id)).state).toBe('deleted');
    expect(existsSync(path.join(dir, failedExpired!.filePath!))).toBe(false);
    expect(deleted).toBe(2);
    expect(existsSync(staleRaw)).toBe(false);
    expect(existsSync(liveRaw)).toBe(true);
    // Metadata stays; the file is gone for good.
    expect(await codeOf(service.open(expired.id))).toBe('NOT_FOUND');
    expect(await service.sweepExpired(sweepAt)).toBe(0);
    // An emptied day folder is removed (the one of `longer` stays), the recordings folder itself never.
    expect(existsSync(path.dirname(path.join(dir, failedExpired!.filePath!)))).toBe(false);
    expect(existsSync(path.dirname(path.join(dir, expired.filePath!)))).toBe(true);
    expect(existsSync(dir)).toBe(true);
  });

  test('start() sweeps at once and on its timer; stop() waits for work under way', async () => {
    const incoming = (await service.recordDirFor('sales'))!;
    const sessionId = randomUUID();
    const mix = path.join(incoming, `${sessionId}-mix.wav`);
    writeMix(mix, 0.2);
    const t = task('sales', agentId);
    await ds.getRepository(TaskEntity).insert(t);
    const endedAt = Date.now() - 30 * DAY;
    const [row] = await service.processSession({ mediaSessionId: sessionId, taskId: t.id, queueId: 'sales', startedAt: endedAt - 200, endedAt, files: [{ kind: 'audio-mix', path: mix }] });
    const timed = new RecordingService(
      { recordings: ds.getRepository(RecordingEntity), queues: ds.getRepository(QueueEntity), tasks: ds.getRepository(TaskEntity) },
      { dir, defaultRetentionDays: 90, linkSecret: 'link-secret-for-tests-0123456789', logger, sweepIntervalMs: 50 },
    );
    timed.start();
    timed.start(); // idempotent
    const deadline = Date.now() + 5000;
    while ((await ds.getRepository(RecordingEntity).findOneByOrFail({ id: row!.id })).state !== 'deleted') {
      if (Date.now() > deadline) throw new Error('the timed sweep did not run');
      await new Promise((r) => setTimeout(r, 20));
    }
    await timed.stop();
    await timed.stop();
  });
});

test('a recordings folder that is not absolute is refused', () => {
  expect(
    () =>
      new RecordingService({} as never, { dir: 'relative/recordings', defaultRetentionDays: 90, linkSecret: 'link-secret-for-tests-0123456789', logger }),
  ).toThrow(TypeError);
});
