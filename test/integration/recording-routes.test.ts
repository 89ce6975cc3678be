// The recording routes through the real HTTP app (buildHttpApp, its guards and error mapping) with
// a real listener: who may list and fetch a task's recordings, byte ranges for media elements,
// downloads, and signed playback links.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import winston from 'winston';
import { openDatabase } from '../../db/data-source.js';
import { QueueEntity, RecordingEntity, TaskEntity, type RecordingRow, type TaskRow } from '../../db/entities.js';
import { loadConfig } from '../../lib/config.js';
import type { Logger } from '../../lib/logger.js';
import { RecordingService } from '../../recordings/recording-service.js';
import { TokenService } from '../../signaling/auth/tokens.js';
import { Metrics } from '../../signaling/metrics.js';
import { buildHttpApp, type HttpDeps } from '../../signaling/http/app.js';

const logger = winston.createLogger({ silent: true }) as unknown as Logger;
const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

let dir: string;
let ds: DataSource;
let app: FastifyInstance;
let recordings: RecordingService;
let tokens: TokenService;
let base: string;
const agentId = randomUUID();
let task: TaskRow;
let audio: RecordingRow;
let failed: RecordingRow;
let fileBytes: Buffer;
const bearer: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mccs-recroutes-'));
  const config = loadConfig({ MCCS_DATA_DIR: dir, MCCS_WEB_ROOT: '', MCCS_JANUS: 'off', MCCS_TOKEN_SECRET: SECRET });
  ds = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') });
  tokens = new TokenService(SECRET, { staffSeconds: 3600, visitorSeconds: 3600 });
  recordings = new RecordingService(
    { recordings: ds.getRepository(RecordingEntity), queues: ds.getRepository(QueueEntity), tasks: ds.getRepository(TaskEntity) },
    { dir: config.recordings.dir, defaultRetentionDays: config.recordings.retentionDays, linkSecret: SECRET, logger },
  );
  // Only what the recording routes use is real; the other routes are registered but not called.
  const unused = undefined as never;
  app = await buildHttpApp({
    config,
    logger,
    metrics: new Metrics(),
    tokens,
    recordings,
    accounts: unused,
    queues: unused,
    customers: unused,
    chat: unused,
    queueMonitor: unused,
    media: unused,
    readiness: [],
  } satisfies HttpDeps);
  // (fastify.inject would be lighter, but light-my-request cannot be loaded under jest's ESM mode.)
  base = await app.listen({ host: '127.0.0.1', port: 0 });

  await ds.query(`INSERT INTO queues (id, name, description, created_at, record_calls) VALUES ('sales', 'Sales', '', 1, ${config.db.kind === 'sqlite' ? 1 : 'true'})`);
  task = {
    id: randomUUID(), channel: 'call', queueId: 'sales', customerId: randomUUID(), status: 'completed', priority: 0, firstMessage: 'Audio call',
    agentId, enqueuedAt: 1, offeredAt: null, acceptedAt: null, endedAt: null, endReason: null, wrapUpCode: null, wrapUpNotes: null,
    completedAt: null, requirements: null, callbackNumber: null, callbackRequestedAt: null,
  };
  await ds.getRepository(TaskEntity).insert(task);
  const incoming = (await recordings.recordDirFor('sales'))!;
  const sessionId = randomUUID();
  const mix = path.join(incoming, `${sessionId}-mix.wav`);
  execFileSync('sox', ['-V1', '-n', '-r', '16000', '-c', '1', '-b', '16', mix, 'synth', '1', 'sine', '440']);
  const bad = path.join(incoming, `${sessionId}-cam-video-1.mjr`);
  execFileSync('sh', ['-c', 'printf garbage > "$1"', 'sh', bad]);
  const endedAt = Date.now();
  [audio, failed] = (await recordings.processSession({
    mediaSessionId: sessionId, taskId: task.id, queueId: 'sales', startedAt: endedAt - 1000, endedAt,
    files: [{ kind: 'audio-mix', path: mix }, { kind: 'video-feed', path: bad, feedId: 'cam' }],
  })) as [RecordingRow, RecordingRow];
  expect(audio.state).toBe('ready');
  expect(failed.state).toBe('failed');
  fileBytes = readFileSync(path.join(config.recordings.dir, audio.filePath!));

  for (const [name, role, id] of [['admin', 'admin', randomUUID()], ['supervisor', 'supervisor', randomUUID()], ['agent', 'agent', agentId], ['otherAgent', 'agent', randomUUID()]] as const) {
    bearer[name] = (await tokens.issueStaff(id, role, false)).token;
  }
  bearer.visitor = (await tokens.issueVisitor(task.customerId)).token;
});

afterAll(async () => {
  await app?.close();
  await recordings?.stop();
  await ds?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Res {
  statusCode: number;
  headers: Record<string, string>;
  rawPayload: Buffer;
  json<T = { error: { code: string } }>(): T;
}

async function request(method: string, url: string, who?: string, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(base + url, { method, headers: { ...(who ? { authorization: `Bearer ${bearer[who]}` } : {}), ...headers } });
  const rawPayload = Buffer.from(await res.arrayBuffer());
  return {
    statusCode: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    rawPayload,
    json: <T,>() => JSON.parse(rawPayload.toString('utf8')) as T,
  };
}

const get = (url: string, who?: string, headers: Record<string, string> = {}) => request('GET', url, who, headers);
const link = (id: string, who?: string) => request('POST', `/api/recordings/${id}/link`, who);

describe('who may list and fetch', () => {
  it.each([
    ['admin', 200],
    ['supervisor', 200],
    ['agent', 200], // the agent the task is assigned to
    ['otherAgent', 403],
    ['visitor', 403],
    [undefined, 401],
  ] as const)('%s: list %i, file the same', async (who, status) => {
    const list = await get(`/api/tasks/${task.id}/recordings`, who);
    expect(list.statusCode).toBe(status);
    const file = await get(`/api/recordings/${audio.id}/file`, who);
    expect(file.statusCode).toBe(status);
    if (status === 200) {
      const body = list.json<Array<Record<string, unknown>>>();
      expect(body.map((r) => r.id).sort()).toEqual([audio.id, failed.id].sort());
      const view = body.find((r) => r.id === audio.id)!;
      expect(view).toMatchObject({ kind: 'audio', state: 'ready', mimeType: 'audio/wav', bytes: fileBytes.length, fileUrl: `/api/recordings/${audio.id}/file` });
      expect(view).not.toHaveProperty('filePath');
      expect(body.find((r) => r.id === failed.id)).toMatchObject({ state: 'failed', fileUrl: null });
      expect(file.rawPayload.equals(fileBytes)).toBe(true);
    } else {
      expect(list.json().error.code).toBe({ 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN' }[status]);
    }
  });

  it('unknown tasks and recordings are 404, a failed recording 409', async () => {
    expect((await get(`/api/tasks/${randomUUID()}/recordings`, 'admin')).json().error.code).toBe('NOT_FOUND');
    const unknown = await get(`/api/recordings/${randomUUID()}/file`, 'admin');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
    const bad = await get(`/api/recordings/${failed.id}/file`, 'admin');
    expect(bad.statusCode).toBe(409);
    expect(bad.json().error.code).toBe('INVALID_STATE');
  });
});

describe('serving the file', () => {
  it('sends the whole file with its type, length and range support', async () => {
    const res = await get(`/api/recordings/${audio.id}/file`, 'agent');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    expect(res.headers['content-length']).toBe(String(fileBytes.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['content-disposition']).toMatch(/^inline; filename="recording-[\w-]+\.wav"$/);
    expect(res.headers['cache-control']).toBe('private, no-store');
  });

  it('answers a range with 206 and exactly those bytes', async () => {
    const res = await get(`/api/recordings/${audio.id}/file`, 'supervisor', { range: 'bytes=100-199' });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 100-199/${fileBytes.length}`);
    expect(res.headers['content-length']).toBe('100');
    expect(res.rawPayload.equals(fileBytes.subarray(100, 200))).toBe(true);

    const open = await get(`/api/recordings/${audio.id}/file`, 'supervisor', { range: 'bytes=1000-' });
    expect(open.statusCode).toBe(206);
    expect(open.rawPayload.equals(fileBytes.subarray(1000))).toBe(true);
    const suffix = await get(`/api/recordings/${audio.id}/file`, 'supervisor', { range: 'bytes=-44' });
    expect(suffix.headers['content-range']).toBe(`bytes ${fileBytes.length - 44}-${fileBytes.length - 1}/${fileBytes.length}`);
    expect(suffix.rawPayload.equals(fileBytes.subarray(-44))).toBe(true);
  });

  it('says 416 with the size for a range past the end, and ignores a range when If-Range does not match', async () => {
    const res = await get(`/api/recordings/${audio.id}/file`, 'admin', { range: `bytes=${fileBytes.length}-` });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${fileBytes.length}`);
    expect(res.json().error.code).toBe('RANGE_NOT_SATISFIABLE');

    const stale = await get(`/api/recordings/${audio.id}/file`, 'admin', { range: 'bytes=0-9', 'if-range': '"something-else"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(fileBytes.length);
    const fresh = await get(`/api/recordings/${audio.id}/file`, 'admin', { range: 'bytes=0-9', 'if-range': String((await get(`/api/recordings/${audio.id}/file`, 'admin')).headers.etag) });
    expect(fresh.statusCode).toBe(206);
  });

  it('download=1 asks the browser to save it', async () => {
    const res = await get(`/api/recordings/${audio.id}/file?download=1`, 'admin');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="recording-[\w-]+\.wav"$/);
  });
});

describe('playback links', () => {
  it('are issued to those allowed, and play without an Authorization header', async () => {
    const issued = await link(audio.id, 'agent');
    expect(issued.statusCode).toBe(200);
    const { url, expiresAt } = issued.json<{ url: string; expiresAt: number }>();
    expect(url).toMatch(new RegExp(`^/api/recordings/${audio.id}/file\\?token=`));
    expect(expiresAt).toBeGreaterThan(Date.now() + 240_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 301_000);

    const played = await get(url, undefined, { range: 'bytes=0-43' });
    expect(played.statusCode).toBe(206);
    expect(played.rawPayload.equals(fileBytes.subarray(0, 44))).toBe(true);
    const saved = await get(`${url}&download=1`);
    expect(saved.headers['content-disposition']).toMatch(/^attachment;/);
  });

  it('are refused to others, and for a recording that cannot play', async () => {
    for (const who of ['otherAgent', 'visitor']) {
      expect((await link(audio.id, who)).statusCode).toBe(403);
    }
    expect((await link(audio.id)).statusCode).toBe(401);
    expect((await link(failed.id, 'admin')).statusCode).toBe(409);
  });

  it('do not open another recording, and forged or expired ones are 401', async () => {
    const { token } = recordings.createLink(failed.id, agentId);
    const other = await get(`/api/recordings/${audio.id}/file?token=${encodeURIComponent(token)}`);
    expect(other.statusCode).toBe(401);
    expect(other.json().error.code).toBe('UNAUTHENTICATED');
    const expired = recordings.createLink(audio.id, agentId, Date.now() - 3_600_000).token;
    const old = await get(`/api/recordings/${audio.id}/file?token=${encodeURIComponent(expired)}`);
    expect(old.statusCode).toBe(401);
    expect(old.json().error.code).toBe('TOKEN_EXPIRED');
    expect((await get(`/api/recordings/${audio.id}/file?token=nonsense`)).statusCode).toBe(401);
    // A staff session token is not a playback link (too long to even be one).
    const session = await get(`/api/recordings/${audio.id}/file?token=${bearer.admin}`);
    expect(session.statusCode).toBe(400);
    expect(session.json().error.code).toBe('VALIDATION');
  });
});

it('the recordings folder is where the configuration says', () => {
  expect(recordings.dir).toBe(path.join(dir, 'recordings'));
  expect(statSync(path.join(dir, 'recordings', audio.filePath!)).size).toBe(fileBytes.length);
});

it('the routes are in the OpenAPI description', async () => {
  const doc = (await get('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
  expect(Object.keys(doc.paths['/api/tasks/{taskId}/recordings'] ?? {})).toContain('get');
  expect(Object.keys(doc.paths['/api/recordings/{id}/link'] ?? {})).toContain('post');
  expect(Object.keys(doc.paths['/api/recordings/{id}/file'] ?? {})).toContain('get');
});

it('HEAD gives the headers a player needs without the body', async () => {
  const res = await request('HEAD', `/api/recordings/${audio.id}/file`, 'admin');
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-length']).toBe(String(fileBytes.length));
  expect(res.headers['accept-ranges']).toBe('bytes');
  expect(res.rawPayload.length).toBe(0);
});
