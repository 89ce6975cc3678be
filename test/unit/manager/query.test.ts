// Policy queries: boolean operators, phrases, whole-word matching, and clear errors for bad queries.
import { describe, expect, it } from '@jest/globals';
import { Query, QuerySyntaxError, parseQuery } from '../../../manager/query.js';
import { TextIndex } from '../../../manager/text-index.js';

const matches = (query: string, text: string) => new Query(query).matches(new TextIndex(text));

describe('matching', () => {
  it('ANDs adjacent terms and honours OR, NOT, parentheses', () => {
    const q = '"battery" AND (fire OR explode) NOT recall';
    expect(matches(q, 'My battery caught FIRE last night')).toBe(true);
    expect(matches(q, 'The battery may explode, they say')).toBe(true);
    expect(matches(q, 'Battery fire: the recall notice is out')).toBe(false);
    expect(matches(q, 'The charger caught fire')).toBe(false);
    expect(matches('battery fire', 'fire in the battery room')).toBe(true);
    expect(matches('battery -fire', 'fire in the battery room')).toBe(false);
  });

  it('matches whole words only, case-insensitively, with a * for word starts', () => {
    expect(matches('fire', 'Firefox crashed again')).toBe(false);
    expect(matches('fire*', 'Firefox crashed again')).toBe(true);
    expect(matches('explo*', 'an EXPLOSION in the lab')).toBe(true);
    expect(matches("don't", 'I DON’T like it')).toBe(true);
  });

  it('matches quoted phrases as consecutive words', () => {
    expect(matches('"caught fire"', 'it caught fire overnight')).toBe(true);
    expect(matches('"caught fire"', 'fire caught it')).toBe(false);
    expect(matches('"e-bike battery"', 'my e-bike battery swelled')).toBe(true);
  });

  it('treats lower-case and/or/not as words, and OR as lower precedence than AND', () => {
    expect(matches('salt and pepper', 'salt pepper')).toBe(false);
    expect(matches('a b OR c', 'c')).toBe(true);
    expect(matches('a b OR c', 'a')).toBe(false);
  });

  it('lists the wanted terms found, not the excluded ones', () => {
    const q = new Query('battery (fire OR smoke OR heat*) NOT recall');
    expect(q.matchedTerms(new TextIndex('Battery fire and smoke, it was heating up'))).toEqual(['battery', 'fire', 'smoke', 'heat*']);
  });
});

describe('errors', () => {
  it.each([
    ['', 'query ends where a term was expected'],
    ['battery AND', 'query ends where a term was expected'],
    ['(battery OR fire', 'missing )'],
    ['battery)', 'unexpected )'],
    ['"battery fire', 'unclosed quote'],
    ['OR fire', 'unexpected OR'],
    ['NOT recall', 'the query only excludes'],
    ['"!!"', 'has no letters or digits'],
  ])('rejects %j', (query, message) => {
    expect(() => parseQuery(query)).toThrow(QuerySyntaxError);
    expect(() => parseQuery(query)).toThrow(message);
  });

  it('says where the problem is and bounds nesting', () => {
    expect(() => parseQuery('battery AND (fire OR )')).toThrow('at character 22');
    expect(() => parseQuery('('.repeat(40) + 'a' + ')'.repeat(40))).toThrow('too deeply nested');
  });
});
