// A Mastodon-compatible streaming source: server-sent events over a long GET with a bearer token.
// `update` events carry statuses; other events (delete, notification, ...) and comments (heartbeats)
// are ignored. A dropped or silent connection is reopened after a backoff, with Last-Event-ID so the
// server can resume; the server's `retry:` raises the first wait.
import { backoffDelay } from './backoff.js';
import { FetchError, openStream } from './http-fetch.js';
import { readUpdates } from './sse-updates.js';
import { reasonOf, type Source, type SourceContext } from './source.js';

/** No byte for this long (not even a heartbeat) means the connection is dead. */
export const STREAM_IDLE_TIMEOUT_MS = 120_000;

export class StreamSource implements Source {
  readonly id: string;
  #closed = false;
  #failures = 0;
  #itemsSeen = 0;
  #lastEventId: string | undefined;
  #serverRetryMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #close: (() => void) | undefined;
  readonly #abort = new AbortController();

  constructor(
    private readonly ctx: SourceContext,
    private readonly idleTimeoutMs = STREAM_IDLE_TIMEOUT_MS,
  ) {
    this.id = ctx.config.id;
  }

  start(): void {
    if (!this.ctx.config.url) {
      this.ctx.onStatus({ state: 'error', reason: 'no stream URL configured' });
      return;
    }
    this.#timer = setTimeout(() => void this.#connect(), 0);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (this.ctx.config.streamToken) headers.authorization = `Bearer ${this.ctx.config.streamToken}`;
    if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
    try {
      const { response, close } = await openStream(this.ctx.config.url!, { headers, connectTimeoutMs: this.ctx.limits.connectTimeoutMs, signal: this.#abort.signal });
      this.#close = close;
      const type = String(response.headers['content-type'] ?? '');
      if (!type.startsWith('text/event-stream')) {
        close();
        throw new FetchError(`not an event stream (content-type ${type.slice(0, 60) || 'missing'})`);
      }
      this.ctx.onStatus({ state: 'ok', reason: 'connected', lastFetchAt: Date.now(), itemsSeen: this.#itemsSeen });
      await this.#read(response, close);
      throw new FetchError('the stream ended');
    } catch (err) {
      this.#close = undefined;
      if (this.#closed) return;
      this.#failures++;
      const retryAfter = err instanceof FetchError ? err.retryAfterMs : undefined;
      const next = Math.max(retryAfter ?? 0, this.#serverRetryMs, backoffDelay(this.#failures, this.ctx.backoff));
      const reason = reasonOf(err);
      this.ctx.logger.warn('stream disconnected', { sourceId: this.id, reason, retryInMs: next });
      this.ctx.onStatus({ state: retryAfter !== undefined ? 'backoff' : 'error', reason, nextFetchAt: Date.now() + next, itemsSeen: this.#itemsSeen });
      this.#timer = setTimeout(() => void this.#connect(), next);
    }
  }

  /** Reads events until the stream ends or fails; resolves on end, rejects on failure. */
  #read(response: NodeJS.ReadableStream, close: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let failed: Error | undefined;
      const fail = (err: Error) => {
        failed ??= err;
        close();
      };
      const reader = readUpdates(this.id, {
        onPost: (post) => {
          this.#failures = 0;
          this.#itemsSeen++;
          this.ctx.onStatus({ state: 'ok', lastFetchAt: Date.now(), itemsSeen: this.#itemsSeen });
          this.ctx.onPosts([post]);
        },
        onSkip: (reason) => this.ctx.logger.warn('stream event skipped', { sourceId: this.id, reason }),
        onBroken: (reason) => fail(new FetchError(reason)),
        onRetry: (ms) => (this.#serverRetryMs = Math.min(ms, this.ctx.backoff.maxMs)),
      });
      const silence = () => setTimeout(() => fail(new FetchError(`no data for ${this.idleTimeoutMs / 1000} s`)), this.idleTimeoutMs);
      let idle = silence();
      response.on('data', (chunk: Buffer) => {
        clearTimeout(idle);
        idle = silence();
        reader.feed(chunk);
        this.#lastEventId = reader.lastEventId ?? this.#lastEventId;
      });
      const done = () => {
        clearTimeout(idle);
        if (failed) reject(failed);
        else resolve();
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', (err: Error) => fail(err));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    this.#close?.();
  }
}
