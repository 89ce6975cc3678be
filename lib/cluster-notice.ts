// "Something changed, look again", for the other server processes. With several nodes (queue store
// on Redis) a change an admin makes on one node, such as a SIP trunk, must reach every node. A notice
// is published on a Redis pub/sub channel under the key prefix and carries nothing but the id of the
// node that sent it: whoever hears one reloads from the database, the one place the change is kept,
// so nothing in a message is trusted. Pub/sub drops what is published while a node is disconnected,
// so a node that reconnects hears a notice too (it may have missed one).
import { ClusterChannel, parseObject } from './cluster-channel.js';
import type { Logger } from './logger.js';
import { TypedEmitter } from './typed-emitter.js';

export type ClusterNoticeEvents = {
  /** Another node announced a change, or this one reconnected to Redis and may have missed one. */
  notice: [];
};

const MAX_MESSAGE_BYTES = 200;

export class ClusterNotice extends TypedEmitter<ClusterNoticeEvents> {
  #channel!: ClusterChannel<{ n: string }>;

  private constructor(logger: Logger | undefined, channel: string) {
    super();
    this.onListenerError = (_event, err) => logger?.error('cluster notice listener failed', { channel, err });
  }

  get nodeId(): string {
    return this.#channel.nodeId;
  }

  /** Connects and subscribes to `channel` (the key prefix included). */
  static async start(url: string, channel: string, logger?: Logger): Promise<ClusterNotice> {
    const notice = new ClusterNotice(logger, channel);
    notice.#channel = await ClusterChannel.open(url, channel, {
      name: 'notice',
      parse: (message) => {
        const n = noticeSender(message);
        return n === null ? null : { n };
      },
      onMessage: () => notice.safeEmit('notice'),
      onReconnect: () => notice.safeEmit('notice'),
      logger,
    });
    return notice;
  }

  /** Tells the other nodes; a failure is logged (they catch up when they next hear a notice or reconnect). */
  announce(): void {
    this.#channel.publish({});
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    await this.#channel.close();
  }
}

/** The sending node's id of a well-formed notice (`{"n":"<hex id>"}` and nothing else), else null. */
export function noticeSender(message: string): string | null {
  const v = parseObject(message, MAX_MESSAGE_BYTES);
  if (!v) return null;
  const n = v.n;
  if (Object.keys(v).length !== 1 || typeof n !== 'string' || !/^[0-9a-f]{1,64}$/.test(n)) return null;
  return n;
}
