// Where the SIP trunks come from: MCCS_SIP_TRUNKS_FILE (read at start, read-only: operations keep
// those in their configuration) and the admin console (stored in the database, changed at any time).
// The two sets together are checked as one before anything is stored, so a change that would leave
// the bridge with a bad set (an id used twice, two callback trunks, a trunk that accepts anyone) is
// refused and nothing changes. Listeners hear every accepted change and apply it to the bridge.
// Stored passwords are sealed (lib/secret-box.ts): the database never holds them in clear, and they
// are opened once, when the trunks are read, so a wrong key stops the start instead of losing trunks.
// After a key change (MCCS_SECRETS_KEY_PREVIOUS) the start seals them again with the current key.
// With several server processes, another one's change is read again here (`reload`).
import type { Repository } from 'typeorm';
import type { SipTrunkRow } from '../db/sip-entities.js';
import { DomainError, NotFoundError } from '../lib/errors.js';
import { SecretBoxError, type SecretBox, type Unsealed } from '../lib/secret-box.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { parseCidr, validateTrunks, type TrunkConfig } from './trunks.js';

/**
 * One trunk as written in MCCS_SIP_TRUNKS_FILE or stored from the console: a TrunkConfig, the queue
 * its calls wait in, optionally a DTMF menu (digit → queue) the caller answers after the greeting,
 * and whether the server places customers' callbacks through it.
 */
export type TrunkEntry = TrunkConfig & { queueId?: string; menu?: Record<string, string>; menuPrompt?: string; callbacks?: boolean };

export type TrunkSource = 'file' | 'console';

export interface ListedTrunk {
  source: TrunkSource;
  entry: TrunkEntry;
  /** Console trunks: last change, epoch ms. */
  updatedAt: number | null;
}

/** What the console may set: a trunk entry without its id, passwords optional on an update. */
export type TrunkSettingsInput = Omit<TrunkEntry, 'id' | 'auth' | 'register'> & {
  auth?: { username: string; password?: string; realm?: string };
  register?: Omit<NonNullable<TrunkConfig['register']>, 'password'> & { password?: string };
};

export type TrunkDirectoryEvents = {
  /** The trunks changed, here or (after `reload`) on another server process: all of them, file ones first. */
  changed: [entries: TrunkEntry[]];
};

/** A console trunk as this process holds it: passwords open (in memory only). */
interface ConsoleTrunk {
  entry: TrunkEntry;
  createdAt: number;
  updatedAt: number;
}

/** What reading the stored trunks found besides the trunks. */
export interface TrunkReadReport {
  /** Stored trunks left out because MCCS_SIP_TRUNKS_FILE uses their ids (the file wins). */
  shadowed: string[];
  /** Stored trunks whose passwords were still in clear (stored before encryption), sealed now. */
  sealed: string[];
}

/** Throws TypeError on a set that cannot work: the bridge's checks, plus menus and one callback trunk. */
export function validateEntries(entries: TrunkEntry[]): void {
  for (const e of entries) {
    if (e.menu !== undefined) {
      const bad = typeof e.menu !== 'object' || e.menu === null || Object.entries(e.menu).some(([digit, queue]) => !/^[0-9*#]$/.test(digit) || typeof queue !== 'string' || !queue);
      if (bad) throw new TypeError(`SIP trunk ${e.id}: menu must map single digits to queue ids`);
    }
    if (e.queueId !== undefined && (typeof e.queueId !== 'string' || !e.queueId)) throw new TypeError(`SIP trunk ${e.id}: queueId must be a queue id`);
    for (const c of e.allow ?? []) {
      try {
        parseCidr(c);
      } catch (err) {
        throw new TypeError(`SIP trunk ${e.id}: allow: ${(err as Error).message}`);
      }
    }
  }
  const callbackTrunks = entries.filter((e) => e.callbacks === true).map((e) => e.id);
  if (callbackTrunks.length > 1) throw new TypeError(`only one SIP trunk may place callbacks, not ${callbackTrunks.join(' and ')}`);
  validateTrunks(entries.map(trunkOf));
}

/** The bridge's part of an entry (routing fields left out). */
export function trunkOf(e: TrunkEntry): TrunkConfig {
  const { queueId: _queueId, menu: _menu, menuPrompt: _prompt, callbacks: _callbacks, ...trunk } = e;
  return trunk;
}

export class TrunkDirectory extends TypedEmitter<TrunkDirectoryEvents> {
  readonly #repo: Repository<SipTrunkRow>;
  readonly #box: SecretBox;
  readonly #file: TrunkEntry[];
  #console: ConsoleTrunk[];
  /** Changes and reloads one at a time: each checks the set the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(repo: Repository<SipTrunkRow>, box: SecretBox, file: TrunkEntry[], stored: ConsoleTrunk[]) {
    super();
    this.#repo = repo;
    this.#box = box;
    this.#file = file;
    this.#console = stored;
  }

  /**
   * Loads the console's trunks next to the file's (already parsed), sealing passwords still stored in
   * clear first. A stored trunk whose id the file now uses too is left out (`shadowed`, for the caller
   * to log): the file wins. TypeError on a bad set or a password that opens with none of the keys.
   * Then, once all is well, passwords only a previous key opens are sealed again with the current one
   * (`resealed`): at start, which is when the keys change; `reload` leaves them.
   */
  static async open(
    repo: Repository<SipTrunkRow>,
    file: TrunkEntry[],
    box: SecretBox,
  ): Promise<{ directory: TrunkDirectory; resealed: string[] } & TrunkReadReport> {
    validateEntries(file);
    const { stored, ...report } = await readStored(repo, box, new Set(file.map((e) => e.id)));
    const directory = new TrunkDirectory(repo, box, file, stored);
    validateEntries(directory.entries());
    const resealed = await resealStalePasswords(repo, box);
    return { directory, resealed, ...report };
  }

  /** Every trunk, file ones first. */
  entries(): TrunkEntry[] {
    return [...this.#file, ...this.#console.map((t) => t.entry)];
  }

  list(): ListedTrunk[] {
    return [
      ...this.#file.map((entry) => ({ source: 'file' as const, entry, updatedAt: null })),
      ...this.#console.map((t) => ({ source: 'console' as const, entry: t.entry, updatedAt: t.updatedAt })),
    ];
  }

  /** Adds a console trunk. CONFLICT when the id is taken; VALIDATION when the set would not work. */
  create(id: string, input: TrunkSettingsInput, by: string): Promise<ListedTrunk> {
    return this.#serial(async () => {
      // The database too: another server process may have added it since this one loaded the set.
      if (this.#file.some((e) => e.id === id) || this.#console.some((t) => t.entry.id === id) || (await this.#repo.existsBy({ id }))) {
        throw new DomainError('CONFLICT', `a SIP trunk with id ${id} already exists`);
      }
      const entry = withPasswords(id, input, undefined);
      this.#check([...this.entries(), entry]);
      const now = Date.now();
      const row: SipTrunkRow = { id, settings: sealedSettings(entry, this.#box), createdAt: now, updatedAt: now, updatedBy: by };
      await this.#repo.save(row);
      // Held as it reads back, so a later reload compares like with like.
      const stored: ConsoleTrunk = { entry: openedEntry(row, this.#box), createdAt: now, updatedAt: now };
      this.#console = [...this.#console, stored];
      this.#changed();
      return { source: 'console', entry: stored.entry, updatedAt: now };
    });
  }

  /** Replaces a console trunk's settings; passwords left out are kept (when the username stays). */
  replace(id: string, input: TrunkSettingsInput, by: string): Promise<ListedTrunk> {
    return this.#serial(async () => {
      this.#refuseFileTrunk(id);
      const current = this.#console.find((t) => t.entry.id === id);
      if (!current) throw new NotFoundError('SIP trunk');
      const entry = withPasswords(id, input, current.entry);
      this.#check(this.entries().map((e) => (e.id === id ? entry : e)));
      const row: SipTrunkRow = { id, settings: sealedSettings(entry, this.#box), createdAt: current.createdAt, updatedAt: Date.now(), updatedBy: by };
      await this.#repo.save(row);
      const updated: ConsoleTrunk = { entry: openedEntry(row, this.#box), createdAt: row.createdAt, updatedAt: row.updatedAt };
      this.#console = this.#console.map((t) => (t.entry.id === id ? updated : t));
      this.#changed();
      return { source: 'console', entry: updated.entry, updatedAt: updated.updatedAt };
    });
  }

  /** Removes a console trunk: new calls from it are refused, calls in progress go on. */
  remove(id: string): Promise<void> {
    return this.#serial(async () => {
      this.#refuseFileTrunk(id);
      if (!this.#console.some((t) => t.entry.id === id)) throw new NotFoundError('SIP trunk');
      await this.#repo.delete({ id });
      this.#console = this.#console.filter((t) => t.entry.id !== id);
      this.#changed();
    });
  }

  /**
   * Reads the console's trunks again (another server process changed them) and applies them when
   * they differ from what this process holds. TypeError, and nothing changes, when they would not make
   * a good set with this process's file or a password does not open with this process's key.
   */
  reload(): Promise<{ changed: boolean } & TrunkReadReport> {
    return this.#serial(async () => {
      const { stored, ...report } = await readStored(this.#repo, this.#box, new Set(this.#file.map((e) => e.id)));
      if (JSON.stringify(stored) === JSON.stringify(this.#console)) return { changed: false, ...report };
      validateEntries([...this.#file, ...stored.map((t) => t.entry)]);
      this.#console = stored;
      this.#changed();
      return { changed: true, ...report };
    });
  }

  #refuseFileTrunk(id: string): void {
    if (this.#file.some((e) => e.id === id)) {
      throw new DomainError('INVALID_STATE', `SIP trunk ${id} comes from MCCS_SIP_TRUNKS_FILE: change it there`);
    }
  }

  #check(entries: TrunkEntry[]): void {
    try {
      validateEntries(entries);
    } catch (err) {
      if (err instanceof TypeError) throw new DomainError('VALIDATION', err.message);
      throw err;
    }
  }

  #changed(): void {
    this.safeEmit('changed', this.entries());
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** The fields of a trunk that hold a password (`password` in a trunks file and in the API). */
const SECRET_FIELDS = ['auth', 'register'] as const;
type SecretField = (typeof SECRET_FIELDS)[number];

/** What a sealed password is bound to: its trunk and field, so it opens nowhere else. */
const secretContext = (id: string, field: SecretField): string => `sip_trunks/${id}/${field}.password`;

/** The settings as stored: the entry without its id, each password sealed (as `passwordSealed`). */
function sealedSettings(entry: TrunkEntry, box: SecretBox): Record<string, unknown> {
  const { id, ...settings } = entry;
  const out: Record<string, unknown> = { ...settings };
  for (const field of SECRET_FIELDS) {
    const part = entry[field];
    if (!part) continue;
    const { password, ...rest } = part;
    out[field] = { ...rest, passwordSealed: box.seal(password, secretContext(id, field)) };
  }
  return out;
}

/**
 * A stored trunk as the bridge uses it, passwords opened. A password still in clear (stored before
 * encryption, not yet sealed by `sealClearPasswords`) is taken as it is. TypeError naming the trunk,
 * the field and the key, never a value, when one does not open.
 */
function openedEntry(row: Pick<SipTrunkRow, 'id' | 'settings'>, box: SecretBox): TrunkEntry {
  const entry: Record<string, unknown> = { ...row.settings, id: row.id };
  for (const field of SECRET_FIELDS) {
    const part = row.settings[field];
    if (typeof part !== 'object' || part === null) continue;
    const { passwordSealed, password: clear, ...rest } = part as Record<string, unknown>;
    const password = typeof passwordSealed === 'string' ? openPassword(row.id, field, passwordSealed, box) : clear;
    entry[field] = { ...rest, ...(password === undefined ? {} : { password }) };
  }
  return entry as unknown as TrunkEntry;
}

/** A stored password opened; TypeError naming the trunk, the field and the keys tried, never a value. */
function openPassword(id: string, field: SecretField, sealed: string, box: SecretBox): string {
  try {
    return box.open(sealed, secretContext(id, field));
  } catch (err) {
    if (!(err instanceof SecretBoxError)) throw err;
    throw new TypeError(
      `SIP trunk ${id}: its stored ${field} password ${err.message}. Start with the key it was stored with ` +
        '(MCCS_SECRETS_KEY, or when that is not set the token secret: MCCS_TOKEN_SECRET or <MCCS_DATA_DIR>/token-secret), ' +
        'or after a key change with the new key in MCCS_SECRETS_KEY and that one in MCCS_SECRETS_KEY_PREVIOUS ' +
        '(the same on every node); or delete the trunk from the sip_trunks table and add it again',
    );
  }
}

/**
 * Seals again with the current key every stored password that only a previous key opens
 * (MCCS_SECRETS_KEY_PREVIOUS), all rows in one transaction, so that after one start the previous key
 * is no longer needed. Rows the file shadows too: they must still open once the file lets go of them.
 * A password that opens with no key is left as it is (reading the trunks reports it). Compare-and-set
 * per row as in `sealClearPasswords`: a row another process changed meanwhile is left to the next start.
 * Returns the ids of the trunks sealed again.
 */
export async function resealStalePasswords(repo: Repository<SipTrunkRow>, box: SecretBox): Promise<string[]> {
  return repo.manager.transaction(async (tx) => {
    const trunks = tx.withRepository(repo);
    const rows = await trunks.createQueryBuilder('t').select('t.id', 'id').addSelect('t.settings', 'settings').getRawMany<{ id: string; settings: string }>();
    const resealed: string[] = [];
    for (const r of rows) {
      const settings = JSON.parse(r.settings) as Record<string, unknown>;
      let stale = false;
      for (const field of SECRET_FIELDS) {
        const part = settings[field] as Record<string, unknown> | undefined;
        if (typeof part?.passwordSealed !== 'string') continue;
        let opened: Unsealed;
        try {
          opened = box.unseal(part.passwordSealed, secretContext(r.id, field));
        } catch (err) {
          if (err instanceof SecretBoxError) continue;
          throw err;
        }
        if (!opened.resealNeeded) continue;
        settings[field] = { ...part, passwordSealed: box.seal(opened.plaintext, secretContext(r.id, field)) };
        stale = true;
      }
      if (!stale) continue;
      const done = await trunks
        .createQueryBuilder()
        .update()
        .set({ settings: () => ':next' })
        .where('id = :id AND settings = :old', { id: r.id, old: r.settings, next: JSON.stringify(settings) })
        .execute();
      if (done.affected) resealed.push(r.id);
    }
    return resealed;
  });
}

/** True when a stored trunk still has a password in clear. */
function hasClearPassword(settings: Record<string, unknown>): boolean {
  return SECRET_FIELDS.some((f) => typeof (settings[f] as { password?: unknown } | undefined)?.password === 'string');
}

/**
 * Seals the passwords of stored trunks that still hold them in clear (stored before they were
 * encrypted). A row is rewritten only if it still reads as it did (another process may be doing the
 * same at its start, or an admin changing the trunk), so this is safe to run at every start and on
 * several processes at once; a row that changed in between is looked at again. Returns the ids sealed.
 */
export async function sealClearPasswords(repo: Repository<SipTrunkRow>, box: SecretBox): Promise<string[]> {
  const sealed = new Set<string>();
  for (let pass = 0; pass < 5; pass++) {
    // Raw text: the compare-and-set below needs the exact stored value.
    const rows = await repo.createQueryBuilder('t').select('t.id', 'id').addSelect('t.settings', 'settings').getRawMany<{ id: string; settings: string }>();
    const clear = rows.map((r) => ({ ...r, parsed: JSON.parse(r.settings) as Record<string, unknown> })).filter((r) => hasClearPassword(r.parsed));
    if (clear.length === 0) break;
    for (const r of clear) {
      const next: Record<string, unknown> = { ...r.parsed };
      for (const field of SECRET_FIELDS) {
        const part = r.parsed[field] as Record<string, unknown> | undefined;
        if (typeof part?.password !== 'string') continue;
        const { password, passwordSealed: _older, ...rest } = part;
        next[field] = { ...rest, passwordSealed: box.seal(password as string, secretContext(r.id, field)) };
      }
      const done = await repo
        .createQueryBuilder()
        .update()
        .set({ settings: () => ':next' })
        .where('id = :id AND settings = :old', { id: r.id, old: r.settings, next: JSON.stringify(next) })
        .execute();
      if (done.affected) sealed.add(r.id);
    }
  }
  return [...sealed];
}

/** The stored trunks in the order they were added, passwords opened, those the file overrides left out. */
async function readStored(repo: Repository<SipTrunkRow>, box: SecretBox, fileIds: Set<string>): Promise<{ stored: ConsoleTrunk[] } & TrunkReadReport> {
  const sealed = await sealClearPasswords(repo, box);
  const rows = await repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  const shadowed = rows.filter((r) => fileIds.has(r.id)).map((r) => r.id);
  const stored = rows.filter((r) => !fileIds.has(r.id)).map((r) => ({ entry: openedEntry(r, box), createdAt: r.createdAt, updatedAt: r.updatedAt }));
  return { stored, shadowed, sealed };
}

/**
 * The entry to store: the input, with each password the input leaves out taken from the stored
 * trunk, as long as the username is the same (a new user needs their own password).
 */
function withPasswords(id: string, input: TrunkSettingsInput, stored: TrunkEntry | undefined): TrunkEntry {
  const { auth, register, ...rest } = input;
  const entry: TrunkEntry = { ...rest, id };
  if (auth) {
    const password = auth.password ?? (stored?.auth?.username === auth.username ? stored.auth.password : undefined);
    if (!password) throw new DomainError('VALIDATION', `SIP trunk ${id}: auth needs a password`);
    entry.auth = { username: auth.username, password, ...(auth.realm ? { realm: auth.realm } : {}) };
  }
  if (register) {
    const password = register.password ?? (stored?.register?.username === register.username ? stored.register.password : undefined);
    if (!password) throw new DomainError('VALIDATION', `SIP trunk ${id}: register needs a password`);
    entry.register = { ...register, password };
  }
  return entry;
}
