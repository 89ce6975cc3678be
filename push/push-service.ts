// Offers for agents whose app is in the background or closed, by Web Push: the agents' browser
// subscriptions, and one encrypted message per subscription when the router offers that agent a task
// while none of its connections shows the app. The payload is the least a notification needs.
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { CustomerRow, QueueRow, TaskChannel, TaskRow } from '../db/entities.js';
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

export interface PushServiceDeps {
  subscriptions: Repository<PushSubscriptionRow>;
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
  logger: Logger;
}

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

  /** Removes the account's subscription with this endpoint; false when it had none. */
  async unsubscribe(accountId: string, endpoint: string): Promise<boolean> {
    const result = await this.#deps.subscriptions.delete({ accountId, endpoint });
    return (result.affected ?? 0) > 0;
  }

  async list(accountId: string): Promise<SubscriptionView[]> {
    return (await this.#deps.subscriptions.find({ where: { accountId }, order: { createdAt: 'ASC' } })).map(view);
  }

  /**
   * The router offered `taskId` to `agentId` until `expiresAt`: pushes it to the agent's devices unless
   * the agent has the app on screen. Never throws; failures are logged.
   */
  offer(agentId: string, taskId: string, expiresAt: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const work = this.#offer(agentId, taskId, expiresAt).catch((err: unknown) => {
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

  async #offer(agentId: string, taskId: string, expiresAt: number): Promise<void> {
    const subscriptions = await this.#deps.subscriptions.findBy({ accountId: agentId });
    if (subscriptions.length === 0 || (await this.#deps.agentVisible(agentId))) return;
    const payload = await this.#offerPayload(taskId, expiresAt);
    if (!payload) return;
    // The offer is worthless once it expires: the push service must not deliver it later.
    const ttlSeconds = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    await Promise.all(subscriptions.map((s) => this.#deliver(s, JSON.stringify(payload), ttlSeconds)));
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

  async #deliver(sub: PushSubscriptionRow, payload: string, ttlSeconds: number): Promise<void> {
    const result = await this.#deps.send(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      { payload, ttlSeconds, urgency: 'high' },
      this.#abort.signal,
    );
    if (this.#closed) return;
    // Logged by id and push service origin only: the endpoint's path identifies the browser.
    const about = { subscriptionId: sub.id, agentId: sub.accountId, pushService: origin(sub.endpoint) };
    if (result.ok) {
      await this.#deps.subscriptions.update({ id: sub.id }, { lastSuccessAt: Date.now(), failures: 0 });
    } else if (result.gone) {
      await this.#deps.subscriptions.delete({ id: sub.id });
      this.#deps.logger.info('push subscription gone: removed', { ...about, status: result.status });
    } else {
      await this.#deps.subscriptions.increment({ id: sub.id }, 'failures', 1);
      this.#deps.logger.warn('push failed', { ...about, status: result.status, reason: result.reason, failures: sub.failures + 1 });
    }
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
