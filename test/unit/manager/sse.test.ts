// Server-sent events from a Mastodon stream: framing across arbitrary chunk cuts, update events to posts.
import { describe, expect, it } from '@jest/globals';
import { readUpdates } from '../../../manager/sources/sse-updates.js';
import type { CollectedPost } from '../../../manager/post.js';

export const status = (id: string, content: string, extra: Record<string, unknown> = {}) => ({
  id,
  url: `https://social.example/@ana/${id}`,
  content,
  created_at: '2026-03-03T10:00:00.000Z',
  language: 'en',
  account: { acct: 'ana@social.example', display_name: 'Ana', url: 'https://social.example/@ana', followers_count: 1234 },
  ...extra,
});

function run(stream: string, chunkSize: number) {
  const posts: CollectedPost[] = [];
  const skipped: string[] = [];
  const broken: string[] = [];
  const reader = readUpdates('masto', { onPost: (p) => posts.push(p), onSkip: (r) => skipped.push(r), onBroken: (r) => broken.push(r) });
  const bytes = Buffer.from(stream);
  for (let i = 0; i < bytes.length; i += chunkSize) reader.feed(bytes.subarray(i, i + chunkSize));
  return { posts, skipped, broken, lastEventId: reader.lastEventId };
}

const STREAM = [
  ':thump\n\n',
  `event: update\nid: 10\ndata: ${JSON.stringify(status('1', '<p>My battery <a href="#">caught</a> fire — ça brûle</p>'))}\n\n`,
  'event: delete\nid: 11\ndata: 99\n\n',
  'event: update\nid: 12\ndata: {"id": "2"\n\n',
  `event: update\r\nid: 13\r\ndata: ${JSON.stringify(status('3', 'boost', { reblog: status('4', '<p>original</p>') }))}\r\n\r\n`,
].join('');

describe('readUpdates', () => {
  it.each([1, 7, 4096])('reads update events cut into %i-byte chunks', (size) => {
    const { posts, skipped, lastEventId } = run(STREAM, size);
    expect(posts.map((p) => p.externalId)).toEqual(['1', '4']);
    expect(posts[0]).toEqual({
      sourceId: 'masto',
      externalId: '1',
      url: 'https://social.example/@ana/1',
      text: 'My battery caught fire — ça brûle',
      author: { handle: 'ana@social.example', name: 'Ana', url: 'https://social.example/@ana', reach: 1234 },
      language: 'en',
      publishedAt: Date.UTC(2026, 2, 3, 10),
    });
    expect(skipped).toEqual(['update event data is not JSON']);
    expect(lastEventId).toBe('13');
  });

  it('skips updates that are not statuses and refuses oversized events', () => {
    expect(run(`event: update\ndata: {"id":"1"}\n\n`, 100).skipped[0]).toMatch(/not a status/);
    expect(run(`event: update\ndata: ${'x'.repeat(1_100_000)}`, 65536).broken).toHaveLength(1);
  });
});
