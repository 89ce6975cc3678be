// The queue monitor turns chat and routing events into the per-queue figures of docs/routing.md:
// waiting, service level, ASA, AHT, abandon rate, answer rate per agent, occupancy, expected wait.
import { afterEach, describe, expect, it } from '@jest/globals';
import { TypedEmitter } from '../../../lib/typed-emitter.js';
import type { ChatObserverEvents } from '../../../chat/chat-service.js';
import type { RoutingEvents, TaskTicket } from '../../../routing/engine.js';
import { QueueMonitor, type AgentWorkState } from '../../../routing/queue-monitor.js';

const SEC = 1000;
const MIN = 60 * SEC;
const BUCKET = 15 * MIN;
const T0 = Math.ceil(1_700_000_000_000 / BUCKET) * BUCKET;

function setup(opts: { queueIds?: string[]; staleWaitingMs?: number } = {}) {
  const chat = new TypedEmitter<ChatObserverEvents>();
  const routing = new TypedEmitter<RoutingEvents>();
  const clock = { now: T0 };
  const agents = new Map<string, AgentWorkState | null>();
  const store = new Map<string, Array<{ id: string; enqueuedAt: number }>>();
  let stateDelay: (agentId: string) => Promise<void> = async () => undefined;
  let readDelay: () => Promise<void> = async () => undefined;
  const monitor = new QueueMonitor(
    {
      chat,
      routing,
      agentState: async (id) => {
        const s = agents.get(id) ?? null; // read at call time, like the store
        await stateDelay(id);
        return s;
      },
      waitingOrder: async (queueId) => {
        const order = [...(store.get(queueId) ?? [])];
        await readDelay();
        return order;
      },
      queueIds: async () => opts.queueIds ?? ['general'],
    },
    { now: () => clock.now, reconcileIntervalMs: 0, staleWaitingMs: opts.staleWaitingMs ?? 15 * SEC },
  );
  const ticket = (id: string, queueId = 'general'): TaskTicket => ({ id, queueId, priority: 0, enqueuedAt: clock.now });
  return {
    chat,
    routing,
    clock,
    agents,
    store,
    monitor,
    ticket,
    setStateDelay: (f: typeof stateDelay) => (stateDelay = f),
    setReadDelay: (f: typeof readDelay) => (readDelay = f),
    /** Sets the agent's state and fires a presence event, then waits for the lookup. */
    async presence(agentId: string, s: AgentWorkState | null) {
      agents.set(agentId, s);
      routing.safeEmit('presence', agentId);
      await monitor.settled();
    },
  };
}

let monitors: QueueMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
});
function track<T extends { monitor: QueueMonitor }>(t: T): T {
  monitors.push(t.monitor);
  return t;
}

describe('contacts', () => {
  it('counts waiting, answered and abandoned contacts with service level, ASA and abandon rate', async () => {
    const { chat, clock, monitor } = track(setup());
    await monitor.ready;
    chat.safeEmit('task:queued', { taskId: 't1', queueId: 'general', channel: 'chat', at: T0 });
    chat.safeEmit('task:queued', { taskId: 't2', queueId: 'general', channel: 'chat', at: T0 + 5 * SEC });
    clock.now = T0 + 10 * SEC;
    expect(monitor.live('general')).toMatchObject({ waiting: 2, longestWaitMs: 10 * SEC, oldestEnqueuedAt: T0, waitingOverThreshold: 0 });

    chat.safeEmit('task:answered', { taskId: 't1', queueId: 'general', agentId: 'a1', at: T0 + 10 * SEC, waitMs: 10 * SEC });
    chat.safeEmit('task:abandoned', { taskId: 't2', queueId: 'general', at: T0 + 35 * SEC, waitMs: 30 * SEC });
    chat.safeEmit('task:completed', { taskId: 't1', queueId: 'general', agentId: 'a1', at: T0 + 70 * SEC, handleMs: 60 * SEC });
    clock.now = T0 + 80 * SEC;

    expect(monitor.live('general')).toMatchObject({ waiting: 0, longestWaitMs: 0 });
    const i = monitor.interval('general', T0, T0 + 1)!;
    expect(i).toMatchObject({
      from: T0,
      to: T0 + BUCKET,
      entered: 2,
      left: 2,
      answered: 1,
      abandoned: 1,
      serviceLevel: 0.5, // 10 s within the 20 s threshold, 30 s not
      asaMs: 10 * SEC,
      abandonRate: 0.5,
      handled: 1,
      ahtMs: 60 * SEC,
      longestWaitMs: 30 * SEC,
    });
  });

  it('counts a leave for a task it never saw arrive, from the wait the event carries', () => {
    const { chat, monitor } = track(setup());
    chat.safeEmit('task:answered', { taskId: 'old', queueId: 'general', agentId: 'a1', at: T0 + 50 * SEC, waitMs: 45 * SEC });
    expect(monitor.interval('general', T0, T0 + 1)).toMatchObject({ entered: 0, answered: 1, asaMs: 45 * SEC, answeredWithinThreshold: 0 });
  });

  it('gives the current interval and a chosen one in the snapshot of every queue', async () => {
    const { chat, clock, monitor } = track(setup({ queueIds: ['general', 'billing'] }));
    await monitor.ready;
    chat.safeEmit('task:queued', { taskId: 't1', queueId: 'billing', channel: 'chat', at: T0 + 1 * SEC });
    clock.now = T0 + BUCKET + 5 * SEC; // the next interval
    const all = monitor.snapshotAll();
    expect(all.at).toBe(clock.now);
    expect(all.queues.map((q) => q.queueId)).toEqual(['general', 'billing']);
    const billing = all.queues[1]!;
    expect(billing.live.waiting).toBe(1);
    expect(billing.interval).toMatchObject({ from: T0 + BUCKET, to: T0 + 2 * BUCKET, entered: 0 });
    expect(monitor.snapshot('billing', T0, T0 + BUCKET)!.interval).toMatchObject({ from: T0, entered: 1 });
    expect(monitor.snapshot('nope')).toBeNull();
  });
});

describe('offers and answer rate', () => {
  it('counts offered, answered, missed (timeout, rejected) and withdrawn (taken, abandoned, not ready, agent gone) per agent', () => {
    const { chat, routing, monitor, ticket } = track(setup());
    const offer = (agentId: string, taskId: string) => routing.safeEmit('offer', agentId, ticket(taskId), T0 + 20 * SEC);
    offer('a1', 't1');
    offer('a2', 't1'); // ring-all
    chat.safeEmit('task:queued', { taskId: 't1', queueId: 'general', channel: 'chat', at: T0 });
    chat.safeEmit('task:answered', { taskId: 't1', queueId: 'general', agentId: 'a1', at: T0 + 2 * SEC, waitMs: 2 * SEC });
    routing.safeEmit('offer:revoked', 'a2', 't1', 'taken');
    offer('a1', 't2');
    routing.safeEmit('offer:revoked', 'a1', 't2', 'timeout');
    offer('a2', 't2');
    routing.safeEmit('offer:revoked', 'a2', 't2', 'rejected');
    offer('a1', 't3');
    routing.safeEmit('offer:revoked', 'a1', 't3', 'abandoned');
    offer('a1', 't4');
    routing.safeEmit('offer:revoked', 'a1', 't4', 'not_ready');
    offer('a2', 't5');
    routing.safeEmit('offer:revoked', 'a2', 't5', 'agent_gone');
    routing.safeEmit('offer:revoked', 'a3', 'unknown', 'timeout'); // never offered here: ignored
    routing.safeEmit('offer:revoked', 'a1', 't2', 'timeout'); // twice: counted once

    const i = monitor.interval('general', T0, T0 + 1)!;
    expect(i).toMatchObject({ offered: 7, offersAnswered: 1, offersMissed: 2, offersWithdrawn: 4, answerRate: 1 / 3 });
    expect(i.agents['a1']).toMatchObject({ offered: 4, answered: 1, missed: 1, withdrawn: 2, answerRate: 0.5 });
    expect(i.agents['a2']).toMatchObject({ offered: 3, answered: 0, missed: 1, withdrawn: 2, answerRate: 0 });
    expect(i.agents['a3']).toBeUndefined();
  });
});

describe('occupancy', () => {
  const ready = (activeTasks: number, queues = ['general']): AgentWorkState => ({ presence: 'ready', activeTasks, capacity: 2, queues });

  it('books busy and available time from presence changes, leaves not-ready time out, and includes the span in progress', async () => {
    const s = track(setup({ queueIds: ['general', 'billing'] }));
    await s.presence('a1', { presence: 'not_ready', activeTasks: 0, capacity: 2, queues: ['general', 'billing'] });
    s.clock.now = T0 + 30 * SEC;
    await s.presence('a1', ready(0, ['general', 'billing'])); // 30 s not ready: not counted
    s.clock.now = T0 + 90 * SEC;
    await s.presence('a1', ready(1, ['general', 'billing'])); // 60 s available
    s.clock.now = T0 + 120 * SEC; // 30 s busy so far, still busy
    expect(s.monitor.interval('general', T0, T0 + 1)).toMatchObject({ availableMs: 60 * SEC, busyMs: 30 * SEC, occupancy: 1 / 3 });
    s.clock.now = T0 + 150 * SEC;
    await s.presence('a1', null); // logged off after 60 s busy in all
    s.clock.now = T0 + 500 * SEC;
    const g = s.monitor.interval('general', T0, T0 + 1)!;
    expect(g).toMatchObject({ availableMs: 60 * SEC, busyMs: 60 * SEC, occupancy: 0.5 });
    expect(g.agents['a1']).toMatchObject({ busyMs: 60 * SEC, availableMs: 60 * SEC, occupancy: 0.5 });
    expect(s.monitor.interval('billing', T0, T0 + 1)).toMatchObject({ availableMs: 60 * SEC, busyMs: 60 * SEC });
  });

  it('counts a not-ready agent still holding a task as busy', async () => {
    const s = track(setup());
    await s.presence('a1', { presence: 'not_ready', activeTasks: 1, capacity: 2, queues: ['general'] });
    s.clock.now = T0 + 10 * SEC;
    expect(s.monitor.interval('general', T0, T0 + 1)).toMatchObject({ busyMs: 10 * SEC, availableMs: 0, occupancy: 1 });
  });

  it('looks an agent up once at a time and folds events meanwhile into one more lookup, in order', async () => {
    const s = track(setup());
    let lookups = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    s.setStateDelay(async () => {
      if (++lookups === 1) await gate; // the first lookup is slow
    });
    s.agents.set('a1', ready(0));
    s.routing.safeEmit('presence', 'a1'); // reads "available" at 0 s
    s.clock.now = T0 + 5 * SEC;
    s.routing.safeEmit('presence', 'a1');
    s.clock.now = T0 + 10 * SEC;
    s.agents.set('a1', ready(1));
    s.routing.safeEmit('presence', 'a1'); // folded with the one before: "busy" from 10 s
    release();
    await s.monitor.settled();
    expect(lookups).toBe(2);
    s.clock.now = T0 + 20 * SEC;
    expect(s.monitor.interval('general', T0, T0 + 1)).toMatchObject({ availableMs: 10 * SEC, busyMs: 10 * SEC });
  });
});

describe('expected wait', () => {
  it('is position ÷ serving slots × recent average handle time, and unknown without history or agents', async () => {
    const s = track(setup());
    await s.presence('a1', { presence: 'ready', activeTasks: 1, capacity: 2, queues: ['general'] });
    expect(s.monitor.expectedWaitMs('general', 1)).toBeNull(); // no history yet
    for (const [i, ms] of [50, 60, 70].entries()) {
      s.chat.safeEmit('task:completed', { taskId: `t${i}`, queueId: 'general', agentId: 'a1', at: T0 + i * SEC, handleMs: ms * SEC });
    }
    expect(s.monitor.expectedWaitMs('general', 4)).toBe(120 * SEC); // 4 ÷ 2 slots × 60 s
    expect(s.monitor.expectedWaitMs('general', 0)).toBeNull();
    expect(s.monitor.expectedWaitMs('general', 1.5)).toBeNull();
    expect(s.monitor.live('general')).toMatchObject({ servingAgents: 2, expectedWaitMs: 30 * SEC }); // a newcomer: place 1
    await s.presence('a1', { presence: 'not_ready', activeTasks: 1, capacity: 2, queues: ['general'] });
    expect(s.monitor.expectedWaitMs('general', 4)).toBeNull(); // nobody serving
    expect(s.monitor.expectedWaitMs('billing', 1)).toBeNull();
  });
});

describe('the waiting set against the queue store', () => {
  it('counts tasks restored at start as waiting without an entry, and an arrival seen after them once', async () => {
    const s = track(setup());
    s.store.set('general', [{ id: 'r1', enqueuedAt: T0 - 30 * SEC }]);
    await s.monitor.ready;
    expect(s.monitor.live('general')).toMatchObject({ waiting: 1, longestWaitMs: 30 * SEC });
    expect(s.monitor.interval('general', T0, T0 + 1)!.entered).toBe(0);

    // The store shows a new task before its task:queued event arrives.
    s.store.set('general', [{ id: 'r1', enqueuedAt: T0 - 30 * SEC }, { id: 'n1', enqueuedAt: T0 }]);
    await s.monitor.refresh();
    s.chat.safeEmit('task:queued', { taskId: 'n1', queueId: 'general', channel: 'chat', at: T0 });
    expect(s.monitor.live('general')!.waiting).toBe(2);
    expect(s.monitor.interval('general', T0, T0 + 1)!.entered).toBe(1);
  });

  it('drops a task the store lost without a leave event after staleWaitingMs, uncounted', async () => {
    const s = track(setup({ staleWaitingMs: 10 * SEC }));
    s.store.set('general', [{ id: 't1', enqueuedAt: T0 }]);
    s.chat.safeEmit('task:queued', { taskId: 't1', queueId: 'general', channel: 'chat', at: T0 });
    await s.monitor.ready;
    s.store.set('general', []); // answered on another node
    s.clock.now = T0 + 1 * SEC;
    await s.monitor.refresh();
    expect(s.monitor.live('general')!.waiting).toBe(1); // maybe its event is on the way
    s.clock.now = T0 + 12 * SEC;
    await s.monitor.refresh();
    expect(s.monitor.live('general')!.waiting).toBe(0);
    expect(s.monitor.interval('general', T0, T0 + 1)).toMatchObject({ entered: 1, left: 0 });
  });

  it('does not put back a task that left while the store was being read', async () => {
    const s = track(setup());
    await s.monitor.ready;
    s.chat.safeEmit('task:queued', { taskId: 't1', queueId: 'general', channel: 'chat', at: T0 });
    s.store.set('general', [{ id: 't1', enqueuedAt: T0 }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let readStarted!: () => void;
    const started = new Promise<void>((r) => (readStarted = r));
    s.setReadDelay(() => {
      readStarted();
      return gate;
    });
    const refreshing = s.monitor.refresh();
    await started; // the read has seen t1 waiting…
    s.clock.now = T0 + 3 * SEC;
    s.chat.safeEmit('task:answered', { taskId: 't1', queueId: 'general', agentId: 'a1', at: T0 + 3 * SEC, waitMs: 3 * SEC });
    release(); // …and returns after it was answered
    await refreshing;
    await s.monitor.settled();
    expect(s.monitor.live('general')!.waiting).toBe(0);
    expect(s.monitor.interval('general', T0, T0 + 1)).toMatchObject({ entered: 1, answered: 1 });
  });
});

describe('notifications and shutdown', () => {
  it('tells listeners which queue changed, and stops listening on close', async () => {
    const s = setup();
    await s.monitor.ready;
    const seen: string[] = [];
    const off = s.monitor.onChange((q) => seen.push(q));
    s.chat.safeEmit('task:queued', { taskId: 't1', queueId: 'billing', channel: 'chat', at: T0 });
    expect(seen).toEqual(['billing']);
    off();
    s.chat.safeEmit('task:queued', { taskId: 't2', queueId: 'general', channel: 'chat', at: T0 });
    expect(seen).toEqual(['billing']);
    s.monitor.close();
    s.chat.safeEmit('task:queued', { taskId: 't3', queueId: 'general', channel: 'chat', at: T0 });
    expect(s.monitor.live('general')!.waiting).toBe(1); // t2 only
  });
});
