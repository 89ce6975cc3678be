// Charging on the life of a task: the price gate before a charged task is made, a credit-control
// session from the answer to the end (only time both parties are connected is billed: a chat from the
// answer, a call from the moment both are in the room, not while the customer is on hold), the warning and the cut-off when the paid time
// runs out, and a call detail record for every answered or abandoned task.
import type { Repository } from 'typeorm';
import type { AccountRow, TaskRow } from '../db/entities.js';
import { DomainError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ChatNotifier, ChatService, PriceGateInput } from '../chat/chat-service.js';
import type { CallService } from '../calls/call-service.js';
import type { QuoteView } from '../protocol/charging.js';
import type { ChargeView } from '../protocol/events.js';
import { rate, shareFor, tariffFor, type RatePlan, type Tariff } from './rating.js';
import type { RatePlanService } from './rate-plans.js';
import type { WalletService } from './wallets.js';
import type { WalletMerge } from './wallet-merge.js';
import type { CreditControl, Settlement } from './credit-control.js';
import type { CdrService } from './cdr.js';
import { InsufficientFundsError } from './errors.js';

export type PlanChannel = 'chat' | 'call' | 'video';

export interface TaskBillingDeps {
  chat: ChatService;
  calls?: CallService;
  plans: RatePlanService;
  wallets: WalletService;
  walletMerge: WalletMerge;
  credit: CreditControl;
  cdrs: CdrService;
  accounts: Repository<AccountRow>;
  /** Expected wait for the next arrival in a queue, ms (shown with the quote). */
  expectedWaitMs: (queueId: string, position: number) => number | null;
  waitingCount: (queueId: string) => Promise<number>;
  /**
   * Several server processes share the database: sessions left open are settled only once their
   * process stopped checkpointing for this long (ms); null: this is the only process, settle at start.
   */
  staleAfterMs: number | null;
  logger: Logger;
}

/** A charged conversation this node is billing. */
interface Billed {
  sessionId: string;
  taskId: string;
  channel: TaskRow['channel'];
  tariff: Tariff;
  /** A call: both parties are in the room. */
  bridged: boolean;
  /** A call: the agent has the customer on hold. The clock runs when bridged and not held. */
  held: boolean;
}

const CUTOFF_NOTICE = 'Your prepaid balance has run out, so the conversation has ended. Top up to talk again.';
const TOO_LOW_NOTICE = 'Your balance is too low for this conversation, so it has ended. Top up and start again.';

export class TaskBilling {
  readonly #deps: TaskBillingDeps;
  readonly #log: Logger;
  /** By task id. */
  readonly #billed = new Map<string, Billed>();
  readonly #bySession = new Map<string, Billed>();
  #notifier: ChatNotifier | null = null;
  #sweep: NodeJS.Timeout | null = null;

  constructor(deps: TaskBillingDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    const { chat, calls, credit } = deps;
    const guard = (what: string, taskId: string) => (err: unknown) => this.#log.error(`charging: ${what} failed`, { taskId, err });
    chat.observer.on('task:answered', (e) => void this.#answered(e.taskId, e.agentId, e.at).catch(guard('starting a session', e.taskId)));
    chat.observer.on('task:ended', (e) => void this.#stop(e.taskId, e.at, e.reason ?? `${e.by}_ended`).catch(guard('ending a session', e.taskId)));
    chat.observer.on('task:transferred', (e) => void this.#stop(e.taskId, e.at, 'transferred').catch(guard('ending a session', e.taskId)));
    chat.observer.on('task:abandoned', (e) => void this.#abandoned(e.taskId, e.at).catch(guard('recording an abandoned task', e.taskId)));
    calls?.observer.on('call:bridged', (e) => this.#bridged(e.taskId, e.at));
    calls?.observer.on('call:held', (e) => this.#held(e.taskId, e.at, e.held));
    calls?.observer.on('call:ended', (e) => this.#unbridged(e.taskId, e.at));
    credit.on('warning', (e) => this.#warn(e.sessionId, e.secondsLeft));
    credit.on('cutoff', (e) => void this.#cutOff(e.sessionId));
  }

  setNotifier(notifier: ChatNotifier): void {
    this.#notifier = notifier;
  }

  /**
   * After a crash: sessions left open are settled from their last recorded bridged time (and get their
   * call detail record); chats still in progress are billed again from now on (their calls died with
   * the process). With several processes, a sweep settles what a stopped process leaves open, and
   * chats it was billing go on unbilled (documented in docs/charging.md).
   */
  async restore(inProgress: TaskRow[]): Promise<{ settled: number; resumed: number }> {
    const settled = await this.#recover();
    let resumed = 0;
    // With several processes another one may be billing these chats right now: only a process alone
    // with the database resumes them (their sessions were all settled just above).
    const alone = this.#deps.staleAfterMs === null;
    for (const task of alone ? inProgress : []) {
      if (task.status !== 'assigned' || task.channel !== 'chat' || !task.agentId) continue;
      if (await this.#answered(task.id, task.agentId, Date.now())) resumed++;
    }
    const staleAfterMs = this.#deps.staleAfterMs;
    if (staleAfterMs !== null) {
      this.#sweep = setInterval(() => void this.#recover().catch((err: unknown) => this.#log.error('charging: settling stale sessions failed', { err })), staleAfterMs);
      this.#sweep.unref();
    }
    return { settled, resumed };
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = null;
  }

  async #recover(): Promise<number> {
    const now = Date.now();
    const staleAfterMs = this.#deps.staleAfterMs;
    const { settlements } = await this.#deps.credit.recover(now, staleAfterMs === null ? {} : { staleBeforeMs: now - staleAfterMs });
    for (const settlement of settlements) {
      const task = await this.#deps.chat.task(settlement.taskId);
      if (task) await this.#record(task, settlement.sessionId, settlement, 'recovered', settlement.settledAt);
    }
    return settlements.length;
  }

  // ---- before a task is made ----------------------------------------------------------------------

  /** What a topic costs on a channel; a free topic says so. */
  async quote(queueId: string, channel: PlanChannel): Promise<QuoteView> {
    const expectedWaitMs = this.#deps.expectedWaitMs(queueId, (await this.#deps.waitingCount(queueId)) + 1);
    const plan = await this.#deps.plans.planFor(queueId, channel);
    if (!plan) return { queueId, channel, charged: false, expectedWaitMs };
    return {
      queueId,
      channel,
      charged: true,
      currency: plan.currency,
      perMinuteMinor: plan.perMinuteMinor,
      minPerMinuteMinor: Math.min(plan.agentPriceMinMinor ?? plan.perMinuteMinor, plan.perMinuteMinor),
      maxPerMinuteMinor: Math.max(plan.agentPriceMaxMinor ?? plan.perMinuteMinor, plan.perMinuteMinor),
      sessionFeeMinor: plan.sessionFeeMinor,
      freeSeconds: plan.freeSeconds,
      firstIncrementSeconds: plan.firstIncrementSeconds,
      nextIncrementSeconds: plan.nextIncrementSeconds,
      expectedWaitMs,
    };
  }

  /**
   * ChatService's price gate. A charged topic needs the customer's agreement, at least at the topic's
   * own price (so every agent without a price of their own is within it), and a balance that pays the
   * smallest charge at that price; the agreed maximum becomes the task's budget, so routing offers it
   * only to agents priced within it. Phone callers cannot agree to a price: their calls are not charged.
   */
  priceGate = async (input: PriceGateInput): Promise<{ budgetPerMinuteMinor: number } | null> => {
    const channel = planChannel(input.channel);
    if (input.viaPhone || !channel) return null;
    const plan = await this.#deps.plans.planFor(input.queueId, channel);
    if (!plan) return null;
    const agreed = input.price;
    if (!agreed || agreed.currency !== plan.currency || agreed.maxPerMinuteMinor < plan.perMinuteMinor) {
      throw new DomainError('PRICE_NOT_ACCEPTED', 'this topic is charged: agree to its price to start', {
        quote: await this.quote(input.queueId, channel),
      });
    }
    // The smallest charge: the session fee and the first increment after the free seconds, at the topic's price.
    const cheapest = tariffFor(plan, null);
    const needed = rate(cheapest.freeSeconds + cheapest.firstIncrementSeconds, cheapest).amountMinor;
    const wallet = await this.#deps.wallets.view(input.customerId, plan.currency);
    if (wallet.availableMinor < needed) {
      throw new DomainError('INSUFFICIENT_FUNDS', 'your balance does not pay for the smallest charge of this topic', {
        availableMinor: wallet.availableMinor,
        neededMinor: needed,
        currency: plan.currency,
      });
    }
    return { budgetPerMinuteMinor: agreed.maxPerMinuteMinor };
  };

  // ---- the life of a charged task ---------------------------------------------------------------

  /** The agent answered: a session is opened (a first slice reserved); a chat's clock starts now. */
  async #answered(taskId: string, agentId: string, at: number): Promise<boolean> {
    const task = await this.#deps.chat.task(taskId);
    const budget = task?.requirements?.budgetPerMinuteMinor;
    const channel = task ? planChannel(task.channel) : null;
    if (!task || budget == null || !channel) return false;
    const plan = await this.#deps.plans.planFor(task.queueId, channel);
    if (!plan) return false;
    const agent = await this.#deps.accounts.findOneBy({ id: agentId });
    const tariff = tariffFor(plan, agentPrice(plan, agent?.pricePerMinuteMinor ?? null));
    const billed: Billed = { sessionId: `${taskId}.${at}`, taskId, channel: task.channel, tariff, bridged: false, held: false };
    try {
      await this.#deps.credit.start({
        sessionId: billed.sessionId,
        taskId,
        customerId: task.customerId,
        agentId,
        queueId: task.queueId,
        channel,
        tariff,
        shareBps: shareFor(plan, agent?.revenueShareBps ?? null),
      });
    } catch (err) {
      if (!(err instanceof InsufficientFundsError)) throw err;
      // The balance went elsewhere between the start and the answer.
      await this.#deps.chat.endBySystem(taskId, 'balance_exhausted', TOO_LOW_NOTICE);
      return false;
    }
    this.#billed.set(taskId, billed);
    this.#bySession.set(billed.sessionId, billed);
    const charge: ChargeView = { currency: tariff.currency, perMinuteMinor: tariff.perMinuteMinor, sessionFeeMinor: tariff.sessionFeeMinor, pausedOnHold: task.channel !== 'chat' };
    this.#notifier?.toCustomer(task.customerId, 'charging:started', { taskId, charge });
    if (task.channel === 'chat') this.#deps.credit.bridged(billed.sessionId, at);
    this.#log.info('charged session started', { taskId, sessionId: billed.sessionId, perMinuteMinor: tariff.perMinuteMinor, currency: tariff.currency });
    return true;
  }

  #bridged(taskId: string, at: number): void {
    const billed = this.#callBilled(taskId);
    if (!billed) return;
    billed.bridged = true;
    if (!billed.held) this.#deps.credit.bridged(billed.sessionId, at);
  }

  #unbridged(taskId: string, at: number): void {
    const billed = this.#callBilled(taskId);
    if (!billed) return;
    billed.bridged = false;
    this.#deps.credit.unbridged(billed.sessionId, at);
  }

  /** Time on hold is not billed: the clock stops when the customer is put on hold and runs again after. */
  #held(taskId: string, at: number, held: boolean): void {
    const billed = this.#callBilled(taskId);
    if (!billed || billed.held === held) return;
    billed.held = held;
    if (!billed.bridged) return;
    if (held) this.#deps.credit.unbridged(billed.sessionId, at);
    else this.#deps.credit.bridged(billed.sessionId, at);
  }

  /** A charged call this node bills (a chat is billed from the answer, with or without a call in it). */
  #callBilled(taskId: string): Billed | null {
    const billed = this.#billed.get(taskId);
    return billed && billed.channel !== 'chat' ? billed : null;
  }

  /** The conversation ended (or moved to another agent): the bridged time is rated and posted. */
  async #stop(taskId: string, at: number, reason: string): Promise<void> {
    const billed = this.#billed.get(taskId);
    this.#billed.delete(taskId);
    if (billed) this.#bySession.delete(billed.sessionId);
    const task = await this.#deps.chat.task(taskId);
    if (!task) return;
    const settlement = billed ? await this.#deps.credit.stop(billed.sessionId, at, reason) : null;
    await this.#record(task, billed?.sessionId ?? `${taskId}.${task.acceptedAt ?? at}`, settlement, reason, at);
    // The customer's profile was merged during the conversation: what the session held and did not
    // spend is released in the old wallet, and goes to the survivor's now.
    if (settlement && settlement.customerId !== task.customerId) await this.#deps.walletMerge.sweep(settlement.customerId, task.customerId);
  }

  /** A task nobody answered: a record of the attempt, with its wait. */
  async #abandoned(taskId: string, at: number): Promise<void> {
    const task = await this.#deps.chat.task(taskId);
    if (task) await this.#record(task, `${taskId}.abandoned`, null, 'abandoned', at);
  }

  /** The call detail record of one handling of a task (attempt 2 after a transfer, and so on). */
  async #record(task: TaskRow, sessionId: string, settlement: Settlement | null, reason: string, endedAt: number): Promise<void> {
    const tariff = settlement?.tariff;
    await this.#deps.cdrs.write({
      sessionId,
      attempt: (await this.#deps.cdrs.attemptsOf(task.id)) + 1,
      taskId: task.id,
      channel: task.channel,
      queueId: settlement?.queueId ?? task.queueId,
      skills: task.requirements?.skills ?? [],
      customerId: task.customerId,
      agentId: settlement?.agentId ?? task.agentId,
      trunkId: null,
      enqueuedAt: task.enqueuedAt,
      offeredAt: task.offeredAt,
      answeredAt: task.acceptedAt,
      endedAt,
      terminationReason: reason,
      tariff: tariff
        ? {
            planId: tariff.planId,
            perMinuteMinor: tariff.perMinuteMinor,
            sessionFeeMinor: tariff.sessionFeeMinor,
            freeSeconds: tariff.freeSeconds,
            firstIncrementSeconds: tariff.firstIncrementSeconds,
            nextIncrementSeconds: tariff.nextIncrementSeconds,
          }
        : null,
      billedSeconds: settlement?.billedSeconds ?? 0,
      amountMinor: settlement?.amountMinor ?? 0,
      currency: settlement?.currency ?? null,
      chargedParty: settlement ? task.customerId : null,
      ratingStatus: settlement ? settlement.ratingStatus : task.acceptedAt ? 'free' : 'unrated',
    });
  }

  #warn(sessionId: string, secondsLeft: number): void {
    const billed = this.#bySession.get(sessionId);
    if (!billed) return;
    void this.#deps.chat.task(billed.taskId).then((task) => {
      if (!task) return;
      this.#notifier?.toCustomer(task.customerId, 'charging:warning', { taskId: task.id, secondsLeft });
      if (task.agentId) this.#notifier?.toAgent(task.agentId, 'charging:warning', { taskId: task.id, secondsLeft });
    });
  }

  async #cutOff(sessionId: string): Promise<void> {
    const billed = this.#bySession.get(sessionId);
    if (!billed) return;
    this.#log.info('paid time used up: the conversation is cut off', { taskId: billed.taskId, sessionId });
    await this.#deps.chat.endBySystem(billed.taskId, 'balance_exhausted', CUTOFF_NOTICE).catch((err: unknown) =>
      this.#log.error('cutting off a conversation failed', { taskId: billed.taskId, err }),
    );
  }
}

/**
 * Browser calls and video calls have plans of their own; a chat turned into a call stays a chat. A
 * social post is nobody's purchase: its author did not ask to be served, so it is never charged.
 */
function planChannel(channel: TaskRow['channel']): PlanChannel | null {
  return channel === 'social' ? null : channel;
}

/** The agent's own price, held to the plan's bounds (an agent serves topics whose bounds differ). */
function agentPrice(plan: RatePlan, own: number | null): number | null {
  if (own === null) return null;
  const min = plan.agentPriceMinMinor ?? own;
  const max = plan.agentPriceMaxMinor ?? own;
  return Math.min(Math.max(own, min), max);
}
