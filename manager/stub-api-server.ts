// A stand-in for the mccs server's service API (protocol/manager.ts), in memory: it serves a given
// configuration, records submissions and source states, and hands out outcomes queued on it. For the
// Manager's tests and benchmark, and for trying a Manager without a server. Not for production.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  SocialPostSubmission,
  SourceStatusBody,
  type PolicyConfig,
  type PostOutcome,
  type SourceConfig,
} from '../protocol/manager.js';

const submission = TypeCompiler.Compile(SocialPostSubmission);
const sourceStatus = TypeCompiler.Compile(SourceStatusBody);

export class StubApiServer {
  readonly submissions: SocialPostSubmission[] = [];
  readonly statuses = new Map<string, SourceStatusBody[]>();
  readonly #outcomes: PostOutcome[] = [];
  readonly #tasks = new Map<string, string>();
  readonly #server: http.Server;
  /** Sent as is by GET config (tests may put invalid items here). */
  config: { sources: unknown[]; policies: unknown[] };
  /** Answer submissions with this status instead (tests of a failing server). */
  failSubmissionsWith: number | undefined;
  requests = 0;

  private constructor(
    readonly token: string,
    config: { sources: SourceConfig[]; policies: PolicyConfig[] },
  ) {
    this.config = config;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
  }

  static async start(token: string, config: { sources: SourceConfig[]; policies: PolicyConfig[] }): Promise<StubApiServer> {
    const stub = new StubApiServer(token, config);
    await new Promise<void>((resolve) => stub.#server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The latest state reported for a source. */
  status(sourceId: string): SourceStatusBody | undefined {
    return this.statuses.get(sourceId)?.at(-1);
  }

  addOutcome(outcome: PostOutcome): void {
    this.#outcomes.push(outcome);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body?: unknown) => {
        res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, { error: { code: 'UNAUTHENTICATED', message: 'bad token' } });
      const url = new URL(req.url ?? '/', 'http://stub');
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        return reply(400, { error: { code: 'MALFORMED_JSON', message: 'not JSON' } });
      }
      const statusPath = /^\/api\/service\/manager\/sources\/([^/]+)\/status$/.exec(url.pathname);
      if (req.method === 'GET' && url.pathname === '/api/service/manager/config') return reply(200, this.config);
      if (req.method === 'POST' && url.pathname === '/api/service/manager/posts') {
        if (this.failSubmissionsWith) return reply(this.failSubmissionsWith, { error: { code: 'INTERNAL', message: 'failing on purpose' } });
        if (!submission.Check(body)) return reply(400, { error: { code: 'VALIDATION', message: [...submission.Errors(body)][0]?.message ?? 'invalid' } });
        const key = `${body.post.sourceId}\u0000${body.post.externalId}`;
        const existing = this.#tasks.get(key);
        if (existing) return reply(200, { taskId: existing, duplicate: true });
        const taskId = `task-${this.#tasks.size + 1}`;
        this.#tasks.set(key, taskId);
        this.submissions.push(body);
        return reply(201, { taskId });
      }
      if (req.method === 'PUT' && statusPath) {
        if (!sourceStatus.Check(body)) return reply(400, { error: { code: 'VALIDATION', message: 'invalid status' } });
        const id = decodeURIComponent(statusPath[1]!);
        const list = this.statuses.get(id) ?? [];
        list.push(body);
        this.statuses.set(id, list);
        return reply(204);
      }
      if (req.method === 'GET' && url.pathname === '/api/service/manager/outcomes') {
        const after = Number(url.searchParams.get('after') ?? 0) || 0;
        const page = this.#outcomes.slice(after, after + 100);
        return reply(200, { outcomes: page, cursor: String(after + page.length) });
      }
      reply(404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
