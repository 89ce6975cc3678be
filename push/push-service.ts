// Offers for agents whose app is in the background or closed, by Web Push: the agents' browser
// subscriptions, and one encrypted message per subscription when the router offers that agent a task
// while none of its connections shows the app. The payload is the least a notification needs.
// Agents who turn on "Get offers when the app is closed" stay ready when their last connection drops
// (routing/engine.ts, PUSH_REACHABLE_REASON); an offer that cannot be pushed to them sets them not ready.
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { AccountRow, CustomerRow, QueueRow, TaskChannel, TaskRow } from '../db/entities.js';
import { DomainError, NotFoundError } from '../lib/errors.js';
import type { PushSubscriptionRow } from '../db/push-entities.js';
import type { Logger } from '../lib/logger.js';
import { checkEndpoint, checkKeys, type SubscriptionInput } from './subscription-check.js';
import type { PushSender } from './web-push-sender.js';

/** What the service worker receives (encrypted end to end) for an offer. */
export interface OfferPush {
  type: 'offer';
  taskId: string;
  channel: TaskChannel;
  queue: string;
  customerName: string;
  /** The customer's first words, shortened: enough to decide whether to open the app. */
  firstMessage: string;
  expiresAt: number;
}

/** Subscription as its owner may see it: the push service's origin, never the endpoint or keys. */
export interface SubscriptionView {
  id: string;
  pushService: string;
  userAgent: string | null;
  createdAt: number;
  lastSuccessAt: number | null;
  failures: number;
}

/** The agent's push settings as its app shows them. */
export interface PushSettings {
  /** "Get offers when the app is closed": stays ready, reachable by push, when the last connection drops. */
  offersWhenClosed: boolean;
  /** Devices registered for offers; the setting needs at least one. */
  devices: number;
}

export interface PushServiceDeps {
  subscriptions: Repository<PushSubscriptionRow>;
  accounts: Repository<AccountRow>;
  tasks: Repository<TaskRow>;
  queues: Repository<QueueRow>;
  customers: Repository<CustomerRow>;
  send: PushSender;
  /** Whether one of the agent's connections reports the app on screen: it sees the offer there. */
  agentVisible: (agentId: string) => Promise<boolean>;
  /** The VAPID public key browsers subscribe with. */
  publicKey: string;
  /** Tests only: http endpoints on the loopback address. */
  allowLoopbackEndpoints: boolean;
  /**
   * Offers can no longer reach the agent by push (a push-only offer could not be delivered, its last
   * device was removed, the setting turned off): routing sets it not ready if it is reachable by push only.
   */
  unreachable: (agentId: string, reason: string) => Promise<void>;
  logger: Logger;
}

/** Not-ready reasons an agent reachable by push sees when it opens the app again. */
export const UNREACHABLE_REASONS = {
  failed: 'offers could not be pushed to this device',
  noDevice: 'no device is registered for offers',
  settingOff: 'offers when the app is closed were turned off',
} as const;

const FIRST_MESSAGE_CHARS = 120;
/** Devices one account may register; the oldest is dropped beyond it (old phones, reinstalled browsers). */
const MAX_SUBSCRIPTIONS_PER_ACCOUNT = 10;
const USER_AGENT_CHARS = 200;

export class PushService {
  readonly #deps: PushServiceDeps;
  readonly #abort = new AbortController();
  readonly #inflight = new Set<Promise<void>>();
  #closed = false;

  constructor(deps: PushServiceDeps) {
    this.#deps = deps;
  }

  get publicKey(): string {
    return this.#deps.publicKey;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stores (or moves to this account) a browser's subscription; throws VALIDATION for a bad one. */
  async subscribe(accountId: string, input: SubscriptionInput, userAgent: string | undefined): Promise<SubscriptionView> {
    checkEndpoint(input.endpoint, this.#deps.allowLoopbackEndpoints);
    checkKeys(input.keys);
    const repo = this.#deps.subscriptions;
    const existing = await repo.findOneBy({ endpoint: input.endpoint });
    // The same browser signing in as another agent takes its subscription along: offers follow the person using it.
    const row: PushSubscriptionRow = {
      id: existing?.id ?? randomUUID(),
      accountId,
      endpoint: input.endpoint,
      p256dh: input.keys.p256dh,
      auth: input.keys.auth,
      userAgent: userAgent?.slice(0, USER_AGENT_CHARS) || null,
      createdAt: existing?.createdAt ?? Date.now(),
      lastSuccessAt: existing?.accountId === accountId ? existing.lastSuccessAt : null,
      failures: 0,
    };
    await repo.save(row);
    const mine = await repo.find({ where: { accountId }, order: { createdAt: 'DESC' } });
    const surplus = mine.slice(MAX_SUBSCRIPTIONS_PER_ACCOUNT).map((s) => s.id);
    if (surplus.length) await repo.delete(surplus);
    return view(row);
  }

  /**
   * Removes the account's subscription with this endpoint; false when it had none. The last one gone,
   * offers when the app is closed are off too (they need a device).
   */
  async unsubscribe(accountId: string, endpoint: string): Promise<boolean> {
    const result = await this.#deps.subscriptions.delete({ accountId, endpoint });
    if ((await this.#deps.subscriptions.countBy({ accountId })) === 0) {
      const off = await this.#deps.accounts.update({ id: accountId, offersWhenClosed: true }, { offersWhenClosed: false, updatedAt: Date.now() });
      if (off.affected) await this.#unreachable(accountId, UNREACHABLE_REASONS.noDevice);
    }
    return (result.affected ?? 0) > 0;
  }

  async settings(accountId: string): Promise<PushSettings> {
    const [account, devices] = await Promise.all([this.#deps.accounts.findOneBy({ id: accountId }), this.#deps.subscriptions.countBy({ accountId })]);
    if (!account) throw new NotFoundError('account');
    return { offersWhenClosed: account.offersWhenClosed === true, devices };
  }

  /** Turns "Get offers when the app is closed" on or off; on needs a registered device (INVALID_STATE). */
  async setOffersWhenClosed(accountId: string, on: boolean): Promise<PushSettings> {
    if (on && (await this.#deps.subscriptions.countBy({ accountId })) === 0) {
      throw new DomainError('INVALID_STATE', 'turn on notifications on this device first: offers reach a closed app only by push');
    }
    const changed = await this.#deps.accounts.update({ id: accountId }, { offersWhenClosed: on, updatedAt: Date.now() });
    if (!changed.affected) throw new NotFoundError('account');
    // An agent away from the app right now must not keep waiting for offers it will not get.
    if (!on) await this.#unreachable(accountId, UNREACHABLE_REASONS.settingOff);
    return this.settings(accountId);
  }

  /**
   * Whether an agent whose last connection just dropped can be offered tasks by push: the setting is
   * on, a device is registered, and it holds no conversation (a customer in a chat or call must not
   * wait for a closed app; those go back to the queue after the grace period as before).
   */
  async reachableWhenClosed(agentId: string): Promise<boolean> {
    const account = await this.#deps.accounts.findOneBy({ id: agentId });
    if (account?.offersWhenClosed !== true) return false;
    const [devices, live] = await Promise.all([this.#deps.subscriptions.countBy({ accountId: agentId }), this.#deps.tasks.countBy({ agentId, status: 'assigned' })]);
    return devices > 0 && live === 0;
  }

  async list(accountId: string): Promise<SubscriptionView[]> {
    return (await this.#deps.subscriptions.find({ where: { accountId }, order: { createdAt: 'ASC' } })).map(view);
  }

  /**
   * The router offered `taskId` to `agentId` until `expiresAt`: pushes it to the agent's devices unless
   * the agent has the app on screen. `byPush`: the agent has no connection and push is its only way to
   * hear of offers, so when no device took the message routing is told at once (the offer goes on
   * instead of waiting out its timeout). Never throws; failures are logged.
   */
  offer(agentId: string, taskId: string, expiresAt: number, byPush = false): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const work = this.#offer(agentId, taskId, expiresAt)
      .then(async (outcome) => {
        if (!byPush || this.#closed || outcome === 'delivered' || outcome === 'not_needed') return;
        this.#deps.logger.info('an offer could not be pushed to an agent whose app is closed', { agentId, taskId, outcome });
        await this.#unreachable(agentId, outcome === 'no_device' ? UNREACHABLE_REASONS.noDevice : UNREACHABLE_REASONS.failed);
      })
      .catch((err: unknown) => {
        this.#deps.logger.error('pushing an offer failed', { agentId, taskId, err });
      });
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
    return work;
  }

  /** Aborts sends in flight and waits for them; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await Promise.all(this.#inflight);
  }

  /** `not_needed`: the app is on screen, or the task is gone. */
  async #offer(agentId: string, taskId: string, expiresAt: number): Promise<'delivered' | 'not_needed' | 'no_device' | 'failed'> {
    const subscriptions = await this.#deps.subscriptions.findBy({ accountId: agentId });
    if (subscriptions.length === 0) return 'no_device';
    if (await this.#deps.agentVisible(agentId)) return 'not_needed';
    const payload = await this.#offerPayload(taskId, expiresAt);
    if (!payload) return 'not_needed';
    // The offer is worthless once it expires: the push service must not deliver it later.
    const ttlSeconds = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    const sent = await Promise.all(subscriptions.map((s) => this.#deliver(s, JSON.stringify(payload), ttlSeconds)));
    return sent.some(Boolean) ? 'delivered' : 'failed';
  }

  async #unreachable(agentId: string, reason: string): Promise<void> {
    await this.#deps.unreachable(agentId, reason).catch((err: unknown) => this.#deps.logger.warn('setting an agent unreachable by push failed', { agentId, err }));
  }

  async #offerPayload(taskId: string, expiresAt: number): Promise<OfferPush | null> {
    const task = await this.#deps.tasks.findOneBy({ id: taskId });
    if (!task) return null;
    const [queue, customer] = await Promise.all([this.#deps.queues.findOneBy({ id: task.queueId }), this.#deps.customers.findOneBy({ id: task.customerId })]);
    const text = task.firstMessage.trim();
    return {
      type: 'offer',
      taskId: task.id,
      channel: task.channel,
      queue: queue?.name ?? task.queueId,
      customerName: customer?.displayName ?? 'Visitor',
      firstMessage: text.length > FIRST_MESSAGE_CHARS ? `${text.slice(0, FIRST_MESSAGE_CHARS - 1)}…` : text,
      expiresAt,
    };
  }

  /** True when the push service took the message. */
  async #deliver(sub: PushSubscriptionRow, payload: string, ttlSeconds: number): Promise<boolean> {
    const result = await this.#deps.send(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      { payload, ttlSeconds, urgency: 'high' },
      this.#abort.signal,
    );
    if (this.#closed) return false;
    // Logged by id and push service origin only: the endpoint's path identifies the browser.
    const about = { subscriptionId: sub.id, agentId: sub.accountId, pushService: origin(sub.endpoint) };
    if (result.ok) {
      await this.#deps.subscriptions.update({ id: sub.id }, { lastSuccessAt: Date.now(), failures: 0 });
      return true;
    }
    if (result.gone) {
      await this.#deps.subscriptions.delete({ id: sub.id });
      this.#deps.logger.info('push subscription gone: removed', { ...about, status: result.status });
    } else {
      await this.#deps.subscriptions.increment({ id: sub.id }, 'failures', 1);
      this.#deps.logger.warn('push failed', { ...about, status: result.status, reason: result.reason, failures: sub.failures + 1 });
    }
    return false;
  }
}

function origin(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'invalid';
  }
}

function view(s: PushSubscriptionRow): SubscriptionView {
  return { id: s.id, pushService: origin(s.endpoint), userAgent: s.userAgent, createdAt: s.createdAt, lastSuccessAt: s.lastSuccessAt, failures: s.failures };
}
