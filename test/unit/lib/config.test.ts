// loadConfig(env, cwd): what an operator gets from no settings, from MCCS_* variables and from a JSON
// file, and the message they see when a value is wrong.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../../lib/config.js';

const CWD = path.resolve(tmpdir(), 'mccs-config-test-cwd');
const tmp = mkdtempSync(path.join(tmpdir(), 'mccs-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, CWD);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(tmp, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('defaults', () => {
  const config = loadConfig({}, CWD);

  it('listens on HTTP 8080 and SIP 5060', () => {
    expect(config.http.port).toBe(8080);
    expect(config.sip.port).toBe(5060);
  });

  it('keeps a SQLite file under <cwd>/data', () => {
    expect(config.dataDir).toBe(path.join(CWD, 'data'));
    expect(config.db).toEqual({ kind: 'sqlite', file: path.join(CWD, 'data', 'mccs.sqlite') });
  });

  it('uses the in-memory queue store and starts Janus automatically', () => {
    expect(config.queueStore).toEqual({ kind: 'memory' });
    expect(config.janus.mode).toBe('auto');
    expect(config.janus.wsUrl).toBe(`ws://127.0.0.1:${config.janus.wsPort}`);
  });

  it('ignores variables set to the empty string', () => {
    expect(loadConfig({ MCCS_HTTP_PORT: '', MCCS_JANUS: '' }, CWD)).toEqual(config);
  });
});

describe('environment variables', () => {
  it('MCCS_DATA_DIR moves the SQLite file (relative paths resolve against cwd)', () => {
    expect(loadConfig({ MCCS_DATA_DIR: '/srv/mccs' }, CWD).db).toEqual({ kind: 'sqlite', file: '/srv/mccs/mccs.sqlite' });
    const rel = loadConfig({ MCCS_DATA_DIR: 'state' }, CWD);
    expect(rel.dataDir).toBe(path.join(CWD, 'state'));
    expect(rel.db).toEqual({ kind: 'sqlite', file: path.join(CWD, 'state', 'mccs.sqlite') });
  });

  it('MCCS_DATABASE_URL selects PostgreSQL', () => {
    const url = 'postgres://mccs:pw@db.example:5432/mccs';
    expect(loadConfig({ MCCS_DATABASE_URL: url }, CWD).db).toMatchObject({ kind: 'postgres', url });
  });

  it('MCCS_REDIS_URL selects the Redis queue store (prefix from MCCS_REDIS_PREFIX, default "mccs:")', () => {
    expect(loadConfig({ MCCS_REDIS_URL: 'redis://cache:6379' }, CWD).queueStore).toEqual({
      kind: 'redis',
      url: 'redis://cache:6379',
      keyPrefix: 'mccs:',
    });
    expect(loadConfig({ MCCS_REDIS_URL: 'rediss://cache', MCCS_REDIS_PREFIX: 'blue:' }, CWD).queueStore).toMatchObject({ keyPrefix: 'blue:' });
  });

  it('accepts an http(s) MCCS_PUBLIC_URL', () => {
    expect(loadConfig({ MCCS_PUBLIC_URL: 'https://chat.example.com' }, CWD).http.publicUrl).toBe('https://chat.example.com');
  });

  it('parses numbers and passes strings through', () => {
    const c = loadConfig({ MCCS_HTTP_PORT: '9090', MCCS_SIP_PORT: '5080', MCCS_JANUS: 'off', MCCS_LOG_LEVEL: 'debug' }, CWD);
    expect(c.http.port).toBe(9090);
    expect(c.sip.port).toBe(5080);
    expect(c.janus.mode).toBe('off');
    expect(c.log.level).toBe('debug');
  });
});

describe('bad values', () => {
  it.each([
    ['MCCS_HTTP_PORT', 'abc'],
    ['MCCS_HTTP_PORT', '70000'],
    ['MCCS_HTTP_PORT', '80.5'],
    ['MCCS_JANUS', 'maybe'],
    ['MCCS_LOG_LEVEL', 'loud'],
    ['MCCS_CHAT_CAPACITY', '0'],
    ['MCCS_PUBLIC_URL', 'localhost:8080'],
  ])('%s=%s is a ConfigError naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(name);
    expect(err.problems[0]).toContain(value);
    expect(err.message).toContain(name);
  });

  // SOURCE BUG (lib/config.ts ~line 143-146 and 184-186): MCCS_DATABASE_URL and MCCS_REDIS_URL are not in
  // VARIABLES, so a wrong URL is reported as "/db: Expected union value (got {...})" (or "/queueStore: ..."),
  // which does not name the variable the operator has to fix — contrary to the file's own promise.
  it.each([
    ['MCCS_DATABASE_URL', 'mysql://db/mccs'],
    ['MCCS_REDIS_URL', 'http://cache:6379'],
  ])('a wrong %s is reported under that variable name', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(name);
  });

  it('lists every problem at once, one per variable', () => {
    const err = configError({ MCCS_HTTP_PORT: 'abc', MCCS_SIP_PORT: '70000', MCCS_JANUS: 'maybe', MCCS_LOG_LEVEL: 'loud' });
    expect(err.problems).toHaveLength(4);
    for (const name of ['MCCS_HTTP_PORT', 'MCCS_SIP_PORT', 'MCCS_JANUS', 'MCCS_LOG_LEVEL']) {
      expect(err.problems.filter((p) => p.includes(name))).toHaveLength(1);
      expect(err.message).toContain(name);
    }
  });
});

describe('MCCS_CONFIG_FILE', () => {
  it('reads settings from the JSON file', () => {
    const file = writeJson('basic.json', { http: { port: 9000 }, janus: { mode: 'off' }, log: { level: 'warn' } });
    const c = loadConfig({ MCCS_CONFIG_FILE: file }, CWD);
    expect(c.http.port).toBe(9000);
    expect(c.janus.mode).toBe('off');
    expect(c.log.level).toBe('warn');
    // Unset values keep their defaults.
    expect(c.http.host).toBe('0.0.0.0');
    expect(c.sip.port).toBe(5060);
  });

  it('lets environment variables override the file', () => {
    const file = writeJson('override.json', { http: { port: 9000, host: '127.0.0.1' }, janus: { mode: 'off' } });
    const c = loadConfig({ MCCS_CONFIG_FILE: file, MCCS_HTTP_PORT: '9100', MCCS_JANUS: 'external' }, CWD);
    expect(c.http.port).toBe(9100);
    expect(c.http.host).toBe('127.0.0.1'); // not overridden: from the file
    expect(c.janus.mode).toBe('external');
  });

  it('reports bad values from the file too', () => {
    const file = writeJson('bad.json', { http: { port: 123456 } });
    const err = configError({ MCCS_CONFIG_FILE: file });
    expect(err.problems.join('\n')).toMatch(/http|MCCS_HTTP_PORT/);
  });

  it('a missing file is a clear error naming MCCS_CONFIG_FILE and the path', () => {
    const missing = path.join(tmp, 'does-not-exist.json');
    const err = configError({ MCCS_CONFIG_FILE: missing });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain('MCCS_CONFIG_FILE');
    expect(err.problems[0]).toContain(missing);
  });

  it('a file that is not JSON is a clear error, listed with other problems', () => {
    const file = path.join(tmp, 'broken.json');
    writeFileSync(file, '{ "http": { port: 1 ');
    const err = configError({ MCCS_CONFIG_FILE: file, MCCS_LOG_LEVEL: 'loud' });
    expect(err.problems).toHaveLength(2);
    expect(err.problems[0]).toContain('MCCS_CONFIG_FILE');
    expect(err.problems[0]).toContain(file);
    expect(err.problems[1]).toContain('MCCS_LOG_LEVEL');
  });
});
