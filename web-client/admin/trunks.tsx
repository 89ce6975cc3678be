// SIP trunks: every trunk with its live state (registration, OPTIONS reachability, calls in progress),
// and a form to add, change and remove the console's trunks (those from MCCS_SIP_TRUNKS_FILE are
// read-only here). The running SIP bridge applies a change at once. Passwords are write-only: the
// form leaves them empty, and an empty password on a change keeps the stored one.
import { useEffect, useState } from 'preact/hooks';
import type { SipTrunkView, SipTrunksReply, SipTrunkSettings } from '../../protocol/sip.js';
import type { QueueView } from '../../protocol/http.js';
import { ApiError, api, describeError } from '../shared/api';
import { Field, FormNotices, InputField, ItemTable, SaveButtons } from '../shared/ui';

const POLL_MS = 5_000;
type Transport = 'udp' | 'tcp' | 'tls';

/** The form's fields, all text (parsed on submit). */
interface TrunkForm {
  id: string;
  allow: string;
  authUser: string;
  authPassword: string;
  authRealm: string;
  targetHost: string;
  targetPort: string;
  transport: Transport;
  registerOn: boolean;
  registrar: string;
  registerUser: string;
  registerPassword: string;
  registerExpires: string;
  keepAliveSeconds: string;
  maxConcurrent: string;
  maxCallsPerSecond: string;
  queueId: string;
  callbacks: boolean;
  rtpRelay: boolean;
}
type TextKey = { [K in keyof TrunkForm]: string extends TrunkForm[K] ? K : never }[keyof TrunkForm];

const EMPTY: TrunkForm = {
  id: '',
  allow: '',
  authUser: '',
  authPassword: '',
  authRealm: '',
  targetHost: '',
  targetPort: '',
  transport: 'udp',
  registerOn: false,
  registrar: '',
  registerUser: '',
  registerPassword: '',
  registerExpires: '',
  keepAliveSeconds: '',
  maxConcurrent: '',
  maxCallsPerSecond: '',
  queueId: 'general',
  callbacks: false,
  rtpRelay: true,
};

/** sip:host:port;transport=x → its parts (what the form edits). */
export function splitHop(uri: string | null): { host: string; port: string; transport: Transport } {
  const m = /^(?:sips?:)?(?:[^@]+@)?([^:;]+)(?::(\d+))?(?:;.*?transport=(udp|tcp|tls))?/i.exec(uri ?? '');
  return { host: m?.[1] ?? '', port: m?.[2] ?? '', transport: (m?.[3]?.toLowerCase() as Transport | undefined) ?? 'udp' };
}

export function joinHop(host: string, port: string, transport: Transport): string {
  return `sip:${host}${port ? `:${port}` : ''}${transport === 'udp' ? '' : `;transport=${transport}`}`;
}

function formOf(t: SipTrunkView): TrunkForm {
  const hop = splitHop(t.target);
  return {
    id: t.id,
    allow: t.allow.join(', '),
    authUser: t.auth?.username ?? '',
    authPassword: '',
    authRealm: t.auth?.realm ?? '',
    targetHost: hop.host,
    targetPort: hop.port,
    transport: hop.transport,
    registerOn: t.register !== null,
    registrar: t.register?.registrar ?? '',
    registerUser: t.register?.username ?? '',
    registerPassword: '',
    registerExpires: t.register?.expires ? String(t.register.expires) : '',
    keepAliveSeconds: t.keepAlive ? String(t.keepAlive.intervalSeconds) : '',
    maxConcurrent: t.maxConcurrent !== null ? String(t.maxConcurrent) : '',
    maxCallsPerSecond: t.maxCallsPerSecond !== null ? String(t.maxCallsPerSecond) : '',
    queueId: t.queueId,
    callbacks: t.callbacks,
    rtpRelay: t.rtpRelay,
  };
}

/** The API body from the form; Error with a readable message when a field is wrong. */
export function settingsOf(f: TrunkForm, editing: boolean): SipTrunkSettings {
  const int = (v: string, what: string, min: number, max: number): number | undefined => {
    if (!v.trim()) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${what} must be a number from ${min} to ${max}.`);
    return n;
  };
  const allow = f.allow.split(/[\s,]+/).filter(Boolean);
  for (const a of allow) {
    if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(a)) throw new Error(`"${a}" is not an IPv4 address or CIDR (e.g. 203.0.113.0/24).`);
  }
  const port = int(f.targetPort, 'The port', 1, 65535);
  if (f.targetPort && !Number.isInteger(port)) throw new Error('The port must be a whole number.');
  const settings: SipTrunkSettings = {
    ...(allow.length ? { allow } : {}),
    ...(f.targetHost.trim() ? { target: joinHop(f.targetHost.trim(), f.targetPort.trim(), f.transport) } : {}),
    rtpRelay: f.rtpRelay,
    queueId: f.queueId,
    callbacks: f.callbacks,
  };
  if (f.authUser.trim()) {
    if (!editing && !f.authPassword) throw new Error('Credentials need a password.');
    settings.auth = { username: f.authUser.trim(), ...(f.authPassword ? { password: f.authPassword } : {}), ...(f.authRealm.trim() ? { realm: f.authRealm.trim() } : {}) };
  }
  if (f.registerOn) {
    if (!f.registrar.trim() || !f.registerUser.trim()) throw new Error('Registration needs a registrar and a username.');
    if (!editing && !f.registerPassword) throw new Error('Registration needs a password.');
    const expires = int(f.registerExpires, 'The registration lifetime', 60, 86_400);
    settings.register = {
      registrar: f.registrar.trim(),
      username: f.registerUser.trim(),
      ...(f.registerPassword ? { password: f.registerPassword } : {}),
      ...(expires !== undefined ? { expires: Math.round(expires) } : {}),
    };
  }
  const keepAlive = int(f.keepAliveSeconds, 'The keep-alive interval', 5, 3600);
  if (keepAlive !== undefined) settings.keepAlive = { intervalSeconds: Math.round(keepAlive) };
  const maxConcurrent = int(f.maxConcurrent, 'Concurrent calls', 1, 100_000);
  if (maxConcurrent !== undefined) settings.maxConcurrent = Math.round(maxConcurrent);
  const cps = int(f.maxCallsPerSecond, 'Calls per second', 0.01, 10_000);
  if (cps !== undefined) settings.maxCallsPerSecond = cps;
  return settings;
}

/**
 * What the form does not show is kept from the trunk being edited (a PUT replaces everything): the
 * menu and its prompt, keep-alive target and failures, registration realm and contact user, and the
 * target as written when the form's host, port and transport still say the same.
 */
export function keepHidden(settings: SipTrunkSettings, original: SipTrunkView): SipTrunkSettings {
  const out: SipTrunkSettings = { ...settings };
  if (original.menu) out.menu = original.menu;
  if (original.menuPrompt) out.menuPrompt = original.menuPrompt;
  if (out.keepAlive && original.keepAlive) {
    out.keepAlive = {
      ...out.keepAlive,
      ...(original.keepAlive.target ? { target: original.keepAlive.target } : {}),
      ...(original.keepAlive.failuresBeforeDown ? { failuresBeforeDown: original.keepAlive.failuresBeforeDown } : {}),
    };
  }
  if (out.register && original.register) {
    out.register = {
      ...out.register,
      ...(original.register.realm ? { realm: original.register.realm } : {}),
      ...(original.register.contactUser ? { contactUser: original.register.contactUser } : {}),
    };
  }
  if (out.target && original.target) {
    const a = splitHop(out.target);
    const b = splitHop(original.target);
    if (a.host === b.host && a.port === b.port && a.transport === b.transport) out.target = original.target;
  }
  return out;
}

function stateText(t: SipTrunkView): string {
  const parts: string[] = [];
  if (t.registration) parts.push(t.registration.state === 'registered' ? 'registered' : `registration ${t.registration.state}${t.registration.reason ? ` (${t.registration.reason})` : ''}`);
  if (t.reachability) parts.push(`OPTIONS ${t.reachability.state === 'up' ? 'up' : t.reachability.state === 'down' ? 'down' : 'not yet known'}`);
  parts.push(`${t.activeCalls} call${t.activeCalls === 1 ? '' : 's'} in progress`);
  return parts.join(' · ');
}

export function TrunksSection(props: { token: string; queues: QueueView[] | null; onError: (err: unknown, what: string) => void }) {
  const [reply, setReply] = useState<SipTrunksReply | null>(null);
  const [form, setForm] = useState<TrunkForm>(EMPTY);
  const [editing, setEditing] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function load() {
    try {
      setReply(await api<SipTrunksReply>('GET', '/api/admin/sip/trunks', undefined, props.token));
    } catch (err) {
      props.onError(err, 'Could not load the SIP trunks');
    }
  }
  useEffect(() => {
    void load();
    const poll = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(poll);
  }, [props.token]);

  const set = <K extends keyof TrunkForm>(key: K, value: TrunkForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  /** A text field's value and change handler. */
  const text = (key: TextKey) => ({ value: form[key], onValue: (v: string) => set(key, v) });
  const keepHint = editing ? '(empty: keep the stored one)' : undefined;

  function edit(t: SipTrunkView) {
    setEditing(t.id);
    setForm(formOf(t));
    setFormError(null);
    setDone(null);
  }

  function reset() {
    setEditing(null);
    setForm(EMPTY);
  }

  async function save(e: Event) {
    e.preventDefault();
    setFormError(null);
    setDone(null);
    let settings: SipTrunkSettings;
    try {
      settings = settingsOf(form, editing !== null);
      const original = editing ? reply?.trunks.find((t) => t.id === editing) : undefined;
      if (original) settings = keepHidden(settings, original);
    } catch (err) {
      setFormError(describeError(err));
      return;
    }
    setBusy(true);
    try {
      if (editing) {
        await api<SipTrunkView>('PUT', `/api/admin/sip/trunks/${encodeURIComponent(editing)}`, settings, props.token);
        setDone(`Trunk ${editing} changed; the SIP bridge uses the new settings now.`);
      } else {
        const t = await api<SipTrunkView>('POST', '/api/admin/sip/trunks', { id: form.id.trim(), ...settings }, props.token);
        setDone(`Trunk ${t.id} added; its calls are accepted now.`);
      }
      reset();
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) props.onError(err, 'Could not save the trunk');
      else setFormError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  async function remove(id: string) {
    if (!window.confirm(`Remove trunk ${id}? New calls from it will be refused; calls in progress go on.`)) return;
    setFormError(null);
    setDone(null);
    try {
      await api('DELETE', `/api/admin/sip/trunks/${encodeURIComponent(id)}`, undefined, props.token);
      setDone(`Trunk ${id} removed.`);
      if (editing === id) reset();
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) props.onError(err, 'Could not remove the trunk');
      else setFormError(describeError(err));
    }
  }

  return (
    <section class="card" aria-labelledby="trunks-title" data-testid="admin-trunks">
      <h2 id="trunks-title">SIP trunks</h2>
      <p class="muted small" data-testid="admin-trunks-bridge">
        {reply === null ? 'Loading…' : reply.enabled ? 'The SIP bridge is running.' : 'The SIP bridge starts when the first trunk is added.'}
      </p>
      <ItemTable
        testId="admin-trunks-table"
        columns={['Trunk', 'Accepts from', 'Queue', 'State', <span class="visually-hidden">Actions</span>]}
        placeholder={reply?.trunks.length === 0 && 'No trunks yet.'}
      >
        {reply?.trunks.map((t) => (
          <tr key={t.id} data-testid="admin-trunk-row" data-trunk-id={t.id} data-source={t.source}>
            <td>
              <code>{t.id}</code> {t.source === 'file' && <span class="badge">from file</span>} {t.callbacks && <span class="badge">callbacks</span>}
            </td>
            <td>
              {[t.allow.length ? t.allow.join(', ') : null, t.auth ? `digest user ${t.auth.username}` : null].filter(Boolean).join('; ') || '—'}
            </td>
            <td>{t.queueId}</td>
            <td data-testid="admin-trunk-state">{stateText(t)}</td>
            <td>
              {t.source === 'console' ? (
                <div class="row">
                  <button type="button" class="secondary" onClick={() => edit(t)} data-testid="admin-trunk-edit" aria-label={`Edit trunk ${t.id}`}>
                    Edit
                  </button>
                  <button type="button" class="danger" onClick={() => void remove(t.id)} data-testid="admin-trunk-remove" aria-label={`Remove trunk ${t.id}`}>
                    Remove
                  </button>
                </div>
              ) : (
                <span class="muted small">change it in MCCS_SIP_TRUNKS_FILE</span>
              )}
            </td>
          </tr>
        ))}
      </ItemTable>

      <form onSubmit={save} style={{ marginTop: '1rem' }} data-testid="admin-trunk-form" aria-labelledby="trunk-form-title">
        <h3 id="trunk-form-title">{editing ? `Edit trunk ${editing}` : 'New trunk'}</h3>
        <FormNotices error={formError} done={done} errorTestId="admin-trunk-error" doneTestId="admin-trunk-saved" />
        <div class="grid-2">
          {!editing && <InputField id="t-id" label="Id" hint="(letters, digits, - and _)" required maxLength={40} pattern="[A-Za-z0-9_\-]+" {...text('id')} testId="admin-trunk-id" />}
          <InputField id="t-allow" label="Allowed sources" hint="(IPv4 addresses or CIDRs, comma-separated)" {...text('allow')} testId="admin-trunk-allow" />
          <Field id="t-queue" label="Queue for its calls">
            <select id="t-queue" value={form.queueId} onChange={(e) => set('queueId', e.currentTarget.value)} data-testid="admin-trunk-queue">
              {(props.queues ?? [{ id: 'general', name: 'general' } as QueueView]).map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name}
                </option>
              ))}
            </select>
          </Field>
          <InputField id="t-auth-user" label="Digest username" hint="(optional: the trunk must authenticate)" autocomplete="off" maxLength={128} {...text('authUser')} testId="admin-trunk-auth-user" />
          <InputField id="t-auth-password" label="Digest password" hint={keepHint} type="password" autocomplete="new-password" maxLength={200} {...text('authPassword')} testId="admin-trunk-auth-password" />
          <InputField id="t-auth-realm" label="Digest realm" hint="(optional)" maxLength={128} {...text('authRealm')} />
          <InputField id="t-host" label="Outbound host" hint="(where our calls go; optional)" maxLength={253} pattern="[A-Za-z0-9.\-]+" {...text('targetHost')} testId="admin-trunk-host" />
          <InputField id="t-port" label="Port" type="number" min={1} max={65535} step={1} {...text('targetPort')} testId="admin-trunk-port" />
          <Field id="t-transport" label="Transport">
            <select id="t-transport" value={form.transport} onChange={(e) => set('transport', e.currentTarget.value as Transport)} data-testid="admin-trunk-transport">
              <option value="udp">UDP</option>
              <option value="tcp">TCP</option>
              <option value="tls">TLS</option>
            </select>
          </Field>
          <InputField id="t-keepalive" label="OPTIONS keep-alive, seconds" hint="(5–3600; empty: none)" type="number" min={5} max={3600} step={1} {...text('keepAliveSeconds')} />
          <InputField id="t-max" label="Concurrent calls" hint="(empty: unlimited)" type="number" min={1} step={1} {...text('maxConcurrent')} testId="admin-trunk-max" />
          <InputField id="t-cps" label="New calls per second" hint="(empty: unlimited)" type="number" min={0.01} step="any" {...text('maxCallsPerSecond')} />
        </div>
        <fieldset>
          <legend>
            <label>
              <input type="checkbox" checked={form.registerOn} onChange={(e) => set('registerOn', e.currentTarget.checked)} data-testid="admin-trunk-register" /> Register at the provider
            </label>
          </legend>
          {form.registerOn && (
            <div class="grid-2">
              <InputField id="t-registrar" label="Registrar" hint="(host:port or SIP URI)" maxLength={300} {...text('registrar')} />
              <InputField id="t-reg-user" label="Username" autocomplete="off" maxLength={128} {...text('registerUser')} />
              <InputField id="t-reg-password" label="Password" hint={keepHint} type="password" autocomplete="new-password" maxLength={200} {...text('registerPassword')} />
              <InputField id="t-reg-expires" label="Lifetime, seconds" hint="(60–86400; default 3600)" type="number" min={60} max={86400} step={1} {...text('registerExpires')} />
            </div>
          )}
        </fieldset>
        <div class="field">
          <label>
            <input type="checkbox" checked={form.callbacks} onChange={(e) => set('callbacks', e.currentTarget.checked)} data-testid="admin-trunk-callbacks" /> Call customers back (and ring agents' phones) through this trunk
          </label>
        </div>
        <div class="field">
          <label>
            <input type="checkbox" checked={form.rtpRelay} onChange={(e) => set('rtpRelay', e.currentTarget.checked)} /> Relay its audio through the bridge (keypad digits, dead-call detection)
          </label>
        </div>
        <SaveButtons busy={busy} editing={editing !== null} addLabel="Add trunk" testId="admin-trunk-submit" onCancel={reset} />
      </form>
    </section>
  );
}
