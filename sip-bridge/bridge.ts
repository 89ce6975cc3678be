// The SIP bridge: a user agent server on SIP trunks. An INVITE from a trunk (allow list and/or
// digest) within its limits gets a media room, the caller joins it as a plain-RTP leg of the media
// server, and the 200 OK's SDP points the caller straight at the media server (no relay of ours).
// Once the caller's ACK arrives the call is handed to `onCall`. Every dialog, answered or not,
// reaches a final state; answered calls end exactly once with their room destroyed.
/// <reference path="./sip.d.ts" />
import { randomUUID } from 'node:crypto';
import { create, makeResponse, parseUri, stringifyUri, type NameAddr, type Remote, type SipRequest, type SipStack } from 'sip';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import { MediaUnavailableError, type MediaEngine, type MediaRoom } from '../media/index.js';
import { InboundCall } from './call.js';
import { DigestAuthenticator } from './digest.js';
import { ServerDialog, type DialogTimers, type EndReason, type ReinviteResult } from './dialog.js';
import { ALLOW, SUPPORTED, callerIdentity, calledNumber, checkInvite, checkRequest, infoDigits, type Rejection } from './message.js';
import { SdpError, answerDirection, buildAnswer, isHold, parseOffer, type AudioOffer, type G711 } from './sdp.js';
import { TrunkLimiter, TrunkTable, type TrunkConfig } from './trunks.js';

export interface SipBridgeOptions {
  engine: MediaEngine;
  logger: Logger;
  /** Where the bridge listens (UDP, and TCP unless turned off). A concrete port: it goes into Via and Contact. */
  listen: { host: string; port: number; tcp?: boolean };
  /** Address put into Via/Contact when `listen.host` is a wildcard (0.0.0.0) or behind NAT. */
  publicAddress?: string;
  trunks: TrunkConfig[];
  /** An answered call (200 OK acknowledged). A throw or rejection hangs the call up. */
  onCall: (call: InboundCall) => Promise<void> | void;
  /** Digest realm for trunks that set none. Default 'mccs'. */
  realm?: string;
  /** Preferred codec order when the caller offers both. Default PCMU, PCMA. */
  codecs?: G711[];
  timers?: Partial<DialogTimers>;
  /**
   * The address callers send RTP to, when the media server's own (what it reports for a plain-RTP
   * leg, its first interface or its configured local_ip) is not reachable for them (NAT, docker).
   */
  mediaAddress?: string;
  /** Where the media server reads prompt files (a shared volume when it runs elsewhere). Default: sip-bridge/prompts. */
  promptsDir?: string;
  /** Hard ceiling on a call's length, whatever the signalling says. Default 4 h; 0: none. */
  maxCallMs?: number;
}

/** One dialog's outcome, answered or not: for call records and metrics. */
export interface DialogSummary {
  sipCallId: string;
  trunkId: string | undefined;
  /** Our call id (room session id) when the call was answered. */
  callId: string | undefined;
  answered: boolean;
  reason: EndReason;
  /** The final status we sent when the INVITE was refused (403, 488, 503, …). */
  status?: number;
}

export type SipBridgeEvents = {
  'dialog:ended': [summary: DialogSummary];
};

interface Entry {
  dialog: ServerDialog;
  trunk: TrunkConfig;
  call?: InboundCall;
  room?: MediaRoom;
  offer?: AudioOffer;
  /** Where the caller sends RTP (the media server's port for the leg). */
  local?: { ip: string; port: number };
  answerVersion: number;
  finishing?: Promise<void>;
  maxTimer?: NodeJS.Timeout;
}

const CALLER_LEG = 'caller';

export class SipBridge extends TypedEmitter<SipBridgeEvents> {
  readonly #opts: SipBridgeOptions;
  readonly #log: Logger;
  readonly #stack: SipStack;
  readonly #trunks: TrunkTable;
  readonly #limiter = new TrunkLimiter();
  readonly #digest = new DigestAuthenticator();
  readonly #contact: string;
  /** Dialogs by Call-ID + remote tag. */
  readonly #dialogs = new Map<string, Entry>();
  /** Early dialogs by Call-ID + INVITE branch (CANCEL and INVITE retransmissions). */
  readonly #byBranch = new Map<string, Entry>();
  #closed = false;

  constructor(opts: SipBridgeOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger;
    this.#trunks = new TrunkTable(opts.trunks);
    const host = opts.publicAddress ?? opts.listen.host;
    if (host === '0.0.0.0' || host === '::') throw new TypeError('SIP bridge: set publicAddress when listening on a wildcard address');
    if (!Number.isInteger(opts.listen.port) || opts.listen.port <= 0) throw new TypeError('SIP bridge: listen.port must be a concrete port');
    this.#contact = `sip:mccs@${host}:${opts.listen.port}`;
    this.#stack = create(
      {
        address: opts.listen.host,
        port: opts.listen.port,
        publicAddress: host,
        udp: true,
        tcp: opts.listen.tcp ?? true,
        logger: { error: (err) => this.#log.warn('SIP stack error', { err }) },
      },
      (rq, remote) => this.#onRequest(rq, remote),
    );
  }

  /** Calls answered and not ended. */
  get activeCalls(): number {
    let n = 0;
    for (const e of this.#dialogs.values()) if (e.call && e.call.state === 'answered') n++;
    return n;
  }

  /** Dialogs of any state this bridge holds (for tests: 0 after every call has ended). */
  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /** Hangs every call up (BYE), destroys their rooms and stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#dialogs.values()];
    await Promise.all(entries.map((e) => this.#finish(e, 'shutdown', { status: 503, reason: 'Service Unavailable' })));
    // Give the BYEs a moment on the wire before the socket closes.
    if (entries.length) await new Promise((r) => setTimeout(r, 100));
    this.#stack.destroy();
  }

  // ---- requests ------------------------------------------------------------------------------------

  #onRequest(rq: SipRequest, remote: Remote): void {
    try {
      this.#route(rq, remote);
    } catch (err) {
      this.#log.error('SIP: handling a request failed', { method: rq.method, err });
      if (rq.method !== 'ACK') this.#reply(rq, 500, 'Server Internal Error');
    }
  }

  #route(rq: SipRequest, remote: Remote): void {
    if (rq.method === 'ACK') {
      this.#dialogOf(rq)?.dialog.ack();
      return;
    }
    const bad = checkRequest(rq);
    if (bad) return this.#refuse(rq, bad);
    if (this.#closed) return this.#reply(rq, 503, 'Service Unavailable', { 'retry-after': '30' });

    const toTag = rq.headers.to?.params.tag;
    if (rq.method === 'CANCEL') return this.#cancel(rq);
    if (toTag) {
      const entry = this.#dialogOf(rq);
      if (!entry || entry.dialog.localTag !== toTag) return this.#reply(rq, 481, 'Call/Transaction Does Not Exist');
      return entry.dialog.handle(rq);
    }
    switch (rq.method) {
      case 'INVITE':
        return void this.#invite(rq, remote);
      case 'OPTIONS':
        return this.#reply(rq, 200, 'OK', { allow: ALLOW, accept: 'application/sdp', supported: SUPPORTED.join(', ') });
      case 'BYE':
      case 'INFO':
      case 'UPDATE':
        return this.#reply(rq, 481, 'Call/Transaction Does Not Exist');
      default:
        return this.#reply(rq, 405, 'Method Not Allowed', { allow: ALLOW });
    }
  }

  #cancel(rq: SipRequest): void {
    const entry = this.#byBranch.get(branchKey(rq));
    if (!entry || entry.dialog.state !== 'early') return this.#reply(rq, 481, 'Call/Transaction Does Not Exist');
    this.#reply(rq, 200, 'OK');
    entry.dialog.cancel();
  }

  async #invite(rq: SipRequest, remote: Remote): Promise<void> {
    // A retransmitted INVITE belongs to its transaction; the stack absorbs those. One with a known
    // branch but a new transaction (after 32 s) is ignored too.
    if (this.#byBranch.has(branchKey(rq))) return;
    this.#reply(rq, 100, 'Trying');
    const bad = checkInvite(rq);
    if (bad) return this.#refuse(rq, bad);

    const trunk = this.#authorise(rq, remote);
    if (!trunk) return;
    const admitted = this.#limiter.admit(trunk);
    if (!admitted.ok) {
      this.#log.info('SIP: trunk limit', { trunk: trunk.id, reason: admitted.reason });
      return this.#refuse(rq, { status: 503, reason: 'Service Unavailable', headers: { 'retry-after': String(admitted.retryAfter) } }, trunk.id);
    }

    let offer: AudioOffer;
    try {
      offer = parseOffer(rq.content ?? '', this.#opts.codecs);
    } catch (err) {
      this.#limiter.release(trunk);
      if (!(err instanceof SdpError)) throw err;
      const status = err.kind === 'malformed' ? 400 : 488;
      return this.#refuse(rq, { status, reason: status === 400 ? 'Bad Request' : 'Not Acceptable Here', headers: { warning: `399 mccs "${err.message.replace(/"/g, "'")}"` } }, trunk.id);
    }

    const dialog = new ServerDialog({
      stack: this.#stack,
      invite: rq,
      remote,
      contact: this.#contact,
      logger: this.#log,
      ...(this.#opts.timers ? { timers: this.#opts.timers } : {}),
      onReoffer: (sdp) => this.#reoffer(entry, sdp),
      pinRoute: (hop) => this.#pinRoute(hop),
    });
    const tooSmall = dialog.checkSessionTimer();
    if (tooSmall) {
      this.#limiter.release(trunk);
      return this.#refuse(rq, tooSmall, trunk.id);
    }
    const entry: Entry = { dialog, trunk, offer, answerVersion: 1 };
    this.#dialogs.set(dialogKey(dialog.callId, dialog.remoteTag), entry);
    this.#byBranch.set(branchKey(rq), entry);
    dialog.on('ended', (reason) => void this.#finish(entry, reason));
    dialog.on('request', (info) => this.#info(entry, info));
    dialog.on('ack', () => void this.#answered(entry, rq));

    try {
      const sessionId = randomUUID();
      const room = await this.#opts.engine.createRoom({ sessionId, video: false });
      entry.room = room;
      if (ended(dialog)) return void (await this.#cleanup(entry));
      const { local } = await room.joinRtp({ legId: CALLER_LEG, display: displayOf(rq), codec: offer.codec, remote: offer.remote, payloadType: offer.payloadType });
      if (ended(dialog)) return void (await this.#cleanup(entry));
      entry.local = this.#reachable(local);
      room.on('leg:lost', (legId, why) => {
        if (legId !== CALLER_LEG) return;
        this.#log.info('SIP: the caller\'s media leg was lost', { callId: dialog.callId, why });
        void this.#finish(entry, 'media_lost');
      });
      dialog.accept(buildAnswer({ offer, local: entry.local, sessionId: String(Date.now()), version: entry.answerVersion }));
      const maxMs = this.#opts.maxCallMs ?? 4 * 3600_000;
      if (maxMs > 0) entry.maxTimer = setTimeout(() => void this.#finish(entry, 'session_expired'), maxMs);
    } catch (err) {
      const unavailable = err instanceof MediaUnavailableError;
      this.#log[unavailable ? 'warn' : 'error']('SIP: setting the call up failed', { callId: dialog.callId, err });
      await this.#finish(entry, 'failed', { status: 503, reason: 'Service Unavailable' });
    }
  }

  /** The trunk a new INVITE comes from, or undefined after answering 401/403. */
  #authorise(rq: SipRequest, remote: Remote): TrunkConfig | undefined {
    const match = this.#trunks.classify(remote.address);
    if (match.kind === 'forbidden') {
      this.#log.info('SIP: INVITE from an unknown source', { source: remote.address });
      this.#refuse(rq, { status: 403, reason: 'Forbidden' });
      return undefined;
    }
    const candidates = match.kind === 'trunk' ? [match.trunk] : match.candidates;
    const needsAuth = candidates.filter((t) => t.auth);
    if (match.kind === 'trunk' && !match.trunk.auth) return match.trunk;
    const realmOf = (t: TrunkConfig): string => t.auth?.realm ?? this.#opts.realm ?? 'mccs';
    let stale = false;
    for (const t of needsAuth) {
      const result = this.#digest.verify(rq.method, rq.headers.authorization, { ...t.auth!, realm: realmOf(t) });
      if (result === 'ok') return t;
      if (result === 'stale') stale = true;
      if (result === 'invalid') this.#log.info('SIP: digest credentials refused', { trunk: t.id, source: remote.address });
    }
    const realms = [...new Set(needsAuth.map(realmOf))];
    this.#refuse(rq, { status: 401, reason: 'Unauthorized', headers: { 'www-authenticate': realms.map((r) => this.#digest.challenge(r, stale)) } });
    return undefined;
  }

  async #answered(entry: Entry, rq: SipRequest): Promise<void> {
    const { dialog, room, offer } = entry;
    if (!room || !offer || dialog.state !== 'confirmed' || entry.call) return;
    const call = new InboundCall({
      id: room.sessionId,
      dialog,
      trunkId: entry.trunk.id,
      caller: callerIdentity(rq),
      called: calledNumber(rq),
      room,
      legId: CALLER_LEG,
      codec: offer.codec,
      ...(this.#opts.promptsDir ? { promptsDir: this.#opts.promptsDir } : {}),
      hangup: (reason) => this.#finish(entry, reason),
    });
    entry.call = call;
    this.#log.info('SIP: call answered', { callId: call.id, sipCallId: dialog.callId, trunk: entry.trunk.id, withheld: call.caller.withheld });
    try {
      await this.#opts.onCall(call);
    } catch (err) {
      this.#log.error('SIP: onCall failed, hanging up', { callId: call.id, err });
      await this.#finish(entry, 'failed');
    }
  }

  #info(entry: Entry, rq: SipRequest): void {
    const digits = infoDigits(rq);
    if (digits === undefined) return entry.dialog.respond(rq, 415, 'Unsupported Media Type', { accept: 'application/dtmf-relay, application/dtmf' });
    entry.dialog.respond(rq, 200, 'OK');
    for (const d of digits) entry.call?._digit(d);
  }

  /** A new offer in the dialog: hold/unhold, or the caller's media moved. */
  async #reoffer(entry: Entry, sdp: string): Promise<ReinviteResult> {
    const { room, offer: before } = entry;
    if (!room || !before) return { status: 491, reason: 'Request Pending' };
    let offer: AudioOffer;
    try {
      offer = parseOffer(sdp, [before.codec, ...(this.#opts.codecs ?? ['pcmu', 'pcma'])]);
    } catch (err) {
      if (err instanceof SdpError) return { status: 488, reason: 'Not Acceptable Here' };
      throw err;
    }
    const held = isHold(offer);
    const moved = !held && (offer.remote.ip !== before.remote.ip || offer.remote.port !== before.remote.port || offer.codec !== before.codec || offer.payloadType !== before.payloadType);
    let local: { ip: string; port: number } | undefined;
    if (moved) {
      // Rejoining with the same leg id replaces the participant: Janus sends to the new address.
      local = this.#reachable((await room.joinRtp({ legId: CALLER_LEG, display: displayOf(entry.dialog.invite), codec: offer.codec, remote: offer.remote, payloadType: offer.payloadType })).local);
      entry.local = local;
    }
    await room.setMuted(CALLER_LEG, held).catch((err: unknown) => this.#log.warn('SIP: muting a held caller failed', { err }));
    entry.offer = held ? { ...offer, remote: before.remote } : offer;
    entry.call?._hold(held);
    entry.answerVersion++;
    return {
      status: 200,
      reason: 'OK',
      sdp: buildAnswer({ offer, local: local ?? entry.local!, sessionId: String(Date.now()), version: entry.answerVersion, direction: answerDirection(offer.direction) }),
    };
  }

  // ---- ending ----------------------------------------------------------------------------------------

  /** Ends a dialog for any reason, exactly once: signalling, room, limits, events. */
  async #finish(entry: Entry, reason: EndReason, early?: { status: number; reason: string }): Promise<void> {
    const { dialog } = entry;
    if (dialog.state !== 'terminated') {
      // Ends the dialog; its 'ended' event brings us back here with the state terminated.
      dialog.hangup(reason, early ?? { status: reason === 'failed' ? 503 : 480, reason: reason === 'failed' ? 'Service Unavailable' : 'Temporarily Unavailable' });
      return entry.finishing ?? Promise.resolve();
    }
    entry.finishing ??= this.#finished(entry, reason);
    return entry.finishing;
  }

  async #finished(entry: Entry, reason: EndReason): Promise<void> {
    const { dialog } = entry;
    clearTimeout(entry.maxTimer);
    this.#limiter.release(entry.trunk);
    this.#byBranch.delete(branchKey(dialog.invite));
    await this.#cleanup(entry);
    this.#dialogs.delete(dialogKey(dialog.callId, dialog.remoteTag));
    const final = dialog.endReason ?? reason;
    this.#log.info('SIP: dialog ended', { sipCallId: dialog.callId, reason: final, answered: !!entry.call });
    entry.call?._ended(final);
    this.safeEmit('dialog:ended', { sipCallId: dialog.callId, trunkId: entry.trunk.id, callId: entry.call?.id, answered: !!entry.call, reason: final });
    // The dialog object lingers only for a late ACK (BYE after ACK); its own timers stop it.
    if (dialog.acked) dialog.dispose();
  }

  async #cleanup(entry: Entry): Promise<void> {
    const room = entry.room;
    if (room && !room.destroyed) {
      await room.destroy().catch((err: unknown) => this.#log.warn('SIP: destroying a call room failed', { err }));
    }
  }

  #reachable(local: { ip: string; port: number }): { ip: string; port: number } {
    return this.#opts.mediaAddress ? { ip: this.#opts.mediaAddress, port: local.port } : local;
  }

  #pinRoute(hop: string): NameAddr | undefined {
    const uri = parseUri(hop);
    if (!uri || uri.host !== this.#stack.hostname()) return undefined;
    const protocol = String(uri.params.transport ?? 'udp').toUpperCase();
    const flow = { protocol, address: uri.host, port: uri.port || 5060, local: { address: this.#opts.listen.host, port: this.#opts.listen.port } };
    return { uri: stringifyUri({ ...this.#stack.encodeFlowUri(flow), params: { lr: null } }), params: {} };
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  #dialogOf(rq: SipRequest): Entry | undefined {
    return this.#dialogs.get(dialogKey(rq.headers['call-id'] ?? '', String(rq.headers.from?.params.tag ?? '')));
  }

  #refuse(rq: SipRequest, r: Rejection, trunkId?: string): void {
    this.#reply(rq, r.status, r.reason, r.headers ?? {});
    if (rq.method === 'INVITE') {
      this.safeEmit('dialog:ended', { sipCallId: rq.headers['call-id'] ?? '', trunkId, callId: undefined, answered: false, reason: 'local_hangup', status: r.status });
    }
  }

  #reply(rq: SipRequest, status: number, reason: string, headers: Record<string, unknown> = {}): void {
    const rs = makeResponse(rq, status, reason);
    const to = rq.headers.to;
    if (to && status > 100 && !to.params.tag) rs.headers.to = { ...to, params: { ...to.params, tag: 'mccs' + Math.random().toString(36).slice(2, 10) } };
    rs.headers.server = 'mccs';
    Object.assign(rs.headers, headers);
    try {
      this.#stack.send(rs);
    } catch (err) {
      this.#log.warn('SIP: sending a response failed', { status, err });
    }
  }
}

/** Read afresh after an await (TypeScript keeps the narrowing from before it). */
function ended(d: ServerDialog): boolean {
  return d.state === 'terminated';
}

function dialogKey(callId: string, remoteTag: string): string {
  return `${callId}\n${remoteTag}`;
}

function branchKey(rq: SipRequest): string {
  return `${rq.headers['call-id'] ?? ''}\n${String(rq.headers.via?.[0]?.params.branch ?? '')}`;
}

function displayOf(rq: SipRequest): string {
  return `phone:${rq.headers['call-id']?.slice(0, 12) ?? ''}`;
}
