// A session's media on one Janus node: AudioBridge rooms for the main and coach mixes (created on
// demand), a hold mix where a leg on hold waits (AudioBridge `changeroom`: the same PeerConnection or
// RTP path, out of the call; Janus 1.1 has no per-participant "deafen"), a VideoRoom for video calls,
// and one plugin handle per leg, feed and subscription that this process holds. Rooms are named by the session id (string_ids in our Janus config), so any
// server process can join legs to a room another one created.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { TypedEmitter } from '../../lib/typed-emitter.js';
import type {
  AudioMix,
  MediaRoom,
  RecordingFile,
  RoomEvents,
  RtpJoin,
  RtpLegInfo,
  VideoPublish,
  VideoSubscription,
  WebrtcJoin,
} from '../engine.js';
import { JanusPluginError, type PluginHandle, type PluginName } from './plugin-handle.js';

/** What a room needs from its node; the node is never handed over whole (style: children never hold their parent). */
export interface RoomNodeContext {
  nodeId: string;
  /** A new handle for one leg, feed or subscription. */
  attach(plugin: PluginName): Promise<PluginHandle>;
  /** The node's shared handle for room-level requests (create, destroy, mute, kick). */
  control(plugin: PluginName): Promise<PluginHandle>;
  /** Called once the room is destroyed, so the node forgets it. */
  forget(sessionId: string): void;
}

/** Janus error codes we treat as "already so" rather than failures. */
const AUDIOBRIDGE_NO_SUCH_ROOM = 485;
const AUDIOBRIDGE_ROOM_EXISTS = 486;
const AUDIOBRIDGE_NO_SUCH_USER = 492;
const AUDIOBRIDGE_ID_EXISTS = 491;
const VIDEOROOM_NO_SUCH_ROOM = 426;
const VIDEOROOM_ROOM_EXISTS = 427;
const VIDEOROOM_ID_EXISTS = 436;

/** Wide-band mixing: Opus browsers sound better than at 8 kHz; Janus resamples phone legs (G.711). */
const MIX_SAMPLING_RATE = 16_000;

/** The main and coach mixes, and the hold mix (ours only: nobody joins it, a held leg is moved there). */
type Mix = AudioMix | 'hold';

interface Leg {
  handle: PluginHandle;
  mix: AudioMix;
  display: string;
  /** Its own mute state (the agent's mute button), restored when it comes back from hold. */
  muted: boolean;
  held: boolean;
}

export interface JanusRoomOptions {
  sessionId: string;
  video: boolean;
  recordDir?: string;
}

export class JanusRoom extends TypedEmitter<RoomEvents> implements MediaRoom {
  readonly sessionId: string;
  readonly video: boolean;
  readonly #ctx: RoomNodeContext;
  #recordDir: string | undefined;
  readonly #legs = new Map<string, Leg>();
  readonly #feeds = new Map<string, PluginHandle>();
  readonly #subscriptions = new Map<string, PluginHandle>();
  #coach: Promise<void> | undefined;
  #hold: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  /** Creates the rooms on Janus (main mix, and the video room for video calls). */
  static async create(ctx: RoomNodeContext, opts: JanusRoomOptions): Promise<JanusRoom> {
    const room = new JanusRoom(ctx, opts);
    try {
      await room.#createMix('main');
      if (opts.video) await room.#createVideoRoom();
    } catch (err) {
      await room.destroy();
      throw err;
    }
    return room;
  }

  /** A room another process created; nothing is created on Janus. */
  static open(ctx: RoomNodeContext, opts: JanusRoomOptions): JanusRoom {
    return new JanusRoom(ctx, opts);
  }

  private constructor(ctx: RoomNodeContext, opts: JanusRoomOptions) {
    super();
    this.#ctx = ctx;
    this.sessionId = opts.sessionId;
    this.video = opts.video;
    this.#recordDir = opts.recordDir;
  }

  get nodeId(): string {
    return this.#ctx.nodeId;
  }
  get destroyed(): boolean {
    return this.#destroying !== undefined;
  }

  legIds(): string[] {
    return [...this.#legs.keys()];
  }
  feedIds(): string[] {
    return [...this.#feeds.keys()];
  }

  async joinWebrtc(join: WebrtcJoin): Promise<{ answerSdp: string }> {
    this.#assertLive();
    if (join.mix === 'coach') await this.#ensureCoach();
    const body = { request: 'join', room: this.#mixRoom(join.mix), id: join.legId, display: join.display, muted: join.muted };
    const { handle, reply } = await this.#joinWithRetry('janus.plugin.audiobridge', join.legId, body, { type: 'offer', sdp: join.offerSdp });
    if (!reply.jsep || reply.jsep.type !== 'answer') {
      await handle.detach();
      throw new JanusPluginError(0, 'AudioBridge joined without an SDP answer');
    }
    this.#adoptLeg(join.legId, { handle, mix: join.mix, display: join.display, muted: join.muted, held: false });
    return { answerSdp: reply.jsep.sdp };
  }

  async joinRtp(join: RtpJoin): Promise<RtpLegInfo> {
    this.#assertLive();
    const mix = join.mix ?? 'main';
    if (mix === 'coach') await this.#ensureCoach();
    const body = {
      request: 'join',
      room: this.#mixRoom(mix),
      id: join.legId,
      display: join.display,
      muted: join.muted ?? false,
      codec: join.codec,
      rtp: { ip: join.remote.ip, port: join.remote.port, payload_type: join.payloadType ?? (join.codec === 'pcmu' ? 0 : 8) },
    };
    const { handle, reply } = await this.#joinWithRetry('janus.plugin.audiobridge', join.legId, body);
    const rtp = reply.data.rtp as { ip?: unknown; port?: unknown } | undefined;
    if (!rtp || typeof rtp.ip !== 'string' || typeof rtp.port !== 'number') {
      await handle.detach();
      throw new JanusPluginError(0, 'AudioBridge joined a plain-RTP leg without telling where to send');
    }
    this.#adoptLeg(join.legId, { handle, mix, display: join.display, muted: join.muted ?? false, held: false });
    return { legId: join.legId, local: { ip: rtp.ip, port: rtp.port } };
  }

  async setMuted(legId: string, muted: boolean): Promise<void> {
    this.#assertLive();
    const leg = this.#legs.get(legId);
    if (leg) leg.muted = muted;
    // On hold the leg is muted in the hold mix anyway; its own state applies when it comes back.
    if (leg?.held) return;
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    await control.request({ request: muted ? 'mute' : 'unmute', room: this.#mixRoom(leg?.mix ?? 'main'), id: legId });
  }

  async setHeld(legId: string, held: boolean): Promise<void> {
    this.#assertLive();
    const leg = this.#legs.get(legId);
    if (!leg) {
      // changeroom is a request on the participant's own handle, which another process holds.
      const control = await this.#ctx.control('janus.plugin.audiobridge');
      // Muted at once, so nobody hears it; the process holding it moves it out of the call when it
      // hears of the hold (calls/cluster-hold.ts). Not in the call (yet): a leg that joins later is
      // held by its owner.
      await control.request({ request: held ? 'mute' : 'unmute', room: this.#mixRoom('main'), id: legId }).catch(alreadyOk(AUDIOBRIDGE_NO_SUCH_USER));
      return;
    }
    if (leg.mix !== 'main') throw new TypeError(`only a leg of the main mix is put on hold, not ${legId}`);
    if (leg.held === held) return;
    if (held) await this.#ensureHoldMix();
    await leg.handle.request({
      request: 'changeroom',
      room: this.#mixRoom(held ? 'hold' : 'main'),
      id: legId,
      display: leg.display,
      muted: held || leg.muted,
    });
    leg.held = held;
  }

  async leave(legId: string): Promise<void> {
    const leg = this.#legs.get(legId);
    if (leg) {
      this.#legs.delete(legId);
      await leg.handle.detach();
      return;
    }
    // Held by another server process (or already gone): remove it on Janus itself.
    const control = await this.#ctx.control('janus.plugin.audiobridge').catch(() => undefined);
    for (const mix of ['main', 'coach', 'hold'] as const) {
      await control?.request({ request: 'kick', room: this.#mixRoom(mix), id: legId }).catch(() => undefined);
    }
  }

  async publishVideo(publish: VideoPublish): Promise<{ answerSdp: string }> {
    this.#assertLive();
    if (!this.video) throw new TypeError('not a video session');
    const body: Record<string, unknown> = {
      request: 'joinandconfigure',
      room: this.sessionId,
      ptype: 'publisher',
      id: publish.feedId,
      display: publish.display,
      audio: false,
      video: true,
    };
    if (this.#recordDir) {
      body.record = true;
      // Relative to the room's rec_dir: Janus refuses an absolute filename when the room has one.
      body.filename = `${this.sessionId}-${publish.feedId}`;
    }
    const { handle, reply } = await this.#joinWithRetry('janus.plugin.videoroom', publish.feedId, body, { type: 'offer', sdp: publish.offerSdp });
    if (!reply.jsep || reply.jsep.type !== 'answer') {
      await handle.detach();
      throw new JanusPluginError(0, 'VideoRoom published without an SDP answer');
    }
    await this.#feeds.get(publish.feedId)?.detach(); // a re-publish replaces the old feed
    this.#feeds.set(publish.feedId, handle);
    // VideoRoom offers a feed to subscribers only once its publisher's media is up.
    handle.on('webrtcup', () => {
      if (this.#feeds.get(publish.feedId) === handle && !this.destroyed) this.safeEmit('feed:up', publish.feedId);
    });
    handle.on('hangup', (reason) => {
      if (this.#feeds.get(publish.feedId) !== handle || this.destroyed) return;
      this.#feeds.delete(publish.feedId);
      void handle.detach();
      this.safeEmit('feed:lost', publish.feedId, reason);
    });
    return { answerSdp: reply.jsep.sdp };
  }

  async unpublishVideo(feedId: string): Promise<void> {
    const handle = this.#feeds.get(feedId);
    this.#feeds.delete(feedId);
    await handle?.detach();
  }

  async subscribeVideo(subscriptionId: string, feedId: string): Promise<VideoSubscription> {
    this.#assertLive();
    if (!this.video) throw new TypeError('not a video session');
    await this.unsubscribeVideo(subscriptionId); // a re-subscribe (after a reload) starts afresh
    const handle = await this.#ctx.attach('janus.plugin.videoroom');
    try {
      const reply = await handle.request({ request: 'join', room: this.sessionId, ptype: 'subscriber', streams: [{ feed: feedId }] });
      if (!reply.jsep || reply.jsep.type !== 'offer') throw new JanusPluginError(0, 'VideoRoom subscription without an SDP offer');
      this.#subscriptions.set(subscriptionId, handle);
      return { subscriptionId, offerSdp: reply.jsep.sdp };
    } catch (err) {
      await handle.detach();
      throw err;
    }
  }

  async startSubscription(subscriptionId: string, answerSdp: string): Promise<void> {
    this.#assertLive();
    const handle = this.#subscriptions.get(subscriptionId);
    if (!handle) throw new TypeError(`no subscription ${subscriptionId}`);
    await handle.request({ request: 'start' }, { type: 'answer', sdp: answerSdp });
  }

  async unsubscribeVideo(subscriptionId: string): Promise<void> {
    const handle = this.#subscriptions.get(subscriptionId);
    this.#subscriptions.delete(subscriptionId);
    await handle?.detach();
  }

  async startRecording(dir: string): Promise<void> {
    this.#assertLive();
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    await control.request({ request: 'enable_recording', room: this.#mixRoom('main'), record: true, record_file: path.join(dir, this.#mixFileName()) });
    this.#recordDir = dir;
  }

  async exists(): Promise<boolean> {
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    const reply = await control.request({ request: 'exists', room: this.#mixRoom('main') });
    return reply.data.exists === true;
  }

  // ---- announcements (SIP bridge; proposed for MediaRoom as playFile/stopFile) -----------------------

  /**
   * Plays an Ogg/Opus file (a path the media server can read) into the main mix, for everyone in it:
   * greetings, position announcements, music on hold. Resolves with the file id once it plays.
   */
  async playFile(file: { path: string; loop?: boolean; fileId?: string }): Promise<string> {
    this.#assertLive();
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    const fileId = file.fileId ?? `file-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    await control.request({ request: 'play_file', room: this.#mixRoom('main'), file_id: fileId, filename: file.path, loop: file.loop ?? false });
    return fileId;
  }

  /** Stops a file playFile started; one that already ended (or an unknown id) is ignored. */
  async stopFile(fileId: string): Promise<void> {
    if (this.destroyed) return;
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    await control.request({ request: 'stop_file', room: this.#mixRoom('main'), file_id: fileId }).catch(() => undefined);
  }

  async recordingFiles(): Promise<RecordingFile[]> {
    const dir = this.#recordDir;
    if (!dir) return [];
    const names = await readdir(dir).catch(() => [] as string[]);
    const files: RecordingFile[] = [];
    for (const name of names.sort()) {
      if (name === this.#mixFileName()) files.push({ kind: 'audio-mix', path: path.join(dir, name) });
      else if (name.startsWith(`${this.sessionId}-`) && name.endsWith('.mjr')) {
        // VideoRoom names a stream's file <filename>-video-<mid>.mjr; the feed id sits between.
        const feedId = name.slice(this.sessionId.length + 1).replace(/-video-\d+\.mjr$/, '').replace(/\.mjr$/, '');
        files.push({ kind: 'video-feed', path: path.join(dir, name), feedId });
      }
    }
    return files;
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      const handles = [...this.#legs.values()].map((l) => l.handle).concat([...this.#feeds.values()], [...this.#subscriptions.values()]);
      this.#legs.clear();
      this.#feeds.clear();
      this.#subscriptions.clear();
      await Promise.all(handles.map((h) => h.detach()));
      // Whoever destroys first wins; the others find the rooms gone, which is what they wanted.
      await Promise.all([
        this.#destroyRoom('janus.plugin.audiobridge', this.#mixRoom('main'), AUDIOBRIDGE_NO_SUCH_ROOM),
        this.#destroyRoom('janus.plugin.audiobridge', this.#mixRoom('coach'), AUDIOBRIDGE_NO_SUCH_ROOM),
        this.#destroyRoom('janus.plugin.audiobridge', this.#mixRoom('hold'), AUDIOBRIDGE_NO_SUCH_ROOM),
        this.video ? this.#destroyRoom('janus.plugin.videoroom', this.sessionId, VIDEOROOM_NO_SUCH_ROOM) : undefined,
      ]);
      this.#ctx.forget(this.sessionId);
      this.removeAllListeners();
    })();
    return this.#destroying;
  }

  // ---- internals ---------------------------------------------------------------------------------

  #assertLive(): void {
    if (this.destroyed) throw new TypeError(`media session ${this.sessionId} has ended`);
  }

  #mixRoom(mix: Mix): string {
    return mix === 'main' ? this.sessionId : `${this.sessionId}-${mix}`;
  }

  #mixFileName(): string {
    return `${this.sessionId}-mix.wav`;
  }

  async #createMix(mix: Mix): Promise<void> {
    const control = await this.#ctx.control('janus.plugin.audiobridge');
    const body: Record<string, unknown> = {
      request: 'create',
      room: this.#mixRoom(mix),
      // Listed, so the node's load poll (request 'list') counts its participants; only we talk to Janus.
      is_private: false,
      sampling_rate: MIX_SAMPLING_RATE,
      allow_rtp_participants: true,
      audiolevel_event: false,
    };
    // Only the main mix is the call; the coach mix is the supervisor's side channel.
    if (mix === 'main' && this.#recordDir) {
      body.record = true;
      body.record_file = path.join(this.#recordDir, this.#mixFileName());
    }
    await control.request(body).catch(alreadyOk(AUDIOBRIDGE_ROOM_EXISTS));
  }

  #ensureCoach(): Promise<void> {
    this.#coach ??= this.#createMix('coach').catch((err: unknown) => {
      this.#coach = undefined;
      throw err;
    });
    return this.#coach;
  }

  #ensureHoldMix(): Promise<void> {
    this.#hold ??= this.#createMix('hold').catch((err: unknown) => {
      this.#hold = undefined;
      throw err;
    });
    return this.#hold;
  }

  async #createVideoRoom(): Promise<void> {
    const control = await this.#ctx.control('janus.plugin.videoroom');
    const body: Record<string, unknown> = {
      request: 'create',
      room: this.sessionId,
      is_private: false,
      publishers: 6, // customer + agent cameras, a screen, a third party
      videocodec: 'vp8',
      bitrate: 1_024_000,
      notify_joining: false,
    };
    if (this.#recordDir) {
      body.record = true;
      body.rec_dir = this.#recordDir;
    }
    await control.request(body).catch(alreadyOk(VIDEOROOM_ROOM_EXISTS));
  }

  async #destroyRoom(plugin: PluginName, room: string, noSuchRoom: number): Promise<void> {
    try {
      const control = await this.#ctx.control(plugin);
      await control.request({ request: 'destroy', room });
    } catch (err) {
      if (err instanceof JanusPluginError && err.code === noSuchRoom) return;
      // Destroy runs at the end of a call; a failure leaves a room Janus drops at its restart. Not fatal.
    }
  }

  /**
   * Joins with our own participant id. When the id is taken (a browser reload, a leg another process
   * held), the stale participant is kicked and the join tried once more.
   */
  async #joinWithRetry(
    plugin: PluginName,
    id: string,
    body: Record<string, unknown>,
    jsep?: { type: 'offer'; sdp: string },
  ): Promise<{ handle: PluginHandle; reply: Awaited<ReturnType<PluginHandle['request']>> }> {
    const taken = plugin === 'janus.plugin.audiobridge' ? AUDIOBRIDGE_ID_EXISTS : VIDEOROOM_ID_EXISTS;
    await this.#legs.get(id)?.handle.detach();
    this.#legs.delete(id);
    for (let attempt = 0; ; attempt++) {
      const handle = await this.#ctx.attach(plugin);
      try {
        return { handle, reply: await handle.request(body, jsep) };
      } catch (err) {
        await handle.detach();
        if (!(err instanceof JanusPluginError && err.code === taken) || attempt > 0) throw err;
        const control = await this.#ctx.control(plugin);
        await control.request({ request: 'kick', room: body.room, id }).catch(() => undefined);
      }
    }
  }

  #adoptLeg(legId: string, leg: Leg): void {
    this.#legs.set(legId, leg);
    leg.handle.on('webrtcup', () => this.safeEmit('leg:up', legId));
    leg.handle.on('hangup', (reason) => {
      if (this.#legs.get(legId) !== leg || this.destroyed) return;
      this.#legs.delete(legId);
      void leg.handle.detach();
      this.safeEmit('leg:lost', legId, reason);
    });
  }
}

function alreadyOk(code: number): (err: unknown) => void {
  return (err) => {
    if (err instanceof JanusPluginError && err.code === code) return;
    throw err;
  };
}
