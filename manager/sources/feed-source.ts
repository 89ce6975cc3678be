// An RSS/Atom feed polled on its interval with conditional GET (ETag, Last-Modified: a 304 costs
// nothing). A failure of any kind (network, timeout, HTTP status, size, encoding, XML) puts the source
// in error with the reason and retries after an exponential backoff with jitter, or after the
// server's Retry-After (state backoff) when it asks for one.
import { DEFAULT_FEED_INTERVAL_SECONDS } from '../../protocol/manager.js';
import { backoffDelay } from './backoff.js';
import { decodeDocument } from './decode.js';
import { parseFeed } from './feed-parser.js';
import { FetchError, fetchResource, header } from './http-fetch.js';
import { reasonOf, type Source, type SourceContext } from './source.js';

export class FeedSource implements Source {
  readonly id: string;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  #etag: string | undefined;
  #lastModified: string | undefined;
  #failures = 0;
  #itemsSeen = 0;
  /** The poll in progress, so close() can wait for it. */
  #polling: Promise<void> | undefined;

  constructor(private readonly ctx: SourceContext) {
    this.id = ctx.config.id;
  }

  get #intervalMs(): number {
    return this.ctx.feedIntervalMs ?? (this.ctx.config.intervalSeconds ?? DEFAULT_FEED_INTERVAL_SECONDS) * 1000;
  }

  start(): void {
    if (!this.ctx.config.url) {
      this.ctx.onStatus({ state: 'error', reason: 'no feed URL configured' });
      return;
    }
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll().finally(() => (this.#polling = undefined));
    }, delayMs);
  }

  async #poll(): Promise<void> {
    const startedAt = Date.now();
    try {
      const headers: Record<string, string> = { accept: 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1' };
      if (this.#etag) headers['if-none-match'] = this.#etag;
      if (this.#lastModified) headers['if-modified-since'] = this.#lastModified;
      const res = await fetchResource(this.ctx.config.url!, { headers, limits: this.ctx.limits, signal: this.#abort.signal });
      if (res.status !== 304) {
        const feed = parseFeed(decodeDocument(res.body, header(res.headers, 'content-type')), this.id, startedAt);
        // Only a document that parsed may be skipped next time.
        this.#etag = header(res.headers, 'etag');
        this.#lastModified = header(res.headers, 'last-modified');
        this.#itemsSeen += feed.posts.length;
        if (feed.posts.length > 0) this.ctx.onPosts(feed.posts);
      }
      this.#failures = 0;
      const next = this.#intervalMs;
      this.ctx.onStatus({ state: 'ok', lastFetchAt: startedAt, nextFetchAt: Date.now() + next, itemsSeen: this.#itemsSeen });
      this.#schedule(next);
    } catch (err) {
      if (this.#closed) return;
      this.#failures++;
      const retryAfter = err instanceof FetchError ? err.retryAfterMs : undefined;
      const next = Math.max(retryAfter ?? 0, backoffDelay(this.#failures, this.ctx.backoff));
      const reason = reasonOf(err);
      this.ctx.logger.warn('feed fetch failed', { sourceId: this.id, reason, failures: this.#failures, retryInMs: next });
      this.ctx.onStatus({
        state: retryAfter !== undefined ? 'backoff' : 'error',
        reason,
        lastFetchAt: startedAt,
        nextFetchAt: Date.now() + next,
        itemsSeen: this.#itemsSeen,
      });
      this.#schedule(next);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#polling;
  }
}
