// Feed documents shaped like real ones (WordPress RSS 2.0, an Atom blog, a Latin-1 feed) become posts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { FeedParseError, parseFeed } from '../../../manager/sources/feed-parser.js';
import { DecodeError, decodeDocument } from '../../../manager/sources/decode.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/feeds/${name}`, import.meta.url));
const FETCHED_AT = Date.UTC(2026, 2, 3, 12);

describe('RSS 2.0', () => {
  const feed = parseFeed(decodeDocument(fixture('wordpress-rss2.xml'), 'application/rss+xml; charset=UTF-8'), 'forum', FETCHED_AT);

  it('reads the channel, its WebSub links and every item', () => {
    expect(feed.format).toBe('rss');
    expect(feed.title).toBe('Gadget Owners Forum – Latest');
    expect(feed.hubUrl).toBe('https://hub.example.net/');
    expect(feed.selfUrl).toBe('https://forum.example.com/feed/');
    expect(feed.posts).toHaveLength(3);
  });

  it('prefers content:encoded as plain text, guid as id, dc:creator as author', () => {
    const [first] = feed.posts;
    expect(first).toMatchObject({
      sourceId: 'forum',
      externalId: 'https://forum.example.com/?p=4821',
      url: 'https://forum.example.com/2026/03/03/power-bank-exploded/?utm_source=rss&utm_medium=rss',
      title: 'My power bank “exploded” overnight',
      author: { name: 'Sam Miller' },
      language: 'en',
      publishedAt: Date.UTC(2026, 2, 3, 8, 55, 10),
    });
    expect(first!.text).toBe('The battery got hot and caught fire on my desk at 3 am.\nTerrible. Nobody was hurt, but the smell is awful.');
  });

  it('falls back to description, the author e-mail name, and a content hash for an item without guid or link', () => {
    const third = feed.posts[2]!;
    expect(third.author).toEqual({ name: 'Support Team' });
    expect(third.text).toBe('Check your serial number.');
    expect(third.externalId).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect(third.url).toBeUndefined();
  });
});

describe('Atom', () => {
  const feed = parseFeed(decodeDocument(fixture('blog-atom.xml'), 'application/atom+xml'), 'watch', FETCHED_AT);

  it('reads entries with XHTML and escaped HTML content, links by rel, authors and languages', () => {
    expect(feed.format).toBe('atom');
    expect(feed.hubUrl).toBe('https://pubsubhubbub.example.org/');
    expect(feed.selfUrl).toBe('https://watch.example.org/feed.atom');
    expect(feed.posts[0]).toMatchObject({
      externalId: 'tag:watch.example.org,2026:post-77',
      url: 'https://watch.example.org/2026/03/phone-swelled',
      title: 'Phone swelled and cracked',
      author: { name: 'Ana Lima', url: 'https://watch.example.org/ana' },
      language: 'en',
      publishedAt: Date.UTC(2026, 2, 3, 7, 30),
    });
    expect(feed.posts[0]!.text).toContain('The battery swelled until the screen cracked.');
    expect(feed.posts[1]).toMatchObject({
      url: 'https://watch.example.org/2026/03/batterie',
      text: 'La batterie a pris feu dans la cuisine.',
      language: 'fr',
      author: { name: 'Battery Watch Team' },
      publishedAt: Date.UTC(2026, 2, 2, 12),
    });
  });
});

describe('bad documents', () => {
  it('decodes by the XML declaration when HTTP names no charset', () => {
    const feed = parseFeed(decodeDocument(fixture('latin1-rss2.xml'), 'text/xml'), 'cafe', FETCHED_AT);
    expect(feed.posts[0]).toMatchObject({ title: 'Crème brûlée', text: 'La batterie du café a brûlé.' });
  });

  it('refuses bytes that are not valid in the declared encoding, and unknown encodings', () => {
    expect(() => decodeDocument(fixture('latin1-rss2.xml'), 'application/rss+xml; charset=utf-8')).toThrow(DecodeError);
    expect(() => decodeDocument(Buffer.from('<rss/>'), 'text/xml; charset=x-klingon')).toThrow(/unknown character encoding/);
  });

  it('rejects malformed XML and documents that are not feeds', () => {
    expect(() => parseFeed(fixture('malformed.xml').toString(), 's')).toThrow(FeedParseError);
    expect(() => parseFeed('<html><body>hi</body></html>', 's')).toThrow(/not an RSS or Atom feed/);
    expect(() => parseFeed('', 's')).toThrow(FeedParseError);
  });
});
