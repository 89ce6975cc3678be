// A Redis pub/sub channel shared by the server processes (when the queue store is on Redis). Each
// message is one JSON object stamped with the sending process's id (`n`); a process does not hear its
// own messages. What a message may contain is the user's to check (`parse`), and a message that does
// not pass is dropped with a warning. Pub/sub drops what is published while a process is disconnected:
// `onReconnect` lets the user catch up (reload, re-announce).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export interface ClusterChannelOptions<T extends { n: string }> {
  /** For connection names (CLIENT LIST) and log lines. */
  name: string;
  /** The message, checked: null when it is not one this channel carries. */
  parse(message: string): T | null;
  /** A message of another process. */
  onMessage(message: T): void;
  /** The subscription came back after a disconnect: messages may have been missed. */
  onReconnect?(): void;
  logger?: Logger;
}

export class ClusterChannel<T extends { n: string }> {
  /** This process's id on every channel it opens. */
  readonly nodeId: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #channel: string;
  readonly #opts: ClusterChannelOptions<T>;
  #closed = false;

  private constructor(nodeId: string, pub: Redis, sub: Redis, channel: string, opts: ClusterChannelOptions<T>) {
    this.nodeId = nodeId;
    this.#pub = pub;
    this.#sub = sub;
    this.#channel = channel;
    this.#opts = opts;
  }

  /** Connects two clients (one publishes, one listens) and subscribes to `channel` (key prefix included). */
  static async open<T extends { n: string }>(url: string, channel: string, opts: ClusterChannelOptions<T>): Promise<ClusterChannel<T>> {
    const nodeId = randomBytes(8).toString('hex');
    const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: `mccs-${opts.name}-${nodeId}` });
    const sub = pub.duplicate();
    // Reconnects are ioredis's business; errors must not become unhandled 'error' events.
    for (const client of [pub, sub]) client.on('error', (err: Error) => opts.logger?.warn(`${opts.name}: redis error`, { channel, err: err.message }));
    await Promise.all([pub.connect(), sub.connect()]);
    const ch = new ClusterChannel(nodeId, pub, sub, channel, opts);
    await sub.subscribe(channel);
    sub.on('message', (from: string, message: string) => {
      if (from === channel) ch.#received(message);
    });
    // 'ready' again means a reconnect (ioredis subscribes again by itself).
    sub.on('ready', () => {
      if (!ch.#closed) ch.#opts.onReconnect?.();
    });
    return ch;
  }

  /** Sends `payload` stamped with this process's id; a failure is logged (the others miss it). */
  publish(payload: Omit<T, 'n'>): void {
    if (this.#closed) return;
    this.#pub.publish(this.#channel, JSON.stringify({ n: this.nodeId, ...payload })).catch((err: Error) => {
      this.#opts.logger?.warn(`${this.#opts.name}: publish failed`, { channel: this.#channel, err: err.message });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
  }

  #received(message: string): void {
    if (this.#closed) return;
    const parsed = this.#opts.parse(message);
    if (!parsed) {
      this.#opts.logger?.warn(`${this.#opts.name}: dropped a malformed message`, { channel: this.#channel, bytes: message.length });
      return;
    }
    if (parsed.n !== this.nodeId) this.#opts.onMessage(parsed);
  }
}

/** JSON.parse of a message of at most `maxBytes`, when it is an object (not an array); else null. */
export function parseObject(message: string, maxBytes: number): Record<string, unknown> | null {
  if (message.length > maxBytes) return null;
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
