// Agent workspace: sign in → presence, incoming offers (chat, call, video; calls ring), active chats with
// the softphone, end + wrap-up. The token lives in sessionStorage; after a reload or reconnect the
// server's `hello` rebuilds the whole state (a call in progress is offered to rejoin).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type {
  AgentClientToServer,
  AgentServerToClient,
  AgentStatus,
  AgentTaskView,
  MediaView,
  Offer,
  PresenceState,
  TaskChannel,
} from '../../protocol/events.js';
import { api, describeError } from '../shared/api';
import { ChangePasswordForm, LoginForm, loadStaffSession, saveStaffSession, type StaffSession } from '../shared/auth';
import { agentMediaSignal, callSupport, mediaSignal, type CallSession } from '../shared/call';
import { CallPanel, StartCallButtons, describeCallEnd, useCallBook, useRinger } from '../shared/call-ui';
import { newClientMsgId } from '../shared/ids';
import { connect, isAuthError, request } from '../shared/socket';
import { InputField, MessageList, Notice, TextAreaField, mergeMessages } from '../shared/ui';
import { CannedComposer, CannedManager } from './canned-responses';
import { EarningsCard } from './earnings';
import { SocialPanel, SocialSummary } from './social-panel';
import { PhoneSetting } from './phone-setting';
import { ContextPanel, ContextSummary } from './context-panel';
import { OfflineNotice } from './connectivity';
import { useOfferLink } from './offer-link';
import { disablePush } from './push-subscription';
import { PushSwitch } from './push-switch';
import { reportVisibility } from './visibility';
import { SignInOptions } from './signup';
import { AgentSelfService, VerificationBanner } from './profile';

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;
const SESSION_KEY = 'mccs.agent';

interface TaskState extends AgentTaskView {
  endedBy: 'agent' | 'customer' | 'system' | null;
  unread: number;
}

interface Note {
  id: number;
  kind: 'error' | 'info' | 'warn' | 'ok';
  text: string;
}

const PRESENCE_LABEL: Record<PresenceState, string> = {
  logged_off: 'Logged off',
  not_ready: 'Not ready',
  ready: 'Ready',
  busy: 'Busy',
  wrapup: 'Wrap-up',
};
const NOT_READY_REASONS = ['Break', 'Meal', 'Meeting', 'Training', 'Other work'];
const CHANNEL_LABEL: Record<TaskChannel, string> = { chat: 'Chat', call: 'Audio call', video: 'Video call', social: 'Social post' };

export function AgentApp() {
  const [session, setSession] = useState<StaffSession | null>(() => loadStaffSession(SESSION_KEY));
  const [pending, setPending] = useState<{ reply: StaffSession; password: string } | null>(null);
  const [loginNotice, setLoginNotice] = useState<string | null>(null);

  function signedIn(reply: StaffSession) {
    saveStaffSession(SESSION_KEY, reply);
    setPending(null);
    setSession(reply);
  }

  function signOut(notice: string | null) {
    saveStaffSession(SESSION_KEY, null);
    setSession(null);
    setLoginNotice(notice);
  }

  return (
    <>
      <header class="topbar">
        <h1>Agent workspace</h1>
        {session && (
          <div class="row">
            <span class="muted small" data-testid="agent-name">
              {session.account.displayName}
            </span>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                // A signed-out agent gets no more offers on this device.
                void disablePush(session.token).catch(() => undefined);
                signOut(null);
              }}
              data-testid="agent-logout"
            >
              Sign out
            </button>
          </div>
        )}
      </header>
      <OfflineNotice />
      {session ? (
        <Workspace key={session.token} session={session} onAuthLost={signOut} />
      ) : pending ? (
        <main class="app app--narrow">
          <ChangePasswordForm
            email={pending.reply.account.email}
            token={pending.reply.token}
            currentPassword={pending.password}
            testPrefix="agent"
            onChanged={signedIn}
            onCancel={() => setPending(null)}
          />
        </main>
      ) : (
        <main class="app app--narrow">
          <SignInOptions onSignedIn={signedIn}>
            <LoginForm
              title="Sign in"
              testPrefix="agent"
              notice={loginNotice}
              onLoggedIn={(reply, password) => {
                setLoginNotice(null);
                if (reply.account.mustChangePassword) setPending({ reply, password });
                else signedIn(reply);
              }}
            />
          </SignInOptions>
        </main>
      )}
    </>
  );
}

function Workspace(props: { session: StaffSession; onAuthLost: (notice: string) => void }) {
  const socketRef = useRef<AgentSocket | null>(null);
  const selectedRef = useRef<string | null>(null);
  const noteSeq = useRef(0);

  const [connection, setConnection] = useState<'connecting' | 'online' | 'offline' | 'closed'>('connecting');
  const [status, setStatus] = useState<AgentStatus | null>(null);
  const [offers, setOffers] = useState<Offer[]>([]);
  /** Calls of other agents this agent was invited into (third party), and the ones it joined. */
  const [invites, setInvites] = useState<Array<{ taskId: string; from: string; customerName: string; media: MediaView }>>([]);
  const [guestCalls, setGuestCalls] = useState<Array<{ taskId: string; customerName: string }>>([]);
  const [tasks, setTasks] = useState<TaskState[]>([]);
  const [selected, setSelectedState] = useState<string | null>(null);
  const [notes, setNotes] = useState<Note[]>([]);
  const [reason, setReason] = useState(NOT_READY_REASONS[0]!);
  const [presenceBusy, setPresenceBusy] = useState(false);
  const [answering, setAnswering] = useState<Set<string>>(new Set());
  /** Bumped when a conversation is completed, so the earnings card reloads. */
  const [earningsKey, setEarningsKey] = useState(0);
  /** Bumped when the server says the account changed (verification) and on each reconnect, so the profile reloads. */
  const [profileKey, setProfileKey] = useState(0);
  const helloSeen = useRef(false);
  // The latest lists, for socket handlers (registered once) that must read before they update.
  const tasksRef = useRef<TaskState[]>(tasks);
  tasksRef.current = tasks;
  const offersRef = useRef<Offer[]>(offers);
  offersRef.current = offers;
  const answeringRef = useRef<Set<string>>(new Set());
  /** Tasks whose call this agent joins as soon as it is ready: accepted call offers, own media:start. */
  const autoJoinRef = useRef<Set<string>>(new Set());
  const [callBusy, setCallBusy] = useState<Set<string>>(new Set());
  const calls = useCallBook('agent', {
    onClose: (taskId, reason) => {
      autoJoinRef.current.delete(taskId);
      const text = describeCallEnd(reason);
      const t = tasksRef.current.find((x) => x.taskId === taskId);
      if (text && t) note(reason === 'media_lost' || reason === 'media_unavailable' ? 'warn' : 'info', `${t.customerName}: ${text}`);
    },
    onWarning: (_taskId, text) => note('warn', text),
  });

  /** Shows the call of a task; joins it when this agent answered a call offer or started the call. */
  function openCall(m: MediaView): CallSession | null {
    const socket = socketRef.current;
    if (!socket) return null;
    // The agent's own conversation: hold is theirs too (an invited agent's call uses mediaSignal).
    const session = calls.open(m, agentMediaSignal(socket, m.taskId));
    if (session.state === 'idle' && autoJoinRef.current.has(m.taskId)) {
      autoJoinRef.current.delete(m.taskId);
      void session.join();
    }
    return session;
  }

  function select(taskId: string | null) {
    selectedRef.current = taskId;
    setSelectedState(taskId);
    if (taskId) setTasks((ts) => ts.map((t) => (t.taskId === taskId && t.unread ? { ...t, unread: 0 } : t)));
  }

  function note(kind: Note['kind'], text: string) {
    const id = ++noteSeq.current;
    setNotes((n) => [...n.slice(-4), { id, kind, text }]);
  }

  function upsertTask(view: AgentTaskView) {
    setTasks((ts) => {
      const i = ts.findIndex((t) => t.taskId === view.taskId);
      if (i < 0) return [...ts, { ...view, endedBy: null, unread: 0 }];
      const prev = ts[i]!;
      const next = [...ts];
      next[i] = { ...prev, ...view, messages: mergeMessages(prev.messages, view.messages) };
      return next;
    });
  }

  function patchTask(taskId: string, patch: (t: TaskState) => TaskState) {
    setTasks((ts) => ts.map((t) => (t.taskId === taskId ? patch(t) : t)));
  }

  function removeTask(taskId: string) {
    calls.close(taskId, 'left');
    autoJoinRef.current.delete(taskId);
    setTasks((ts) => ts.filter((t) => t.taskId !== taskId));
    if (selectedRef.current === taskId) select(tasksRef.current.find((t) => t.taskId !== taskId)?.taskId ?? null);
  }

  useEffect(() => {
    const socket = connect<AgentServerToClient, AgentClientToServer>('/agent', props.session.token);
    socketRef.current = socket;
    const stopReportingVisibility = reportVisibility(socket);
    socket.on('connect', () => setConnection('online'));
    socket.on('disconnect', (why) => {
      if (props.session.expiresAt <= Date.now()) {
        props.onAuthLost('Your session has expired. Please sign in again.');
        return;
      }
      // The server closing the session on purpose (e.g. signed in elsewhere) is not retried automatically.
      setConnection(why === 'io server disconnect' ? 'closed' : 'offline');
    });
    socket.on('connect_error', (err) => {
      if (isAuthError(err)) {
        socket.disconnect();
        props.onAuthLost(
          err.message === 'TOKEN_EXPIRED' ? 'Your session has expired. Please sign in again.' : 'Please sign in again.',
        );
      } else setConnection('offline');
    });
    socket.on('hello', (e) => {
      // A reconnect: a verification decided while the connection was down shows now.
      if (helloSeen.current) setProfileKey((k) => k + 1);
      helloSeen.current = true;
      setStatus(e.status);
      setOffers(e.offers);
      setTasks((prev) =>
        e.tasks.map((v) => {
          const old = prev.find((t) => t.taskId === v.taskId);
          return old
            ? { ...old, ...v, messages: mergeMessages(old.messages, v.messages) }
            : { ...v, endedBy: null, unread: 0 };
        }),
      );
      const cur = selectedRef.current;
      if (!cur || !e.tasks.some((t) => t.taskId === cur)) select(e.tasks[0]?.taskId ?? null);
      // Calls of tasks no longer held, or that the server reports without a call, are closed here.
      const held = new Set(e.tasks.map((t) => t.taskId));
      for (const c of calls.all()) if (!held.has(c.taskId)) c.close('task_ended');
      for (const t of e.tasks) {
        if (t.media && t.status === 'assigned') openCall(t.media);
        else if (t.media === null || t.status !== 'assigned') calls.close(t.taskId, 'task_ended');
      }
    });
    socket.on('media:ready', (m) => {
      openCall(m);
    });
    socket.on('media:invited', (e) => setInvites((list) => [...list.filter((x) => x.taskId !== e.taskId), e]));
    socket.on('media:feed', (e) => {
      const { taskId, ...feed } = e;
      calls.get(taskId)?.addFeed(feed);
    });
    socket.on('media:feed-ended', (e) => calls.get(e.taskId)?.removeFeed(e.feedId));
    socket.on('media:coach', (e) => calls.get(e.taskId)?.setCoach(e.active));
    socket.on('media:hold', (e) => calls.get(e.taskId)?.setHeld(e.held, e.heldSince));
    socket.on('media:ended', (e) => {
      setInvites((list) => list.filter((x) => x.taskId !== e.taskId));
      setGuestCalls((list) => list.filter((x) => x.taskId !== e.taskId));
      if (calls.get(e.taskId)) {
        calls.close(e.taskId, e.reason);
        return;
      }
      autoJoinRef.current.delete(e.taskId);
      const t = tasksRef.current.find((x) => x.taskId === e.taskId);
      const text = describeCallEnd(e.reason);
      if (t && text) note('warn', `${t.customerName}: ${text}`);
    });
    socket.on('presence', (s) => setStatus(s));
    socket.on('offer', (o) => setOffers((list) => [...list.filter((x) => x.taskId !== o.taskId), o]));
    socket.on('offer:revoked', (e) => {
      const had = offersRef.current.find((x) => x.taskId === e.taskId);
      // No notice for an offer this agent is answering: its own accept/reject also revokes it.
      if (had && !answeringRef.current.has(e.taskId) && !tasksRef.current.some((t) => t.taskId === e.taskId)) {
        const why =
          e.reason === 'timeout'
            ? 'it was not answered in time'
            : e.reason === 'abandoned'
              ? 'the customer left'
              : 'it is no longer available';
        note('warn', `The ${CHANNEL_LABEL[had.channel ?? 'chat'].toLowerCase()} offer from ${had.customerName} was withdrawn: ${why}.`);
      }
      setOffers((list) => list.filter((x) => x.taskId !== e.taskId));
    });
    socket.on('chat:message', (m) => {
      setTasks((ts) =>
        ts.map((t) =>
          t.taskId === m.taskId
            ? {
                ...t,
                messages: mergeMessages(t.messages, [m]),
                unread: selectedRef.current === m.taskId || m.sender === 'agent' ? t.unread : t.unread + 1,
              }
            : t,
        ),
      );
    });
    socket.on('account:updated', () => setProfileKey((k) => k + 1));
    socket.on('charging:warning', (e) => {
      const t = tasksRef.current.find((x) => x.taskId === e.taskId);
      note('warn', `${t?.customerName ?? 'The customer'} has about ${e.secondsLeft} s of paid time left.`);
    });
    socket.on('task:ended', (e) => {
      if (e.status === 'queued') {
        // Transferred: the conversation waits for its next agent; it is no longer ours.
        removeTask(e.taskId);
        return;
      }
      calls.close(e.taskId, 'task_ended');
      const t = tasksRef.current.find((x) => x.taskId === e.taskId);
      if (t && e.by === 'customer') note('info', `${t.customerName} left the chat. Please complete the wrap-up.`);
      if (t && e.reason === 'balance_exhausted') note('warn', `${t.customerName}'s prepaid balance ran out: the conversation has ended.`);
      if (e.status === 'completed' || e.status === 'wrapup') setEarningsKey((k) => k + 1);
      patchTask(e.taskId, (x) => ({ ...x, status: e.status, endedBy: e.by }));
    });
    return () => {
      stopReportingVisibility();
      socket.disconnect();
      socketRef.current = null;
    };
  }, [props.session.token]);

  // A ticking clock for the offer countdowns, only while offers are shown.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (offers.length === 0) return;
    const t = window.setInterval(() => setNow(Date.now()), 250);
    return () => window.clearInterval(t);
  }, [offers.length]);

  async function setPresence(state: 'ready' | 'not_ready') {
    const socket = socketRef.current;
    if (!socket) return;
    setPresenceBusy(true);
    try {
      setStatus(await request(socket, 'presence:set', state === 'ready' ? { state } : { state, reason }));
    } catch (err) {
      note('error', `Could not change your status: ${describeError(err)}`);
    } finally {
      setPresenceBusy(false);
    }
  }

  async function answer(offer: Offer, accept: boolean) {
    const socket = socketRef.current;
    if (!socket) return;
    answeringRef.current.add(offer.taskId);
    setAnswering((s) => new Set(s).add(offer.taskId));
    // The softphone joins an accepted call by itself (media:ready may overtake the ack).
    // A callback is called by the server once accepted: the agent joins when the customer answers.
    const isCall = accept && (offer.channel === 'call' || offer.channel === 'video' || Boolean(offer.callbackNumber));
    if (isCall) autoJoinRef.current.add(offer.taskId);
    try {
      if (accept) {
        const view = await request(socket, 'offer:accept', { taskId: offer.taskId });
        upsertTask(view);
        select(view.taskId);
        if (view.media) openCall(view.media);
      } else {
        await request(socket, 'offer:reject', { taskId: offer.taskId });
      }
    } catch (err) {
      if (isCall) autoJoinRef.current.delete(offer.taskId);
      note('error', `Could not ${accept ? 'accept' : 'reject'} the offer: ${describeError(err)}`);
    } finally {
      setOffers((list) => list.filter((x) => x.taskId !== offer.taskId));
      answeringRef.current.delete(offer.taskId);
      setAnswering((s) => {
        const n = new Set(s);
        n.delete(offer.taskId);
        return n;
      });
    }
  }

  const highlighted = useOfferLink({
    loaded: status !== null,
    offers,
    accept: (o) => void answer(o, true),
    gone: () => note('info', 'That offer is no longer available: it was taken by someone else or it expired.'),
  });

  /** Turns a chat into a call (media:start); the customer is invited, this side joins at once. */
  async function startCall(taskId: string, video: boolean) {
    const socket = socketRef.current;
    if (!socket || callBusy.has(taskId)) return;
    const support = callSupport();
    if (!support.ok) {
      note('error', support.reason);
      return;
    }
    autoJoinRef.current.add(taskId);
    setCallBusy((s) => new Set(s).add(taskId));
    try {
      const view = await request(socket, 'media:start', { taskId, video });
      openCall(view);
    } catch (err) {
      autoJoinRef.current.delete(taskId);
      note('error', `Could not start the call: ${describeError(err)}`);
    } finally {
      setCallBusy((s) => {
        const n = new Set(s);
        n.delete(taskId);
        return n;
      });
    }
  }

  const socket = socketRef.current;
  const capacity = status?.capacity ?? 0;
  const ringing = offers.some((o) => o.channel === 'call' || o.channel === 'video');
  useRinger(ringing);

  return (
    <main class="app" data-testid="agent-workspace">
      {props.session.account.role === 'agent' && <VerificationBanner token={props.session.token} refreshKey={profileKey} />}
      {connection === 'offline' && (
        <Notice kind="warn" testId="agent-connection">
          Connection lost — reconnecting…
        </Notice>
      )}
      {connection === 'closed' && (
        <Notice kind="warn" testId="agent-connection">
          The server closed this session (perhaps you signed in elsewhere).{' '}
          <button
            type="button"
            class="linklike"
            onClick={() => {
              setConnection('connecting');
              socketRef.current?.connect();
            }}
          >
            Reconnect
          </button>
        </Notice>
      )}
      <div aria-live="polite">
        {notes.map((n) => (
          <Notice
            key={n.id}
            kind={n.kind}
            testId="agent-notice"
            onDismiss={() => setNotes((all) => all.filter((x) => x.id !== n.id))}
          >
            {n.text}
          </Notice>
        ))}
      </div>

      <div class="workspace">
        <div>
          <section class="card" aria-labelledby="presence-title">
            <h2 id="presence-title">Status</h2>
            <p class="status-line" data-testid="agent-status" data-state={status?.state ?? 'unknown'}>
              <span class={`badge badge--${status?.state ?? 'logged_off'}`}>
                {status ? PRESENCE_LABEL[status.state] : connection === 'online' ? '…' : 'Connecting…'}
              </span>
              {status?.reason && status.state === 'not_ready' && <span class="muted small">({status.reason})</span>}
              {status && (
                <span class="muted small" data-testid="agent-load">
                  Chats: {status.activeTasks} / {capacity}
                </span>
              )}
            </p>
            <div class="row" role="group" aria-label="Set your status">
              <button
                type="button"
                class="ok"
                aria-pressed={status?.state === 'ready'}
                disabled={presenceBusy || !status || connection !== 'online'}
                onClick={() => void setPresence('ready')}
                data-testid="agent-ready"
              >
                Ready
              </button>
              <button
                type="button"
                class="secondary"
                aria-pressed={status?.state === 'not_ready'}
                disabled={presenceBusy || !status || connection !== 'online'}
                onClick={() => void setPresence('not_ready')}
                data-testid="agent-not-ready"
              >
                Not ready
              </button>
              <label class="row small" for="nr-reason" style={{ flex: '1 1 10rem', flexWrap: 'nowrap' }}>
                <span class="muted">Reason</span>
                <select
                  id="nr-reason"
                  value={reason}
                  onChange={(e) => setReason(e.currentTarget.value)}
                  data-testid="agent-not-ready-reason"
                >
                  {NOT_READY_REASONS.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <PushSwitch token={props.session.token} />
          </section>

          <EarningsCard token={props.session.token} refreshKey={earningsKey} />
          <PhoneSetting token={props.session.token} />
          <CannedManager token={props.session.token} />
          {props.session.account.role === 'agent' && (
            <AgentSelfService token={props.session.token} refreshKey={profileKey} onSignedOut={() => props.onAuthLost('You signed out everywhere.')} />
          )}

          {(invites.length > 0 || guestCalls.length > 0) && (
            <section aria-labelledby="guest-title" data-testid="guest-calls">
              <h2 id="guest-title" class="visually-hidden">
                Calls you are invited into
              </h2>
              {invites.map((i) => (
                <article class="card offer offer--call" key={i.taskId} data-testid="invite-card" data-task-id={i.taskId}>
                  <p>
                    <strong>{i.from}</strong> asks you to join a call with <strong>{i.customerName}</strong>.
                  </p>
                  <div class="row">
                    <button
                      type="button"
                      data-testid="invite-join"
                      onClick={() => {
                        const socket = socketRef.current;
                        if (!socket) return;
                        setInvites((list) => list.filter((x) => x.taskId !== i.taskId));
                        setGuestCalls((list) => [...list.filter((x) => x.taskId !== i.taskId), { taskId: i.taskId, customerName: i.customerName }]);
                        void calls.open(i.media, mediaSignal(socket, i.taskId)).join();
                      }}
                    >
                      Join call
                    </button>
                    <button type="button" class="secondary" data-testid="invite-decline" onClick={() => setInvites((list) => list.filter((x) => x.taskId !== i.taskId))}>
                      Decline
                    </button>
                  </div>
                </article>
              ))}
              {guestCalls.map((g) => {
                const session = calls.get(g.taskId);
                return session ? (
                  <div class="card" key={g.taskId} data-testid="guest-call" data-task-id={g.taskId}>
                    <CallPanel session={session} peerName={g.customerName} audience="staff" />
                  </div>
                ) : null;
              })}
            </section>
          )}

          <section class="offers" aria-labelledby="offers-title">
            <h2 id="offers-title" class="visually-hidden">
              Incoming chats
            </h2>
            {offers.map((o) => {
              const left = Math.max(0, Math.ceil((o.expiresAt - now) / 1000));
              const busy = answering.has(o.taskId);
              const channel: TaskChannel = o.channel ?? 'chat';
              const isCall = channel === 'call' || channel === 'video';
              return (
                <article
                  class={`card offer${isCall ? ' offer--call offer--ringing' : ''}${highlighted === o.taskId ? ' offer--highlight' : ''}`}
                  key={o.taskId}
                  data-testid="offer-card"
                  data-task-id={o.taskId}
                  data-channel={channel}
                  data-ringing={isCall ? 'true' : 'false'}
                  aria-label={`${CHANNEL_LABEL[channel]} offer from ${o.customerName}`}
                >
                  <div class="row">
                    <span
                      class={`badge ${channel === 'video' ? 'badge--video' : channel === 'call' ? 'badge--call' : ''}`}
                      data-testid="offer-channel"
                      data-channel={channel}
                    >
                      {CHANNEL_LABEL[channel]}
                    </span>
                    <strong data-testid="offer-customer">{o.customerName}</strong>
                    <span class="badge" data-testid="offer-queue">
                      {o.queue.name}
                    </span>
                    <span class="spacer" />
                    <span class="countdown" data-testid="offer-countdown" aria-label={`${left} seconds left`}>
                      {left}s
                    </span>
                  </div>
                  {o.context && <ContextSummary context={o.context} />}
                  {o.social ? (
                    <SocialSummary post={o.social} />
                  ) : o.firstMessage ? (
                    <blockquote data-testid="offer-first-message">{o.firstMessage}</blockquote>
                  ) : (
                    <p class="muted small" data-testid="offer-first-message">
                      {isCall ? 'Incoming call — answering joins it with your microphone.' : ''}
                    </p>
                  )}
                  {o.callbackNumber && (
                    <p data-testid="offer-callback">
                      Callback requested: <a href={`tel:${o.callbackNumber}`}>{o.callbackNumber}</a>
                    </p>
                  )}
                  <div class="row">
                    <button
                      type="button"
                      class="ok"
                      disabled={busy}
                      onClick={() => void answer(o, true)}
                      data-testid="offer-accept"
                    >
                      {isCall ? 'Answer' : 'Accept'}
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      disabled={busy}
                      onClick={() => void answer(o, false)}
                      data-testid="offer-reject"
                    >
                      Reject
                    </button>
                  </div>
                </article>
              );
            })}
          </section>
        </div>

        <section class="card" aria-labelledby="chats-title">
          <h2 id="chats-title">Chats</h2>
          {tasks.length === 0 ? (
            <p class="muted" data-testid="agent-no-chats">
              No active chats. {status?.state === 'ready' ? 'New chats will appear here.' : 'Set yourself Ready to receive chats.'}
            </p>
          ) : (
            <>
              <div class="tabs" role="tablist" aria-label="Active chats">
                {tasks.map((t) => (
                  <button
                    type="button"
                    role="tab"
                    class="tab"
                    id={`tab-${t.taskId}`}
                    key={t.taskId}
                    aria-selected={selected === t.taskId}
                    aria-controls={`panel-${t.taskId}`}
                    onClick={() => select(t.taskId)}
                    data-testid="task-tab"
                    data-task-id={t.taskId}
                  >
                    {t.customerName}
                    {calls.get(t.taskId) && (calls.get(t.taskId)!.held ? ' · on hold' : ' · on call')}
                    {t.status === 'wrapup' && ' · wrap-up'}
                    {t.unread > 0 && <span class="dot" aria-label={`${t.unread} unread`} />}
                  </button>
                ))}
              </div>
              {tasks.map((t) => (
                <ChatPanel
                  key={t.taskId}
                  task={t}
                  hidden={selected !== t.taskId}
                  socket={socket}
                  call={calls.get(t.taskId)}
                  token={props.session.token}
                  agentId={props.session.account.id}
                  agentName={props.session.account.displayName}
                  callBusy={callBusy.has(t.taskId)}
                  onStartCall={(video) => void startCall(t.taskId, video)}
                  onUpdate={(patch) => patchTask(t.taskId, (x) => ({ ...x, ...patch }))}
                  onMessages={(ms) => patchTask(t.taskId, (x) => ({ ...x, messages: mergeMessages(x.messages, ms) }))}
                  onDone={() => removeTask(t.taskId)}
                />
              ))}
            </>
          )}
        </section>
      </div>
    </main>
  );
}

function ChatPanel(props: {
  task: TaskState;
  token: string;
  agentId: string;
  agentName: string;
  hidden: boolean;
  socket: AgentSocket | null;
  call: CallSession | null;
  callBusy: boolean;
  onStartCall: (video: boolean) => void;
  onUpdate: (patch: Partial<TaskState>) => void;
  onMessages: (ms: AgentTaskView['messages']) => void;
  onDone: () => void;
}) {
  const t = props.task;
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [ending, setEnding] = useState(false);
  const [code, setCode] = useState('');
  const [notes, setNotes] = useState('');
  const [saving, setSaving] = useState(false);
  const [transferQueues, setTransferQueues] = useState<Array<{ id: string; name: string }> | null>(null);
  const [colleagues, setColleagues] = useState<Array<{ id: string; displayName: string; state: string }>>([]);
  /** "queue:<id>" or "agent:<id>". */
  const [transferTo, setTransferTo] = useState('');
  const [warm, setWarm] = useState(false);
  const [transferring, setTransferring] = useState(false);
  const pendingRef = useRef<{ id: string; text: string } | null>(null);
  const p = `panel-${t.taskId}`;

  async function openTransfer() {
    setError(null);
    try {
      const [queues, agents] = await Promise.all([
        api<Array<{ id: string; name: string }>>('GET', '/api/queues'),
        api<{ agents: Array<{ id: string; displayName: string; state: string }> }>('GET', '/api/staff/agents', undefined, props.token).catch(() => ({ agents: [] })),
      ]);
      setTransferQueues(queues);
      setColleagues(agents.agents.filter((a) => a.id !== props.agentId));
      const q = queues.find((x) => x.id !== t.queue.id) ?? queues[0];
      setTransferTo(q ? `queue:${q.id}` : '');
    } catch (err) {
      setError(`Could not load the queues: ${describeError(err)}`);
    }
  }

  /** Cold transfer: the customer waits for an agent of that queue; a call stays up for them meanwhile. */
  async function transfer(e: Event) {
    e.preventDefault();
    if (!props.socket || !transferTo) return;
    setTransferring(true);
    setError(null);
    try {
      const [kind, id] = transferTo.split(':') as ['queue' | 'agent', string];
      await request(props.socket, 'task:transfer', {
        taskId: t.taskId,
        ...(kind === 'queue' ? { queueId: id } : { agentId: id }),
        ...(warm && props.call ? { warm: true } : {}),
      });
      // Warm: stay on the line until the next agent joins (the server ends our call then).
      if (!(warm && props.call)) props.onDone();
      else setTransferQueues(null);
    } catch (err) {
      setError(`Could not transfer: ${describeError(err)}`);
      setTransferring(false);
    }
  }

  async function send() {
    const text = draft.trim();
    if (!props.socket || !text) return;
    if (!props.socket.connected) {
      setError('You are offline, so the message was not sent. It is still in the box; send it once the connection is back.');
      return;
    }
    if (!pendingRef.current || pendingRef.current.text !== text) pendingRef.current = { id: newClientMsgId(), text };
    setSending(true);
    setError(null);
    try {
      const m = await request(props.socket, 'chat:send', { taskId: t.taskId, text, clientMsgId: pendingRef.current.id });
      pendingRef.current = null;
      props.onMessages([m]);
      setDraft((d) => (d.trim() === text ? '' : d));
    } catch (err) {
      setError(`Message not sent: ${describeError(err)}. It is still in the box; press Send to try again.`);
    } finally {
      setSending(false);
    }
  }

  async function end() {
    if (!props.socket) return;
    setEnding(true);
    setError(null);
    try {
      const r = await request(props.socket, 'chat:end', { taskId: t.taskId });
      props.onUpdate({ status: r.status, endedBy: 'agent' });
    } catch (err) {
      setError(`Could not end the chat: ${describeError(err)}`);
    } finally {
      setEnding(false);
    }
  }

  async function wrapUp(e: Event) {
    e.preventDefault();
    if (!props.socket) return;
    setSaving(true);
    setError(null);
    try {
      await request(props.socket, 'wrapup:done', {
        taskId: t.taskId,
        ...(code.trim() ? { code: code.trim() } : {}),
        ...(notes.trim() ? { notes: notes.trim() } : {}),
      });
      props.onDone();
    } catch (err) {
      setError(`Could not save the wrap-up: ${describeError(err)}`);
      setSaving(false);
    }
  }

  return (
    <div
      role="tabpanel"
      id={p}
      aria-labelledby={`tab-${t.taskId}`}
      hidden={props.hidden}
      class="chat"
      data-testid="chat-pane"
      data-task-id={t.taskId}
      data-status={t.status}
    >
      <div class="status-line">
        <strong>{t.customerName}</strong>
        {t.callbackNumber && (
          <a href={`tel:${t.callbackNumber}`} data-testid="task-callback">
            Call back {t.callbackNumber}
          </a>
        )}
        <span class="badge">{t.queue.name}</span>
        {t.channel && t.channel !== 'chat' && (
          <span class={`badge ${t.channel === 'video' ? 'badge--video' : t.channel === 'social' ? '' : 'badge--call'}`} data-testid="chat-channel">
            {CHANNEL_LABEL[t.channel]}
          </span>
        )}
        <span class="muted small" data-testid="chat-status">
          {t.status === 'assigned'
            ? 'In conversation'
            : t.status === 'wrapup'
              ? t.endedBy === 'customer'
                ? 'Customer left — wrap-up'
                : 'Ended — wrap-up'
              : t.status}
        </span>
      </div>
      {props.call && t.status === 'assigned' && (
        <CallPanel
          session={props.call}
          peerName={t.customerName}
          audience="staff"
          canShareScreen
          // A customer turning a chat into a call rings; a call task is joined on answer (or rejoined after a reload).
          ring={!t.channel || t.channel === 'chat'}
        />
      )}
      <ContextPanel taskId={t.taskId} token={props.token} visible={!props.hidden} />
      {t.social && (
        <SocialPanel
          taskId={t.taskId}
          post={t.social}
          socket={props.socket}
          active={t.status === 'assigned'}
          onHandled={(social, status) => props.onUpdate({ social, status: status as TaskState['status'], endedBy: 'agent' })}
        />
      )}
      <MessageList
        messages={t.messages}
        own="agent"
        testId="chat-messages"
        label={`Messages with ${t.customerName}`}
        visible={!props.hidden}
      />
      {error && (
        <Notice kind="error" testId="chat-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      {t.status === 'assigned' && (
        <>
          {/* A social post is answered at its source (the panel above), not in a chat. */}
          {t.channel !== 'social' && (
            <CannedComposer
              id={`${p}-draft`}
              label={`Reply to ${t.customerName}`}
              value={draft}
              onInput={setDraft}
              onSend={() => void send()}
              busy={sending}
              token={props.token}
              queueId={t.queue.id}
              fill={{ customerName: t.customerName, agentName: props.agentName, queueName: t.queue.name }}
              inputTestId="chat-input"
              sendTestId="chat-send"
            />
          )}
          <div class="row" style={{ marginTop: '0.5rem' }}>
            {!props.call && t.channel !== 'social' && (
              <StartCallButtons
                busy={props.callBusy}
                disabled={!props.socket?.connected}
                onStart={props.onStartCall}
                note={props.callBusy ? 'Starting the call…' : undefined}
              />
            )}
            <span class="spacer" />
            <button type="button" class="secondary" onClick={() => void openTransfer()} data-testid="task-transfer-open">
              Transfer or add…
            </button>
            <button type="button" class="danger" disabled={ending} onClick={() => void end()} data-testid="chat-end">
              {ending ? 'Ending…' : 'End chat'}
            </button>
          </div>
        </>
      )}
      {t.status === 'assigned' && transferQueues && (
        <form class="card row" style={{ marginTop: '0.5rem' }} onSubmit={transfer} data-testid="task-transfer-form">
          <label for={`${p}-transfer`}>Transfer to</label>
          <select id={`${p}-transfer`} value={transferTo} onChange={(e) => setTransferTo((e.target as HTMLSelectElement).value)} data-testid="task-transfer-target">
            <optgroup label="Queues">
              {transferQueues.map((q) => (
                <option key={q.id} value={`queue:${q.id}`}>
                  {q.name}
                </option>
              ))}
            </optgroup>
            {colleagues.length > 0 && (
              <optgroup label="Agents">
                {colleagues.map((a) => (
                  <option key={a.id} value={`agent:${a.id}`}>
                    {a.displayName} ({a.state.replace('_', ' ')})
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          {props.call && (
            <label>
              <input type="checkbox" checked={warm} onChange={(e) => setWarm((e.target as HTMLInputElement).checked)} data-testid="task-transfer-warm" /> stay on
              the line until they answer
            </label>
          )}
          {props.call && transferTo.startsWith('agent:') && (
            <button
              type="button"
              class="secondary"
              data-testid="call-invite"
              onClick={() => {
                if (!props.socket) return;
                request(props.socket, 'media:invite', { taskId: t.taskId, agentId: transferTo.slice('agent:'.length) }).then(
                  () => setTransferQueues(null),
                  (err: unknown) => setError(`Could not invite: ${describeError(err)}`),
                );
              }}
            >
              Add to call
            </button>
          )}
          <button type="submit" disabled={transferring || !transferTo} data-testid="task-transfer-submit">
            {transferring ? 'Transferring…' : 'Transfer'}
          </button>
          <button type="button" class="secondary" onClick={() => setTransferQueues(null)}>
            Cancel
          </button>
        </form>
      )}
      {t.status === 'wrapup' && (
        <form class="card" style={{ marginTop: '0.75rem' }} onSubmit={wrapUp} data-testid="wrapup-form">
          <h3>Wrap-up</h3>
          <InputField id={`${p}-code`} label="Outcome code" hint="(optional)" maxLength={40} list="wrapup-codes" value={code} onValue={setCode} testId="wrapup-code" />
          <datalist id="wrapup-codes">
            <option value="resolved" />
            <option value="follow-up" />
            <option value="escalated" />
            <option value="no-response" />
          </datalist>
          <TextAreaField id={`${p}-notes`} label="Notes" hint="(optional)" maxLength={2000} value={notes} onValue={setNotes} testId="wrapup-notes" />
          <button type="submit" disabled={saving} data-testid="wrapup-done">
            {saving ? 'Saving…' : 'Done'}
          </button>
        </form>
      )}
      {(t.status === 'completed' || t.status === 'abandoned') && (
        <div class="row" style={{ marginTop: '0.75rem' }}>
          <span class="muted">This chat is closed.</span>
          <button type="button" class="secondary" onClick={props.onDone} data-testid="chat-close">
            Close
          </button>
        </div>
      )}
    </div>
  );
}
