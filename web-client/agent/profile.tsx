// The agent's own side: the verification banner, the profile and policies (skills, languages, bio,
// weekly hours, channels, concurrent chats, do not disturb) and verification documents.
import { useEffect, useState } from 'preact/hooks';
import type { AgentDocumentView, AgentProfileBody, AgentProfileView } from '../../protocol/http.js';
import { api, describeError } from '../shared/api';
import { Notice } from '../shared/ui';
import { formatSkillList, parseLanguageList, parseSkillList } from './signup';
import { SecurityCard } from './security';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const CHANNELS: Array<{ id: 'chat' | 'call' | 'video' | 'phone'; label: string }> = [
  { id: 'chat', label: 'Chat' },
  { id: 'call', label: 'Audio calls' },
  { id: 'video', label: 'Video calls' },
  { id: 'phone', label: 'Calls to phones' },
];
const BANNER: Record<string, { kind: 'warn' | 'error'; text: string } | undefined> = {
  pending: { kind: 'warn', text: 'Your account is awaiting verification. You can complete your profile and upload documents meanwhile; you can go Ready once an administrator has verified you.' },
  rejected: { kind: 'error', text: 'Your verification was rejected. Upload clearer documents and contact support.' },
  suspended: { kind: 'error', text: 'Your account is suspended.' },
};

/**
 * Loads the profile, and again whenever `refreshKey` changes: the workspace bumps it when the server
 * says an administrator decided on the agent's verification (account:updated) and on every reconnect
 * (a decision made while the connection was down), so no polling is needed.
 */
export function useAgentProfile(token: string, refreshKey = 0): [AgentProfileView | null, (p: AgentProfileView) => void] {
  const [profile, setProfile] = useState<AgentProfileView | null>(null);
  useEffect(() => {
    let stop = false;
    api<AgentProfileView>('GET', '/api/agent/profile', undefined, token)
      .then((p) => {
        if (!stop) setProfile(p);
      })
      .catch(() => undefined);
    return () => {
      stop = true;
    };
  }, [token, refreshKey]);
  return [profile, setProfile];
}

/** The verification state, shown at the top of the workspace until the agent is verified. */
export function VerificationBanner(props: { token: string; refreshKey?: number }) {
  const [profile] = useAgentProfile(props.token, props.refreshKey);
  const banner = profile ? BANNER[profile.verification] : undefined;
  if (!banner) return null;
  return (
    <Notice kind={banner.kind} testId="agent-verification-banner">
      {banner.text}
    </Notice>
  );
}

/** Profile, documents and security, folded away below the workspace. */
export function AgentSelfService(props: { token: string; refreshKey?: number; onSignedOut: () => void }) {
  const [profile, setProfile] = useAgentProfile(props.token, props.refreshKey);
  if (!profile) return null;
  return (
    <>
      <ProfileCard token={props.token} profile={profile} onSaved={setProfile} />
      <DocumentsCard token={props.token} />
      <SecurityCard token={props.token} totpEnabled={profile.totpEnabled} onSignedOut={props.onSignedOut} />
    </>
  );
}

function ProfileCard(props: { token: string; profile: AgentProfileView; onSaved: (p: AgentProfileView) => void }) {
  const p = props.profile;
  const [skills, setSkills] = useState(formatSkillList(p.skills));
  const [languages, setLanguages] = useState(p.languages.join(', '));
  const [bio, setBio] = useState(p.bio);
  const [timeZone, setTimeZone] = useState(p.timeZone);
  const [hours, setHours] = useState(p.availability);
  const [channels, setChannels] = useState(p.channels);
  const [chats, setChats] = useState(p.concurrentChats);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  async function save(body: AgentProfileBody, done: string) {
    try {
      const saved = await api<AgentProfileView>('PUT', '/api/agent/profile', body, props.token);
      props.onSaved(saved);
      setMessage({ kind: 'ok', text: done });
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  }
  const submit = (e: Event) => {
    e.preventDefault();
    void save(
      { skills: parseSkillList(skills), languages: parseLanguageList(languages), bio, timeZone: timeZone.trim(), availability: hours, channels, concurrentChats: chats },
      'Profile saved. Channel changes apply when you next connect.',
    );
  };
  const dnd = (ms: number | null) => void save({ dndUntil: ms === null ? null : Date.now() + ms }, ms === null ? 'Do not disturb is off.' : 'Do not disturb is on.');

  return (
    <details class="card" data-testid="agent-profile">
      <summary>
        <h2 style={{ display: 'inline' }}>My profile and hours</h2>
      </summary>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <div class="row" role="group" aria-label="Do not disturb">
        {p.dndUntil ? (
          <>
            <span class="small">Do not disturb until {new Date(p.dndUntil).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</span>
            <button type="button" class="secondary" onClick={() => dnd(null)} data-testid="agent-dnd-off">
              Turn off
            </button>
          </>
        ) : (
          <>
            <span class="small">Do not disturb:</span>
            <button type="button" class="secondary" onClick={() => dnd(3_600_000)} data-testid="agent-dnd-1h">
              1 hour
            </button>
            <button type="button" class="secondary" onClick={() => dnd(4 * 3_600_000)}>
              4 hours
            </button>
          </>
        )}
      </div>
      <form onSubmit={submit}>
        <div class="field">
          <label for="pf-skills">Skills (level 1–10)</label>
          <input id="pf-skills" value={skills} onInput={(e) => setSkills(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="pf-languages">Languages</label>
          <input id="pf-languages" value={languages} onInput={(e) => setLanguages(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="pf-bio">About you</label>
          <textarea id="pf-bio" rows={3} maxLength={1000} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="pf-tz">Time zone</label>
          <input id="pf-tz" value={timeZone} onInput={(e) => setTimeZone(e.currentTarget.value)} />
        </div>
        <fieldset class="field">
          <legend>Channels I take</legend>
          {CHANNELS.map((c) => (
            <label class="row small" key={c.id}>
              <input
                type="checkbox"
                checked={channels.includes(c.id)}
                onChange={(e) => setChannels((all) => (e.currentTarget.checked ? [...all, c.id] : all.filter((x) => x !== c.id)))}
              />
              <span>{c.label}</span>
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="pf-chats">Chats at once (1–10)</label>
          <input id="pf-chats" type="number" min={1} max={10} value={chats} onInput={(e) => setChats(Number(e.currentTarget.value) || 1)} />
        </div>
        <fieldset class="field">
          <legend>Weekly hours (empty: any time)</legend>
          {hours.map((h, i) => (
            <div class="row small" key={i}>
              <label>
                <span class="visually-hidden">Day</span>
                <select value={h.day} onChange={(e) => setHours((all) => all.map((x, j) => (j === i ? { ...x, day: Number(e.currentTarget.value) } : x)))}>
                  {DAYS.map((d, n) => (
                    <option key={d} value={n}>
                      {d}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                <span class="visually-hidden">From</span>
                <input type="time" value={h.from} onInput={(e) => setHours((all) => all.map((x, j) => (j === i ? { ...x, from: e.currentTarget.value } : x)))} />
              </label>
              <label>
                <span class="visually-hidden">To</span>
                <input type="time" value={h.to === '24:00' ? '23:59' : h.to} onInput={(e) => setHours((all) => all.map((x, j) => (j === i ? { ...x, to: e.currentTarget.value } : x)))} />
              </label>
              <button type="button" class="secondary" onClick={() => setHours((all) => all.filter((_, j) => j !== i))}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" class="secondary" onClick={() => setHours((all) => [...all, { day: 0, from: '09:00', to: '17:00' }])}>
            Add hours
          </button>
        </fieldset>
        <button type="submit" data-testid="agent-profile-save">
          Save profile
        </button>
      </form>
    </details>
  );
}

const readBase64 = (file: File) =>
  new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('cannot read the file'));
    reader.readAsDataURL(file);
  });

function DocumentsCard(props: { token: string }) {
  const [documents, setDocuments] = useState<AgentDocumentView[]>([]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<AgentDocumentView[]>('GET', '/api/agent/documents', undefined, props.token).then(setDocuments, () => undefined);
  }, [props.token]);

  async function upload(file: File | undefined) {
    if (!file) return;
    if (!['application/pdf', 'image/png', 'image/jpeg'].includes(file.type)) return setMessage({ kind: 'error', text: 'Choose a PDF, PNG or JPEG file.' });
    if (file.size > 5 * 1024 * 1024) return setMessage({ kind: 'error', text: 'The file is over 5 MB.' });
    setBusy(true);
    try {
      const doc = await api<AgentDocumentView>('POST', '/api/agent/documents', { filename: file.name, mimeType: file.type, contentBase64: await readBase64(file) }, props.token);
      setDocuments((all) => [...all, doc]);
      setMessage({ kind: 'ok', text: `${doc.filename} uploaded.` });
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="card" data-testid="agent-documents">
      <summary>
        <h2 style={{ display: 'inline' }}>Verification documents ({documents.length})</h2>
      </summary>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <ul>
        {documents.map((d) => (
          <li key={d.id} class="small">
            {d.filename} ({Math.ceil(d.sizeBytes / 1024)} KB)
          </li>
        ))}
      </ul>
      <label for="doc-file">Add an ID or diploma (PDF, PNG or JPEG, up to 5 MB)</label>
      <input id="doc-file" type="file" accept="application/pdf,image/png,image/jpeg" disabled={busy} onChange={(e) => void upload(e.currentTarget.files?.[0])} data-testid="agent-document-file" />
    </details>
  );
}
