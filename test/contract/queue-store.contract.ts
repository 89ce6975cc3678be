// The behaviour every QueueStore must have, run against each implementation (memory-store.test.ts,
// redis-store.test.ts), like socket.io-redis-adapter's "default test suite for all adapters". Times are
// plain numbers passed in; nothing here waits on a clock.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AgentAvailability, QueueStore, QueuedTask, Reservation } from '../../routing/store/index.js';

const T0 = 1_700_000_000_000;
const LATER = T0 + 60_000;

type AgentInput = Omit<AgentAvailability, 'load' | 'version'>;

function agent(agentId: string, over: Partial<AgentInput> = {}): AgentInput {
  return { agentId, presence: 'ready', reason: null, capacity: { chat: 2, call: 1 }, idleSince: T0, queues: ['q1'], ...over };
}

function task(taskId: string, over: Partial<QueuedTask> = {}): QueuedTask {
  return { taskId, queueId: 'q1', channel: 'chat', priority: 0, enqueuedAt: T0, ...over };
}

const ids = (list: Array<{ agentId: string }>): string[] => list.map((a) => a.agentId);
const taskIds = (list: Array<{ taskId: string }>): string[] => list.map((t) => t.taskId);

export function queueStoreContract(name: string, make: () => Promise<QueueStore>, dispose: (s: QueueStore) => Promise<void>): void {
  describe(`QueueStore contract: ${name}`, () => {
    let store: QueueStore;

    beforeEach(async () => {
      store = await make();
    });

    afterEach(async () => {
      await dispose(store);
    });

    /** Reserves and asserts success, for tests about what happens next. */
    async function reserved(taskId: string, agentId: string, expiresAt = LATER, shared = false): Promise<Reservation> {
      const result = await store.reserve(taskId, agentId, expiresAt, { shared });
      if (!result.ok) throw new Error(`reserve(${taskId}, ${agentId}) failed: ${result.reason}`);
      return result.reservation;
    }

    describe('agents', () => {
      it('creates an agent with no load and reads it back; unknown agents are null', async () => {
        const created = await store.putAgent(agent('a1', { reason: 'x', queues: ['q1', 'q2'], capacity: { chat: 3, video: 0 } }));
        expect(created).toEqual({
          agentId: 'a1',
          presence: 'ready',
          reason: 'x',
          capacity: { chat: 3, video: 0 },
          load: {},
          idleSince: T0,
          queues: ['q1', 'q2'],
          version: expect.any(Number),
        });
        expect(await store.getAgent('a1')).toEqual(created);
        expect(await store.getAgent('nobody')).toBeNull();
      });

      it('putAgent replaces presence, capacity and queues but keeps the load, and bumps the version', async () => {
        const first = await store.putAgent(agent('a1'));
        await store.holdSlot('a1', 'chat');
        const replaced = await store.putAgent(agent('a1', { presence: 'not_ready', reason: 'lunch', capacity: { chat: 5 }, queues: ['q2'], idleSince: T0 + 5 }));
        expect(replaced).toMatchObject({ presence: 'not_ready', reason: 'lunch', capacity: { chat: 5 }, load: { chat: 1 }, queues: ['q2'], idleSince: T0 + 5 });
        expect(replaced.version).toBeGreaterThan(first.version);
        expect(await store.availableAgents('q1', 'chat', 10)).toEqual([]);
        await store.setPresence('a1', 'ready', null, T0 + 10);
        expect(ids(await store.availableAgents('q2', 'chat', 10))).toEqual(['a1']);
      });

      it('returns copies: changing a returned record does not change the store', async () => {
        const a = await store.putAgent(agent('a1'));
        a.queues.push('q9');
        a.capacity.chat = 99;
        a.load.chat = 5;
        expect(await store.getAgent('a1')).toMatchObject({ queues: ['q1'], capacity: { chat: 2 }, load: {} });
      });

      it('setPresence changes presence and reason; unknown agents are null', async () => {
        await store.putAgent(agent('a1'));
        const a = await store.setPresence('a1', 'not_ready', 'break', T0 + 1);
        expect(a).toMatchObject({ presence: 'not_ready', reason: 'break' });
        expect(await store.getAgent('a1')).toMatchObject({ presence: 'not_ready', reason: 'break' });
        expect(await store.setPresence('ghost', 'ready', null, T0)).toBeNull();
        expect(await store.getAgent('ghost')).toBeNull();
      });

      it('an empty agent becoming ready is idle from then; a busy one keeps its idleSince', async () => {
        await store.putAgent(agent('empty', { presence: 'not_ready' }));
        await store.putAgent(agent('busy', { presence: 'not_ready' }));
        await store.holdSlot('busy', 'chat');
        expect((await store.setPresence('empty', 'ready', null, T0 + 500))!.idleSince).toBe(T0 + 500);
        expect((await store.setPresence('busy', 'ready', null, T0 + 500))!.idleSince).toBe(T0);
        // Already ready: a reason change is not a new idle period.
        expect((await store.setPresence('empty', 'ready', 'still', T0 + 900))!.idleSince).toBe(T0 + 500);
      });

      it('availableAgents lists ready agents of the queue with a free slot on the channel, longest idle first', async () => {
        await store.putAgent(agent('a3', { idleSince: T0 + 3 }));
        await store.putAgent(agent('a1', { idleSince: T0 + 1 }));
        await store.putAgent(agent('b2', { idleSince: T0 + 2 }));
        await store.putAgent(agent('a2', { idleSince: T0 + 2 })); // same idleSince as b2: by agent id
        await store.putAgent(agent('other-queue', { idleSince: T0, queues: ['q2'] }));
        await store.putAgent(agent('not-ready', { idleSince: T0, presence: 'not_ready' }));
        await store.putAgent(agent('logged-off', { idleSince: T0, presence: 'logged_off' }));
        await store.putAgent(agent('no-chat', { idleSince: T0, capacity: { chat: 0, call: 1 } }));
        await store.putAgent(agent('call-only', { idleSince: T0, capacity: { call: 1 } }));
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2', 'b2', 'a3']);
        expect(ids(await store.availableAgents('q1', 'chat', 2))).toEqual(['a1', 'a2']);
        expect(await store.availableAgents('q1', 'chat', 0)).toEqual([]);
        expect(ids(await store.availableAgents('q1', 'call', 10))).toEqual(['call-only', 'no-chat', 'a1', 'a2', 'b2', 'a3']);
        expect(ids(await store.availableAgents('q2', 'chat', 10))).toEqual(['other-queue']);
        expect(await store.availableAgents('q1', 'video', 10)).toEqual([]);
        expect(await store.availableAgents('nowhere', 'chat', 10)).toEqual([]);
        const [first] = await store.availableAgents('q1', 'chat', 1);
        expect(first).toEqual(await store.getAgent('a1'));
      });

      it('availableAgents follows presence, load and queue changes at once', async () => {
        await store.putAgent(agent('a1', { idleSince: T0 + 1, capacity: { chat: 1 } }));
        await store.putAgent(agent('a2', { idleSince: T0 + 2, capacity: { chat: 1 } }));
        await store.setPresence('a1', 'not_ready', 'break', T0 + 3);
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a2']);
        await store.setPresence('a1', 'ready', null, T0 + 4); // idle from T0 + 4 now: after a2
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a2', 'a1']);
        await store.holdSlot('a2', 'chat');
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1']);
        await store.releaseSlot('a2', 'chat', T0 + 9);
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2']);
        await store.putAgent(agent('a1', { idleSince: T0 + 4, capacity: { chat: 1 }, queues: ['q2'] }));
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a2']);
        expect(ids(await store.availableAgents('q2', 'chat', 10))).toEqual(['a1']);
        await store.putAgent(agent('a1', { idleSince: T0, capacity: { chat: 1 }, queues: ['q1', 'q2'] }));
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2']);
      });

      it('an agent who stays available moves when its idleSince changes', async () => {
        await store.putAgent(agent('a1', { idleSince: T0 + 1 }));
        await store.putAgent(agent('a2', { idleSince: T0 + 2 }));
        await store.holdSlot('a1', 'chat'); // one of two chat slots: still available, same place
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2']);
        await store.releaseSlot('a1', 'chat', T0 + 3); // empty again: idle from T0 + 3
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a2', 'a1']);
        expect(ids(await store.availableAgents('q1', 'call', 10))).toEqual(['a2', 'a1']);
        await store.putAgent(agent('a1', { idleSince: T0 })); // replaced idleSince: first again
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2']);
        expect(ids(await store.availableAgents('q1', 'call', 10))).toEqual(['a1', 'a2']);
      });

      it('orders many agents exactly by idleSince then id', async () => {
        const expected: Array<{ agentId: string; idleSince: number }> = [];
        for (let i = 0; i < 120; i++) {
          // A fixed scramble with repeats, so ties by id are exercised too.
          const idleSince = T0 + ((i * 37) % 50);
          const agentId = `agent-${String((i * 53) % 120).padStart(3, '0')}`;
          expected.push({ agentId, idleSince });
          await store.putAgent(agent(agentId, { idleSince }));
        }
        expected.sort((a, b) => a.idleSince - b.idleSince || (a.agentId < b.agentId ? -1 : 1));
        const some = expected.slice(0, 120).filter((_, i) => i % 7 === 0);
        for (const a of some) await store.setPresence(a.agentId, 'not_ready', null, T0);
        const left = expected.filter((a) => !some.includes(a));
        expect(ids(await store.availableAgents('q1', 'chat', 500))).toEqual(ids(left));
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(ids(left.slice(0, 10)));
      });

      it('holdSlot adds load without a capacity check; the agent leaves availability when full', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 1 } }));
        const held = await store.holdSlot('a1', 'chat');
        expect(held!.load).toEqual({ chat: 1 });
        expect(await store.availableAgents('q1', 'chat', 10)).toEqual([]);
        expect((await store.holdSlot('a1', 'chat'))!.load).toEqual({ chat: 2 });
        expect((await store.holdSlot('a1', 'video'))!.load).toEqual({ chat: 2, video: 1 });
        expect(await store.holdSlot('ghost', 'chat')).toBeNull();
      });

      it('releaseSlot frees one slot and sets idleSince only when the agent is empty', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 2, call: 1 } }));
        await store.holdSlot('a1', 'chat');
        await store.holdSlot('a1', 'chat');
        await store.holdSlot('a1', 'call');
        let a = await store.releaseSlot('a1', 'chat', T0 + 10);
        expect(a).toMatchObject({ load: { chat: 1, call: 1 }, idleSince: T0 });
        a = await store.releaseSlot('a1', 'call', T0 + 20);
        expect(a).toMatchObject({ load: { chat: 1 }, idleSince: T0 });
        a = await store.releaseSlot('a1', 'chat', T0 + 30);
        expect(a).toMatchObject({ load: {}, idleSince: T0 + 30 });
        // Nothing held: no negative load and no new idle period.
        a = await store.releaseSlot('a1', 'chat', T0 + 40);
        expect(a).toMatchObject({ load: {}, idleSince: T0 + 30 });
        expect(await store.releaseSlot('ghost', 'chat', T0)).toBeNull();
      });

      it('releaseSlotIfNoneWaiting frees the slot only when no task of the agent\'s queues waits without an offer', async () => {
        await store.putAgent(agent('a1', { queues: ['q1', 'q2'] }));
        await store.putAgent(agent('a2', { queues: ['q1'] }));
        await store.holdSlot('a1', 'chat');
        await store.holdSlot('a1', 'chat');
        // Nothing waiting: freed, and idleSince stays while a chat is still held.
        let r = await store.releaseSlotIfNoneWaiting('a1', 'chat', T0 + 10, 5);
        expect(r).toMatchObject({ released: true, agent: { load: { chat: 1 }, idleSince: T0 } });
        // A task waiting unoffered in one of its queues (q2): nothing changes.
        await store.enqueue(task('t1', { queueId: 'q2' }));
        expect(await store.releaseSlotIfNoneWaiting('a1', 'chat', T0 + 20, 5)).toEqual({ released: false });
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        // Once it is offered (to someone else), the slot may go.
        await store.putAgent(agent('a3', { queues: ['q2'] }));
        await reserved('t1', 'a3');
        r = await store.releaseSlotIfNoneWaiting('a1', 'chat', T0 + 30, 5);
        expect(r).toMatchObject({ released: true, agent: { load: {}, idleSince: T0 + 30 } });
        // Tasks of queues the agent does not serve do not hold it back.
        await store.enqueue(task('t2', { queueId: 'q9' }));
        await store.holdSlot('a2', 'chat');
        expect(await store.releaseSlotIfNoneWaiting('a2', 'chat', T0 + 40, 5)).toMatchObject({ released: true, agent: { load: {} } });
        // A full window of offered tasks may hide an unoffered one: treated as waiting.
        await store.holdSlot('a2', 'chat');
        await store.enqueue(task('t3', { enqueuedAt: T0 }));
        await store.enqueue(task('t4', { enqueuedAt: T0 + 1 }));
        await reserved('t3', 'a1');
        await reserved('t4', 'a1');
        expect(await store.releaseSlotIfNoneWaiting('a2', 'chat', T0 + 50, 2)).toEqual({ released: false });
        expect(await store.releaseSlotIfNoneWaiting('a2', 'chat', T0 + 50, 3)).toMatchObject({ released: true });
        expect(await store.releaseSlotIfNoneWaiting('ghost', 'chat', T0, 5)).toEqual({ released: true, agent: null });
      });

      it('the version grows with every change', async () => {
        const v: number[] = [];
        v.push((await store.putAgent(agent('a1')))!.version);
        v.push((await store.setPresence('a1', 'not_ready', null, T0))!.version);
        v.push((await store.setPresence('a1', 'ready', null, T0))!.version);
        v.push((await store.holdSlot('a1', 'chat'))!.version);
        v.push((await store.releaseSlot('a1', 'chat', T0))!.version);
        await store.enqueue(task('t1'));
        await reserved('t1', 'a1');
        v.push((await store.getAgent('a1'))!.version);
        for (let i = 1; i < v.length; i++) expect(v[i]).toBeGreaterThan(v[i - 1]!);
      });

      it('removeAgent forgets the agent and drops its offers; the task can be offered again', async () => {
        await store.putAgent(agent('a1'));
        await store.putAgent(agent('a2'));
        await store.enqueue(task('t1'));
        await reserved('t1', 'a1');
        await store.removeAgent('a1');
        expect(await store.getAgent('a1')).toBeNull();
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a2']);
        expect(await store.reservationsOfAgent('a1')).toEqual([]);
        expect(await store.reservationsOfTask('t1')).toEqual([]);
        expect(await store.expired(LATER, 10)).toEqual([]);
        expect(await store.position('t1')).toBe(1);
        expect((await store.reserve('t1', 'a2', LATER)).ok).toBe(true);
        await store.removeAgent('a1'); // unknown: no error
      });
    });

    describe('tasks', () => {
      it('serves by priority descending, then by arrival', async () => {
        await store.enqueue(task('old-low', { enqueuedAt: T0, priority: 0 }));
        await store.enqueue(task('new-high', { enqueuedAt: T0 + 50, priority: 5 }));
        await store.enqueue(task('old-high', { enqueuedAt: T0 + 10, priority: 5 }));
        await store.enqueue(task('new-low', { enqueuedAt: T0 + 60, priority: 0 }));
        await store.enqueue(task('negative', { enqueuedAt: T0 - 1000, priority: -3 }));
        await store.enqueue(task('elsewhere', { queueId: 'q2', priority: 100 }));
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['old-high', 'new-high', 'old-low', 'new-low', 'negative']);
        expect(taskIds(await store.waiting('q1', 2))).toEqual(['old-high', 'new-high']);
        expect(await store.waiting('q1', 0)).toEqual([]);
        expect(await store.waiting('empty', 10)).toEqual([]);
        expect((await store.waiting('q1', 1))[0]).toEqual({ ...task('old-high', { enqueuedAt: T0 + 10, priority: 5 }), reserved: false });
      });

      it('waiting() says which tasks have an offer standing, and the flag clears when the offer ends', async () => {
        await store.putAgent(agent('a1'));
        await store.putAgent(agent('a2'));
        await store.enqueue(task('t1', { enqueuedAt: T0 }));
        await store.enqueue(task('t2', { enqueuedAt: T0 + 1 }));
        await store.enqueue(task('t3', { enqueuedAt: T0 + 2 }));
        await reserved('t2', 'a1');
        await reserved('t3', 'a1', LATER, true);
        await reserved('t3', 'a2', LATER, true);
        const flags = async () => (await store.waiting('q1', 10)).map((t) => `${t.taskId}:${t.reserved}`);
        expect(await flags()).toEqual(['t1:false', 't2:true', 't3:true']);
        await store.cancel('t2', 'a1');
        await store.cancel('t3', 'a1');
        expect(await flags()).toEqual(['t1:false', 't2:false', 't3:true']);
        await store.cancel('t3', 'a2');
        expect(await flags()).toEqual(['t1:false', 't2:false', 't3:false']);
      });

      it('keeps extreme priorities and times exact', async () => {
        await store.enqueue(task('max', { priority: 100, enqueuedAt: 9_999_999_999_999 }));
        await store.enqueue(task('max-earlier', { priority: 100, enqueuedAt: 9_999_999_999_998 }));
        await store.enqueue(task('min', { priority: -100, enqueuedAt: 0 }));
        await store.enqueue(task('min-later', { priority: -100, enqueuedAt: 1 }));
        await store.enqueue(task('99', { priority: 99, enqueuedAt: 0 }));
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['max-earlier', 'max', '99', 'min', 'min-later']);
        expect(await store.getTask('max')).toEqual(task('max', { priority: 100, enqueuedAt: 9_999_999_999_999 }));
      });

      it('rejects priorities and times the order cannot represent exactly', async () => {
        await expect(store.enqueue(task('t', { priority: 101 }))).rejects.toThrow(TypeError);
        await expect(store.enqueue(task('t', { priority: 1.5 }))).rejects.toThrow(TypeError);
        await expect(store.enqueue(task('t', { enqueuedAt: 1e13 }))).rejects.toThrow(TypeError);
        await expect(store.enqueue(task('t', { enqueuedAt: -1 }))).rejects.toThrow(TypeError);
        await expect(store.enqueue(task('t', { channel: 'fax' as never }))).rejects.toThrow(TypeError);
        await store.enqueue(task('t'));
        await expect(store.setPriority('t', -101)).rejects.toThrow(TypeError);
        expect(await store.getTask('t')).toEqual(task('t'));
      });

      it('a priority change takes effect at once', async () => {
        await store.enqueue(task('t1', { enqueuedAt: T0 }));
        await store.enqueue(task('t2', { enqueuedAt: T0 + 1 }));
        await store.enqueue(task('t3', { enqueuedAt: T0 + 2 }));
        expect(await store.position('t3')).toBe(3);
        expect(await store.setPriority('t3', 1)).toBe(true);
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['t3', 't1', 't2']);
        expect(await store.position('t3')).toBe(1);
        expect(await store.position('t1')).toBe(2);
        expect((await store.getTask('t3'))!.priority).toBe(1);
        expect(await store.setPriority('t3', -1)).toBe(true);
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['t1', 't2', 't3']);
        expect(await store.setPriority('ghost', 1)).toBe(false);
        expect(await store.getTask('ghost')).toBeNull();
      });

      it('position and waitingCount are per queue; unknown tasks have no position', async () => {
        for (let i = 0; i < 5; i++) await store.enqueue(task(`a${i}`, { enqueuedAt: T0 + i }));
        await store.enqueue(task('b0', { queueId: 'q2' }));
        expect(await store.waitingCount('q1')).toBe(5);
        expect(await store.waitingCount('q2')).toBe(1);
        expect(await store.waitingCount('none')).toBe(0);
        expect(await store.position('a0')).toBe(1);
        expect(await store.position('a4')).toBe(5);
        expect(await store.position('b0')).toBe(1);
        expect(await store.position('ghost')).toBeNull();
        await store.removeTask('a0');
        expect(await store.position('a4')).toBe(4);
        expect(await store.waitingCount('q1')).toBe(4);
      });

      it('enqueue is idempotent: a task already waiting changes nothing', async () => {
        await store.enqueue(task('t1', { priority: 1 }));
        await store.enqueue(task('t2', { enqueuedAt: T0 + 1 }));
        await store.enqueue(task('t1', { priority: 0, enqueuedAt: T0 + 99, queueId: 'q2' }));
        expect(await store.getTask('t1')).toEqual(task('t1', { priority: 1 }));
        expect(await store.waitingCount('q1')).toBe(2);
        expect(await store.waitingCount('q2')).toBe(0);
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['t1', 't2']);
      });

      it('a removed task can come back with its original arrival time and place', async () => {
        await store.enqueue(task('t1', { enqueuedAt: T0 }));
        await store.enqueue(task('t2', { enqueuedAt: T0 + 1 }));
        expect((await store.removeTask('t1')).removed).toBe(true);
        expect(await store.removeTask('t1')).toEqual({ removed: false, cancelled: [] });
        expect(await store.getTask('t1')).toBeNull();
        expect(await store.position('t1')).toBeNull();
        await store.enqueue(task('t1', { enqueuedAt: T0 }));
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['t1', 't2']);
      });

      it('removeTask cancels its reservations and frees their slots', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 1 } }));
        await store.putAgent(agent('a2', { capacity: { chat: 1 } }));
        await store.enqueue(task('t1'));
        await reserved('t1', 'a1', LATER, true);
        await reserved('t1', 'a2', LATER + 1, true);
        expect(await store.availableAgents('q1', 'chat', 10)).toEqual([]);
        const { removed, cancelled } = await store.removeTask('t1');
        expect(removed).toBe(true);
        expect(cancelled).toEqual([
          { taskId: 't1', agentId: 'a1', channel: 'chat', expiresAt: LATER },
          { taskId: 't1', agentId: 'a2', channel: 'chat', expiresAt: LATER + 1 },
        ]);
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2']);
        expect((await store.getAgent('a1'))!.load).toEqual({});
        expect(await store.reservationsOfAgent('a1')).toEqual([]);
        expect(await store.reservationsOfTask('t1')).toEqual([]);
        expect(await store.expired(LATER + 10, 10)).toEqual([]);
      });
    });

    describe('reservations', () => {
      beforeEach(async () => {
        await store.putAgent(agent('a1', { idleSince: T0 + 1 }));
        await store.putAgent(agent('a2', { idleSince: T0 + 2 }));
        await store.putAgent(agent('a3', { idleSince: T0 + 3 }));
        await store.enqueue(task('t1'));
      });

      it('reserve takes a slot on the task channel and records the offer', async () => {
        const result = await store.reserve('t1', 'a1', LATER);
        const reservation = { taskId: 't1', agentId: 'a1', channel: 'chat', expiresAt: LATER };
        expect(result).toEqual({ ok: true, reservation });
        expect(await store.reservationsOfTask('t1')).toEqual([reservation]);
        expect(await store.reservationsOfAgent('a1')).toEqual([reservation]);
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        // Still waiting (and in place) until accepted.
        expect(await store.position('t1')).toBe(1);
        expect(await store.waitingCount('q1')).toBe(1);
      });

      it('a call excludes chats: an agent holding a call is full for chats unless the queue allows them', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 3, call: 1 } }));
        await store.holdSlot('a1', 'call');
        expect(await store.reserve('t1', 'a1', LATER)).toEqual({ ok: false, reason: 'agent_full' });
        expect((await store.getAgent('a1'))!.load).toEqual({ call: 1 });
        expect(await store.reserve('t1', 'a1', LATER, { chatsDuringCalls: true })).toMatchObject({ ok: true });
        expect((await store.getAgent('a1'))!.load).toEqual({ call: 1, chat: 1 });
      });

      it('a task is reserved once: the next agent gets task_reserved', async () => {
        await reserved('t1', 'a1');
        expect(await store.reserve('t1', 'a2', LATER)).toEqual({ ok: false, reason: 'task_reserved' });
        expect(await store.reserve('t1', 'a2', LATER, { shared: true })).toEqual({ ok: false, reason: 'task_reserved' });
        expect(await store.reserve('t1', 'a1', LATER)).toEqual({ ok: false, reason: 'task_reserved' });
        expect((await store.getAgent('a2'))!.load).toEqual({});
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
      });

      it('shared (ring-all) reservations coexist, but not with an exclusive one or twice per agent', async () => {
        await reserved('t1', 'a1', LATER, true);
        await reserved('t1', 'a2', LATER, true);
        expect(await store.reserve('t1', 'a3', LATER)).toEqual({ ok: false, reason: 'task_reserved' });
        expect(await store.reserve('t1', 'a1', LATER, { shared: true })).toEqual({ ok: false, reason: 'task_reserved' });
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        expect(ids(await store.reservationsOfTask('t1'))).toEqual(['a1', 'a2']);
        // Once all shared offers are gone, an exclusive one is possible again.
        await store.cancel('t1', 'a1');
        await store.cancel('t1', 'a2');
        expect((await store.reserve('t1', 'a3', LATER)).ok).toBe(true);
      });

      it('refuses tasks that are not waiting and agents that are unknown or not ready', async () => {
        expect(await store.reserve('ghost', 'a1', LATER)).toEqual({ ok: false, reason: 'task_not_waiting' });
        expect(await store.reserve('t1', 'ghost', LATER)).toEqual({ ok: false, reason: 'agent_unavailable' });
        await store.setPresence('a1', 'not_ready', 'break', T0);
        await store.setPresence('a2', 'logged_off', null, T0);
        expect(await store.reserve('t1', 'a1', LATER)).toEqual({ ok: false, reason: 'agent_unavailable' });
        expect(await store.reserve('t1', 'a2', LATER)).toEqual({ ok: false, reason: 'agent_unavailable' });
        expect((await store.getAgent('a1'))!.load).toEqual({});
        expect(await store.reservationsOfTask('t1')).toEqual([]);
        expect((await store.reserve('t1', 'a3', LATER)).ok).toBe(true);
      });

      it('respects capacity per channel', async () => {
        await store.enqueue(task('t2'));
        await store.enqueue(task('t3'));
        await store.enqueue(task('c1', { channel: 'call' }));
        await store.enqueue(task('c2', { channel: 'call' }));
        await store.enqueue(task('v1', { channel: 'video' }));
        await store.putAgent(agent('chatty', { capacity: { chat: 2, call: 0 } }));
        await reserved('t1', 'chatty');
        await reserved('t2', 'chatty');
        expect(await store.reserve('t3', 'chatty', LATER)).toEqual({ ok: false, reason: 'agent_full' });
        // Capacity 0, or none, means the channel is never offered: unavailable rather than full.
        expect(await store.reserve('c1', 'chatty', LATER)).toEqual({ ok: false, reason: 'agent_unavailable' });
        expect(await store.reserve('v1', 'chatty', LATER)).toEqual({ ok: false, reason: 'agent_unavailable' });
        expect((await store.getAgent('chatty'))!.load).toEqual({ chat: 2 });
        // Channels are counted apart: a1 (chat 2, call 1) takes a call while holding a chat.
        await reserved('t3', 'a1');
        await reserved('c1', 'a1');
        expect(await store.reserve('c2', 'a1', LATER)).toEqual({ ok: false, reason: 'agent_full' });
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1, call: 1 });
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2', 'a3']);
        expect(ids(await store.availableAgents('q1', 'call', 10))).toEqual(['a2', 'a3']);
      });

      it('availableAgents reflects reservations at once', async () => {
        await store.putAgent(agent('single', { idleSince: T0, capacity: { chat: 1 } }));
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['single', 'a1', 'a2', 'a3']);
        await reserved('t1', 'single');
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['a1', 'a2', 'a3']);
        await store.cancel('t1', 'single');
        // An offer that was not taken is not work: the agent keeps its place.
        expect(ids(await store.availableAgents('q1', 'chat', 10))).toEqual(['single', 'a1', 'a2', 'a3']);
        expect((await store.getAgent('single'))!.idleSince).toBe(T0);
      });

      it('accept takes the task out of the queue, keeps the slot and drops the offer', async () => {
        await store.enqueue(task('t2', { enqueuedAt: T0 + 1 }));
        await reserved('t1', 'a1');
        expect(await store.accept('t1', 'a1', LATER - 1)).toEqual({ ok: true, cancelled: [] });
        expect(await store.getTask('t1')).toBeNull();
        expect(await store.position('t1')).toBeNull();
        expect(await store.position('t2')).toBe(1);
        expect(taskIds(await store.waiting('q1', 10))).toEqual(['t2']);
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        expect(await store.reservationsOfAgent('a1')).toEqual([]);
        expect(await store.reservationsOfTask('t1')).toEqual([]);
        expect(await store.expired(LATER + 1, 10)).toEqual([]);
        // Accepting twice, or cancelling an accepted offer, does nothing.
        expect(await store.accept('t1', 'a1', LATER - 1)).toEqual({ ok: false, cancelled: [] });
        expect(await store.cancel('t1', 'a1')).toBe(false);
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        // The slot is released when the work ends.
        expect((await store.releaseSlot('a1', 'chat', LATER + 5))!).toMatchObject({ load: {}, idleSince: LATER + 5 });
      });

      it('accept of a ring-all offer cancels and returns the others, freeing their slots', async () => {
        await reserved('t1', 'a1', LATER, true);
        await reserved('t1', 'a2', LATER + 1, true);
        await reserved('t1', 'a3', LATER + 2, true);
        const result = await store.accept('t1', 'a2', T0);
        expect(result).toEqual({
          ok: true,
          cancelled: [
            { taskId: 't1', agentId: 'a1', channel: 'chat', expiresAt: LATER },
            { taskId: 't1', agentId: 'a3', channel: 'chat', expiresAt: LATER + 2 },
          ],
        });
        expect((await store.getAgent('a1'))!.load).toEqual({});
        expect((await store.getAgent('a2'))!.load).toEqual({ chat: 1 });
        expect((await store.getAgent('a3'))!.load).toEqual({});
        expect(await store.reservationsOfAgent('a1')).toEqual([]);
        expect(await store.accept('t1', 'a1', T0)).toEqual({ ok: false, cancelled: [] });
        expect(await store.expired(LATER + 100, 10)).toEqual([]);
      });

      it('accept refuses an expired or foreign reservation', async () => {
        await reserved('t1', 'a1', LATER);
        expect(await store.accept('t1', 'a2', T0)).toEqual({ ok: false, cancelled: [] });
        expect(await store.accept('ghost', 'a1', T0)).toEqual({ ok: false, cancelled: [] });
        // Expired means expiresAt ≤ now, the same rule as expired().
        expect(await store.accept('t1', 'a1', LATER)).toEqual({ ok: false, cancelled: [] });
        expect(await store.accept('t1', 'a1', LATER + 1)).toEqual({ ok: false, cancelled: [] });
        // Refusal changes nothing: the offer is still there for the sweeper.
        expect(await store.position('t1')).toBe(1);
        expect(ids(await store.reservationsOfTask('t1'))).toEqual(['a1']);
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 1 });
        expect((await store.getAgent('a2'))!.load).toEqual({});
      });

      it('cancel frees the slot once and leaves the task waiting for someone else', async () => {
        await reserved('t1', 'a1');
        expect(await store.cancel('t1', 'a1')).toBe(true);
        expect(await store.cancel('t1', 'a1')).toBe(false);
        expect(await store.cancel('t1', 'a2')).toBe(false);
        expect(await store.cancel('ghost', 'a1')).toBe(false);
        expect((await store.getAgent('a1'))!.load).toEqual({});
        expect(await store.reservationsOfAgent('a1')).toEqual([]);
        expect(await store.position('t1')).toBe(1);
        expect((await store.reserve('t1', 'a2', LATER)).ok).toBe(true);
        expect(await store.accept('t1', 'a1', T0)).toEqual({ ok: false, cancelled: [] });
      });

      it('reservationsOfAgent lists every offer the agent holds', async () => {
        await store.enqueue(task('t2', { channel: 'call' }));
        // The chat first: a call offer, like a call, keeps chats away (see "a call excludes chats").
        await reserved('t1', 'a1', LATER + 1);
        await reserved('t2', 'a1', LATER + 2);
        expect(await store.reservationsOfAgent('a1')).toEqual([
          { taskId: 't1', agentId: 'a1', channel: 'chat', expiresAt: LATER + 1 },
          { taskId: 't2', agentId: 'a1', channel: 'call', expiresAt: LATER + 2 },
        ]);
        expect(await store.reservationsOfAgent('a2')).toEqual([]);
        expect(await store.reservationsOfAgent('ghost')).toEqual([]);
      });

      it('expired lists exactly the reservations with expiresAt ≤ now, soonest first', async () => {
        for (const id of ['t2', 't3', 't4']) await store.enqueue(task(id));
        await reserved('t3', 'a1', T0 + 30);
        await reserved('t1', 'a1', T0 + 10);
        await reserved('t2', 'a2', T0 + 20);
        await reserved('t4', 'a3', T0 + 40);
        const at = async (now: number, limit = 10): Promise<string[]> => (await store.expired(now, limit)).map((r) => `${r.taskId}/${r.agentId}`);
        expect(await at(T0 + 9)).toEqual([]);
        expect(await at(T0 + 10)).toEqual(['t1/a1']);
        expect(await at(T0 + 30)).toEqual(['t1/a1', 't2/a2', 't3/a1']);
        expect(await at(T0 + 30, 2)).toEqual(['t1/a1', 't2/a2']);
        expect(await at(T0 + 30, 0)).toEqual([]);
        expect((await store.expired(T0 + 10, 10))[0]).toEqual({ taskId: 't1', agentId: 'a1', channel: 'chat', expiresAt: T0 + 10 });
        await store.cancel('t1', 'a1');
        await store.accept('t4', 'a3', T0);
        expect(await at(T0 + 100)).toEqual(['t2/a2', 't3/a1']);
      });
    });

    it('rejects misuse with a TypeError and stores nothing', async () => {
      await expect(store.putAgent(agent(''))).rejects.toThrow(TypeError);
      await expect(store.putAgent(agent('a1', { capacity: { chat: -1 } }))).rejects.toThrow(TypeError);
      await expect(store.putAgent(agent('a1', { capacity: { fax: 1 } as never }))).rejects.toThrow(TypeError);
      await expect(store.putAgent(agent('a1', { presence: 'busy' as never }))).rejects.toThrow(TypeError);
      await expect(store.putAgent(agent('a1', { idleSince: Number.NaN }))).rejects.toThrow(TypeError);
      expect(await store.getAgent('a1')).toBeNull();
      await store.putAgent(agent('a1'));
      await expect(store.setPresence('a1', 'away' as never, null, T0)).rejects.toThrow(TypeError);
      await expect(store.holdSlot('a1', 'fax' as never)).rejects.toThrow(TypeError);
      await expect(store.availableAgents('q1', 'chat', -1)).rejects.toThrow(TypeError);
      await expect(store.waiting('q1', 1.5)).rejects.toThrow(TypeError);
      await expect(store.getTask('')).rejects.toThrow(TypeError);
      await store.enqueue(task('t1'));
      await expect(store.reserve('t1', 'a1', Number.POSITIVE_INFINITY)).rejects.toThrow(TypeError);
      expect(await store.getAgent('a1')).toMatchObject({ presence: 'ready', load: {} });
    });

    it('clear drops everything', async () => {
      await store.putAgent(agent('a1'));
      await store.enqueue(task('t1'));
      await store.enqueue(task('t2', { queueId: 'q2' }));
      await reserved('t1', 'a1');
      await store.clear();
      expect(await store.getAgent('a1')).toBeNull();
      expect(await store.getTask('t1')).toBeNull();
      expect(await store.waitingCount('q1')).toBe(0);
      expect(await store.waitingCount('q2')).toBe(0);
      expect(await store.availableAgents('q1', 'chat', 10)).toEqual([]);
      expect(await store.reservationsOfAgent('a1')).toEqual([]);
      expect(await store.expired(LATER, 10)).toEqual([]);
      // Usable again afterwards.
      await store.putAgent(agent('a1'));
      await store.enqueue(task('t1'));
      expect((await store.reserve('t1', 'a1', LATER)).ok).toBe(true);
    });

    it('reports itself up', async () => {
      expect(await store.health()).toMatchObject({ state: 'up' });
    });

    describe('enqueueAndReserve (an arrival in one step)', () => {
      it('enqueues and reserves the longest idle agent who can take it, as reserve() would', async () => {
        await store.putAgent(agent('busy', { idleSince: T0 - 30, capacity: { chat: 1 } }));
        await store.holdSlot('busy', 'chat');
        await store.putAgent(agent('on-call', { idleSince: T0 - 20 }));
        await store.holdSlot('on-call', 'call'); // a call excludes chats
        await store.putAgent(agent('away', { idleSince: T0 - 10, presence: 'not_ready', reason: 'lunch' }));
        await store.putAgent(agent('free', { idleSince: T0, reason: 'by push' }));
        await store.putAgent(agent('later', { idleSince: T0 + 5 }));
        const r = await store.enqueueAndReserve(task('t1'), LATER, { limit: 5 });
        expect(r).toEqual({ outcome: 'reserved', reservation: { taskId: 't1', agentId: 'free', channel: 'chat', expiresAt: LATER }, agentReason: 'by push' });
        expect(await store.reservationsOfTask('t1')).toEqual([r.outcome === 'reserved' ? r.reservation : null]);
        expect((await store.getAgent('free'))!.load).toEqual({ chat: 1 });
        expect((await store.waiting('q1', 10)).map((t) => `${t.taskId}:${t.reserved}`)).toEqual(['t1:true']);
        expect(await store.expired(LATER, 10)).toHaveLength(1);
        // During calls the queue may allow chats: then the agent on a call is first.
        const r2 = await store.enqueueAndReserve(task('t2', { enqueuedAt: T0 + 1 }), LATER, { limit: 5, chatsDuringCalls: true });
        expect(r2).toMatchObject({ outcome: 'reserved', reservation: { agentId: 'on-call' } });
      });

      it('nobody free: the task waits unreserved; already waiting: nothing changes', async () => {
        await store.putAgent(agent('away', { presence: 'not_ready' }));
        expect(await store.enqueueAndReserve(task('t1'), LATER, { limit: 5 })).toEqual({ outcome: 'nobody_free' });
        expect((await store.waiting('q1', 10)).map((t) => `${t.taskId}:${t.reserved}`)).toEqual(['t1:false']);
        await store.putAgent(agent('back'));
        expect(await store.enqueueAndReserve(task('t1', { priority: 9 }), LATER, { limit: 5 })).toEqual({ outcome: 'not_reserved' });
        expect(await store.getTask('t1')).toEqual(task('t1'));
        expect(await store.reservationsOfTask('t1')).toEqual([]);
      });

      it('listed agents who cannot take it leave the task waiting for the usual matching', async () => {
        await store.putAgent(agent('a1', { idleSince: T0 }));
        await store.putAgent(agent('a2', { idleSince: T0 + 1 }));
        // Only the first `limit` in idle order are tried: a1 is on a call (chats excluded), a2 is not looked at.
        await store.holdSlot('a1', 'call');
        expect(await store.enqueueAndReserve(task('t1'), LATER, { limit: 1 })).toEqual({ outcome: 'not_reserved' });
        expect((await store.waiting('q1', 10)).map((t) => `${t.taskId}:${t.reserved}`)).toEqual(['t1:false']);
        await expect(store.enqueueAndReserve(task('t2'), LATER, { limit: 0 })).rejects.toThrow(RangeError);
      });
    });

    describe('concurrency', () => {
      it('50 agents reserving one task at once: exactly one wins', async () => {
        const agents = Array.from({ length: 50 }, (_, i) => `a${String(i).padStart(2, '0')}`);
        await Promise.all(agents.map((id) => store.putAgent(agent(id))));
        await store.enqueue(task('t1'));
        const results = await Promise.all(agents.map((id) => store.reserve('t1', id, LATER)));
        const winners = agents.filter((_, i) => results[i]!.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => !r.ok).map((r) => (r.ok ? null : r.reason))).toEqual(Array(49).fill('task_reserved'));
        expect(ids(await store.reservationsOfTask('t1'))).toEqual(winners);
        const loads = await Promise.all(agents.map(async (id) => (await store.getAgent(id))!.load.chat ?? 0));
        expect(loads.reduce((a, b) => a + b, 0)).toBe(1);
      });

      it('20 tasks reserved at once for one agent with capacity 3: exactly three win', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 3 } }));
        const tasks = Array.from({ length: 20 }, (_, i) => `t${i}`);
        await Promise.all(tasks.map((id, i) => store.enqueue(task(id, { enqueuedAt: T0 + i }))));
        const results = await Promise.all(tasks.map((id) => store.reserve(id, 'a1', LATER)));
        expect(results.filter((r) => r.ok)).toHaveLength(3);
        expect(results.filter((r) => !r.ok && r.reason === 'agent_full')).toHaveLength(17);
        expect((await store.getAgent('a1'))!.load).toEqual({ chat: 3 });
        expect(await store.reservationsOfAgent('a1')).toHaveLength(3);
        expect(await store.availableAgents('q1', 'chat', 10)).toEqual([]);
      });

      it('ring-all agents accepting at once: exactly one gets the task', async () => {
        const agents = Array.from({ length: 10 }, (_, i) => `a${i}`);
        await Promise.all(agents.map((id) => store.putAgent(agent(id))));
        await store.enqueue(task('t1'));
        for (const id of agents) await reserved('t1', id, LATER, true);
        const results = await Promise.all(agents.map((id) => store.accept('t1', id, T0)));
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.cancelled).toHaveLength(9);
        const loads = await Promise.all(agents.map(async (id) => (await store.getAgent(id))!.load.chat ?? 0));
        expect(loads.reduce((a, b) => a + b, 0)).toBe(1);
        expect(await store.waitingCount('q1')).toBe(0);
      });

      it('parallel reserve, cancel and release never lose or double a slot', async () => {
        await store.putAgent(agent('a1', { capacity: { chat: 2 } }));
        const tasks = Array.from({ length: 30 }, (_, i) => `t${i}`);
        for (const id of tasks) await store.enqueue(task(id));
        // Rounds of: everyone tries; the winners cancel at once; load must return to zero each time.
        for (let round = 0; round < 3; round++) {
          const results = await Promise.all(tasks.map((id) => store.reserve(id, 'a1', LATER)));
          const won = tasks.filter((_, i) => results[i]!.ok);
          expect(won).toHaveLength(2);
          await Promise.all(won.map((id) => store.cancel(id, 'a1')));
          expect((await store.getAgent('a1'))!.load).toEqual({});
        }
      });
    });
  });
}
