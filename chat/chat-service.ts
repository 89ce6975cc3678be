// Chat conversations from first message to wrap-up. Every fact (task, message, state change) is written
// to the database before it is acknowledged or announced; the router is told afterwards and holds only
// what can be rebuilt from the database.
import { randomUUID } from 'node:crypto';
import { In, type DataSource, type Repository } from 'typeorm';
import {
  AccountEntity,
  CustomerEntity,
  MessageEntity,
  QueueEntity,
  TaskEntity,
  type AccountRow,
  type CustomerRow,
  type MessageRow,
  type QueueRow,
  type TaskChannel,
  type TaskEndReason,
  type TaskRow,
} from '../db/entities.js';
import { DomainError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import type {
  AgentServerToClient,
  AgentStatus,
  AgentTaskView,
  ChatMessage,
  CustomerChatView,
  CustomerServerToClient,
  Offer,
  QueueInfo,
} from '../protocol/events.js';
import type { RoutingEngine, TaskTicket } from '../routing/engine.js';
import { coarsen } from '../routing/eligibility.js';
import { channelCapacity, notReadyReason } from '../accounts/agent-policy.js';

/** Delivery to connected clients; implemented by signaling (socket.io rooms). */
export interface ChatNotifier {
  toCustomer<E extends keyof CustomerServerToClient>(customerId: string, event: E, ...args: Parameters<CustomerServerToClient[E]>): void;
  toAgent<E extends keyof AgentServerToClient>(agentId: string, event: E, ...args: Parameters<AgentServerToClient[E]>): void;
}

export interface ChatServiceOptions {
  wrapUpMs: number;
  /** The queue that takes a new task asking for `queueId` (opening hours, limits, overflow); throws a clear error otherwise. */
  admit: (queueId: string, now: number) => Promise<string>;
  /** Open chats one customer may have at once; more is refused, so one visitor cannot flood a queue. */
  maxOpenChatsPerCustomer: number;
  /** Expected wait at a place in a queue, ms; null when unknown. Sent to waiting customers with their position. */
  expectedWaitMs?: (queueId: string, position: number) => number | null;
  /**
   * Charging's say before a task is made: refuses a start that did not agree to a charged topic's price
   * or that the customer's balance cannot pay (throws), otherwise the most the customer pays per minute
   * (null: free). Without it nothing is charged.
   */
  priceGate?: (input: PriceGateInput) => Promise<{ budgetPerMinuteMinor: number } | null>;
  /** What an agent sees with a task beyond the conversation (the post of a social task, the customer's context). */
  /** Extra details of a task as `agentId` (offered it, or holding it) may see them. */
  taskDetails?: (task: TaskRow, agentId: string | null) => Promise<Pick<AgentTaskView, 'social' | 'context'>>;
  /** A new task's priority when its start gives none (flagged customers first). */
  priorityFor?: (customerId: string) => Promise<number>;
  /** An agent's rating (1–5) for routing strategies that rank by it; null when unrated. */
  agentRating?: (agentId: string) => Promise<number | null>;
}

export interface PriceGateInput {
  customerId: string;
  queueId: string;
  channel: TaskChannel;
  /** A phone call through a SIP trunk: the caller could not see or agree to a price. */
  viaPhone: boolean;
  price?: { maxPerMinuteMinor: number; currency: string };
}

/** What happened to tasks, for monitoring (queue metrics, charging); listeners cannot break chat. */
export type ChatObserverEvents = {
  'task:queued': [e: { taskId: string; queueId: string; channel: TaskRow['channel']; at: number }];
  'task:answered': [e: { taskId: string; queueId: string; agentId: string; at: number; waitMs: number }];
  'task:abandoned': [e: { taskId: string; queueId: string; at: number; waitMs: number }];
  /** The conversation ended (agent, customer, or the system); wrap-up follows, or the task went back to its queue. */
  'task:ended': [e: { taskId: string; queueId: string; customerId: string; agentId: string; at: number; by: 'agent' | 'customer' | 'system'; reason?: TaskEndReason }];
  /** The agent handed the task on (cold transfer): it waits again; its call, if any, stays up. */
  'task:transferred': [e: { taskId: string; fromAgentId: string; queueId: string; toAgentId: string | null; warm: boolean; at: number }];
  /** Wrap-up finished: the agent's work on the task is over. */
  'task:completed': [e: { taskId: string; queueId: string; agentId: string; at: number; handleMs: number }];
};

const OPEN: TaskRow['status'][] = ['queued', 'offered', 'assigned'];
const MESSAGE_HISTORY_LIMIT = 500;
/** Positions are pushed to this many waiting customers per queue; the rest learn theirs on resume. */
const POSITION_ANNOUNCE_LIMIT = 500;

export class ChatService {
  readonly #tasks: Repository<TaskRow>;
  readonly #messages: Repository<MessageRow>;
  readonly #customers: Repository<CustomerRow>;
  readonly #queues: Repository<QueueRow>;
  readonly #accounts: Repository<AccountRow>;
  /** Last position sent to each waiting customer, so only changes are sent. */
  readonly #lastPosition = new Map<string, number>();
  readonly #wrapUpTimers = new Map<string, NodeJS.Timeout>();
  #notifier: ChatNotifier | null = null;
  readonly observer = new TypedEmitter<ChatObserverEvents>();

  constructor(
    private readonly db: DataSource,
    private readonly router: RoutingEngine,
    private readonly opts: ChatServiceOptions,
    private readonly logger: Logger,
  ) {
    this.#tasks = db.getRepository(TaskEntity);
    this.#messages = db.getRepository(MessageEntity);
    this.#customers = db.getRepository(CustomerEntity);
    this.#queues = db.getRepository(QueueEntity);
    this.#accounts = db.getRepository(AccountEntity);
    router.on('offer', (agentId, ticket, expiresAt) => void this.#sendOffer(agentId, ticket, expiresAt));
    router.on('offer:revoked', (agentId, taskId, reason) => {
      // The agent's own reject is answered by its acknowledgement; a gone agent has nobody to tell.
      if (reason === 'rejected' || reason === 'agent_gone') return;
      this.#notify()?.toAgent(agentId, 'offer:revoked', { taskId, reason });
    });
    router.on('presence', (agentId) => void this.#sendPresence(agentId));
    router.on('queue:changed', (queueId) => void this.#announcePositions(queueId));
    router.on('agent:logged-off', (agentId) => void this.#agentLoggedOff(agentId));
    router.onListenerError = (event, err) => logger.error('router listener failed', { event, err });
    this.observer.onListenerError = (event, err) => logger.error('chat observer failed', { event, err });
  }

  setNotifier(notifier: ChatNotifier): void {
    this.#notifier = notifier;
  }

  /** Puts back every task that was waiting when the process stopped, in its place (queues are loaded first). */
  async restore(): Promise<{ requeued: number }> {
    // An offer does not survive a restart: the task is simply waiting again, with its original time.
    await this.#tasks.update({ status: 'offered' }, { status: 'queued', offeredAt: null });
    const waiting = await this.#tasks.find({ where: { status: 'queued' }, order: { enqueuedAt: 'ASC' } });
    for (const t of waiting) await this.router.enqueue(ticketOf(t));
    for (const t of await this.#tasks.find({ where: { status: 'wrapup' } })) this.#scheduleWrapUpEnd(t);
    return { requeued: waiting.length };
  }

  // ---- customer side --------------------------------------------------------------------------

  /**
   * Starts a conversation: a chat, or a browser call (channel 'call' or 'video') routed the same way
   * and answered in the agent's softphone. A call may start without text; its first line then says so.
   */
  async startChat(
    customerId: string,
    input: {
      queueId: string;
      text?: string;
      clientMsgId: string;
      displayName?: string;
      channel?: TaskChannel;
      price?: { maxPerMinuteMinor: number; currency: string };
      viaPhone?: boolean;
      /** Higher is served first (0 when absent): a social post's priority from its negativity and reach. */
      priority?: number;
      /** The new task's id, when the caller stored details under it first (they must exist before it is offered). */
      taskId?: string;
      /** The customer's position, shared with consent: kept coarse on the customer and the task. */
      location?: { lat: number; lon: number };
    },
  ): Promise<CustomerChatView> {
    const channel = input.channel ?? 'chat';
    const text = input.text ?? (channel === 'video' ? 'Video call' : channel === 'call' ? 'Audio call' : undefined);
    if (text === undefined) throw new DomainError('VALIDATION', 'a chat starts with a message');
    // A retried start (same clientMsgId) returns the chat the first attempt created.
    const retried = await this.#messages.findOneBy({ senderId: customerId, clientMsgId: input.clientMsgId, sender: 'customer' });
    if (retried) return this.customerView(customerId, retried.taskId);

    const open = await this.#tasks.countBy({ customerId, status: In(OPEN) });
    if (open >= this.opts.maxOpenChatsPerCustomer) {
      throw new DomainError('CONFLICT', `you already have ${open} open chats; finish one first`);
    }
    const now = Date.now();
    const queue = await this.#queues.findOneBy({ id: await this.opts.admit(input.queueId, now) });
    if (!queue) throw new NotFoundError(`topic ${input.queueId}`);
    const customer = await this.#customer(customerId);
    const charged = await this.opts.priceGate?.({ customerId, queueId: queue.id, channel, viaPhone: input.viaPhone === true, price: input.price });
    const near = input.location ? coarsen(input.location) : null;
    const name = input.displayName?.trim() || customer.displayName || 'Visitor';
    // The customer's previous agent is offered the chat first (for as long as the queue says).
    const previous = await this.#tasks.findOne({
      where: { customerId, status: In(['completed', 'wrapup']) },
      order: { acceptedAt: 'DESC' },
    });
    const task: TaskRow = {
      id: input.taskId ?? randomUUID(),
      channel,
      queueId: queue.id,
      customerId,
      status: 'queued',
      priority: input.priority ?? (await this.opts.priorityFor?.(customerId)) ?? 0,
      firstMessage: text,
      agentId: null,
      enqueuedAt: now,
      offeredAt: null,
      acceptedAt: null,
      endedAt: null,
      endReason: null,
      wrapUpCode: null,
      wrapUpNotes: null,
      completedAt: null,
      requirements:
        previous?.agentId || charged || near
          ? {
              ...(previous?.agentId ? { preferredAgentId: previous.agentId } : {}),
              ...(charged ? { budgetPerMinuteMinor: charged.budgetPerMinuteMinor } : {}),
              ...(near ? { near } : {}),
            }
          : null,
      callbackNumber: null,
      callbackRequestedAt: null,
    };
    const message = newMessage(task.id, 'customer', customerId, name, text, input.clientMsgId, now);
    await this.db.transaction(async (m) => {
      if (input.displayName?.trim() && input.displayName.trim() !== customer.displayName) {
        await m.getRepository(CustomerEntity).update({ id: customerId }, { displayName: input.displayName.trim() });
      }
      if (near) await m.getRepository(CustomerEntity).update({ id: customerId }, { locationLat10: Math.round(near.lat * 10), locationLon10: Math.round(near.lon * 10) });
      await m.getRepository(TaskEntity).insert(task);
      await m.getRepository(MessageEntity).insert(message);
    });
    await this.router.enqueue(ticketOf(task));
    this.observer.safeEmit('task:queued', { taskId: task.id, queueId: queue.id, channel: task.channel, at: now });
    this.logger.info('chat queued', { taskId: task.id, queueId: queue.id, channel });
    return this.customerView(customerId, task.id);
  }

  async customerSend(customerId: string, input: { taskId: string; text: string; clientMsgId: string }): Promise<ChatMessage> {
    const task = await this.#customerTask(customerId, input.taskId);
    if (!OPEN.includes(task.status)) throw new InvalidStateError('this chat has ended');
    const customer = await this.#customer(customerId);
    const message = await this.#store(task, 'customer', customerId, customer.displayName ?? 'Visitor', input.text, input.clientMsgId);
    this.#fanOut(task, message);
    return message;
  }

  async customerView(customerId: string, taskId: string): Promise<CustomerChatView> {
    const task = await this.#customerTask(customerId, taskId);
    const agent = task.agentId ? await this.#accounts.findOneBy({ id: task.agentId }) : null;
    return {
      taskId: task.id,
      queueId: task.queueId,
      status: task.status,
      agentName: agent?.displayName ?? null,
      ...(await this.#place(task.id, task.queueId)),
      callbackNumber: task.callbackNumber,
      messages: await this.#history(task.id),
    };
  }

  /**
   * The customer stops waiting in the chat but keeps the place: when the turn comes the agent gets the
   * offer with the number to call. (Placing the call is the SIP bridge's work.)
   */
  async requestCallback(customerId: string, taskId: string, phone: string): Promise<{ taskId: string; position: number | null; callbackNumber: string }> {
    const task = await this.#customerTask(customerId, taskId);
    if (!(await this.#transition(task.id, ['queued', 'offered'], { callbackNumber: phone, callbackRequestedAt: Date.now() }))) {
      throw new InvalidStateError('only a waiting chat can become a callback');
    }
    await this.#systemMessage(task, 'You asked to be called back: you keep your place and an agent will call you when it is your turn.');
    this.logger.info('callback requested', { taskId });
    return { taskId, position: await this.router.position(taskId), callbackNumber: phone };
  }

  async customerLeave(customerId: string, taskId: string): Promise<TaskRow['status']> {
    const task = await this.#customerTask(customerId, taskId);
    const now = Date.now();
    if (task.status === 'queued' || task.status === 'offered') {
      const changed = await this.#transition(task.id, ['queued', 'offered'], { status: 'abandoned', endedAt: now, endReason: 'abandoned' });
      if (changed) {
        await this.router.remove(task.id);
        this.#lastPosition.delete(task.id);
        this.observer.safeEmit('task:abandoned', { taskId, queueId: task.queueId, at: now, waitMs: now - task.enqueuedAt });
        this.logger.info('chat abandoned', { taskId, waitedMs: now - task.enqueuedAt });
        return 'abandoned';
      }
    } else if (task.status === 'assigned' && task.agentId) {
      const changed = await this.#transition(task.id, ['assigned'], { status: 'wrapup', endedAt: now, endReason: 'customer_left' });
      if (changed) {
        await this.#systemMessage(task, 'The customer left the chat.');
        this.#notify()?.toAgent(task.agentId, 'task:ended', { taskId, by: 'customer', status: 'wrapup' });
        this.#emitEnded(task, task.agentId, now, 'customer');
        this.#scheduleWrapUpEnd({ ...task, status: 'wrapup', endedAt: now });
        void this.#sendPresence(task.agentId);
        return 'wrapup';
      }
    }
    return (await this.#tasks.findOneByOrFail({ id: taskId })).status;
  }

  // ---- agent side -----------------------------------------------------------------------------

  /** An agent connection opened: tells the router and returns what the agent's app shows. */
  async agentConnected(agentId: string): Promise<{ account: AccountRow; status: AgentStatus; tasks: AgentTaskView[]; offers: Offer[] }> {
    const account = await this.#accounts.findOneByOrFail({ id: agentId });
    const held = await this.#tasks.find({ where: { agentId, status: In(['assigned', 'wrapup']) }, order: { acceptedAt: 'ASC' } });
    await this.router.agentConnected(
      {
        id: agentId,
        displayName: account.displayName,
        skills: account.skills,
        chatCapacity: account.chatCapacity,
        // Routing keeps agents priced above a customer's budget away from the task.
        pricePerMinuteMinor: account.pricePerMinuteMinor ?? null,
        rating: (await this.opts.agentRating?.(agentId)) ?? null,
        location: account.locationLat10 != null && account.locationLon10 != null ? { lat: account.locationLat10 / 10, lon: account.locationLon10 / 10 } : null,
        // Channels the agent does not take have no capacity (accounts/agent-policy.ts).
        channelCapacity: channelCapacity(account),
      },
      held.map((t) => t.id),
    );
    // Unverified, suspended, off hours or do-not-disturb: connected, but never offered work.
    const blocked = notReadyReason(account, Date.now());
    if (blocked) await this.router.setPresence(agentId, 'not_ready', blocked);
    const tasks = await Promise.all(held.map((t) => this.#agentView(t)));
    const pending = await this.router.pendingOffers(agentId);
    const offers = (await Promise.all(pending.map((o) => this.#offerOf(agentId, o.ticket, o.expiresAt)))).filter((o): o is Offer => o !== null);
    return { account, status: await this.agentStatus(agentId), tasks, offers };
  }

  agentDisconnected(agentId: string): void {
    this.router.agentDisconnected(agentId);
  }

  async agentStatus(agentId: string): Promise<AgentStatus> {
    const s = await this.router.agentSnapshot(agentId);
    if (!s) return { state: 'logged_off', reason: null, activeTasks: 0, capacity: 0 };
    // CSTA-style: not ready wins; work held only in wrap-up is "working after call"; full is busy.
    const wrappingUp = s.activeTasks > 0 ? await this.#tasks.countBy({ agentId, status: 'wrapup' }) : 0;
    const state: AgentStatus['state'] =
      s.presence === 'not_ready'
        ? 'not_ready'
        : s.activeTasks > 0 && wrappingUp >= s.activeTasks
          ? 'wrapup'
          : s.activeTasks >= s.capacity || s.onCalls > 0
            ? 'busy'
            : 'ready';
    return { state, reason: s.reason, activeTasks: s.activeTasks, capacity: s.capacity };
  }

  /** A supervisor changes a waiting task's priority: its place changes at once. */
  async setPriority(taskId: string, priority: number): Promise<{ taskId: string; priority: number; position: number | null }> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task) throw new NotFoundError('task');
    if (!(await this.#transition(taskId, ['queued', 'offered'], { priority }))) throw new InvalidStateError('only a waiting task can change priority');
    await this.router.setPriority(taskId, task.queueId, priority);
    this.logger.info('task priority changed', { taskId, from: task.priority, to: priority });
    return { taskId, priority, position: await this.router.position(taskId) };
  }

  /**
   * A waiting task moves to another queue (its queue's maximum wait was exceeded), keeping its
   * arrival time so it does not go to the back; false when it was no longer waiting there.
   */
  async moveToQueue(taskId: string, fromQueueId: string, toQueueId: string): Promise<boolean> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task || task.queueId !== fromQueueId) return false;
    const queue = await this.#queues.findOneBy({ id: toQueueId });
    if (!queue) throw new NotFoundError(`queue ${toQueueId}`);
    const moved = await this.#tasks.update({ id: taskId, queueId: fromQueueId, status: 'queued' }, { queueId: toQueueId });
    if (!moved.affected) return false;
    await this.router.remove(taskId);
    const updated: TaskRow = { ...task, queueId: toQueueId };
    await this.router.enqueue(ticketOf(updated));
    await this.#systemMessage(updated, `Moved to ${queue.name} so that someone can answer you sooner; you keep your place.`);
    this.logger.info('waiting task moved to another queue', { taskId, from: fromQueueId, to: toQueueId });
    return true;
  }

  /** Waiting tasks of a queue in service order, for supervisors. */
  async waitingTasks(queueId: string): Promise<Array<{ taskId: string; position: number; priority: number; enqueuedAt: number; channel: string }>> {
    const order = await this.router.waitingOrder(queueId);
    return order.map((t, i) => ({ taskId: t.id, position: i + 1, priority: t.priority, enqueuedAt: t.enqueuedAt, channel: t.channel ?? 'chat' }));
  }

  async setPresence(agentId: string, state: 'ready' | 'not_ready', reason?: string): Promise<AgentStatus> {
    if (state === 'ready') {
      const blocked = notReadyReason(await this.#accounts.findOneByOrFail({ id: agentId }), Date.now());
      if (blocked) throw new DomainError('INVALID_STATE', `cannot go ready: ${blocked}`, { reason: blocked });
    }
    await this.router.setPresence(agentId, state, reason ?? null);
    return this.agentStatus(agentId);
  }

  async accept(agentId: string, taskId: string): Promise<AgentTaskView> {
    const ticket = await this.router.accept(agentId, taskId);
    const now = Date.now();
    const changed = await this.#transition(taskId, ['queued', 'offered'], { status: 'assigned', agentId, acceptedAt: now, offeredAt: now }).catch(
      (err: unknown) => {
        this.logger.error('storing an accept failed; the task goes back to its queue', { taskId, err });
        return false;
      },
    );
    if (!changed) {
      // The customer left (or the write failed) between offer and accept: undo the router's assignment.
      await this.router.releaseTask(agentId, taskId, ticket.channel);
      const task = await this.#tasks.findOneBy({ id: taskId });
      if (task && task.status === 'queued') await this.router.enqueue(ticket);
      throw new InvalidStateError('this chat is no longer waiting');
    }
    this.#lastPosition.delete(taskId);
    const task = await this.#tasks.findOneByOrFail({ id: taskId });
    const agent = await this.#accounts.findOneByOrFail({ id: agentId });
    await this.#systemMessage(task, `${agent.displayName} joined the chat.`);
    this.#notify()?.toCustomer(task.customerId, 'chat:assigned', { taskId, agentName: agent.displayName });
    this.observer.safeEmit('task:answered', { taskId, queueId: task.queueId, agentId, at: now, waitMs: now - task.enqueuedAt });
    this.logger.info('chat accepted', { taskId, agentId, waitedMs: now - task.enqueuedAt });
    return this.#agentView(task);
  }

  reject(agentId: string, taskId: string): Promise<void> {
    return this.router.reject(agentId, taskId);
  }

  async agentSend(agentId: string, input: { taskId: string; text: string; clientMsgId: string }): Promise<ChatMessage> {
    const task = await this.#agentTask(agentId, input.taskId);
    if (task.status !== 'assigned') throw new InvalidStateError('this chat has ended');
    const agent = await this.#accounts.findOneByOrFail({ id: agentId });
    const message = await this.#store(task, 'agent', agentId, agent.displayName, input.text, input.clientMsgId);
    this.#fanOut(task, message);
    return message;
  }

  async agentEnd(agentId: string, taskId: string): Promise<TaskRow['status']> {
    const task = await this.#agentTask(agentId, taskId);
    if (task.status === 'wrapup') return 'wrapup';
    const now = Date.now();
    if (!(await this.#transition(taskId, ['assigned'], { status: 'wrapup', endedAt: now, endReason: 'agent_ended' }))) {
      throw new InvalidStateError('this chat is not active');
    }
    await this.#systemMessage(task, task.channel === 'chat' ? 'The chat has ended.' : 'The call has ended.');
    this.#notify()?.toCustomer(task.customerId, 'chat:ended', { taskId, by: 'agent' });
    this.#emitEnded(task, agentId, now, 'agent');
    this.#scheduleWrapUpEnd({ ...task, status: 'wrapup', endedAt: now });
    void this.#sendPresence(agentId);
    return 'wrapup';
  }

  /**
   * The system ends a conversation in progress (charging cut it off when the paid time ran out): both
   * sides are told why, the agent wraps up as after any end.
   */
  async endBySystem(taskId: string, reason: TaskEndReason, notice: string): Promise<boolean> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task?.agentId || task.status !== 'assigned') return false;
    const now = Date.now();
    if (!(await this.#transition(taskId, ['assigned'], { status: 'wrapup', endedAt: now, endReason: reason }))) return false;
    await this.#systemMessage(task, notice);
    this.#notify()?.toCustomer(task.customerId, 'chat:ended', { taskId, by: 'system', reason });
    this.#notify()?.toAgent(task.agentId, 'task:ended', { taskId, by: 'system', status: 'wrapup', reason });
    this.#emitEnded(task, task.agentId, now, 'system', reason);
    this.#scheduleWrapUpEnd({ ...task, status: 'wrapup', endedAt: now });
    void this.#sendPresence(task.agentId);
    this.logger.info('conversation ended by the system', { taskId, reason });
    return true;
  }

  /**
   * Cold transfer: the task waits again, in `queueId` (default its own) and offered first to
   * `toAgentId` when that agent is free (otherwise to the queue's next agent). It keeps its original
   * arrival time, so it does not go to the back. The transferring agent's slot is free at once.
   * Warm: a call stays with the transferring agent until the next agent joins it (calls/).
   */
  async transfer(agentId: string, input: { taskId: string; queueId?: string; agentId?: string; warm?: boolean }): Promise<{ taskId: string; queueId: string; status: TaskRow['status'] }> {
    const task = await this.#agentTask(agentId, input.taskId);
    if (task.status !== 'assigned') throw new InvalidStateError('only a conversation in progress can be transferred');
    if (!input.queueId && !input.agentId) throw new DomainError('VALIDATION', 'name a queue or an agent to transfer to');
    if (input.agentId === agentId) throw new DomainError('VALIDATION', 'you cannot transfer to yourself');
    const queue = await this.#queues.findOneBy({ id: input.queueId ?? task.queueId });
    if (!queue) throw new NotFoundError(`queue ${input.queueId}`);
    const target = input.agentId ? await this.#accounts.findOneBy({ id: input.agentId }) : null;
    if (input.agentId && (!target || target.role === 'admin')) throw new NotFoundError('agent');
    const requirements = { ...(task.requirements ?? {}), preferredAgentId: target?.id ?? null };
    const moved = await this.#transition(task.id, ['assigned'], { status: 'queued', queueId: queue.id, agentId: null, acceptedAt: null, offeredAt: null, requirements });
    if (!moved) throw new InvalidStateError('this conversation is not in progress any more');
    const now = Date.now();
    await this.router.releaseTask(agentId, task.id, task.channel);
    const updated: TaskRow = { ...task, status: 'queued', queueId: queue.id, agentId: null, acceptedAt: null, offeredAt: null, requirements };
    await this.#systemMessage(updated, target ? `Transferred to ${target.displayName}; please hold.` : `Transferred to ${queue.name}; please hold.`);
    this.observer.safeEmit('task:transferred', { taskId: task.id, fromAgentId: agentId, queueId: queue.id, toAgentId: target?.id ?? null, warm: input.warm === true, at: now });
    await this.router.enqueue(ticketOf(updated));
    this.#notify()?.toAgent(agentId, 'task:ended', { taskId: task.id, by: 'agent', status: 'queued' });
    void this.#sendPresence(agentId);
    this.logger.info('task transferred', { taskId: task.id, fromAgentId: agentId, queueId: queue.id, toAgentId: target?.id ?? null });
    return { taskId: task.id, queueId: queue.id, status: 'queued' };
  }

  async wrapUpDone(agentId: string, input: { taskId: string; code?: string; notes?: string }): Promise<TaskRow['status']> {
    const task = await this.#agentTask(agentId, input.taskId);
    if (task.status === 'completed') return 'completed';
    if (task.status !== 'wrapup') throw new InvalidStateError('end the chat before wrapping it up');
    await this.#completeWrapUp(task, input.code ?? null, input.notes ?? null);
    return 'completed';
  }

  /** A line from the system in a conversation (what a callback is doing, say), seen by both sides. */
  async note(taskId: string, text: string): Promise<void> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (task) await this.#systemMessage(task, text);
  }

  /** A task by id, for services that authorise against it (calls); undefined when unknown. */
  async task(taskId: string): Promise<TaskRow | undefined> {
    return (await this.#tasks.findOneBy({ id: taskId })) ?? undefined;
  }

  close(): void {
    for (const t of this.#wrapUpTimers.values()) clearTimeout(t);
    this.#wrapUpTimers.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  #notify(): ChatNotifier | null {
    return this.#notifier;
  }

  #emitEnded(task: TaskRow, agentId: string, at: number, by: 'agent' | 'customer' | 'system', reason?: TaskEndReason): void {
    this.observer.safeEmit('task:ended', { taskId: task.id, queueId: task.queueId, customerId: task.customerId, agentId, at, by, ...(reason ? { reason } : {}) });
  }

  /** Conditional state change: true only when the task was in one of `from` (so races lose cleanly). */
  async #transition(taskId: string, from: TaskRow['status'][], patch: Partial<TaskRow>): Promise<boolean> {
    const result = await this.#tasks.update({ id: taskId, status: In(from) }, patch);
    return (result.affected ?? 0) > 0;
  }

  async #completeWrapUp(task: TaskRow, code: string | null, notes: string | null): Promise<void> {
    clearTimeout(this.#wrapUpTimers.get(task.id));
    this.#wrapUpTimers.delete(task.id);
    const completedAt = Date.now();
    const changed = await this.#transition(task.id, ['wrapup'], {
      status: 'completed',
      wrapUpCode: code,
      wrapUpNotes: notes,
      completedAt,
    });
    if (changed && task.agentId) {
      // Handle time: from answer to the end of wrap-up (talk + after-contact work).
      const handleMs = completedAt - (task.acceptedAt ?? task.endedAt ?? completedAt);
      this.observer.safeEmit('task:completed', { taskId: task.id, queueId: task.queueId, agentId: task.agentId, at: completedAt, handleMs });
    }
    if (task.agentId) {
      await this.router.releaseTask(task.agentId, task.id, task.channel);
      if (changed) this.#notify()?.toAgent(task.agentId, 'task:ended', { taskId: task.id, by: code === 'auto' ? 'system' : 'agent', status: 'completed' });
    }
  }

  /** Wrap-up has a time limit, so an agent who forgets it still gets new work. */
  #scheduleWrapUpEnd(task: TaskRow): void {
    clearTimeout(this.#wrapUpTimers.get(task.id));
    const due = Math.max(0, (task.endedAt ?? Date.now()) + this.opts.wrapUpMs - Date.now());
    const timer = setTimeout(() => {
      this.#wrapUpTimers.delete(task.id);
      void this.#completeWrapUp(task, 'auto', null).catch((err: unknown) =>
        this.logger.error('automatic wrap-up failed', { taskId: task.id, err }),
      );
    }, due);
    this.#wrapUpTimers.set(task.id, timer);
  }

  /** The agent stayed away past the grace period: its live chats go back to the queue at their places. */
  async #agentLoggedOff(agentId: string): Promise<void> {
    try {
      const held = await this.#tasks.find({ where: { agentId, status: In(['assigned', 'wrapup']) } });
      for (const task of held) {
        if (task.status === 'wrapup') {
          await this.#completeWrapUp(task, 'auto', null);
          continue;
        }
        if (await this.#transition(task.id, ['assigned'], { status: 'queued', agentId: null, acceptedAt: null, offeredAt: null })) {
          this.#emitEnded(task, agentId, Date.now(), 'system');
          await this.#systemMessage(task, 'Your agent was disconnected; you are back in the queue at your place.');
          await this.router.enqueue(ticketOf(task));
        }
      }
      this.logger.info('agent logged off after disconnect grace', { agentId, requeued: held.length });
    } catch (err) {
      this.logger.error('returning a logged-off agent’s chats failed', { agentId, err });
    }
  }

  async #sendOffer(agentId: string, ticket: TaskTicket, expiresAt: number): Promise<void> {
    try {
      const offer = await this.#offerOf(agentId, ticket, expiresAt);
      if (offer) this.#notify()?.toAgent(agentId, 'offer', offer);
    } catch (err) {
      this.logger.error('sending an offer failed', { taskId: ticket.id, agentId, err });
    }
  }

  async #offerOf(agentId: string, ticket: TaskTicket, expiresAt: number): Promise<Offer | null> {
    const task = await this.#tasks.findOneBy({ id: ticket.id });
    if (!task) return null;
    const [queue, customer] = await Promise.all([this.#queueInfo(task.queueId), this.#customers.findOneBy({ id: task.customerId })]);
    return {
      taskId: task.id,
      channel: task.channel,
      queue,
      customerName: customer?.displayName ?? 'Visitor',
      firstMessage: task.firstMessage,
      enqueuedAt: task.enqueuedAt,
      expiresAt,
      callbackNumber: task.callbackNumber,
      ...(await this.opts.taskDetails?.(task, agentId)),
    };
  }

  async #place(taskId: string, queueId: string): Promise<{ position: number | null; expectedWaitMs: number | null }> {
    const position = await this.router.position(taskId);
    return { position, expectedWaitMs: position === null ? null : (this.opts.expectedWaitMs?.(queueId, position) ?? null) };
  }

  async #sendPresence(agentId: string): Promise<void> {
    try {
      this.#notify()?.toAgent(agentId, 'presence', await this.agentStatus(agentId));
    } catch (err) {
      this.logger.error('sending presence failed', { agentId, err });
    }
  }

  async #announcePositions(queueId: string): Promise<void> {
    const notifier = this.#notify();
    if (!notifier) return;
    let order: TaskTicket[];
    try {
      order = await this.router.waitingOrder(queueId, POSITION_ANNOUNCE_LIMIT);
    } catch (err) {
      this.logger.error('reading queue positions failed', { queueId, err });
      return;
    }
    order.forEach((ticket, i) => {
      const position = i + 1;
      if (this.#lastPosition.get(ticket.id) === position) return;
      this.#lastPosition.set(ticket.id, position);
      void this.#tasks.findOneBy({ id: ticket.id }).then((t) => {
        if (t) notifier.toCustomer(t.customerId, 'chat:queued', { taskId: t.id, position, expectedWaitMs: this.opts.expectedWaitMs?.(queueId, position) ?? null });
      });
    });
  }

  async #store(task: TaskRow, sender: MessageRow['sender'], senderId: string, senderName: string, body: string, clientMsgId: string): Promise<ChatMessage> {
    const existing = await this.#messages.findOneBy({ taskId: task.id, clientMsgId });
    if (existing) {
      if (existing.senderId !== senderId) throw new DomainError('CONFLICT', 'clientMsgId already used in this chat');
      return wireMessage(existing);
    }
    const row = newMessage(task.id, sender, senderId, senderName, body, clientMsgId, Date.now());
    try {
      await this.#messages.insert(row);
    } catch (err) {
      // Two concurrent sends of the same message: the unique (task, clientMsgId) lets exactly one in.
      const winner = await this.#messages.findOneBy({ taskId: task.id, clientMsgId });
      if (winner && winner.senderId === senderId) return wireMessage(winner);
      throw err;
    }
    return wireMessage(row);
  }

  async #systemMessage(task: TaskRow, body: string): Promise<void> {
    const row = newMessage(task.id, 'system', null, 'mccs', body, null, Date.now());
    await this.#messages.insert(row);
    this.#fanOut(task, wireMessage(row));
  }

  /** A stored message goes to the customer's connections and, once assigned, the agent's. */
  #fanOut(task: TaskRow, message: ChatMessage): void {
    const n = this.#notify();
    n?.toCustomer(task.customerId, 'chat:message', message);
    if (task.agentId) n?.toAgent(task.agentId, 'chat:message', message);
  }

  async #history(taskId: string): Promise<ChatMessage[]> {
    const rows = await this.#messages.find({ where: { taskId }, order: { createdAt: 'ASC' }, take: MESSAGE_HISTORY_LIMIT });
    return rows.map(wireMessage);
  }

  async #agentView(task: TaskRow): Promise<AgentTaskView> {
    const [queue, customer, messages] = await Promise.all([
      this.#queueInfo(task.queueId),
      this.#customers.findOneBy({ id: task.customerId }),
      this.#history(task.id),
    ]);
    return {
      taskId: task.id,
      channel: task.channel,
      queue,
      status: task.status,
      customerName: customer?.displayName ?? 'Visitor',
      messages,
      callbackNumber: task.callbackNumber,
      ...(await this.opts.taskDetails?.(task, task.agentId)),
    };
  }

  async #queueInfo(queueId: string): Promise<QueueInfo> {
    const q = await this.#queues.findOneBy({ id: queueId });
    return { id: queueId, name: q?.name ?? queueId, description: q?.description ?? '' };
  }

  async #customer(customerId: string): Promise<CustomerRow> {
    const c = await this.#customers.findOneBy({ id: customerId });
    if (!c) throw new DomainError('UNAUTHENTICATED', 'unknown visitor: get a new visitor token');
    return c;
  }

  /** A task of this customer's; another customer's task is reported as not found, not as forbidden. */
  async #customerTask(customerId: string, taskId: string): Promise<TaskRow> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task || task.customerId !== customerId) throw new NotFoundError('chat');
    return task;
  }

  async #agentTask(agentId: string, taskId: string): Promise<TaskRow> {
    const task = await this.#tasks.findOneBy({ id: taskId });
    if (!task || task.agentId !== agentId) throw new DomainError('FORBIDDEN', 'this chat is not assigned to you');
    return task;
  }
}

function ticketOf(t: TaskRow): TaskTicket {
  return {
    id: t.id,
    queueId: t.queueId,
    priority: t.priority,
    enqueuedAt: t.enqueuedAt,
    channel: t.channel,
    ...(t.requirements ? { requirements: { ...t.requirements, skills: t.requirements.skills ?? [] } } : {}),
  };
}

function newMessage(
  taskId: string,
  sender: MessageRow['sender'],
  senderId: string | null,
  senderName: string,
  body: string,
  clientMsgId: string | null,
  createdAt: number,
): MessageRow {
  return { id: randomUUID(), taskId, sender, senderId, senderName, body, clientMsgId, createdAt };
}

function wireMessage(m: MessageRow): ChatMessage {
  return { id: m.id, taskId: m.taskId, sender: m.sender, senderName: m.senderName, body: m.body, createdAt: m.createdAt, clientMsgId: m.clientMsgId };
}
