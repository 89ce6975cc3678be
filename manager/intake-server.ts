// The Manager's own small HTTP listener: WebSub hubs call back here (GET to verify a subscription,
// POST to deliver content) and webhook senders post here. Each source registers the handlers for its
// id; bodies reach them as raw bytes, since signatures are computed over the exact bytes sent.
import Fastify, { type FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../lib/logger.js';

export interface IntakeReply {
  status: number;
  body?: string | Record<string, unknown>;
}

export interface IntakeHandlers {
  /** GET /websub/:id: the hub verifies intent (query hub.mode, hub.topic, hub.challenge, hub.lease_seconds). */
  websubVerify?(query: Record<string, string>): IntakeReply;
  /** POST /websub/:id: content distribution. */
  websubDeliver?(body: Buffer, headers: IncomingHttpHeaders): IntakeReply;
  /** POST /webhook/:id */
  webhook?(body: Buffer, headers: IncomingHttpHeaders): IntakeReply;
}

export interface IntakeOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Largest body accepted; larger ones get 413. */
  bodyLimitBytes: number;
  logger: Logger;
}

export class IntakeServer {
  readonly #app: FastifyInstance;
  readonly #handlers = new Map<string, IntakeHandlers>();
  #closed = false;
  port = 0;

  private constructor(app: FastifyInstance) {
    this.#app = app;
  }

  static async listen(options: IntakeOptions): Promise<IntakeServer> {
    const app = Fastify({ bodyLimit: options.bodyLimitBytes, logger: false });
    const server = new IntakeServer(app);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    const handlers = (sourceId: string) => server.#handlers.get(sourceId);
    const send = (reply: { code(n: number): { send(b?: unknown): unknown } }, result: IntakeReply | undefined) =>
      result ? reply.code(result.status).send(result.body ?? '') : reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such source' } });
    const raw = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

    app.get<{ Params: { sourceId: string }; Querystring: Record<string, string> }>('/websub/:sourceId', (req, reply) =>
      send(reply, handlers(req.params.sourceId)?.websubVerify?.(req.query)),
    );
    app.post<{ Params: { sourceId: string } }>('/websub/:sourceId', (req, reply) =>
      send(reply, handlers(req.params.sourceId)?.websubDeliver?.(raw(req.body), req.headers)),
    );
    app.post<{ Params: { sourceId: string } }>('/webhook/:sourceId', (req, reply) =>
      send(reply, handlers(req.params.sourceId)?.webhook?.(raw(req.body), req.headers)),
    );
    app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) options.logger.error('intake handler failed', { err });
      reply.code(status).send({ error: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST', message: status === 500 ? 'internal error' : err.message } });
    });
    await app.listen({ host: options.host, port: options.port });
    const address = app.server.address();
    server.port = typeof address === 'object' && address ? address.port : options.port;
    return server;
  }

  /** Routes a source's callbacks here until the returned function is called. Throws if the id is taken. */
  register(sourceId: string, handlers: IntakeHandlers): () => void {
    if (this.#handlers.has(sourceId)) throw new Error(`source id ${sourceId} is already served by this Manager's listener (another server's source?)`);
    this.#handlers.set(sourceId, handlers);
    return () => {
      if (this.#handlers.get(sourceId) === handlers) this.#handlers.delete(sourceId);
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#app.close();
  }
}
