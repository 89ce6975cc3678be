// Queue metrics for the whole cluster. Each node's QueueMonitor counts from events, and with several
// nodes a node would see only its own: a chat queued on node A and answered by an agent on node B
// would never count as answered on A's wallboard. This relay publishes the events the monitor counts
// on Redis pub/sub and replays the other nodes' events locally, so every node's metrics (HTTP API,
// supervisor stream, /metrics) are the cluster's. Used whenever the queue store is on Redis.
import { ClusterChannel, parseObject } from '../lib/cluster-channel.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import type { ChatObserverEvents } from '../chat/chat-service.js';
import type { RoutingEvents } from './engine.js';
import type { EventSource } from './queue-monitor.js';

/** The events a QueueMonitor listens to; nothing else crosses the wire. */
const CHAT_EVENTS = ['task:queued', 'task:answered', 'task:abandoned', 'task:ended', 'task:completed'] as const;
const ROUTING_EVENTS = ['offer', 'offer:revoked', 'presence', 'agent:logged-off', 'queue:changed'] as const;

type ChatEvent = (typeof CHAT_EVENTS)[number];
type RoutingEvent = (typeof ROUTING_EVENTS)[number];
type RelayedRoutingEvents = Pick<RoutingEvents, RoutingEvent>;

interface WireEvent {
  /** The publishing node (ClusterChannel's stamp). */
  n: string;
  s: 'chat' | 'routing';
  e: string;
  a: unknown[];
}

const MAX_MESSAGE_BYTES = 64 * 1024;
/** The most arguments a relayed event has ('offer': agent, ticket, expiry, by push). */
const MAX_ARGS = 4;

// The relay moves events by name without looking into them: typed at its two ends, untyped inside.
type AnyEvents = Record<string, unknown[]>;
const anySource = <E extends AnyEvents>(s: EventSource<E>) => s as unknown as EventSource<AnyEvents>;
const anyEmitter = <E extends AnyEvents>(e: TypedEmitter<E>) => e as unknown as TypedEmitter<AnyEvents>;

export interface ClusterEventSources {
  chat: EventSource<ChatObserverEvents>;
  routing: EventSource<RoutingEvents>;
}

export class ClusterEventRelay {
  /** This node's events (delivered at once) and every other node's (as they arrive). */
  readonly chat = new TypedEmitter<ChatObserverEvents>();
  readonly routing = new TypedEmitter<RelayedRoutingEvents>();

  #channel!: ClusterChannel<WireEvent>;
  readonly #detach: Array<() => void> = [];

  get nodeId(): string {
    return this.#channel.nodeId;
  }

  /** Connects, subscribes, and starts relaying the local sources' events. */
  static async start(url: string, keyPrefix: string, local: ClusterEventSources, logger?: Logger): Promise<ClusterEventRelay> {
    const relay = new ClusterEventRelay();
    relay.#channel = await ClusterChannel.open(url, `${keyPrefix}queue-events`, {
      name: 'cluster-events',
      parse: parseWire,
      onMessage: (wire) => anyEmitter(wire.s === 'chat' ? relay.chat : relay.routing).safeEmit(wire.e, ...wire.a),
      logger,
    });
    for (const event of CHAT_EVENTS) relay.#relay(anySource(local.chat), 'chat', event, anyEmitter(relay.chat));
    for (const event of ROUTING_EVENTS) relay.#relay(anySource(local.routing), 'routing', event, anyEmitter(relay.routing));
    return relay;
  }

  async close(): Promise<void> {
    for (const detach of this.#detach.splice(0)) detach();
    await this.#channel.close();
  }

  /** Delivers the local source's `event` here at once and publishes it for the other nodes. */
  #relay(source: EventSource<AnyEvents>, s: WireEvent['s'], event: ChatEvent | RoutingEvent, out: TypedEmitter<AnyEvents>): void {
    // An event lost in publishing is missing from the other nodes' counts; their periodic store
    // check still repairs the waiting figures.
    const listener = (...args: unknown[]) => {
      out.safeEmit(event, ...args);
      this.#channel.publish({ s, e: event, a: args });
    };
    source.on(event, listener);
    this.#detach.push(() => source.off(event, listener));
  }
}

/** Shape check of a relayed event: a known event of its source, its first argument of the right kind. */
export function parseWire(message: string): WireEvent | null {
  const w = parseObject(message, MAX_MESSAGE_BYTES) as Partial<WireEvent> | null;
  if (!w) return null;
  if (typeof w.n !== 'string' || !Array.isArray(w.a) || w.a.length === 0 || w.a.length > MAX_ARGS) return null;
  if (w.s === 'chat') {
    if (!(CHAT_EVENTS as readonly string[]).includes(w.e as string)) return null;
    const e = w.a[0] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.taskId !== 'string' || typeof e.queueId !== 'string' || typeof e.at !== 'number') return null;
  } else if (w.s === 'routing') {
    if (!(ROUTING_EVENTS as readonly string[]).includes(w.e as string)) return null;
    if (typeof w.a[0] !== 'string') return null;
    if (w.e === 'offer' && (typeof w.a[1] !== 'object' || w.a[1] === null || typeof (w.a[1] as { queueId?: unknown }).queueId !== 'string')) return null;
  } else {
    return null;
  }
  return w as WireEvent;
}
