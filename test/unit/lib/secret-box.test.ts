// The secret box that keeps SIP trunk passwords encrypted at rest: what goes in comes out with the
// same key and context, and nothing else opens: another key, another context (another trunk or
// field), or a value altered in the database. The key comes from MCCS_SECRETS_KEY (checked, never
// echoed) or, by default, from the token secret. During a key change MCCS_SECRETS_KEY_PREVIOUS opens
// what was sealed before, and the box says which values to seal again.
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
  // A configured key wins over the token secret: it seals; what the derived key sealed before still
  // opens (to be sealed again), as long as the token secret is the same.
  const key = randomBytes(32).toString('base64');
  expect(createSecretBox(key, secret).unseal(sealed, CONTEXT)).toEqual({ plaintext: 's3cret', resealNeeded: true });
  expect(() => createSecretBox(key, secret + '!').open(sealed, CONTEXT)).toThrow(SecretBoxError);
  expect(() => createSecretBox('', secret).open(createSecretBox(key, secret).seal('s3cret', CONTEXT), CONTEXT)).toThrow(SecretBoxError);
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

describe('key rotation: the current key seals, the previous one only opens', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const onlyA = new SecretBox(keyA, 'MCCS_SECRETS_KEY');
  const onlyB = new SecretBox(keyB, 'MCCS_SECRETS_KEY');
  const rotating = new SecretBox(keyB, 'MCCS_SECRETS_KEY', [{ key: keyA, source: 'MCCS_SECRETS_KEY_PREVIOUS' }]);

  test('values sealed with the previous key open and are marked for sealing again; current ones are not', () => {
    const old = onlyA.seal('s3cret', CONTEXT);
    expect(rotating.open(old, CONTEXT)).toBe('s3cret');
    expect(rotating.unseal(old, CONTEXT)).toEqual({ plaintext: 's3cret', resealNeeded: true });
    expect(rotating.unseal(onlyB.seal('s3cret', CONTEXT), CONTEXT)).toEqual({ plaintext: 's3cret', resealNeeded: false });
    // The context still binds with either key.
    expect(() => rotating.open(old, 'sip_trunks/other/auth.password')).toThrow(SecretBoxError);
  });

  test('it seals with the current key only: once sealed again, the previous key is no longer needed', () => {
    const sealed = rotating.seal('s3cret', CONTEXT);
    expect(onlyB.open(sealed, CONTEXT)).toBe('s3cret');
    expect(() => onlyA.open(sealed, CONTEXT)).toThrow(SecretBoxError);
    const resealed = rotating.seal(rotating.unseal(onlyA.seal('s3cret', CONTEXT), CONTEXT).plaintext, CONTEXT);
    expect(onlyB.open(resealed, CONTEXT)).toBe('s3cret');
  });

  test('a value neither key opens fails naming both keys, never the value', () => {
    const foreign = new SecretBox(randomBytes(32), 'x').seal('s3cret', CONTEXT);
    let message = '';
    try {
      rotating.open(foreign, CONTEXT);
    } catch (err) {
      expect(err).toBeInstanceOf(SecretBoxError);
      message = (err as Error).message;
    }
    expect(message).toBe('does not open with MCCS_SECRETS_KEY nor with MCCS_SECRETS_KEY_PREVIOUS: sealed with another key, or altered');
    expect(() => new SecretBox(keyB, 'MCCS_SECRETS_KEY', [{ key: randomBytes(16), source: 'MCCS_SECRETS_KEY_PREVIOUS' }])).toThrow(TypeError);
  });

  test('createSecretBox takes MCCS_SECRETS_KEY_PREVIOUS beside the configured or the derived key', () => {
    const secret = 'test-secret-that-is-long-enough-for-hs256-0123456789';
    const old = onlyA.seal('s3cret', CONTEXT);
    expect(createSecretBox(keyB.toString('base64'), secret, keyA.toString('hex')).unseal(old, CONTEXT)).toEqual({ plaintext: 's3cret', resealNeeded: true });
    expect(() => createSecretBox(keyB.toString('base64'), secret).open(old, CONTEXT)).toThrow(/^does not open with MCCS_SECRETS_KEY nor with the key derived from the token secret: /);
    // No MCCS_SECRETS_KEY: the derived key seals, the previous one still opens.
    const derivedRotating = createSecretBox('', secret, keyA.toString('base64'));
    expect(derivedRotating.open(old, CONTEXT)).toBe('s3cret');
    expect(createSecretBox('', secret).open(derivedRotating.seal('s3cret', CONTEXT), CONTEXT)).toBe('s3cret');
    // From the derived key to a configured one: nothing to write out, the derived key still opens.
    const fromDerived = createSecretBox(keyB.toString('hex'), secret);
    expect(fromDerived.unseal(createSecretBox('', secret).seal('s3cret', CONTEXT), CONTEXT)).toEqual({ plaintext: 's3cret', resealNeeded: true });
  });

  test('MCCS_SECRETS_KEY_PREVIOUS is optional and checked like MCCS_SECRETS_KEY, without echoing it', () => {
    expect(loadConfig({}, '/srv').secrets.previousKey).toBe('');
    const good = randomBytes(32).toString('base64');
    expect(loadConfig({ MCCS_SECRETS_KEY: randomBytes(32).toString('hex'), MCCS_SECRETS_KEY_PREVIOUS: good }, '/srv').secrets.previousKey).toBe(good);
    const bad = randomBytes(31).toString('hex');
    let error: unknown;
    try {
      loadConfig({ MCCS_SECRETS_KEY_PREVIOUS: bad }, '/srv');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^MCCS_SECRETS_KEY_PREVIOUS: expected 32 bytes as 64 hex digits or base64 \(value hidden/)]);
    expect((error as Error).message).not.toContain(bad);
  });
});
