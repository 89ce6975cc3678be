// Who the customer is: with each offer a one-line summary; with a task, a panel with their profile as
// the queue lets this agent see it (contacts masked, earlier sessions with other agents hidden unless
// shared), notes from colleagues, and a box to add one. Every look is logged on the server.
import { useEffect, useState } from 'preact/hooks';
import type { CustomerContextView, OfferContext } from '../../protocol/context.js';
import { api, describeError } from '../shared/api';
import { formatMoney } from '../shared/money';
import { Notice, formatTime } from '../shared/ui';

export function ContextSummary(props: { context: OfferContext }) {
  const c = props.context;
  const bits = [
    c.flagged ? 'Flagged customer' : null,
    c.returning ? `Returning: ${c.sessions} earlier conversation${c.sessions === 1 ? '' : 's'}` : 'First contact',
    c.previousAgentName ? `last with ${c.previousAgentName}` : null,
    c.language ? `language ${c.language}` : null,
    c.notes ? `${c.notes} note${c.notes === 1 ? '' : 's'}` : null,
    c.paid.length ? `paid ${c.paid.map((p) => formatMoney(p.amountMinor, p.currency)).join(', ')}` : null,
    c.tags.length ? c.tags.join(', ') : null,
  ].filter(Boolean);
  return (
    <p class={`small ${c.flagged ? '' : 'muted'}`} data-testid="offer-context" style={{ margin: '0.25rem 0' }}>
      {bits.join(' · ')}
    </p>
  );
}

export function ContextPanel(props: { taskId: string; token: string; visible: boolean }) {
  const [view, setView] = useState<CustomerContextView | null>(null);
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!open || !props.visible) return;
    api<CustomerContextView>('GET', `/api/tasks/${props.taskId}/context`, undefined, props.token)
      .then((v) => {
        setView(v);
        setError(null);
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [open, props.visible, props.taskId, tick]);

  async function addNote(e: Event) {
    e.preventDefault();
    if (!note.trim()) return;
    try {
      await api('POST', `/api/tasks/${props.taskId}/notes`, { body: note.trim() }, props.token);
      setNote('');
      setTick((t) => t + 1);
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <details class="card card--inset" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)} data-testid="context-panel">
      <summary>Customer context</summary>
      {error && <Notice kind="error">{error}</Notice>}
      {open && !view && !error && <p class="muted small">Loading…</p>}
      {view && (
        <div class="small">
          <p>
            <strong>{view.customer.displayName ?? 'Customer'}</strong>
            {view.customer.flagged && <span class="badge"> flagged</span>}
            {view.customer.tags.map((t) => (
              <span class="badge" key={t} data-testid="context-tag">
                {t}
              </span>
            ))}
            <span class="muted"> · since {new Date(view.customer.since).toLocaleDateString()}</span>
          </p>
          {view.customer.language && <p data-testid="context-language">Language: {view.customer.language}</p>}
          {view.customer.identities.length > 0 && (
            <p data-testid="context-identities">
              {view.customer.identities.map((i) => `${i.kind}: ${i.value}${i.verified ? '' : ' (unverified)'}`).join(' · ')}
            </p>
          )}
          <h4>Conversations</h4>
          <ul data-testid="context-sessions">
            {view.sessions.map((s) => (
              <li key={s.taskId} data-testid="context-session" data-task-id={s.taskId}>
                {new Date(s.enqueuedAt).toLocaleDateString()} {formatTime(s.enqueuedAt)} · {s.channel} · {s.queueName}
                {s.agentName ? ` · ${s.agentName}` : ''} · {s.status}
                {s.rating ? ` · ${'★'.repeat(s.rating)}` : ''}
              </li>
            ))}
          </ul>
          {view.hiddenSessions > 0 && <p class="muted" data-testid="context-hidden">{view.hiddenSessions} earlier conversation(s) with other agents are not shown to you.</p>}
          <h4>Notes</h4>
          {view.notes.length === 0 && <p class="muted">No notes yet.</p>}
          <ul data-testid="context-notes">
            {view.notes.map((n) => (
              <li key={n.id} data-testid="context-note">
                {n.body} <span class="muted">— {n.authorName}, {new Date(n.createdAt).toLocaleDateString()}</span>
              </li>
            ))}
          </ul>
          <form class="row" onSubmit={(e) => void addNote(e)}>
            <label for={`note-${props.taskId}`} class="visually-hidden">
              Add a note about this customer
            </label>
            <input
              id={`note-${props.taskId}`}
              value={note}
              maxLength={4000}
              placeholder="Add a note for colleagues"
              onInput={(e) => setNote(e.currentTarget.value)}
              data-testid="context-note-input"
            />
            <button type="submit" class="secondary" disabled={!note.trim()} data-testid="context-note-save">
              Save note
            </button>
          </form>
        </div>
      )}
    </details>
  );
}
