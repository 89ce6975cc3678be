// Binds a namespace's client events to handlers with the checks every event gets, in this order:
// known event, rate limit, token still valid, payload valid against its schema. A handler's result
// or error goes back in the acknowledgement; no handler sees an unchecked payload.
import type { Socket } from 'socket.io';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Logger } from '../../lib/logger.js';
import type { Ack, WireError } from '../../protocol/events.js';
import type { Metrics } from '../metrics.js';
import { toWireError } from '../wire-errors.js';
import { principalRevoked, type Principal } from '../auth/tokens.js';

export type Handlers<S extends Record<string, TSchema>> = {
  [K in keyof S]: (payload: Static<S[K]>) => Promise<unknown> | unknown;
};

/** Schemas compiled once per process, not per connection. */
const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
}

/** Token bucket per connection: a burst of `burst` events, refilled at `perSecond`. */
class EventBudget {
  #tokens: number;
  #last = Date.now();
  constructor(private readonly burst: number, private readonly perSecond: number) {
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.perSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface BindOptions {
  namespace: string;
  logger: Logger;
  metrics: Metrics;
  /** When the connection's token expires (epoch ms); events after it are refused. */
  expiresAt: number;
}

export function bindEvents<S extends Record<string, TSchema>>(socket: Socket, schemas: S, handlers: Handlers<S>, opts: BindOptions): void {
  const budget = new EventBudget(30, 10);
  const count = (event: string, outcome: string) => opts.metrics.socketEvents.inc({ namespace: opts.namespace, event, outcome });

  const reply = (event: string, ack: unknown, result: Ack<unknown>) => {
    if (typeof ack === 'function') (ack as (a: Ack<unknown>) => void)(result);
    else if (!result.ok) socket.emit('event:error', { event, error: result.error });
  };
  const fail = (event: string, ack: unknown, error: WireError) => {
    count(schemas[event] ? event : 'unknown', error.code);
    reply(event, ack, { ok: false, error });
  };

  socket.onAny((event: string, ...args: unknown[]) => {
    if (Object.hasOwn(schemas, event)) return;
    fail(String(event).slice(0, 64), args.at(-1), { code: 'UNKNOWN_EVENT', message: `unknown event "${String(event).slice(0, 64)}"` });
  });

  for (const event of Object.keys(schemas)) {
    const check = checker(schemas[event]!);
    const handler = handlers[event as keyof S];
    socket.on(event, async (...args: unknown[]) => {
      const ack = args.length > 1 ? args.at(-1) : typeof args[0] === 'function' ? args[0] : undefined;
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      if (!budget.take()) return fail(event, ack, { code: 'RATE_LIMITED', message: 'too many events: slow down' });
      if (Date.now() >= opts.expiresAt) {
        fail(event, ack, { code: 'TOKEN_EXPIRED', message: 'token expired: sign in again' });
        socket.disconnect(true);
        return;
      }
      // Sessions revoked (sign out everywhere, suspension): this connection's token is no longer good.
      if (principalRevoked((socket.data as { principal?: Principal } | undefined)?.principal)) {
        fail(event, ack, { code: 'UNAUTHENTICATED', message: 'this session was signed out: sign in again' });
        socket.disconnect(true);
        return;
      }
      if (!check.Check(payload)) {
        const first = check.Errors(payload).First();
        const where = first?.path || '(payload)';
        return fail(event, ack, { code: 'VALIDATION', message: `${where}: ${first?.message ?? 'invalid payload'}` });
      }
      try {
        const data = await handler(payload as Static<S[keyof S]>);
        count(event, 'ok');
        reply(event, ack, { ok: true, data });
      } catch (err) {
        fail(event, ack, toWireError(err, opts.logger.child({ event })).error);
      }
    });
  }
}
