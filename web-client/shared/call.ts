// Browser calls: the WebRTC side of a call, without UI. The server brokers all media, so every leg is
// one RTCPeerConnection negotiated over the socket:
//   main        audio with the mic, into the call's main mix (media:join)
//   coach       agent: a second audio leg while a supervisor whispers (media:join mix 'coach');
//               supervisor: the whisper leg (monitor:coach)
//   publishers  video only, one per source (camera, screen): media:publish
//   subscribers one per remote feed; the server offers, the browser answers (media:subscribe/answer)
// A CallSession (customer, agent) or MonitorSession (supervisor) owns the legs of one task. Sessions are
// made by createCallSession()/createMonitorSession(); close() is idempotent and tears every leg down.
// For browser tests the live connections of each task are on window.__mccsCalls (taskId → CallPeers).
import type { Socket } from 'socket.io-client';
import type {
  AgentMediaClientToServer,
  HoldState,
  IceServer,
  MediaClientToServer,
  MediaEndReason,
  MediaFeed,
  MediaRole,
  MediaView,
  MonitorMode,
  SupervisorClientToServer,
} from '../../protocol/events.js';
import { request } from './socket';

export type VideoSource = 'camera' | 'screen';

const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };

/** How long to wait for ICE candidates before sending what was gathered. */
export const ICE_GATHER_TIMEOUT_MS = 3_000;

// ---- errors ---------------------------------------------------------------------------------

/** The session was closed while an operation was under way; nothing to report to the user. */
export class CallClosedError extends Error {
  constructor() {
    super('the call is closed');
    this.name = 'CallClosedError';
  }
}

/** A readable sentence for a getUserMedia/getDisplayMedia or negotiation failure. */
export function describeMediaError(err: unknown, what: 'microphone' | 'camera' | 'screen' | 'call'): string {
  const name = err instanceof Error || err instanceof DOMException ? err.name : '';
  const device = what === 'microphone' ? 'microphone' : what === 'camera' ? 'camera' : what === 'screen' ? 'screen sharing' : 'media';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return what === 'screen'
        ? 'Screen sharing was not allowed.'
        : `Access to the ${device} was blocked. Allow it in the browser's site settings and try again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${device} was found on this device.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${device} is in use by another application or could not be started.`;
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** Calls need getUserMedia and RTCPeerConnection, which browsers offer only in secure contexts. */
export function callSupport(): { ok: true } | { ok: false; reason: string } {
  if (typeof RTCPeerConnection === 'undefined') return { ok: false, reason: 'This browser cannot make calls.' };
  if (!navigator.mediaDevices?.getUserMedia) {
    return { ok: false, reason: 'Calls need a secure (https) connection and a browser with microphone access.' };
  }
  return { ok: true };
}

/** Asks for the devices once (the permission prompt) and releases them at once. */
export async function checkDevices(video: boolean): Promise<void> {
  const support = callSupport();
  if (!support.ok) throw new Error(support.reason);
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (err) {
    throw new Error(describeMediaError(err, video ? 'camera' : 'microphone'));
  }
  for (const t of stream.getTracks()) t.stop();
}

// ---- small pieces ---------------------------------------------------------------------------

type Listener<A extends unknown[]> = (...args: A) => void;

/** A minimal typed emitter; a throwing listener is logged and does not stop the others. */
class Emitter<E extends { [K in keyof E]: unknown[] }> {
  #listeners = new Map<keyof E, Set<Listener<never[]>>>();

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener<never[]>);
    return () => set.delete(fn as unknown as Listener<never[]>);
  }

  protected safeEmit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (fn as unknown as Listener<E[K]>)(...args);
      } catch (err) {
        console.error(`call listener for ${String(event)} failed`, err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}

/** Resolves once ICE gathering is complete, or after `timeoutMs` with what was gathered by then. */
export function gatherIce(pc: RTCPeerConnection, timeoutMs = ICE_GATHER_TIMEOUT_MS): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onState);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onState = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const onCandidate = (e: RTCPeerConnectionIceEvent) => {
      if (!e.candidate) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onState);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

function rtcConfig(iceServers: IceServer[]): RTCConfiguration {
  return { iceServers: iceServers.map((s) => ({ ...s, urls: [...s.urls] })), bundlePolicy: 'max-bundle' };
}

function localSdp(pc: RTCPeerConnection): string {
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error('no local description');
  return sdp;
}

function streamOf(e: RTCTrackEvent): MediaStream {
  return e.streams[0] ?? new MediaStream([e.track]);
}

function closePc(pc: RTCPeerConnection | null | undefined): void {
  if (!pc) return;
  pc.ontrack = null;
  pc.onconnectionstatechange = null;
  try {
    pc.close();
  } catch {
    /* already closed */
  }
}

/**
 * Negotiates one audio leg where the browser offers: mic track in (sendrecv), the server's answer back.
 * The PC is handed to `onCreated` before any await, so it can be registered (and closed) at once.
 */
async function negotiateAudioLeg(opts: {
  iceServers: IceServer[];
  track: MediaStreamTrack;
  exchange: (offerSdp: string) => Promise<string>;
  onCreated: (pc: RTCPeerConnection) => void;
  onRemote: (stream: MediaStream) => void;
  isClosed: () => boolean;
}): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection(rtcConfig(opts.iceServers));
  opts.onCreated(pc);
  pc.ontrack = (e) => opts.onRemote(streamOf(e));
  pc.addTransceiver(opts.track, { direction: 'sendrecv', streams: [new MediaStream([opts.track])] });
  await pc.setLocalDescription(await pc.createOffer());
  await gatherIce(pc);
  if (opts.isClosed()) throw new CallClosedError();
  const answer = await opts.exchange(localSdp(pc));
  if (opts.isClosed()) throw new CallClosedError();
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return pc;
}

// ---- test hook ------------------------------------------------------------------------------

/** The live connections of one task, for browser tests (getStats()). Mutated in place. */
export interface CallPeers {
  kind: 'call' | 'monitor';
  taskId: string;
  /** The session's state (CallState or MonitorState). */
  state: string;
  main: RTCPeerConnection | null;
  coach: RTCPeerConnection | null;
  publishers: Map<VideoSource, RTCPeerConnection>;
  /** Keyed by feed id. */
  subscribers: Map<string, RTCPeerConnection>;
}

declare global {
  interface Window {
    /** taskId → live peer connections; entries are removed when their session closes. */
    __mccsCalls?: Map<string, CallPeers>;
  }
}

function registry(): Map<string, CallPeers> {
  return (window.__mccsCalls ??= new Map());
}

function newPeers(kind: CallPeers['kind'], taskId: string, state: string): CallPeers {
  const peers: CallPeers = { kind, taskId, state, main: null, coach: null, publishers: new Map(), subscribers: new Map() };
  registry().set(taskId, peers);
  return peers;
}

function unregister(peers: CallPeers): void {
  const reg = registry();
  if (reg.get(peers.taskId) === peers) reg.delete(peers.taskId);
}

// ---- the call of a customer or agent --------------------------------------------------------

/** What a CallSession asks of the server for its task (bound to a socket by mediaSignal()). */
export interface CallSignal {
  join(sdp: string, mix: 'main' | 'coach'): Promise<{ sdp: string }>;
  publish(source: VideoSource, sdp: string): Promise<{ feedId: string; sdp: string }>;
  unpublish(feedId: string): Promise<unknown>;
  subscribe(feedId: string): Promise<{ subscriptionId: string; sdp: string }>;
  answer(subscriptionId: string, sdp: string): Promise<unknown>;
  mute(muted: boolean): Promise<unknown>;
  hangup(): Promise<unknown>;
  /** Agent of the conversation only: puts the customer on hold or takes the call back. */
  hold?(held: boolean): Promise<HoldState>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type MediaSocket = Socket<any, MediaClientToServer>;

/** The media events of the /customer and /agent namespaces, for one task. */
export function mediaSignal(socket: MediaSocket, taskId: string): CallSignal {
  return {
    join: (sdp, mix) => request(socket, 'media:join', mix === 'coach' ? { taskId, sdp, mix } : { taskId, sdp }),
    publish: (source, sdp) => request(socket, 'media:publish', { taskId, source, sdp }),
    unpublish: (feedId) => request(socket, 'media:unpublish', { taskId, feedId }),
    subscribe: (feedId) => request(socket, 'media:subscribe', { taskId, feedId }),
    answer: (subscriptionId, sdp) => request(socket, 'media:answer', { taskId, subscriptionId, sdp }),
    mute: (muted) => request(socket, 'media:mute', { taskId, muted }),
    hangup: () => request(socket, 'media:hangup', { taskId }),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AgentMediaSocket = Socket<any, MediaClientToServer & AgentMediaClientToServer>;

/** The agent's own conversation: the media events plus hold. */
export function agentMediaSignal(socket: AgentMediaSocket, taskId: string): CallSignal {
  return { ...mediaSignal(socket, taskId), hold: (held) => request(socket, 'media:hold', { taskId, held }) };
}

/**
 * idle     announced, not joined (the UI offers Join)
 * joining  getting the devices and negotiating the main leg
 * active   the main leg is negotiated (see `connection` for the ICE/DTLS state)
 * failed   joining failed (see `error`); join() may be called again
 * ended    closed; see `endReason`
 */
export type CallState = 'idle' | 'joining' | 'active' | 'failed' | 'ended';
export type CallCloseReason = MediaEndReason | 'left' | 'declined';

export interface VideoTileInfo {
  feedId: string;
  owner: MediaRole;
  source: VideoSource;
  /** Null until the subscription delivers a track. */
  stream: MediaStream | null;
}

export type CallSessionEvents = {
  /** Anything shown by the UI changed. */
  change: [];
  close: [reason: CallCloseReason];
  /** A non-fatal problem (camera unavailable, a feed that could not be shown). */
  warning: [message: string];
};

export interface CallSessionOptions {
  view: MediaView;
  self: Exclude<MediaRole, 'supervisor'>;
  signal: CallSignal;
}

export function createCallSession(opts: CallSessionOptions): CallSession {
  return new CallSession(opts);
}

export class CallSession extends Emitter<CallSessionEvents> {
  readonly taskId: string;
  readonly self: Exclude<MediaRole, 'supervisor'>;
  readonly peers: CallPeers;
  #view: MediaView;
  #signal: CallSignal;
  #state: CallState = 'idle';
  #closed = false;
  #error: string | null = null;
  #endReason: CallCloseReason | null = null;
  #connection: RTCPeerConnectionState = 'new';
  #muted = false;
  #held = false;
  #heldSince: number | null = null;
  #coachWanted = false;
  #mic: MediaStreamTrack | null = null;
  #coachMic: MediaStreamTrack | null = null;
  #remoteAudio: MediaStream | null = null;
  #coachAudio: MediaStream | null = null;
  /** Local video per source, and the feed id the server gave it. */
  #local = new Map<VideoSource, { track: MediaStreamTrack; stream: MediaStream; feedId: string | null }>();
  #pendingLocal = new Set<VideoSource>();
  /** Remote feeds announced (subscribed once joined). */
  #feeds = new Map<string, VideoTileInfo>();
  #busy = new Set<string>();

  /** @private use createCallSession() */
  constructor(opts: CallSessionOptions) {
    super();
    this.taskId = opts.view.taskId;
    this.self = opts.self;
    this.#view = opts.view;
    this.#signal = opts.signal;
    this.peers = newPeers('call', this.taskId, this.#state);
    for (const f of opts.view.feeds) this.#rememberFeed(f);
    this.#held = opts.view.held === true;
    this.#heldSince = opts.view.heldSince ?? null;
  }

  get view(): MediaView {
    return this.#view;
  }
  get video(): boolean {
    return this.#view.video;
  }
  get recording(): boolean {
    return this.#view.recording;
  }
  get startedBy(): MediaRole {
    return this.#view.startedBy;
  }
  get state(): CallState {
    return this.#state;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get error(): string | null {
    return this.#error;
  }
  get endReason(): CallCloseReason | null {
    return this.#endReason;
  }
  /** The main leg's connection state. */
  get connection(): RTCPeerConnectionState {
    return this.#connection;
  }
  get muted(): boolean {
    return this.#muted;
  }
  /** The agent has the customer on hold (neither hears the other; the customer hears music). */
  get held(): boolean {
    return this.#held;
  }
  /** Since when (epoch ms), while held. */
  get heldSince(): number | null {
    return this.#heldSince;
  }
  /** This side may put the call on hold (the agent of the conversation). */
  get canHold(): boolean {
    return typeof this.#signal.hold === 'function';
  }
  /** A supervisor is whispering to this agent. */
  get coaching(): boolean {
    return this.#coachWanted;
  }
  get remoteAudio(): MediaStream | null {
    return this.#remoteAudio;
  }
  get coachAudio(): MediaStream | null {
    return this.#coachAudio;
  }
  /** The local camera/screen previews. */
  localVideo(source: VideoSource): MediaStream | null {
    return this.#local.get(source)?.stream ?? null;
  }
  publishing(source: VideoSource): boolean {
    return this.#local.has(source) || this.#pendingLocal.has(source);
  }
  /** Remote video feeds, in announcement order. */
  get tiles(): VideoTileInfo[] {
    return [...this.#feeds.values()];
  }
  isBusy(what: string): boolean {
    return this.#busy.has(what);
  }

  /** A newer MediaView for the same call (media:ready again, a resume): feeds are merged. */
  update(view: MediaView): void {
    if (this.#closed || view.taskId !== this.taskId) return;
    this.#view = view;
    for (const f of view.feeds) this.addFeed(f);
    if (view.held !== undefined) this.setHeld(view.held, view.heldSince ?? null);
    this.#changed();
  }

  /**
   * The connection to signal through from now on: the one that last announced the call. The widget
   * opens a new one when the customer's profile changes mid-call (an email merge); the media itself
   * does not depend on it and goes on.
   */
  useSignal(signal: CallSignal): void {
    if (this.#closed || signal === this.#signal) return;
    this.#signal = signal;
    this.#changed();
  }

  /** The server says the call is (no longer) on hold: media:hold, or a newer view. */
  setHeld(held: boolean, since: number | null = null): void {
    if (this.#closed) return;
    this.#held = held;
    this.#heldSince = held ? (since ?? this.#heldSince ?? Date.now()) : null;
    this.#changed();
  }

  /** Agent: puts the customer on hold, or takes the call back. */
  async hold(held: boolean): Promise<void> {
    if (this.#closed || !this.canHold || this.#busy.has('hold')) return;
    this.#busy.add('hold');
    this.#changed();
    try {
      const state = await this.#signal.hold!(held);
      this.setHeld(state.held, state.heldSince);
    } catch (err) {
      this.safeEmit('warning', `Could not ${held ? 'put the call on hold' : 'take the call off hold'}: ${errText(err)}`);
    } finally {
      this.#busy.delete('hold');
      this.#changed();
    }
  }

  /** Gets the mic (and camera for a video call) and joins; safe to call again after a failure. */
  async join(): Promise<void> {
    if (this.#closed || this.#state === 'joining' || this.#state === 'active') return;
    this.#error = null;
    this.#setState('joining');
    let camera: MediaStreamTrack | null = null;
    try {
      const support = callSupport();
      if (!support.ok) throw new Error(support.reason);
      const media = await this.#getDevices();
      if (this.#closed) {
        for (const t of media.getTracks()) t.stop();
        throw new CallClosedError();
      }
      this.#mic = media.getAudioTracks()[0] ?? null;
      camera = media.getVideoTracks()[0] ?? null;
      if (!this.#mic) throw new Error('No microphone track.');
      this.#mic.enabled = !this.#muted;
      await negotiateAudioLeg({
        iceServers: this.#view.iceServers,
        track: this.#mic,
        exchange: async (sdp) => (await this.#signal.join(sdp, 'main')).sdp,
        onCreated: (pc) => {
          this.peers.main = pc;
          pc.onconnectionstatechange = () => {
            this.#connection = pc.connectionState;
            this.#changed();
          };
        },
        onRemote: (stream) => {
          this.#remoteAudio = stream;
          this.#changed();
        },
        isClosed: () => this.#closed,
      });
      this.#setState('active');
    } catch (err) {
      camera?.stop();
      if (this.#closed || err instanceof CallClosedError) return;
      this.#releaseLegs();
      this.#error = errText(err);
      this.#setState('failed');
      return;
    }
    // Video and the coach leg follow the audio; their failures do not end the call.
    if (camera) void this.#publish('camera', camera);
    for (const f of this.#feeds.values()) void this.#subscribe(f);
    if (this.#coachWanted) void this.#openCoach();
  }

  /** The mic, and the camera too for a video call (one permission prompt); audio only if the camera fails. */
  async #getDevices(): Promise<MediaStream> {
    const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true };
    if (this.#view.video) {
      try {
        return await navigator.mediaDevices.getUserMedia({ audio, video: CAMERA_CONSTRAINTS });
      } catch (err) {
        const name = err instanceof Error || err instanceof DOMException ? err.name : '';
        if (name === 'NotAllowedError' || name === 'SecurityError') throw new Error(describeMediaError(err, 'microphone'));
        this.safeEmit('warning', `Joining without video: ${describeMediaError(err, 'camera')}`);
      }
    }
    try {
      return await navigator.mediaDevices.getUserMedia({ audio });
    } catch (err) {
      throw new Error(describeMediaError(err, 'microphone'));
    }
  }

  /** The other party will not join now: ends the call for everyone (a chat goes on). */
  async decline(): Promise<void> {
    await this.#hangup('declined');
  }

  /** Ends the call for everyone. */
  async hangup(): Promise<void> {
    await this.#hangup('hangup');
  }

  async #hangup(reason: CallCloseReason): Promise<void> {
    if (this.#closed) return;
    this.#busy.add('hangup');
    this.#changed();
    try {
      await this.#signal.hangup();
    } catch (err) {
      // The local side is torn down regardless; the server ends the call when the legs drop.
      console.warn('media:hangup failed', err);
    } finally {
      this.close(reason);
    }
  }

  async setMuted(muted: boolean): Promise<void> {
    if (this.#closed) return;
    const before = this.#muted;
    this.#muted = muted;
    if (this.#mic) this.#mic.enabled = !muted; // locally first: muting never waits for the server
    this.#changed();
    if (this.#state !== 'active') return;
    try {
      await this.#signal.mute(muted);
    } catch (err) {
      if (!muted) {
        // The server still has us muted: show that.
        this.#muted = before;
        if (this.#mic) this.#mic.enabled = !before;
      }
      this.safeEmit('warning', `Could not ${muted ? 'mute' : 'unmute'}: ${errText(err)}`);
      this.#changed();
    }
  }

  /** Agent: a supervisor starts (or stops) whispering. */
  setCoach(active: boolean): void {
    if (this.#closed || this.#coachWanted === active) return;
    this.#coachWanted = active;
    this.#changed();
    if (!active) this.#closeCoach();
    else if (this.#state === 'active') void this.#openCoach();
  }

  async #openCoach(): Promise<void> {
    if (this.peers.coach || !this.#mic) return;
    // The agent's mic is muted in the coach mix by the server; the leg still carries a (silent) track.
    const track = this.#mic.clone();
    track.enabled = false;
    this.#coachMic = track;
    let mine: RTCPeerConnection | null = null;
    try {
      await negotiateAudioLeg({
        iceServers: this.#view.iceServers,
        track,
        exchange: async (sdp) => (await this.#signal.join(sdp, 'coach')).sdp,
        onCreated: (pc) => {
          mine = pc;
          this.peers.coach = pc;
        },
        onRemote: (stream) => {
          if (this.peers.coach !== mine) return;
          this.#coachAudio = stream;
          this.#changed();
        },
        isClosed: () => this.#closed || !this.#coachWanted || this.peers.coach !== mine,
      });
    } catch (err) {
      // Only this attempt's leg is closed: a newer one may have started meanwhile.
      if (this.peers.coach === mine) this.#closeCoach();
      else {
        closePc(mine);
        track.stop();
      }
      if (!this.#closed && !(err instanceof CallClosedError)) {
        this.safeEmit('warning', `Could not connect the supervisor's whisper: ${errText(err)}`);
      }
    }
    this.#changed();
  }

  #closeCoach(): void {
    closePc(this.peers.coach);
    this.peers.coach = null;
    this.#coachMic?.stop();
    this.#coachMic = null;
    this.#coachAudio = null;
    this.#changed();
  }

  startCamera(): Promise<void> {
    return this.#publish('camera');
  }
  stopCamera(): Promise<void> {
    return this.#unpublish('camera');
  }
  /** Agent: shares a screen, window or tab as a second video feed. */
  startScreenShare(): Promise<void> {
    return this.#publish('screen');
  }
  stopScreenShare(): Promise<void> {
    return this.#unpublish('screen');
  }

  async #publish(source: VideoSource, given?: MediaStreamTrack): Promise<void> {
    if (this.#closed || this.#state !== 'active' || this.publishing(source)) {
      given?.stop();
      return;
    }
    this.#pendingLocal.add(source);
    this.#changed();
    let track: MediaStreamTrack | null = given ?? null;
    try {
      if (!track) {
        let media: MediaStream;
        try {
          media =
            source === 'camera'
              ? await navigator.mediaDevices.getUserMedia({ video: CAMERA_CONSTRAINTS })
              : await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        } catch (err) {
          throw new Error(describeMediaError(err, source));
        }
        track = media.getVideoTracks()[0] ?? null;
      }
      if (!track) throw new Error(`No ${source} track.`);
      if (this.#closed) throw new CallClosedError();
      const stream = new MediaStream([track]);
      const entry = { track, stream, feedId: null as string | null };
      this.#local.set(source, entry);
      // The browser's own "Stop sharing" (or an unplugged camera) ends the track.
      track.addEventListener('ended', () => {
        if (this.#local.get(source) === entry) void this.#unpublish(source);
      });
      const pc = new RTCPeerConnection(rtcConfig(this.#view.iceServers));
      this.peers.publishers.set(source, pc);
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await gatherIce(pc);
      if (this.#closed || this.#local.get(source) !== entry) throw new CallClosedError();
      const reply = await this.#signal.publish(source, localSdp(pc));
      entry.feedId = reply.feedId;
      if (this.#closed || this.#local.get(source) !== entry) {
        // Stopped meanwhile: tell the server, which now has the feed.
        void this.#signal.unpublish(reply.feedId).catch(() => undefined);
        throw new CallClosedError();
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    } catch (err) {
      const current = this.#local.get(source);
      if (current && current.track === track) this.#dropLocal(source);
      else track?.stop();
      if (!(err instanceof CallClosedError) && !this.#closed) {
        this.safeEmit('warning', source === 'camera' ? `Your camera is off: ${errText(err)}` : `Screen sharing stopped: ${errText(err)}`);
      }
    } finally {
      this.#pendingLocal.delete(source);
      this.#changed();
    }
  }

  async #unpublish(source: VideoSource): Promise<void> {
    const entry = this.#local.get(source);
    if (!entry) return;
    const feedId = entry.feedId;
    this.#dropLocal(source);
    this.#changed();
    if (feedId && !this.#closed) {
      try {
        await this.#signal.unpublish(feedId);
      } catch (err) {
        console.warn('media:unpublish failed', err);
      }
    }
  }

  #dropLocal(source: VideoSource): void {
    const entry = this.#local.get(source);
    entry?.track.stop();
    this.#local.delete(source);
    closePc(this.peers.publishers.get(source));
    this.peers.publishers.delete(source);
  }

  /** A feed was published (media:ready feeds or media:feed); the other party's feeds are shown. */
  addFeed(feed: MediaFeed): void {
    if (this.#closed) return;
    const info = this.#rememberFeed(feed);
    if (info && this.#state === 'active') void this.#subscribe(info);
  }

  #rememberFeed(feed: MediaFeed): VideoTileInfo | null {
    if (feed.owner === this.self || this.#feeds.has(feed.feedId)) return null;
    const info: VideoTileInfo = { feedId: feed.feedId, owner: feed.owner, source: feed.source, stream: null };
    this.#feeds.set(feed.feedId, info);
    this.#changed();
    return info;
  }

  /** media:feed-ended: a remote tile goes, or the server ended one of our own feeds. */
  removeFeed(feedId: string): void {
    if (this.#closed) return;
    for (const [source, entry] of this.#local) {
      if (entry.feedId === feedId) {
        this.#dropLocal(source);
        this.#changed();
      }
    }
    if (!this.#feeds.delete(feedId)) return;
    closePc(this.peers.subscribers.get(feedId));
    this.peers.subscribers.delete(feedId);
    this.#changed();
  }

  async #subscribe(info: VideoTileInfo): Promise<void> {
    const { feedId } = info;
    if (this.peers.subscribers.has(feedId)) return;
    const pc = new RTCPeerConnection(rtcConfig(this.#view.iceServers));
    this.peers.subscribers.set(feedId, pc);
    const gone = () => this.#closed || this.peers.subscribers.get(feedId) !== pc;
    pc.ontrack = (e) => {
      const tile = this.#feeds.get(feedId);
      if (tile) {
        tile.stream = streamOf(e);
        this.#changed();
      }
    };
    try {
      const offer = await this.#signal.subscribe(feedId);
      if (gone()) throw new CallClosedError();
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gatherIce(pc);
      if (gone()) throw new CallClosedError();
      await this.#signal.answer(offer.subscriptionId, localSdp(pc));
    } catch (err) {
      if (err instanceof CallClosedError || gone()) return;
      closePc(pc);
      this.peers.subscribers.delete(feedId);
      this.safeEmit('warning', `Could not show the ${info.source === 'screen' ? 'shared screen' : 'video'}: ${errText(err)}`);
      this.#changed();
    }
  }

  /** Tears down every leg and releases the devices. Idempotent. */
  close(reason: CallCloseReason = 'left'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endReason = reason;
    this.#releaseLegs();
    this.#feeds.clear();
    this.#state = 'ended';
    this.peers.state = 'ended';
    unregister(this.peers);
    this.safeEmit('change');
    this.safeEmit('close', reason);
    this.removeAllListeners();
  }

  #releaseLegs(): void {
    for (const source of [...this.#local.keys()]) this.#dropLocal(source);
    for (const pc of this.peers.publishers.values()) closePc(pc);
    this.peers.publishers.clear();
    for (const pc of this.peers.subscribers.values()) closePc(pc);
    this.peers.subscribers.clear();
    for (const f of this.#feeds.values()) f.stream = null;
    closePc(this.peers.coach);
    this.peers.coach = null;
    closePc(this.peers.main);
    this.peers.main = null;
    this.#coachMic?.stop();
    this.#coachMic = null;
    this.#mic?.stop();
    this.#mic = null;
    this.#remoteAudio = null;
    this.#coachAudio = null;
    this.#connection = 'closed';
  }

  #setState(state: CallState): void {
    this.#state = state;
    this.peers.state = state;
    this.#changed();
  }

  #changed(): void {
    if (!this.#closed) this.safeEmit('change');
  }
}

function errText(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return `${err.message} (${(err as { code: string }).code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

// ---- a supervisor monitoring a call ---------------------------------------------------------

export interface MonitorSignal {
  join(sdp: string): Promise<{ sdp: string; iceServers: IceServer[] }>;
  mode(mode: MonitorMode): Promise<unknown>;
  coach(sdp: string): Promise<{ sdp: string }>;
  leave(): Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SupervisorSocket = Socket<any, SupervisorClientToServer>;

export function monitorSignal(socket: SupervisorSocket, taskId: string): MonitorSignal {
  return {
    join: (sdp) => request(socket, 'monitor:join', { taskId, sdp }),
    mode: (mode) => request(socket, 'monitor:mode', { taskId, mode }),
    coach: (sdp) => request(socket, 'monitor:coach', { taskId, sdp }),
    leave: () => request(socket, 'monitor:leave', { taskId }),
  };
}

/** joining → active (mode listen/whisper/barge) → ended; failed when joining failed. */
export type MonitorState = 'joining' | 'active' | 'failed' | 'ended';

export type MonitorSessionEvents = {
  change: [];
  close: [reason: MediaEndReason | 'left'];
  warning: [message: string];
};

export interface MonitorSessionOptions {
  taskId: string;
  /** Known before the first leg (GET /api/media/ice-servers); replaced by monitor:join's. */
  iceServers: IceServer[];
  signal: MonitorSignal;
}

export function createMonitorSession(opts: MonitorSessionOptions): MonitorSession {
  return new MonitorSession(opts);
}

export class MonitorSession extends Emitter<MonitorSessionEvents> {
  readonly taskId: string;
  readonly peers: CallPeers;
  readonly #signal: MonitorSignal;
  #iceServers: IceServer[];
  #state: MonitorState = 'joining';
  #mode: MonitorMode = 'listen';
  #closed = false;
  #error: string | null = null;
  #busy = false;
  #connection: RTCPeerConnectionState = 'new';
  #mic: MediaStreamTrack | null = null;
  #coachMic: MediaStreamTrack | null = null;
  #remoteAudio: MediaStream | null = null;

  /** @private use createMonitorSession() */
  constructor(opts: MonitorSessionOptions) {
    super();
    this.taskId = opts.taskId;
    this.#signal = opts.signal;
    this.#iceServers = opts.iceServers;
    this.peers = newPeers('monitor', this.taskId, this.#state);
  }

  get state(): MonitorState {
    return this.#state;
  }
  get mode(): MonitorMode {
    return this.#mode;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get error(): string | null {
    return this.#error;
  }
  get busy(): boolean {
    return this.#busy;
  }
  get connection(): RTCPeerConnectionState {
    return this.#connection;
  }
  get remoteAudio(): MediaStream | null {
    return this.#remoteAudio;
  }

  /** Joins the call's main mix, muted by the server (listen). */
  async listen(): Promise<void> {
    if (this.#closed || this.peers.main) return;
    this.#state = 'joining';
    this.#error = null;
    this.#sync();
    try {
      const support = callSupport();
      if (!support.ok) throw new Error(support.reason);
      let media: MediaStream;
      try {
        media = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
      } catch (err) {
        throw new Error(describeMediaError(err, 'microphone'));
      }
      this.#mic = media.getAudioTracks()[0] ?? null;
      if (!this.#mic) throw new Error('No microphone track.');
      if (this.#closed) throw new CallClosedError();
      // Silent on our side too until barge: the server mutes the leg, this makes sure.
      this.#mic.enabled = false;
      await negotiateAudioLeg({
        iceServers: this.#iceServers,
        track: this.#mic,
        exchange: async (sdp) => {
          const reply = await this.#signal.join(sdp);
          if (reply.iceServers.length > 0) this.#iceServers = reply.iceServers;
          return reply.sdp;
        },
        onCreated: (pc) => {
          this.peers.main = pc;
          pc.onconnectionstatechange = () => {
            this.#connection = pc.connectionState;
            this.#sync();
          };
        },
        onRemote: (stream) => {
          this.#remoteAudio = stream;
          this.#sync();
        },
        isClosed: () => this.#closed,
      });
      this.#mode = 'listen';
      this.#state = 'active';
      this.#sync();
    } catch (err) {
      if (this.#closed || err instanceof CallClosedError) return;
      closePc(this.peers.main);
      this.peers.main = null;
      this.#mic?.stop();
      this.#mic = null;
      this.#error = err instanceof Error ? errText(err) : String(err);
      this.#state = 'failed';
      this.#sync();
    }
  }

  /** listen ⇄ whisper ⇄ barge. Whisper adds the coach leg; the others close it. */
  async setMode(mode: MonitorMode): Promise<void> {
    if (this.#closed || this.#busy) return;
    if (this.#state !== 'active') await this.listen();
    if (this.#closed || this.#state !== 'active' || this.#mode === mode) return;
    this.#busy = true;
    this.#sync();
    try {
      await this.#signal.mode(mode);
      if (this.#closed) return;
      this.#mode = mode;
      if (this.#mic) this.#mic.enabled = mode === 'barge';
      if (mode === 'whisper') await this.#openCoach();
      else this.#closeCoach();
    } catch (err) {
      if (!(err instanceof CallClosedError) && !this.#closed) this.safeEmit('warning', `Could not switch to ${mode}: ${errText(err)}`);
    } finally {
      this.#busy = false;
      this.#sync();
    }
  }

  async #openCoach(): Promise<void> {
    if (this.peers.coach || !this.#mic) return;
    const track = this.#mic.clone();
    track.enabled = true;
    this.#coachMic = track;
    try {
      // What the coach mix sends back (the agent, muted there) is not played: the main leg carries the call.
      await negotiateAudioLeg({
        iceServers: this.#iceServers,
        track,
        exchange: async (sdp) => (await this.#signal.coach(sdp)).sdp,
        onCreated: (pc) => {
          this.peers.coach = pc;
        },
        onRemote: () => undefined,
        isClosed: () => this.#closed || this.#mode !== 'whisper',
      });
    } catch (err) {
      this.#closeCoach();
      throw err;
    }
  }

  #closeCoach(): void {
    closePc(this.peers.coach);
    this.peers.coach = null;
    this.#coachMic?.stop();
    this.#coachMic = null;
  }

  /** Stops monitoring (monitor:leave) and closes the legs. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#busy = true;
    this.#sync();
    try {
      await this.#signal.leave();
    } catch (err) {
      console.warn('monitor:leave failed', err);
    } finally {
      this.close('left');
    }
  }

  close(reason: MediaEndReason | 'left' = 'left'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeCoach();
    closePc(this.peers.main);
    this.peers.main = null;
    this.#mic?.stop();
    this.#mic = null;
    this.#remoteAudio = null;
    this.#connection = 'closed';
    this.#state = 'ended';
    this.peers.state = 'ended';
    unregister(this.peers);
    this.safeEmit('change');
    this.safeEmit('close', reason);
    this.removeAllListeners();
  }

  #sync(): void {
    this.peers.state = this.#state === 'active' ? this.#mode : this.#state;
    if (!this.#closed) this.safeEmit('change');
  }
}
