// RSS 2.0, RSS 1.0 (RDF) and Atom (RFC 4287) documents to posts, with fast-xml-parser, which only
// parses the text it is given (fetching is http-fetch's job). Namespace prefixes are dropped, so
// dc:creator is `creator`, content:encoded is `encoded` and atom:link joins RSS's `link` list.
import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { htmlToText } from '../html-text.js';
import { httpUrl, languageCode, parseDate, type CollectedPost } from '../post.js';

export class FeedParseError extends Error {
  override name = 'FeedParseError';
}

export interface ParsedFeed {
  format: 'rss' | 'atom' | 'rdf';
  title?: string;
  /** WebSub: <link rel="hub"> and <link rel="self">. */
  hubUrl?: string;
  selfUrl?: string;
  posts: CollectedPost[];
}

/** Items beyond this many in one document are ignored: a feed is a window, not an archive. */
export const MAX_ITEMS = 1000;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Numeric character references (&#8211;) and HTML's named entities, which feeds use in XML.
  htmlEntities: true,
  isArray: (name) => name === 'item' || name === 'entry' || name === 'link' || name === 'author',
});

type Node = unknown;

function asArray(node: Node): Node[] {
  return node === undefined || node === null ? [] : Array.isArray(node) ? node : [node];
}

/** The text of an element, whether it came as a string or as an object with attributes (and XHTML children). */
function text(node: Node): string {
  if (node === undefined || node === null) return '';
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return String(node);
  if (Array.isArray(node)) return node.map(text).join(' ');
  const record = node as Record<string, Node>;
  if ('#text' in record) return text(record['#text']);
  return Object.entries(record)
    .filter(([key]) => !key.startsWith('@'))
    .map(([, value]) => text(value))
    .join(' ');
}

function attr(node: Node, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const value = (node as Record<string, Node>)[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

function child(node: Node, name: string): Node {
  return node && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, Node>)[name] : undefined;
}

function plain(node: Node): string {
  return htmlToText(text(node));
}

function linkByRel(links: Node[], rel: string): string | undefined {
  const found = links.find((l) => typeof l === 'object' && (attr(l, 'rel') ?? 'alternate') === rel && attr(l, 'href'));
  return found ? httpUrl(attr(found, 'href')) : undefined;
}

/** A stable id for an item that has none: its content's hash. */
function contentId(...parts: string[]): string {
  return 'sha1:' + createHash('sha1').update(parts.join('\u0000')).digest('hex');
}

/** RSS `author` is an e-mail address, often with the name in parentheses: `jo@example.com (Jo Doe)`. */
function rssAuthorName(raw: string): string | undefined {
  const named = /\(([^)]+)\)\s*$/.exec(raw);
  return (named ? named[1]! : raw).trim() || undefined;
}

function rssItem(item: Node, sourceId: string, channelLanguage: string | undefined, fetchedAt: number): CollectedPost | undefined {
  const links = asArray(child(item, 'link'));
  const plainLink = links.map((l) => (typeof l === 'string' ? httpUrl(l) : undefined)).find(Boolean);
  const guidNode = child(item, 'guid');
  const guid = text(guidNode).trim();
  const guidIsLink = attr(guidNode, 'isPermaLink') !== 'false' ? httpUrl(guid) : undefined;
  const url = plainLink ?? linkByRel(links, 'alternate') ?? guidIsLink ?? httpUrl(attr(item, 'about'));
  const title = plain(child(item, 'title'));
  const body = plain(child(item, 'encoded') ?? child(item, 'description'));
  const content = body || title;
  if (!content) return undefined;
  const creator = text(child(item, 'creator')).trim() || rssAuthorName(text(asArray(child(item, 'author'))[0]));
  const externalId = guid || url || contentId(title, body);
  return {
    sourceId,
    externalId: externalId.slice(0, 1024),
    ...(url ? { url } : {}),
    text: content,
    ...(title && body ? { title } : {}),
    author: creator ? { name: creator } : {},
    ...(channelLanguage ? { language: channelLanguage } : {}),
    publishedAt: parseDate(text(child(item, 'pubDate'))) ?? parseDate(text(child(item, 'date'))) ?? fetchedAt,
  };
}

function atomEntry(entry: Node, sourceId: string, feedLanguage: string | undefined, feedAuthor: Node, fetchedAt: number): CollectedPost | undefined {
  const links = asArray(child(entry, 'link'));
  const url = linkByRel(links, 'alternate');
  const title = plain(child(entry, 'title'));
  const body = plain(child(entry, 'content') ?? child(entry, 'summary'));
  const content = body || title;
  if (!content) return undefined;
  const author = asArray(child(entry, 'author'))[0] ?? asArray(feedAuthor)[0];
  const name = text(child(author, 'name')).trim();
  const authorUrl = httpUrl(text(child(author, 'uri')));
  const language = languageCode(attr(entry, 'xml:lang') ?? attr(entry, 'lang')) ?? feedLanguage;
  const id = text(child(entry, 'id')).trim() || url || contentId(title, body);
  return {
    sourceId,
    externalId: id.slice(0, 1024),
    ...(url ? { url } : {}),
    text: content,
    ...(title && body ? { title } : {}),
    author: { ...(name ? { name } : {}), ...(authorUrl ? { url: authorUrl } : {}) },
    ...(language ? { language } : {}),
    publishedAt: parseDate(text(child(entry, 'published'))) ?? parseDate(text(child(entry, 'updated'))) ?? fetchedAt,
  };
}

/** Parses a decoded feed document; throws FeedParseError for malformed XML or a document that is no feed. */
export function parseFeed(xml: string, sourceId: string, fetchedAt = Date.now()): ParsedFeed {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new FeedParseError(`malformed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  let doc: Record<string, Node>;
  try {
    doc = parser.parse(xml) as Record<string, Node>;
  } catch (err) {
    throw new FeedParseError(`malformed XML: ${(err as Error).message}`);
  }
  const posts: CollectedPost[] = [];
  const keep = (post: CollectedPost | undefined) => {
    if (post && posts.length < MAX_ITEMS) posts.push(post);
  };

  const rss = child(doc, 'rss');
  const rdf = child(doc, 'RDF');
  if (rss || rdf) {
    const channel = child(rss ?? rdf, 'channel');
    const links = asArray(child(channel, 'link'));
    const language = languageCode(text(child(channel, 'language')));
    const items = asArray(child(rss ? channel : rdf, 'item'));
    for (const item of items.slice(0, MAX_ITEMS)) keep(rssItem(item, sourceId, language, fetchedAt));
    return { format: rss ? 'rss' : 'rdf', title: plain(child(channel, 'title')) || undefined, hubUrl: linkByRel(links, 'hub'), selfUrl: linkByRel(links, 'self'), posts };
  }
  const feed = child(doc, 'feed');
  if (feed) {
    const links = asArray(child(feed, 'link'));
    const language = languageCode(attr(feed, 'xml:lang') ?? attr(feed, 'lang'));
    for (const entry of asArray(child(feed, 'entry')).slice(0, MAX_ITEMS)) keep(atomEntry(entry, sourceId, language, child(feed, 'author'), fetchedAt));
    return { format: 'atom', title: plain(child(feed, 'title')) || undefined, hubUrl: linkByRel(links, 'hub'), selfUrl: linkByRel(links, 'self'), posts };
  }
  throw new FeedParseError('not an RSS or Atom feed (no <rss>, <rdf:RDF> or <feed> root)');
}
