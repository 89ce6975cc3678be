// Callbacks placed by the server: a customer who left the wait with their number keeps their place;
// when an agent accepts that task, the SIP bridge calls the number through the callback trunk, and
// once it is answered the phone's room becomes the task's call and the agent's softphone joins it.
// Either side hanging up ends the call; a call nobody answers leaves a note in the conversation.
import type { Logger } from '../lib/logger.js';
import type { MediaRoom } from '../media/index.js';
import type { ChatService } from '../chat/chat-service.js';
import type { CallService } from './call-service.js';

/** What a placed call must offer (sip-bridge's OutboundCall). */
export interface DialledPhone {
  readonly room: MediaRoom;
  on(event: 'ended', listener: (reason: string) => void): unknown;
  hangup(reason?: 'local_hangup'): Promise<void> | void;
}

export type CallbackDialer = (to: string, opts: { signal: AbortSignal; legId: string }) => Promise<DialledPhone>;

export interface PhoneCallbacksDeps {
  chat: ChatService;
  calls: CallService;
  dial: CallbackDialer;
  logger: Logger;
}

interface Placing {
  abort: AbortController;
  phone?: DialledPhone;
}

export class PhoneCallbacks {
  readonly #deps: PhoneCallbacksDeps;
  /** Callbacks being placed or in progress, by task id. */
  readonly #placing = new Map<string, Placing>();

  constructor(deps: PhoneCallbacksDeps) {
    this.#deps = deps;
    deps.chat.observer.on('task:answered', (e) => {
      void this.#answered(e.taskId).catch((err: unknown) => deps.logger.error('placing a callback failed', { taskId: e.taskId, err }));
    });
    deps.chat.observer.on('task:ended', (e) => this.#hangUp(e.taskId));
    // The call ended while the conversation goes on (the agent hung up the call in a chat).
    deps.calls.observer.on('call:ended', (e) => this.#hangUp(e.taskId));
  }

  /** Hangs up every callback (server shutdown). */
  close(): void {
    for (const taskId of [...this.#placing.keys()]) this.#hangUp(taskId);
  }

  async #answered(taskId: string): Promise<void> {
    const task = await this.#deps.chat.task(taskId);
    // A transferred callback keeps its call: only the first answer dials.
    if (!task?.callbackNumber || this.#placing.has(taskId)) return;
    const number = task.callbackNumber;
    const placing: Placing = { abort: new AbortController() };
    this.#placing.set(taskId, placing);
    await this.#deps.chat.note(taskId, `Calling the customer back on ${number}…`);
    let phone: DialledPhone;
    try {
      phone = await this.#deps.dial(number, { signal: placing.abort.signal, legId: 'caller' });
    } catch (err) {
      this.#placing.delete(taskId);
      const why = err instanceof Error && 'reason' in err ? String((err as { reason: unknown }).reason).replace('_', ' ') : 'failed';
      this.#deps.logger.info('callback not answered', { taskId, why });
      await this.#deps.chat.note(taskId, `The callback to ${number} did not connect (${why}). End the conversation or try the number yourself.`);
      return;
    }
    if (placing.abort.signal.aborted) {
      // The conversation ended while the phone was being answered.
      await phone.hangup('local_hangup');
      return;
    }
    placing.phone = phone;
    phone.on('ended', () => {
      this.#placing.delete(taskId);
      // The customer hung up: the conversation goes to wrap-up (nothing happens if it already ended).
      void this.#deps.chat.customerLeave(task.customerId, taskId).catch(() => undefined);
    });
    await this.#deps.calls.adoptPhoneCall(taskId, phone.room);
    this.#deps.logger.info('callback answered', { taskId });
  }

  #hangUp(taskId: string): void {
    const placing = this.#placing.get(taskId);
    if (!placing) return;
    this.#placing.delete(taskId);
    placing.abort.abort();
    void Promise.resolve(placing.phone?.hangup('local_hangup')).catch(() => undefined);
  }
}
