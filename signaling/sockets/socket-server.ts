// socket.io: /customer for widget visitors, /agent for staff taking chats. Each connection is
// authenticated in middleware, joins a room named after its principal, and every event it sends is
// checked (event-binding.ts) and authorised by the service against the task it names.
import type { Server as HttpServer } from 'node:http';
import { Server, type Namespace, type Socket } from 'socket.io';
import { DomainError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import {
  AGENT_EVENT_SCHEMAS,
  CUSTOMER_EVENT_SCHEMAS,
  type AgentClientToServer,
  type AgentServerToClient,
  type CustomerClientToServer,
  type CustomerServerToClient,
} from '../../protocol/events.js';
import type { ChatNotifier, ChatService } from '../../chat/chat-service.js';
import type { CustomerDirectory } from '../../chat/customer-directory.js';
import type { Principal, TokenService } from '../auth/tokens.js';
import type { Metrics } from '../metrics.js';
import { bindEvents } from './event-binding.js';
import type { ClusterAdapter } from './cluster-adapter.js';
import { registerSupervisorNamespace, supervisorRoom } from './supervisor-namespace.js';
import type { CallNotifier, CallService, Party } from '../../calls/call-service.js';
import type { MediaClientToServer } from '../../protocol/events.js';
import type { QueueMonitor } from '../../routing/queue-monitor.js';
import type { SocialService } from '../../social/social-service.js';
import type { CustomerContext } from '../../context/customer-context.js';
import type { WaitEscalation } from '../../routing/wait-escalation.js';

function socialOrFail(social: SocialService | undefined): SocialService {
  if (!social) throw new DomainError('NOT_FOUND', 'social posts are not handled on this server');
  return social;
}

interface SocketData {
  principal: Principal;
  /** Agents: the app on screen (app:visibility); kept on the socket so every node can ask (fetchSockets). */
  visible?: boolean;
}

export interface SocketDeps {
  tokens: TokenService;
  chat: ChatService;
  customers: CustomerDirectory;
  logger: Logger;
  metrics: Metrics;
  maxPayloadBytes: number;
  /** socket.io adapter for several nodes (Redis); the in-memory default when absent. */
  adapter?: ClusterAdapter['adapter'];
  /** Live queue metrics for the /supervisor namespace; without it there is no such namespace. */
  queueMonitor?: QueueMonitor;
  /** Browser calls; without it media events answer MEDIA_UNAVAILABLE. */
  calls?: CallService;
  /** Social posts from Managers; without it social events answer NOT_FOUND. */
  social?: SocialService;
  /** Customer context (ratings); without it chat:rate answers NOT_FOUND. */
  context?: CustomerContext;
  /** Maximum-wait escalations, for supervisors' alerts. */
  escalations?: WaitEscalation;
}

type Promised<F> = F extends (p: infer P, ack: (a: { ok: true; data: infer R } | { ok: false }) => void) => void ? (p: P) => Promise<R> : never;
type MediaHandlers = { [K in keyof MediaClientToServer]: Promised<MediaClientToServer[K]> };

/** The media events, the same for customers and agents; the party decides what each may do. */
function mediaHandlers(calls: CallService | undefined, party: Party): MediaHandlers {
  const svc = (): CallService => {
    if (!calls) throw new DomainError('MEDIA_UNAVAILABLE', 'calls are not available on this server');
    return calls;
  };
  return {
    'media:start': (p) => svc().start(party, p.taskId, p.video),
    'media:join': (p) => svc().join(party, p),
    'media:publish': (p) => svc().publish(party, p),
    'media:unpublish': (p) => svc().unpublish(party, p),
    'media:subscribe': (p) => svc().subscribe(party, p),
    'media:answer': (p) => svc().answer(party, p),
    'media:mute': (p) => svc().mute(party, p),
    'media:hangup': (p) => svc().hangup(party, p.taskId),
  };
}

const customerRoom = (id: string) => `customer:${id}`;
const agentRoom = (id: string) => `agent:${id}`;

/** A connect error whose message is the wire code, so clients can branch on err.message. */
function connectError(err: unknown): Error {
  const code = err instanceof DomainError ? err.code : 'UNAUTHENTICATED';
  const message = err instanceof DomainError ? err.message : 'authentication failed';
  return Object.assign(new Error(code), { data: { code, message } });
}

async function authenticate(socket: Socket, tokens: TokenService): Promise<Principal> {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  if (typeof token !== 'string' || token.length > 4096) throw new DomainError('UNAUTHENTICATED', 'missing token');
  return tokens.verify(token);
}

export function attachSockets(
  httpServer: HttpServer,
  deps: SocketDeps,
): { io: Server; notifier: ChatNotifier & CallNotifier; agentVisible(agentId: string): Promise<boolean>; close(): Promise<void> } {
  const io = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: deps.maxPayloadBytes,
    pingInterval: 10_000,
    pingTimeout: 10_000,
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
  });
  const customers = io.of('/customer') as Namespace<CustomerClientToServer, CustomerServerToClient, Record<string, never>, SocketData>;
  const agents = io.of('/agent') as Namespace<AgentClientToServer, AgentServerToClient, Record<string, never>, SocketData>;

  customers.use((socket, next) => {
    authenticate(socket, deps.tokens)
      .then(async (principal) => {
        if (principal.kind !== 'visitor') throw new DomainError('FORBIDDEN', 'visitor token required');
        if (!(await deps.customers.exists(principal.customerId))) throw new DomainError('UNAUTHENTICATED', 'unknown visitor');
        socket.data.principal = principal;
        next();
      })
      .catch((err: unknown) => next(connectError(err)));
  });

  agents.use((socket, next) => {
    authenticate(socket, deps.tokens)
      .then((principal) => {
        if (principal.kind !== 'staff') throw new DomainError('FORBIDDEN', 'staff token required');
        if (principal.mustChangePassword) throw new DomainError('PASSWORD_CHANGE_REQUIRED', 'change your one-time password first');
        socket.data.principal = principal;
        next();
      })
      .catch((err: unknown) => next(connectError(err)));
  });

  customers.on('connection', (socket) => {
    const principal = socket.data.principal as Extract<Principal, { kind: 'visitor' }>;
    const customerId = principal.customerId;
    const logger = deps.logger.child({ component: 'socket', ns: 'customer', customerId });
    void socket.join(customerRoom(customerId));
    deps.metrics.socketConnections.inc({ namespace: 'customer' });
    socket.on('disconnect', () => deps.metrics.socketConnections.dec({ namespace: 'customer' }));
    bindEvents(
      socket,
      CUSTOMER_EVENT_SCHEMAS,
      {
        ...mediaHandlers(deps.calls, { role: 'customer', customerId }),
        'chat:start': (p) => deps.chat.startChat(customerId, p),
        'call:start': (p) => {
          // Refused up front rather than queueing a call that could never carry a voice.
          if (!deps.calls?.available()) throw new DomainError('MEDIA_UNAVAILABLE', 'calls are not available right now; chat is');
          return deps.chat.startChat(customerId, { ...p, channel: p.video ? 'video' : 'call' });
        },
        'chat:send': (p) => deps.chat.customerSend(customerId, p),
        'chat:resume': async (p) => ({
          ...(await deps.chat.customerView(customerId, p.taskId)),
          media: (await deps.calls?.view({ role: 'customer', customerId }, p.taskId)) ?? null,
        }),
        'chat:leave': async (p) => ({ status: await deps.chat.customerLeave(customerId, p.taskId) }),
        'chat:callback': (p) => deps.chat.requestCallback(customerId, p.taskId, p.phone),
        'chat:rate': (p) => {
          if (!deps.context) throw new DomainError('NOT_FOUND', 'ratings are not taken on this server');
          return deps.context.rate(customerId, p);
        },
      },
      { namespace: 'customer', logger, metrics: deps.metrics, expiresAt: principal.expiresAt },
    );
  });

  agents.on('connection', (socket) => {
    const principal = socket.data.principal as Extract<Principal, { kind: 'staff' }>;
    const agentId = principal.accountId;
    const logger = deps.logger.child({ component: 'socket', ns: 'agent', agentId });
    void socket.join(agentRoom(agentId));
    deps.metrics.socketConnections.inc({ namespace: 'agent' });
    // Handlers are bound before the async hello, so no early event is lost.
    bindEvents(
      socket,
      AGENT_EVENT_SCHEMAS,
      {
        ...mediaHandlers(deps.calls, { role: 'agent', agentId }),
        'media:invite': (p) => {
          if (!deps.calls) throw new DomainError('MEDIA_UNAVAILABLE', 'calls are not available on this server');
          return deps.calls.invite({ role: 'agent', agentId }, p);
        },
        'media:hold': (p) => {
          if (!deps.calls) throw new DomainError('MEDIA_UNAVAILABLE', 'calls are not available on this server');
          return deps.calls.hold({ role: 'agent', agentId }, p);
        },
        'presence:set': (p) => deps.chat.setPresence(agentId, p.state, p.reason),
        'offer:accept': (p) => deps.chat.accept(agentId, p.taskId),
        'offer:reject': async (p) => {
          await deps.chat.reject(agentId, p.taskId);
          return { taskId: p.taskId };
        },
        'chat:send': (p) => deps.chat.agentSend(agentId, p),
        'chat:end': async (p) => ({ taskId: p.taskId, status: await deps.chat.agentEnd(agentId, p.taskId) }),
        'wrapup:done': async (p) => ({ taskId: p.taskId, status: await deps.chat.wrapUpDone(agentId, p) }),
        'task:transfer': (p) => deps.chat.transfer(agentId, p),
        'social:reply': (p) => socialOrFail(deps.social).recordReply(agentId, p.taskId, p.text),
        'social:reach': (p) => socialOrFail(deps.social).reachAuthor(agentId, p.taskId),
        'social:handle': (p) => socialOrFail(deps.social).handle(agentId, p),
        'app:visibility': (p) => {
          socket.data.visible = p.visible;
          return { visible: p.visible };
        },
      },
      { namespace: 'agent', logger, metrics: deps.metrics, expiresAt: principal.expiresAt },
    );
    const connected = deps.chat.agentConnected(agentId);
    socket.on('disconnect', (reason) => {
      deps.metrics.socketConnections.dec({ namespace: 'agent' });
      logger.info('agent disconnected', { reason });
      // Only a connection that was counted in is counted out.
      void connected.then(() => deps.chat.agentDisconnected(agentId), () => undefined);
    });
    connected
      .then(async ({ account, status, tasks, offers }) => {
        const party: Party = { role: 'agent', agentId };
        const withMedia = await Promise.all(tasks.map(async (t) => ({ ...t, media: (await deps.calls?.view(party, t.taskId)) ?? null })));
        socket.emit('hello', { agentId, displayName: account.displayName, status, tasks: withMedia, offers });
        logger.info('agent connected', { tasks: tasks.length });
      })
      .catch((err: unknown) => {
        logger.error('agent connect failed', { err });
        socket.disconnect(true);
      });
  });

  const supervisors = deps.queueMonitor ? registerSupervisorNamespace(io, { ...deps, monitor: deps.queueMonitor }) : null;

  // After close, a late emit would publish on a Redis adapter client that is quitting (an unhandled rejection).
  let closed = false;
  const notifier: ChatNotifier & CallNotifier = {
    toCustomer: (customerId, event, ...args) => {
      if (!closed) customers.to(customerRoom(customerId)).emit(event, ...args);
    },
    toAgent: (agentId, event, ...args) => {
      if (!closed) agents.to(agentRoom(agentId)).emit(event, ...args);
    },
    toSupervisor: (accountId, event, ...args) => {
      if (!closed) supervisors?.to(supervisorRoom(accountId)).emit(event, ...args);
    },
  };

  return {
    io,
    notifier,
    // Asks every node (through the adapter): the agent may be connected to another one.
    agentVisible: async (agentId) => (await agents.in(agentRoom(agentId)).fetchSockets()).some((s) => s.data.visible === true),
    close: () => {
      closed = true;
      return new Promise<void>((resolve) => void io.close(() => resolve()));
    },
  };
}
