// Signed JSON webhook intake: POST /webhook/:sourceId with one post or an array of posts and
// `X-Signature: sha256=<hex HMAC of the raw body>` keyed with the source's webhookSecret.
// Bad signature → 401, unreadable or invalid JSON → 400 (too large → 413, by the listener).
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { IncomingHttpHeaders } from 'node:http';
import { WebhookBody, type WebhookPost } from '../../protocol/manager.js';
import { htmlToText } from '../html-text.js';
import type { IntakeReply } from '../intake-server.js';
import { httpUrl, languageCode, parseDate, type CollectedPost } from '../post.js';
import { verifySignature, WEBHOOK_SIGNATURE_METHODS } from '../signature.js';
import { reasonOf, type Source, type SourceContext } from './source.js';

const webhookBody = TypeCompiler.Compile(WebhookBody);

const bad = (status: number, code: string, message: string): IntakeReply => ({ status, body: { error: { code, message } } });

/** Checks and reads one webhook request; posts are returned, never thrown. */
export function readWebhook(sourceId: string, secret: string, body: Buffer, headers: IncomingHttpHeaders, now = Date.now()): { reply: IntakeReply; posts: CollectedPost[] } {
  const header = headers['x-signature'];
  if (!verifySignature(Array.isArray(header) ? header[0] : header, body, secret, WEBHOOK_SIGNATURE_METHODS)) {
    return { reply: bad(401, 'UNAUTHENTICATED', 'missing or bad X-Signature'), posts: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { reply: bad(400, 'MALFORMED_JSON', 'the body is not JSON'), posts: [] };
  }
  if (!webhookBody.Check(json)) {
    const first = [...webhookBody.Errors(json)].at(-1);
    return { reply: bad(400, 'VALIDATION', `invalid post${first ? `: ${first.path || '/'} ${first.message}` : ''}`), posts: [] };
  }
  const items: WebhookPost[] = Array.isArray(json) ? json : [json];
  const posts: CollectedPost[] = [];
  for (const item of items) {
    const publishedAt = parseDate(item.publishedAt);
    if (publishedAt === undefined) return { reply: bad(400, 'VALIDATION', `post ${item.id}: unreadable publishedAt`), posts: [] };
    const url = httpUrl(item.url);
    const language = languageCode(item.language);
    posts.push({
      sourceId,
      externalId: item.id,
      ...(url ? { url } : {}),
      text: htmlToText(item.text),
      ...(item.title ? { title: htmlToText(item.title) } : {}),
      author: item.author ?? {},
      ...(language ? { language } : {}),
      publishedAt: Math.min(publishedAt, now),
    });
  }
  return { reply: { status: 202, body: { accepted: posts.length } }, posts };
}

export class WebhookSource implements Source {
  readonly id: string;
  #unregister: (() => void) | undefined;
  #itemsSeen = 0;

  constructor(private readonly ctx: SourceContext) {
    this.id = ctx.config.id;
  }

  start(): void {
    const secret = this.ctx.config.webhookSecret;
    if (!secret) {
      this.ctx.onStatus({ state: 'error', reason: 'no webhookSecret configured: unsigned posts are refused' });
      return;
    }
    try {
      this.#unregister = this.ctx.intake.register(this.id, {
        webhook: (body, headers) => {
          const { reply, posts } = readWebhook(this.id, secret, body, headers);
          if (reply.status === 401) this.ctx.logger.warn('webhook with a bad signature refused', { sourceId: this.id });
          if (posts.length > 0) {
            this.#itemsSeen += posts.length;
            this.ctx.onStatus({ state: 'ok', lastFetchAt: Date.now(), itemsSeen: this.#itemsSeen });
            this.ctx.onPosts(posts);
          }
          return reply;
        },
      });
      this.ctx.onStatus({ state: 'ok', reason: `listening at ${this.ctx.publicUrl}/webhook/${this.id}` });
    } catch (err) {
      this.ctx.onStatus({ state: 'error', reason: reasonOf(err) });
    }
  }

  async close(): Promise<void> {
    this.#unregister?.();
    this.#unregister = undefined;
  }
}
