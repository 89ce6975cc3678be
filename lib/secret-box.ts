// Secrets the server must read back in clear are kept encrypted at rest: a SIP trunk's digest and
// registration passwords (digest authentication needs the plain value, so they cannot be hashed).
// AES-256-GCM with a random 96-bit IV per value; the tag is checked on every read, so a value altered
// in the database, or opened with another key, fails instead of yielding garbage. Each value is bound
// to what it is (its `context`, e.g. which trunk and which field): a sealed value copied to another
// row does not open there. Format "v1:<iv>:<tag>:<ciphertext>", parts in base64url; the version
// leaves room for another cipher or key scheme later. Keys are rotated with a previous key beside the
// current one: values are sealed with the current key and opened with either, and `unseal` tells which
// ones to seal again, so once they are the previous key can go.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const SECRETS_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const V1 = /^v1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]*)$/;
/** HKDF's info for the key derived from the token secret: fixed, so every start derives the same key. */
const DERIVED_KEY_INFO = 'mccs secret-box v1 key';

/** A sealed value that does not open: another key, altered, or not a sealed value. Names no value. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** A key and where it comes from, for error messages ("MCCS_SECRETS_KEY", …); never the key itself. */
export interface SecretsKey {
  key: Uint8Array;
  source: string;
}

/** An opened value, and whether it was sealed with a previous key (so should be sealed again with the current one). */
export interface Unsealed {
  plaintext: string;
  resealNeeded: boolean;
}

export class SecretBox {
  /** The current key first (it seals), then the previous ones (they only open). */
  readonly #keys: Array<{ key: Buffer; source: string }>;
  /** Where the current key comes from; never the key. */
  readonly keySource: string;

  constructor(key: Uint8Array, keySource: string, previous: readonly SecretsKey[] = []) {
    this.#keys = [{ key, source: keySource }, ...previous].map((k) => {
      if (k.key.length !== SECRETS_KEY_BYTES) throw new TypeError(`a secret-box key has ${SECRETS_KEY_BYTES} bytes, not ${k.key.length}`);
      return { key: Buffer.from(k.key), source: k.source };
    });
    this.keySource = keySource;
  }

  /** Encrypts `plaintext` with the current key, bound to `context` (which the reader must name again). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0]!.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join(':');
  }

  /** The plaintext of a value `seal` made with one of these keys and `context`; SecretBoxError otherwise. */
  open(sealed: string, context: string): string {
    return this.unseal(sealed, context).plaintext;
  }

  /** `open`, also telling whether the value was sealed with a previous key rather than the current one. */
  unseal(sealed: string, context: string): Unsealed {
    const version = /^(v\d+):/.exec(sealed)?.[1];
    if (version === undefined) throw new SecretBoxError('not a sealed value');
    if (version !== 'v1') throw new SecretBoxError(`sealed in format ${version}, which this version of mccs cannot read`);
    const parts = V1.exec(sealed);
    if (!parts) throw new SecretBoxError('a malformed sealed value');
    const [iv, tag, ciphertext] = [parts[1]!, parts[2]!, parts[3]!].map((p) => Buffer.from(p, 'base64url'));
    for (const [i, { key }] of this.#keys.entries()) {
      const decipher = createDecipheriv('aes-256-gcm', key, iv!, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag!);
      try {
        return { plaintext: Buffer.concat([decipher.update(ciphertext!), decipher.final()]).toString('utf8'), resealNeeded: i > 0 };
      } catch {
        // The tag does not match this key: try the next one.
      }
    }
    throw new SecretBoxError(`does not open with ${this.#keys.map((k) => k.source).join(' nor with ')}: sealed with another key, or altered`);
  }
}

/** MCCS_SECRETS_KEY's text as a key: 32 bytes as 64 hex digits or base64 (or base64url); null if it is neither. */
export function parseSecretsKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t)) return Buffer.from(t, 'base64');
  if (/^[A-Za-z0-9_-]{43}$/.test(t)) return Buffer.from(t, 'base64url');
  return null;
}

/**
 * The key when none is configured: derived (HKDF-SHA256) from the token secret, so the embedded
 * default needs no set-up. Changing the token secret then changes this key too.
 */
export function deriveSecretsKey(tokenSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(tokenSecret, 'utf8'), Buffer.alloc(0), DERIVED_KEY_INFO, SECRETS_KEY_BYTES));
}

/**
 * The secret box of this server: MCCS_SECRETS_KEY when set, else derived from the token secret; and
 * MCCS_SECRETS_KEY_PREVIOUS when set, to open values sealed before a key change (both already
 * validated by loadConfig).
 */
export function createSecretBox(configuredKey: string, tokenSecret: string, previousKey = ''): SecretBox {
  const previous: SecretsKey[] = [];
  if (previousKey) {
    const key = parseSecretsKey(previousKey);
    if (!key) throw new TypeError('MCCS_SECRETS_KEY_PREVIOUS: expected 32 bytes as 64 hex digits or base64');
    previous.push({ key, source: 'MCCS_SECRETS_KEY_PREVIOUS' });
  }
  const derived = deriveSecretsKey(tokenSecret);
  if (configuredKey) {
    const key = parseSecretsKey(configuredKey);
    if (!key) throw new TypeError('MCCS_SECRETS_KEY: expected 32 bytes as 64 hex digits or base64');
    // Values sealed before MCCS_SECRETS_KEY was first set still open (and are sealed again with it).
    previous.push({ key: derived, source: 'the key derived from the token secret' });
    return new SecretBox(key, 'MCCS_SECRETS_KEY', previous);
  }
  return new SecretBox(derived, 'the key derived from the token secret (MCCS_SECRETS_KEY is not set)', previous);
}
