// A social task in the agent's workspace: the post (where, who, how many follow them, how negative,
// which terms matched), a reply to record as posted at the source, and the outcome that closes it and
// goes back to the Manager. The summary also shows in the offer.
import { useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type { AgentClientToServer, AgentServerToClient, SocialOutcome, SocialPostView } from '../../protocol/events.js';
import { describeError } from '../shared/api';
import { request } from '../shared/socket';
import { Notice } from '../shared/ui';

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

const OUTCOMES: Array<{ value: SocialOutcome; label: string }> = [
  { value: 'replied', label: 'Replied' },
  { value: 'escalated', label: 'Escalated' },
  { value: 'ignored', label: 'No answer needed' },
  { value: 'spam', label: 'Spam' },
];

function tone(comparative: number): string {
  if (comparative <= -0.5) return 'very negative';
  if (comparative < 0) return 'negative';
  if (comparative === 0) return 'neutral';
  return 'positive';
}

/** Who wrote it, where and when, how it reads: for the offer card and the task. */
export function SocialSummary(props: { post: SocialPostView }) {
  const p = props.post;
  const who = p.author.name ?? p.author.handle ?? 'Unknown author';
  return (
    <div class="social-post" data-testid="social-post">
      <p class="small" style={{ margin: '0 0 0.25rem' }}>
        <strong>{who}</strong>
        {p.author.handle && p.author.name ? <span class="muted"> {p.author.handle}</span> : null}
        {p.author.reach !== undefined && <span class="muted"> · {p.author.reach.toLocaleString()} followers</span>}
        <span class="muted">
          {' '}
          · {p.sourceName} · {new Date(p.publishedAt).toLocaleString()}
        </span>
      </p>
      {p.title && <p style={{ margin: '0 0 0.25rem' }}>{p.title}</p>}
      <blockquote data-testid="social-text">{p.text}</blockquote>
      <p class="small muted" style={{ margin: '0.25rem 0' }}>
        Tone: <span data-testid="social-tone">{tone(p.sentiment.comparative)}</span>
        {p.matchedTerms.length > 0 && <> · matched: {p.matchedTerms.join(', ')}</>}
        {p.language && <> · language: {p.language}</>}
        {p.url && (
          <>
            {' '}
            ·{' '}
            <a href={p.url} target="_blank" rel="noopener noreferrer" data-testid="social-link">
              open the post
            </a>
          </>
        )}
      </p>
    </div>
  );
}

/** Reply and outcome, while the task is in progress. */
export function SocialPanel(props: { taskId: string; post: SocialPostView; socket: AgentSocket | null; active: boolean; onHandled: (post: SocialPostView, status: string) => void }) {
  const [reply, setReply] = useState(props.post.reply ?? '');
  const [recorded, setRecorded] = useState<string | null>(props.post.reply);
  const [outcome, setOutcome] = useState<SocialOutcome>('replied');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reached, setReached] = useState<string | null>(null);
  const id = `social-${props.taskId}`;

  async function reach() {
    if (!props.socket) return;
    setError(null);
    try {
      const r = await request(props.socket, 'social:reach', { taskId: props.taskId });
      setReached(`A callback to ${r.callbackNumber} is waiting in the queue.`);
    } catch (err) {
      setError(`Could not reach the author: ${describeError(err)}`);
    }
  }

  async function record() {
    if (!props.socket || !reply.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const post = await request(props.socket, 'social:reply', { taskId: props.taskId, text: reply.trim() });
      setRecorded(post.reply);
    } catch (err) {
      setError(`Could not record the reply: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  }

  async function handle(e: Event) {
    e.preventDefault();
    if (!props.socket) return;
    setBusy(true);
    setError(null);
    try {
      const text = reply.trim();
      const r = await request(props.socket, 'social:handle', { taskId: props.taskId, outcome, ...(text && text !== recorded ? { reply: text } : {}) });
      props.onHandled(r.social, r.status);
    } catch (err) {
      setError(`Could not mark it handled: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card card--inset" aria-label="Social post" data-testid="social-panel">
      <SocialSummary post={props.post} />
      {error && (
        <Notice kind="error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      {props.active ? (
        <form onSubmit={(e) => void handle(e)}>
          <label for={`${id}-reply`}>Your reply, as posted at the source</label>
          <textarea id={`${id}-reply`} rows={3} maxLength={10_000} value={reply} onInput={(e) => setReply(e.currentTarget.value)} data-testid="social-reply" />
          <div class="row" style={{ marginTop: '0.4rem' }}>
            <button type="button" class="secondary" disabled={busy || !reply.trim()} onClick={() => void record()} data-testid="social-record">
              Record reply
            </button>
            {recorded && <span class="muted small">Recorded.</span>}
            {props.post.reachable && !reached && (
              <button type="button" class="secondary" onClick={() => void reach()} data-testid="social-reach">
                Call the author back
              </button>
            )}
            {reached && <span class="muted small">{reached}</span>}
            <span class="spacer" />
            <label for={`${id}-outcome`} class="small">
              Outcome
            </label>
            <select id={`${id}-outcome`} value={outcome} onChange={(e) => setOutcome(e.currentTarget.value as SocialOutcome)} data-testid="social-outcome">
              {OUTCOMES.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <button type="submit" disabled={busy} data-testid="social-handle">
              Mark handled
            </button>
          </div>
        </form>
      ) : (
        props.post.outcome && (
          <p class="small" data-testid="social-outcome-done">
            Handled: {OUTCOMES.find((o) => o.value === props.post.outcome)?.label ?? props.post.outcome}
          </p>
        )
      )}
    </section>
  );
}
