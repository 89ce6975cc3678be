// The SIP side of the server as the composition root starts it: the trunks (MCCS_SIP_TRUNKS_FILE,
// read-only, and those admins add in the console), and the SIP bridge, which runs once there is a
// trunk. No trunk at all, no bridge (no port opened); the first trunk an admin adds starts it. Every
// accepted change of the trunks is applied to the running bridge at once (SipBridge.setTrunks), and
// with several server processes the others are told, read the trunks again and apply them too.
import { readFile } from 'node:fs/promises';
import type { Repository } from 'typeorm';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { MediaEngine } from '../media/index.js';
import type { SipTrunkRow } from '../db/sip-entities.js';
import type { SecretBox } from '../lib/secret-box.js';
import { DialError, SipBridge, type DialOptions, type TrunkStatus } from './bridge.js';
import type { InboundCall } from './call.js';
import type { OutboundCall } from './outbound-call.js';
import { TrunkDirectory, trunkOf, type ListedTrunk, type TrunkEntry, type TrunkSettingsInput } from './trunk-directory.js';

/** Where a trunk's calls go: its queue, and the topic menu if it has one. */
export interface TrunkRouting {
  queueId: string;
  menu?: Record<string, string>;
  /** The recording that speaks the menu (a prompt name or an absolute path); default 'menu', which matches the seeded queues. */
  menuPrompt?: string;
}

/**
 * The other server processes sharing the trunks table (several nodes; lib/cluster-notice.ts). A
 * notice carries nothing: it only makes this process read the trunks again from the database.
 */
export interface TrunkChangeNotices {
  /** Tells the others that this process changed the stored trunks. */
  announce(): void;
  /** `notice`: another process changed them, or this one may have missed a change. */
  on(event: 'notice', listener: () => void): unknown;
}

export interface OpenSipTrunksOptions {
  sip: Config['sip'];
  /** Where the console's trunks are stored. */
  repo: Repository<SipTrunkRow>;
  /** Seals and opens their passwords. */
  secrets: SecretBox;
  logger: Logger;
}

export interface StartSipOptions {
  sip: Config['sip'];
  engine: MediaEngine;
  logger: Logger;
  /** The trunks, from openSipTrunks(). */
  trunks: TrunkDirectory;
  /** With several server processes: how they hear of each other's trunk changes. */
  notices?: TrunkChangeNotices;
  /** Builds what takes answered calls, given the trunk → queue mapping and whether callbacks can be placed (now). */
  intake: (routingFor: (trunkId: string) => TrunkRouting, opts: { callbacks: () => boolean }) => { onCall(call: InboundCall): Promise<void>; close(): void };
}

/** A trunk as an admin sees it: where it comes from, its settings and, while the bridge runs, its state. */
export interface TrunkListing extends ListedTrunk {
  status: TrunkStatus | null;
}

export type SipServiceEvents = {
  /** The trunks changed (and were applied); the callback trunk may be another one now. */
  changed: [];
};

export class SipService extends TypedEmitter<SipServiceEvents> {
  readonly #opts: StartSipOptions;
  readonly #log: Logger;
  readonly #directory: TrunkDirectory;
  readonly #tls: { port: number; key: Buffer; cert: Buffer } | null;
  #routing = new Map<string, TrunkRouting>();
  #callbackTrunkId: string | null = null;
  #bridge: SipBridge | null = null;
  #intake: ReturnType<StartSipOptions['intake']> | null = null;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  #closed = false;

  /** @private use startSip() */
  constructor(opts: StartSipOptions, directory: TrunkDirectory, tls: { port: number; key: Buffer; cert: Buffer } | null) {
    super();
    this.#opts = opts;
    this.#log = opts.logger;
    this.#directory = directory;
    this.#tls = tls;
    this.onListenerError = (event, err) => this.#log.error('SIP listener failed', { event, err });
    directory.onListenerError = (event, err) => this.#log.error('applying SIP trunk changes failed', { event, err });
    directory.on('changed', (entries) => this.#apply(entries));
    this.#apply(directory.entries());
    if (opts.notices) {
      opts.notices.on('notice', () => this.#reload());
      // A change another process made after the trunks were read early in this start, before this
      // process listened, would otherwise wait for the next notice.
      this.#reload();
    }
  }

  /** The running bridge; null while there has been no trunk. */
  get bridge(): SipBridge | null {
    return this.#bridge;
  }

  /** The trunk customers are called back through (and agents' own phones rung); null when none says `callbacks`. */
  get callbackTrunkId(): string | null {
    return this.#callbackTrunkId;
  }

  /** Every trunk, file ones first, with its state when the bridge runs. */
  list(): TrunkListing[] {
    const status = new Map((this.#bridge?.trunkStatus() ?? []).map((s) => [s.id, s]));
    return this.#directory.list().map((t) => ({ ...t, status: status.get(t.entry.id) ?? null }));
  }

  create(id: string, input: TrunkSettingsInput, by: string): Promise<TrunkListing> {
    return this.#directory.create(id, input, by).then((t) => this.#announced(this.#withStatus(t)));
  }

  replace(id: string, input: TrunkSettingsInput, by: string): Promise<TrunkListing> {
    return this.#directory.replace(id, input, by).then((t) => this.#announced(this.#withStatus(t)));
  }

  remove(id: string): Promise<void> {
    return this.#directory.remove(id).then(() => this.#announced(undefined));
  }

  /** Calls `to` through the callback trunk. DialError 'failed' when there is none (any more). */
  dialCallback(opts: Omit<DialOptions, 'trunkId'>): Promise<OutboundCall> {
    const trunkId = this.#callbackTrunkId;
    if (!trunkId || !this.#bridge) return Promise.reject(new DialError('failed', 'no SIP trunk places callbacks'));
    return this.#bridge.dial({ ...opts, trunkId });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reloading;
    this.#intake?.close();
    await this.#bridge?.close();
  }

  /** The change is stored: the other processes may read it now. */
  #announced<T>(result: T): T {
    this.#opts.notices?.announce();
    return result;
  }

  /** Another process changed the trunks: read them again (a burst of notices makes one more read, not one each). */
  #reload(): void {
    if (this.#closed) return;
    if (this.#reloading) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = this.#directory
      .reload()
      .then(
        (r) => {
          if (r.sealed.length) this.#log.info('SIP trunk passwords stored in clear were encrypted', { trunks: r.sealed });
          if (r.changed) this.#log.info('SIP trunks changed on another server process: applied', { trunks: this.#directory.entries().map((e) => e.id) });
        },
        // The message names trunks and fields, never a password.
        (err: unknown) => {
          this.#log.error('SIP trunks changed on another server process cannot be applied here: kept as they were', { reason: err instanceof Error ? err.message : String(err) });
        },
      )
      .finally(() => {
        this.#reloading = null;
        if (this.#reloadAgain) {
          this.#reloadAgain = false;
          this.#reload();
        }
      });
  }

  #withStatus(t: ListedTrunk): TrunkListing {
    return { ...t, status: this.#bridge?.trunkStatus().find((s) => s.id === t.entry.id) ?? null };
  }

  #apply(entries: TrunkEntry[]): void {
    if (this.#closed) return;
    this.#routing = new Map(
      entries.map((e) => [e.id, { queueId: e.queueId ?? 'general', ...(e.menu ? { menu: e.menu } : {}), ...(e.menuPrompt ? { menuPrompt: e.menuPrompt } : {}) }]),
    );
    this.#callbackTrunkId = entries.find((e) => e.callbacks === true)?.id ?? null;
    const trunks = entries.map(trunkOf);
    if (this.#bridge) this.#bridge.setTrunks(trunks);
    else if (trunks.length > 0) this.#start(trunks);
    this.safeEmit('changed');
  }

  #start(trunks: ReturnType<typeof trunkOf>[]): void {
    const { sip } = this.#opts;
    const intake = this.#opts.intake((trunkId) => this.#routing.get(trunkId) ?? { queueId: 'general' }, { callbacks: () => this.#callbackTrunkId !== null });
    this.#intake = intake;
    this.#bridge = new SipBridge({
      engine: this.#opts.engine,
      logger: this.#log,
      listen: { host: sip.host, port: sip.port, ...(this.#tls ? { tls: this.#tls } : {}) },
      ...(sip.publicAddress ? { publicAddress: sip.publicAddress } : {}),
      ...(sip.mediaAddress ? { mediaAddress: sip.mediaAddress } : {}),
      relay: { portRange: sip.rtpPortRange, rtpTimeoutMs: sip.rtpTimeoutSeconds * 1000 },
      trunks,
      onCall: (call) => intake.onCall(call),
    });
    this.#log.info('SIP bridge listening', { host: sip.host, port: sip.port, tlsPort: this.#tls?.port ?? null, trunks: trunks.map((t) => t.id) });
  }
}

/**
 * Reads the trunks file (if any) and the console's trunks, sealing passwords still stored in clear,
 * and checks them as one set. Run early in the start: a bad file, a bad stored set, or a key that
 * does not open the stored passwords fails it (TypeError naming the problem, never a password).
 */
export async function openSipTrunks(opts: OpenSipTrunksOptions): Promise<TrunkDirectory> {
  const file = opts.sip.trunksFile ? await readTrunksFile(opts.sip.trunksFile) : [];
  let opened: Awaited<ReturnType<typeof TrunkDirectory.open>>;
  try {
    opened = await TrunkDirectory.open(opts.repo, file, opts.secrets);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new TypeError(`SIP trunks${opts.sip.trunksFile ? ` (MCCS_SIP_TRUNKS_FILE ${opts.sip.trunksFile} and the console's)` : ''}: ${err.message}`);
  }
  if (opened.sealed.length) opts.logger.info('SIP trunk passwords stored in clear were encrypted', { trunks: opened.sealed });
  if (opened.resealed.length) {
    opts.logger.info('stored SIP trunk passwords sealed with a previous key (MCCS_SECRETS_KEY_PREVIOUS, or the key derived from the token secret) were sealed again with the current key', { count: opened.resealed.length });
  }
  if (opened.shadowed.length) opts.logger.warn('SIP trunks in the database ignored: MCCS_SIP_TRUNKS_FILE uses their ids', { trunks: opened.shadowed });
  return opened.directory;
}

/** Starts the bridge when there is a trunk, and applies every change of the trunks from then on. */
export async function startSip(opts: StartSipOptions): Promise<SipService> {
  return new SipService(opts, opts.trunks, await readTls(opts.sip));
}

async function readTrunksFile(file: string): Promise<TrunkEntry[]> {
  try {
    const entries = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (!Array.isArray(entries)) throw new TypeError('the file must hold a JSON array of trunks');
    return entries as TrunkEntry[];
  } catch (err) {
    throw new TypeError(`MCCS_SIP_TRUNKS_FILE ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The TLS listener's key and certificate chain (PEM), when both files are configured. */
async function readTls(sip: Config['sip']): Promise<{ port: number; key: Buffer; cert: Buffer } | null> {
  if (!sip.tlsKeyFile || !sip.tlsCertFile) return null;
  try {
    const [key, cert] = await Promise.all([readFile(sip.tlsKeyFile), readFile(sip.tlsCertFile)]);
    return { port: sip.tlsPort, key, cert };
  } catch (err) {
    throw new TypeError(`MCCS_SIP_TLS_KEY_FILE / MCCS_SIP_TLS_CERT_FILE: ${err instanceof Error ? err.message : String(err)}`);
  }
}
