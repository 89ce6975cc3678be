// Signed tokens: what a client holding one gets back, and how an expired token is told apart from a
// forged one ("sign in again" vs "go away").
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { SignJWT } from 'jose';
import { DomainError } from '../../../lib/errors.js';
import { TokenService, resolveTokenSecret } from '../../../signaling/auth/tokens.js';

const SECRET = 'a'.repeat(16) + 'test-secret-0123456789';
const OTHER_SECRET = 'b'.repeat(16) + 'other-secret-987654321';
const TTL = { staffSeconds: 3600, visitorSeconds: 86_400 };
const key = (s: string) => new TextEncoder().encode(s);

/** The DomainError code verify() rejects with. */
async function rejectionCode(tokens: TokenService, token: string): Promise<string> {
  try {
    await tokens.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).code;
  }
  throw new Error('expected verify() to reject');
}

/** A token made with jose directly, as an attacker or an old server might. */
async function signRaw(claims: Record<string, unknown>, opts: { secret?: string; sub?: string; exp?: number; iss?: string; iat?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(opts.iat ?? now).setExpirationTime(opts.exp ?? now + 600);
  if (opts.iss !== '') jwt = jwt.setIssuer(opts.iss ?? 'mccs');
  if (opts.sub) jwt = jwt.setSubject(opts.sub);
  return jwt.sign(key(opts.secret ?? SECRET));
}

afterEach(() => {
  jest.useRealTimers();
});

describe('round trip', () => {
  const tokens = new TokenService(SECRET, TTL);

  it('a staff token names the account, role and expiry', async () => {
    const before = Date.now();
    const { token, expiresAt } = await tokens.issueStaff('acc-1', 'supervisor', false);
    const after = Date.now();
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + TTL.staffSeconds * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + TTL.staffSeconds * 1000);
    await expect(tokens.verify(token)).resolves.toEqual({
      kind: 'staff',
      accountId: 'acc-1',
      role: 'supervisor',
      expiresAt,
      mustChangePassword: false,
    });
  });

  it('a staff token carries the one-time-password flag', async () => {
    const { token } = await tokens.issueStaff('acc-2', 'admin', true);
    await expect(tokens.verify(token)).resolves.toMatchObject({ kind: 'staff', role: 'admin', mustChangePassword: true });
  });

  it('a visitor token names the customer', async () => {
    const { token, expiresAt } = await tokens.issueVisitor('cust-9');
    await expect(tokens.verify(token)).resolves.toEqual({ kind: 'visitor', customerId: 'cust-9', expiresAt });
    expect(expiresAt - Date.now()).toBeGreaterThan((TTL.visitorSeconds - 2) * 1000);
  });

  it('another server with the same secret accepts the token', async () => {
    const { token } = await tokens.issueVisitor('cust-9');
    await expect(new TokenService(SECRET, TTL).verify(token)).resolves.toMatchObject({ customerId: 'cust-9' });
  });
});

describe('expired tokens', () => {
  it('a token past its ttl is TOKEN_EXPIRED', async () => {
    jest.useFakeTimers({
      now: new Date('2030-01-01T00:00:00Z'),
      doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
    const tokens = new TokenService(SECRET, { staffSeconds: 1, visitorSeconds: 1 });
    const staff = await tokens.issueStaff('acc-1', 'agent', false);
    const visitor = await tokens.issueVisitor('cust-1');
    await expect(tokens.verify(staff.token)).resolves.toMatchObject({ kind: 'staff' });

    jest.setSystemTime(new Date('2030-01-01T00:00:02Z'));
    expect(await rejectionCode(tokens, staff.token)).toBe('TOKEN_EXPIRED');
    expect(await rejectionCode(tokens, visitor.token)).toBe('TOKEN_EXPIRED');
  });

  it('a token whose exp is in the past is TOKEN_EXPIRED, with a message saying to sign in again', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const token = await signRaw({ kind: 'visitor' }, { sub: 'cust-1', iat: past - 60, exp: past });
    await expect(new TokenService(SECRET, TTL).verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED', message: expect.stringMatching(/sign in/) });
  });

  it('an expired token signed with another secret is UNAUTHENTICATED, not TOKEN_EXPIRED', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const token = await signRaw({ kind: 'visitor' }, { sub: 'cust-1', iat: past - 60, exp: past, secret: OTHER_SECRET });
    expect(await rejectionCode(new TokenService(SECRET, TTL), token)).toBe('UNAUTHENTICATED');
  });
});

describe('forged and broken tokens are UNAUTHENTICATED', () => {
  const tokens = new TokenService(SECRET, TTL);

  it('signed with another secret', async () => {
    const { token } = await new TokenService(OTHER_SECRET, TTL).issueStaff('acc-1', 'admin', false);
    expect(await rejectionCode(tokens, token)).toBe('UNAUTHENTICATED');
  });

  it('with a tampered payload (an agent making itself admin)', async () => {
    const { token } = await tokens.issueStaff('acc-1', 'agent', false);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims.role).toBe('agent');
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect(await rejectionCode(tokens, `${header}.${forged}.${signature}`)).toBe('UNAUTHENTICATED');
  });

  it('with a tampered signature', async () => {
    const { token } = await tokens.issueVisitor('cust-1');
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    expect(await rejectionCode(tokens, token.slice(0, -2) + last + token.slice(-1))).toBe('UNAUTHENTICATED');
  });

  it.each([['garbage'], [''], ['a.b.c'], ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']])('a malformed token %p', async (token) => {
    expect(await rejectionCode(tokens, token)).toBe('UNAUTHENTICATED');
  });

  it('an unsigned ("alg": "none") token naming an admin', async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ kind: 'staff', role: 'admin', sub: 'acc-1', iss: 'mccs', exp })}.`;
    expect(await rejectionCode(tokens, token)).toBe('UNAUTHENTICATED');
  });

  it('correctly signed but from another issuer, or without the claims mccs puts in', async () => {
    expect(await rejectionCode(tokens, await signRaw({ kind: 'visitor' }, { sub: 'c', iss: 'someone-else' }))).toBe('UNAUTHENTICATED');
    expect(await rejectionCode(tokens, await signRaw({ kind: 'visitor' }, { sub: 'c', iss: '' }))).toBe('UNAUTHENTICATED');
    expect(await rejectionCode(tokens, await signRaw({ kind: 'visitor' }))).toBe('UNAUTHENTICATED'); // no subject
    expect(await rejectionCode(tokens, await signRaw({ kind: 'staff' }, { sub: 'acc-1' }))).toBe('UNAUTHENTICATED'); // no role
    expect(await rejectionCode(tokens, await signRaw({ kind: 'robot' }, { sub: 'acc-1' }))).toBe('UNAUTHENTICATED');
  });
});

describe('secrets', () => {
  it('refuses a secret shorter than 32 characters', () => {
    expect(() => new TokenService('x'.repeat(31), TTL)).toThrow(TypeError);
    expect(() => new TokenService('', TTL)).toThrow(TypeError);
    expect(() => new TokenService('x'.repeat(32), TTL)).not.toThrow();
  });

  describe('resolveTokenSecret', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'mccs-secret-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('returns a configured secret as is, writing nothing', () => {
      const dir = path.join(tmp, 'configured');
      expect(resolveTokenSecret(SECRET, dir)).toBe(SECRET);
      expect(() => statSync(dir)).toThrow();
    });

    it('generates a secret once into a 0600 file and returns the same one next time', async () => {
      const dir = path.join(tmp, 'nested', 'data'); // does not exist yet
      const first = resolveTokenSecret('', dir);
      expect(first.length).toBeGreaterThanOrEqual(32);
      const file = path.join(dir, 'token-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(first);

      expect(resolveTokenSecret('', dir)).toBe(first);

      // The generated secret works, and tokens survive a "restart" that re-reads it.
      const { token } = await new TokenService(first, TTL).issueVisitor('cust-1');
      await expect(new TokenService(resolveTokenSecret('', dir), TTL).verify(token)).resolves.toMatchObject({ customerId: 'cust-1' });
    });

    it('gives different data folders different secrets', () => {
      expect(resolveTokenSecret('', path.join(tmp, 'one'))).not.toBe(resolveTokenSecret('', path.join(tmp, 'two')));
    });
  });
});
