// The SIP bridge: phone calls between SIP trunks and media rooms, both ways. An INVITE from a trunk
// (allow list and/or digest) within its limits gets a media room, the caller joins it as a
// plain-RTP leg of the media server through an RTP relay of ours (RFC 4733 digits, RTP time-out;
// a trunk with `rtpRelay: false` points the caller straight at the media server); once the ACK
// arrives the call goes to `onCall`. `dial` places a call on
// a trunk the same way round. Trunks can be registered at their provider and watched with OPTIONS.
// Every dialog, answered or not, reaches a final state; answered calls end exactly once with their
// room destroyed (or, for a room lent to `dial`, their leg removed).
/// <reference path="./sip.d.ts" />
import { randomUUID } from 'node:crypto';
import { create, makeResponse, parseUri, stringifyUri, type NameAddr, type Remote, type SipRequest, type SipStack, type StackOptions } from 'sip';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import { MediaUnavailableError, type MediaEngine, type MediaRoom } from '../media/index.js';
import { InboundCall } from './call.js';
import type { ClientDialog } from './client-dialog.js';
import { newTag, type Dialog, type DialogContext } from './dialog-core.js';
import { DigestAuthenticator, DigestClient } from './digest.js';
import { ServerDialog, type DialogTimers, type EndReason, type ReinviteResult } from './dialog.js';
import { OutboundInvite, type DialFailure } from './dialer.js';
import { TrunkKeepAlive, type ReachabilityStatus } from './keepalive.js';
import { ALLOW, SUPPORTED, callerIdentity, calledNumber, checkInvite, checkRequest, infoDigits, type Rejection } from './message.js';
import { OutboundCall } from './outbound-call.js';
import type { PhoneCall } from './phone-call.js';
import { PhoneLeg } from './phone-leg.js';
import { RtpRelay } from './rtp-relay.js';
import { RtpPortRange, parsePortRange } from './rtp-ports.js';
import { TrunkRegistration, type RegistrationStatus } from './registration.js';
import { SdpError, parseOffer, type AudioOffer, type G711 } from './sdp.js';
import { TrunkLimiter, TrunkTable, outboundTarget, type TrunkConfig } from './trunks.js';
import { buildRequest, sipUri, type UacContext } from './uac.js';

export interface SipBridgeOptions {
  engine: MediaEngine;
  logger: Logger;
  /**
   * Where the bridge listens: UDP, TCP unless turned off, and TLS when given a certificate (PEM key
   * and certificate chain, on their own port). A concrete port: it goes into Via and Contact.
   */
  listen: { host: string; port: number; tcp?: boolean; tls?: { port: number; key: string | Buffer; cert: string | Buffer } };
  /** Address put into Via/Contact when `listen.host` is a wildcard (0.0.0.0) or behind NAT. */
  publicAddress?: string;
  trunks: TrunkConfig[];
  /** An answered call (200 OK acknowledged). A throw or rejection hangs the call up. */
  onCall: (call: InboundCall) => Promise<void> | void;
  /** Digest realm for trunks that set none. Default 'mccs'. */
  realm?: string;
  /** Preferred codec order when the far end offers both. Default PCMU, PCMA. */
  codecs?: G711[];
  timers?: Partial<DialogTimers>;
  /**
   * The address phones send RTP to, when the media server's own (what it reports for a plain-RTP
   * leg, its first interface or its configured local_ip) is not reachable for them (NAT, docker).
   */
  mediaAddress?: string;
  /** Where the media server reads prompt files (a shared volume when it runs elsewhere). Default: sip-bridge/prompts. */
  promptsDir?: string;
  /** Hard ceiling on a call's length, whatever the signalling says. Default 4 h; 0: none. */
  maxCallMs?: number;
  /** The RTP relay between phones and the media server (trunks with `rtpRelay: false` go without). */
  relay?: RelayOptions;
}

export interface RelayOptions {
  /** Ports for relay sockets, 'min-max' (even ones are used); keep it apart from the media server's. Default '41000-50999'. */
  portRange?: string;
  /** No RTP from a phone for this long, while not on hold → BYE, 'rtp_timeout'. Default 30 s; 0: no check. */
  rtpTimeoutMs?: number;
  /** Where relay sockets bind. Default: `listen.host`. */
  host?: string;
  /** The relay's address as the media server reaches it. Default: `host`, or the public address when that is a wildcard. */
  mediaServerAddress?: string;
}

export const DEFAULT_RELAY = { portRange: '41000-50999', rtpTimeoutMs: 30_000 } as const;

export interface DialOptions {
  trunkId: string;
  /** An E.164 number ('+4930…', sent to the trunk's target) or a sip:/sips:/tel: URI. */
  to: string;
  /** Who we are: a number or a SIP URI. Default: the trunk's registration identity, else mccs@our address. */
  from?: string;
  /** A room to join the phone to (it stays the caller's: at the end only the leg leaves). Default: a new room the call owns. */
  room?: MediaRoom;
  /** The phone's leg id in the room. Default 'callee'. */
  legId?: string;
  /** How long it may ring before CANCEL ('no_answer'). Default 60 s. */
  timeoutMs?: number;
  /** Aborting before the answer sends CANCEL ('cancelled'). */
  signal?: AbortSignal;
  /** 180 Ringing, 183 Session Progress. */
  onProgress?: (status: number) => void;
}

/** Why `dial` did not produce a call. */
export class DialError extends Error {
  constructor(
    readonly reason: DialFailure,
    message: string,
    /** The final SIP status when the far end (or the trunk limit: 503) refused. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

/** One dialog's outcome, answered or not: for call records and metrics. */
export interface DialogSummary {
  direction: 'inbound' | 'outbound';
  sipCallId: string;
  trunkId: string | undefined;
  /** Our call id when the call was answered. */
  callId: string | undefined;
  answered: boolean;
  reason: EndReason;
  /** The final status we sent when we refused an INVITE (403, 488, 503, …), or got for one we sent. */
  status?: number;
}

/** A trunk as an admin view shows it. */
export interface TrunkStatus {
  id: string;
  activeCalls: number;
  /** Only for trunks with `register`. */
  registration?: RegistrationStatus;
  /** Only for trunks with `keepAlive`. */
  reachability?: ReachabilityStatus;
}

export type SipBridgeEvents = {
  'dialog:ended': [summary: DialogSummary];
  /** A trunk's registration or reachability changed state. */
  'trunk:status': [status: TrunkStatus];
};

interface Entry {
  direction: 'inbound' | 'outbound';
  dialog: ServerDialog | ClientDialog;
  trunk: TrunkConfig;
  call?: PhoneCall;
  room?: MediaRoom;
  /** Whether the call made its room (destroyed at the end) or joined a lent one (only its leg leaves). */
  ownsRoom: boolean;
  legId: string;
  leg?: PhoneLeg;
  finishing?: Promise<void>;
  maxTimer?: NodeJS.Timeout;
}

const CALLER_LEG = 'caller';
const CALLEE_LEG = 'callee';
const DIAL_TIMEOUT_MS = 60_000;

export class SipBridge extends TypedEmitter<SipBridgeEvents> {
  readonly #opts: SipBridgeOptions;
  readonly #log: Logger;
  readonly #stack: SipStack;
  readonly #uac: UacContext;
  #trunks: TrunkTable;
  readonly #limiter = new TrunkLimiter();
  readonly #digest = new DigestAuthenticator();
  readonly #host: string;
  readonly #contact: string;
  /** Dialogs by Call-ID + remote tag. */
  readonly #dialogs = new Map<string, Entry>();
  /** Early dialogs by Call-ID + INVITE branch (CANCEL and INVITE retransmissions). */
  readonly #byBranch = new Map<string, Entry>();
  readonly #registrations = new Map<string, TrunkRegistration>();
  readonly #keepAlives = new Map<string, TrunkKeepAlive>();
  /** Registrations of trunks removed or changed, still sending their Expires: 0. */
  readonly #unregistering = new Set<Promise<void>>();
  readonly #relayPorts: RtpPortRange;
  /** The relay sockets' address for the media server, and the one phones are told (c=). */
  readonly #relayAddress: string;
  readonly #relayPhoneAddress: string;
  #closed = false;

  constructor(opts: SipBridgeOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger;
    this.#trunks = new TrunkTable(opts.trunks);
    const host = opts.publicAddress ?? opts.listen.host;
    if (host === '0.0.0.0' || host === '::') throw new TypeError('SIP bridge: set publicAddress when listening on a wildcard address');
    if (!Number.isInteger(opts.listen.port) || opts.listen.port <= 0) throw new TypeError('SIP bridge: listen.port must be a concrete port');
    this.#host = host;
    this.#contact = `sip:mccs@${host}:${opts.listen.port}`;
    const relayHost = opts.relay?.host ?? opts.listen.host;
    const concreteRelayHost = relayHost === '0.0.0.0' ? host : relayHost;
    this.#relayPorts = new RtpPortRange(relayHost, parsePortRange(opts.relay?.portRange ?? DEFAULT_RELAY.portRange));
    this.#relayAddress = opts.relay?.mediaServerAddress ?? concreteRelayHost;
    this.#relayPhoneAddress = opts.mediaAddress ?? opts.publicAddress ?? concreteRelayHost;
    const tls = opts.listen.tls;
    const stackOptions: StackOptions = {
      address: opts.listen.host,
      port: opts.listen.port,
      publicAddress: host,
      udp: true,
      tcp: opts.listen.tcp ?? true,
      ...(tls ? { tls: { key: tls.key, cert: tls.cert }, tls_port: tls.port } : {}),
      logger: { error: (err) => this.#log.warn('SIP stack error', { err }) },
    };
    this.#stack = create(stackOptions, (rq, remote) => this.#onRequest(rq, remote));
    this.#uac = { stack: this.#stack, logger: this.#log, pinRoute: (hop) => this.#pinRoute(hop) };
    for (const t of this.#trunks.trunks) this.#startMonitors(t);
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

  /** RTP relay sockets open (for tests: 0 once every call has ended). */
  get relayCount(): number {
    return this.#relayPorts.openSockets;
  }

  /** Per trunk: calls up, registration and reachability (for an admin view). */
  trunkStatus(): TrunkStatus[] {
    return this.#trunks.trunks.map((t) => this.#statusOf(t.id));
  }

  /**
   * Replaces the trunks while running (an admin changed them): new INVITEs are classified against the
   * new set at once, so a removed trunk's source gets 403 while its calls in progress go on to their
   * end. A trunk whose registration or keep-alive settings changed (or that is gone) unregisters and
   * stops pinging; new and changed ones start. Throws TypeError (and changes nothing) on a bad set.
   */
  setTrunks(trunks: TrunkConfig[]): void {
    if (this.#closed) throw new TypeError('the SIP bridge is closed');
    const next = new TrunkTable(trunks);
    const before = this.#trunks;
    this.#trunks = next;
    for (const old of before.trunks) {
      const now = next.get(old.id);
      if (!now || monitorSettings(now) !== monitorSettings(old)) this.#stopMonitors(old.id);
    }
    for (const t of next.trunks) if (!this.#registrations.has(t.id) && !this.#keepAlives.has(t.id)) this.#startMonitors(t);
    this.#log.info('SIP: trunks changed', { trunks: next.trunks.map((t) => t.id) });
  }

  /**
   * Places a call on a trunk and resolves once it is answered, with the phone in a media room (its
   * own, or `opts.room`). Rejects with DialError: 'rejected' (a final 3xx-6xx, `status`),
   * 'no_answer' (time-out, CANCEL sent), 'cancelled' (aborted), 'failed' (trunk limit, media).
   */
  async dial(opts: DialOptions): Promise<OutboundCall> {
    if (this.#closed) throw new DialError('failed', 'the SIP bridge is closed');
    const trunk = this.#trunks.get(opts.trunkId);
    if (!trunk) throw new TypeError(`unknown SIP trunk ${opts.trunkId}`);
    const target = outboundTarget(trunk);
    if (!target) throw new TypeError(`SIP trunk ${trunk.id} has no target or registrar to send calls to`);
    const targetUri = sipUri(target);
    const to = requestUri(opts.to, targetUri);
    const from = this.#fromUri(trunk, opts.from);
    const admitted = this.#limiter.admit(trunk);
    if (!admitted.ok) throw new DialError('failed', `SIP trunk ${trunk.id}: ${admitted.reason}`, 503);

    const callId = randomUUID();
    const legId = opts.legId ?? CALLEE_LEG;
    let entry: Entry | undefined;
    const started = Date.now();
    const invite = buildRequest({
      method: 'INVITE',
      uri: to,
      from: { uri: from, params: { tag: newTag() } },
      to: { uri: to, params: {} },
      callId,
      cseq: 1,
      contact: { uri: this.#contact, params: {} },
      headers: { supported: SUPPORTED.join(', '), allow: ALLOW, ...(sameHop(to, targetUri) ? {} : { route: [{ uri: `${targetUri};lr`, params: {} }] }) },
    });
    const attempt = new OutboundInvite({
      uac: this.#uac,
      dialog: this.#dialogContext(() => entry),
      invite,
      ...(trunk.register ? { digest: new DigestClient(trunk.register) } : {}),
      timeoutMs: opts.timeoutMs ?? DIAL_TIMEOUT_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const outcome = await attempt.outcome;
    if (!outcome.answered) {
      this.#limiter.release(trunk);
      this.#log.info('SIP: outbound call not answered', { sipCallId: callId, trunk: trunk.id, reason: outcome.reason, status: outcome.status });
      this.safeEmit('dialog:ended', { direction: 'outbound', sipCallId: callId, trunkId: trunk.id, callId: undefined, answered: false, reason: outcome.reason, ...(outcome.status ? { status: outcome.status } : {}) });
      const what = outcome.status ? `${outcome.status} ${outcome.sipReason ?? ''}`.trim() : outcome.reason;
      throw new DialError(outcome.reason, `call to ${to} not answered: ${what}`, outcome.status);
    }

    // Answered: the far end's 2xx holds its offer; the ACK carries our answer once the leg is in the room.
    const { dialog, ok } = outcome;
    const e: Entry = { direction: 'outbound', dialog, trunk, ownsRoom: !opts.room, legId };
    entry = e;
    this.#dialogs.set(dialogKey(dialog.callId, dialog.remoteTag), e);
    dialog.on('ended', (reason) => void this.#finish(e, reason));
    dialog.on('request', (rq) => this.#info(e, rq));
    try {
      const offer = parseOffer(ok.content ?? '', this.#opts.codecs);
      const room = opts.room ?? (await this.#opts.engine.createRoom({ sessionId: randomUUID(), video: false }));
      e.room = room;
      if (ended(dialog)) throw new Error('the far end ended the call while it was set up');
      const answer = await this.#joinLeg(e, room, offer, `phone:${callId.slice(0, 12)}`);
      if (ended(dialog)) throw new Error('the far end ended the call while it was set up');
      dialog.acknowledge(answer);
      const call = new OutboundCall({
        id: e.ownsRoom ? room.sessionId : randomUUID(),
        sipCallId: callId,
        trunkId: trunk.id,
        room,
        legId,
        codec: offer.codec,
        to,
        from,
        ringingMs: Date.now() - started,
        ...(this.#opts.promptsDir ? { promptsDir: this.#opts.promptsDir } : {}),
        hangup: (reason) => this.#finish(e, reason),
      });
      e.call = call;
      this.#armMaxCall(e);
      this.#log.info('SIP: outbound call answered', { callId: call.id, sipCallId: callId, trunk: trunk.id, ringingMs: call.ringingMs });
      return call;
    } catch (err) {
      dialog.acknowledge();
      const reason: EndReason = dialog.endReason ?? 'failed';
      this.#log[err instanceof SdpError || err instanceof MediaUnavailableError ? 'warn' : 'error']('SIP: setting an outbound call up failed', { sipCallId: callId, err });
      await this.#finish(e, reason);
      throw new DialError('failed', `call to ${to} answered but not set up: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Unregisters, hangs every call up (BYE), destroys their rooms and stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const k of this.#keepAlives.values()) k.close();
    const entries = [...this.#dialogs.values()];
    await Promise.all([
      ...entries.map((e) => this.#finish(e, 'shutdown', { status: 503, reason: 'Service Unavailable' })),
      ...[...this.#registrations.values()].map((r) => r.close()),
      ...this.#unregistering,
    ]);
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
    if (!entry || !(entry.dialog instanceof ServerDialog) || entry.dialog.state !== 'early') return this.#reply(rq, 481, 'Call/Transaction Does Not Exist');
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

    const dialog = new ServerDialog({ ...this.#dialogContext(() => entry), invite: rq, remote });
    const tooSmall = dialog.checkSessionTimer();
    if (tooSmall) {
      this.#limiter.release(trunk);
      return this.#refuse(rq, tooSmall, trunk.id);
    }
    const entry: Entry = { direction: 'inbound', dialog, trunk, ownsRoom: true, legId: CALLER_LEG };
    this.#dialogs.set(dialogKey(dialog.callId, dialog.remoteTag), entry);
    this.#byBranch.set(branchKey(rq), entry);
    dialog.on('ended', (reason) => void this.#finish(entry, reason));
    dialog.on('request', (info) => this.#info(entry, info));
    dialog.on('ack', () => void this.#answered(entry, rq));

    try {
      const room = await this.#opts.engine.createRoom({ sessionId: randomUUID(), video: false });
      entry.room = room;
      if (ended(dialog)) return void (await this.#cleanup(entry));
      const answer = await this.#joinLeg(entry, room, offer, displayOf(rq));
      if (ended(dialog)) return void (await this.#cleanup(entry));
      dialog.accept(answer);
      this.#armMaxCall(entry);
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
    const { dialog, room, leg } = entry;
    if (!room || !leg?.codec || dialog.state !== 'confirmed' || entry.call) return;
    const call = new InboundCall({
      id: room.sessionId,
      sipCallId: dialog.callId,
      trunkId: entry.trunk.id,
      caller: callerIdentity(rq),
      called: calledNumber(rq),
      room,
      legId: CALLER_LEG,
      codec: leg.codec,
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
    if (digits === undefined) {
      entry.dialog.respond(rq, 415, 'Unsupported Media Type', { accept: 'application/dtmf-relay, application/dtmf' });
      return;
    }
    entry.dialog.respond(rq, 200, 'OK');
    for (const d of digits) entry.call?._digit(d, 'info');
  }

  // ---- media -----------------------------------------------------------------------------------------

  /** The phone's leg joins the room for the far end's offer; resolves with our SDP answer. */
  async #joinLeg(entry: Entry, room: MediaRoom, offer: AudioOffer, display: string): Promise<string> {
    const relayed = entry.trunk.rtpRelay ?? true;
    const mediaAddress = relayed ? this.#relayPhoneAddress : this.#opts.mediaAddress;
    const leg = new PhoneLeg({
      room,
      legId: entry.legId,
      display,
      ...(this.#opts.codecs ? { codecs: this.#opts.codecs } : {}),
      ...(mediaAddress ? { mediaAddress } : {}),
      ...(relayed ? { openRelay: (o: AudioOffer) => this.#openRelay(entry, o) } : {}),
      logger: this.#log,
      onHold: (held) => entry.call?._hold(held),
    });
    entry.leg = leg;
    const answer = await leg.answer(offer);
    room.on('leg:lost', (legId, why) => {
      if (legId !== entry.legId) return;
      this.#log.info('SIP: the phone\'s media leg was lost', { callId: entry.dialog.callId, why });
      void this.#finish(entry, 'media_lost');
    });
    return answer;
  }

  async #openRelay(entry: Entry, offer: AudioOffer): Promise<RtpRelay> {
    const timeoutMs = this.#opts.relay?.rtpTimeoutMs ?? DEFAULT_RELAY.rtpTimeoutMs;
    return new RtpRelay({
      socket: await this.#relayPorts.bind(),
      address: this.#relayAddress,
      phone: offer.remote,
      ...(offer.telephoneEvent !== undefined ? { telephoneEventPt: offer.telephoneEvent } : {}),
      timeoutMs,
      onDigit: (digit) => entry.call?._digit(digit, 'rfc4733'),
      onTimeout: () => {
        this.#log.info('SIP: no RTP from the phone, hanging up', { callId: entry.dialog.callId, timeoutMs });
        void this.#finish(entry, 'rtp_timeout');
      },
    });
  }

  #dialogContext(entryOf: () => Entry | undefined): DialogContext {
    return {
      stack: this.#stack,
      contact: this.#contact,
      logger: this.#log,
      ...(this.#opts.timers ? { timers: this.#opts.timers } : {}),
      // A new offer in the dialog: hold/unhold, or the phone's media moved.
      onReoffer: (sdp): Promise<ReinviteResult> => entryOf()?.leg?.reoffer(sdp) ?? Promise.resolve({ status: 491, reason: 'Request Pending' }),
      pinRoute: (hop) => this.#pinRoute(hop),
    };
  }

  // ---- trunks ----------------------------------------------------------------------------------------

  #startMonitors(t: TrunkConfig): void {
    if (t.register) {
      const registration = new TrunkRegistration({
        trunkId: t.id,
        config: t.register,
        uac: this.#uac,
        contactHostPort: `${this.#host}:${this.#opts.listen.port}`,
        onChange: (s) => {
          // A registration replaced by a trunk change may still report while it unregisters.
          if (this.#registrations.get(t.id) !== registration) return;
          this.#log.info('SIP: trunk registration', { trunk: t.id, state: s.state, reason: s.reason });
          this.safeEmit('trunk:status', this.#statusOf(t.id));
        },
      });
      this.#registrations.set(t.id, registration);
      registration.start();
    }
    if (t.keepAlive) {
      const keepAlive = new TrunkKeepAlive({
        config: t.keepAlive,
        fallbackTarget: outboundTarget(t),
        uac: this.#uac,
        from: this.#contact,
        ...(t.register ? { digest: new DigestClient(t.register) } : {}),
        onChange: (s) => {
          if (this.#keepAlives.get(t.id) !== keepAlive) return;
          this.#log.info('SIP: trunk reachability', { trunk: t.id, state: s.state, lastStatus: s.lastStatus });
          this.safeEmit('trunk:status', this.#statusOf(t.id));
        },
      });
      this.#keepAlives.set(t.id, keepAlive);
      keepAlive.start();
    }
  }

  /** Stops a trunk's pings and unregisters it (in the background: Expires 0, at most 2 s). */
  #stopMonitors(trunkId: string): void {
    this.#keepAlives.get(trunkId)?.close();
    this.#keepAlives.delete(trunkId);
    const registration = this.#registrations.get(trunkId);
    this.#registrations.delete(trunkId);
    if (registration) {
      const done: Promise<void> = registration
        .close()
        .catch((err: unknown) => void this.#log.warn('SIP: unregistering a trunk failed', { trunk: trunkId, err }))
        .finally(() => this.#unregistering.delete(done));
      this.#unregistering.add(done);
    }
  }

  #statusOf(trunkId: string): TrunkStatus {
    const status: TrunkStatus = { id: trunkId, activeCalls: this.#limiter.active(trunkId) };
    const registration = this.#registrations.get(trunkId)?.status;
    if (registration) status.registration = registration;
    const reachability = this.#keepAlives.get(trunkId)?.status;
    if (reachability) status.reachability = reachability;
    return status;
  }

  /** Our From for a call on `trunk`: a SIP URI as given, a number at the trunk's domain, or the registered identity. */
  #fromUri(trunk: TrunkConfig, from: string | undefined): string {
    const domain = trunk.register ? parseUri(sipUri(trunk.register.registrar)).host : this.#host;
    if (from && /^(sips?|tel):/i.test(from)) return sipUri(from.replace(/^tel:/i, `sip:`).replace(/^sip:([^@]+)$/i, `sip:$1@${domain}`));
    return `sip:${from ?? trunk.register?.username ?? 'mccs'}@${domain}`;
  }

  // ---- ending ----------------------------------------------------------------------------------------

  #armMaxCall(entry: Entry): void {
    const maxMs = this.#opts.maxCallMs ?? 4 * 3600_000;
    if (maxMs > 0) entry.maxTimer = setTimeout(() => void this.#finish(entry, 'session_expired'), maxMs);
  }

  /** Ends a dialog for any reason, exactly once: signalling, room, limits, events. */
  async #finish(entry: Entry, reason: EndReason, early?: { status: number; reason: string }): Promise<void> {
    const { dialog } = entry;
    if (dialog.state !== 'terminated') {
      // Ends the dialog; its 'ended' event brings us back here with the state terminated.
      if (dialog instanceof ServerDialog) {
        dialog.hangup(reason, early ?? { status: reason === 'failed' ? 503 : 480, reason: reason === 'failed' ? 'Service Unavailable' : 'Temporarily Unavailable' });
      } else {
        dialog.hangup(reason);
      }
      return entry.finishing ?? Promise.resolve();
    }
    entry.finishing ??= this.#finished(entry, reason);
    return entry.finishing;
  }

  async #finished(entry: Entry, reason: EndReason): Promise<void> {
    const { dialog } = entry;
    clearTimeout(entry.maxTimer);
    this.#limiter.release(entry.trunk);
    if (dialog instanceof ServerDialog) this.#byBranch.delete(branchKey(dialog.invite));
    await this.#cleanup(entry);
    this.#dialogs.delete(dialogKey(dialog.callId, dialog.remoteTag));
    const final = dialog.endReason ?? reason;
    this.#log.info('SIP: dialog ended', { sipCallId: dialog.callId, direction: entry.direction, reason: final, answered: !!entry.call });
    entry.call?._ended(final);
    this.safeEmit('dialog:ended', { direction: entry.direction, sipCallId: dialog.callId, trunkId: entry.trunk.id, callId: entry.call?.id, answered: !!entry.call, reason: final });
    // A UAS dialog lingers only for a late ACK (BYE after ACK); its own timers stop it.
    if (!(dialog instanceof ServerDialog) || dialog.acked) dialog.dispose();
  }

  async #cleanup(entry: Entry): Promise<void> {
    entry.leg?.close();
    const room = entry.room;
    if (!room || room.destroyed) return;
    const done = entry.ownsRoom ? room.destroy() : entry.leg ? room.leave(entry.legId) : Promise.resolve();
    await done.catch((err: unknown) => this.#log.warn('SIP: releasing a call\'s media failed', { err }));
  }

  #pinRoute(hop: string): NameAddr | undefined {
    const uri = parseUri(hop);
    if (!uri || uri.host !== this.#stack.hostname()) return undefined;
    const protocol = String(uri.params.transport ?? 'udp').toUpperCase();
    const flow = { protocol, address: uri.host, port: uri.port || (protocol === 'TLS' ? 5061 : 5060), local: { address: this.#opts.listen.host, port: this.#opts.listen.port } };
    return { uri: stringifyUri({ ...this.#stack.encodeFlowUri(flow), params: { lr: null } }), params: {} };
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  #dialogOf(rq: SipRequest): Entry | undefined {
    return this.#dialogs.get(dialogKey(rq.headers['call-id'] ?? '', String(rq.headers.from?.params.tag ?? '')));
  }

  #refuse(rq: SipRequest, r: Rejection, trunkId?: string): void {
    this.#reply(rq, r.status, r.reason, r.headers ?? {});
    if (rq.method === 'INVITE') {
      this.safeEmit('dialog:ended', { direction: 'inbound', sipCallId: rq.headers['call-id'] ?? '', trunkId, callId: undefined, answered: false, reason: 'local_hangup', status: r.status });
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

/** What a trunk's registration and keep-alive depend on: when it changes, they restart. */
function monitorSettings(t: TrunkConfig): string {
  return JSON.stringify({ register: t.register ?? null, keepAlive: t.keepAlive ?? null, target: t.target ?? null });
}

/** Read afresh after an await (TypeScript keeps the narrowing from before it). */
function ended(d: Dialog): boolean {
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

/** The Request-URI for a number (at the trunk's target) or a SIP/tel URI; TypeError when neither. */
function requestUri(to: string, targetUri: string): string {
  const number = /^tel:([^;]+)/i.exec(to)?.[1] ?? to;
  if (/^\+?[0-9*#]{1,32}$/.test(number)) return stringifyUri({ ...parseUri(targetUri), user: number });
  if (/^sips?:/i.test(to) && parseUri(to)?.host) return to;
  throw new TypeError(`cannot call ${to}: neither a number nor a SIP URI`);
}

/** Whether a request to `uri` reaches the trunk's target without a Route. */
function sameHop(uri: string, targetUri: string): boolean {
  const a = parseUri(uri);
  const b = parseUri(targetUri);
  return a.host === b.host && (a.port ?? 5060) === (b.port ?? 5060);
}
