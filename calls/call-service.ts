// Browser calls on tasks: a call task (channel call/video) gets its media when the agent accepts; a
// chat becomes a call when either party starts one. The service authorises every media request
// against the task, brokers SDP between browsers and the media engine, keeps one media_sessions row
// per call (written before anyone is told), and ends the call whenever the task ends, so no call is
// left open. Supervisors listen (muted in the call), whisper (coach mix: the agent hears them, the
// customer does not) or barge (unmuted in the call). The agent may put the customer on hold: the
// agent's leg leaves the call both ways and the customer hears music on hold until the agent resumes.
import { randomUUID } from 'node:crypto';
import { IsNull, type DataSource, type Repository } from 'typeorm';
import {
  AccountEntity,
  CustomerEntity,
  MediaSessionEntity,
  type AccountRow,
  type CustomerRow,
  type MediaSessionRow,
  type TaskRow,
} from '../db/entities.js';
import { DomainError, ForbiddenError, InvalidStateError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { MediaUnavailableError, type MediaEngine, type MediaRoom, type RecordingFile } from '../media/index.js';
import type {
  ActiveCall,
  AgentServerToClient,
  CustomerServerToClient,
  HoldState,
  IceServer,
  MediaEndReason,
  MediaServerToClient,
  MediaFeed,
  MediaView,
  MonitorMode,
  SupervisorServerToClient,
} from '../protocol/events.js';
import type { ChatService } from '../chat/chat-service.js';
import { checkSdp } from './sdp-check.js';

export type Party = { role: 'customer'; customerId: string } | { role: 'agent'; agentId: string };

export interface CallNotifier {
  toCustomer<E extends keyof CustomerServerToClient>(customerId: string, event: E, ...args: Parameters<CustomerServerToClient[E]>): void;
  toAgent<E extends keyof AgentServerToClient>(agentId: string, event: E, ...args: Parameters<AgentServerToClient[E]>): void;
  toSupervisor<E extends keyof SupervisorServerToClient>(accountId: string, event: E, ...args: Parameters<SupervisorServerToClient[E]>): void;
}

/** Recording as the call service needs it; the recordings module implements it. */
export interface CallRecorder {
  /** The folder the media server records this queue's calls into; undefined when the queue does not record. */
  recordDirFor(queueId: string): Promise<string | undefined>;
  /** After the room is destroyed: post-process and store what was recorded. Must not throw. */
  finalize(e: { mediaSessionId: string; taskId: string; queueId: string; files: RecordingFile[]; startedAt: number; endedAt: number }): Promise<void>;
}

/** Moments of a call that others count on (charging bills bridged time); listeners cannot break calls. */
export type CallObserverEvents = {
  /** Customer and agent are both connected: from here the call is billable. */
  'call:bridged': [e: { taskId: string; mediaSessionId: string; at: number }];
  /** The agent put the customer on hold (held) or took the call back: held time is not billed. */
  'call:held': [e: { taskId: string; mediaSessionId: string; at: number; held: boolean }];
  'call:ended': [e: { taskId: string; mediaSessionId: string; at: number; reason: MediaEndReason }];
};

export interface CallServiceDeps {
  db: DataSource;
  chat: ChatService;
  engine: MediaEngine;
  /** ICE servers (STUN, TURN with short-lived credentials) for one user. */
  iceServers: (userId: string) => IceServer[];
  recorder?: CallRecorder;
  logger: Logger;
  /** A call whose customer and agent both dropped ends after this long unless one rejoins. */
  abandonedAfterMs?: number;
  /** Agents who take audio calls on their own phone ("ring my phone"); without it every agent uses the browser. */
  agentPhones?: AgentPhones;
  /**
   * Music a customer on hold hears, looped: an Ogg/Opus file the media server can read. Without it
   * (or when the media server cannot play it) the customer hears silence and sees "on hold".
   */
  holdMusic?: string;
}

type AgentPhoneLeg = { on(event: 'ended', listener: (reason: string) => void): unknown; hangup(reason?: 'local_hangup'): Promise<void> | void };

/** What "ring my phone" needs: who wants it, and a way to call their phone into a room as a leg. */
export interface AgentPhones {
  /** The agent's number when they take audio calls on their phone; null: the browser. */
  numberFor(agentId: string): Promise<string | null>;
  /** Calls the number into the room as leg `legId`; resolves once answered. */
  dialInto(room: MediaRoom, legId: string, number: string): Promise<AgentPhoneLeg>;
}

interface LiveCall {
  row: MediaSessionRow;
  task: TaskRow;
  room: MediaRoom;
  /** Feeds whose media is up, which the others can subscribe to. */
  feeds: Map<string, MediaFeed>;
  /** Feeds published from this process, waiting for their media to come up. */
  publishing: Map<string, MediaFeed>;
  /** Agents invited into the call as a third party (they hold no task; audio and watching video only). */
  guests: Set<string>;
  /** After a warm transfer: the agent who stays on the line until the next agent joins. */
  departing?: string;
  /** Supervisors monitoring from this process, with their mode. */
  monitors: Map<string, MonitorMode>;
  /** Agents in the call on their own phone ("ring my phone"), by agent id: hung up when they leave. */
  agentPhones: Map<string, AgentPhoneLeg>;
  abandonTimer?: NodeJS.Timeout;
}

const CALL_CHANNELS = new Set<TaskRow['channel']>(['call', 'video']);
const DEFAULT_ABANDONED_AFTER_MS = 30_000;

export class CallService {
  readonly #deps: CallServiceDeps;
  readonly #sessions: Repository<MediaSessionRow>;
  readonly #accounts: Repository<AccountRow>;
  readonly #customers: Repository<CustomerRow>;
  readonly #log: Logger;
  /** Calls this process holds a room object for, by task id. */
  readonly #live = new Map<string, LiveCall>();
  /** One operation per task at a time (start, end, join), so two starts make one call. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #notifier: CallNotifier | null = null;
  #closed = false;
  readonly observer = new TypedEmitter<CallObserverEvents>();

  constructor(deps: CallServiceDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    this.#sessions = deps.db.getRepository(MediaSessionEntity);
    this.#accounts = deps.db.getRepository(AccountEntity);
    this.#customers = deps.db.getRepository(CustomerEntity);
    this.observer.onListenerError = (event, err) => this.#log.error('call observer failed', { event, err });
    deps.chat.observer.on('task:answered', (e) => {
      void this.#onAnswered(e.taskId).catch((err: unknown) => this.#log.error('starting the call of an answered task failed', { taskId: e.taskId, err }));
    });
    deps.chat.observer.on('task:transferred', (e) => {
      void this.#onTransferred(e.taskId, e.fromAgentId, e.warm).catch((err: unknown) => this.#log.error('moving a call on transfer failed', { taskId: e.taskId, err }));
    });
    deps.chat.observer.on('task:ended', (e) => {
      void this.end(e.taskId, e.reason === 'balance_exhausted' ? 'balance_exhausted' : e.by === 'system' ? 'media_lost' : 'task_ended');
    });
  }

  setNotifier(notifier: CallNotifier): void {
    this.#notifier = notifier;
  }

  /**
   * The customer's profile was merged into another (they confirmed an email an older profile has) and
   * their widget now connects as that one: a call in progress goes on, addressed to the survivor.
   * The media leg keeps its name; see customerLeg().
   */
  customerMerged(fromId: string, intoId: string): void {
    for (const call of this.#live.values()) {
      if (call.task.customerId === fromId) call.task = { ...call.task, customerId: intoId };
    }
  }

  /**
   * Calls left active by a process that stopped: their rooms died with it (or will be destroyed now),
   * so they are ended, never left open. Runs at start.
   */
  async restore(): Promise<{ ended: number }> {
    const stale = await this.#sessions.find({ where: { state: 'active' } });
    let ended = 0;
    for (const row of stale) {
      const task = await this.#deps.chat.task(row.taskId);
      // A call on a task in progress may live on (another node holds it); the first join finds out (#call).
      if (task && task.status === 'assigned') continue;
      const waiting = task && (task.status === 'queued' || task.status === 'offered');
      const endedAt = Date.now();
      await this.#sessions.update({ id: row.id, state: 'active' }, { state: 'ended', endedAt, endReason: waiting ? 'media_lost' : 'task_ended', ...holdClosed(row, endedAt) });
      // A caller waiting with media (a phone call, a transferred call) was cut off with the process:
      // nobody is on the line any more, so the task is abandoned rather than offered to an agent.
      if (waiting) await this.#deps.chat.customerLeave(task.customerId, task.id).catch(() => undefined);
      ended++;
    }
    return { ended };
  }

  /**
   * A phone call (SIP bridge) brings its own room, with the caller already in it as a plain-RTP leg:
   * it becomes the task's call, which the agent joins on answer.
   */
  /**
   * A phone call's room becomes the task's call: a caller waiting in the queue, or a customer called
   * back for a task an agent already holds (the agent is then told to join).
   */
  adoptPhoneCall(taskId: string, room: MediaRoom): Promise<{ recording: boolean }> {
    return this.#exclusive(taskId, async () => {
      const task = await this.#deps.chat.task(taskId);
      if (!task) throw new NotFoundError('conversation');
      // The queue's recording policy applies from here (the caller has chosen the topic).
      const recordDir = await this.#deps.recorder?.recordDirFor(task.queueId);
      if (recordDir) await this.#media(() => room.startRecording(recordDir));
      const row: MediaSessionRow = {
        id: room.sessionId,
        taskId,
        video: false,
        nodeId: room.nodeId,
        state: 'active',
        recording: recordDir !== undefined,
        startedBy: 'customer',
        startedAt: Date.now(),
        bridgedAt: null,
        endedAt: null,
        endReason: null,
      };
      await this.#sessions.insert(row);
      const call = this.#adopt(row, task, room);
      const agent = task.status === 'assigned' ? partyOf(task, 'agent') : null;
      if (agent) this.#sendTo(task, 'agent', 'media:ready', this.#view(call, agent));
      return { recording: row.recording };
    });
  }

  /** A media node is up, so a new call can get media. */
  available(): boolean {
    return this.#deps.engine.nodes().some((n) => n.health.state === 'up');
  }

  // ---- customer and agent -------------------------------------------------------------------------

  /** Starts a call on an assigned task (a chat becoming a call); returns the running call if there is one. */
  start(party: Party, taskId: string, video: boolean): Promise<MediaView> {
    return this.#exclusive(taskId, async () => {
      const task = await this.#authorise(party, taskId);
      const current = await this.#call(task);
      if (current) return this.#view(current, party);
      return this.#view(await this.#open(task, party.role, video), party);
    });
  }

  /** The call on a task as the party sees it, or null when there is none (reloads, resume). */
  async view(party: Party, taskId: string): Promise<MediaView | null> {
    const task = await this.#deps.chat.task(taskId);
    if (!task || !this.#owns(party, task)) return null;
    const call = await this.#call(task).catch(() => undefined);
    return call ? this.#view(call, party) : null;
  }

  join(party: Party, input: { taskId: string; sdp: string; mix?: 'main' | 'coach' }): Promise<{ sdp: string }> {
    checkSdp(input.sdp, { kind: 'audio', type: 'offer' });
    return this.#exclusive(input.taskId, async () => {
      const { call, as } = await this.#member(party, input.taskId);
      const mix = input.mix ?? 'main';
      if (mix === 'coach') {
        if (party.role !== 'agent' || as !== 'owner') throw new ForbiddenError('only the agent joins the coach mix');
        if (![...call.monitors.values()].includes('whisper') && !(await this.#whisperElsewhere(call))) {
          throw new InvalidStateError('no supervisor is whispering on this call');
        }
      }
      const legId = mix === 'coach' ? `${legOf(party)}-coach` : legOf(party);
      const display = await this.#displayName(party);
      // In the coach mix the agent only listens: the supervisor already hears the agent in the call.
      const { answerSdp } = await this.#media(() => call.room.joinWebrtc({ legId, mix, display, muted: mix === 'coach', offerSdp: input.sdp }));
      // The agent rejoining a call they hold (a reload) comes back on hold, not into the call.
      if (mix === 'main' && as === 'owner' && party.role === 'agent') {
        await this.#refreshHold(call);
        if (isHeld(call)) await this.#media(() => call.room.setHeld(legId, true));
      }
      if (mix === 'main') await this.#markJoined(call, party);
      this.#log.info('joined call', { taskId: input.taskId, legId, mix, as });
      return { sdp: answerSdp };
    });
  }

  publish(party: Party, input: { taskId: string; source: 'camera' | 'screen'; sdp: string }): Promise<{ feedId: string; sdp: string }> {
    checkSdp(input.sdp, { kind: 'video', type: 'offer' });
    return this.#exclusive(input.taskId, async () => {
      const { call, as } = await this.#member(party, input.taskId);
      if (as !== 'owner') throw new ForbiddenError('only the customer and the agent of the conversation share video');
      if (!call.row.video) throw new InvalidStateError('this is an audio call; start a video call to share video');
      if (input.source === 'screen' && party.role !== 'agent') throw new ForbiddenError('only the agent shares a screen');
      const feedId = `${party.role}-${input.source}`;
      const { answerSdp } = await this.#media(() =>
        call.room.publishVideo({ feedId, display: `${party.role}:${input.source}`, source: input.source, offerSdp: input.sdp }),
      );
      // Announced to the others once its media is up (room event 'feed:up'): only then can they subscribe.
      call.publishing.set(feedId, { feedId, owner: party.role, source: input.source });
      return { feedId, sdp: answerSdp };
    });
  }

  unpublish(party: Party, input: { taskId: string; feedId: string }): Promise<{ feedId: string }> {
    return this.#exclusive(input.taskId, async () => {
      const { call, as } = await this.#member(party, input.taskId);
      if (as !== 'owner' || !input.feedId.startsWith(`${party.role}-`)) throw new ForbiddenError('you can only stop your own video');
      await call.room.unpublishVideo(input.feedId);
      call.publishing.delete(input.feedId);
      if (call.feeds.delete(input.feedId)) {
        this.#toParties(call.task, (to) => to !== party.role, 'media:feed-ended', { taskId: call.task.id, feedId: input.feedId });
        for (const guest of call.guests) this.#notify()?.toAgent(guest, 'media:feed-ended', { taskId: call.task.id, feedId: input.feedId });
      }
      return { feedId: input.feedId };
    });
  }

  subscribe(party: Party, input: { taskId: string; feedId: string }): Promise<{ subscriptionId: string; sdp: string }> {
    return this.#exclusive(input.taskId, async () => {
      const { call } = await this.#member(party, input.taskId);
      if (!call.row.video) throw new InvalidStateError('this is an audio call');
      if (input.feedId.startsWith(`${party.role}-`)) throw new DomainError('VALIDATION', 'that is your own video');
      const subscriptionId = `${legOf(party)}-${input.feedId}`;
      const { offerSdp } = await this.#media(() => call.room.subscribeVideo(subscriptionId, input.feedId));
      return { subscriptionId, sdp: offerSdp };
    });
  }

  answer(party: Party, input: { taskId: string; subscriptionId: string; sdp: string }): Promise<{ subscriptionId: string }> {
    checkSdp(input.sdp, { kind: 'video', type: 'answer' });
    return this.#exclusive(input.taskId, async () => {
      const { call } = await this.#member(party, input.taskId);
      if (!input.subscriptionId.startsWith(`${legOf(party)}-`)) throw new ForbiddenError('not your subscription');
      await this.#media(() => call.room.startSubscription(input.subscriptionId, input.sdp));
      return { subscriptionId: input.subscriptionId };
    });
  }

  async mute(party: Party, input: { taskId: string; muted: boolean }): Promise<{ muted: boolean }> {
    const { call } = await this.#member(party, input.taskId);
    await this.#media(() => call.room.setMuted(party.role === 'customer' ? customerLeg(call, party) : legOf(party), input.muted));
    return { muted: input.muted };
  }

  /**
   * The agent puts the customer on hold (their leg leaves the call: neither hears the other; the
   * customer hears music on hold) or takes the call back. Only the agent holding the conversation;
   * holding a held call, or resuming one that is not held, changes nothing. Hold time is kept on the
   * media session.
   */
  hold(party: Party, input: { taskId: string; held: boolean }): Promise<HoldState> {
    return this.#exclusive(input.taskId, async () => {
      if (party.role !== 'agent') throw new ForbiddenError('only the agent puts a call on hold');
      const { call, as } = await this.#member(party, input.taskId);
      if (as !== 'owner') throw new ForbiddenError('only the agent of the conversation puts the call on hold');
      await this.#refreshHold(call);
      if (isHeld(call) === input.held) return holdState(call);
      const leg = legOf(party);
      let at: number;
      if (input.held) {
        await this.#media(() => call.room.setHeld(leg, true));
        at = Date.now();
        await this.#sessions.update({ id: call.row.id, heldAt: IsNull() }, { heldAt: at });
        call.row.heldAt = at;
        await this.#startHoldMusic(call);
      } else {
        await this.#stopHoldMusic(call);
        await this.#media(() => call.room.setHeld(leg, false));
        at = Date.now();
        await this.#closeHold(call, at);
      }
      this.observer.safeEmit('call:held', { taskId: call.task.id, mediaSessionId: call.row.id, at, held: input.held });
      this.#log.info(input.held ? 'call put on hold' : 'call taken off hold', { taskId: input.taskId, heldMs: holdState(call).heldMs });
      this.#announceHold(call);
      return holdState(call);
    });
  }

  /**
   * Another server process held or resumed a call (several nodes; see cluster-hold.ts). Only the
   * process holding a leg's handle can move it out of the call and back (the deciding one could only
   * mute it), so agent legs joined here follow the row: held, the conversation's agent waits in the
   * hold mix; not held, every agent leg here is back in the call. Without an id: every call of this
   * process (after a reconnect, when a change may have been missed). Failures are logged.
   */
  async followHold(mediaSessionId?: string): Promise<void> {
    const calls = [...this.#live.values()].filter((c) => mediaSessionId === undefined || c.row.id === mediaSessionId);
    for (const call of calls) {
      const taskId = call.task.id;
      await this.#exclusive(taskId, async () => {
        if (this.#live.get(taskId) !== call || call.room.destroyed) return;
        const agentLegs = call.room.legIds().filter((l) => l.startsWith('agent-') && !l.endsWith('-coach'));
        if (agentLegs.length === 0) return;
        await this.#refreshHold(call);
        // The task as it is now: a transfer on another node does not reach this call's copy.
        const owner = (await this.#deps.chat.task(taskId))?.agentId ?? call.task.agentId;
        for (const leg of agentLegs) await call.room.setHeld(leg, isHeld(call) && leg === `agent-${owner}`);
      }).catch((err: unknown) => this.#log.warn('following a hold decided on another node failed', { taskId, err }));
    }
  }

  /** Ends the call for everyone. A call task ends with it (wrap-up follows); a chat goes on. */
  async hangup(party: Party, taskId: string): Promise<{ taskId: string }> {
    const { call, as } = await this.#member(party, taskId);
    if (as !== 'owner' && party.role === 'agent') {
      // A third party or the agent who warm-transferred: they leave; the call goes on.
      await this.#exclusive(taskId, () => this.#dropAgent(call, party.agentId, 'hangup'));
      return { taskId };
    }
    const task = call.task;
    await this.end(taskId, 'hangup');
    if (CALL_CHANNELS.has(task.channel)) {
      if (party.role === 'agent') {
        // The agent's app learns the conversation moved to wrap-up (its own chat:end would be acknowledged instead).
        const status = await this.#deps.chat.agentEnd(party.agentId, taskId).catch(() => undefined);
        if (status) this.#notify()?.toAgent(party.agentId, 'task:ended', { taskId, by: 'agent', status });
      }
      else await this.#deps.chat.customerLeave(party.customerId, taskId).catch(() => undefined);
    }
    return { taskId };
  }

  /**
   * Adds a third party: the agent of the conversation invites another agent into the call. The guest
   * joins with media:join and leaves with media:hangup; while in the call they are not ready for
   * other work (reason "in a call").
   */
  invite(party: Party, input: { taskId: string; agentId: string }): Promise<{ agentId: string }> {
    return this.#exclusive(input.taskId, async () => {
      if (party.role !== 'agent') throw new ForbiddenError('only the agent invites others into the call');
      const task = await this.#authorise(party, input.taskId);
      const call = await this.#requireCall(task);
      if (input.agentId === party.agentId) throw new DomainError('VALIDATION', 'you are already in the call');
      const guest = await this.#accounts.findOneBy({ id: input.agentId });
      if (!guest || guest.role === 'admin') throw new NotFoundError('agent');
      call.guests.add(guest.id);
      const [from, customer] = await Promise.all([this.#displayName(party), this.#customers.findOneBy({ id: task.customerId })]);
      this.#notify()?.toAgent(guest.id, 'media:invited', {
        taskId: task.id,
        from,
        customerName: customer?.displayName ?? 'Visitor',
        media: this.#view(call, { role: 'agent', agentId: guest.id }),
      });
      this.#log.info('third party invited', { taskId: task.id, by: party.agentId, guest: guest.id });
      return { agentId: guest.id };
    });
  }

  /** Ends the task's call, if any: room destroyed, row closed, everyone told, recording handed on. Idempotent. */
  end(taskId: string, reason: MediaEndReason): Promise<void> {
    return this.#exclusive(taskId, async () => {
      const row = await this.#sessions.findOneBy({ taskId, state: 'active' });
      const call = this.#live.get(taskId);
      this.#live.delete(taskId);
      if (call) clearTimeout(call.abandonTimer);
      for (const agentId of [...(call?.agentPhones.keys() ?? [])]) this.#hangUpAgentPhone(call!, agentId);
      for (const guest of call?.guests ?? []) await this.#releaseGuest(guest);
      if (call?.departing) this.#notify()?.toAgent(call.departing, 'media:ended', { taskId, reason });
      for (const guest of call?.guests ?? []) this.#notify()?.toAgent(guest, 'media:ended', { taskId, reason });
      if (!row) {
        await call?.room.destroy();
        return;
      }
      const endedAt = Date.now();
      // Closed first: a crash after this leaves no open call; the room dies with its node or at destroy.
      const closed = await this.#sessions.update({ id: row.id, state: 'active' }, { state: 'ended', endedAt, endReason: reason, ...holdClosed(row, endedAt) });
      if (!closed.affected) return;
      this.observer.safeEmit('call:ended', { taskId, mediaSessionId: row.id, at: endedAt, reason });
      const task = call?.task ?? (await this.#deps.chat.task(taskId));
      const room = call?.room ?? (await this.#openRoom(row).catch(() => undefined));
      await room?.destroy();
      if (task) {
        this.#toParties(task, () => true, 'media:ended', { taskId, reason });
        for (const supervisorId of call?.monitors.keys() ?? []) this.#notify()?.toSupervisor(supervisorId, 'media:ended', { taskId, reason });
      }
      this.#log.info('call ended', { taskId, mediaSessionId: row.id, reason, seconds: Math.round((endedAt - row.startedAt) / 1000) });
      if (row.recording && room && task && this.#deps.recorder) {
        const files = await room.recordingFiles();
        void this.#deps.recorder.finalize({ mediaSessionId: row.id, taskId, queueId: task.queueId, files, startedAt: row.startedAt, endedAt });
      }
    });
  }

  // ---- supervisors -----------------------------------------------------------------------------

  async activeCalls(supervisorId: string): Promise<ActiveCall[]> {
    const rows = await this.#sessions.find({ where: { state: 'active' }, order: { startedAt: 'ASC' }, take: 500 });
    const calls: ActiveCall[] = [];
    for (const row of rows) {
      const task = await this.#deps.chat.task(row.taskId);
      if (!task) continue;
      const [agent, customer] = await Promise.all([
        task.agentId ? this.#accounts.findOneBy({ id: task.agentId }) : null,
        this.#customers.findOneBy({ id: task.customerId }),
      ]);
      calls.push({
        taskId: task.id,
        queueId: task.queueId,
        video: row.video,
        agentName: agent?.displayName ?? null,
        customerName: customer?.displayName ?? 'Visitor',
        startedAt: row.startedAt,
        monitorMode: this.#live.get(task.id)?.monitors.get(supervisorId) ?? null,
        held: row.heldAt != null,
      });
    }
    return calls;
  }

  /** Joins the supervisor to the call muted: they hear everyone, nobody hears them. */
  monitorJoin(supervisorId: string, input: { taskId: string; sdp: string }): Promise<{ sdp: string; iceServers: IceServer[] }> {
    checkSdp(input.sdp, { kind: 'audio', type: 'offer' });
    return this.#exclusive(input.taskId, async () => {
      const call = await this.#requireCall(await this.#taskOrFail(input.taskId));
      const display = (await this.#accounts.findOneBy({ id: supervisorId }))?.displayName ?? 'Supervisor';
      const { answerSdp } = await this.#media(() =>
        call.room.joinWebrtc({ legId: `sup-${supervisorId}`, mix: 'main', display, muted: true, offerSdp: input.sdp }),
      );
      call.monitors.set(supervisorId, 'listen');
      this.#log.info('supervisor monitoring', { taskId: input.taskId, supervisorId, mode: 'listen' });
      return { sdp: answerSdp, iceServers: this.#deps.iceServers(supervisorId) };
    });
  }

  monitorMode(supervisorId: string, input: { taskId: string; mode: MonitorMode }): Promise<{ mode: MonitorMode }> {
    return this.#exclusive(input.taskId, async () => {
      const call = await this.#requireCall(await this.#taskOrFail(input.taskId));
      const before = call.monitors.get(supervisorId);
      if (!before) throw new InvalidStateError('join the call (listen) first');
      const leg = `sup-${supervisorId}`;
      await this.#media(() => call.room.setMuted(leg, input.mode !== 'barge'));
      if (input.mode !== 'whisper') await call.room.leave(`${leg}-coach`);
      call.monitors.set(supervisorId, input.mode);
      await this.#syncCoach(call, before === 'whisper' || input.mode === 'whisper');
      this.#log.info('supervisor monitoring', { taskId: input.taskId, supervisorId, mode: input.mode });
      return { mode: input.mode };
    });
  }

  /** The whispering supervisor's voice into the coach mix, which only the agent hears. */
  monitorCoach(supervisorId: string, input: { taskId: string; sdp: string }): Promise<{ sdp: string }> {
    checkSdp(input.sdp, { kind: 'audio', type: 'offer' });
    return this.#exclusive(input.taskId, async () => {
      const call = await this.#requireCall(await this.#taskOrFail(input.taskId));
      if (call.monitors.get(supervisorId) !== 'whisper') throw new InvalidStateError('switch to whisper first');
      const display = (await this.#accounts.findOneBy({ id: supervisorId }))?.displayName ?? 'Supervisor';
      const { answerSdp } = await this.#media(() =>
        call.room.joinWebrtc({ legId: `sup-${supervisorId}-coach`, mix: 'coach', display, muted: false, offerSdp: input.sdp }),
      );
      return { sdp: answerSdp };
    });
  }

  monitorLeave(supervisorId: string, taskId: string): Promise<{ taskId: string }> {
    return this.#exclusive(taskId, async () => {
      const call = this.#live.get(taskId);
      if (!call) return { taskId };
      const before = call.monitors.get(supervisorId);
      call.monitors.delete(supervisorId);
      await call.room.leave(`sup-${supervisorId}`);
      await call.room.leave(`sup-${supervisorId}-coach`);
      if (before === 'whisper') await this.#syncCoach(call, true);
      return { taskId };
    });
  }

  /** The supervisor's connection closed: stop monitoring every call from this process. */
  async monitorLeaveAll(supervisorId: string): Promise<void> {
    for (const [taskId, call] of this.#live) if (call.monitors.has(supervisorId)) await this.monitorLeave(supervisorId, taskId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#live.values()) clearTimeout(call.abandonTimer);
    await Promise.allSettled([...this.#locks.values()]);
  }

  // ---- internals -------------------------------------------------------------------------------

  #notify(): CallNotifier | null {
    return this.#notifier;
  }

  async #onAnswered(taskId: string): Promise<void> {
    const task = await this.#deps.chat.task(taskId);
    if (!task) return;
    await this.#exclusive(taskId, async () => {
      const running = await this.#call(task).catch(() => undefined);
      const phone = task.agentId && task.channel === 'call' ? await this.#deps.agentPhones?.numberFor(task.agentId) : null;
      if (running) {
        // A transferred conversation whose call stayed up (or a phone caller's): the new agent joins it.
        running.task = task;
        const agent = partyOf(task, 'agent');
        if (agent && phone && task.agentId) void this.#ringAgentPhone(running, task.agentId, phone);
        else if (agent) this.#sendTo(task, 'agent', 'media:ready', this.#view(running, agent));
        return;
      }
      // A callback's call is placed by the callback dialer when the customer answers, not opened here.
      if (!CALL_CHANNELS.has(task.channel) || task.callbackNumber) return;
      try {
        const call = await this.#open(task, 'customer', task.channel === 'video', { agentByPhone: Boolean(phone) });
        if (phone && task.agentId) void this.#ringAgentPhone(call, task.agentId, phone);
      } catch (err) {
        // The agent has the task; the call cannot carry media. Both are told, the chat stays usable.
        this.#log.error('no media for an answered call', { taskId, err });
        this.#toParties(task, () => true, 'media:ended', { taskId, reason: 'media_unavailable' });
      }
    });
  }

  /** The old agent leaves the call; the customer stays in it, waiting for the next agent. */
  async #onTransferred(taskId: string, fromAgentId: string, warm: boolean): Promise<void> {
    await this.#exclusive(taskId, async () => {
      const call = this.#live.get(taskId);
      const task = await this.#deps.chat.task(taskId);
      // A transfer takes the call off hold: the customer is handed on, not left waiting in silence.
      if (call) await this.#releaseHold(call, fromAgentId, warm);
      if (call && task && warm) {
        // Warm: the agent stays with the customer until the next agent joins (#markJoined).
        call.task = task;
        call.departing = fromAgentId;
        return;
      }
      if (call && task) {
        call.task = task;
        await call.room.leave(`agent-${fromAgentId}`);
        await call.room.leave(`agent-${fromAgentId}-coach`);
        for (const feedId of ['agent-camera', 'agent-screen']) {
          await call.room.unpublishVideo(feedId);
          call.publishing.delete(feedId);
          if (call.feeds.delete(feedId) && task) this.#sendTo(task, 'customer', 'media:feed-ended', { taskId, feedId });
        }
      }
      if (call || (await this.#sessions.findOneBy({ taskId, state: 'active' }))) {
        this.#notify()?.toAgent(fromAgentId, 'media:ended', { taskId, reason: 'transferred' });
      }
    });
  }

  /** Creates the room and the row, then tells both parties to join. */
  async #open(task: TaskRow, startedBy: 'customer' | 'agent', video: boolean, opts: { agentByPhone?: boolean } = {}): Promise<LiveCall> {
    if (this.#closed) throw new InvalidStateError('the server is shutting down');
    const id = randomUUID();
    const recordDir = await this.#deps.recorder?.recordDirFor(task.queueId);
    const room = await this.#media(() => this.#deps.engine.createRoom({ sessionId: id, video, ...(recordDir ? { recordDir } : {}) }));
    const row: MediaSessionRow = {
      id,
      taskId: task.id,
      video,
      nodeId: room.nodeId,
      state: 'active',
      recording: recordDir !== undefined,
      startedBy,
      startedAt: Date.now(),
      bridgedAt: null,
      endedAt: null,
      endReason: null,
    };
    try {
      await this.#sessions.insert(row);
    } catch (err) {
      await room.destroy();
      throw err;
    }
    const call = this.#adopt(row, task, room);
    this.#log.info('call started', { taskId: task.id, mediaSessionId: id, video, node: room.nodeId, recording: row.recording });
    for (const role of ['customer', 'agent'] as const) {
      const party = partyOf(task, role);
      // An agent who answers on their phone is rung instead (#ringAgentPhone).
      if (party && !(role === 'agent' && opts.agentByPhone)) this.#sendTo(task, role, 'media:ready', this.#view(call, party));
    }
    return call;
  }

  /**
   * "Ring my phone": the agent's own number is called into the room as their leg. Once answered the
   * call is bridged as if they had joined from the browser; their phone's hang-up is their hang-up. A
   * phone that does not answer falls back to the browser (the agent is told to join there).
   */
  async #ringAgentPhone(call: LiveCall, agentId: string, number: string): Promise<void> {
    const taskId = call.task.id;
    const agent: Party = { role: 'agent', agentId };
    let phone: AgentPhoneLeg;
    try {
      // Outside the task's lock: the customer joins while the agent's phone rings.
      phone = await this.#deps.agentPhones!.dialInto(call.room, legOf(agent), number);
    } catch (err) {
      this.#log.warn('the agent’s phone did not answer; the browser takes the call', { taskId, agentId, err });
      await this.#deps.chat.note(taskId, 'Your phone did not answer: take the call in the browser.').catch(() => undefined);
      if (this.#live.get(taskId) === call) this.#sendTo(call.task, 'agent', 'media:ready', this.#view(call, agent));
      return;
    }
    if (this.#live.get(taskId) !== call) {
      await phone.hangup('local_hangup');
      return;
    }
    call.agentPhones.set(agentId, phone);
    phone.on('ended', () => {
      // Their phone hung up: that is the agent hanging up (unless the call already ended or moved on).
      if (call.agentPhones.delete(agentId) && this.#live.get(taskId) === call) void this.hangup(agent, taskId).catch(() => undefined);
    });
    await this.#exclusive(taskId, () => this.#markJoined(call, agent));
    this.#log.info('agent answered on their phone', { taskId, agentId });
  }

  #adopt(row: MediaSessionRow, task: TaskRow, room: MediaRoom): LiveCall {
    const call: LiveCall = { row, task, room, feeds: new Map(), publishing: new Map(), guests: new Set(), monitors: new Map(), agentPhones: new Map() };
    this.#live.set(task.id, call);
    room.on('leg:lost', (legId, reason) => this.#legLost(call, legId, reason));
    // call.task, not `task`: a transfer or a profile merge replaces it while the call goes on.
    room.on('feed:up', (feedId) => {
      const feed = call.publishing.get(feedId);
      if (!feed) return;
      call.feeds.set(feedId, feed);
      this.#toParties(call.task, (to) => to !== feed.owner, 'media:feed', { taskId: task.id, ...feed });
      // Invited agents watch too.
      for (const guest of call.guests) this.#notify()?.toAgent(guest, 'media:feed', { taskId: task.id, ...feed });
    });
    room.on('feed:lost', (feedId) => {
      call.publishing.delete(feedId);
      if (!call.feeds.delete(feedId)) return;
      this.#toParties(call.task, () => true, 'media:feed-ended', { taskId: task.id, feedId });
      for (const guest of call.guests) this.#notify()?.toAgent(guest, 'media:feed-ended', { taskId: task.id, feedId });
    });
    return call;
  }

  /** The call on an assigned task: from this process, or opened on its node when another process started it. */
  async #call(task: TaskRow): Promise<LiveCall | undefined> {
    const local = this.#live.get(task.id);
    if (local && !local.room.destroyed) return local;
    const row = await this.#sessions.findOneBy({ taskId: task.id, state: 'active' });
    if (!row) return undefined;
    const room = await this.#openRoom(row);
    if (!(await this.#media(() => room.exists()))) {
      // The media server lost the room (it restarted): the call is over; a new one can be started.
      const endedAt = Date.now();
      await this.#sessions.update({ id: row.id, state: 'active' }, { state: 'ended', endedAt, endReason: 'media_lost', ...holdClosed(row, endedAt) });
      await room.destroy();
      this.#toParties(task, () => true, 'media:ended', { taskId: task.id, reason: 'media_lost' });
      return undefined;
    }
    return this.#adopt(row, task, room);
  }

  async #requireCall(task: TaskRow): Promise<LiveCall> {
    const call = await this.#call(task);
    if (!call) throw new InvalidStateError('there is no call on this conversation');
    return call;
  }

  #openRoom(row: MediaSessionRow): Promise<MediaRoom> {
    return this.#media(() => this.#deps.engine.openRoom({ sessionId: row.id, nodeId: row.nodeId, video: row.video }));
  }

  #view(call: LiveCall, party: Party): MediaView {
    return {
      taskId: call.task.id,
      video: call.row.video,
      recording: call.row.recording,
      startedBy: call.row.startedBy,
      iceServers: this.#deps.iceServers(party.role === 'agent' ? party.agentId : party.customerId),
      feeds: [...call.feeds.values()],
      held: isHeld(call),
      heldSince: call.row.heldAt ?? null,
    };
  }

  // ---- hold ----------------------------------------------------------------------------------------

  /** Another server process may have held or resumed the call: the row is the truth. */
  async #refreshHold(call: LiveCall): Promise<void> {
    const row = await this.#sessions.findOneBy({ id: call.row.id });
    if (!row) return;
    call.row.heldAt = row.heldAt ?? null;
    call.row.heldMs = row.heldMs ?? 0;
  }

  async #startHoldMusic(call: LiveCall): Promise<void> {
    const music = this.#deps.holdMusic;
    if (!music) return;
    // A fixed id per call, so any process can stop it.
    await call.room.playFile({ path: music, loop: true, fileId: holdMusicId(call) }).catch((err: unknown) => {
      this.#log.warn('music on hold could not be played; the customer hears silence', { taskId: call.task.id, err });
    });
  }

  async #stopHoldMusic(call: LiveCall): Promise<void> {
    if (this.#deps.holdMusic) await call.room.stopFile(holdMusicId(call)).catch(() => undefined);
  }

  /** Adds the hold that ends `at` to the call's hold time. */
  async #closeHold(call: LiveCall, at = Date.now()): Promise<void> {
    const since = call.row.heldAt;
    if (since == null) return;
    const heldMs = (call.row.heldMs ?? 0) + Math.max(0, at - since);
    await this.#sessions.update({ id: call.row.id, heldAt: since }, { heldAt: null, heldMs });
    call.row.heldAt = null;
    call.row.heldMs = heldMs;
  }

  /** A transfer ends a hold: the music stops, and a warm-transferring agent is back with the customer. */
  async #releaseHold(call: LiveCall, agentId: string, resumeLeg: boolean): Promise<void> {
    await this.#refreshHold(call);
    if (!isHeld(call)) return;
    await this.#stopHoldMusic(call);
    if (resumeLeg) await call.room.setHeld(`agent-${agentId}`, false).catch((err: unknown) => this.#log.warn('taking the agent off hold failed', { taskId: call.task.id, err }));
    const at = Date.now();
    await this.#closeHold(call, at);
    this.observer.safeEmit('call:held', { taskId: call.task.id, mediaSessionId: call.row.id, at, held: false });
    this.#announceHold(call);
  }

  /** Both parties, invited agents and supervisors monitoring from here hear the hold state. */
  #announceHold(call: LiveCall): void {
    const state = holdState(call);
    this.#toParties(call.task, () => true, 'media:hold', state);
    for (const guest of call.guests) this.#notify()?.toAgent(guest, 'media:hold', state);
    for (const supervisorId of call.monitors.keys()) this.#notify()?.toSupervisor(supervisorId, 'media:hold', state);
  }

  async #markJoined(call: LiveCall, party: Party): Promise<void> {
    clearTimeout(call.abandonTimer);
    call.abandonTimer = undefined;
    if (party.role === 'agent' && call.guests.has(party.agentId)) {
      // A guest holds no task, so routing must not offer them other work while they talk.
      await this.#deps.chat.setPresence(party.agentId, 'not_ready', 'in a call').catch(() => undefined);
    }
    if (party.role === 'agent' && call.departing && call.task.agentId === party.agentId) {
      // Warm transfer complete: the next agent is on the line, the previous one leaves.
      await this.#dropAgent(call, call.departing, 'transferred');
    }
    if (call.row.bridgedAt) return;
    const legs = call.room.legIds();
    const both = legs.some(isCustomerLeg) && legs.some((l) => l.startsWith('agent-') && !l.endsWith('-coach'));
    if (!both) return;
    // Billing counts from here: only time when both parties are connected is charged.
    call.row.bridgedAt = Date.now();
    await this.#sessions.update({ id: call.row.id, bridgedAt: IsNull() }, { bridgedAt: call.row.bridgedAt }).catch(() => undefined);
    this.observer.safeEmit('call:bridged', { taskId: call.task.id, mediaSessionId: call.row.id, at: call.row.bridgedAt });
  }

  #legLost(call: LiveCall, legId: string, reason: string): void {
    this.#log.warn('call leg lost', { taskId: call.task.id, legId, reason });
    const remaining = call.room.legIds().filter((l) => isCustomerLeg(l) || (l.startsWith('agent-') && !l.endsWith('-coach')));
    if (remaining.length > 0 || call.abandonTimer) return;
    // Nobody is left in the call: a reload rejoins within the grace; otherwise the call ends, never dangles.
    call.abandonTimer = setTimeout(() => {
      void this.end(call.task.id, 'media_lost');
    }, this.#deps.abandonedAfterMs ?? DEFAULT_ABANDONED_AFTER_MS);
    call.abandonTimer.unref();
  }

  /** Tells the agent to open or close the coach leg: open while anyone whispers. */
  async #syncCoach(call: LiveCall, changed: boolean): Promise<void> {
    if (!changed || !call.task.agentId) return;
    const active = [...call.monitors.values()].includes('whisper');
    if (!active) await call.room.leave(`agent-${call.task.agentId}-coach`);
    this.#notify()?.toAgent(call.task.agentId, 'media:coach', { taskId: call.task.id, active });
  }

  /** Whisper state lives with the process the supervisor uses; another process may hold it (several nodes). */
  async #whisperElsewhere(call: LiveCall): Promise<boolean> {
    // Without a shared store for monitor modes, trust the coach room: it exists only once a whisper began.
    return call.room.legIds().some((l) => l.startsWith('sup-') && l.endsWith('-coach'));
  }

  /**
   * Who may use a call's media: the conversation's customer and agent ('owner'), an invited agent
   * ('guest'), and after a warm transfer the previous agent until the next one joins ('departing').
   */
  async #member(party: Party, taskId: string): Promise<{ call: LiveCall; as: 'owner' | 'guest' | 'departing' }> {
    const task = await this.#deps.chat.task(taskId);
    if (task && party.role === 'agent' && task.agentId !== party.agentId) {
      const call = await this.#call(task).catch(() => undefined);
      if (call?.guests.has(party.agentId)) return { call, as: 'guest' };
      if (call?.departing === party.agentId) return { call, as: 'departing' };
    }
    const call = await this.#requireCall(await this.#authorise(party, taskId));
    return { call, as: 'owner' };
  }

  /** Takes an agent who holds no task (guest, or departing after a warm transfer) out of the call. */
  async #dropAgent(call: LiveCall, agentId: string, reason: MediaEndReason): Promise<void> {
    this.#hangUpAgentPhone(call, agentId);
    await call.room.leave(`agent-${agentId}`);
    if (call.departing === agentId) call.departing = undefined;
    if (call.guests.delete(agentId)) await this.#releaseGuest(agentId);
    this.#notify()?.toAgent(agentId, 'media:ended', { taskId: call.task.id, reason });
  }

  #hangUpAgentPhone(call: LiveCall, agentId: string): void {
    const phone = call.agentPhones.get(agentId);
    if (!phone) return;
    call.agentPhones.delete(agentId);
    void Promise.resolve(phone.hangup('local_hangup')).catch(() => undefined);
  }

  /** A guest's call is over: back to ready, unless they changed their presence themselves meanwhile. */
  async #releaseGuest(agentId: string): Promise<void> {
    const status = await this.#deps.chat.agentStatus(agentId).catch(() => undefined);
    if (status?.state === 'not_ready' && status.reason === 'in a call') {
      await this.#deps.chat.setPresence(agentId, 'ready').catch(() => undefined);
    }
  }

  async #authorise(party: Party, taskId: string): Promise<TaskRow> {
    const task = await this.#deps.chat.task(taskId);
    if (!task || !this.#owns(party, task)) {
      if (party.role === 'customer') throw new NotFoundError('conversation');
      throw new ForbiddenError('this conversation is not assigned to you');
    }
    if (task.status !== 'assigned') throw new InvalidStateError('calls are only possible while the conversation is in progress');
    return task;
  }

  #owns(party: Party, task: TaskRow): boolean {
    return party.role === 'customer' ? task.customerId === party.customerId : task.agentId === party.agentId;
  }

  async #taskOrFail(taskId: string): Promise<TaskRow> {
    const task = await this.#deps.chat.task(taskId);
    if (!task) throw new NotFoundError('conversation');
    if (task.status !== 'assigned') throw new InvalidStateError('the conversation is not in progress');
    return task;
  }

  async #displayName(party: Party): Promise<string> {
    if (party.role === 'agent') return (await this.#accounts.findOneBy({ id: party.agentId }))?.displayName ?? 'Agent';
    return (await this.#customers.findOneBy({ id: party.customerId }))?.displayName ?? 'Visitor';
  }

  #sendTo<E extends keyof MediaServerToClient>(task: TaskRow, role: 'customer' | 'agent', event: E, payload: Parameters<MediaServerToClient[E]>[0]): void {
    const n = this.#notify();
    if (!n) return;
    // Both namespaces declare the media events (they extend MediaServerToClient); TS cannot see that through the generic.
    type Emit = (id: string, event: E, payload: Parameters<MediaServerToClient[E]>[0]) => void;
    if (role === 'customer') (n.toCustomer as Emit)(task.customerId, event, payload);
    else if (task.agentId) (n.toAgent as Emit)(task.agentId, event, payload);
  }

  #toParties<E extends keyof MediaServerToClient>(
    task: TaskRow,
    which: (role: 'customer' | 'agent') => boolean,
    event: E,
    payload: Parameters<MediaServerToClient[E]>[0],
  ): void {
    for (const role of ['customer', 'agent'] as const) if (which(role)) this.#sendTo(task, role, event, payload);
  }

  /** Media errors become MEDIA_UNAVAILABLE for the client; our own domain errors pass through. */
  async #media<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DomainError || err instanceof TypeError) throw err;
      if (err instanceof MediaUnavailableError) throw new DomainError('MEDIA_UNAVAILABLE', err.message);
      this.#log.warn('media request failed', { err });
      const why = err instanceof Error ? err.message : String(err);
      throw new DomainError('MEDIA_UNAVAILABLE', `the media server did not accept the request (${why}); try again`);
    }
  }

  #exclusive<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(taskId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(taskId, tail);
    void tail.then(() => {
      if (this.#locks.get(taskId) === tail) this.#locks.delete(taskId);
    });
    return run;
  }
}

function isHeld(call: LiveCall): boolean {
  return call.row.heldAt != null;
}

function holdState(call: LiveCall): HoldState {
  const since = call.row.heldAt ?? null;
  return {
    taskId: call.task.id,
    held: since !== null,
    heldSince: since,
    heldMs: (call.row.heldMs ?? 0) + (since !== null ? Math.max(0, Date.now() - since) : 0),
  };
}

/** A call that ends on hold: the hold ends with it and counts until then. */
function holdClosed(row: MediaSessionRow, endedAt: number): { heldAt: null; heldMs: number } {
  return { heldAt: null, heldMs: (row.heldMs ?? 0) + (row.heldAt != null ? Math.max(0, endedAt - row.heldAt) : 0) };
}

function holdMusicId(call: LiveCall): string {
  return `hold-${call.row.id}`;
}

/** The customer's side of a call: a browser leg, or the phone caller's RTP leg (SIP bridge). */
function isCustomerLeg(legId: string): boolean {
  return legId.startsWith('customer-') || legId === 'caller';
}

function legOf(party: Party): string {
  return party.role === 'agent' ? `agent-${party.agentId}` : `customer-${party.customerId}`;
}

/**
 * The customer's leg in the call: named after the profile they joined as, which a merge may since
 * have replaced (the leg cannot be renamed; there is one customer leg per call).
 */
function customerLeg(call: LiveCall, party: Extract<Party, { role: 'customer' }>): string {
  const own = legOf(party);
  const legs = call.room.legIds();
  return legs.includes(own) ? own : (legs.find((l) => l.startsWith('customer-')) ?? own);
}

function partyOf(task: TaskRow, role: 'customer' | 'agent'): Party | undefined {
  if (role === 'customer') return { role, customerId: task.customerId };
  return task.agentId ? { role, agentId: task.agentId } : undefined;
}
