// De-duplication of posts, in bounded memory: the same post id at the same source, the same page under
// another URL spelling (tracking parameters, fragments, host case), and near-identical text (a copied
// or lightly edited post) by SimHash over word shingles. Each memory forgets its oldest entries.
import { LruSet } from './lru-set.js';
import { BANDS, bands, hammingDistance, simhash, type SimHash } from './simhash.js';

export type DuplicateKind = 'duplicate_id' | 'duplicate_url' | 'near_duplicate';

export interface Fingerprint {
  url: string | undefined;
  hash: SimHash | undefined;
}

export interface DedupOptions {
  /** Post ids remembered (every post seen). */
  maxIds: number;
  /** URLs and text fingerprints remembered (posts handed on). */
  maxFingerprints: number;
  /** SimHash bits that may differ for two texts to count as the same (below BANDS: see bands()). */
  maxDistance: number;
  /** Texts with fewer words are too short to fingerprint ("Thanks!" is not a copy of "Thanks!"). */
  minWords: number;
}

export const DEFAULT_DEDUP_OPTIONS: DedupOptions = { maxIds: 100_000, maxFingerprints: 20_000, maxDistance: 6, minWords: 8 };

const TRACKING_PARAM = /^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref_src|_hsenc|_hsmi)$/i;

/** One spelling per page: lower-case scheme and host, no default port, fragment or tracking parameters, sorted query. */
export function canonicalUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  url.hash = '';
  for (const key of [...url.searchParams.keys()]) if (TRACKING_PARAM.test(key)) url.searchParams.delete(key);
  url.searchParams.sort();
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : '';
  const query = url.searchParams.toString();
  // http and https of one host are one page.
  return `${url.hostname.replace(/^www\./, '')}${url.port ? ':' + url.port : ''}${path}${query ? '?' + query : ''}`;
}

export class Deduplicator {
  readonly #options: DedupOptions;
  readonly #ids: LruSet<string>;
  readonly #urls: LruSet<string>;
  /** Fingerprints by id, and an index from each tagged band to the fingerprints having it. */
  readonly #hashes = new Map<number, SimHash>();
  readonly #bandIndex = new Map<number, Set<number>>();
  readonly #fingerprints: LruSet<number>;
  #nextHashId = 0;

  constructor(options: Partial<DedupOptions> = {}) {
    this.#options = { ...DEFAULT_DEDUP_OPTIONS, ...options };
    if (this.#options.maxDistance >= BANDS) throw new TypeError(`maxDistance must be below ${BANDS} for the band index`);
    this.#ids = new LruSet(this.#options.maxIds);
    this.#urls = new LruSet(this.#options.maxFingerprints);
    this.#fingerprints = new LruSet(this.#options.maxFingerprints, (id) => this.#forget(id));
  }

  /** True the first time a source's post id is seen; false after (and remembers it). */
  firstSighting(sourceId: string, externalId: string): boolean {
    const key = `${sourceId}\u0000${externalId}`;
    if (this.#ids.has(key)) return false;
    this.#ids.add(key);
    return true;
  }

  /** What identifies a post's content: its canonical URL and its text's SimHash (when long enough). */
  fingerprint(url: string | undefined, words: readonly string[]): Fingerprint {
    return { url: url ? canonicalUrl(url) : undefined, hash: words.length >= this.#options.minWords ? simhash(words) : undefined };
  }

  /** Whether a post with this URL or a near-identical text was already handed on. */
  check(fingerprint: Fingerprint): DuplicateKind | undefined {
    if (fingerprint.url && this.#urls.has(fingerprint.url)) return 'duplicate_url';
    if (fingerprint.hash && this.#nearest(fingerprint.hash) !== undefined) return 'near_duplicate';
    return undefined;
  }

  /** Remembers a post that was handed on, so later copies of it are caught. */
  remember(fingerprint: Fingerprint): void {
    if (fingerprint.url) this.#urls.add(fingerprint.url);
    const hash = fingerprint.hash;
    if (!hash) return;
    const id = this.#nextHashId++;
    this.#hashes.set(id, hash);
    for (const key of bands(hash)) {
      let ids = this.#bandIndex.get(key);
      if (!ids) this.#bandIndex.set(key, (ids = new Set()));
      ids.add(id);
    }
    this.#fingerprints.add(id);
  }

  #nearest(hash: SimHash): number | undefined {
    for (const key of bands(hash)) {
      for (const id of this.#bandIndex.get(key) ?? []) {
        if (hammingDistance(hash, this.#hashes.get(id)!) <= this.#options.maxDistance) return id;
      }
    }
    return undefined;
  }

  #forget(id: number): void {
    const hash = this.#hashes.get(id);
    if (!hash) return;
    this.#hashes.delete(id);
    for (const key of bands(hash)) {
      const ids = this.#bandIndex.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.#bandIndex.delete(key);
    }
  }
}
