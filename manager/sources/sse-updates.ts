// Server-sent event bytes (chunks cut anywhere, even inside a UTF-8 character) to Mastodon posts:
// `update` events become posts; other events and comments (heartbeats) only move the event id.
import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import type { CollectedPost } from '../post.js';
import { statusToPost } from './mastodon.js';

/** An event larger than this is refused. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export interface UpdateHandlers {
  onPost(post: CollectedPost): void;
  /** An update that is not a readable status. */
  onSkip(reason: string): void;
  /** The stream broke the protocol (an event over the size cap): reconnect. */
  onBroken(reason: string): void;
  /** The server's `retry:` in ms. */
  onRetry?(ms: number): void;
}

export interface UpdateReader {
  feed(chunk: Buffer): void;
  /** The last event id seen, for Last-Event-ID on reconnect. */
  readonly lastEventId: string | undefined;
}

export function readUpdates(sourceId: string, handlers: UpdateHandlers): UpdateReader {
  const text = new StringDecoder('utf8');
  let lastEventId: string | undefined;
  const parser = createParser({
    maxBufferSize: MAX_EVENT_BYTES,
    onEvent: (event) => {
      if (event.id !== undefined) lastEventId = event.id;
      if (event.event !== 'update') return;
      let post: CollectedPost;
      try {
        post = statusToPost(event.data, sourceId);
      } catch (err) {
        handlers.onSkip((err as Error).message);
        return;
      }
      handlers.onPost(post);
    },
    onRetry: (ms) => handlers.onRetry?.(ms),
    onError: (err) => {
      if (err.type === 'max-buffer-size-exceeded') handlers.onBroken(`an event larger than ${MAX_EVENT_BYTES} bytes`);
    },
  });
  return {
    feed: (chunk) => parser.feed(text.write(chunk)),
    get lastEventId() {
      return lastEventId;
    },
  };
}
