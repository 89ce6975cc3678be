// The wallboard for supervisors and admins: per queue the figures a floor watches (waiting, longest
// wait, service level, average speed of answer, abandon rate, agents by state) and two small charts
// drawn here as SVG, no chart library: waiting over the last 30 minutes (the server's history when
// the board opens, then sampled from the live stream) and service level per quarter hour over the last hour (past quarters from the queue
// metrics API, the current one live). Queue alerts (maximum wait passed) appear on the board. Every
// figure is text; every chart has a text alternative. `#wallboard` shows the board alone (a TV).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type { QueueMetricsSnapshot, QueueMetricsView, SupervisorClientToServer, SupervisorServerToClient } from '../../protocol/events.js';
import type { QueueView, WaitingHistoryView } from '../../protocol/http.js';
import { api, describeError } from '../shared/api';
import { connect, isAuthError } from '../shared/socket';
import { Notice } from '../shared/ui';
import './wallboard.css';

type SupervisorSocket = Socket<SupervisorServerToClient, SupervisorClientToServer>;
type QueueAlert = Parameters<SupervisorServerToClient['queue:alert']>[0];

/** How far back the waiting chart looks, and how often it takes a sample. */
const WAITING_WINDOW_MS = 30 * 60_000; // as the server's history (routing/waiting-history.ts)
const SAMPLE_EVERY_MS = 15_000;
/** Service level per quarter hour (the metrics' interval), the last four. */
const QUARTER_MS = 15 * 60_000;
const QUARTERS = 4;
const MAX_ALERTS = 20;
/** Bars under this service level are drawn in the warning colour (the usual 80/20 goal). */
const SL_TARGET = 0.8;
/** A queue with an alert this recent is marked on the board. */
const ALERT_MARK_MS = 5 * 60_000;

interface Sample {
  at: number;
  waiting: number;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 60) return `${secs} s`;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m}:${String(s).padStart(2, '0')}`;
}

export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? '—' : `${Math.round(ratio * 100)} %`;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function Wallboard(props: { token: string; onAuthLost: (message: string) => void; fullScreen?: boolean }) {
  const [snapshot, setSnapshot] = useState<QueueMetricsSnapshot | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [alerts, setAlerts] = useState<QueueAlert[]>([]);
  const [connection, setConnection] = useState<'connecting' | 'online' | 'offline'>('connecting');
  const [error, setError] = useState<string | null>(null);
  /** Waiting samples per queue, oldest first. */
  const samples = useRef(new Map<string, Sample[]>());
  /** Past quarters' service level per queue: quarter start → ratio (null: nobody left the queue). */
  const [quarters, setQuarters] = useState<Record<string, Record<number, number | null>>>({});
  const fetched = useRef(new Set<string>());

  useEffect(() => {
    const socket: SupervisorSocket = connect<SupervisorServerToClient, SupervisorClientToServer>('/supervisor', props.token);
    socket.on('connect', () => setConnection('online'));
    socket.on('disconnect', () => setConnection('offline'));
    socket.on('connect_error', (err) => {
      if (isAuthError(err)) {
        socket.disconnect();
        if (err.message === 'FORBIDDEN') setError('The wallboard needs a supervisor or administrator account.');
        else props.onAuthLost('Your session has ended. Please sign in again.');
      } else setConnection('offline');
    });
    socket.on('queues:metrics', (s) => {
      for (const q of s.queues) {
        const list = samples.current.get(q.queueId) ?? [];
        const last = list[list.length - 1];
        if (!last || s.at - last.at >= SAMPLE_EVERY_MS) list.push({ at: s.at, waiting: q.live.waiting });
        else last.waiting = Math.max(last.waiting, q.live.waiting); // a peak between samples is kept
        while (list.length && s.at - list[0]!.at > WAITING_WINDOW_MS) list.shift();
        samples.current.set(q.queueId, list);
      }
      setSnapshot(s);
    });
    socket.on('queue:alert', (a) => setAlerts((list) => [a, ...list].slice(0, MAX_ALERTS)));
    // The half hour before the board opened, from the server; samples seen live since stay as they are.
    void api<WaitingHistoryView>('GET', '/api/supervisor/queues/waiting-history', undefined, props.token)
      .then((history) => {
        for (const [queueId, past] of Object.entries(history.queues)) {
          const live = samples.current.get(queueId) ?? [];
          const firstLive = live[0]?.at ?? Infinity;
          samples.current.set(queueId, [...past.filter((s) => s.at < firstLive), ...live]);
        }
        setSnapshot((s) => (s ? { ...s } : s)); // draw them now
      })
      .catch(() => undefined); // the chart then starts empty and fills from the stream
    void api<QueueView[]>('GET', '/api/queues', undefined, props.token)
      .then((list) => setNames(Object.fromEntries(list.map((q) => [q.id, q.name]))))
      .catch(() => undefined); // ids stand in for names
    return () => {
      socket.disconnect();
    };
  }, [props.token]);

  // Past quarters come from the metrics API once each (they no longer change).
  useEffect(() => {
    if (!snapshot) return;
    const current = Math.floor(snapshot.at / QUARTER_MS) * QUARTER_MS;
    for (const q of snapshot.queues) {
      for (let i = 1; i < QUARTERS; i++) {
        const from = current - i * QUARTER_MS;
        const key = `${q.queueId}@${from}`;
        if (fetched.current.has(key)) continue;
        fetched.current.add(key);
        void api<QueueMetricsView>('GET', `/api/supervisor/queues/${encodeURIComponent(q.queueId)}/metrics?from=${from}&to=${from + QUARTER_MS}`, undefined, props.token)
          .then((v) => setQuarters((all) => ({ ...all, [q.queueId]: { ...all[q.queueId], [from]: v.interval.serviceLevel } })))
          .catch((err: unknown) => {
            fetched.current.delete(key);
            setError(`Could not load earlier service levels: ${describeError(err)}`);
          });
      }
    }
  }, [snapshot ? Math.floor(snapshot.at / QUARTER_MS) : 0, snapshot?.queues.length ?? 0]);

  const now = snapshot?.at ?? Date.now();
  const current = Math.floor(now / QUARTER_MS) * QUARTER_MS;
  const recentAlert = (queueId: string) => alerts.find((a) => a.queueId === queueId && now - a.at < ALERT_MARK_MS);

  return (
    <section class={`card wallboard${props.fullScreen ? ' wallboard--full' : ''}`} aria-labelledby="wallboard-title" data-testid="wallboard">
      <div class="row">
        <h2 id="wallboard-title">Wallboard</h2>
        <span class="spacer" />
        {connection !== 'online' && (
          <span class="badge badge--wrapup" role="status" data-testid="wallboard-connection">
            {connection === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </span>
        )}
        {snapshot && (
          <span class="muted small" data-testid="wallboard-updated">
            Updated {clock(snapshot.at)}
          </span>
        )}
        {props.fullScreen ? (
          <a href="#" class="button secondary" data-testid="wallboard-exit">
            Back to the console
          </a>
        ) : (
          <a href="#wallboard" class="button secondary" data-testid="wallboard-open-full">
            Full screen
          </a>
        )}
      </div>
      {error && (
        <Notice kind="error" testId="wallboard-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      <div class="wallboard__alerts" role="log" aria-live="assertive" aria-label="Queue alerts" data-testid="wallboard-alerts">
        {alerts.slice(0, 5).map((a) => (
          <p key={`${a.taskId}-${a.at}`} class="notice notice--warn" data-testid="wallboard-alert" data-queue-id={a.queueId}>
            <strong>{clock(a.at)}</strong> {names[a.queueId] ?? a.queueId}: a customer waited {formatDuration(a.waitedMs)}
            {a.action === 'overflow' ? ` and was moved to ${names[a.toQueueId ?? ''] ?? a.toQueueId ?? 'another queue'}` : ' and is now served first'}.
          </p>
        ))}
      </div>
      {!snapshot ? (
        <p class="muted">Loading…</p>
      ) : snapshot.queues.length === 0 ? (
        <p class="muted">No queues yet.</p>
      ) : (
        <div class="wallboard__queues">
          {snapshot.queues.map((q) => (
            <QueueTile
              key={q.queueId}
              view={q}
              name={names[q.queueId] ?? q.queueId}
              samples={samples.current.get(q.queueId) ?? []}
              quarters={Array.from({ length: QUARTERS }, (_, i) => {
                const from = current - (QUARTERS - 1 - i) * QUARTER_MS;
                return { from, serviceLevel: i === QUARTERS - 1 ? q.interval.serviceLevel : (quarters[q.queueId]?.[from] ?? null), loaded: i === QUARTERS - 1 || quarters[q.queueId]?.[from] !== undefined };
              })}
              alerted={Boolean(recentAlert(q.queueId))}
              now={now}
            />
          ))}
        </div>
      )}
    </section>
  );
}

function QueueTile(props: {
  view: QueueMetricsView;
  name: string;
  samples: Sample[];
  quarters: Array<{ from: number; serviceLevel: number | null; loaded: boolean }>;
  alerted: boolean;
  now: number;
}) {
  const { live, interval } = props.view;
  const id = `wb-${props.view.queueId}`;
  const thresholdS = Math.round(interval.serviceLevelThresholdMs / 1000);
  const agents = live.agents;
  const figures: Array<[string, string, string]> = [
    ['waiting', 'Waiting', String(live.waiting)],
    ['longest', 'Longest wait', formatDuration(live.longestWaitMs)],
    ['sl', `Service level (${thresholdS} s)`, formatPercent(interval.serviceLevel)],
    ['asa', 'Average speed of answer', formatDuration(interval.asaMs)],
    ['abandon', 'Abandoned', formatPercent(interval.abandonRate)],
  ];
  const states: Array<[Exclude<keyof typeof agents, 'byPush'>, string]> = [
    ['ready', 'Ready'],
    ['busy', 'Busy'],
    ['wrapup', 'Wrap-up'],
    ['notReady', 'Not ready'],
    ['loggedOff', 'Logged off'],
  ];
  return (
    <section
      class={`wallboard__queue${props.alerted ? ' wallboard__queue--alert' : ''}${live.waitingOverThreshold > 0 ? ' wallboard__queue--late' : ''}`}
      aria-labelledby={`${id}-name`}
      data-testid="wallboard-queue"
      data-queue-id={props.view.queueId}
    >
      <h3 id={`${id}-name`}>
        {props.name}
        {props.alerted && <span class="badge badge--busy"> alert</span>}
      </h3>
      <dl class="wallboard__figures">
        {figures.map(([key, label, value]) => (
          <div key={key} class={`wallboard__figure wallboard__figure--${key}`}>
            <dt>{label}</dt>
            <dd data-testid={`wallboard-${key}`}>{value}</dd>
          </div>
        ))}
      </dl>
      <p class="muted small">Since {clock(interval.from)} (this quarter hour); answered {interval.answered}, abandoned {interval.abandoned}.</p>
      <h4 class="visually-hidden">Agents by state</h4>
      <ul class="wallboard__agents" aria-label="Agents by state" data-testid="wallboard-agents">
        {states.map(([key, label]) => (
          <li key={key} class={`wallboard__agent wallboard__agent--${key}`} data-testid={`wallboard-agents-${key}`} data-count={agents[key]}>
            <span class="wallboard__agent-count">{agents[key]}</span> {label}
            {/* Of the ready, those whose app is closed: offers reach them by push, slower to answer. */}
            {key === 'ready' && agents.byPush > 0 && (
              <span
                class="wallboard__agent-by-push"
                title="App closed: offers reach them by push, so they take longer to answer"
                data-testid="wallboard-agents-by-push"
                data-count={agents.byPush}
              >
                {' '}
                ({agents.byPush} by push)
              </span>
            )}
          </li>
        ))}
      </ul>
      <div class="wallboard__charts">
        <WaitingChart id={`${id}-waiting`} samples={props.samples} now={props.now} waitingNow={live.waiting} />
        <ServiceLevelChart id={`${id}-sl`} quarters={props.quarters} thresholdS={thresholdS} />
      </div>
    </section>
  );
}

const CHART_W = 240;
const CHART_H = 60;

/**
 * Waiting over the last 30 minutes as a step line; its text alternative gives now, peak and the span.
 * A sample holds the peak of its 15 s, so the level now is the live figure, not the last sample's.
 */
export function WaitingChart(props: { id: string; samples: Sample[]; now: number; waitingNow: number }) {
  const from = props.now - WAITING_WINDOW_MS;
  const peak = props.samples.reduce((m, s) => Math.max(m, s.waiting), props.waitingNow);
  const top = Math.max(peak, 4);
  const x = (at: number) => ((at - from) / WAITING_WINDOW_MS) * CHART_W;
  const y = (n: number) => CHART_H - (n / top) * (CHART_H - 4);
  let d = '';
  props.samples.forEach((s, i) => {
    const sx = Math.max(0, x(s.at)).toFixed(1);
    d += i === 0 ? `M${sx},${y(s.waiting).toFixed(1)}` : `H${sx}V${y(s.waiting).toFixed(1)}`;
  });
  const nowWaiting = props.waitingNow;
  if (d) d += `H${Math.max(0, x(props.now)).toFixed(1)}V${y(nowWaiting).toFixed(1)}H${CHART_W}`;
  const minutes = props.samples.length ? Math.max(1, Math.round((props.now - props.samples[0]!.at) / 60_000)) : 0;
  const summary = props.samples.length
    ? `Waiting over the last ${minutes} min: ${nowWaiting} now, at most ${peak}.`
    : 'Waiting over time: no samples yet.';
  return (
    <figure class="wallboard__chart">
      <svg viewBox={`0 0 ${CHART_W} ${CHART_H}`} width={CHART_W} height={CHART_H} role="img" aria-labelledby={`${props.id}-title`} data-testid="wallboard-waiting-chart">
        <title id={`${props.id}-title`}>{summary}</title>
        <line x1="0" y1={CHART_H - 0.5} x2={CHART_W} y2={CHART_H - 0.5} class="wallboard__axis" />
        {d && <path d={d} class="wallboard__line" />}
        {props.samples.length > 0 && <circle cx={Math.min(CHART_W - 3, Math.max(3, x(props.now)))} cy={y(nowWaiting)} r="3" class="wallboard__dot" />}
      </svg>
      <figcaption class="small muted">Waiting, last 30 min (peak {peak})</figcaption>
    </figure>
  );
}

/** Service level per quarter hour as bars, the current quarter last; its text alternative lists them. */
export function ServiceLevelChart(props: { id: string; quarters: Array<{ from: number; serviceLevel: number | null; loaded: boolean }>; thresholdS: number }) {
  const gap = 6;
  const w = (CHART_W - gap * (props.quarters.length - 1)) / props.quarters.length;
  const summary = `Service level (answered or left within ${props.thresholdS} s) per quarter hour: ${props.quarters
    .map((q) => `${clock(q.from)} ${q.loaded ? formatPercent(q.serviceLevel) : 'loading'}`)
    .join(', ')}.`;
  return (
    <figure class="wallboard__chart">
      <svg viewBox={`0 0 ${CHART_W} ${CHART_H + 14}`} width={CHART_W} height={CHART_H + 14} role="img" aria-labelledby={`${props.id}-title`} data-testid="wallboard-sl-chart">
        <title id={`${props.id}-title`}>{summary}</title>
        {props.quarters.map((q, i) => {
          const h = q.serviceLevel === null ? 0 : Math.max(1, q.serviceLevel * (CHART_H - 2));
          const x = i * (w + gap);
          return (
            <g key={q.from}>
              <rect x={x} y={0} width={w} height={CHART_H} class="wallboard__bar-bg" />
              {q.serviceLevel !== null && <rect x={x} y={CHART_H - h} width={w} height={h} class={`wallboard__bar${q.serviceLevel < SL_TARGET ? ' wallboard__bar--low' : ''}`} />}
              <text x={x + w / 2} y={CHART_H + 12} text-anchor="middle" class="wallboard__tick">
                {q.serviceLevel === null ? '—' : formatPercent(q.serviceLevel)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption class="small muted">Service level per quarter hour, last hour</figcaption>
    </figure>
  );
}
