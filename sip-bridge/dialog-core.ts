// What an INVITE dialog does once it exists, whichever side sent the INVITE (RFC 3261 §12-§15,
// RFC 4028): in-dialog requests both ways (BYE, INFO, re-INVITE/UPDATE, OPTIONS), CSeq order,
// session timers and keep-alive pings, and one 'ended' event whatever ends it. ServerDialog (an
// INVITE we answer, dialog.ts) and ClientDialog (one we sent, client-dialog.ts) add how it starts.
/// <reference path="./sip.d.ts" />
import { randomBytes } from 'node:crypto';
import { makeResponse, stringifyUri, type NameAddr, type SipRequest, type SipResponse, type SipStack } from 'sip';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import { ALLOW, SUPPORTED, headerText } from './message.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export type EndReason =
  /** The far end sent BYE. */
  | 'remote_bye'
  /** We hung up (BYE sent, or the INVITE rejected by us). */
  | 'local_hangup'
  /** CANCEL before the answer: theirs (487 sent) or ours (dial aborted). */
  | 'cancelled'
  /** The 200 OK was never acknowledged (RFC 3261 timer H/L, 32 s). */
  | 'no_ack'
  /** The session was not refreshed in time (RFC 4028), or the peer stopped answering keep-alives. */
  | 'session_expired'
  /** The media leg went away (the media server lost it). */
  | 'media_lost'
  /** No RTP from the phone for the relay's time-out while not on hold (the phone lost its network). */
  | 'rtp_timeout'
  /** Setting the call up failed on our side (media server, internal error), or the trunk could not be reached. */
  | 'failed'
  /** An outbound call the far end refused with a final 3xx-6xx. */
  | 'rejected'
  /** An outbound call nobody answered before the dial time-out (CANCEL sent). */
  | 'no_answer'
  /** The bridge is shutting down. */
  | 'shutdown';

export type DialogEvents = {
  ended: [reason: EndReason];
  /** An in-dialog request the dialog does not handle itself (INFO); the listener must answer with `respond`. */
  request: [rq: SipRequest];
  ack: [];
};

export interface DialogTimers {
  /** RFC 3261 T1 (500 ms) and T2 (4 s): 200 OK retransmission over UDP. */
  t1Ms: number;
  t2Ms: number;
  /** How long to wait for the ACK of our 200 OK (64·T1). */
  ackTimeoutMs: number;
  /** Session interval we ask for when the caller supports timers but set none (RFC 4028 default 1800 s). */
  sessionExpiresS: number;
  /** Smallest session interval we accept (Min-SE, at least 90 s in RFC 4028). */
  minSeS: number;
  /** In-dialog OPTIONS ping interval when the far end does not refresh the session; 0 turns pings off. */
  keepAliveMs: number;
}

export const DEFAULT_TIMERS: DialogTimers = { t1Ms: 500, t2Ms: 4000, ackTimeoutMs: 32_000, sessionExpiresS: 1800, minSeS: 90, keepAliveMs: 30_000 };

export interface ReinviteResult {
  status: number;
  reason: string;
  sdp?: string;
}

export interface DialogContext {
  stack: SipStack;
  /** Our Contact URI (where in-dialog requests reach us). */
  contact: string;
  logger: Logger;
  timers?: Partial<DialogTimers>;
  /**
   * A Route to put first so the stack sends to `nextHop` itself: the stack takes any URI on its own
   * host name for one of its flow tokens (and finds no address), so peers on our own host need this.
   */
  pinRoute?: (nextHop: string) => NameAddr | undefined;
  /** A new SDP offer inside the dialog (re-INVITE, UPDATE with SDP): the bridge answers it. */
  onReoffer: (sdp: string) => Promise<ReinviteResult>;
}

/** Who refreshes the session (RFC 4028), seen from our side. */
export interface SessionTimer {
  interval: number;
  refresher: 'local' | 'remote';
}

/** The dialog's identity and routing as RFC 3261 §12.1 sets it up for each side. */
export interface DialogSetup {
  callId: string;
  /** Our URI and tag (From of our requests). */
  local: NameAddr;
  /** The far end's URI and tag (To of our requests). */
  remote: NameAddr;
  remoteTarget: string;
  routeSet: NameAddr[];
  localCseq: number;
  remoteCseq: number;
  /** The far end's Allow header (UPDATE for session refreshes). */
  remoteAllow: string;
}

export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export abstract class Dialog extends TypedEmitter<DialogEvents> {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  protected readonly ctx: DialogContext;
  protected readonly timers: DialogTimers;
  protected readonly log: Logger;
  protected dialogState: DialogState;
  #endReason: EndReason | undefined;
  readonly #local: NameAddr;
  readonly #remote: NameAddr;
  #remoteTarget: string;
  readonly #routeSet: NameAddr[];
  #localCseq: number;
  #remoteCseq: number;
  readonly #remoteAllow: string;
  #sessionTimer: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #reinvitePending = false;
  #session: SessionTimer | undefined;

  protected constructor(ctx: DialogContext, setup: DialogSetup, state: DialogState) {
    super();
    this.ctx = ctx;
    this.timers = { ...DEFAULT_TIMERS, ...ctx.timers };
    this.log = ctx.logger;
    this.dialogState = state;
    this.callId = setup.callId;
    this.#local = setup.local;
    this.#remote = setup.remote;
    this.localTag = String(setup.local.params.tag ?? '');
    this.remoteTag = String(setup.remote.params.tag ?? '');
    this.#remoteTarget = setup.remoteTarget;
    this.#routeSet = setup.routeSet.map((r) => ({ ...r, params: { ...r.params } }));
    this.#localCseq = setup.localCseq;
    this.#remoteCseq = setup.remoteCseq;
    this.#remoteAllow = setup.remoteAllow;
  }

  get state(): DialogState {
    return this.dialogState;
  }

  get endReason(): EndReason | undefined {
    return this.#endReason;
  }

  /** Session-Expires the dialog runs with, for tests and logs. */
  get session(): SessionTimer | undefined {
    return this.#session;
  }

  /** An ACK inside the dialog (for a 200 we sent). */
  ack(): void {}

  /** Ends a confirmed call from our side with BYE. Idempotent. */
  hangup(endReason: EndReason = 'local_hangup'): void {
    if (this.dialogState === 'terminated') return;
    this.sendBye();
    this.end(endReason);
  }

  /** An in-dialog request (not ACK, not CANCEL). */
  handle(rq: SipRequest): void {
    const seq = rq.headers.cseq!.seq;
    if (seq <= this.#remoteCseq) {
      this.respond(rq, 500, 'Server Internal Error', { 'retry-after': String(1 + Math.floor(Math.random() * 10)), warning: '399 mccs "CSeq out of order"' });
      return;
    }
    this.#remoteCseq = seq;
    if (this.dialogState === 'terminated') {
      this.respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    switch (rq.method) {
      case 'BYE':
        this.respond(rq, 200, 'OK');
        this.end('remote_bye');
        return;
      case 'OPTIONS':
        this.respond(rq, 200, 'OK', { allow: ALLOW, supported: SUPPORTED.join(', '), accept: 'application/sdp' });
        return;
      case 'INVITE':
      case 'UPDATE':
        void this.#reoffer(rq);
        return;
      case 'INFO':
        this.safeEmit('request', rq);
        return;
      default:
        this.respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
    }
  }

  /** Answers a request of this dialog; `To` carries our tag. */
  respond(rq: SipRequest, status: number, reason: string, headers: Record<string, unknown> = {}, body?: string, withTag = status > 100): SipResponse {
    const rs = makeResponse(rq, status, reason);
    // makeResponse shares To with the request: copy before adding our tag.
    const to = rq.headers.to!;
    rs.headers.to = withTag ? { ...to, params: { ...to.params, tag: to.params.tag ?? this.localTag } } : to;
    rs.headers.server = 'mccs';
    Object.assign(rs.headers, headers);
    if (body !== undefined) rs.content = body;
    try {
      this.ctx.stack.send(rs);
    } catch (err) {
      this.log.warn('SIP: sending a response failed', { callId: this.callId, status, err });
    }
    return rs;
  }

  /** Stops timers without signalling (after the bridge dropped the dialog). */
  dispose(): void {
    this.stopTimers();
    this.removeAllListeners();
  }

  // ---- for the two sides ------------------------------------------------------------------------

  protected setSession(session: SessionTimer | undefined): void {
    this.#session = session;
  }

  /** Session timer for our answer to `rq` (RFC 4028 §9): the far end sent it, we are its UAS. */
  protected negotiateSessionTimer(rq: SipRequest, extra: Record<string, unknown>): void {
    const se = parseSessionExpires(headerText(rq, 'session-expires'));
    const supportsTimer = /(^|,)\s*timer\s*(,|$)/i.test(headerText(rq, 'supported') ?? '');
    if (se) {
      const interval = Math.max(se.interval, this.timers.minSeS);
      // The sender chose, or we let the sender (who supports timers) refresh.
      const senderRefreshes = se.refresher ? se.refresher === 'uac' : supportsTimer;
      this.#session = { interval, refresher: senderRefreshes ? 'remote' : 'local' };
    } else if (supportsTimer) {
      this.#session = { interval: this.timers.sessionExpiresS, refresher: 'remote' };
    } else {
      this.#session = undefined;
    }
    if (this.#session) {
      const remote = this.#session.refresher === 'remote';
      extra['session-expires'] = `${this.#session.interval};refresher=${remote ? 'uac' : 'uas'}`;
      if (remote) extra.require = 'timer';
    }
    extra.supported = SUPPORTED.join(', ');
  }

  protected armSessionTimer(): void {
    clearTimeout(this.#sessionTimer);
    clearInterval(this.#keepAlive);
    if (this.dialogState !== 'confirmed') return;
    if (this.#session?.refresher === 'remote') {
      // RFC 4028 §10: without a refresh, BYE at interval - min(32, interval/3).
      const s = this.#session.interval;
      const waitMs = (s - Math.min(32, s / 3)) * 1000;
      this.#sessionTimer = setTimeout(() => {
        this.log.info('SIP: session expired without refresh', { callId: this.callId });
        this.sendBye();
        this.end('session_expired');
      }, waitMs);
      return;
    }
    // We are the refresher, or there is no session timer: in-dialog OPTIONS prove the far end still
    // knows the call (481/408 or no answer → the call is dead).
    const every = this.#session ? Math.min(this.timers.keepAliveMs, (this.#session.interval * 1000) / 2) : this.timers.keepAliveMs;
    if (every <= 0) return;
    this.#keepAlive = setInterval(() => this.#ping(), every);
  }

  protected sendBye(): void {
    this.sendInDialog('BYE', {}, (rs) => {
      if (rs.status >= 300) this.log.debug('SIP: BYE answered with an error', { callId: this.callId, status: rs.status });
    });
  }

  /** A request inside the dialog: our From/To/tags, the next CSeq, the route set (RFC 3261 §12.2.1.1). */
  protected buildInDialog(method: string, headers: Record<string, unknown>, seq = ++this.#localCseq): SipRequest {
    const rq: SipRequest = {
      method,
      uri: this.#remoteTarget,
      headers: {
        to: { ...this.#remote, params: { ...this.#remote.params } },
        from: { ...this.#local, params: { ...this.#local.params } },
        'call-id': this.callId,
        cseq: { method, seq },
        contact: [{ uri: this.ctx.contact, params: {} }],
        'max-forwards': 70,
        ...headers,
      },
    };
    const route = this.#routeSet.map((r) => ({ ...r, params: { ...r.params } }));
    const first = route[0];
    const pin = this.ctx.pinRoute?.(first ? String(typeof first.uri === 'string' ? first.uri : stringifyUri(first.uri)) : this.#remoteTarget);
    if (pin) route.unshift(pin);
    if (route.length) rq.headers.route = route;
    return rq;
  }

  protected sendInDialog(method: string, headers: Record<string, unknown>, onFinal: (rs: SipResponse) => void): void {
    const rq = this.buildInDialog(method, headers);
    try {
      this.ctx.stack.send(rq, (rs) => {
        if (rs.status >= 200) onFinal(rs);
      });
    } catch (err) {
      this.log.warn('SIP: sending an in-dialog request failed', { callId: this.callId, method, err });
    }
  }

  /** Moves to 'terminated' and emits 'ended' once. */
  protected end(reason: EndReason): void {
    if (this.dialogState === 'terminated') return;
    this.dialogState = 'terminated';
    this.#endReason = reason;
    this.stopTimers();
    this.safeEmit('ended', reason);
  }

  protected stopTimers(): void {
    clearTimeout(this.#sessionTimer);
    clearInterval(this.#keepAlive);
  }

  // ---- inside -------------------------------------------------------------------------------------

  async #reoffer(rq: SipRequest): Promise<void> {
    if (rq.method === 'INVITE') this.respond(rq, 100, 'Trying');
    if (this.#reinvitePending) {
      this.respond(rq, rq.method === 'INVITE' ? 491 : 500, rq.method === 'INVITE' ? 'Request Pending' : 'Server Internal Error', { 'retry-after': '1' });
      return;
    }
    const contact = rq.headers.contact;
    if (Array.isArray(contact) && contact[0]) this.#remoteTarget = contact[0].uri;
    const extra: Record<string, unknown> = { contact: [{ uri: this.ctx.contact, params: {} }] };
    this.negotiateSessionTimer(rq, extra);
    // A refresh without SDP (UPDATE); a re-INVITE without an offer would need our offer in the 200.
    if (!rq.content) {
      if (rq.method === 'INVITE') {
        this.respond(rq, 488, 'Not Acceptable Here', { warning: '399 mccs "re-INVITE without an offer is not supported"' });
        return;
      }
      this.respond(rq, 200, 'OK', extra);
      this.armSessionTimer();
      return;
    }
    this.#reinvitePending = true;
    try {
      const result = await this.ctx.onReoffer(rq.content);
      if (this.dialogState === 'terminated') return;
      if (result.status >= 200 && result.status < 300 && result.sdp) {
        extra['content-type'] = 'application/sdp';
        this.respond(rq, result.status, result.reason, extra, result.sdp);
        this.armSessionTimer();
      } else {
        this.respond(rq, result.status, result.reason);
      }
    } catch (err) {
      this.log.error('SIP: answering a re-INVITE failed', { callId: this.callId, err });
      this.respond(rq, 500, 'Server Internal Error');
    } finally {
      this.#reinvitePending = false;
    }
  }

  #ping(): void {
    if (this.dialogState !== 'confirmed') return;
    // As the session refresher we refresh with UPDATE when the far end allows it (RFC 4028 §7.4).
    const update = this.#session?.refresher === 'local' && /\bUPDATE\b/i.test(this.#remoteAllow);
    const headers: Record<string, unknown> = update ? { 'session-expires': `${this.#session!.interval};refresher=uac`, supported: 'timer' } : {};
    this.sendInDialog(update ? 'UPDATE' : 'OPTIONS', headers, (rs) => {
      if (rs.status === 481 || rs.status === 408 || rs.status === 503) {
        this.log.info('SIP: the far end no longer knows the call', { callId: this.callId, status: rs.status });
        if (rs.status !== 481) this.sendBye();
        this.end('session_expired');
      }
    });
  }
}

export function parseSessionExpires(v: string | undefined): { interval: number; refresher?: 'uac' | 'uas' } | undefined {
  if (!v) return undefined;
  const m = /^\s*(\d+)\s*(.*)$/.exec(v);
  if (!m) return undefined;
  const out: { interval: number; refresher?: 'uac' | 'uas' } = { interval: Number(m[1]) };
  const r = /;\s*refresher\s*=\s*(uac|uas)/i.exec(m[2] ?? '');
  if (r) out.refresher = r[1]!.toLowerCase() as 'uac' | 'uas';
  return out;
}
