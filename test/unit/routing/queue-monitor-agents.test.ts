// The wallboard's agents by state per queue (docs/routing.md, "Metrics"): each agent counted once in
// every queue it serves, as its app shows it (ready, busy, wrap-up, not ready), and, once logged off,
// as logged off in the queues it served when last logged in. Wrap-up has no routing event: the end of
// a conversation and of its wrap-up make the monitor look the agent up again. Of the ready, those whose
// app is closed and who get offers by push only (docs/push.md) are counted apart too (`byPush`).
import { afterEach, expect, it } from '@jest/globals';
import { TypedEmitter } from '../../../lib/typed-emitter.js';
import type { ChatObserverEvents } from '../../../chat/chat-service.js';
import { PUSH_REACHABLE_REASON, type AgentSnapshot, type RoutingEngine, type RoutingEvents } from '../../../routing/engine.js';
import { QueueMonitor, routingSource, type AgentWorkState, type ShownAgentState } from '../../../routing/queue-monitor.js';

const monitors: QueueMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
});

function setup(withShownState: boolean) {
  const chat = new TypedEmitter<ChatObserverEvents>();
  const routing = new TypedEmitter<RoutingEvents>();
  const work = new Map<string, AgentWorkState | null>();
  const shown = new Map<string, ShownAgentState>();
  const monitor = new QueueMonitor(
    {
      chat,
      routing,
      agentState: async (id) => work.get(id) ?? null,
      ...(withShownState ? { shownState: async (id: string) => shown.get(id) ?? 'logged_off' } : {}),
      waitingOrder: async () => [],
      queueIds: async () => ['general', 'billing'],
    },
    { reconcileIntervalMs: 0 },
  );
  monitors.push(monitor);
  return { chat, routing, work, shown, monitor };
}

const agentsOf = (m: QueueMonitor, queueId: string) => m.live(queueId)?.agents;

it('counts agents per queue by the state their app shows, wrap-up and logged off included', async () => {
  const s = setup(true);
  await s.monitor.ready;
  const inGeneral = (id: string, state: ShownAgentState, activeTasks = 0, queues = ['general']) => {
    s.work.set(id, state === 'logged_off' ? null : { presence: state === 'not_ready' ? 'not_ready' : 'ready', activeTasks, capacity: 1, queues });
    s.shown.set(id, state);
  };
  inGeneral('a1', 'ready', 0, ['general', 'billing']);
  inGeneral('a2', 'busy', 1);
  inGeneral('a3', 'not_ready');
  for (const id of ['a1', 'a2', 'a3']) s.routing.safeEmit('presence', id);
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toEqual({ ready: 1, byPush: 0, busy: 1, wrapup: 0, notReady: 1, loggedOff: 0 });
  expect(agentsOf(s.monitor, 'billing')).toEqual({ ready: 1, byPush: 0, busy: 0, wrapup: 0, notReady: 0, loggedOff: 0 });

  // a2's conversation ends: wrap-up, seen through the chat event alone.
  inGeneral('a2', 'wrapup', 1);
  s.chat.safeEmit('task:ended', { taskId: 't1', queueId: 'general', customerId: 'c1', agentId: 'a2', at: Date.now(), by: 'agent' });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toMatchObject({ busy: 0, wrapup: 1 });

  // Wrap-up done: ready again.
  inGeneral('a2', 'ready');
  s.chat.safeEmit('task:completed', { taskId: 't1', queueId: 'general', agentId: 'a2', at: Date.now(), handleMs: 1000 });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toMatchObject({ ready: 2, wrapup: 0 });

  // a1 logs off: counted as logged off in both queues it served.
  inGeneral('a1', 'logged_off');
  s.routing.safeEmit('agent:logged-off', 'a1');
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toEqual({ ready: 1, byPush: 0, busy: 0, wrapup: 0, notReady: 1, loggedOff: 1 });
  expect(agentsOf(s.monitor, 'billing')).toEqual({ ready: 0, byPush: 0, busy: 0, wrapup: 0, notReady: 0, loggedOff: 1 });
});

it('without the app state, derives it from presence and load (no wrap-up)', async () => {
  const s = setup(false);
  await s.monitor.ready;
  s.work.set('a1', { presence: 'ready', activeTasks: 2, capacity: 2, queues: ['general'] });
  s.work.set('a2', { presence: 'ready', activeTasks: 1, capacity: 2, queues: ['general'] });
  s.work.set('a3', { presence: 'not_ready', activeTasks: 0, capacity: 2, queues: ['general'] });
  for (const id of ['a1', 'a2', 'a3']) s.routing.safeEmit('presence', id);
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toEqual({ ready: 1, byPush: 0, busy: 1, wrapup: 0, notReady: 1, loggedOff: 0 });
});

it('counts a ready agent reachable by push as ready and by push, until it opens the app again', async () => {
  const s = setup(true);
  await s.monitor.ready;
  const put = (id: string, shown: ShownAgentState, work: Partial<AgentWorkState>) => {
    s.work.set(id, { presence: 'ready', activeTasks: 0, capacity: 1, queues: ['general', 'billing'], ...work });
    s.shown.set(id, shown);
    s.routing.safeEmit('presence', id);
  };
  put('phone', 'ready', { byPush: true });
  put('desk', 'ready', {});
  // Counted among the ready only: one flagged by push but shown busy is not "ready by push".
  put('busyFlag', 'busy', { activeTasks: 1, byPush: true });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toEqual({ ready: 2, byPush: 1, busy: 1, wrapup: 0, notReady: 0, loggedOff: 0 });
  expect(agentsOf(s.monitor, 'billing')).toMatchObject({ ready: 2, byPush: 1 });
  // Also in what the supervisor stream sends.
  expect(s.monitor.snapshotAll().queues.find((q) => q.queueId === 'general')?.live.agents).toMatchObject({ ready: 2, byPush: 1 });

  // The phone opens the app: still ready, no longer by push.
  put('phone', 'ready', { byPush: false });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toMatchObject({ ready: 2, byPush: 0 });

  // By push again, then set not ready (a missed offer): neither ready nor by push.
  put('phone', 'ready', { byPush: true });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toMatchObject({ ready: 2, byPush: 1 });
  put('phone', 'not_ready', { presence: 'not_ready' });
  await s.monitor.settled();
  expect(agentsOf(s.monitor, 'general')).toMatchObject({ ready: 1, byPush: 0, notReady: 1 });
});

it('reads "by push" from the reason the engine keeps with a ready agent', async () => {
  const routing = new TypedEmitter<RoutingEvents>();
  const snapshots = new Map<string, AgentSnapshot>();
  const ready = (reason: string | null): AgentSnapshot => ({ presence: 'ready', reason, activeTasks: 0, onCalls: 0, pendingOffers: 0, capacity: 1, connected: reason === null });
  const engine = Object.assign(routing, {
    agentSnapshot: async (id: string) => snapshots.get(id) ?? null,
    waitingOrder: async () => [],
    store: { getAgent: async (id: string) => (snapshots.has(id) ? { queues: ['general'] } : null) },
  }) as unknown as Pick<RoutingEngine, 'on' | 'off' | 'agentSnapshot' | 'waitingOrder' | 'store'>;
  const monitor = new QueueMonitor(
    { ...routingSource(engine), chat: new TypedEmitter<ChatObserverEvents>(), queueIds: async () => ['general'] },
    { reconcileIntervalMs: 0 },
  );
  monitors.push(monitor);
  await monitor.ready;
  snapshots.set('phone', ready(PUSH_REACHABLE_REASON));
  snapshots.set('desk', ready(null));
  routing.safeEmit('presence', 'phone');
  routing.safeEmit('presence', 'desk');
  await monitor.settled();
  expect(agentsOf(monitor, 'general')).toMatchObject({ ready: 2, byPush: 1 });

  // Back in the app: the engine drops the reason.
  snapshots.set('phone', ready(null));
  routing.safeEmit('presence', 'phone');
  await monitor.settled();
  expect(agentsOf(monitor, 'general')).toMatchObject({ ready: 2, byPush: 0 });
});
