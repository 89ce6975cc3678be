// Phone calls from the SIP bridge become tasks like any other: the caller is a customer, the call a
// task of channel "call" in the trunk's queue, and the caller's media room becomes the task's call,
// which the agent's softphone joins when the agent answers. While waiting the caller hears the
// greeting, then music on hold. Whoever ends (the caller, the agent, the system) ends both the SIP
// dialog and the task, so no phone call outlives its task or the other way round.
import type { Logger } from '../lib/logger.js';
import type { ChatService } from '../chat/chat-service.js';
import type { CustomerDirectory } from '../chat/customer-directory.js';
import path from 'node:path';
import { PROMPTS_DIR, type InboundCall } from '../sip-bridge/index.js';
import { opusDurationMs } from '../sip-bridge/prompt-length.js';
import type { CallService } from './call-service.js';

export interface PhoneIntakeDeps {
  chat: ChatService;
  calls: CallService;
  customers: CustomerDirectory;
  /** The queue a trunk's calls wait in, and its DTMF topic menu (digit → queue) if it has one. */
  routingFor: (trunkId: string) => { queueId: string; menu?: Record<string, string>; menuPrompt?: string };
  logger: Logger;
  /** How often a waiting caller hears their place in the queue (default 30 s). */
  announceEveryMs?: number;
  /** The server can place callbacks (a trunk for them): waiting callers may press 9 to be called back. */
  callbacks?: boolean;
}

interface Waiting {
  call: InboundCall;
  customerId: string;
  /** True until an agent answers or the caller goes. */
  waiting: boolean;
  /** The prompt or music playing now, to stop it when an agent answers. */
  playing?: string;
  /** Cuts the current pause short (answered, gone). */
  wake?: () => void;
  /** The caller's number in E.164, when known and not withheld: what a callback would call. */
  number?: string;
  /** The caller pressed for a callback: they hang up but keep their place. */
  callbackRequested?: boolean;
}

const DEFAULT_ANNOUNCE_EVERY_MS = 30_000;
/** How long after the menu a caller has to press a digit before the trunk's own queue is used. */
const MENU_ANSWER_MS = 6_000;
/** Announced as a number up to this place; beyond it, "more than ten callers ahead". */
const SPOKEN_POSITIONS = 10;
/** The digit that asks for a callback while waiting. */
const CALLBACK_DIGIT = '9';
const E164 = /^\+?([1-9][0-9]{6,14})$/;

export class PhoneIntake {
  readonly #deps: PhoneIntakeDeps;
  /** Live phone calls by task id. */
  readonly #byTask = new Map<string, Waiting>();

  constructor(deps: PhoneIntakeDeps) {
    this.#deps = deps;
    deps.chat.observer.on('task:answered', (e) => {
      const w = this.#byTask.get(e.taskId);
      if (w) this.#stopWaiting(w);
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
    const routing = this.#deps.routingFor(call.trunkId);
    // With a menu, the caller chooses the topic first; the task is made in the chosen queue.
    const queueId = routing.menu ? await this.#askTopic(call, routing.menu, routing.queueId, routing.menuPrompt ?? 'menu') : routing.queueId;
    if (call.state === 'ended') return;
    // A caller whose number we know is the same customer each time they call (their history follows them).
    const known = !caller.withheld && caller.number ? E164.exec(caller.number)?.[1] : undefined;
    const customer = known
      ? await this.#deps.customers.findOrCreateByIdentity('phone', `+${known}`, label.slice(0, 80))
      : await this.#deps.customers.createVisitor(label.slice(0, 80));
    const view = await this.#deps.chat.startChat(customer.id, {
      queueId,
      channel: 'call',
      viaPhone: true,
      clientMsgId: `sip${call.id.replace(/-/g, '')}`,
      text: caller.withheld ? 'Phone call (number withheld)' : `Phone call from ${caller.number ?? 'an unknown number'}`,
      displayName: label.slice(0, 80),
    });
    const waiting: Waiting = { call, customerId: customer.id, waiting: view.status === 'queued', ...(known ? { number: `+${known}` } : {}) };
    this.#byTask.set(view.taskId, waiting);
    if (this.#deps.callbacks && waiting.number) {
      call.on('digit', (digit) => {
        if (digit === CALLBACK_DIGIT) void this.#callMeBack(view.taskId, waiting);
      });
    }
    const { recording } = await this.#deps.calls.adoptPhoneCall(view.taskId, call.room);
    call.on('ended', (reason) => {
      this.#stopWaiting(waiting);
      void this.#callerGone(view.taskId, waiting, reason);
    });
    this.#deps.logger.info('phone call queued', { taskId: view.taskId, trunk: call.trunkId, queueId, withheld: caller.withheld });
    void this.#entertain(view.taskId, waiting, !routing.menu, recording).catch((err: unknown) => {
      this.#deps.logger.warn('could not play the waiting prompts', { taskId: view.taskId, err });
    });
  };

  /**
   * Greeting and menu; resolves with the queue of the first digit the menu knows, or the trunk's
   * queue when none comes in time. Digits the menu does not know are ignored.
   */
  async #askTopic(call: InboundCall, menu: Record<string, string>, fallback: string, menuPrompt: string): Promise<string> {
    const w: Waiting = { call, customerId: '', waiting: true };
    let chosen: string | undefined;
    const onDigit = (digit: string): void => {
      if (chosen || !menu[digit]) return;
      chosen = menu[digit];
      this.#stopWaiting(w);
    };
    call.on('digit', onDigit);
    call.on('ended', () => this.#stopWaiting(w));
    try {
      await this.#say(w, ['greeting', menuPrompt]);
      if (w.waiting) await this.#pause(w, MENU_ANSWER_MS);
    } finally {
      call.off('digit', onDigit);
      this.#stopWaiting(w);
    }
    this.#deps.logger.info('topic chosen', { trunk: call.trunkId, queueId: chosen ?? fallback, byDigit: chosen !== undefined });
    return chosen ?? fallback;
  }

  /** Greeting (unless the menu played it) and the recording notice, then the caller's place in the queue and music on hold, again every so often. */
  async #entertain(taskId: string, w: Waiting, greet: boolean, recording: boolean): Promise<void> {
    if (recording) {
      // The caller is told the call is recorded even when an agent answers at once (then both hear it).
      await w.call.playPrompt('recording-notice');
      this.#deps.logger.info('recording notice played', { taskId });
      await new Promise((resolve) => setTimeout(resolve, promptMs('recording-notice') + 150));
    }
    if (greet) await this.#say(w, ['greeting']);
    while (w.waiting) {
      const { position } = await this.#deps.chat.customerView(w.customerId, taskId);
      if (position === null || !w.waiting) return;
      await this.#say(w, position <= SPOKEN_POSITIONS ? ['position-prefix', `number-${position}`] : ['position-more']);
      if (this.#deps.callbacks && w.number) await this.#say(w, ['callback-offer']);
      if (!w.waiting) return;
      this.#deps.logger.info('position announced', { taskId, position });
      w.playing = await w.call.playPrompt('music-on-hold', { loop: true });
      await this.#pause(w, this.#deps.announceEveryMs ?? DEFAULT_ANNOUNCE_EVERY_MS);
      if (w.playing) await w.call.stopPrompt(w.playing).catch(() => undefined);
    }
  }

  /** Plays prompts one after another (Janus says nothing when a file ends; the files say how long they are). */
  async #say(w: Waiting, prompts: string[]): Promise<void> {
    for (const prompt of prompts) {
      if (!w.waiting) return;
      w.playing = await w.call.playPrompt(prompt);
      await this.#pause(w, promptMs(prompt) + 150);
    }
  }

  #pause(w: Waiting, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      w.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #stopWaiting(w: Waiting): void {
    if (!w.waiting) return;
    w.waiting = false;
    w.wake?.();
    if (w.playing && w.call.state !== 'ended') void w.call.stopPrompt(w.playing).catch(() => undefined);
  }

  /**
   * The waiting caller pressed for a callback: the task keeps its place with the caller's number,
   * they hear that they will be called back, and the call ends (not as an abandon).
   */
  async #callMeBack(taskId: string, w: Waiting): Promise<void> {
    if (!w.waiting || w.callbackRequested || !w.number) return;
    try {
      await this.#deps.chat.requestCallback(w.customerId, taskId, w.number);
    } catch (err) {
      this.#deps.logger.warn('callback request from the phone menu refused', { taskId, err });
      return;
    }
    w.callbackRequested = true;
    this.#stopWaiting(w);
    this.#deps.logger.info('callback requested by phone', { taskId });
    await w.call.playPrompt('callback').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, promptMs('callback') + 150));
    w.call.hangup('local_hangup');
  }

  async #callerGone(taskId: string, w: Waiting, reason: string): Promise<void> {
    this.#byTask.delete(taskId);
    if (w.callbackRequested) {
      // The task waits on for its callback; only this call's media ends.
      await this.#deps.calls.end(taskId, 'hangup').catch(() => undefined);
      return;
    }
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
    for (const w of this.#byTask.values()) {
      this.#stopWaiting(w);
      w.call.hangup('shutdown');
    }
    this.#byTask.clear();
  }
}

const promptLengths = new Map<string, number>();
function promptMs(name: string): number {
  let ms = promptLengths.get(name);
  if (ms === undefined) promptLengths.set(name, (ms = opusDurationMs(path.isAbsolute(name) ? name : path.join(PROMPTS_DIR, `${name}.opus`))));
  return ms;
}
