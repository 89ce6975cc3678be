// De-duplication: ids, canonical URLs and near-identical texts, within bounded memory.
import { describe, expect, it } from '@jest/globals';
import { Deduplicator, canonicalUrl } from '../../../manager/dedup.js';
import { hammingDistance, simhash } from '../../../manager/simhash.js';
import { words } from '../../../manager/text-index.js';

const POST = 'The battery of my new phone swelled overnight and cracked the screen, support says it is not covered by warranty';

describe('canonical URLs', () => {
  it('ignores tracking parameters, fragments, parameter order, host case, www and scheme', () => {
    expect(canonicalUrl('https://WWW.Example.com/a/b/?utm_source=x&b=2&a=1#top')).toBe(canonicalUrl('http://example.com/a/b?a=1&b=2&fbclid=9'));
    expect(canonicalUrl('https://example.com/a?id=1')).not.toBe(canonicalUrl('https://example.com/a?id=2'));
    expect(canonicalUrl('not a url')).toBeUndefined();
  });
});

describe('simhash', () => {
  it('keeps lightly edited texts close and different texts far', () => {
    const a = simhash(words(POST));
    const edited = simhash(words(POST.replace('overnight', 'over night') + '!!'));
    const other = simhash(words('Great service at the store today, the staff helped me choose a laptop for my daughter who starts university'));
    expect(hammingDistance(a, simhash(words(POST.toUpperCase())))).toBe(0);
    expect(hammingDistance(a, edited)).toBeLessThanOrEqual(12);
    expect(hammingDistance(a, other)).toBeGreaterThan(12);
  });
});

describe('Deduplicator', () => {
  it('sees a source id once', () => {
    const d = new Deduplicator();
    expect(d.firstSighting('s1', 'a')).toBe(true);
    expect(d.firstSighting('s1', 'a')).toBe(false);
    expect(d.firstSighting('s2', 'a')).toBe(true);
  });

  it('catches the same page and a copied text, not a different one', () => {
    const d = new Deduplicator();
    d.remember(d.fingerprint('https://example.com/p/1?utm_medium=rss', words(POST)));
    expect(d.check(d.fingerprint('https://example.com/p/1', words('something else entirely here')))).toBe('duplicate_url');
    expect(d.check(d.fingerprint(undefined, words(`RT ${POST}`)))).toBe('near_duplicate');
    expect(d.check(d.fingerprint(undefined, words('My laptop charger stopped working after two weeks and the shop will not replace it')))).toBeUndefined();
    // Short texts are not fingerprinted: "Thanks a lot" twice is not a copy.
    d.remember(d.fingerprint(undefined, words('thanks a lot')));
    expect(d.check(d.fingerprint(undefined, words('thanks a lot')))).toBeUndefined();
  });

  it('forgets the oldest entries past its bounds', () => {
    const d = new Deduplicator({ maxIds: 2, maxFingerprints: 2 });
    d.firstSighting('s', '1');
    d.firstSighting('s', '2');
    d.firstSighting('s', '3');
    expect(d.firstSighting('s', '1')).toBe(true);
    const texts = [POST, 'a completely different story about a delayed train and a missed connection in the rain', 'yet another one about cooking pasta with fresh tomatoes basil and a lot of garlic tonight'];
    texts.forEach((t) => d.remember(d.fingerprint(undefined, words(t))));
    expect(d.check(d.fingerprint(undefined, words(POST)))).toBeUndefined();
    expect(d.check(d.fingerprint(undefined, words(texts[2]!)))).toBe('near_duplicate');
  });
});
