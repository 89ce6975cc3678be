// Phone calls from the SIP bridge become tasks like any other: the caller is a customer, the call a
// task of channel "call" in the trunk's queue, and the caller's media room becomes the task's call,
// which the agent's softphone joins when the agent answers. While waiting the caller hears the
// greeting, then music on hold. Whoever ends (the caller, the agent, the system) ends both the SIP
// dialog and the task, so no phone call outlives its task or the other way round.
import type { Logger } from '../lib/logger.js';
import type { ChatService } from '../chat/chat-service.js';
import type { CustomerDirectory } from '../chat/customer-directory.js';
import type { InboundCall } from '../sip-bridge/index.js';
import type { CallService } from './call-service.js';

export interface PhoneIntakeDeps {
  chat: ChatService;
  calls: CallService;
  customers: CustomerDirectory;
  /** The queue a trunk's calls wait in. */
  queueFor: (trunkId: string, called: string | undefined) => string;
  logger: Logger;
}

interface Waiting {
  call: InboundCall;
  customerId: string;
  holdMusic?: string;
}

export class PhoneIntake {
  readonly #deps: PhoneIntakeDeps;
  /** Live phone calls by task id. */
  readonly #byTask = new Map<string, Waiting>();

  constructor(deps: PhoneIntakeDeps) {
    this.#deps = deps;
    deps.chat.observer.on('task:answered', (e) => {
      const w = this.#byTask.get(e.taskId);
      if (w?.holdMusic) void w.call.stopPrompt(w.holdMusic).catch(() => undefined);
    });
    // The agent (or the system) ended the conversation: the caller is hung up.
    deps.chat.observer.on('task:ended', (e) => {
      if (e.by !== 'customer') this.#byTask.get(e.taskId)?.call.hangup('local_hangup');
    });
  }

  /** SipBridge's onCall: a throw hangs the call up (the bridge does), so nothing half-made remains. */
  onCall = async (call: InboundCall): Promise<void> => {
    const { caller } = call;
    // A withheld number is never shown: the agent sees only that it was withheld.
    const label = caller.withheld ? 'Withheld number' : (caller.displayName ?? caller.number ?? 'Phone caller');
    const customer = await this.#deps.customers.createVisitor(label.slice(0, 80));
    const queueId = this.#deps.queueFor(call.trunkId, call.called);
    const view = await this.#deps.chat.startChat(customer.id, {
      queueId,
      channel: 'call',
      clientMsgId: `sip${call.id.replace(/-/g, '')}`,
      text: caller.withheld ? 'Phone call (number withheld)' : `Phone call from ${caller.number ?? 'an unknown number'}`,
      displayName: label.slice(0, 80),
    });
    const waiting: Waiting = { call, customerId: customer.id };
    this.#byTask.set(view.taskId, waiting);
    await this.#deps.calls.adoptPhoneCall(view.taskId, call.room);
    call.on('ended', (reason) => void this.#callerGone(view.taskId, waiting, reason));
    this.#deps.logger.info('phone call queued', { taskId: view.taskId, trunk: call.trunkId, queueId, withheld: caller.withheld });
    // Greeting, then music on hold until an agent answers (task:answered stops it).
    try {
      await call.playPrompt('greeting');
      if (call.state !== 'ended' && view.status === 'queued') {
        const id = await call.playPrompt('music-on-hold', { loop: true });
        if (id) waiting.holdMusic = id;
      }
    } catch (err) {
      this.#deps.logger.warn('could not play the waiting prompts', { taskId: view.taskId, err });
    }
  };

  async #callerGone(taskId: string, w: Waiting, reason: string): Promise<void> {
    this.#byTask.delete(taskId);
    try {
      // Waiting: an abandoned call, with its wait time; answered: the agent wraps up.
      await this.#deps.chat.customerLeave(w.customerId, taskId);
      await this.#deps.calls.end(taskId, 'hangup');
    } catch (err) {
      this.#deps.logger.error('closing the task of a finished phone call failed', { taskId, reason, err });
    }
  }

  /** Hangs up every phone call (shutdown); the bridge's own close does the same. */
  close(): void {
    for (const w of this.#byTask.values()) w.call.hangup('shutdown');
    this.#byTask.clear();
  }
}
