// A queue's maximum wait: a task waiting longer than the queue's `maxWaitSeconds` is escalated once —
// raised to the escalated priority (served before everything not escalated) or moved to the queue's
// overflow queue keeping its arrival time — and supervisors are alerted. Checked every few seconds on
// every node; both actions are idempotent, so two nodes escalating the same task do no harm.
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { Logger } from '../lib/logger.js';
import type { TaskTicket } from './engine.js';

/** Priority an escalated task gets: above any ordinary or flagged task. */
export const ESCALATED_PRIORITY = 50;
const DEFAULT_CHECK_MS = 2_000;

export interface MaxWaitRule {
  queueId: string;
  maxWaitSeconds: number;
  action: 'escalate' | 'overflow';
  overflowQueueId: string | null;
}

export type WaitEscalationEvents = {
  escalated: [e: { taskId: string; queueId: string; waitedMs: number; action: 'escalate' | 'overflow'; toQueueId: string | null; at: number }];
};

export interface WaitEscalationDeps {
  rules: () => Promise<MaxWaitRule[]>;
  /** Waiting tasks of a queue in service order. */
  waiting: (queueId: string) => Promise<TaskTicket[]>;
  raise: (taskId: string, priority: number) => Promise<void>;
  /** Moves a waiting task to another queue, keeping its arrival time; false when it was no longer waiting. */
  move: (taskId: string, fromQueueId: string, toQueueId: string) => Promise<boolean>;
  logger: Logger;
  checkEveryMs?: number;
}

export class WaitEscalation extends TypedEmitter<WaitEscalationEvents> {
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  constructor(private readonly deps: WaitEscalationDeps) {
    super();
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), this.deps.checkEveryMs ?? DEFAULT_CHECK_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass over every queue with a maximum wait. */
  async check(now = Date.now()): Promise<number> {
    if (this.#checking) return 0;
    this.#checking = true;
    let escalated = 0;
    try {
      for (const rule of await this.deps.rules()) {
        const limit = now - rule.maxWaitSeconds * 1000;
        for (const task of await this.deps.waiting(rule.queueId)) {
          if (task.enqueuedAt > limit || task.priority >= ESCALATED_PRIORITY) continue;
          if (await this.#escalate(rule, task, now)) escalated++;
        }
      }
    } catch (err) {
      this.deps.logger.error('checking maximum waits failed', { err });
    } finally {
      this.#checking = false;
    }
    return escalated;
  }

  async #escalate(rule: MaxWaitRule, task: TaskTicket, now: number): Promise<boolean> {
    const toQueueId = rule.action === 'overflow' ? rule.overflowQueueId : null;
    // A moved task is raised too: served first where it lands, and never escalated (or moved) again.
    if (toQueueId && !(await this.deps.move(task.id, rule.queueId, toQueueId))) return false;
    await this.deps.raise(task.id, ESCALATED_PRIORITY);
    const action = toQueueId ? 'overflow' : 'escalate';
    const waitedMs = now - task.enqueuedAt;
    this.deps.logger.info('maximum wait exceeded', { taskId: task.id, queueId: rule.queueId, waitedMs, action, toQueueId });
    this.safeEmit('escalated', { taskId: task.id, queueId: rule.queueId, waitedMs, action, toQueueId, at: now });
    return true;
  }
}
