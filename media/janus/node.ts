// One Janus server as a media node: its connection (JanusClient, which reconnects on its own), a
// Janus session made after each connect, the shared control handles, the rooms this process holds
// there, and the node's load as Janus itself reports it (participants in its rooms).
import type { JanodeSession } from 'janode';
import type { Logger } from '../../lib/logger.js';
import type { MediaHealth, MediaNodeStatus } from '../engine.js';
import { JanusClient, type JanusClientOptions, type JanusConnectionState } from './client.js';
import { PluginHandle, withTimeout, type PluginName } from './plugin-handle.js';
import { JanusRoom, type JanusRoomOptions, type RoomNodeContext } from './room.js';

export const JANUS_NODE_DEFAULTS = {
  /** How often each node is asked for its rooms and participants. */
  loadPollMs: 5_000,
  /** janode sends a keep-alive on the session this often (Janus drops silent sessions at 60 s). */
  sessionKeepAliveSeconds: 25,
} as const;

export interface JanusNodeOptions extends JanusClientOptions {
  /** Stable name of the node, the same in every server process (we use its WebSocket URL). */
  id: string;
  loadPollMs?: number;
}

export class JanusNode {
  readonly id: string;
  readonly #client: JanusClient;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #rooms = new Map<string, JanusRoom>();
  #session: Promise<JanodeSession> | undefined;
  #controls = new Map<PluginName, Promise<PluginHandle>>();
  #load = 0;
  #reportedRooms = 0;
  #lastPollOk = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: JanusNodeOptions) {
    this.id = opts.id;
    this.#client = new JanusClient(opts);
    this.#log = opts.logger.child({ component: 'media', node: opts.id });
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.#client.on('statechange', (to) => {
      if (to === 'connected') {
        void this.#pollLoad();
        return;
      }
      this.#lostSession();
    });
    const startAfter = opts.startAfter;
    if (startAfter) void startAfter.then(() => this.#client.start(), () => this.#client.start());
    else this.#client.start();
    const pollMs = opts.loadPollMs ?? JANUS_NODE_DEFAULTS.loadPollMs;
    this.#pollTimer = setInterval(() => void this.#pollLoad(), pollMs);
    this.#pollTimer.unref();
  }

  get state(): JanusConnectionState {
    return this.#client.state;
  }

  get connected(): boolean {
    return this.#client.state === 'connected';
  }

  /** Usable for new rooms: connected and answering. */
  get healthy(): boolean {
    return this.connected && this.#lastPollOk;
  }

  /** Participants by Janus's last count, plus what we placed here since. */
  get load(): number {
    return this.#load;
  }

  async health(): Promise<MediaHealth> {
    if (this.#client.state !== 'connected') return { state: 'down', detail: `${this.#client.state}: ${this.#client.detail}` };
    try {
      const info = await this.#client.request('info', (c) => c.getInfo());
      return { state: 'up', version: info.version_string, detail: `${info.name} at ${this.id}` };
    } catch (err) {
      return { state: 'down', detail: err instanceof Error ? err.message : String(err) };
    }
  }

  status(): MediaNodeStatus {
    const health: MediaHealth = this.connected
      ? { state: this.#lastPollOk ? 'up' : 'down', detail: this.#client.detail }
      : { state: 'down', detail: `${this.#client.state}: ${this.#client.detail}` };
    return { id: this.id, health, load: this.#load, rooms: Math.max(this.#reportedRooms, this.#rooms.size) };
  }

  async createRoom(opts: JanusRoomOptions): Promise<JanusRoom> {
    const room = await JanusRoom.create(this.#context(), opts);
    this.#rooms.set(opts.sessionId, room);
    this.#load += 2; // until the next poll: two parties are about to join
    return room;
  }

  openRoom(opts: JanusRoomOptions): JanusRoom {
    const existing = this.#rooms.get(opts.sessionId);
    if (existing && !existing.destroyed) return existing;
    const room = JanusRoom.open(this.#context(), opts);
    this.#rooms.set(opts.sessionId, room);
    return room;
  }

  room(sessionId: string): JanusRoom | undefined {
    return this.#rooms.get(sessionId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pollTimer);
    await Promise.all([...this.#rooms.values()].map((r) => r.destroy()));
    await this.#client.close();
  }

  // ---- internals ---------------------------------------------------------------------------------

  #context(): RoomNodeContext {
    return {
      nodeId: this.id,
      attach: (plugin) => this.#attach(plugin),
      control: (plugin) => this.#control(plugin),
      forget: (sessionId) => this.#rooms.delete(sessionId),
    };
  }

  #getSession(): Promise<JanodeSession> {
    this.#session ??= this.#client
      .request('create session', (c) => c.create(JANUS_NODE_DEFAULTS.sessionKeepAliveSeconds))
      .catch((err: unknown) => {
        this.#session = undefined;
        throw err;
      });
    return this.#session;
  }

  async #attach(plugin: PluginName): Promise<PluginHandle> {
    const session = await this.#getSession();
    return PluginHandle.attach(session, plugin, this.#requestTimeoutMs);
  }

  #control(plugin: PluginName): Promise<PluginHandle> {
    let handle = this.#controls.get(plugin);
    if (!handle) {
      handle = this.#attach(plugin);
      handle.then(
        (h) => h.on('detached', () => this.#controls.delete(plugin)),
        () => this.#controls.delete(plugin),
      );
      this.#controls.set(plugin, handle);
    }
    return handle;
  }

  /** The WebSocket went away: Janus drops the session and every handle on it, so every leg is gone. */
  #lostSession(): void {
    this.#lastPollOk = false;
    if (!this.#session) return;
    this.#session = undefined;
    this.#controls.clear();
    const rooms = [...this.#rooms.values()];
    if (rooms.length) this.#log.warn(`lost the Janus session with ${rooms.length} rooms; their legs are gone`);
    for (const room of rooms) for (const legId of room.legIds()) room.safeEmit('leg:lost', legId, 'media server connection lost');
  }

  async #pollLoad(): Promise<void> {
    if (!this.connected || this.#closed) return;
    try {
      const [audio, video] = await Promise.all(
        (['janus.plugin.audiobridge', 'janus.plugin.videoroom'] as const).map(async (plugin) => {
          const control = await this.#control(plugin);
          const reply = await withTimeout(control.request({ request: 'list' }), this.#requestTimeoutMs, 'list');
          return (reply.data.list as Array<{ num_participants?: number }> | undefined) ?? [];
        }),
      );
      const rooms = [...(audio ?? []), ...(video ?? [])];
      this.#load = rooms.reduce((sum, r) => sum + (r.num_participants ?? 0), 0);
      this.#reportedRooms = audio?.length ?? 0;
      this.#lastPollOk = true;
    } catch (err) {
      if (this.#lastPollOk) this.#log.warn(`load poll failed: ${err instanceof Error ? err.message : String(err)}`);
      this.#lastPollOk = false;
    }
  }
}
