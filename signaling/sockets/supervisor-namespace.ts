// /supervisor: live queue metrics for supervisors and admins. A snapshot on connect, then one every few
// seconds and soon after a change (throttled). Each node pushes only to its own connections, so with
// several nodes the snapshots of different nodes never interleave on one client.
import type { Namespace, Server, Socket } from 'socket.io';
import { DomainError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import {
  SUPERVISOR_EVENT_SCHEMAS,
  type QueueMetricsSnapshot,
  type SupervisorClientToServer,
  type SupervisorServerToClient,
} from '../../protocol/events.js';
import type { Principal, TokenService } from '../auth/tokens.js';
import type { Metrics } from '../metrics.js';
import type { QueueMonitor } from '../../routing/queue-monitor.js';
import type { CallService } from '../../calls/call-service.js';
import { bindEvents } from './event-binding.js';
import type { WaitEscalation } from '../../routing/wait-escalation.js';

type StaffPrincipal = Extract<Principal, { kind: 'staff' }>;

interface SupervisorSocketData {
  principal: StaffPrincipal;
  /** Queues this connection follows; null: all. */
  queueIds: Set<string> | null;
}

type SupervisorNamespace = Namespace<SupervisorClientToServer, SupervisorServerToClient, Record<string, never>, SupervisorSocketData>;
type SupervisorSocket = Socket<SupervisorClientToServer, SupervisorServerToClient, Record<string, never>, SupervisorSocketData>;

export interface SupervisorNamespaceDeps {
  tokens: TokenService;
  monitor: Pick<QueueMonitor, 'snapshotAll' | 'onChange'>;
  logger: Logger;
  metrics: Metrics;
  /** Call monitoring (listen, whisper, barge); without it those events answer that calls are unavailable. */
  calls?: CallService;
  /** Maximum-wait escalations, alerted to the supervisors following the queue (this node's). */
  escalations?: Pick<WaitEscalation, 'on'>;
}

export const supervisorRoom = (accountId: string): string => `supervisor:${accountId}`;

export interface SupervisorNamespaceOptions {
  /** A snapshot at least this often, ms (default 2 s). */
  pushIntervalMs?: number;
  /** After a change, no sooner than this after the previous snapshot, ms (default 500). */
  throttleMs?: number;
}

/** A connect error whose message is the wire code, as on the other namespaces. */
function connectError(err: unknown): Error {
  const code = err instanceof DomainError ? err.code : 'UNAUTHENTICATED';
  const message = err instanceof DomainError ? err.message : 'authentication failed';
  return Object.assign(new Error(code), { data: { code, message } });
}

export function registerSupervisorNamespace(io: Server, deps: SupervisorNamespaceDeps, opts: SupervisorNamespaceOptions = {}): SupervisorNamespace {
  const pushIntervalMs = opts.pushIntervalMs ?? 2_000;
  const throttleMs = opts.throttleMs ?? 500;
  const nsp = io.of('/supervisor') as SupervisorNamespace;

  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    (typeof token === 'string' && token.length <= 4096 ? deps.tokens.verify(token) : Promise.reject(new DomainError('UNAUTHENTICATED', 'missing token')))
      .then((principal) => {
        if (principal.kind !== 'staff' || (principal.role !== 'supervisor' && principal.role !== 'admin')) {
          throw new DomainError('FORBIDDEN', 'supervisor or admin token required');
        }
        if (principal.mustChangePassword) throw new DomainError('PASSWORD_CHANGE_REQUIRED', 'change your one-time password first');
        socket.data.principal = principal;
        socket.data.queueIds = null;
        next();
      })
      .catch((err: unknown) => next(connectError(err)));
  });

  const view = (socket: SupervisorSocket, s: QueueMetricsSnapshot): QueueMetricsSnapshot => {
    const only = socket.data.queueIds;
    return only ? { at: s.at, queues: s.queues.filter((q) => only.has(q.queueId)) } : s;
  };

  // Timers and the change listener run only while someone is connected here.
  let timer: NodeJS.Timeout | null = null;
  let pending: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  let lastPush = 0;

  const push = () => {
    if (pending) clearTimeout(pending);
    pending = null;
    lastPush = Date.now();
    if (nsp.sockets.size === 0) return;
    const snapshot = deps.monitor.snapshotAll();
    for (const socket of nsp.sockets.values()) {
      // The stream needs no events from the client, so token expiry is checked here.
      if (lastPush >= socket.data.principal.expiresAt) socket.disconnect(true);
      else socket.emit('queues:metrics', view(socket, snapshot));
    }
  };
  const changed = () => {
    if (!pending) pending = setTimeout(push, Math.max(0, lastPush + throttleMs - Date.now()));
  };
  const start = () => {
    if (timer) return;
    timer = setInterval(push, pushIntervalMs);
    timer.unref();
    unsubscribe = deps.monitor.onChange(changed);
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    if (pending) clearTimeout(pending);
    unsubscribe?.();
    timer = pending = unsubscribe = null;
  };

  // Each node escalates what it sees and alerts its own supervisors; a repeat from another node is the same alert.
  deps.escalations?.on('escalated', (e) => {
    for (const socket of nsp.sockets.values()) {
      if (!socket.data.queueIds || socket.data.queueIds.has(e.queueId)) socket.emit('queue:alert', e);
    }
  });

  nsp.on('connection', (socket) => {
    const principal = socket.data.principal;
    const logger = deps.logger.child({ component: 'socket', ns: 'supervisor', accountId: principal.accountId });
    deps.metrics.socketConnections.inc({ namespace: 'supervisor' });
    void socket.join(supervisorRoom(principal.accountId));
    const calls = (): CallService => {
      if (!deps.calls) throw new DomainError('MEDIA_UNAVAILABLE', 'calls are not available on this server');
      return deps.calls;
    };
    const me = principal.accountId;
    bindEvents(
      socket,
      SUPERVISOR_EVENT_SCHEMAS,
      {
        'queues:subscribe': (p) => {
          socket.data.queueIds = p.queueIds && p.queueIds.length > 0 ? new Set(p.queueIds) : null;
          return view(socket, deps.monitor.snapshotAll());
        },
        'calls:list': () => calls().activeCalls(me),
        'monitor:join': (p) => calls().monitorJoin(me, p),
        'monitor:mode': (p) => calls().monitorMode(me, p),
        'monitor:coach': (p) => calls().monitorCoach(me, p),
        'monitor:leave': (p) => calls().monitorLeave(me, p.taskId),
      },
      { namespace: 'supervisor', logger, metrics: deps.metrics, expiresAt: principal.expiresAt },
    );
    socket.on('disconnect', () => {
      deps.metrics.socketConnections.dec({ namespace: 'supervisor' });
      // A supervisor who closed the tab stops monitoring (and whispering) at once.
      if (deps.calls) void deps.calls.monitorLeaveAll(me).catch(() => undefined);
      if (nsp.sockets.size === 0) stop();
    });
    start();
    socket.emit('queues:metrics', view(socket, deps.monitor.snapshotAll()));
  });

  return nsp;
}
