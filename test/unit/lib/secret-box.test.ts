// The secret box that keeps SIP trunk passwords encrypted at rest: what goes in comes out with the
// same key and context, and nothing else opens: another key, another context (another trunk or
// field), or a value altered in the database. The key comes from MCCS_SECRETS_KEY (checked, never
// echoed) or, by default, from the token secret.
import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError, createSecretBox, deriveSecretsKey, parseSecretsKey } from '../../../lib/secret-box.js';
import { ConfigError, loadConfig } from '../../../lib/config.js';

const box = new SecretBox(randomBytes(32), 'MCCS_SECRETS_KEY');
const CONTEXT = 'sip_trunks/pbx/auth.password';

/** The sealed value with one character of part `i` (1 iv, 2 tag, 3 ciphertext) changed. */
function altered(sealed: string, i: number): string {
  const parts = sealed.split(':');
  const part = parts[i]!;
  parts[i] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
  return parts.join(':');
}

test('what is sealed opens again with the same key and context', () => {
  for (const secret of ['s3cret', '', 'pässwörd ✓ with spaces and "quotes"', 'x'.repeat(200)]) {
    expect(box.open(box.seal(secret, CONTEXT), CONTEXT)).toBe(secret);
  }
});

test('the sealed value is versioned, does not contain the secret, and differs every time (random IV)', () => {
  const a = box.seal('digest-Secret-4711', CONTEXT);
  const b = box.seal('digest-Secret-4711', CONTEXT);
  expect(a).toMatch(/^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
  expect(a).not.toContain('digest-Secret-4711');
  expect(a).not.toBe(b);
});

test('a value altered anywhere does not open', () => {
  const sealed = box.seal('s3cret', CONTEXT);
  for (const part of [1, 2, 3]) {
    expect(() => box.open(altered(sealed, part), CONTEXT)).toThrow(SecretBoxError);
  }
  // Cut short, or a part dropped.
  expect(() => box.open(sealed.slice(0, -2), CONTEXT)).toThrow(SecretBoxError);
  expect(() => box.open(sealed.split(':').slice(0, 3).join(':'), CONTEXT)).toThrow(/malformed/);
});

test('another key or another context does not open it, and the error names no value', () => {
  const sealed = box.seal('s3cret', CONTEXT);
  const other = new SecretBox(randomBytes(32), 'MCCS_SECRETS_KEY');
  let message = '';
  try {
    other.open(sealed, CONTEXT);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretBoxError);
    message = (err as Error).message;
  }
  expect(message).toMatch(/MCCS_SECRETS_KEY: sealed with another key, or altered/);
  expect(message).not.toContain('s3cret');
  expect(message).not.toContain(sealed);
  // Copied to another trunk's row, or from `auth` to `register`: refused.
  expect(() => box.open(sealed, 'sip_trunks/other/auth.password')).toThrow(SecretBoxError);
  expect(() => box.open(sealed, 'sip_trunks/pbx/register.password')).toThrow(SecretBoxError);
});

test('only the v1 format is read: another version and clear text are refused by name', () => {
  const sealed = box.seal('s3cret', CONTEXT);
  expect(() => box.open(sealed.replace(/^v1:/, 'v2:'), CONTEXT)).toThrow(/format v2, which this version of mccs cannot read/);
  expect(() => box.open('s3cret', CONTEXT)).toThrow(/not a sealed value/);
});

test('keys: 32 bytes as hex or base64; anything else is refused', () => {
  const key = randomBytes(32);
  for (const text of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), ` ${key.toString('base64')}\n`]) {
    expect(parseSecretsKey(text)?.equals(key)).toBe(true);
  }
  for (const text of [randomBytes(31).toString('hex'), randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), 'not a key', '']) {
    expect(parseSecretsKey(text)).toBeNull();
  }
  expect(() => new SecretBox(randomBytes(16), 'x')).toThrow(TypeError);
});

test('without MCCS_SECRETS_KEY the key is derived from the token secret: the same every start, another for another secret', () => {
  const secret = 'test-secret-that-is-long-enough-for-hs256-0123456789';
  expect(deriveSecretsKey(secret).equals(deriveSecretsKey(secret))).toBe(true);
  expect(deriveSecretsKey(secret)).toHaveLength(32);
  expect(deriveSecretsKey(secret).equals(deriveSecretsKey(secret + '!'))).toBe(false);
  const sealed = createSecretBox('', secret).seal('s3cret', CONTEXT);
  expect(createSecretBox('', secret).open(sealed, CONTEXT)).toBe('s3cret');
  expect(() => createSecretBox('', secret + '!').open(sealed, CONTEXT)).toThrow(/derived from the token secret/);
  // A configured key wins over the token secret.
  const key = randomBytes(32).toString('base64');
  expect(() => createSecretBox(key, secret).open(sealed, CONTEXT)).toThrow(SecretBoxError);
  expect(createSecretBox(key, 'another-token-secret').open(createSecretBox(key, secret).seal('s3cret', CONTEXT), CONTEXT)).toBe('s3cret');
});

test('MCCS_SECRETS_KEY is checked at start without echoing it', () => {
  const good = randomBytes(32).toString('hex');
  expect(loadConfig({ MCCS_SECRETS_KEY: good }, '/srv').secrets.key).toBe(good);
  expect(loadConfig({}, '/srv').secrets.key).toBe('');
  const bad = 'short-but-secret-value';
  let error: unknown;
  try {
    loadConfig({ MCCS_SECRETS_KEY: bad }, '/srv');
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^MCCS_SECRETS_KEY: expected 32 bytes as 64 hex digits or base64/)]);
  expect((error as Error).message).not.toContain(bad);
});
