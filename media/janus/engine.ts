// The MediaEngine over one or more Janus servers: the registry of media nodes. A new room goes to the
// healthy node with the fewest participants (Janus's own count, polled); a room another process made
// is reached on the node the session record names.
import type { MediaEngine, MediaHealth, MediaNodeStatus, MediaRoom, RoomOptions } from '../engine.js';
import { MediaUnavailableError } from '../engine.js';
import type { JanusClientOptions, JanusConnectionState } from './client.js';
import { JanusNode } from './node.js';

export interface JanusEngineOptions extends JanusClientOptions {
  /** More Janus servers beside wsUrl; every server process must list the same ones. */
  moreWsUrls?: string[];
  loadPollMs?: number;
}

export interface JanusEngine extends MediaEngine {
  /** 'connected' when any node is; otherwise the first node's state. */
  readonly connectionState: JanusConnectionState;
}

export function createJanusEngine(opts: JanusEngineOptions): JanusEngine {
  const urls = [...new Set([opts.wsUrl, ...(opts.moreWsUrls ?? [])])];
  const nodes = urls.map((wsUrl) => new JanusNode({ ...opts, wsUrl, id: wsUrl }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let closed = false;

  const roomOf = (sessionId: string): MediaRoom | undefined => {
    for (const node of nodes) {
      const room = node.room(sessionId);
      if (room && !room.destroyed) return room;
    }
    return undefined;
  };

  return {
    get connectionState(): JanusConnectionState {
      return nodes.some((n) => n.connected) ? 'connected' : (nodes[0]?.state ?? 'closed');
    },
    async health(): Promise<MediaHealth> {
      const all = await Promise.all(nodes.map((n) => n.health()));
      const up = all.filter((h) => h.state === 'up');
      if (nodes.length === 1) return all[0] ?? { state: 'down', detail: 'no media node' };
      const detail = nodes.map((n, i) => `${n.id}: ${all[i]?.state}`).join(', ');
      return up.length ? { state: 'up', version: up[0]?.version, detail } : { state: 'down', detail };
    },
    nodes(): MediaNodeStatus[] {
      return nodes.map((n) => n.status());
    },
    async createRoom(room: RoomOptions): Promise<MediaRoom> {
      if (closed) throw new MediaUnavailableError('media engine closed');
      const existing = roomOf(room.sessionId);
      if (existing) return existing;
      const candidates = nodes.filter((n) => n.healthy).sort((a, b) => a.load - b.load);
      const node = candidates[0];
      if (!node) throw new MediaUnavailableError(`no media server is up (${nodes.map((n) => n.status().health.detail).join('; ')})`);
      try {
        return await node.createRoom(room);
      } catch (err) {
        throw new MediaUnavailableError(`could not create the call on ${node.id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async openRoom(room: { sessionId: string; nodeId: string; video: boolean }): Promise<MediaRoom> {
      if (closed) throw new MediaUnavailableError('media engine closed');
      const node = byId.get(room.nodeId);
      if (!node) throw new MediaUnavailableError(`media node ${room.nodeId} is not configured in this server`);
      if (!node.connected) throw new MediaUnavailableError(`media node ${room.nodeId} is down`);
      return node.openRoom({ sessionId: room.sessionId, video: room.video });
    },
    room: roomOf,
    async close(): Promise<void> {
      closed = true;
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}
