// ICE servers for browsers: STUN as configured, TURN with coturn's shared-secret credentials
// (username `<expiry>:<userId>`, password base64(HMAC-SHA1(secret, username))). The expected
// credentials come from openssl, not from node:crypto, so the test is not the same code twice.
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { createIceServerIssuer, parseIceUrl, turnCredential } from '../../../media/ice-servers.js';

const SECRET = 'north-wind-secret-0123';
const NOW_MS = 1_700_000_000_123; // unix 1700000000, plus milliseconds that must be dropped

/** base64(HMAC-SHA1(key, message)) as the shell computes it; undefined when openssl is missing. */
function opensslHmac(key: string, message: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'printf %s "$MSG" | openssl dgst -sha1 -hmac "$KEY" -binary | base64'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MSG: message, KEY: key },
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
}

describe('turnCredential', () => {
  it('matches a vector computed once with openssl', () => {
    // printf %s "1700000600:agent-42" | openssl dgst -sha1 -hmac "north-wind-secret-0123" -binary | base64
    expect(turnCredential(SECRET, 'agent-42', 1_700_000_600)).toEqual({
      username: '1700000600:agent-42',
      credential: 'VZpnSPbG/gXRRGZd4kP+K9hIGTc=',
    });
  });

  it.each([
    ['a-uuid', '0f8fad5b-d9cb-469f-a165-70867728950e', 'another secret, with spaces & symbols!'],
    ['a short id', 'v1', 'x'.repeat(64)],
  ])('matches openssl for %s', (_label, userId, secret) => {
    const { username, credential } = turnCredential(secret, userId, 1_800_000_000);
    const expected = opensslHmac(secret, username);
    if (expected === undefined) {
      console.warn('openssl not found: the fixed vector above still checks the HMAC');
      return;
    }
    expect(credential).toBe(expected);
  });
});

describe('createIceServerIssuer', () => {
  const stunUrls = ['stun:stun.example.com:3478'];
  const turnUrls = ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'];

  it('issues STUN without credentials and TURN with a credential expiring now + ttl', () => {
    const issuer = createIceServerIssuer({ stunUrls, turnUrls, turnSecret: SECRET, ttlSeconds: 600, now: () => NOW_MS });
    expect(issuer.hasTurn).toBe(true);
    const servers = issuer.issue('agent-42');
    expect(servers).toHaveLength(2);
    expect(servers[0]).toEqual({ urls: stunUrls });
    const turn = servers[1]!;
    expect(turn.urls).toEqual(turnUrls);
    expect(turn.username).toBe('1700000600:agent-42');
    expect(turn.credential).toBe(opensslHmac(SECRET, '1700000600:agent-42') ?? 'VZpnSPbG/gXRRGZd4kP+K9hIGTc=');
  });

  it('moves the expiry with the clock and the ttl', () => {
    let now = NOW_MS;
    const issuer = createIceServerIssuer({ turnUrls, turnSecret: SECRET, ttlSeconds: 3600, now: () => now });
    expect(issuer.issue('u1')[0]!.username).toBe('1700003600:u1');
    now += 90_000;
    expect(issuer.issue('u1')[0]!.username).toBe('1700003690:u1');
  });

  it('defaults the ttl to 600 s and the clock to Date.now', () => {
    const issuer = createIceServerIssuer({ turnUrls, turnSecret: SECRET });
    const before = Math.floor(Date.now() / 1000);
    const expiry = Number(issuer.issue('u1')[0]!.username!.split(':')[0]);
    expect(expiry).toBeGreaterThanOrEqual(before + 600);
    expect(expiry).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
  });

  it('offers no TURN entry without a secret or without TURN URLs', () => {
    expect(createIceServerIssuer({ stunUrls, turnUrls }).issue('u1')).toEqual([{ urls: stunUrls }]);
    expect(createIceServerIssuer({ stunUrls, turnUrls, turnSecret: '' }).hasTurn).toBe(false);
    expect(createIceServerIssuer({ stunUrls, turnSecret: SECRET }).issue('u1')).toEqual([{ urls: stunUrls }]);
    expect(createIceServerIssuer({}).issue('u1')).toEqual([]);
  });

  it('does not expose the secret as a property', () => {
    const issuer = createIceServerIssuer({ turnUrls, turnSecret: SECRET });
    expect(JSON.stringify(issuer)).not.toContain(SECRET);
  });

  it.each(['', 'a:b', 'has space', 'x'.repeat(129)])('rejects the user id %j with a TypeError', (userId) => {
    const issuer = createIceServerIssuer({ turnUrls, turnSecret: SECRET });
    expect(() => issuer.issue(userId)).toThrow(TypeError);
  });

  it('rejects a TURN URL in the STUN list and the reverse', () => {
    expect(() => createIceServerIssuer({ stunUrls: ['turn:t.example.com'] })).toThrow(/TURN URL in the STUN list/);
    expect(() => createIceServerIssuer({ turnUrls: ['stun:s.example.com'] })).toThrow(/STUN URL in the TURN list/);
  });

  it.each([59, 86_401, 1.5])('rejects the ttl %p', (ttlSeconds) => {
    expect(() => createIceServerIssuer({ ttlSeconds })).toThrow(TypeError);
  });
});

describe('parseIceUrl', () => {
  it.each([
    ['stun:stun.l.google.com:19302', { scheme: 'stun', host: 'stun.l.google.com', port: 19302 }],
    ['stun:192.0.2.10', { scheme: 'stun', host: '192.0.2.10' }],
    ['turn:[2001:db8::1]:3478', { scheme: 'turn', host: '[2001:db8::1]', port: 3478 }],
    ['turn:turn.example.com?transport=tcp', { scheme: 'turn', host: 'turn.example.com', transport: 'tcp' }],
    ['turns:turn.example.com:443?transport=tcp', { scheme: 'turns', host: 'turn.example.com', port: 443, transport: 'tcp' }],
  ])('accepts %s', (url, parsed) => {
    expect(parseIceUrl(url)).toEqual(parsed);
  });

  it.each([
    ['turn://turn.example.com:3478', /no "\/\/"/],
    ['http://turn.example.com', /invalid ICE server URL/],
    ['stuns:stun.example.com', /invalid ICE server URL/],
    ['turn:user@turn.example.com', /invalid ICE server URL/],
    ['turn:turn.example.com:70000', /out of range/],
    ['turn:turn.example.com:0', /out of range/],
    ['turn:turn.example.com?transport=sctp', /invalid ICE server URL/],
    ['stun:stun.example.com?transport=udp', /only for turn/],
    ['turn:', /invalid ICE server URL/],
    ['turn:-bad-.example.com', /invalid ICE server URL/],
  ])('rejects %s', (url, message) => {
    expect(() => parseIceUrl(url)).toThrow(TypeError);
    expect(() => parseIceUrl(url)).toThrow(message);
  });
});

describe('configuration (MCCS_STUN_URLS, MCCS_TURN_*)', () => {
  const configError = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig(env, '/tmp');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults to no ICE servers and a 600 s credential lifetime', () => {
    expect(loadConfig({}, '/tmp').ice).toEqual({ stunUrls: [], turnUrls: [], turnSecret: '', ttlSeconds: 600 });
  });

  it('reads comma-separated lists, and the result feeds the issuer as is', () => {
    const { ice } = loadConfig(
      {
        MCCS_STUN_URLS: 'stun:a.example.com:3478, stun:b.example.com,',
        MCCS_TURN_URLS: 'turn:t.example.com:3478?transport=udp,turns:t.example.com:5349',
        MCCS_TURN_SECRET: SECRET,
        MCCS_TURN_TTL_SECONDS: '120',
      },
      '/tmp',
    );
    expect(ice).toEqual({
      stunUrls: ['stun:a.example.com:3478', 'stun:b.example.com'],
      turnUrls: ['turn:t.example.com:3478?transport=udp', 'turns:t.example.com:5349'],
      turnSecret: SECRET,
      ttlSeconds: 120,
    });
    const servers = createIceServerIssuer({ ...ice, now: () => NOW_MS }).issue('c-1');
    expect(servers[1]!.username).toBe('1700000120:c-1');
  });

  it.each([
    [{ MCCS_STUN_URLS: 'stun:ok.example.com,turn:wrong.example.com' }, 'MCCS_STUN_URLS', 'turn:wrong.example.com'],
    [{ MCCS_TURN_URLS: 'turn://t.example.com', MCCS_TURN_SECRET: SECRET }, 'MCCS_TURN_URLS', 'turn://t.example.com'],
    [{ MCCS_TURN_TTL_SECONDS: '30' }, 'MCCS_TURN_TTL_SECONDS', '30'],
    [{ MCCS_TURN_TTL_SECONDS: '90000' }, 'MCCS_TURN_TTL_SECONDS', '90000'],
  ])('%j is one problem naming %s', (env, name, value) => {
    const err = configError(env);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(name);
    expect(err.problems[0]).toContain(value);
  });

  it('needs both TURN URLs and secret, and a secret that is not short, without printing it', () => {
    expect(configError({ MCCS_TURN_URLS: 'turn:t.example.com' }).problems).toEqual([expect.stringContaining('MCCS_TURN_SECRET')]);
    expect(configError({ MCCS_TURN_SECRET: SECRET }).problems).toEqual([expect.stringContaining('MCCS_TURN_URLS')]);
    const short = configError({ MCCS_TURN_URLS: 'turn:t.example.com', MCCS_TURN_SECRET: 'tiny-pw' });
    expect(short.problems).toEqual([expect.stringContaining('MCCS_TURN_SECRET')]);
    expect(short.message).not.toContain('tiny-pw');
  });
});

describe('logging', () => {
  it('redacts the TURN secret and issued credentials', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const logger = createLogger({ log: { level: 'info', format: 'json' } }, stream);
    const servers = createIceServerIssuer({ turnUrls: ['turn:t.example.com'], turnSecret: SECRET }).issue('u1');
    logger.info('ice', { ice: { turnSecret: SECRET }, iceServers: servers });
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toContain('turn:t.example.com');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(servers[0]!.credential!);
  });
});
