// Outbound registration of one trunk (RFC 3261 §10.2): REGISTER our Contact at the provider's
// registrar (one Call-ID, CSeq counting up), answer its digest challenge, refresh at 80 % of the
// lifetime it grants, retry with backoff when it fails, unregister (Expires: 0) on close.
/// <reference path="./sip.d.ts" />
import { randomUUID } from 'node:crypto';
import { parseUri, type SipResponse } from 'sip';
import { newTag } from './dialog-core.js';
import { DigestClient } from './digest.js';
import type { TrunkRegistrationConfig } from './trunks.js';
import { buildRequest, sendRequest, sipUri, type UacContext } from './uac.js';

export interface RegistrationStatus {
  state: 'registering' | 'registered' | 'failed' | 'unregistered';
  /** Why it failed ("401 Unauthorized", "408 Request Timeout", …). */
  reason?: string;
  /** When the registrar's binding runs out (ms since epoch), while registered. */
  expiresAt?: number;
  /** Since when the state holds (ms since epoch). */
  since: number;
}

/** Retry delays after a failure: doubling from min to max, with ±20 % jitter. */
export const REGISTRATION_RETRY = { minMs: 5_000, maxMs: 300_000 };
/** Refresh when this share of the granted lifetime has passed. */
const REFRESH_AT = 0.8;

export interface RegistrationOptions {
  trunkId: string;
  config: TrunkRegistrationConfig;
  uac: UacContext;
  /** host:port where the provider reaches us (our Contact). */
  contactHostPort: string;
  onChange: (status: RegistrationStatus) => void;
  retry?: { minMs: number; maxMs: number };
}

export class TrunkRegistration {
  readonly #o: RegistrationOptions;
  readonly #digest: DigestClient;
  readonly #callId = randomUUID();
  readonly #fromTag = newTag();
  readonly #registrar: string;
  readonly #aor: string;
  readonly #contact: string;
  #cseq = 0;
  #status: RegistrationStatus = { state: 'unregistered', since: Date.now() };
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(opts: RegistrationOptions) {
    this.#o = opts;
    const { config } = opts;
    this.#digest = new DigestClient({ username: config.username, password: config.password, ...(config.realm ? { realm: config.realm } : {}) });
    this.#registrar = sipUri(config.registrar);
    const r = parseUri(this.#registrar);
    this.#aor = `sip:${config.username}@${r.host}`;
    const transport = r.params.transport ? `;transport=${r.params.transport}` : '';
    this.#contact = `sip:${config.contactUser ?? config.username}@${opts.contactHostPort}${transport}`;
  }

  get status(): RegistrationStatus {
    return this.#status;
  }

  start(): void {
    this.#register();
  }

  /** Removes our binding (Expires: 0); resolves on the registrar's answer or after `limitMs`. */
  async close(limitMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#status.state !== 'registered') return;
    await new Promise<void>((resolve) => {
      const limit = setTimeout(resolve, limitMs);
      this.#send(0, () => {
        clearTimeout(limit);
        resolve();
      });
    });
    this.#set({ state: 'unregistered', since: Date.now() });
  }

  #register(): void {
    if (this.#closed) return;
    if (this.#status.state !== 'registered') this.#set({ state: 'registering', since: Date.now() });
    const expires = this.#o.config.expires ?? 3600;
    this.#send(expires, (rs) => this.#registered(rs, expires));
  }

  #send(expires: number, onFinal: (rs: SipResponse) => void): void {
    const rq = buildRequest({
      method: 'REGISTER',
      uri: this.#registrar,
      from: { uri: this.#aor, params: { tag: this.#fromTag } },
      to: { uri: this.#aor, params: {} },
      callId: this.#callId,
      cseq: ++this.#cseq,
      contact: { uri: this.#contact, params: {} },
      headers: { expires: String(expires) },
    });
    sendRequest(this.#o.uac, rq, this.#digest, (rs, sent) => {
      this.#cseq = Math.max(this.#cseq, sent.headers.cseq!.seq);
      if (rs.status >= 200) onFinal(rs);
    });
  }

  #registered(rs: SipResponse, asked: number): void {
    if (this.#closed) return;
    if (rs.status >= 200 && rs.status < 300) {
      const granted = this.#granted(rs) ?? asked;
      this.#failures = 0;
      this.#set({ state: 'registered', since: this.#status.state === 'registered' ? this.#status.since : Date.now(), expiresAt: Date.now() + granted * 1000 });
      this.#timer = setTimeout(() => this.#register(), Math.max(1, granted * REFRESH_AT) * 1000);
      return;
    }
    if (rs.status === 423) {
      // Interval Too Brief: ask again with the registrar's minimum (§10.2.8).
      const min = Number(rs.headers['min-expires']);
      if (Number.isInteger(min) && min > asked) {
        this.#send(min, (next) => this.#registered(next, min));
        return;
      }
    }
    this.#failures++;
    this.#set({ state: 'failed', reason: `${rs.status} ${rs.reason}`.trim(), since: Date.now() });
    const retry = this.#o.retry ?? REGISTRATION_RETRY;
    const base = Math.min(retry.maxMs, retry.minMs * 2 ** (this.#failures - 1));
    this.#timer = setTimeout(() => this.#register(), base * (0.8 + Math.random() * 0.4));
  }

  /** The lifetime granted to our Contact: its expires parameter, else the Expires header (§10.2.4). */
  #granted(rs: SipResponse): number | undefined {
    const contacts = Array.isArray(rs.headers.contact) ? rs.headers.contact : [];
    const ours = parseUri(this.#contact);
    const mine = contacts.find((c) => {
      const u = parseUri(c.uri);
      return u && u.host === ours.host && (u.port ?? 5060) === (ours.port ?? 5060) && u.user === ours.user;
    });
    const fromContact = Number(mine?.params.expires);
    if (mine && Number.isFinite(fromContact) && fromContact > 0) return fromContact;
    const header = Number(rs.headers.expires);
    return Number.isFinite(header) && header > 0 ? header : undefined;
  }

  #set(status: RegistrationStatus): void {
    const changed = status.state !== this.#status.state || status.reason !== this.#status.reason;
    this.#status = status;
    if (changed) this.#o.onChange(status);
  }
}
