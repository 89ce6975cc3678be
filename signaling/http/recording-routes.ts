// Call recordings over HTTP: the list for a task, the file (byte ranges, so <audio>/<video> can seek),
// and short-lived signed links for media elements, which cannot send an Authorization header.
// Admins and supervisors may use every recording; an agent those of tasks assigned to them.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { RecordingLinkReply, RecordingView } from '../../protocol/http.js';
import type { RecordingRow } from '../../db/entities.js';
import { DomainError } from '../../lib/errors.js';
import type { RecordingService, StaffRef } from '../../recordings/recording-service.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff, STAFF_ROLES } from './guards.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const FileQuery = Type.Object(
  {
    /** A playback link's token (POST /api/recordings/:id/link), instead of an Authorization header. */
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** 1: Content-Disposition attachment (save), otherwise inline (play). */
    download: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);

export function recordingView(r: RecordingRow): RecordingView {
  return {
    id: r.id,
    taskId: r.taskId,
    mediaSessionId: r.mediaSessionId,
    queueId: r.queueId,
    kind: r.kind,
    feedId: r.feedId,
    state: r.state,
    failureReason: r.failureReason,
    mimeType: r.mimeType,
    bytes: r.bytes,
    durationMs: r.durationMs,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    fileUrl: r.state === 'ready' ? `/api/recordings/${r.id}/file` : null,
  };
}

export function registerRecordingRoutes(app: FastifyInstance, deps: { tokens: TokenService; recordings: RecordingService }): void {
  const staff = requireStaff(deps.tokens, STAFF_ROLES);
  const security = [{ bearer: [] }];
  const who = (req: FastifyRequest): StaffRef => ({ accountId: req.staff!.accountId, role: req.staff!.role });

  app.get<{ Params: { taskId: string } }>(
    '/api/tasks/:taskId/recordings',
    {
      preHandler: staff,
      schema: {
        summary: "A task's call recordings (mixed audio, video feeds), with their state and retention",
        description: 'Admins and supervisors see every task; an agent only tasks assigned to them.',
        tags: ['recordings'],
        security,
        params: Type.Object({ taskId: Id }),
        response: { 200: Type.Array(RecordingView) },
      },
    },
    async (req) => {
      await deps.recordings.authorizeTask(who(req), req.params.taskId);
      return (await deps.recordings.listForTask(req.params.taskId)).map(recordingView);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/recordings/:id/link',
    {
      preHandler: staff,
      schema: {
        summary: 'A playback URL for <audio>/<video> elements, valid for a few minutes',
        description: 'The URL carries a signed token bound to this recording; add `&download=1` to save the file instead.',
        tags: ['recordings'],
        security,
        params: Type.Object({ id: Id }),
        response: { 200: RecordingLinkReply },
      },
    },
    async (req) => {
      const recording = await deps.recordings.authorizeRecording(who(req), req.params.id);
      await deps.recordings.open(recording.id); // a link to nothing playable would only fail later
      const { token, expiresAt } = deps.recordings.createLink(recording.id, req.staff!.accountId);
      req.logger.info('recording link issued', { recordingId: recording.id, taskId: recording.taskId, by: req.staff!.accountId });
      return { url: `/api/recordings/${recording.id}/file?token=${encodeURIComponent(token)}`, expiresAt };
    },
  );

  app.get<{ Params: { id: string }; Querystring: Static<typeof FileQuery> }>(
    '/api/recordings/:id/file',
    {
      schema: {
        summary: 'The recording file; honours Range (206) for playback and seeking',
        description:
          'Authorised by a bearer token (admin, supervisor, or the agent of the task) or by `token` from POST /api/recordings/:id/link. `download=1` asks the browser to save it.',
        tags: ['recordings'],
        security: [{ bearer: [] }, {}],
        params: Type.Object({ id: Id }),
        querystring: FileQuery,
      },
    },
    async (req, reply) => {
      let by: string;
      if (req.query.token) {
        by = deps.recordings.verifyLink(req.params.id, req.query.token).accountId;
      } else {
        await staff.call(app, req, reply);
        by = req.staff!.accountId;
        await deps.recordings.authorizeRecording(who(req), req.params.id);
      }
      const file = await deps.recordings.open(req.params.id);
      return sendFile(req, reply, file, { download: req.query.download === '1' || req.query.download === 'true', by });
    },
  );
}

type Opened = Awaited<ReturnType<RecordingService['open']>>;

function sendFile(req: FastifyRequest, reply: FastifyReply, file: Opened, opts: { download: boolean; by: string }): FastifyReply {
  const size = file.bytes;
  const etag = `"${file.recording.id}-${size}"`;
  void reply
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('cache-control', 'private, no-store')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', `${opts.download ? 'attachment' : 'inline'}; filename="${file.fileName}"`)
    .type(file.mimeType);

  // If-Range with another validator: the file changed, so the whole of it is sent.
  const ifRange = req.headers['if-range'];
  const range = ifRange && ifRange !== etag ? null : parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    void reply.header('content-range', `bytes */${size}`);
    throw new DomainError('RANGE_NOT_SATISFIABLE', `range ${req.headers.range} is outside the file (${size} bytes)`, { size });
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const level = start === 0 ? 'info' : 'debug';
  req.logger.log(level, 'recording served', { recordingId: file.recording.id, taskId: file.recording.taskId, by: opts.by, start, end, download: opts.download });
  if (range) void reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`);
  void reply.header('content-length', String(size === 0 ? 0 : end - start + 1));
  // HEAD: headers only. An empty stream keeps our content-length (Fastify would read a file stream to its end to discard it).
  if (req.method === 'HEAD') return reply.send(Readable.from([]));
  if (size === 0) return reply.send('');
  return reply.send(createReadStream(file.path, { start, end }));
}

/**
 * One `bytes=` range of RFC 9110: `a-b`, `a-` or `-suffix`. null: no Range header, or one we ignore
 * (other units, several ranges, malformed), which means the whole file with 200.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}
