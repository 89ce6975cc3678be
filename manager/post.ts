// A post as a source hands it on, before any filtering: plain text, the source's own id, when it was
// published. Sources build these at their edge from RSS/Atom items, webhook bodies and Mastodon statuses.
import type { Author } from '../protocol/manager.js';

export interface CollectedPost {
  sourceId: string;
  externalId: string;
  url?: string;
  /** Plain text (sources turn HTML into text). */
  text: string;
  title?: string;
  author: Author;
  /** ISO 639-1, when the source said; otherwise detected. */
  language?: string;
  publishedAt: number;
}

/** `en`, `en-GB`, `EN_us` → `en`; anything else → undefined. */
export function languageCode(raw: string | undefined): string | undefined {
  const m = raw ? /^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$/.exec(raw.trim()) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}

/** An http(s) URL as given, or undefined: links from outside are not trusted to be URLs. */
export function httpUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 2048) return undefined;
  try {
    const url = new URL(raw.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Epoch ms from a number or an RFC 822 / ISO 8601 date; undefined when unreadable. */
export function parseDate(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? Math.floor(raw) : undefined;
  if (typeof raw !== 'string' || raw.length > 64) return undefined;
  const ms = Date.parse(raw.trim());
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
