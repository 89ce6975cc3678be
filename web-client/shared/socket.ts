// Request/response over socket.io: emit with an acknowledgement and a timeout, and turn the
// `{ ok, data } | { ok, error }` ack into a resolved value or a thrown AckError.
import { io, type Socket } from 'socket.io-client';
import type { Ack, AckFn } from '../../protocol/events.js';

export class AckError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AckError';
  }
}

type PayloadOf<F> = F extends (payload: infer P, ack: AckFn<infer _T>) => void ? P : never;
type DataOf<F> = F extends (payload: infer _P, ack: AckFn<infer T>) => void ? T : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EventsMap = { [event: string]: any };

export const REQUEST_TIMEOUT_MS = 10_000;

/** Sends `event` and resolves with the ack's data; rejects with AckError (code TIMEOUT when no ack came). */
export function request<C extends EventsMap, K extends keyof C & string>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  socket: Socket<any, C>,
  event: K,
  payload: PayloadOf<C[K]>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<DataOf<C[K]>> {
  return new Promise((resolve, reject) => {
    const raw = socket.timeout(timeoutMs) as unknown as {
      emit(ev: string, p: unknown, cb: (err: Error | null, ack?: Ack<unknown>) => void): void;
    };
    raw.emit(event, payload, (err, ack) => {
      if (err) {
        reject(new AckError('TIMEOUT', 'The server did not answer in time.'));
      } else if (!ack || typeof ack !== 'object') {
        reject(new AckError('BAD_ACK', 'The server sent an unexpected reply.'));
      } else if (ack.ok) {
        resolve(ack.data as DataOf<C[K]>);
      } else {
        reject(new AckError(ack.error.code, ack.error.message, ack.error.data));
      }
    });
  });
}

/** Opens a namespace on the page's own origin, authenticated with a bearer token. */
export function connect<Listen extends EventsMap, Emit extends EventsMap>(
  namespace: '/customer' | '/agent' | '/supervisor',
  token: string,
): Socket<Listen, Emit> {
  return io(namespace, {
    auth: { token },
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

/** Connect errors that mean the token is no longer usable: log in again / get a new visitor token. */
export function isAuthError(err: Error): boolean {
  return ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'FORBIDDEN', 'PASSWORD_CHANGE_REQUIRED'].includes(err.message);
}
