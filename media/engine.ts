// The media seam: the rest of the server sees a MediaEngine and MediaRooms, never janode or Janus
// names, so another media server (mediasoup, a SIP media relay) can stand behind the same calls.
//
// A session's media is one "room" with two audio mixes and, for video calls, an SFU room:
//   main   everyone who is in the call (customer, agent, phone legs, a barging supervisor);
//          muted members (a listening supervisor) hear the mix but add nothing to it
//   coach  agent and whispering supervisor only: the agent hears the supervisor, the customer does not
//   hold   where a leg on hold waits, out of the call (created on the first hold)
//   video  camera and screen feeds, published and subscribed one by one
import type { TypedEmitter } from '../lib/typed-emitter.js';

export type MediaEngineState = 'up' | 'down' | 'disabled';

export interface MediaHealth {
  state: MediaEngineState;
  /** Why it is down or disabled, or where it runs; one line, safe to show an operator. */
  detail?: string;
  /** The media server's own version string, when up. */
  version?: string;
}

/** One media server as the registry sees it. */
export interface MediaNodeStatus {
  id: string;
  health: MediaHealth;
  /** Participants (audio legs + video feeds) the node carries now, as the node itself reports them. */
  load: number;
  rooms: number;
}

export type AudioMix = 'main' | 'coach';

export interface RoomOptions {
  /** Our own id for the media session (a UUID); rooms on the media server are named after it. */
  sessionId: string;
  video: boolean;
  /**
   * Record the main mix (and video feeds) into this folder; absent: no recording. The folder must
   * exist and be writable by the media server.
   */
  recordDir?: string;
}

export interface WebrtcJoin {
  /** Our id for the leg; unique within the room (for example `agent-<accountId>`). */
  legId: string;
  mix: AudioMix;
  display: string;
  muted: boolean;
  /** The browser's SDP offer (audio only), with its ICE candidates gathered in. */
  offerSdp: string;
}

export interface RtpJoin {
  legId: string;
  /** Default 'main'. */
  mix?: AudioMix;
  display: string;
  muted?: boolean;
  codec: 'pcmu' | 'pcma';
  /** Where the media server sends this leg's mix. */
  remote: { ip: string; port: number };
  /** RTP payload type the peer expects (0 for PCMU, 8 for PCMA, or a dynamic one). */
  payloadType?: number;
}

export interface RtpLegInfo {
  legId: string;
  /** Where the peer sends its RTP. */
  local: { ip: string; port: number };
}

export type VideoSource = 'camera' | 'screen';

export interface VideoPublish {
  /** Our id for the feed; unique within the room (for example `customer-camera`). */
  feedId: string;
  display: string;
  source: VideoSource;
  /** The browser's SDP offer (video only). */
  offerSdp: string;
}

export interface VideoSubscription {
  subscriptionId: string;
  /** The media server's SDP offer; the browser answers through startSubscription. */
  offerSdp: string;
}

export type RoomEvents = {
  /** A leg's media went away without us asking (ICE failure, closed tab, dead RTP). */
  'leg:lost': [legId: string, reason: string];
  /** A leg's WebRTC (or RTP) path came up: media can flow. */
  'leg:up': [legId: string];
  /** A published video feed is up (its WebRTC path is connected): others can subscribe now. */
  'feed:up': [feedId: string];
  /** A video feed stopped without unpublish (the publisher's connection dropped). */
  'feed:lost': [feedId: string, reason: string];
};

/** The media of one session on one media node. Every method has a time-out; none hangs. */
export interface MediaRoom extends TypedEmitter<RoomEvents> {
  readonly sessionId: string;
  readonly nodeId: string;
  readonly video: boolean;
  /** Janus's answer to the browser's offer; the leg joins the mix muted or not. */
  joinWebrtc(join: WebrtcJoin): Promise<{ answerSdp: string }>;
  /** A plain-RTP participant (phone legs, load generators). */
  joinRtp(join: RtpJoin): Promise<RtpLegInfo>;
  /** Mutes or unmutes a leg in its mix (server side: a muted leg adds nothing, recording included). */
  setMuted(legId: string, muted: boolean): Promise<void>;
  /**
   * Puts a main-mix leg on hold (it leaves the mix: it neither hears the call nor is heard, and waits
   * alone in the session's hold mix) or takes it back into the call with its own mute state.
   * Idempotent. A leg another server process holds can only be muted (it keeps hearing the call).
   */
  setHeld(legId: string, held: boolean): Promise<void>;
  /** Removes a leg, also one another server process holds (kicked on the media server); unknown ids are ignored. */
  leave(legId: string): Promise<void>;
  legIds(): string[];
  publishVideo(publish: VideoPublish): Promise<{ answerSdp: string }>;
  unpublishVideo(feedId: string): Promise<void>;
  feedIds(): string[];
  subscribeVideo(subscriptionId: string, feedId: string): Promise<VideoSubscription>;
  startSubscription(subscriptionId: string, answerSdp: string): Promise<void>;
  unsubscribeVideo(subscriptionId: string): Promise<void>;
  /** Plays an audio file (Ogg/Opus the media server can read) into the main mix; returns its id. */
  playFile(file: { path: string; loop?: boolean; fileId?: string }): Promise<string>;
  /** Stops a file playFile started; one that already ended (or an unknown id) is ignored. */
  stopFile(fileId: string): Promise<void>;
  /** Starts recording the main mix into `dir` now (a room made without recordDir, e.g. a phone call's). */
  startRecording(dir: string): Promise<void>;
  /** Whether the media server still has the call's room (it is gone after the media server restarted). */
  exists(): Promise<boolean>;
  /** Files the media server wrote for this room (complete once destroy() has resolved). */
  recordingFiles(): Promise<RecordingFile[]>;
  /** Ends every leg and destroys the rooms on the media server. Idempotent. */
  destroy(): Promise<void>;
  readonly destroyed: boolean;
}

export interface RecordingFile {
  kind: 'audio-mix' | 'video-feed';
  /** Absolute path of what the media server wrote (.wav for the mix, .mjr for video feeds). */
  path: string;
  /** For video feeds: whose feed. */
  feedId?: string;
}

export interface MediaEngine {
  /** Never rejects: a failing media server is reported as 'down'. */
  health(): Promise<MediaHealth>;
  /** Per node, for the registry's health and load view. */
  nodes(): MediaNodeStatus[];
  /** Creates the room on the least loaded healthy node. Rejects with MediaUnavailableError when none is. */
  createRoom(opts: RoomOptions): Promise<MediaRoom>;
  /**
   * Joins a room another server process created (it lives on the media node, not in a process), so
   * a participant connected to this process can take part. Legs stay with the process that made them.
   */
  openRoom(opts: { sessionId: string; nodeId: string; video: boolean }): Promise<MediaRoom>;
  /** The room of a session as this process holds it, if it does. */
  room(sessionId: string): MediaRoom | undefined;
  /** Idempotent. */
  close(): Promise<void>;
}

/** No media node can take the room: none configured, none up, or the request failed. */
export class MediaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaUnavailableError';
  }
}

/** For MCCS_JANUS=off, or when Janus is not installed: chat works, calls do not. */
export function createDisabledEngine(detail = 'media server disabled'): MediaEngine {
  return {
    health: () => Promise.resolve({ state: 'disabled', detail }),
    nodes: () => [],
    createRoom: () => Promise.reject(new MediaUnavailableError(`calls are unavailable: ${detail}`)),
    openRoom: () => Promise.reject(new MediaUnavailableError(`calls are unavailable: ${detail}`)),
    room: () => undefined,
    close: () => Promise.resolve(),
  };
}
