// Hold across server processes. Only the process that holds a leg's plugin handle can move the leg
// in or out of the hold mix (AudioBridge `changeroom`), and with several nodes (queue store on Redis)
// the agent's socket may be on one node while their media leg was joined by another. The node that
// decides a hold changes the media_sessions row (the truth of the hold state) and mutes the agent at
// once; this channel then tells the other nodes "look again at media session X", and a node holding
// legs of that call re-reads the row and moves its own agent leg to match. A message carries nothing
// but the session id, checked; a node that reconnects to Redis looks again at all its calls, since
// it may have missed a change.
import { ClusterChannel, parseObject } from '../lib/cluster-channel.js';
import type { Logger } from '../lib/logger.js';
import type { EventSource } from '../routing/queue-monitor.js';
import type { CallObserverEvents } from './call-service.js';

/** What the relay needs of the call service (CallService implements it). */
export interface HoldFollower {
  /** Where this node's hold changes are heard ('call:held'). */
  observer: EventSource<Pick<CallObserverEvents, 'call:held'>>;
  /** Makes this node's legs of media session `id` match its row; every call of this node when omitted. Must not throw. */
  followHold(mediaSessionId?: string): Promise<void>;
}

interface HoldMessage {
  n: string;
  /** The media session whose hold state changed. */
  s: string;
}

const MAX_MESSAGE_BYTES = 200;
const NODE_ID = /^[0-9a-f]{1,64}$/;
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ClusterHoldRelay {
  #channel!: ClusterChannel<HoldMessage>;
  #detach: () => void = () => {};

  get nodeId(): string {
    return this.#channel.nodeId;
  }

  /** Connects, subscribes to `${keyPrefix}call-hold`, and relays the follower's hold changes both ways. */
  static async start(url: string, keyPrefix: string, calls: HoldFollower, logger?: Logger): Promise<ClusterHoldRelay> {
    const relay = new ClusterHoldRelay();
    const follow = (mediaSessionId?: string) => {
      void calls.followHold(mediaSessionId).catch((err: unknown) => logger?.error('following a hold of another node failed', { mediaSessionId, err }));
    };
    relay.#channel = await ClusterChannel.open(url, `${keyPrefix}call-hold`, {
      name: 'call-hold',
      parse: parseHoldMessage,
      onMessage: (m) => follow(m.s),
      onReconnect: () => follow(),
      logger,
    });
    const held = (e: CallObserverEvents['call:held'][0]) => relay.#channel.publish({ s: e.mediaSessionId });
    calls.observer.on('call:held', held);
    relay.#detach = () => calls.observer.off('call:held', held);
    return relay;
  }

  async close(): Promise<void> {
    this.#detach();
    await this.#channel.close();
  }
}

/** A well-formed hold message (`{"n":"<hex node id>","s":"<media session uuid>"}` and nothing else), else null. */
export function parseHoldMessage(message: string): HoldMessage | null {
  const v = parseObject(message, MAX_MESSAGE_BYTES);
  if (!v || Object.keys(v).length !== 2) return null;
  const { n, s } = v;
  if (typeof n !== 'string' || !NODE_ID.test(n) || typeof s !== 'string' || !SESSION_ID.test(s)) return null;
  return { n, s };
}
