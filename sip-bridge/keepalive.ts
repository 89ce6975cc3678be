// OPTIONS pings to one trunk (RFC 3261 §11): is the provider there at all? Any answer but a time-out
// or a 5xx counts as alive; so many failures in a row mark the trunk down, one answer marks it up.
/// <reference path="./sip.d.ts" />
import { randomUUID } from 'node:crypto';
import { parseUri } from 'sip';
import { newTag } from './dialog-core.js';
import type { DigestClient } from './digest.js';
import type { TrunkKeepAliveConfig } from './trunks.js';
import { buildRequest, sendRequest, sipUri, type UacContext } from './uac.js';

export interface ReachabilityStatus {
  /** 'unknown' until the first answer or failure streak. */
  state: 'unknown' | 'up' | 'down';
  /** Failures in a row. */
  failures: number;
  /** The last answer's status (408 for no answer at all). */
  lastStatus?: number;
  lastRttMs?: number;
  since: number;
}

export interface KeepAliveOptions {
  config: TrunkKeepAliveConfig;
  /** The trunk's target, used when keepAlive has none. */
  fallbackTarget: string | undefined;
  uac: UacContext;
  /** Our identity in From (sip:mccs@host:port). */
  from: string;
  digest?: DigestClient;
  onChange: (status: ReachabilityStatus) => void;
}

export class TrunkKeepAlive {
  readonly #o: KeepAliveOptions;
  readonly #target: string;
  #status: ReachabilityStatus = { state: 'unknown', failures: 0, since: Date.now() };
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;

  constructor(opts: KeepAliveOptions) {
    this.#o = opts;
    this.#target = sipUri(opts.config.target ?? opts.fallbackTarget ?? '');
  }

  get status(): ReachabilityStatus {
    return this.#status;
  }

  start(): void {
    this.#ping();
    this.#timer = setInterval(() => this.#ping(), this.#o.config.intervalSeconds * 1000);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #ping(): void {
    // A ping still waiting (up to the 32 s transaction time-out) is not doubled.
    if (this.#inFlight) return;
    this.#inFlight = true;
    const started = Date.now();
    const host = parseUri(this.#target).host;
    const rq = buildRequest({
      method: 'OPTIONS',
      uri: this.#target,
      from: { uri: this.#o.from, params: { tag: newTag() } },
      to: { uri: `sip:${host}`, params: {} },
      callId: randomUUID(),
      cseq: 1,
      headers: { accept: 'application/sdp' },
    });
    sendRequest(this.#o.uac, rq, this.#o.digest, (rs) => {
      if (rs.status < 200) return;
      this.#inFlight = false;
      const failed = rs.status === 408 || (rs.status >= 500 && rs.status < 600);
      const failures = failed ? this.#status.failures + 1 : 0;
      const limit = this.#o.config.failuresBeforeDown ?? 2;
      const state = failed ? (failures >= limit ? 'down' : this.#status.state) : 'up';
      const next: ReachabilityStatus = { state, failures, lastStatus: rs.status, since: state === this.#status.state ? this.#status.since : Date.now() };
      if (!failed) next.lastRttMs = Date.now() - started;
      const changed = state !== this.#status.state;
      this.#status = next;
      if (changed) this.#o.onChange(next);
    });
  }
}
