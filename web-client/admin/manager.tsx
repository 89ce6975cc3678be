// The Manager for admins: sources of posts (feeds, WebSub, webhooks, streams) with the state Managers
// report, policies that turn matching posts into social tasks, and service tokens for Managers that
// run as their own processes.
import { useEffect, useState } from 'preact/hooks';
import type { PolicyConfig, SourceConfig } from '../../protocol/manager.js';
import type { QueueView } from '../../protocol/http.js';
import { api, describeError } from '../shared/api';
import { ItemTable, Notice } from '../shared/ui';

/** GET /api/admin/social/sources item: secrets are never sent back, only whether they are set. */
interface SourceView {
  config: Omit<SourceConfig, 'streamToken' | 'webhookSecret'> & { hasStreamToken: boolean; hasWebhookSecret: boolean };
  state: 'new' | 'ok' | 'error' | 'backoff';
  reason: string | null;
  lastFetchAt: number | null;
  itemsSeen: number | null;
}
interface ServiceTokenView {
  id: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

const STATE_LABEL: Record<SourceView['state'], string> = { new: 'not fetched yet', ok: 'ok', error: 'error', backoff: 'waiting (asked to)' };

export function ManagerSection(props: { token: string; queues: QueueView[] | null; onError: (err: unknown, what: string) => void }) {
  const [sources, setSources] = useState<SourceView[] | null>(null);
  const [policies, setPolicies] = useState<PolicyConfig[] | null>(null);
  const [tokens, setTokens] = useState<ServiceTokenView[] | null>(null);
  const [tick, setTick] = useState(0);
  const reload = () => setTick((t) => t + 1);

  useEffect(() => {
    api<SourceView[]>('GET', '/api/admin/social/sources', undefined, props.token).then(setSources, (err: unknown) => props.onError(err, 'Could not load the sources'));
    api<PolicyConfig[]>('GET', '/api/admin/social/policies', undefined, props.token).then(setPolicies, (err: unknown) => props.onError(err, 'Could not load the policies'));
    api<ServiceTokenView[]>('GET', '/api/admin/service-tokens', undefined, props.token).then(setTokens, (err: unknown) => props.onError(err, 'Could not load the service tokens'));
  }, [props.token, tick]);

  return (
    <section class="card" aria-labelledby="manager-title" data-testid="admin-manager">
      <h2 id="manager-title">Posts from the web</h2>
      <p class="muted small">
        A Manager reads these sources; posts matching a policy become tasks in the policy's queue. States come from the Manager.{' '}
        <button type="button" class="linklike" onClick={reload}>
          Refresh
        </button>
      </p>
      <h3>Sources</h3>
      <ItemTable testId="admin-sources" columns={['Id', 'Kind', 'Name', 'State', 'Items seen', 'Actions']} placeholder={sources?.length === 0 && 'No sources yet.'}>
        {sources?.map((s) => (
          <tr key={s.config.id} data-testid={`admin-source-${s.config.id}`} data-state={s.state}>
            <td>{s.config.id}</td>
            <td>{s.config.kind}</td>
            <td>
              {s.config.name}
              {s.config.url && <div class="muted small">{s.config.url}</div>}
            </td>
            <td>
              <span class={`badge ${s.state === 'error' ? 'badge--not_ready' : s.state === 'ok' ? 'badge--ready' : ''}`}>{STATE_LABEL[s.state]}</span>
              {s.reason && <div class="small">{s.reason}</div>}
            </td>
            <td>{s.itemsSeen ?? '—'}</td>
            <td>
              <button
                type="button"
                class="linklike"
                onClick={() => void api('DELETE', `/api/admin/social/sources/${encodeURIComponent(s.config.id)}`, undefined, props.token).then(reload, (err: unknown) => props.onError(err, 'Could not remove the source'))}
              >
                Remove
              </button>
            </td>
          </tr>
        ))}
      </ItemTable>
      <SourceForm token={props.token} onSaved={reload} />
      <h3>Policies</h3>
      <ItemTable testId="admin-policies" columns={['Name', 'Query', 'Queue', 'Languages', 'Priority']} placeholder={policies?.length === 0 && 'No policies: no post becomes a task.'}>
        {policies?.map((p) => (
          <tr key={p.id}>
            <td>{p.name}</td>
            <td>
              <code>{p.query}</code>
            </td>
            <td>{p.queueId}</td>
            <td>{p.languages.join(', ') || 'any'}</td>
            <td>{p.basePriority}</td>
          </tr>
        ))}
      </ItemTable>
      <PolicyForm token={props.token} queues={props.queues} onSaved={reload} />
      <h3>Service tokens</h3>
      <ul class="small">
        {tokens?.map((t) => (
          <li key={t.id}>
            {t.name} — {t.revokedAt ? 'revoked' : t.lastUsedAt ? `last used ${new Date(t.lastUsedAt).toLocaleString()}` : 'never used'}
            {!t.revokedAt && (
              <>
                {' '}
                <button
                  type="button"
                  class="linklike"
                  onClick={() => void api('DELETE', `/api/admin/service-tokens/${t.id}`, undefined, props.token).then(reload, (err: unknown) => props.onError(err, 'Could not revoke'))}
                >
                  Revoke
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      <TokenForm token={props.token} onCreated={reload} />
    </section>
  );
}

function SourceForm(props: { token: string; onSaved: () => void }) {
  const [id, setId] = useState('');
  const [kind, setKind] = useState<SourceConfig['kind']>('feed');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [interval, setInterval] = useState('300');
  const [secret, setSecret] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    const body: SourceConfig = {
      id: id.trim(),
      kind,
      name: name.trim(),
      enabled: true,
      ...(url.trim() ? { url: url.trim() } : {}),
      ...(kind === 'feed' ? { intervalSeconds: Number(interval) } : {}),
      ...(kind === 'webhook' && secret ? { webhookSecret: secret } : {}),
      ...(kind === 'stream' && secret ? { streamToken: secret } : {}),
    };
    try {
      await api('PUT', '/api/admin/social/sources', body, props.token);
      setMessage({ kind: 'ok', text: `Source "${body.name}" saved; the Manager picks it up now.` });
      setSecret('');
      props.onSaved();
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  }

  return (
    <form class="grid-form" onSubmit={(e) => void save(e)} data-testid="admin-source-form">
      <label>
        Id
        <input value={id} pattern="[A-Za-z0-9_.:-]+" maxLength={64} onInput={(e) => setId(e.currentTarget.value)} required />
      </label>
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as SourceConfig['kind'])}>
          <option value="feed">RSS / Atom feed</option>
          <option value="websub">WebSub (push) feed</option>
          <option value="webhook">Signed webhook</option>
          <option value="stream">Mastodon-style stream</option>
        </select>
      </label>
      <label>
        Name
        <input value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      {kind !== 'webhook' && (
        <label>
          URL
          <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} required={kind !== 'websub'} />
        </label>
      )}
      {kind === 'feed' && (
        <label>
          Poll every (seconds)
          <input type="number" min={30} max={86400} value={interval} onInput={(e) => setInterval(e.currentTarget.value)} />
        </label>
      )}
      {(kind === 'webhook' || kind === 'stream') && (
        <label>
          {kind === 'webhook' ? 'Webhook secret (16+ characters)' : 'Stream token'}
          <input type="password" autoComplete="off" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        </label>
      )}
      <button type="submit">Save source</button>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
    </form>
  );
}

function PolicyForm(props: { token: string; queues: QueueView[] | null; onSaved: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [queueId, setQueueId] = useState('');
  const [query, setQuery] = useState('');
  const [languages, setLanguages] = useState('');
  const [maxSentiment, setMaxSentiment] = useState('');
  const [priority, setPriority] = useState('10');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    const body: PolicyConfig = {
      id: id.trim(),
      name: name.trim(),
      sourceIds: [],
      queueId,
      query: query.trim(),
      languages: languages
        .split(',')
        .map((l) => l.trim().toLowerCase())
        .filter(Boolean),
      basePriority: Number(priority),
      ...(maxSentiment.trim() ? { maxSentiment: Number(maxSentiment) } : {}),
    };
    try {
      await api('PUT', '/api/admin/social/policies', body, props.token);
      setMessage({ kind: 'ok', text: `Policy "${body.name}" saved.` });
      props.onSaved();
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  }

  return (
    <form class="grid-form" onSubmit={(e) => void save(e)} data-testid="admin-policy-form">
      <label>
        Id
        <input value={id} pattern="[A-Za-z0-9_.:-]+" maxLength={64} onInput={(e) => setId(e.currentTarget.value)} required />
      </label>
      <label>
        Name
        <input value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <label>
        Queue
        <select value={queueId} onChange={(e) => setQueueId(e.currentTarget.value)} required>
          <option value="">Choose…</option>
          {props.queues?.map((q) => (
            <option key={q.id} value={q.id}>
              {q.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Query (AND, OR, NOT, "phrases")
        <input value={query} maxLength={2000} placeholder='battery AND (fire OR "swelled up")' onInput={(e) => setQuery(e.currentTarget.value)} required />
      </label>
      <label>
        Languages (e.g. en, fi; empty: any)
        <input value={languages} onInput={(e) => setLanguages(e.currentTarget.value)} />
      </label>
      <label>
        Only sentiment at or below (e.g. -0.2; empty: any)
        <input type="number" step="0.05" min={-5} max={5} value={maxSentiment} onInput={(e) => setMaxSentiment(e.currentTarget.value)} />
      </label>
      <label>
        Base priority (0–100)
        <input type="number" min={0} max={100} value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!queueId}>
        Save policy
      </button>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
    </form>
  );
}

function TokenForm(props: { token: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    try {
      const r = await api<{ token: string }>('POST', '/api/admin/service-tokens', { name: name.trim() }, props.token);
      setCreated(r.token);
      setName('');
      props.onCreated();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <form class="row" onSubmit={(e) => void create(e)}>
      <label for="svc-name" class="small">
        New token for a Manager process
      </label>
      <input id="svc-name" value={name} maxLength={100} placeholder="name" onInput={(e) => setName(e.currentTarget.value)} required />
      <button type="submit" class="secondary">
        Create
      </button>
      {created && (
        <Notice kind="ok">
          Copy it now, it is not shown again: <code data-testid="admin-service-token">{created}</code>
        </Notice>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </form>
  );
}
