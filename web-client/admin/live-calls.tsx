// Live calls for supervisors (and admins): the calls going on now (and which the agent has on hold),
// and per call Listen / Whisper / Barge / Leave over the /supervisor namespace. One call is monitored
// at a time.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type {
  ActiveCall,
  IceServer,
  MonitorMode,
  SupervisorClientToServer,
  SupervisorServerToClient,
} from '../../protocol/events.js';
import { api, describeError } from '../shared/api';
import { createMonitorSession, monitorSignal, type MonitorSession } from '../shared/call';
import { RemoteAudio, useSession } from '../shared/call-ui';
import { connect, isAuthError, request } from '../shared/socket';
import { Notice } from '../shared/ui';

type SupervisorSocket = Socket<SupervisorServerToClient, SupervisorClientToServer>;

const POLL_MS = 5_000;
const MODE_LABEL: Record<MonitorMode, string> = { listen: 'Listening', whisper: 'Whispering to the agent', barge: 'In the call (barge)' };

/**
 * ICE servers for the supervisor's first leg: GET /api/media/ice-servers (staff). Without that endpoint
 * the first leg starts with none (host candidates only); monitor:join's reply supplies them for the rest.
 */
async function fetchIceServers(token: string): Promise<IceServer[]> {
  try {
    const reply = await api<{ iceServers: IceServer[] }>('GET', '/api/media/ice-servers', undefined, token);
    return Array.isArray(reply?.iceServers) ? reply.iceServers : [];
  } catch (err) {
    console.info('No ICE servers from /api/media/ice-servers; monitoring starts without STUN/TURN.', err);
    return [];
  }
}

function since(ms: number, now: number): string {
  const secs = Math.max(0, Math.floor((now - ms) / 1000));
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
}

export function LiveCalls(props: { token: string; onAuthLost: (message: string) => void }) {
  const socketRef = useRef<SupervisorSocket | null>(null);
  const iceRef = useRef<Promise<IceServer[]> | null>(null);
  const monitorRef = useRef<MonitorSession | null>(null);
  const [monitor, setMonitorState] = useState<MonitorSession | null>(null);
  const [calls, setCalls] = useState<ActiveCall[] | null>(null);
  const [connection, setConnection] = useState<'connecting' | 'online' | 'offline'>('connecting');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  /**
   * Since when each held call is on hold (epoch ms), as media:hold says; the server sends it for the
   * call this supervisor monitors, and calls:list only says whether a call is held.
   */
  const [heldSince, setHeldSince] = useState<Record<string, number>>({});
  useSession(monitor);

  function setMonitor(m: MonitorSession | null) {
    monitorRef.current = m;
    setMonitorState(m);
  }

  async function refresh() {
    const socket = socketRef.current;
    if (!socket?.connected) return;
    try {
      const list = await request(socket, 'calls:list', {});
      setCalls(list);
      setHeldSince((known) => Object.fromEntries(Object.entries(known).filter(([taskId]) => list.some((c) => c.taskId === taskId && c.held))));
      setError(null);
    } catch (err) {
      setError(`Could not load the calls: ${describeError(err)}`);
    }
  }

  useEffect(() => {
    iceRef.current = fetchIceServers(props.token);
    const socket = connect<SupervisorServerToClient, SupervisorClientToServer>('/supervisor', props.token);
    socketRef.current = socket;
    socket.on('connect', () => {
      setConnection('online');
      void refresh();
    });
    socket.on('disconnect', () => setConnection('offline'));
    socket.on('connect_error', (err) => {
      if (isAuthError(err)) {
        socket.disconnect();
        if (err.message === 'FORBIDDEN') setError('Live calls need a supervisor or administrator account.');
        else props.onAuthLost('Your session has ended. Please sign in again.');
      } else setConnection('offline');
    });
    socket.on('media:ended', (e) => {
      const m = monitorRef.current;
      if (m && m.taskId === e.taskId) {
        m.close(e.reason);
        setNotice('The call you were monitoring has ended.');
      }
      setCalls((list) => list?.filter((c) => c.taskId !== e.taskId) ?? null);
    });
    // The agent of a monitored call put it on hold or took it back: the row says so at once.
    socket.on('media:hold', (e) => {
      setCalls((list) => list?.map((c) => (c.taskId === e.taskId ? { ...c, held: e.held } : c)) ?? null);
      setHeldSince(({ [e.taskId]: _old, ...rest }) => (e.held && e.heldSince !== null ? { ...rest, [e.taskId]: e.heldSince } : rest));
    });
    const poll = window.setInterval(() => void refresh(), POLL_MS);
    const clock = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => {
      window.clearInterval(poll);
      window.clearInterval(clock);
      monitorRef.current?.close('left');
      socket.disconnect();
      socketRef.current = null;
    };
  }, [props.token]);

  /** The session for this call, leaving the one of another call first. */
  async function sessionFor(taskId: string): Promise<MonitorSession | null> {
    const socket = socketRef.current;
    if (!socket) return null;
    const current = monitorRef.current;
    if (current && !current.closed && current.taskId === taskId) return current;
    if (current && !current.closed) await current.leave();
    const iceServers = (await iceRef.current) ?? [];
    const m = createMonitorSession({ taskId, iceServers, signal: monitorSignal(socket, taskId) });
    m.on('warning', (text) => setNotice(text));
    m.on('close', () => {
      if (monitorRef.current === m) setMonitor(null);
      void refresh();
    });
    setMonitor(m);
    return m;
  }

  async function listen(taskId: string) {
    setNotice(null);
    const m = await sessionFor(taskId);
    if (!m) return;
    if (m.state === 'active') await m.setMode('listen');
    else await m.listen();
  }

  async function setMode(taskId: string, mode: MonitorMode) {
    setNotice(null);
    const m = await sessionFor(taskId);
    if (m) await m.setMode(mode); // joins (listen) first when needed
  }

  async function leave(taskId: string) {
    const m = monitorRef.current;
    if (m && m.taskId === taskId) await m.leave();
    else {
      // Monitored from an earlier page: the server still has this supervisor in the call.
      const socket = socketRef.current;
      if (!socket) return;
      try {
        await request(socket, 'monitor:leave', { taskId });
      } catch (err) {
        setNotice(`Could not leave: ${describeError(err)}`);
      }
      void refresh();
    }
  }

  const active = monitor && !monitor.closed ? monitor : null;
  const monitoredCall = active && calls?.find((c) => c.taskId === active.taskId);

  return (
    <section class="card" aria-labelledby="calls-title" data-testid="supervisor-calls">
      <div class="row">
        <h2 id="calls-title">Live calls</h2>
        <span class="spacer" />
        {connection !== 'online' && (
          <span class="badge badge--wrapup" role="status" data-testid="supervisor-connection">
            {connection === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </span>
        )}
        <button type="button" class="secondary" onClick={() => void refresh()} data-testid="calls-refresh">
          Refresh
        </button>
      </div>
      {error && (
        <Notice kind="error" testId="supervisor-calls-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      {notice && (
        <Notice kind="info" testId="monitor-notice" onDismiss={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <p
        class="status-line"
        role="status"
        aria-live="polite"
        data-testid="monitor-status"
        data-task-id={active?.taskId ?? ''}
        data-state={active?.state ?? 'idle'}
        data-mode={active?.state === 'active' ? active.mode : ''}
      >
        {!active
          ? 'Not monitoring a call.'
          : active.state === 'joining'
            ? 'Joining the call…'
            : active.state === 'failed'
              ? `Could not join the call: ${active.error ?? 'unknown error'}`
              : `${MODE_LABEL[active.mode]}${monitoredCall ? ` — ${monitoredCall.customerName} with ${monitoredCall.agentName ?? 'an agent'}` : ''}${
                  monitoredCall?.held ? ' (the agent has the call on hold)' : ''
                }${
                  active.connection === 'connected' ? '' : active.connection === 'failed' ? ' (connection failed)' : ' (connecting…)'
                }`}
      </p>
      {active?.state === 'active' && <RemoteAudio stream={active.remoteAudio} testId="monitor-remote-audio" label="Monitored call audio" />}

      {calls === null && <p class="muted">Loading…</p>}
      {calls?.length === 0 && (
        <p class="muted" data-testid="supervisor-no-calls">
          No calls right now.
        </p>
      )}
      <ul class="live-calls" data-testid="supervisor-calls-list">
        {calls?.map((c) => {
          const mine = active?.taskId === c.taskId ? active : null;
          const mode: MonitorMode | null = mine ? (mine.state === 'active' ? mine.mode : null) : (c.monitorMode ?? null);
          const busy = Boolean(mine && (mine.busy || mine.state === 'joining'));
          const modeButton = (m: MonitorMode, label: string) => (
            <button
              type="button"
              class={`secondary${mode === m ? ' is-on' : ''}`}
              aria-pressed={mode === m}
              disabled={busy}
              onClick={() => void (m === 'listen' ? listen(c.taskId) : setMode(c.taskId, m))}
              data-testid={`monitor-${m}-${c.taskId}`}
            >
              {label}
            </button>
          );
          return (
            <li
              key={c.taskId}
              class="live-call"
              data-testid="supervisor-call-row"
              data-task-id={c.taskId}
              data-mode={mode ?? ''}
              data-held={c.held ? 'true' : 'false'}
              aria-label={`Call of ${c.customerName} with ${c.agentName ?? 'no agent'}`}
            >
              <div class="row">
                <strong>{c.customerName}</strong>
                <span class="muted small">with {c.agentName ?? '—'}</span>
                <span class={`badge ${c.video ? 'badge--video' : 'badge--call'}`}>{c.video ? 'Video' : 'Audio'}</span>
                <span class="badge">{c.queueId}</span>
                {c.held && (
                  <span class="badge badge--wrapup" data-testid="supervisor-call-held">
                    On hold
                    {heldSince[c.taskId] !== undefined && (
                      <span class="countdown" aria-label={`On hold for ${since(heldSince[c.taskId]!, now)}`}>
                        {' '}
                        {since(heldSince[c.taskId]!, now)}
                      </span>
                    )}
                  </span>
                )}
                <span class="spacer" />
                <span class="countdown" aria-label={`Call time ${since(c.startedAt, now)}`}>
                  {since(c.startedAt, now)}
                </span>
              </div>
              <div class="row live-call__actions" role="group" aria-label={`Monitor the call of ${c.customerName}`}>
                {modeButton('listen', 'Listen')}
                {modeButton('whisper', 'Whisper')}
                {modeButton('barge', 'Barge')}
                <button
                  type="button"
                  class="danger"
                  disabled={busy || (!mine && !c.monitorMode)}
                  onClick={() => void leave(c.taskId)}
                  data-testid={`monitor-leave-${c.taskId}`}
                >
                  Leave
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

