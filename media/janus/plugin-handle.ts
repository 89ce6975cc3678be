// One Janus plugin handle with a typed request/response shape. janode's plugin classes translate
// each plugin's events into their own names and drop what they do not know; we talk to AudioBridge
// and VideoRoom in their own wire terms instead (docs: janus.conf.meetecho.com/docs), so this
// subclass only closes transactions and reports plugin-level errors as errors.
import Janode from 'janode';
import type { JanodeSession } from 'janode';
import JanodeHandle, { type JanusMessage } from 'janode/handle';

export type PluginName = 'janus.plugin.audiobridge' | 'janus.plugin.videoroom';

/** Janus accepted the request but the plugin refused it (room exists, no such feed, bad SDP…). */
export class JanusPluginError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'JanusPluginError';
  }
}

export interface PluginReply {
  data: Record<string, unknown>;
  jsep?: { type: 'offer' | 'answer'; sdp: string };
}

export type HandleEvents = {
  /** An event Janus sent without a transaction of ours (participant left, talking…). */
  event: [data: Record<string, unknown>];
  webrtcup: [];
  /** The PeerConnection (or plain-RTP path) is gone; reason from Janus (e.g. "ICE failed", "DTLS alert"). */
  hangup: [reason: string];
  detached: [];
};

class RawHandle extends JanodeHandle {
  override handleMessage(message: JanusMessage): unknown {
    const { transaction } = message;
    const data = message.plugindata?.data;
    if (transaction && this.ownsTransaction(transaction)) {
      const failure = pluginFailure(data);
      if (failure) this.closeTransactionWithError(transaction, failure);
      else this.closeTransactionWithSuccess(transaction, message);
      return message;
    }
    if (data) this.emit('plugin-event', data);
    return message;
  }
}

function pluginFailure(data: Record<string, unknown> | undefined): JanusPluginError | undefined {
  if (!data || (data.error_code === undefined && data.error === undefined)) return undefined;
  const code = typeof data.error_code === 'number' ? data.error_code : 0;
  return new JanusPluginError(code, `Janus ${String(data.audiobridge ?? data.videoroom ?? 'plugin')} error ${code}: ${String(data.error ?? 'unknown')}`);
}

/** A plugin handle owned by one room (or the node's control handle). */
export class PluginHandle {
  readonly #raw: RawHandle;
  readonly #timeoutMs: number;
  #detached = false;
  #listeners: { [K in keyof HandleEvents]?: Array<(...args: HandleEvents[K]) => void> } = {};

  static async attach(session: JanodeSession, plugin: PluginName, timeoutMs: number): Promise<PluginHandle> {
    const raw = await withTimeout(session.attach({ id: plugin, Handle: RawHandle }), timeoutMs, `attach ${plugin}`);
    return new PluginHandle(raw, timeoutMs);
  }

  private constructor(raw: RawHandle, timeoutMs: number) {
    this.#raw = raw;
    this.#timeoutMs = timeoutMs;
    raw.on('plugin-event', (data: Record<string, unknown>) => this.#emit('event', data));
    raw.on(Janode.EVENT.HANDLE_WEBRTCUP, () => this.#emit('webrtcup'));
    raw.on(Janode.EVENT.HANDLE_HANGUP, (e: { reason?: string }) => this.#emit('hangup', e.reason ?? 'hangup'));
    raw.once(Janode.EVENT.HANDLE_DETACHED, () => {
      this.#detached = true;
      this.#emit('detached');
    });
  }

  get detached(): boolean {
    return this.#detached;
  }

  on<K extends keyof HandleEvents>(event: K, listener: (...args: HandleEvents[K]) => void): this {
    ((this.#listeners[event] ??= []) as Array<(...args: HandleEvents[K]) => void>).push(listener);
    return this;
  }

  /**
   * Sends a plugin message and waits for its definitive answer: the synchronous "success" or, for
   * asynchronous requests (join, configure, start), the event carrying our transaction.
   */
  async request(body: Record<string, unknown>, jsep?: { type: 'offer' | 'answer'; sdp: string }): Promise<PluginReply> {
    const what = String(body.request);
    const request: Record<string, unknown> = { janus: 'message', body };
    if (jsep) request.jsep = jsep;
    // janode times the transaction out itself (and forgets it); the outer bound covers a dead socket.
    const reply = await withTimeout(this.#raw.sendRequest(request, this.#timeoutMs), this.#timeoutMs + 500, what);
    const data = reply.plugindata?.data;
    if (!data) throw new JanusPluginError(0, `Janus answered ${what} without plugin data`);
    return reply.jsep ? { data, jsep: reply.jsep } : { data };
  }

  /** Detaches from Janus (which ends the participant); never rejects, idempotent. */
  async detach(): Promise<void> {
    if (this.#detached) return;
    this.#detached = true;
    await withTimeout(this.#raw.detach(), this.#timeoutMs, 'detach').catch(() => undefined);
    this.#listeners = {};
  }

  #emit<K extends keyof HandleEvents>(event: K, ...args: HandleEvents[K]): void {
    for (const listener of this.#listeners[event] ?? []) {
      try {
        listener(...args);
      } catch {
        // a listener's bug must not break janode's dispatch loop
      }
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer from Janus within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
