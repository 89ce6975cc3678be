// docs/errors.md must list exactly the codes in ERROR_CODES, each with its HTTP status (as fastify's
// test/internals/errors.test.js keeps its docs/Reference/Errors.md in step with lib/errors.js).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ERROR_CODES } from '../../../lib/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the codes table: | `CODE` | status | meaning | */
const rows = [...doc.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|\s*$/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  meaning: m[3]!,
}));
const documented = rows.map((r) => r.code);

describe('docs/errors.md', () => {
  it('has a table of codes', () => {
    expect(rows.length).toBeGreaterThan(0);
  });

  it.each(Object.keys(ERROR_CODES))('documents %s', (code) => {
    expect(documented).toContain(code);
  });

  it('documents no code that does not exist', () => {
    expect(documented.filter((code) => !Object.hasOwn(ERROR_CODES, code))).toEqual([]);
  });

  it('documents each code once, with its HTTP status and a meaning', () => {
    expect(new Set(documented).size).toBe(documented.length);
    for (const row of rows) {
      expect({ code: row.code, status: row.status }).toEqual({ code: row.code, status: ERROR_CODES[row.code as keyof typeof ERROR_CODES] });
      expect(row.meaning.length).toBeGreaterThan(10);
    }
  });

  it('describes the socket acknowledgement and connect-error shapes', () => {
    expect(doc).toContain('{ ok: true; data: T }');
    expect(doc).toContain('{ ok: false; error:');
    expect(doc).toContain('connect_error');
    expect(doc).toContain('event:error');
  });
});
