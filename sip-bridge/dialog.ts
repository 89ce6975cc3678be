// Our side (UAS) of one INVITE dialog (RFC 3261 §12-§15): provisional and final responses to the
// INVITE, our own retransmission of the 200 until the ACK comes (the stack leaves that to us),
// in-dialog requests both ways (BYE, INFO, re-INVITE/UPDATE, OPTIONS), CANCEL while early, session
// timers (RFC 4028) and in-dialog OPTIONS pings for liveness. Whatever happens, the dialog ends in
// 'terminated' and emits 'ended' exactly once.
/// <reference path="./sip.d.ts" />
import { randomBytes } from 'node:crypto';
import { makeResponse, stringifyUri, type NameAddr, type Remote, type SipRequest, type SipResponse, type SipStack } from 'sip';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import { ALLOW, SUPPORTED, headerText } from './message.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export type EndReason =
  /** The caller sent BYE. */
  | 'remote_bye'
  /** We hung up (BYE sent, or the INVITE rejected by us). */
  | 'local_hangup'
  /** CANCEL before the answer (487 sent). */
  | 'cancelled'
  /** The 200 OK was never acknowledged (RFC 3261 timer H/L, 32 s). */
  | 'no_ack'
  /** The session was not refreshed in time (RFC 4028), or the peer stopped answering keep-alives. */
  | 'session_expired'
  /** The media leg went away (the media server lost it, or RTP stopped). */
  | 'media_lost'
  /** Setting the call up failed on our side (media server, internal error). */
  | 'failed'
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
  /** In-dialog OPTIONS ping interval when the caller does not refresh the session; 0 turns pings off. */
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
  invite: SipRequest;
  remote: Remote;
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

export class ServerDialog extends TypedEmitter<DialogEvents> {
  readonly callId: string;
  readonly localTag = randomBytes(6).toString('hex');
  readonly remoteTag: string;
  readonly invite: SipRequest;
  readonly #ctx: DialogContext;
  readonly #timers: DialogTimers;
  readonly #log: Logger;
  #state: DialogState = 'early';
  #endReason: EndReason | undefined;
  #acked = false;
  #remoteCseq: number;
  #localCseq = Math.floor(Math.random() * 10_000) + 1;
  /** Remote target (the caller's Contact) and route set (Record-Route, in order). */
  #remoteTarget: string;
  readonly #routeSet: NameAddr[];
  #okResponse: SipResponse | undefined;
  #retransmit: NodeJS.Timeout | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #sessionTimer: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #reinvitePending = false;
  #byeAfterAck = false;
  /** Session interval agreed (s) and who refreshes; undefined: no session timer. */
  #session: { interval: number; refresher: 'uac' | 'uas' } | undefined;

  constructor(ctx: DialogContext) {
    super();
    this.#ctx = ctx;
    this.invite = ctx.invite;
    this.#timers = { ...DEFAULT_TIMERS, ...ctx.timers };
    this.#log = ctx.logger;
    const h = ctx.invite.headers;
    this.callId = h['call-id']!;
    this.remoteTag = String(h.from!.params.tag ?? '');
    this.#remoteCseq = h.cseq!.seq;
    this.#remoteTarget = Array.isArray(h.contact) && h.contact[0] ? h.contact[0].uri : h.from!.uri;
    this.#routeSet = (h['record-route'] ?? []).map((r) => ({ ...r, params: { ...r.params } }));
  }

  get state(): DialogState {
    return this.#state;
  }

  get endReason(): EndReason | undefined {
    return this.#endReason;
  }

  get acked(): boolean {
    return this.#acked;
  }

  /** Session-Expires the dialog runs with, for tests and logs. */
  get session(): { interval: number; refresher: 'uac' | 'uas' } | undefined {
    return this.#session;
  }

  /** The CANCEL's INVITE is ours: the branch of the INVITE's top Via. */
  get inviteBranch(): string {
    return String(this.invite.headers.via?.[0]?.params.branch ?? '');
  }

  // ---- responses to the INVITE ---------------------------------------------------------------------

  /** 180 Ringing, 183 Session Progress (with SDP: early media). */
  progress(status: 180 | 183, sdp?: string): void {
    if (this.#state !== 'early') return;
    this.#respond(this.invite, status, status === 180 ? 'Ringing' : 'Session Progress', sdp ? { 'content-type': 'application/sdp' } : {}, sdp, true);
  }

  /**
   * Checks the INVITE's session timer headers (RFC 4028 §8-§9) before answering: a rejection (422)
   * to send instead of 200, or undefined when fine.
   */
  checkSessionTimer(): { status: number; reason: string; headers: Record<string, unknown> } | undefined {
    const se = parseSessionExpires(headerText(this.invite, 'session-expires'));
    if (se && se.interval < this.#timers.minSeS) {
      return { status: 422, reason: 'Session Interval Too Small', headers: { 'Min-SE': String(this.#timers.minSeS) } };
    }
    return undefined;
  }

  /** 200 OK with our SDP answer; retransmitted until the ACK. */
  accept(sdp: string): void {
    if (this.#state !== 'early') return;
    this.#state = 'confirmed';
    const extra: Record<string, unknown> = { 'content-type': 'application/sdp', contact: [{ uri: this.#ctx.contact, params: {} }] };
    this.#negotiateSessionTimer(this.invite, extra);
    this.#okResponse = this.#respond(this.invite, 200, 'OK', extra, sdp, true);
    if (this.#ctx.remote.protocol.toUpperCase() === 'UDP') {
      let interval = this.#timers.t1Ms;
      const again = (): void => {
        if (this.#acked || (this.#state === 'terminated' && !this.#byeAfterAck) || !this.#okResponse) return;
        this.#sendRaw(this.#okResponse);
        interval = Math.min(interval * 2, this.#timers.t2Ms);
        this.#retransmit = setTimeout(again, interval);
      };
      this.#retransmit = setTimeout(again, interval);
    }
    this.#ackTimer = setTimeout(() => {
      if (this.#acked) return;
      clearTimeout(this.#retransmit);
      if (this.#state === 'terminated' && !this.#byeAfterAck) return;
      this.#log.warn('SIP: no ACK for our 200 OK, ending the call', { callId: this.callId });
      this.#byeAfterAck = false;
      this.#sendBye();
      this.#end('no_ack');
    }, this.#timers.ackTimeoutMs);
  }

  /** A final non-2xx answer to the INVITE; ends the dialog. */
  reject(status: number, reason: string, headers: Record<string, unknown> = {}, endReason: EndReason = 'local_hangup'): void {
    if (this.#state !== 'early') return;
    this.#respond(this.invite, status, reason, headers);
    this.#end(endReason);
  }

  /** Ends the call from our side: a final answer while early, BYE once confirmed. Idempotent. */
  hangup(endReason: EndReason = 'local_hangup', early: { status: number; reason: string } = { status: 480, reason: 'Temporarily Unavailable' }): void {
    if (this.#state === 'terminated') return;
    if (this.#state === 'early') {
      this.reject(early.status, early.reason, {}, endReason);
      return;
    }
    if (!this.#acked) {
      // RFC 3261 §15: the UAS sends no BYE before the ACK (or its time-out); we end now, BYE follows.
      this.#byeAfterAck = true;
      this.#end(endReason);
      return;
    }
    this.#sendBye();
    this.#end(endReason);
  }

  // ---- requests from the caller -------------------------------------------------------------------

  /** CANCEL matching our INVITE (the bridge has answered the CANCEL itself with 200). */
  cancel(): void {
    if (this.#state !== 'early') return;
    this.#respond(this.invite, 487, 'Request Terminated');
    this.#end('cancelled');
  }

  /** ACK for our 200 OK. */
  ack(): void {
    if (this.#acked) return;
    this.#acked = true;
    clearTimeout(this.#retransmit);
    clearTimeout(this.#ackTimer);
    if (this.#byeAfterAck) {
      this.#byeAfterAck = false;
      this.#sendBye();
      return;
    }
    if (this.#state === 'terminated') return;
    this.safeEmit('ack');
    this.#armSessionTimer();
  }

  /** An in-dialog request (not ACK, not CANCEL). */
  handle(rq: SipRequest): void {
    const seq = rq.headers.cseq!.seq;
    if (seq <= this.#remoteCseq && rq.method !== 'ACK') {
      this.respond(rq, 500, 'Server Internal Error', { 'retry-after': String(1 + Math.floor(Math.random() * 10)), warning: '399 mccs "CSeq out of order"' });
      return;
    }
    this.#remoteCseq = seq;
    if (this.#state === 'terminated') {
      this.respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    switch (rq.method) {
      case 'BYE':
        this.respond(rq, 200, 'OK');
        clearTimeout(this.#retransmit);
        this.#end('remote_bye');
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

  /** Answers an in-dialog request; `To` carries our tag. */
  respond(rq: SipRequest, status: number, reason: string, headers: Record<string, unknown> = {}, body?: string): void {
    this.#respond(rq, status, reason, headers, body);
  }

  async #reoffer(rq: SipRequest): Promise<void> {
    if (rq.method === 'INVITE') this.respond(rq, 100, 'Trying');
    if (this.#reinvitePending) {
      this.respond(rq, rq.method === 'INVITE' ? 491 : 500, rq.method === 'INVITE' ? 'Request Pending' : 'Server Internal Error', { 'retry-after': '1' });
      return;
    }
    const contact = rq.headers.contact;
    if (Array.isArray(contact) && contact[0]) this.#remoteTarget = contact[0].uri;
    const extra: Record<string, unknown> = { contact: [{ uri: this.#ctx.contact, params: {} }] };
    this.#negotiateSessionTimer(rq, extra);
    // A refresh without SDP (UPDATE, or a re-INVITE offerless refresh we do not take offers in ACK for).
    if (!rq.content) {
      if (rq.method === 'INVITE') {
        this.respond(rq, 488, 'Not Acceptable Here', { warning: '399 mccs "re-INVITE without an offer is not supported"' });
        return;
      }
      this.respond(rq, 200, 'OK', extra);
      this.#armSessionTimer();
      return;
    }
    this.#reinvitePending = true;
    try {
      const result = await this.#ctx.onReoffer(rq.content);
      if (this.#state === 'terminated') return;
      if (result.status >= 200 && result.status < 300 && result.sdp) {
        extra['content-type'] = 'application/sdp';
        this.respond(rq, result.status, result.reason, extra, result.sdp);
        this.#armSessionTimer();
      } else {
        this.respond(rq, result.status, result.reason);
      }
    } catch (err) {
      this.#log.error('SIP: answering a re-INVITE failed', { callId: this.callId, err });
      this.respond(rq, 500, 'Server Internal Error');
    } finally {
      this.#reinvitePending = false;
    }
  }

  // ---- session timers and keep-alive ------------------------------------------------------------

  #negotiateSessionTimer(rq: SipRequest, extra: Record<string, unknown>): void {
    const se = parseSessionExpires(headerText(rq, 'session-expires'));
    const supportsTimer = /(^|,)\s*timer\s*(,|$)/i.test(headerText(rq, 'supported') ?? '');
    if (se) {
      const interval = Math.max(se.interval, this.#timers.minSeS);
      // The caller chose, or we let the caller (who supports timers) refresh.
      const refresher = se.refresher ?? (supportsTimer ? 'uac' : 'uas');
      this.#session = { interval, refresher };
    } else if (supportsTimer) {
      this.#session = { interval: this.#timers.sessionExpiresS, refresher: 'uac' };
    } else {
      this.#session = undefined;
    }
    if (this.#session) {
      extra['session-expires'] = `${this.#session.interval};refresher=${this.#session.refresher}`;
      if (this.#session.refresher === 'uac') extra.require = 'timer';
    }
    extra.supported = SUPPORTED.join(', ');
  }

  #armSessionTimer(): void {
    clearTimeout(this.#sessionTimer);
    clearInterval(this.#keepAlive);
    if (this.#state !== 'confirmed') return;
    if (this.#session?.refresher === 'uac') {
      // RFC 4028 §10: without a refresh, BYE at interval - min(32, interval/3).
      const s = this.#session.interval;
      const waitMs = (s - Math.min(32, s / 3)) * 1000;
      this.#sessionTimer = setTimeout(() => {
        this.#log.info('SIP: session expired without refresh', { callId: this.callId });
        this.#sendBye();
        this.#end('session_expired');
      }, waitMs);
      return;
    }
    // We are the refresher, or there is no session timer: in-dialog OPTIONS prove the far end still
    // knows the call (481/408 or no answer → the call is dead).
    const every = this.#session ? Math.min(this.#keepAliveMsOr(), (this.#session.interval * 1000) / 2) : this.#keepAliveMsOr();
    if (every <= 0) return;
    this.#keepAlive = setInterval(() => this.#ping(), every);
  }

  #keepAliveMsOr(): number {
    return this.#timers.keepAliveMs;
  }

  #ping(): void {
    if (this.#state !== 'confirmed') return;
    // As the session refresher we refresh with UPDATE when the caller allows it (RFC 4028 §7.4).
    const allow = headerText(this.invite, 'allow') ?? '';
    const method = this.#session?.refresher === 'uas' && /\bUPDATE\b/i.test(allow) ? 'UPDATE' : 'OPTIONS';
    this.#sendInDialog(method, (rs) => {
      if (rs.status === 481 || rs.status === 408 || rs.status === 503) {
        this.#log.info('SIP: the far end no longer knows the call', { callId: this.callId, status: rs.status });
        if (rs.status !== 481) this.#sendBye();
        this.#end('session_expired');
      }
    });
  }

  // ---- sending ------------------------------------------------------------------------------------

  #sendBye(): void {
    this.#sendInDialog('BYE', (rs) => {
      if (rs.status >= 300) this.#log.debug('SIP: BYE answered with an error', { callId: this.callId, status: rs.status });
    });
  }

  #sendInDialog(method: string, onFinal: (rs: SipResponse) => void): void {
    const inv = this.invite.headers;
    const extra: Record<string, unknown> = {};
    if (method === 'UPDATE' && this.#session) {
      extra['session-expires'] = `${this.#session.interval};refresher=uas`;
      extra.supported = 'timer';
    }
    const rq: SipRequest = {
      method,
      uri: this.#remoteTarget,
      headers: {
        to: { ...inv.from!, params: { ...inv.from!.params } },
        from: { ...inv.to!, params: { ...inv.to!.params, tag: this.localTag } },
        'call-id': this.callId,
        cseq: { method, seq: ++this.#localCseq },
        contact: [{ uri: this.#ctx.contact, params: {} }],
        'max-forwards': 70,
        ...extra,
      },
    };
    const route = this.#routeSet.map((r) => ({ ...r, params: { ...r.params } }));
    const pin = this.#ctx.pinRoute?.(route[0] ? String(typeof route[0].uri === 'string' ? route[0].uri : stringifyUri(route[0].uri)) : this.#remoteTarget);
    if (pin) route.unshift(pin);
    if (route.length) rq.headers.route = route;
    try {
      this.#ctx.stack.send(rq, (rs) => {
        if (rs.status >= 200) onFinal(rs);
      });
    } catch (err) {
      this.#log.warn('SIP: sending an in-dialog request failed', { callId: this.callId, method, err });
    }
  }

  #respond(rq: SipRequest, status: number, reason: string, headers: Record<string, unknown> = {}, body?: string, withTag = status > 100): SipResponse {
    const rs = makeResponse(rq, status, reason);
    // makeResponse shares To with the request: copy before adding our tag.
    const to = rq.headers.to!;
    rs.headers.to = withTag ? { ...to, params: { ...to.params, tag: to.params.tag ?? this.localTag } } : to;
    rs.headers.server = 'mccs';
    Object.assign(rs.headers, headers);
    if (body !== undefined) rs.content = body;
    try {
      this.#ctx.stack.send(rs);
    } catch (err) {
      this.#log.warn('SIP: sending a response failed', { callId: this.callId, status, err });
    }
    return rs;
  }

  /** Resends our 200 OK outside its transaction (the stack does not retransmit 2xx). */
  #sendRaw(rs: SipResponse): void {
    try {
      this.#ctx.stack.send(rs);
    } catch {
      // The transaction is gone (after 32 s); the ACK timer ends the call.
    }
  }

  #end(reason: EndReason): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#endReason = reason;
    if (!this.#byeAfterAck) {
      clearTimeout(this.#retransmit);
      clearTimeout(this.#ackTimer);
    }
    clearTimeout(this.#sessionTimer);
    clearInterval(this.#keepAlive);
    this.safeEmit('ended', reason);
  }

  /** Stops timers without signalling (after the bridge dropped the dialog). */
  dispose(): void {
    clearTimeout(this.#retransmit);
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#sessionTimer);
    clearInterval(this.#keepAlive);
    this.removeAllListeners();
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
