// Admin console: sign in (with the forced change of the one-time password), then the wallboard and live
// calls (monitoring: listen, whisper, barge) for supervisors and admins, and queues, accounts and SIP
// trunks for admins. `#wallboard` shows the wallboard alone.
import { useEffect, useState } from 'preact/hooks';
import type { AccountView, CreateAccountBody, CreateQueueBody, QueueView } from '../../protocol/http.js';
import { ApiError, api, describeError } from '../shared/api';
import { ChangePasswordForm, LoginForm, loadStaffSession, saveStaffSession, type StaffSession } from '../shared/auth';
import { Field, FormNotices, InputField, ItemTable, Notice } from '../shared/ui';
import { LiveCalls } from './live-calls';
import { ChargingSection } from './charging';
import { ManagerSection } from './manager';
import { AgentsSection } from './agents';
import { Wallboard } from './wallboard';
import { TrunksSection } from './trunks';
import { CannedSection } from './canned';
import { formatSkills, parseLanguages, parseSkills } from './skills';

const SESSION_KEY = 'mccs.admin';

/** The page's hash, kept current: `#wallboard` shows the wallboard alone (a TV on the floor). */
function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

export function AdminApp() {
  const [session, setSession] = useState<StaffSession | null>(() => {
    const s = loadStaffSession(SESSION_KEY);
    return s && !s.account.mustChangePassword ? s : null;
  });
  const [pending, setPending] = useState<{ reply: StaffSession; password: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const hash = useHash();

  function signedIn(reply: StaffSession) {
    setPending(null);
    if (reply.account.role !== 'admin' && reply.account.role !== 'supervisor') {
      setNotice('This account is not an administrator or supervisor.');
      return;
    }
    saveStaffSession(SESSION_KEY, reply);
    setSession(reply);
  }

  function signOut(message: string | null) {
    saveStaffSession(SESSION_KEY, null);
    setSession(null);
    setNotice(message);
  }

  if (session && hash === '#wallboard') {
    return (
      <main data-testid="wallboard-page">
        <Wallboard token={session.token} onAuthLost={signOut} fullScreen />
      </main>
    );
  }

  return (
    <>
      <header class="topbar">
        <h1>{session?.account.role === 'supervisor' ? 'Supervision' : 'Administration'}</h1>
        {session && (
          <div class="row">
            <span class="muted small" data-testid="admin-name">
              {session.account.displayName}
            </span>
            <button type="button" class="secondary" onClick={() => signOut(null)} data-testid="admin-logout">
              Sign out
            </button>
          </div>
        )}
      </header>
      {session ? (
        <Console session={session} onAuthLost={signOut} />
      ) : pending ? (
        <main class="app app--narrow">
          <ChangePasswordForm
            email={pending.reply.account.email}
            token={pending.reply.token}
            currentPassword={pending.password}
            testPrefix="admin"
            onChanged={signedIn}
            onCancel={() => setPending(null)}
          />
        </main>
      ) : (
        <main class="app app--narrow">
          <LoginForm
            title="Administrator and supervisor sign-in"
            testPrefix="admin"
            notice={notice}
            onLoggedIn={(reply, password) => {
              setNotice(null);
              if (reply.account.mustChangePassword) setPending({ reply, password });
              else signedIn(reply);
            }}
          />
        </main>
      )}
    </>
  );
}

function Console(props: { session: StaffSession; onAuthLost: (message: string) => void }) {
  if (props.session.account.role !== 'admin') {
    return (
      <main class="app" data-testid="supervisor-console">
        <Wallboard token={props.session.token} onAuthLost={props.onAuthLost} />
        <LiveCalls token={props.session.token} onAuthLost={props.onAuthLost} />
      </main>
    );
  }
  return <AdminConsole session={props.session} onAuthLost={props.onAuthLost} />;
}

function AdminConsole(props: { session: StaffSession; onAuthLost: (message: string) => void }) {
  const token = props.session.token;
  const [queues, setQueues] = useState<QueueView[] | null>(null);
  const [accounts, setAccounts] = useState<AccountView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Bumped by Refresh, so the charging section (rate plans, revenue) reloads too. */
  const [chargingKey, setChargingKey] = useState(0);

  function failed(err: unknown, what: string) {
    if (err instanceof ApiError && err.status === 401) {
      props.onAuthLost('Your session has ended. Please sign in again.');
      return;
    }
    setError(`${what}: ${describeError(err)}`);
  }

  async function refresh() {
    setError(null);
    setChargingKey((k) => k + 1);
    try {
      const [q, a] = await Promise.all([
        api<QueueView[]>('GET', '/api/admin/queues', undefined, token),
        api<AccountView[]>('GET', '/api/admin/accounts', undefined, token),
      ]);
      setQueues(q);
      setAccounts(a);
    } catch (err) {
      failed(err, 'Could not load the lists');
    }
  }

  useEffect(() => {
    void refresh();
  }, [token]);

  return (
    <main class="app" data-testid="admin-console">
      {error && (
        <Notice kind="error" testId="admin-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      <div class="row" style={{ marginBottom: '0.5rem' }}>
        <span class="spacer" />
        <button type="button" class="secondary" onClick={() => void refresh()} data-testid="admin-refresh">
          Refresh
        </button>
      </div>
      <Wallboard token={token} onAuthLost={props.onAuthLost} />
      <LiveCalls token={token} onAuthLost={props.onAuthLost} />
      <QueuesSection
        token={token}
        queues={queues}
        onCreated={(q) => setQueues((list) => [...(list ?? []).filter((x) => x.id !== q.id), q])}
        onError={failed}
      />
      <AgentsSection token={token} onError={failed} refreshKey={chargingKey} />
      <AccountsSection
        token={token}
        accounts={accounts}
        onCreated={(a) => setAccounts((list) => [...(list ?? []).filter((x) => x.id !== a.id), a])}
        onError={failed}
      />
      <ChargingSection token={token} queues={queues} onError={failed} refreshKey={chargingKey} />
      <ManagerSection token={token} queues={queues} onError={failed} />
      <TrunksSection token={token} queues={queues} onError={failed} />
      <CannedSection token={token} queues={queues} onError={failed} />
    </main>
  );
}

function QueuesSection(props: {
  token: string;
  queues: QueueView[] | null;
  onCreated: (q: QueueView) => void;
  onError: (err: unknown, what: string) => void;
}) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [skill, setSkill] = useState('');
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setBusy(true);
    setFormError(null);
    setDone(null);
    const body: CreateQueueBody = {
      id: id.trim(),
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      ...(skill.trim() ? { requiredSkill: skill.trim().toLowerCase() } : {}),
    };
    try {
      const q = await api<QueueView>('POST', '/api/admin/queues', body, props.token);
      props.onCreated(q);
      setDone(`Queue "${q.name}" created.`);
      setId('');
      setName('');
      setDescription('');
      setSkill('');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) props.onError(err, 'Could not create the queue');
      else setFormError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="queues-title" data-testid="admin-queues">
      <h2 id="queues-title">Queues</h2>
      <ItemTable testId="admin-queues-table" columns={['Id', 'Name', 'Description', 'Required skill', 'Waiting']} placeholder={props.queues === null && 'Loading…'}>
        {props.queues?.map((q) => (
          <tr key={q.id} data-testid="admin-queue-row" data-queue-id={q.id}>
            <td>
              <code>{q.id}</code>
            </td>
            <td>{q.name}</td>
            <td>{q.description}</td>
            <td>{q.requiredSkill ?? '—'}</td>
            <td>{q.waiting}</td>
          </tr>
        ))}
      </ItemTable>

      <form onSubmit={create} style={{ marginTop: '1rem' }} data-testid="admin-queue-form" aria-labelledby="new-queue-title">
        <h3 id="new-queue-title">New queue</h3>
        <FormNotices error={formError} done={done} errorTestId="admin-queue-error" doneTestId="admin-queue-created" />
        <div class="grid-2">
          <InputField id="q-id" label="Id" hint="(lower-case letters, digits, dashes)" required minLength={2} maxLength={40} pattern="[a-z0-9\-]+" value={id} onValue={setId} testId="admin-queue-id" />
          <InputField id="q-name" label="Name" required maxLength={80} value={name} onValue={setName} testId="admin-queue-name" />
          <InputField id="q-desc" label="Description" hint="(optional, shown to customers)" maxLength={300} value={description} onValue={setDescription} testId="admin-queue-description" />
          <InputField id="q-skill" label="Required skill" hint="(optional)" maxLength={40} pattern="[a-zA-Z0-9_\-]+" value={skill} onValue={setSkill} testId="admin-queue-skill" />
        </div>
        <button type="submit" disabled={busy} data-testid="admin-queue-submit">
          {busy ? 'Creating…' : 'Create queue'}
        </button>
      </form>
    </section>
  );
}

function AccountsSection(props: {
  token: string;
  accounts: AccountView[] | null;
  onCreated: (a: AccountView) => void;
  onError: (err: unknown, what: string) => void;
}) {
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<CreateAccountBody['role']>('agent');
  const [password, setPassword] = useState('');
  const [skills, setSkills] = useState('');
  const [languages, setLanguages] = useState('');
  const [capacity, setCapacity] = useState('');
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setFormError(null);
    setDone(null);
    let body: CreateAccountBody;
    try {
      const cap = capacity.trim() ? Number(capacity) : undefined;
      if (cap !== undefined && (!Number.isInteger(cap) || cap < 1 || cap > 20)) {
        throw new Error('Chat capacity must be a whole number from 1 to 20.');
      }
      if (password.length < 10) throw new Error('The password needs at least 10 characters.');
      const skillList = parseSkills(skills);
      const languageList = parseLanguages(languages);
      body = {
        email: email.trim(),
        displayName: displayName.trim(),
        role,
        password,
        ...(skillList.length ? { skills: skillList } : {}),
        ...(languageList.length ? { languages: languageList } : {}),
        ...(cap !== undefined ? { chatCapacity: cap } : {}),
      };
    } catch (err) {
      setFormError(describeError(err));
      return;
    }
    setBusy(true);
    try {
      const a = await api<AccountView>('POST', '/api/admin/accounts', body, props.token);
      props.onCreated(a);
      setDone(`Account for ${a.email} created.`);
      setEmail('');
      setDisplayName('');
      setPassword('');
      setSkills('');
      setLanguages('');
      setCapacity('');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) props.onError(err, 'Could not create the account');
      else setFormError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="accounts-title" data-testid="admin-accounts">
      <h2 id="accounts-title">Accounts</h2>
      <ItemTable testId="admin-accounts-table" columns={['Email', 'Name', 'Role', 'Skills', 'Languages', 'Chats']} placeholder={props.accounts === null && 'Loading…'}>
        {props.accounts?.map((a) => (
          <tr key={a.id} data-testid="admin-account-row" data-account-email={a.email}>
            <td>{a.email}</td>
            <td>{a.displayName}</td>
            <td>{a.role}</td>
            <td>{formatSkills(a.skills) || '—'}</td>
            <td>{a.languages.join(', ') || '—'}</td>
            <td>{a.chatCapacity}</td>
          </tr>
        ))}
      </ItemTable>

      <form onSubmit={create} style={{ marginTop: '1rem' }} data-testid="admin-account-form" aria-labelledby="new-account-title">
        <h3 id="new-account-title">New account</h3>
        <FormNotices error={formError} done={done} errorTestId="admin-account-error" doneTestId="admin-account-created" />
        <div class="grid-2">
          <InputField id="a-email" label="Email" type="email" required maxLength={254} autocomplete="off" value={email} onValue={setEmail} testId="admin-account-email" />
          <InputField id="a-name" label="Display name" required maxLength={80} value={displayName} onValue={setDisplayName} testId="admin-account-name" />
          <Field id="a-role" label="Role">
            <select id="a-role" value={role} onChange={(e) => setRole(e.currentTarget.value as CreateAccountBody['role'])} data-testid="admin-account-role">
              <option value="agent">Agent</option>
              <option value="supervisor">Supervisor</option>
              <option value="admin">Admin</option>
            </select>
          </Field>
          <InputField
            id="a-password"
            label="Password"
            hint="(at least 10 characters)"
            type="password"
            required
            minLength={10}
            maxLength={200}
            autocomplete="new-password"
            value={password}
            onValue={setPassword}
            testId="admin-account-password"
          />
          <InputField id="a-skills" label="Skills" hint="(skill:level, level 1–10, e.g. billing:5, technical:3)" value={skills} onValue={setSkills} testId="admin-account-skills" />
          <InputField id="a-languages" label="Languages" hint="(codes, e.g. en, fr)" value={languages} onValue={setLanguages} testId="admin-account-languages" />
          <InputField
            id="a-capacity"
            label="Chat capacity"
            hint="(simultaneous chats, 1–20; empty for the default)"
            type="number"
            min={1}
            max={20}
            step={1}
            value={capacity}
            onValue={setCapacity}
            testId="admin-account-capacity"
          />
        </div>
        <button type="submit" disabled={busy} data-testid="admin-account-submit">
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
    </section>
  );
}
