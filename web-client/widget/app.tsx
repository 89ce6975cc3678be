// Customer chat widget: name → topic → first message → conversation, or an audio/video call from the
// start (call:start) or from within the chat (media:start). The visitor token and the current task id
// live in localStorage, so a reload (or a server restart) resumes the same conversation.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type {
  ChatMessage,
  CustomerChatView,
  CustomerClientToServer,
  CustomerServerToClient,
  MediaView,
  TaskStatus,
} from '../../protocol/events.js';
import type { QueueView, VisitorTokenReply } from '../../protocol/http.js';
import type { EmailVerifiedReply } from '../../protocol/context.js';
import { api, describeError } from '../shared/api';
import { checkDevices, callSupport, mediaSignal } from '../shared/call';
import { CallPanel, StartCallButtons, describeCallEnd, useCallBook } from '../shared/call-ui';
import { newClientMsgId } from '../shared/ids';
import { AckError, connect, isAuthError, request } from '../shared/socket';
import { load, save } from '../shared/storage';
import { Composer, MessageList, Notice, mergeMessages } from '../shared/ui';
import { describePrice } from '../shared/money';
import { PricePanel, usePricing } from './pricing';
import { RatingForm } from './rating';
import { approximateLocation } from './location';
import { EmailLink } from './email';
import { EarlierConversations } from './history';

type CustomerSocket = Socket<CustomerServerToClient, CustomerClientToServer>;

interface StoredSession {
  token: string;
  customerId: string;
  expiresAt: number;
  displayName?: string;
  taskId?: string | null;
  /** A call task started on this page: its call is joined as soon as an agent answers. */
  callTaskId?: string | null;
  /** Whether that call is a video call (for the waiting text). */
  callVideo?: boolean;
  /** The email the customer confirmed with its code in this browser. */
  email?: string | null;
}

const STORAGE_KEY = 'mccs.widget';
const ENDED: TaskStatus[] = ['wrapup', 'completed', 'abandoned'];
/** Resume errors after which the stored task is forgotten rather than retried. */
const GONE_CODES = new Set(['NOT_FOUND', 'FORBIDDEN']);

function loadSession(): StoredSession | null {
  const s = load<StoredSession>('local', STORAGE_KEY);
  if (!s || typeof s.token !== 'string' || typeof s.expiresAt !== 'number') return null;
  // Tokens close to expiry are dropped: a new one is fetched when the next chat starts.
  if (s.expiresAt - Date.now() < 60_000) return null;
  return s;
}

type Phase = 'resuming' | 'start' | 'chat';
type Connection = 'idle' | 'connecting' | 'online' | 'offline';

export function WidgetApp() {
  const sessionRef = useRef<StoredSession | null>(loadSession());
  const socketRef = useRef<CustomerSocket | null>(null);
  const taskIdRef = useRef<string | null>(sessionRef.current?.taskId ?? null);

  const [phase, setPhase] = useState<Phase>(taskIdRef.current ? 'resuming' : 'start');
  const [connection, setConnection] = useState<Connection>('idle');
  const [queues, setQueues] = useState<QueueView[] | null>(null);
  const [queuesError, setQueuesError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // start form
  const [name, setName] = useState(sessionRef.current?.displayName ?? '');
  const [queueId, setQueueId] = useState('');
  const [firstText, setFirstText] = useState('');
  const [starting, setStarting] = useState(false);
  const startIdRef = useRef<{ id: string; text: string } | null>(null);
  const [startingCall, setStartingCall] = useState<boolean | null>(null);

  // calls
  /** The task whose media:start (or call:start) this page sent: its call is joined at once. */
  const pendingCallRef = useRef<string | null>(null);
  /** media:ready for a task not known yet (it can overtake the call:start ack). */
  const earlyMediaRef = useRef<MediaView | null>(null);
  const [callBusy, setCallBusy] = useState(false);
  const [callNote, setCallNote] = useState<{ kind: 'info' | 'warn' | 'error'; text: string } | null>(null);
  const calls = useCallBook('customer', {
    onClose: (taskId, reason) => {
      if (sessionRef.current?.callTaskId === taskId) persist({ callTaskId: null });
      const text = describeCallEnd(reason);
      if (text && taskId === taskIdRef.current) setCallNote({ kind: reason === 'media_lost' || reason === 'media_unavailable' ? 'warn' : 'info', text });
    },
    onWarning: (_taskId, text) => setCallNote({ kind: 'warn', text }),
  });

  // conversation
  const [chat, setChat] = useState<CustomerChatView | null>(null);
  const [endedBy, setEndedBy] = useState<'agent' | 'customer' | 'system' | null>(null);
  const [endReason, setEndReason] = useState<string | null>(null);
  /** The customer chose to share their approximate position (asked only when they tick it). */
  const [shareLocation, setShareLocation] = useState(false);
  /** The price of the conversation in progress, once an agent answered a charged one. */
  const [charge, setCharge] = useState<string | null>(null);
  const [chargeWarning, setChargeWarning] = useState<string | null>(null);
  /** The paid call's clock stops while the customer is on hold (a chat's does not). */
  const [chargePausedOnHold, setChargePausedOnHold] = useState(false);
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<string | null>(null);
  const pendingRef = useRef<{ id: string; text: string } | null>(null);
  const [leaving, setLeaving] = useState(false);
  const [callbackPhone, setCallbackPhone] = useState('');
  const [callbackNumber, setCallbackNumber] = useState<string | null>(null);
  const [callbackError, setCallbackError] = useState<string | null>(null);
  /** The email confirmed with its code; the earlier conversations are shown once it is. */
  const [confirmedEmail, setConfirmedEmail] = useState<string | null>(sessionRef.current?.email ?? null);
  const [historyKey, setHistoryKey] = useState(0);

  function persist(patch: Partial<StoredSession>) {
    if (!sessionRef.current) return;
    sessionRef.current = { ...sessionRef.current, ...patch };
    save('local', STORAGE_KEY, sessionRef.current);
  }

  function forgetTask() {
    if (taskIdRef.current) calls.close(taskIdRef.current, 'left');
    taskIdRef.current = null;
    persist({ taskId: null, callTaskId: null });
  }

  /** A call on the current task: shown, and joined at once when this page started it. */
  function openCall(m: MediaView) {
    const socket = socketRef.current;
    if (!socket) return null;
    if (m.taskId !== taskIdRef.current) {
      earlyMediaRef.current = m;
      return null;
    }
    const session = calls.open(m, mediaSignal(socket, m.taskId));
    const startedHere =
      m.startedBy === 'customer' && (pendingCallRef.current === m.taskId || sessionRef.current?.callTaskId === m.taskId);
    if (session.state === 'idle' && startedHere) void session.join();
    return session;
  }

  function applyView(view: CustomerChatView) {
    taskIdRef.current = view.taskId;
    persist({ taskId: view.taskId });
    setChat((prev) =>
      prev && prev.taskId === view.taskId ? { ...view, messages: mergeMessages(prev.messages, view.messages) } : view,
    );
    if (!ENDED.includes(view.status)) setEndedBy(null);
    else calls.close(view.taskId, 'task_ended');
    setPhase('chat');
    const early = earlyMediaRef.current?.taskId === view.taskId ? earlyMediaRef.current : null;
    earlyMediaRef.current = null;
    const media = view.media ?? early;
    if (media && !ENDED.includes(view.status)) openCall(media);
  }

  async function resume(socket: CustomerSocket) {
    const taskId = taskIdRef.current;
    if (!taskId) return;
    try {
      applyView(await request(socket, 'chat:resume', { taskId }));
      setError(null);
    } catch (err) {
      if (err instanceof AckError && (err.code === 'UNAUTHENTICATED' || err.code === 'TOKEN_EXPIRED')) {
        dropSession(socket, 'Your chat session is no longer valid. Please start a new chat.');
      } else if (err instanceof AckError && GONE_CODES.has(err.code)) {
        forgetTask();
        setChat(null);
        setPhase('start');
        setError('Your previous chat is no longer available. You can start a new one.');
      } else {
        setError(`Could not restore your chat: ${describeError(err)}`);
        setPhase((p) => (p === 'resuming' ? 'start' : p));
      }
    }
  }

  /** The visitor token is unusable: forget it (and the chat it owned) and offer a new chat. */
  function dropSession(socket: CustomerSocket, message: string) {
    calls.closeAll('left');
    socket.disconnect();
    if (socketRef.current === socket) socketRef.current = null;
    sessionRef.current = null;
    save('local', STORAGE_KEY, null);
    setConfirmedEmail(null);
    taskIdRef.current = null;
    setConnection('idle');
    setChat(null);
    setPhase('start');
    setError(message);
  }

  function openSocket(token: string): CustomerSocket {
    if (socketRef.current) return socketRef.current;
    setConnection('connecting');
    const socket = connect<CustomerServerToClient, CustomerClientToServer>('/customer', token);
    socketRef.current = socket;
    socket.on('connect', () => {
      setConnection('online');
      // After a reconnect the server has a new socket: resuming re-joins the chat and fills any gap.
      void resume(socket);
    });
    socket.on('connect_error', (err) => {
      if (isAuthError(err)) {
        dropSession(
          socket,
          err.message === 'TOKEN_EXPIRED'
            ? 'Your chat session has expired. Please start a new chat.'
            : 'Your chat session is no longer valid. Please start a new chat.',
        );
      } else {
        setConnection('offline');
      }
    });
    socket.on('disconnect', (reason) => {
      setConnection('offline');
      if (reason === 'io server disconnect') setError('The server closed the connection. Reload the page to reconnect.');
    });
    socket.on('chat:message', (m: ChatMessage) => {
      if (m.taskId !== taskIdRef.current) return;
      setChat((c) => (c && c.taskId === m.taskId ? { ...c, messages: mergeMessages(c.messages, [m]) } : c));
    });
    socket.on('chat:queued', (e) => {
      if (e.taskId !== taskIdRef.current) return;
      setChat((c) =>
        c && c.taskId === e.taskId && !ENDED.includes(c.status) ? { ...c, position: e.position, expectedWaitMs: e.expectedWaitMs ?? c.expectedWaitMs } : c,
      );
    });
    socket.on('chat:assigned', (e) => {
      if (e.taskId !== taskIdRef.current) return;
      setChat((c) => (c && c.taskId === e.taskId ? { ...c, status: 'assigned', agentName: e.agentName, position: null } : c));
    });
    socket.on('media:ready', (m) => {
      openCall(m);
    });
    socket.on('media:feed', (e) => {
      const { taskId, ...feed } = e;
      calls.get(taskId)?.addFeed(feed);
    });
    socket.on('media:feed-ended', (e) => calls.get(e.taskId)?.removeFeed(e.feedId));
    // The agent put the call on hold (or took it back): the call panel says so.
    socket.on('media:hold', (e) => calls.get(e.taskId)?.setHeld(e.held, e.heldSince));
    socket.on('media:ended', (e) => {
      if (calls.get(e.taskId)) {
        calls.close(e.taskId, e.reason);
      } else if (e.taskId === taskIdRef.current) {
        // A call that never reached this page (no media for an answered call): the chat stays usable.
        if (sessionRef.current?.callTaskId === e.taskId) persist({ callTaskId: null });
        const text = describeCallEnd(e.reason);
        if (text) setCallNote({ kind: 'warn', text });
      }
    });
    socket.on('charging:started', (e) => {
      if (e.taskId !== taskIdRef.current) return;
      setCharge(describePrice(e.charge));
      setChargePausedOnHold(e.charge.pausedOnHold);
    });
    socket.on('charging:warning', (e) => {
      if (e.taskId !== taskIdRef.current) return;
      setChargeWarning(`Your balance pays for about ${e.secondsLeft} more seconds; the conversation stops then.`);
    });
    socket.on('chat:ended', (e) => {
      calls.close(e.taskId, 'task_ended');
      if (e.taskId !== taskIdRef.current) return;
      setEndedBy(e.by);
      setEndReason(e.reason ?? null);
      setChargeWarning(null);
      setChat((c) =>
        c && c.taskId === e.taskId && !ENDED.includes(c.status)
          ? { ...c, status: e.by === 'customer' ? 'abandoned' : 'completed', position: null }
          : c,
      );
    });
    return socket;
  }

  function loadQueues() {
    api<QueueView[]>('GET', '/api/queues')
      .then((list) => {
        setQueues(list);
        setQueuesError(null);
        if (list.length === 1) setQueueId(list[0]!.id);
        else setQueueId((id) => (list.some((q) => q.id === id) ? id : ''));
      })
      .catch((err: unknown) => setQueuesError(describeError(err)));
  }

  useEffect(() => {
    loadQueues();
    const session = sessionRef.current;
    if (session?.taskId) openSocket(session.token);
    return () => {
      socketRef.current?.disconnect();
      socketRef.current = null;
    };
  }, []);

  /** The visitor token, fetched once (also before a chat, to confirm an email). */
  async function ensureToken(displayName: string | undefined): Promise<string> {
    if (!sessionRef.current) {
      const reply = await api<VisitorTokenReply>('POST', '/api/visitor-token', displayName ? { displayName } : {});
      sessionRef.current = { token: reply.token, customerId: reply.customerId, expiresAt: reply.expiresAt };
      save('local', STORAGE_KEY, sessionRef.current);
    }
    return sessionRef.current.token;
  }

  /** A visitor token and the socket it opens. */
  async function ensureSocket(displayName: string | undefined): Promise<CustomerSocket> {
    const token = await ensureToken(displayName);
    persist({ displayName, taskId: null, callTaskId: null });
    return openSocket(token);
  }

  /**
   * The email is confirmed. When we knew the customer already under an older profile, theirs was merged
   * into it and the server sent that profile's token: the widget continues as that one, its chat too
   * (the new connection resumes it), and shows the earlier conversations.
   */
  function emailConfirmed(reply: EmailVerifiedReply) {
    if (reply.visitor && sessionRef.current) {
      const { token, customerId, expiresAt } = reply.visitor;
      sessionRef.current = { ...sessionRef.current, token, customerId, expiresAt };
      const old = socketRef.current;
      if (old) {
        old.off();
        old.disconnect();
        socketRef.current = null;
        openSocket(token);
      }
    }
    persist({ email: reply.email });
    setConfirmedEmail(reply.email);
    setHistoryKey((k) => k + 1);
  }

  function started(view: CustomerChatView) {
    startIdRef.current = null;
    setEndedBy(null);
    setEndReason(null);
    setCharge(null);
    setChargeWarning(null);
    setChargePausedOnHold(false);
    setChat(null);
    setCallNote(null);
    applyView(view);
    setFirstText('');
    setDraft('');
    setSendError(null);
  }

  async function startChat(e: Event) {
    e.preventDefault();
    const text = firstText.trim();
    if (!queueId || !text || starting) return;
    setStarting(true);
    setError(null);
    try {
      const displayName = name.trim() || undefined;
      const socket = await ensureSocket(displayName);
      // The same clientMsgId for a retry of the same text, so a lost ack cannot start two chats.
      if (!startIdRef.current || startIdRef.current.text !== text) startIdRef.current = { id: newClientMsgId(), text };
      const price = pricing.agreementFor('chat');
      const location = shareLocation ? await approximateLocation() : undefined;
      const view = await request(socket, 'chat:start', {
        queueId,
        text,
        clientMsgId: startIdRef.current.id,
        ...(displayName ? { displayName } : {}),
        ...(price ? { price } : {}),
        ...(location ? { location } : {}),
      });
      started(view);
    } catch (err) {
      setError(`Could not start the chat: ${describeError(err)}`);
    } finally {
      setStarting(false);
    }
  }

  /** A call task from the start: queued like a chat, joined when an agent answers (media:ready). */
  async function startCall(video: boolean) {
    const text = firstText.trim();
    if (!queueId || starting) return;
    setStarting(true);
    setStartingCall(video);
    setError(null);
    try {
      // The permission prompt now, while the customer is here, not when the agent answers.
      await checkDevices(video);
      const displayName = name.trim() || undefined;
      const socket = await ensureSocket(displayName);
      const key = `${video ? 'video' : 'audio'}|${text}`;
      if (!startIdRef.current || startIdRef.current.text !== key) startIdRef.current = { id: newClientMsgId(), text: key };
      const price = pricing.agreementFor(video ? 'video' : 'call');
      const location = shareLocation ? await approximateLocation() : undefined;
      const view = await request(socket, 'call:start', {
        queueId,
        video,
        clientMsgId: startIdRef.current.id,
        ...(text ? { text } : {}),
        ...(displayName ? { displayName } : {}),
        ...(price ? { price } : {}),
        ...(location ? { location } : {}),
      });
      persist({ callTaskId: view.taskId, callVideo: video });
      started(view);
    } catch (err) {
      setError(`Could not start the call: ${describeError(err)}`);
    } finally {
      setStarting(false);
      setStartingCall(null);
    }
  }

  /** Turns the chat into a call (media:start); both sides get media:ready, this side joins at once. */
  async function upgradeToCall(video: boolean) {
    const socket = socketRef.current;
    const taskId = taskIdRef.current;
    if (!socket || !taskId || callBusy) return;
    const support = callSupport();
    if (!support.ok) {
      setCallNote({ kind: 'error', text: support.reason });
      return;
    }
    setCallBusy(true);
    setCallNote(null);
    pendingCallRef.current = taskId;
    try {
      const view = await request(socket, 'media:start', { taskId, video });
      const session = openCall(view);
      if (session && session.state === 'idle') void session.join();
    } catch (err) {
      setCallNote({ kind: 'error', text: `Could not start the call: ${describeError(err)}` });
    } finally {
      if (pendingCallRef.current === taskId) pendingCallRef.current = null;
      setCallBusy(false);
    }
  }

  async function send() {
    const socket = socketRef.current;
    const taskId = taskIdRef.current;
    const text = draft.trim();
    if (!socket || !taskId || !text || sending) return;
    if (!socket.connected) {
      setSendError('You are offline, so the message was not sent. It is still in the box; send it once the connection is back.');
      return;
    }
    if (!pendingRef.current || pendingRef.current.text !== text) pendingRef.current = { id: newClientMsgId(), text };
    setSending(true);
    setSendError(null);
    try {
      const msg = await request(socket, 'chat:send', { taskId, text, clientMsgId: pendingRef.current.id });
      pendingRef.current = null;
      setChat((c) => (c && c.taskId === msg.taskId ? { ...c, messages: mergeMessages(c.messages, [msg]) } : c));
      setDraft((d) => (d.trim() === text ? '' : d));
    } catch (err) {
      setSendError(`Your message was not sent: ${describeError(err)}. It is still in the box; press Send to try again.`);
    } finally {
      setSending(false);
    }
  }

  async function leave() {
    const socket = socketRef.current;
    const taskId = taskIdRef.current;
    if (!socket || !taskId) return;
    setLeaving(true);
    try {
      const r = await request(socket, 'chat:leave', { taskId });
      setEndedBy('customer');
      setChat((c) => (c && c.taskId === taskId ? { ...c, status: r.status, position: null } : c));
    } catch (err) {
      setError(`Could not leave the chat: ${describeError(err)}`);
    } finally {
      setLeaving(false);
    }
  }

  /** Leave the wait but keep the place: an agent calls the number when the turn comes. */
  async function askCallback() {
    const socket = socketRef.current;
    const taskId = taskIdRef.current;
    if (!socket || !taskId) return;
    setCallbackError(null);
    try {
      const r = await request(socket, 'chat:callback', { taskId, phone: callbackPhone.replace(/[\s()-]/g, '') });
      setCallbackNumber(r.callbackNumber);
    } catch (err) {
      setCallbackError(`We could not take that number: ${describeError(err)}. Use the international form, e.g. +358401234567.`);
    }
  }

  function newChat() {
    forgetTask();
    pricing.reloadWallet();
    setChat(null);
    setEndedBy(null);
    setDraft('');
    setSendError(null);
    setError(null);
    setPhase('start');
    loadQueues(); // topics may have changed since the page was opened
  }

  const pricing = usePricing(queueId, sessionRef.current?.token ?? null);
  const mustAgree = pricing.charged && !pricing.agreed;
  const topic = chat && queues?.find((q) => q.id === chat.queueId);
  const ended = chat !== null && (endedBy !== null || ENDED.includes(chat.status));
  const call = chat ? calls.get(chat.taskId) : null;
  const waitingCall = chat !== null && !call && sessionRef.current?.callTaskId === chat.taskId;
  const waitingText = waitingCall
    ? `Waiting for an agent — your ${sessionRef.current?.callVideo ? 'video call' : 'call'} starts when one answers`
    : 'Waiting for an agent';

  return (
    <main class="app app--narrow">
      <header class="row" style={{ marginBottom: '0.75rem' }}>
        <h1>Chat with us</h1>
        <span class="spacer" />
        {connection === 'offline' && (
          <span class="badge badge--wrapup" data-testid="widget-connection" role="status">
            Reconnecting…
          </span>
        )}
      </header>

      {error && (
        <Notice kind="error" testId="widget-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}

      {phase === 'resuming' && (
        <div class="card" data-testid="widget-resuming" role="status">
          Restoring your conversation…
        </div>
      )}

      {phase === 'start' && (
        <form class="card" onSubmit={startChat} data-testid="widget-start-form" aria-labelledby="start-title">
          <h2 id="start-title">Start a chat or a call</h2>
          <p class="muted small">Tell us what it is about and an agent will answer you here, in writing or by a call.</p>
          <div class="field">
            <label for="w-name">
              Your name <span class="hint">(optional)</span>
            </label>
            <input
              id="w-name"
              type="text"
              autocomplete="name"
              maxLength={80}
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              data-testid="widget-name"
            />
          </div>
          <fieldset>
            <legend>Topic</legend>
            {queuesError && (
              <Notice kind="error" testId="widget-queues-error">
                Could not load the topics: {queuesError}
              </Notice>
            )}
            {!queues && !queuesError && <p class="muted">Loading topics…</p>}
            {queues && queues.length === 0 && <p class="muted">No topics are open right now.</p>}
            <div class="topics" data-testid="widget-topics">
              {queues?.map((q) => (
                <label class="topic" key={q.id}>
                  <input
                    type="radio"
                    name="topic"
                    value={q.id}
                    checked={queueId === q.id}
                    onChange={() => setQueueId(q.id)}
                    data-testid={`widget-topic-${q.id}`}
                  />
                  <span>
                    <strong>{q.name}</strong>
                    {q.description && <span class="muted small">{q.description}</span>}
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <PricePanel pricing={pricing} />
          <label class="row small">
            <input type="checkbox" checked={shareLocation} onChange={(e) => setShareLocation(e.currentTarget.checked)} data-testid="widget-share-location" />
            <span>Share my approximate location (to about 10 km) so that an expert near me can answer</span>
          </label>
          <div class="field">
            <label for="w-first">
              Your message <span class="hint">(optional for a call)</span>
            </label>
            <textarea
              id="w-first"
              rows={3}
              maxLength={4000}
              value={firstText}
              onInput={(e) => setFirstText(e.currentTarget.value)}
              data-testid="widget-first-message"
            />
          </div>
          <button type="submit" disabled={starting || !queueId || !firstText.trim() || mustAgree} data-testid="widget-start">
            {starting && startingCall === null ? 'Starting…' : 'Start chat'}
          </button>
          <p class="muted small" style={{ margin: '0.75rem 0 0.4rem' }}>
            Or talk to us from this browser (we will ask to use your microphone, and your camera for video):
          </p>
          <StartCallButtons
            busy={starting}
            disabled={!queueId || mustAgree}
            onStart={(video) => void startCall(video)}
            note={startingCall !== null ? 'Starting the call…' : undefined}
          />
        </form>
      )}
      {phase === 'start' && (
        <EmailLink context="start" confirmed={confirmedEmail} getToken={() => ensureToken(name.trim() || undefined)} onVerified={emailConfirmed} />
      )}
      {phase === 'start' && confirmedEmail && sessionRef.current && (
        <EarlierConversations token={sessionRef.current.token} exceptTaskId={null} reloadKey={historyKey} />
      )}

      {phase === 'chat' && chat && (
        <section class="card chat" data-testid="widget-chat" data-task-id={chat.taskId} aria-label="Conversation">
          <div class="status-line">
            {topic && <span class="badge">{topic.name}</span>}
            <span
              data-testid="widget-status"
              data-state={ended ? 'ended' : chat.status === 'assigned' ? 'assigned' : 'queued'}
              role="status"
            >
              {ended
                ? endedBy === 'customer'
                  ? 'You left the chat.'
                  : endReason === 'balance_exhausted'
                    ? 'Your balance has run out: the conversation has ended.'
                    : 'The chat has ended.'
                : chat.status === 'assigned'
                  ? `Connected to ${chat.agentName ?? 'an agent'}`
                  : chat.position
                    ? `${waitingText} — you are number ${chat.position} in the queue${
                        chat.expectedWaitMs ? ` (about ${Math.max(1, Math.round(chat.expectedWaitMs / 60_000))} min)` : ''
                      }`
                    : `${waitingText}…`}
            </span>
          </div>

          {charge && !ended && (
            <p class="muted small" data-testid="widget-charge">
              Charged at {charge} while you are connected.
            </p>
          )}
          {chargeWarning && !ended && (
            <Notice kind="warn" testId="widget-charge-warning">
              {chargeWarning}
            </Notice>
          )}
          {callNote && (
            <Notice kind={callNote.kind} testId="widget-call-note" onDismiss={() => setCallNote(null)}>
              {callNote.text}
            </Notice>
          )}
          {call && !ended && <CallPanel session={call} peerName={chat.agentName ?? 'The agent'} audience="customer" ring holdNotCharged={charge !== null && chargePausedOnHold} />}

          <MessageList messages={chat.messages} own="customer" testId="widget-messages" label="Messages" />

          {ended ? (
            <div data-testid="widget-ended" style={{ marginTop: '0.75rem' }}>
              <Notice kind="info">Chat ended. Thank you for contacting us.</Notice>
              {chat.agentName && <RatingForm taskId={chat.taskId} agentName={chat.agentName} socket={socketRef.current} />}
              <button type="button" onClick={newChat} data-testid="widget-new-chat">
                Start a new chat
              </button>
            </div>
          ) : (
            <>
              {sendError && (
                <Notice kind="error" testId="widget-send-error" onDismiss={() => setSendError(null)}>
                  {sendError}
                </Notice>
              )}
              <Composer
                id="w-draft"
                label="Type your message"
                value={draft}
                onInput={setDraft}
                onSend={() => void send()}
                busy={sending}
                inputTestId="widget-input"
                sendTestId="widget-send"
              />
              {chat.status === 'assigned' && !call && !waitingCall && (
                <div style={{ marginTop: '0.5rem' }}>
                  <StartCallButtons
                    busy={callBusy}
                    disabled={connection !== 'online'}
                    onStart={(video) => void upgradeToCall(video)}
                    note={callBusy ? 'Starting the call…' : undefined}
                  />
                </div>
              )}
              {chat.status !== 'assigned' &&
                (callbackNumber ?? chat.callbackNumber ? (
                  <Notice kind="info" testId="widget-callback-done">
                    We will call you on {callbackNumber ?? chat.callbackNumber} when it is your turn. You can close this page.
                  </Notice>
                ) : (
                  <form
                    class="row"
                    style={{ marginTop: '0.5rem' }}
                    onSubmit={(e) => {
                      e.preventDefault();
                      void askCallback();
                    }}
                  >
                    <label for="w-callback" class="visually-hidden">
                      Phone number for a callback
                    </label>
                    <input
                      id="w-callback"
                      type="tel"
                      inputMode="tel"
                      autoComplete="tel"
                      placeholder="+358 40 123 4567"
                      value={callbackPhone}
                      onInput={(e) => setCallbackPhone((e.target as HTMLInputElement).value)}
                      data-testid="widget-callback-phone"
                    />
                    <button type="submit" disabled={!callbackPhone.trim()} data-testid="widget-callback">
                      Call me back instead
                    </button>
                  </form>
                ))}
              {callbackError && (
                <Notice kind="error" onDismiss={() => setCallbackError(null)}>
                  {callbackError}
                </Notice>
              )}
              <div class="row" style={{ marginTop: '0.5rem' }}>
                <span class="spacer" />
                <button
                  type="button"
                  class="danger"
                  onClick={() => void leave()}
                  disabled={leaving}
                  data-testid="widget-leave"
                >
                  {leaving ? 'Leaving…' : 'Leave chat'}
                </button>
              </div>
            </>
          )}
          <EmailLink context="chat" confirmed={confirmedEmail} getToken={() => ensureToken(undefined)} onVerified={emailConfirmed} />
          {confirmedEmail && sessionRef.current && <EarlierConversations token={sessionRef.current.token} exceptTaskId={chat.taskId} reloadKey={historyKey} />}
        </section>
      )}
    </main>
  );
}
