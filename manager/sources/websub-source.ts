// A W3C WebSub subscriber. Finds the hub and topic (configured, the topic's Link headers, or the
// feed's <link rel="hub"/"self">), subscribes with a fresh secret, answers the hub's verification of
// intent only for the subscription it is waiting for, takes signed content deliveries (a delivery
// whose X-Hub-Signature does not match is dropped but still answered 2xx, as the spec requires),
// renews before the lease ends, and unsubscribes when stopped.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { IntakeReply } from '../intake-server.js';
import { verifySignature, WEBSUB_SIGNATURE_METHODS } from '../signature.js';
import { backoffDelay } from './backoff.js';
import { decodeDocument } from './decode.js';
import { parseFeed } from './feed-parser.js';
import { fetchResource, header } from './http-fetch.js';
import { reasonOf, type Source, type SourceContext } from './source.js';

/** Lease asked of the hub; the hub may grant another. */
const LEASE_SECONDS = 86_400;
/** Renew when this share of the lease has passed. */
const RENEW_AT = 0.8;
const HUB_TIMEOUT_MS = 10_000;
/** A hub that has not verified within this long is treated as failed, and asked again later. */
const VERIFY_TIMEOUT_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending {
  mode: 'subscribe' | 'unsubscribe';
  topic: string;
}

/** Link header values with the given rel: `<https://hub>; rel="hub", <https://self>; rel="self"`. */
export function linkHeaderUrls(value: string | string[] | undefined, rel: string): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  const urls: string[] = [];
  for (const match of joined.matchAll(/<([^>]+)>\s*((?:;\s*[^;,]+)*)/g)) {
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2] ?? '')?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (rels.includes(rel)) urls.push(match[1]!);
  }
  return urls;
}

export class WebSubSource implements Source {
  readonly id: string;
  readonly #secret = randomBytes(32).toString('hex');
  #hub: string | undefined;
  #topic: string | undefined;
  #pending: Pending | undefined;
  #subscribed = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #failures = 0;
  #itemsSeen = 0;
  #dropped = 0;
  #unregister: (() => void) | undefined;
  readonly #abort = new AbortController();

  constructor(private readonly ctx: SourceContext) {
    this.id = ctx.config.id;
  }

  get #callback(): string {
    return `${this.ctx.publicUrl}/websub/${encodeURIComponent(this.id)}`;
  }

  start(): void {
    try {
      this.#unregister = this.ctx.intake.register(this.id, {
        websubVerify: (query) => this.#verify(query),
        websubDeliver: (body, headers) => this.#deliver(body, headers),
      });
    } catch (err) {
      this.ctx.onStatus({ state: 'error', reason: reasonOf(err) });
      return;
    }
    this.#at(0, () => this.#subscribe());
  }

  #at(delayMs: number, task: () => Promise<void>): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => void task(), Math.min(delayMs, MAX_TIMER_MS));
  }

  async #discover(): Promise<void> {
    const { url, hubUrl, topicUrl } = this.ctx.config;
    if (hubUrl && (topicUrl || url)) {
      this.#hub = hubUrl;
      this.#topic = topicUrl ?? url;
      return;
    }
    if (!url && !topicUrl) throw new Error('no topic URL configured');
    const res = await fetchResource((topicUrl ?? url)!, { limits: this.ctx.limits, signal: this.#abort.signal });
    let hub = hubUrl ?? linkHeaderUrls(res.headers.link, 'hub')[0];
    let self = topicUrl ?? linkHeaderUrls(res.headers.link, 'self')[0];
    if (res.body.length > 0) {
      const feed = parseFeed(decodeDocument(res.body, header(res.headers, 'content-type')), this.id);
      hub ??= feed.hubUrl;
      self ??= feed.selfUrl;
      // What the topic holds now: later content arrives by delivery.
      this.#itemsSeen += feed.posts.length;
      if (feed.posts.length > 0) this.ctx.onPosts(feed.posts);
    }
    if (!hub) throw new Error('the topic names no WebSub hub (no Link rel="hub" header or <link rel="hub">)');
    this.#hub = new URL(hub, res.url).href;
    this.#topic = new URL(self ?? res.url, res.url).href;
  }

  async #hubRequest(mode: Pending['mode']): Promise<void> {
    const form = new URLSearchParams({ 'hub.mode': mode, 'hub.topic': this.#topic!, 'hub.callback': this.#callback });
    if (mode === 'subscribe') {
      form.set('hub.secret', this.#secret);
      form.set('hub.lease_seconds', String(LEASE_SECONDS));
    }
    // Set before asking: a hub may verify before it answers.
    this.#pending = { mode, topic: this.#topic! };
    const res = await fetch(this.#hub!, { method: 'POST', body: form, signal: AbortSignal.timeout(HUB_TIMEOUT_MS), redirect: 'follow' });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300) throw new Error(`the hub refused to ${mode}: HTTP ${res.status}`);
  }

  async #subscribe(): Promise<void> {
    try {
      if (!this.#hub) await this.#discover();
      await this.#hubRequest('subscribe');
      // Verification follows (unless the hub already made it); if it never comes, try again.
      if (this.#pending) this.#at(VERIFY_TIMEOUT_MS, async () => this.#fail(new Error('the hub did not verify the subscription')));
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.#pending = undefined;
    this.#failures++;
    const next = backoffDelay(this.#failures, this.ctx.backoff);
    const reason = reasonOf(err);
    this.ctx.logger.warn('websub subscription failed', { sourceId: this.id, reason, retryInMs: next });
    this.ctx.onStatus({ state: 'error', reason, nextFetchAt: Date.now() + next, itemsSeen: this.#itemsSeen });
    this.#at(next, () => this.#subscribe());
  }

  #verify(query: Record<string, string>): IntakeReply {
    const mode = query['hub.mode'];
    if (mode === 'denied') {
      if (this.#pending?.mode === 'subscribe' && query['hub.topic'] === this.#pending.topic) {
        this.#fail(new Error(`the hub denied the subscription${query['hub.reason'] ? `: ${query['hub.reason'].slice(0, 200)}` : ''}`));
      }
      return { status: 200 };
    }
    const pending = this.#pending;
    const challenge = query['hub.challenge'];
    if (!pending || mode !== pending.mode || query['hub.topic'] !== pending.topic || !challenge) return { status: 404, body: 'no such pending request' };
    this.#pending = undefined;
    if (mode === 'subscribe') {
      const lease = Number(query['hub.lease_seconds']);
      const leaseSeconds = Number.isFinite(lease) && lease > 0 ? lease : LEASE_SECONDS;
      this.#subscribed = true;
      this.#failures = 0;
      this.#at(leaseSeconds * 1000 * RENEW_AT, () => this.#subscribe());
      this.ctx.onStatus({ state: 'ok', reason: `subscribed at ${new URL(this.#hub!).host}`, nextFetchAt: Date.now() + leaseSeconds * 1000 * RENEW_AT, itemsSeen: this.#itemsSeen });
    } else {
      this.#subscribed = false;
    }
    return { status: 200, body: challenge };
  }

  #deliver(body: Buffer, headers: IncomingHttpHeaders): IntakeReply {
    const signature = header(headers, 'x-hub-signature');
    if (!verifySignature(signature, body, this.#secret, WEBSUB_SIGNATURE_METHODS)) {
      this.#dropped++;
      this.ctx.logger.warn('websub delivery with a missing or bad signature dropped', { sourceId: this.id, dropped: this.#dropped });
      return { status: 202 };
    }
    try {
      const feed = parseFeed(decodeDocument(body, header(headers, 'content-type')), this.id);
      this.#itemsSeen += feed.posts.length;
      this.ctx.onStatus({ state: 'ok', lastFetchAt: Date.now(), itemsSeen: this.#itemsSeen });
      if (feed.posts.length > 0) this.ctx.onPosts(feed.posts);
    } catch (err) {
      this.ctx.onStatus({ state: 'error', reason: `bad delivery: ${reasonOf(err)}`, lastFetchAt: Date.now(), itemsSeen: this.#itemsSeen });
    }
    return { status: 202 };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    if (this.#subscribed && this.#hub) {
      // Best effort: the lease runs out anyway if the hub is gone.
      await this.#hubRequest('unsubscribe').catch((err: unknown) => this.ctx.logger.warn('websub unsubscribe failed', { sourceId: this.id, reason: reasonOf(err) }));
    }
    this.#unregister?.();
  }
}
