// One WebSocket connection to Janus through janode, kept alive by a small state machine: janode's own
// retry loop is switched off (fixed interval, gives up after N tries) in favour of ours, which never
// gives up, backs off exponentially with jitter, and reports every change through one setState().
import { EventEmitter } from 'node:events';
import { format } from 'node:util';
import Janode, { type JanodeConnection } from 'janode';
import type { Logger } from '../../lib/logger.js';

export type JanusConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Defaults in one place (ioredis style). */
export const JANUS_CLIENT_DEFAULTS = {
  /** Every request to Janus fails after this long rather than hanging a caller. */
  requestTimeoutMs: 5_000,
  /** A WebSocket open that takes longer is abandoned and retried. */
  connectTimeoutMs: 5_000,
  /** First retry delay; doubles per consecutive failure up to retryMaxMs, with jitter. */
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  /** A graceful WebSocket close that takes longer is cut short (a hung Janus never answers it). */
  closeTimeoutMs: 2_000,
} as const;

export interface JanusClientOptions {
  wsUrl: string;
  logger: Logger;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  closeTimeoutMs?: number;
  /** Stay idle until this settles, e.g. until our own Janus child has opened its port. */
  startAfter?: Promise<unknown>;
}

/** A request could not be answered: not connected, timed out, or the client was closed. */
export class JanusRequestError extends Error {
  constructor(
    readonly reason: 'not_connected' | 'timeout' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'JanusRequestError';
  }
}

export type JanusClientEvents = {
  statechange: [to: JanusConnectionState, from: JanusConnectionState, detail: string];
};

/**
 * Delay before retry number `attempt` (1-based): half fixed, half random ("equal jitter"), so
 * several servers reconnecting to one restarted Janus do not arrive in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class JanusClient extends EventEmitter<JanusClientEvents> {
  readonly #opts: Required<Omit<JanusClientOptions, 'logger' | 'startAfter'>>;
  readonly #log: Logger;
  #state: JanusConnectionState = 'idle';
  #detail = 'not started';
  #connection: JanodeConnection | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: JanusClientOptions) {
    super();
    const { logger: _logger, startAfter: _startAfter, ...rest } = opts;
    this.#opts = { ...JANUS_CLIENT_DEFAULTS, ...withoutUndefined(rest), wsUrl: opts.wsUrl };
    this.#log = opts.logger.child({ component: 'media', janus: opts.wsUrl });
    routeJanodeLogs(opts.logger);
  }

  get state(): JanusConnectionState {
    return this.#state;
  }
  get detail(): string {
    return this.#detail;
  }
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Starts connecting in the background; the state says how it goes. */
  start(): void {
    if (this.#state !== 'idle') return;
    void this.#attempt();
  }

  /** Runs one Janus request on the live connection, bounded by the request timeout. */
  async request<T>(what: string, send: (connection: JanodeConnection) => Promise<T>): Promise<T> {
    const connection = this.#connection;
    if (this.#state === 'closed') throw new JanusRequestError('closed', `${what}: Janus client is closed`);
    if (this.#state !== 'connected' || !connection) {
      throw new JanusRequestError('not_connected', `${what}: not connected to Janus (${this.#detail})`);
    }
    return withTimeout(send(connection), this.#opts.requestTimeoutMs, () => {
      return new JanusRequestError('timeout', `${what}: no answer from Janus within ${this.#opts.requestTimeoutMs} ms`);
    });
  }

  /** Idempotent; resolves once the WebSocket is closed. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      const connection = this.#connection;
      this.#connection = undefined;
      this.#setState('closed', 'closed by us');
      if (connection) await closeQuietly(connection, this.#opts.closeTimeoutMs);
      this.removeAllListeners();
    })();
    return this.#closing;
  }

  #setState(state: JanusConnectionState, detail: string): void {
    const from = this.#state;
    if (from === 'closed') return; // terminal: late callbacks from janode must not revive it
    this.#state = state;
    this.#detail = detail;
    // A Janus that stays down would log two lines every retry; after the first retry, drop to debug.
    const quiet = this.#failures >= 2 && (state === 'connecting' || state === 'reconnecting');
    const level = quiet ? 'debug' : state === 'reconnecting' ? 'warn' : 'info';
    this.#log.log(level, `Janus connection ${from} -> ${state}: ${detail}`, { from, to: state });
    try {
      this.emit('statechange', state, from, detail);
    } catch (err) {
      // A throwing listener must not leave the state machine half-updated (no timer scheduled).
      this.#log.error(`statechange listener threw: ${errorText(err)}`);
    }
  }

  async #attempt(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.closed) return;
    this.#setState('connecting', `opening ${this.#opts.wsUrl}`);
    let timedOut = false;
    const pending = Janode.connect({ is_admin: false, address: { url: this.#opts.wsUrl }, max_retries: 0 });
    // janode cannot cancel an open in progress; if one completes after we gave up on it, shut it.
    pending.then(
      (late) => {
        if (timedOut || this.closed) void closeQuietly(late, this.#opts.closeTimeoutMs);
      },
      () => undefined,
    );
    let connection: JanodeConnection;
    try {
      connection = await withTimeout(pending, this.#opts.connectTimeoutMs, () => {
        timedOut = true;
        return new Error(`no WebSocket handshake within ${this.#opts.connectTimeoutMs} ms`);
      });
    } catch (err) {
      this.#scheduleRetry(`cannot connect: ${errorText(err)}`);
      return;
    }
    if (this.closed) return; // closed while connecting; the late-close handler above shuts it

    this.#connection = connection;
    this.#failures = 0;
    connection.once(Janode.EVENT.CONNECTION_ERROR, (err: unknown) => {
      if (this.#connection !== connection) return;
      this.#connection = undefined;
      this.#scheduleRetry(`connection lost: ${errorText(err)}`);
    });
    this.#setState('connected', `connected to ${this.#opts.wsUrl}`);
  }

  #scheduleRetry(reason: string): void {
    if (this.closed) return;
    this.#failures += 1;
    const wait = backoffDelay(this.#failures, this.#opts.retryBaseMs, this.#opts.retryMaxMs);
    this.#setState('reconnecting', `${reason}; retry ${this.#failures} in ${wait} ms`);
    this.#retryTimer = setTimeout(() => void this.#attempt(), wait);
    // Retrying must not by itself keep the process alive at shutdown.
    this.#retryTimer.unref();
  }
}

// ---- helpers -------------------------------------------------------------------------------------

let janodeLogsRouted = false;

/**
 * janode logs through its own global console logger. Route it into ours once: its info and above
 * at debug (our state machine already reports what matters), its per-message chatter at silly.
 */
function routeJanodeLogs(logger: Logger): void {
  if (janodeLogsRouted) return;
  janodeLogsRouted = true;
  const log = logger.child({ component: 'janode' });
  const to = (level: 'debug' | 'silly') => (...args: unknown[]) => log.log(level, format(...args));
  Object.assign(Janode.Logger, {
    debug: to('silly'),
    verbose: to('silly'),
    info: to('debug'),
    warning: to('debug'),
    error: to('debug'),
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

async function closeQuietly(connection: JanodeConnection, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(connection.close(), timeoutMs, () => new Error('close timed out'));
  } catch {
    // Already closed, or the peer never answered the close handshake. janode has no public way to
    // drop the socket, and an open one keeps its ping timer (and our process) alive: cut it.
    const ws = (connection as unknown as { _transport?: { _ws?: { terminate?: () => void } } })._transport?._ws;
    try {
      ws?.terminate?.();
    } catch {
      // nothing more we can do
    }
  }
}

/** janode rejects with Errors, but also with ws ErrorEvents, which are not Errors and carry `message`. */
function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message ? message : String(err);
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
