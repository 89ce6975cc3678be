// Agents who signed up themselves: pending ones first, their documents, trust signals and the
// verification decisions (approve, reject, suspend, reinstate), each with a reason.
import { useEffect, useState } from 'preact/hooks';
import type { AdminAgentView, AgentDocumentView, AgentTrustView } from '../../protocol/http.js';
import { api } from '../shared/api';

const ACTIONS: Record<string, Array<{ action: 'approve' | 'reject' | 'suspend' | 'reinstate'; label: string; cls: string }>> = {
  pending: [
    { action: 'approve', label: 'Approve', cls: 'ok' },
    { action: 'reject', label: 'Reject', cls: 'secondary' },
    { action: 'suspend', label: 'Suspend', cls: 'secondary' },
  ],
  rejected: [{ action: 'approve', label: 'Approve', cls: 'ok' }],
  verified: [{ action: 'suspend', label: 'Suspend', cls: 'secondary' }],
  suspended: [{ action: 'reinstate', label: 'Reinstate', cls: 'ok' }],
};

export function AgentsSection(props: { token: string; onError: (err: unknown, what: string) => void; refreshKey?: number }) {
  const [agents, setAgents] = useState<AdminAgentView[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  async function load() {
    try {
      setAgents(await api<AdminAgentView[]>('GET', '/api/admin/agents', undefined, props.token));
    } catch (err) {
      props.onError(err, 'Could not load the agents');
    }
  }
  useEffect(() => {
    void load();
  }, [props.token, props.refreshKey]);

  const pending = agents?.filter((a) => a.verification === 'pending').length ?? 0;
  return (
    <section class="card" aria-labelledby="agents-title" data-testid="admin-agents">
      <h2 id="agents-title">
        Agents {pending > 0 && <span class="badge badge--busy" data-testid="admin-agents-pending">{pending} awaiting verification</span>}
      </h2>
      {agents === null ? (
        <p class="muted">Loading…</p>
      ) : agents.length === 0 ? (
        <p class="muted">No agents yet.</p>
      ) : (
        <ul style={{ listStyle: 'none', padding: 0 }}>
          {agents.map((a) => (
            <li key={a.id} data-testid="admin-agent-row" data-agent-id={a.id} data-verification={a.verification}>
              <div class="row">
                <strong>{a.displayName}</strong>
                <span class="muted small">{a.email}</span>
                <span class={`badge badge--${a.verification === 'verified' ? 'ready' : a.verification === 'pending' ? 'busy' : 'not_ready'}`}>{a.verification}</span>
                <span class="spacer" />
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={open === a.id}
                  onClick={() => setOpen(open === a.id ? null : a.id)}
                  data-testid="admin-agent-open"
                >
                  {open === a.id ? 'Close' : 'Review'}
                </button>
              </div>
              {open === a.id && <AgentReview token={props.token} agent={a} onDecided={() => void load()} onError={props.onError} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AgentReview(props: { token: string; agent: AdminAgentView; onDecided: () => void; onError: (err: unknown, what: string) => void }) {
  const a = props.agent;
  const [trust, setTrust] = useState<AgentTrustView | null>(null);
  const [documents, setDocuments] = useState<AgentDocumentView[]>([]);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<AgentTrustView>('GET', `/api/admin/agents/${a.id}/trust`, undefined, props.token).then(setTrust, (err) => props.onError(err, 'Could not load trust signals'));
    api<AgentDocumentView[]>('GET', `/api/admin/agents/${a.id}/documents`, undefined, props.token).then(setDocuments, () => undefined);
  }, [a.id, a.verification]);

  async function open(doc: AgentDocumentView) {
    try {
      const res = await fetch(`/api/admin/agents/${a.id}/documents/${doc.id}`, { headers: { authorization: `Bearer ${props.token}` } });
      if (!res.ok) throw new Error(`download failed (${res.status})`);
      const url = URL.createObjectURL(await res.blob());
      window.open(url, '_blank', 'noopener');
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      props.onError(err, 'Could not open the document');
    }
  }

  async function decide(action: string) {
    if (!reason.trim()) return props.onError(new Error('give a reason'), 'A decision needs a reason');
    setBusy(true);
    try {
      await api('POST', `/api/admin/agents/${a.id}/verification`, { action, reason: reason.trim() }, props.token);
      setReason('');
      props.onDecided();
    } catch (err) {
      props.onError(err, `Could not ${action}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="card card--inset" data-testid="admin-agent-review">
      <p class="small">
        Legal name: <strong data-testid="admin-agent-legal-name">{a.legalName ?? '—'}</strong> · Time zone: {a.timeZone}
      </p>
      <p class="small">Skills: {a.skills.map((s) => `${s.skill} ${s.level}/10`).join(', ') || '—'} · Languages: {a.languages.join(', ') || '—'}</p>
      {a.bio && <p class="small">{a.bio}</p>}
      {trust && (
        <dl class="small row" data-testid="admin-agent-trust">
          <dt>Rating</dt>
          <dd>{trust.rating === null ? 'not rated' : `${trust.rating} (${trust.ratings})`}</dd>
          <dt>Completed sessions</dt>
          <dd>{trust.completedSessions}</dd>
          <dt>Disputes</dt>
          <dd>{trust.disputes}</dd>
          <dt>Last decision</dt>
          <dd>{trust.lastDecision ? `${trust.lastDecision.action}: ${trust.lastDecision.reason}` : 'none'}</dd>
        </dl>
      )}
      <p class="small">Documents:</p>
      <ul class="small">
        {documents.length === 0 && <li class="muted">none uploaded</li>}
        {documents.map((d) => (
          <li key={d.id}>
            <button type="button" class="linklike" onClick={() => void open(d)}>
              {d.filename}
            </button>{' '}
            ({d.mimeType}, {Math.ceil(d.sizeBytes / 1024)} KB)
          </li>
        ))}
      </ul>
      <div class="field">
        <label for={`reason-${a.id}`}>Reason (kept in the audit trail)</label>
        <input id={`reason-${a.id}`} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="admin-agent-reason" />
      </div>
      <div class="row">
        {(ACTIONS[a.verification] ?? []).map((x) => (
          <button key={x.action} type="button" class={x.cls} disabled={busy} onClick={() => void decide(x.action)} data-testid={`admin-agent-${x.action}`}>
            {x.label}
          </button>
        ))}
      </div>
    </div>
  );
}
