// "Get offers when the app is closed" in the RoutingEngine (docs/push.md, docs/routing.md "Presence"):
// an agent whose last connection drops while ready, and who is reachable by push, stays ready; routing
// offers to it (marked byPush); one missed offer or a failed push sets it not ready; the maximum logs
// it off. On both queue stores, like routing-engine.test.ts: real timers, short where a test waits for
// something to happen, long where it shows that something does not.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DISCONNECTED_REASON,
  MISSED_BY_PUSH_REASON,
  PUSH_REACHABLE_REASON,
  RoutingEngine,
  type AgentProfile,
  type EngineOptions,
  type OfferRevokeReason,
} from '../../routing/engine.js';
import type { QueueStore } from '../../routing/store/index.js';
import { STORES, settled, sleep, tracked, waitFor } from '../support/engine-harness.js';

type Ev =
  | { type: 'offer'; agentId: string; taskId: string; expiresAt: number; byPush: boolean }
  | { type: 'revoked'; agentId: string; taskId: string; reason: OfferRevokeReason }
  | { type: 'logged-off'; agentId: string };

const profile = (id: string): AgentProfile => ({ id, displayName: id.toUpperCase(), skills: [{ skill: 'sales', level: 1 }], chatCapacity: 1 });

/** Long timers by default; a test that needs one to run out asks for a short one. */
const OPTS: Partial<EngineOptions> = {
  offerTimeoutMs: 10_000,
  pushOfferTimeoutMs: 15_000,
  maxMissedOffers: 3,
  disconnectGraceMs: 200,
  pushReachableMs: 30_000,
  rejectCooldownMs: 60_000,
  sweepIntervalMs: 100,
};
const PUSH_REASON_FAILED = 'offers could not be pushed to this device';
/** Node may run a timer a millisecond or so before Date.now() reaches its due time. */
const TIMER_EARLY_MS = 5;


describe.each(STORES)('agents reachable by push, on the %s store', (_kind, makeStore) => {
  let raw: QueueStore;
  let store: QueueStore;
  let inflight: () => number;
  let engine: RoutingEngine | null = null;
  let events: Ev[];
  /** Agents whose setting is on (with a device and no conversation), as the push service would answer. */
  let reachable: Set<string>;

  const settle = () => settled(inflight);

  /** Lets a few sweep passes run, so "nothing happened" means the engine had every chance to act. */
  async function quiet(): Promise<void> {
    await settle();
    await sleep(300);
    await settle();
  }

  async function makeEngine(opts: Partial<EngineOptions> = {}): Promise<RoutingEngine> {
    if (engine) {
      await settle();
      engine.close();
    }
    const e = new RoutingEngine(store, { ...OPTS, reachableWhenClosed: async (id) => reachable.has(id), ...opts });
    engine = e;
    events = [];
    e.on('offer', (agentId, task, expiresAt, byPush) => events.push({ type: 'offer', agentId, taskId: task.id, expiresAt, byPush: byPush === true }));
    e.on('offer:revoked', (agentId, taskId, reason) => events.push({ type: 'revoked', agentId, taskId, reason }));
    e.on('agent:logged-off', (agentId) => events.push({ type: 'logged-off', agentId }));
    await e.setQueue({ id: 'sales', requiredSkill: 'sales' });
    return e;
  }

  const router = (): RoutingEngine => engine!;
  const offers = () => events.filter((e): e is Extract<Ev, { type: 'offer' }> => e.type === 'offer');
  const revoked = () => events.filter((e) => e.type === 'revoked');
  const loggedOff = () => events.flatMap((e) => (e.type === 'logged-off' ? [e.agentId] : []));
  const ticket = (id: string) => ({ id, queueId: 'sales', priority: 0, enqueuedAt: Date.now() });

  async function ready(id: string): Promise<void> {
    await router().agentConnected(profile(id), []);
    await router().setPresence(id, 'ready');
  }

  /** Drops the agent's only connection and waits until the engine has decided what that means. */
  async function closeApp(id: string): Promise<void> {
    router().agentDisconnected(id);
    await settle();
  }

  beforeEach(async () => {
    raw = await makeStore();
    ({ store, inflight } = tracked(raw));
    reachable = new Set();
    await makeEngine();
  });

  afterEach(async () => {
    if (engine) {
      await settle();
      engine.close();
      engine = null;
    }
    await settle();
    await raw.clear();
    await raw.close();
  });

  it('keeps a reachable agent ready when its app closes, past the grace period, and offers to it by push with the longer timeout', async () => {
    reachable.add('a');
    await ready('a');
    await closeApp('a');
    await sleep(OPTS.disconnectGraceMs! * 2);
    await quiet();
    expect(loggedOff()).toEqual([]);
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'ready', reason: PUSH_REACHABLE_REASON, connected: false });

    const before = Date.now();
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer');
    const [offer] = offers();
    expect(offer).toMatchObject({ agentId: 'a', taskId: 't1', byPush: true });
    expect(offer!.expiresAt).toBeGreaterThanOrEqual(before + OPTS.pushOfferTimeoutMs!);
  });

  it('lets the agent who opens the app from the notification find the offer pending and accept it', async () => {
    reachable.add('a');
    await ready('a');
    await closeApp('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer');

    await router().agentConnected(profile('a'), []);
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'ready', reason: null, connected: true, pendingOffers: 1 });
    expect((await router().pendingOffers('a')).map((o) => o.ticket.id)).toEqual(['t1']);
    expect((await router().accept('a', 't1')).id).toBe('t1');
    expect(await router().isWaiting('t1')).toBe(false);
    expect(revoked()).toEqual([]);
  });

  it('offers to connected agents without the push mark, as before', async () => {
    reachable.add('a');
    await ready('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer');
    expect(offers()[0]).toMatchObject({ agentId: 'a', byPush: false });
  });

  it('handles an agent without the setting as before: not ready ("disconnected"), logged off after the grace period', async () => {
    await ready('a');
    await closeApp('a');
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'not_ready', reason: DISCONNECTED_REASON });
    await router().enqueue(ticket('t1'));
    await waitFor(() => loggedOff().length > 0, 'the log-off');
    await quiet();
    expect(loggedOff()).toEqual(['a']);
    expect(offers()).toEqual([]);
  });

  it('does not make an agent who was not ready reachable by push (a break stays a break)', async () => {
    reachable.add('a');
    await router().agentConnected(profile('a'), []);
    await router().setPresence('a', 'not_ready', 'lunch');
    await closeApp('a');
    await waitFor(() => loggedOff().length > 0, 'the log-off');
    expect(loggedOff()).toEqual(['a']);
  });

  it('handles the agent as before when asking whether it is reachable fails', async () => {
    await makeEngine({
      reachableWhenClosed: async () => {
        throw new Error('database away');
      },
    });
    await ready('a');
    await closeApp('a');
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'not_ready', reason: DISCONNECTED_REASON });
  });

  it('sets the agent not ready at its first missed offer, and the task goes to the next agent at once', async () => {
    await makeEngine({ pushOfferTimeoutMs: 150 });
    reachable.add('a');
    await ready('a');
    await closeApp('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer to a');
    await ready('b'); // b comes in while a's phone holds the offer
    await waitFor(() => offers().length > 1, 'the offer to b');
    expect(offers().map((o) => `${o.agentId}:${o.taskId}:${o.byPush}`)).toEqual(['a:t1:true', 'b:t1:false']);
    expect(revoked()).toEqual([{ type: 'revoked', agentId: 'a', taskId: 't1', reason: 'timeout' }]);
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'not_ready', reason: MISSED_BY_PUSH_REASON });

    // Opening the app later shows why; the agent goes ready again by itself.
    await router().agentConnected(profile('a'), []);
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'not_ready', reason: MISSED_BY_PUSH_REASON, connected: true });
  });

  it('sets the agent not ready when its offer cannot be pushed, and passes the offer on', async () => {
    reachable.add('a');
    await ready('a');
    await closeApp('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer to a');
    await ready('b');
    await quiet();
    expect(offers()).toHaveLength(1); // b waits: a holds the offer

    await router().pushUnreachable('a', PUSH_REASON_FAILED);
    await waitFor(() => offers().length > 1, 'the offer to b');
    expect(revoked()).toEqual([{ type: 'revoked', agentId: 'a', taskId: 't1', reason: 'not_ready' }]);
    expect(offers()[1]).toMatchObject({ agentId: 'b', taskId: 't1' });
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'not_ready', reason: PUSH_REASON_FAILED });
  });

  it('leaves a connected agent alone when a push to it fails (it sees the offer in the app)', async () => {
    reachable.add('a');
    await ready('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer');
    await router().pushUnreachable('a', PUSH_REASON_FAILED);
    await quiet();
    expect(revoked()).toEqual([]);
    expect(await router().agentSnapshot('a')).toMatchObject({ presence: 'ready', reason: null, pendingOffers: 1 });
  });

  it('logs the agent off after the maximum without a connection, withdrawing an offer it holds', async () => {
    await makeEngine({ pushReachableMs: 500 });
    reachable.add('a');
    await ready('a');
    const droppedAt = Date.now();
    await closeApp('a');
    await router().enqueue(ticket('t1'));
    await waitFor(() => offers().length > 0, 'an offer');
    await waitFor(() => loggedOff().length > 0, 'the log-off');
    expect(Date.now()).toBeGreaterThanOrEqual(droppedAt + 500 - TIMER_EARLY_MS);
    expect(loggedOff()).toEqual(['a']);
    expect(revoked()).toEqual([{ type: 'revoked', agentId: 'a', taskId: 't1', reason: 'agent_gone' }]);
    expect(await router().agentSnapshot('a')).toBeNull();
    expect(await router().isWaiting('t1')).toBe(true);
    expect(await router().position('t1')).toBe(1);
  });

  it('a reconnect stops the maximum: a later drop starts it afresh', async () => {
    const max = 1_000;
    await makeEngine({ pushReachableMs: max });
    reachable.add('a');
    await ready('a');
    await closeApp('a');
    await sleep(max * 0.6);
    await router().agentConnected(profile('a'), []);
    await sleep(max * 0.6); // past the first drop's maximum
    await quiet();
    expect(loggedOff()).toEqual([]);
    const droppedAt = Date.now();
    await closeApp('a');
    await waitFor(() => loggedOff().length > 0, 'the log-off');
    expect(Date.now()).toBeGreaterThanOrEqual(droppedAt + max - TIMER_EARLY_MS);
    expect(loggedOff()).toEqual(['a']);
  });
});
