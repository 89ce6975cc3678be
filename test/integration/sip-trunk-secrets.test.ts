// SIP trunk passwords are encrypted at rest (lib/secret-box.ts): the sip_trunks table never holds one
// in clear, yet a trunk added over the API still authenticates a caller with digest (SIPp), also after
// a restart. Trunks stored in clear before this are sealed at the next start (safely, even by two
// processes at once), and a key that does not open them stops the start with a clear message that
// names no password. A key change keeps the trunks: started with the new key and the old one as
// MCCS_SECRETS_KEY_PREVIOUS, the server seals them again with the new one, which alone then suffices.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource, Repository } from 'typeorm';
import { openDatabase } from '../../db/data-source.js';
import { SipTrunkEntity, type SipTrunkRow } from '../../db/sip-entities.js';
import { SecretBox } from '../../lib/secret-box.js';
import { TrunkDirectory, sealClearPasswords } from '../../sip-bridge/trunk-directory.js';
import { TOKEN_SECRET, api, startTestServer, waitForMedia } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { runSipp, type SippRun } from '../support/sipp.js';
import { freePort } from '../support/ports.js';
import type { SipTrunkView } from '../../protocol/sip.js';

const DIGEST_SECRET = 'digest-Secret-4711';
const REGISTER_SECRET = 'register-Secret-0815';

describe('stored trunks (SQLite)', () => {
  let dir: string;
  let db: DataSource;
  let repo: Repository<SipTrunkRow>;
  const box = new SecretBox(randomBytes(32), 'MCCS_SECRETS_KEY');
  const raw = async (id: string): Promise<string> =>
    (await repo.createQueryBuilder('t').select('t.settings', 'settings').where('t.id = :id', { id }).getRawOne<{ settings: string }>())!.settings;
  /** A row as an earlier version stored it: passwords in clear. */
  const storeClear = (id: string) =>
    repo.save({
      id,
      settings: { auth: { username: 'office', password: DIGEST_SECRET, realm: 'mccs' }, register: { registrar: '192.0.2.1:5060', username: 'acct', password: REGISTER_SECRET }, maxConcurrent: 4 },
      createdAt: Date.now(),
      updatedAt: Date.now(),
      updatedBy: 'admin',
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mccs-trunk-secrets-'));
    db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'mccs.sqlite') });
    repo = db.getRepository(SipTrunkEntity);
  });

  afterAll(async () => {
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('passwords stored in clear are sealed when the trunks are read, once; the trunk keeps working with them', async () => {
    await storeClear('legacy');
    expect(await raw('legacy')).toContain(DIGEST_SECRET);

    const { directory, sealed } = await TrunkDirectory.open(repo, [], box);
    expect(sealed).toEqual(['legacy']);
    const stored = await raw('legacy');
    expect(stored).not.toContain(DIGEST_SECRET);
    expect(stored).not.toContain(REGISTER_SECRET);
    expect(JSON.parse(stored)).toMatchObject({
      auth: { username: 'office', realm: 'mccs', passwordSealed: expect.stringMatching(/^v1:/) },
      register: { username: 'acct', passwordSealed: expect.stringMatching(/^v1:/) },
      maxConcurrent: 4,
    });
    expect(JSON.parse(stored).auth).not.toHaveProperty('password');
    expect(directory.entries()).toEqual([expect.objectContaining({ id: 'legacy', auth: { username: 'office', realm: 'mccs', password: DIGEST_SECRET }, register: expect.objectContaining({ password: REGISTER_SECRET }) })]);

    // The next start finds nothing left to seal and reads the same trunk.
    const again = await TrunkDirectory.open(repo, [], box);
    expect(again.sealed).toEqual([]);
    expect(await raw('legacy')).toBe(stored);
    expect(again.directory.entries()).toEqual(directory.entries());
  });

  test('two processes sealing at the same time leave one good sealed row', async () => {
    await storeClear('twice');
    const [first, second] = await Promise.all([sealClearPasswords(repo, box), sealClearPasswords(repo, box)]);
    expect([...first, ...second]).toContain('twice');
    expect(await raw('twice')).not.toContain(DIGEST_SECRET);
    const { directory } = await TrunkDirectory.open(repo, [], box);
    expect(directory.entries().find((e) => e.id === 'twice')?.auth?.password).toBe(DIGEST_SECRET);
  });

  test('a trunk added or changed through the directory is stored sealed', async () => {
    const { directory } = await TrunkDirectory.open(repo, [], box);
    await directory.create('fresh', { auth: { username: 'pbx', password: DIGEST_SECRET } }, 'admin');
    await directory.replace('fresh', { auth: { username: 'pbx' }, maxConcurrent: 2 }, 'admin');
    const stored = await raw('fresh');
    expect(stored).not.toContain(DIGEST_SECRET);
    expect(JSON.parse(stored)).toMatchObject({ auth: { username: 'pbx', passwordSealed: expect.stringMatching(/^v1:/) }, maxConcurrent: 2 });
    expect((await TrunkDirectory.open(repo, [], box)).directory.entries().find((e) => e.id === 'fresh')?.auth?.password).toBe(DIGEST_SECRET);
  });

  test("reload reads another process's changes; one that would not work with this process's file changes nothing", async () => {
    const here = (await TrunkDirectory.open(repo, [], box)).directory;
    // Another process, whose trunks file has a callback trunk.
    const there = (await TrunkDirectory.open(repo, [{ id: 'file-cb', target: 'sip:192.0.2.50:5060', callbacks: true }], box)).directory;
    const heard: string[][] = [];
    here.on('changed', (entries) => heard.push(entries.map((e) => e.id)));
    expect((await here.reload()).changed).toBe(false);

    await there.create('elsewhere', { allow: ['192.0.2.7'], auth: { username: 'far', password: DIGEST_SECRET } }, 'admin');
    expect((await here.reload()).changed).toBe(true);
    expect(here.entries().find((e) => e.id === 'elsewhere')).toMatchObject({ allow: ['192.0.2.7'], auth: { username: 'far', password: DIGEST_SECRET } });
    expect((await here.reload()).changed).toBe(false);
    expect(heard).toEqual([['legacy', 'twice', 'fresh', 'elsewhere']]);

    // A second callback trunk is fine here, not there: there keeps what it had.
    await here.create('cb', { target: 'sip:192.0.2.51:5060', callbacks: true }, 'admin');
    const before = there.entries();
    await expect(there.reload()).rejects.toThrow(/only one SIP trunk may place callbacks/);
    expect(there.entries()).toEqual(before);
    await here.remove('cb');
    await here.remove('elsewhere');
  });

  test('another key fails clearly, naming the trunk and the key but no password; so does a sealed value moved to another trunk', async () => {
    const other = new SecretBox(randomBytes(32), 'MCCS_SECRETS_KEY');
    const failure = await TrunkDirectory.open(repo, [], other).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect(failure!.message).toMatch(/^SIP trunk legacy: its stored auth password does not open with MCCS_SECRETS_KEY/);
    expect(failure!.message).not.toContain(DIGEST_SECRET);

    // 'twice' takes 'legacy's sealed password: bound to 'legacy', it opens nowhere else.
    const legacy = JSON.parse(await raw('legacy')) as { auth: { passwordSealed: string } };
    const twice = JSON.parse(await raw('twice')) as { auth: { passwordSealed: string } };
    await repo.update({ id: 'twice' }, { settings: { ...twice, auth: { ...twice.auth, passwordSealed: legacy.auth.passwordSealed } } });
    await expect(TrunkDirectory.open(repo, [], box)).rejects.toThrow(/^SIP trunk twice: its stored auth password does not open/);
  });
});

describe('key rotation of stored trunks (SQLite)', () => {
  let dir: string;
  let db: DataSource;
  let repo: Repository<SipTrunkRow>;
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const onlyA = new SecretBox(keyA, 'MCCS_SECRETS_KEY');
  const onlyB = new SecretBox(keyB, 'MCCS_SECRETS_KEY');
  const rotating = new SecretBox(keyB, 'MCCS_SECRETS_KEY', [{ key: keyA, source: 'MCCS_SECRETS_KEY_PREVIOUS' }]);
  const raw = async (id: string): Promise<string> =>
    (await repo.createQueryBuilder('t').select('t.settings', 'settings').where('t.id = :id', { id }).getRawOne<{ settings: string }>())!.settings;
  const failureOf = (p: Promise<unknown>): Promise<Error | null> =>
    p.then(
      () => null,
      (err: unknown) => err as Error,
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mccs-trunk-rotation-'));
    db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'mccs.sqlite') });
    repo = db.getRepository(SipTrunkEntity);
    const { directory } = await TrunkDirectory.open(repo, [], onlyA);
    await directory.create('pbx', { auth: { username: 'office', password: DIGEST_SECRET }, register: { registrar: '192.0.2.1:5060', username: 'acct', password: REGISTER_SECRET } }, 'admin');
    await directory.create('shadow', { auth: { username: 'other', password: DIGEST_SECRET } }, 'admin');
  });

  afterAll(async () => {
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a password neither key opens fails the open, naming both keys and the trunk, and nothing is sealed again', async () => {
    const foreign = new SecretBox(randomBytes(32), 'elsewhere');
    await repo.save({ id: 'foreign', settings: { auth: { username: 'x', passwordSealed: foreign.seal(DIGEST_SECRET, 'sip_trunks/foreign/auth.password') } }, createdAt: Date.now(), updatedAt: Date.now(), updatedBy: 'admin' });
    const before = await raw('pbx');
    const failure = await failureOf(TrunkDirectory.open(repo, [], rotating));
    expect(failure).toBeInstanceOf(TypeError);
    expect(failure!.message).toMatch(/^SIP trunk foreign: its stored auth password does not open with MCCS_SECRETS_KEY nor with MCCS_SECRETS_KEY_PREVIOUS:/);
    expect(failure!.message).not.toContain(DIGEST_SECRET);
    expect(await raw('pbx')).toBe(before);
    await repo.delete({ id: 'foreign' });
  });

  test('opened with the new key and the old one as previous: every stored password, shadowed ones too, is sealed again with the new key', async () => {
    const before = { pbx: JSON.parse(await raw('pbx')), shadow: JSON.parse(await raw('shadow')) };
    const file = [{ id: 'shadow', target: 'sip:192.0.2.50:5060' }];
    const opened = await TrunkDirectory.open(repo, file, rotating);
    expect(opened.resealed.sort()).toEqual(['pbx', 'shadow']);
    expect(opened.directory.entries().find((e) => e.id === 'pbx')).toMatchObject({ auth: { password: DIGEST_SECRET }, register: { password: REGISTER_SECRET } });

    const after = { pbx: JSON.parse(await raw('pbx')), shadow: JSON.parse(await raw('shadow')) };
    expect(after.pbx.auth.passwordSealed).not.toBe(before.pbx.auth.passwordSealed);
    expect(after.pbx.register.passwordSealed).not.toBe(before.pbx.register.passwordSealed);
    // Only the seals changed.
    expect({ ...after.pbx, auth: { ...after.pbx.auth, passwordSealed: 0 }, register: { ...after.pbx.register, passwordSealed: 0 } }).toEqual({
      ...before.pbx,
      auth: { ...before.pbx.auth, passwordSealed: 0 },
      register: { ...before.pbx.register, passwordSealed: 0 },
    });
    expect(onlyB.open(after.shadow.auth.passwordSealed, 'sip_trunks/shadow/auth.password')).toBe(DIGEST_SECRET);

    // The new key alone now reads them all; the old one no longer does, and nothing is left to seal again.
    const withB = await TrunkDirectory.open(repo, [], onlyB);
    expect(withB.resealed).toEqual([]);
    expect(withB.directory.entries()).toEqual([
      expect.objectContaining({ id: 'pbx', auth: { username: 'office', password: DIGEST_SECRET }, register: expect.objectContaining({ password: REGISTER_SECRET }) }),
      expect.objectContaining({ id: 'shadow', auth: { username: 'other', password: DIGEST_SECRET } }),
    ]);
    expect((await TrunkDirectory.open(repo, [], rotating)).resealed).toEqual([]);
    await expect(TrunkDirectory.open(repo, [], onlyA)).rejects.toThrow(/^SIP trunk pbx: its stored auth password does not open with MCCS_SECRETS_KEY:/);
  });
});

describe('through the server, with SIPp', () => {
  let bed: PhoneServer;

  beforeAll(async () => {
    bed = await startPhoneServer({ prefix: 'mccs-trunk-secrets-', janusRtpPorts: '29000-29499', env: { MCCS_SIP_RTP_PORTS: '47000-47999' } });
  }, 60_000);

  afterAll(() => bed?.close());

  const digestCall = async (password: string, answered: boolean): Promise<SippRun> =>
    runSipp({
      scenario: 'uac-digest.xml',
      workDir: bed.workDir,
      target: { host: '127.0.0.1', port: bed.sipPort },
      sipPort: await freePort(),
      mediaPort: await freePort(),
      extraArgs: ['-au', 'office', '-ap', password],
      // A wrong password: the INVITE with credentials is refused with 401 too, and SIPp stops there.
      ...(answered ? {} : { replace: { '<recv response="200" rrs="true" />': '<recv response="401" />' } }),
      timeoutS: answered ? 20 : 5,
    });

  /** The column as it is in the database file, read beside the running server. */
  const storedSettings = async (): Promise<string> => {
    const db = await openDatabase(bed.server.config.db);
    try {
      const rows = (await db.query('SELECT settings FROM sip_trunks WHERE id = ?', ['pbx'])) as Array<{ settings: string }>;
      return rows[0]!.settings;
    } finally {
      await db.destroy();
    }
  };

  test('a trunk added through the API is stored sealed and authenticates a digest call, also after a restart', async () => {
    const created = await api<SipTrunkView>(bed.server.url, 'POST', '/api/admin/sip/trunks', { id: 'pbx', auth: { username: 'office', password: DIGEST_SECRET, realm: 'mccs.test' } }, bed.admin);
    expect(created.status).toBe(201);
    const stored = await storedSettings();
    expect(stored).not.toContain(DIGEST_SECRET);
    expect(JSON.parse(stored)).toMatchObject({ auth: { username: 'office', realm: 'mccs.test', passwordSealed: expect.stringMatching(/^v1:/) } });

    const wrong = await digestCall('not-the-password', false);
    expect(wrong.messages.match(/received[^\n]*\n\s*SIP\/2.0 401/g)?.length).toBeGreaterThanOrEqual(2);
    const run = await digestCall(DIGEST_SECRET, true);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.anything() });
    expect(run.messages).toMatch(/SIP\/2.0 200 OK[\s\S]*^BYE sip:/m);

    // Only the sealed value is kept: a new start opens it from the database.
    await bed.server.restart();
    await waitForMedia(bed.server.url);
    expect((await digestCall(DIGEST_SECRET, true)).code).toBe(0);
    expect(bed.server.logs.join('\n')).not.toContain(DIGEST_SECRET);
  }, 90_000);

  test('a start with another key fails before anything runs, naming MCCS_SECRETS_KEY and the trunk, never the password', async () => {
    await bed.server.close({ keepData: true });
    const otherKey = randomBytes(32).toString('base64');
    // (Another token secret too: with the same one, the key derived from it still opens the password.)
    const failed = await startTestServer({ MCCS_SECRETS_KEY: otherKey, MCCS_TOKEN_SECRET: `${TOKEN_SECRET}-other`, MCCS_SIP_PORT: String(bed.sipPort) }, bed.server.dataDir).then(
      async (s) => {
        await s.close({ keepData: true });
        return null;
      },
      (err: unknown) => err as Error,
    );
    expect(failed?.message).toMatch(/SIP trunks: SIP trunk pbx: its stored auth password does not open with MCCS_SECRETS_KEY/);
    expect(failed?.message).not.toContain(DIGEST_SECRET);
    expect(failed?.message).not.toContain(otherKey);
    // The right key (here: derived from the same token secret) still opens it.
    const again = await startTestServer({ MCCS_SIP_PORT: String(bed.sipPort), MCCS_SIP_RTP_PORTS: '47000-47999' }, bed.server.dataDir);
    const listed = await api<{ trunks: SipTrunkView[] }>(again.url, 'GET', '/api/admin/sip/trunks', undefined, bed.admin);
    expect(listed.body.trunks).toEqual([expect.objectContaining({ id: 'pbx', auth: expect.objectContaining({ passwordSet: true }) })]);
    await again.close({ keepData: true });
  }, 60_000);
  test('a key change keeps the trunks: new key with the old one as previous seals them again; then the new key alone works', async () => {
    await bed.server.close({ keepData: true });
    const keyA = randomBytes(32).toString('base64');
    const keyB = randomBytes(32).toString('hex');
    const sipEnv = { MCCS_SIP_PORT: String(bed.sipPort), MCCS_SIP_RTP_PORTS: '47000-47999' };
    const startWith = (env: Record<string, string>) => startTestServer({ ...sipEnv, ...env }, bed.server.dataDir);
    const failureOf = (env: Record<string, string>): Promise<Error | null> =>
      startWith(env).then(
        async (s) => {
          await s.close({ keepData: true });
          return null;
        },
        (err: unknown) => err as Error,
      );
    const resealLines = (logs: string[]) => logs.filter((l) => l.includes('sealed again with the current key'));
    const storedSealed = async (): Promise<string> => (JSON.parse(await storedSettings()) as { auth: { passwordSealed: string } }).auth.passwordSealed;

    // From the key derived from the token secret to key A: setting the key is enough (same token secret).
    const toA = await startWith({ MCCS_SECRETS_KEY: keyA });
    await toA.close({ keepData: true });
    expect(resealLines(toA.logs).map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ count: 1 })]);
    expect(new SecretBox(Buffer.from(keyA, 'base64'), 'A').open(await storedSealed(), 'sip_trunks/pbx/auth.password')).toBe(DIGEST_SECRET);

    // Key B without the previous one: refused, naming both variables and the trunk, none of the secrets.
    const failed = await failureOf({ MCCS_SECRETS_KEY: keyB });
    expect(failed?.message).toMatch(/SIP trunk pbx: its stored auth password does not open with MCCS_SECRETS_KEY nor with the key derived from the token secret: /);
    expect(failed?.message).toContain('MCCS_SECRETS_KEY_PREVIOUS');
    for (const secret of [DIGEST_SECRET, keyA, keyB]) expect(failed?.message).not.toContain(secret);
    // A wrong previous key: refused too, naming both.
    expect((await failureOf({ MCCS_SECRETS_KEY: keyB, MCCS_SECRETS_KEY_PREVIOUS: randomBytes(32).toString('base64') }))?.message).toMatch(
      /SIP trunk pbx: its stored auth password does not open with MCCS_SECRETS_KEY nor with MCCS_SECRETS_KEY_PREVIOUS nor with the key derived/,
    );

    // Key B with key A as previous: starts, and the row is sealed with B now, counted in the log.
    const rotating = await startWith({ MCCS_SECRETS_KEY: keyB, MCCS_SECRETS_KEY_PREVIOUS: keyA });
    await rotating.close({ keepData: true });
    expect(resealLines(rotating.logs).map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ count: 1 })]);
    expect(rotating.logs.join('\n')).not.toContain(DIGEST_SECRET);
    const sealedWithB = await storedSealed();
    expect(new SecretBox(Buffer.from(keyB, 'hex'), 'B').open(sealedWithB, 'sip_trunks/pbx/auth.password')).toBe(DIGEST_SECRET);
    expect(() => new SecretBox(Buffer.from(keyA, 'base64'), 'A').open(sealedWithB, 'sip_trunks/pbx/auth.password')).toThrow();

    // Key B alone: the trunk still authenticates a digest call, and nothing is left to seal again.
    const withB = await startWith({
      MCCS_SECRETS_KEY: keyB,
      MCCS_JANUS: 'auto',
      MCCS_JANUS_WS_PORT: String(bed.server.config.janus.wsPort),
      MCCS_JANUS_RTP_PORTS: bed.server.config.janus.rtpPortRange,
    });
    try {
      await waitForMedia(withB.url);
      expect(resealLines(withB.logs)).toEqual([]);
      expect(await storedSealed()).toBe(sealedWithB);
      expect((await digestCall(DIGEST_SECRET, true)).code).toBe(0);
    } finally {
      await withB.close({ keepData: true });
    }
  }, 120_000);
});
