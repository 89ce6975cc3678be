// socket.io clients typed with the protocol, and a way to wait for the next event of a kind.
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  AgentClientToServer,
  AgentServerToClient,
  CustomerClientToServer,
  CustomerServerToClient,
} from '../../protocol/events.js';

export type CustomerSocket = Socket<CustomerServerToClient, CustomerClientToServer>;
export type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

/**
 * Events each socket received and no next() has taken yet. Recording starts before the connection,
 * because a server event sent right after connect can arrive in the same read as the connect itself.
 */
const backlog = new WeakMap<Socket, Array<{ event: string; payload: unknown }>>();

export function connect<S extends Socket>(url: string, ns: '/customer' | '/agent' | '/supervisor', token: string): Promise<S> {
  const socket = io(url + ns, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true }) as S;
  const received: Array<{ event: string; payload: unknown }> = [];
  backlog.set(socket, received);
  socket.onAny((event: string, payload: unknown) => received.push({ event, payload }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** The connect error a token gets (its message is the wire code). */
export async function connectError(url: string, ns: '/customer' | '/agent' | '/supervisor', token: unknown): Promise<Error & { data?: { code: string } }> {
  const socket = io(url + ns, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    return await new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('connected, but an error was expected')));
      socket.once('connect_error', (err) => resolve(err as Error & { data?: { code: string } }));
    });
  } finally {
    socket.close();
  }
}

/**
 * Resolves with the first `event` not yet taken whose payload passes `match` (one that already
 * arrived, or the next to arrive); rejects after `ms`. Each event is taken once.
 */
export function next<T>(socket: Socket, event: string, match: (p: T) => boolean = () => true, ms = 10_000): Promise<T> {
  const received = backlog.get(socket) ?? [];
  const i = received.findIndex((r) => r.event === event && match(r.payload as T));
  if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]!.payload as T);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.offAny(handler);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    // onAny listeners run in registration order, so the recorder has pushed this event already.
    const handler = (name: string, payload: T) => {
      if (name !== event || !match(payload)) return;
      const at = received.findIndex((r) => r.payload === payload && r.event === name);
      if (at >= 0) received.splice(at, 1);
      clearTimeout(timer);
      socket.offAny(handler);
      resolve(payload);
    };
    socket.onAny(handler);
  });
}

/** Forgets the `event`s received so far, so the next next() waits for a new one. */
export function drain(socket: Socket, event: string): void {
  const received = backlog.get(socket) ?? [];
  for (let i = received.length - 1; i >= 0; i--) if (received[i]!.event === event) received.splice(i, 1);
}

/** Emits with an acknowledgement and returns it (raw: ok or error). */
export function request<T>(socket: Socket, event: string, payload?: unknown): Promise<Ack<T>> {
  return (socket.timeout(10_000) as unknown as { emitWithAck(e: string, p?: unknown): Promise<Ack<T>> }).emitWithAck(event, payload);
}

/** Like request(), but throws on an error acknowledgement. */
export async function call<T>(socket: Socket, event: string, payload?: unknown): Promise<T> {
  const ack = await request<T>(socket, event, payload);
  if (!ack.ok) throw new Error(`${event} failed: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

let n = 0;
export const msgId = () => `m${Date.now().toString(36)}${(++n).toString(36)}`;
