// Before sign-in: "Become an expert" (sign-up: the account waits for verification), "Forgot your
// password?" (a reset link by mail) and the page a reset link opens (#reset=<token>).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { AgentProfileView, AgentSignupBody, LoginReply } from '../../protocol/http.js';
import { api, describeError } from '../shared/api';
import { login } from '../shared/auth';
import { Notice } from '../shared/ui';

/** "tax:7, vat 5" → skills; levels 1–10, default 5. */
export function parseSkillList(text: string): Array<{ skill: string; level: number }> {
  return text
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean)
    .map((part) => {
      const m = /^([a-z0-9_-]+)\s*[: ]\s*(\d{1,2})$/.exec(part);
      const skill = (m ? m[1]! : part).replace(/[^a-z0-9_-]/g, '-');
      const level = m ? Math.min(10, Math.max(1, Number(m[2]))) : 5;
      return { skill, level };
    });
}
export const formatSkillList = (skills: Array<{ skill: string; level: number }>) => skills.map((s) => `${s.skill}:${s.level}`).join(', ');
export const parseLanguageList = (text: string) =>
  text
    .split(',')
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean);

/** The price field: null when empty (each topic's price), undefined when it is not whole cents. */
function parsePrice(text: string): number | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const value = Number(t);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

const resetTokenInHash = () => /(?:^|[#&])reset=([A-Za-z0-9_-]{20,100})/.exec(location.hash)?.[1] ?? null;

/** Wraps the sign-in form: shows it, or the sign-up / password-reset screens instead. */
export function SignInOptions(props: { children: ComponentChildren; onSignedIn: (reply: LoginReply) => void }) {
  const [mode, setMode] = useState<'login' | 'signup' | 'forgot' | 'reset'>(() => (resetTokenInHash() ? 'reset' : 'login'));
  const [notice, setNotice] = useState<string | null>(null);

  if (mode === 'signup') return <SignupForm onSignedIn={props.onSignedIn} onCancel={() => setMode('login')} />;
  if (mode === 'forgot') return <ForgotPasswordForm onDone={(text) => (setNotice(text), setMode('login'))} onCancel={() => setMode('login')} />;
  if (mode === 'reset')
    return (
      <ResetPasswordForm
        token={resetTokenInHash() ?? ''}
        onDone={(text) => {
          history.replaceState(null, '', location.pathname);
          setNotice(text);
          setMode('login');
        }}
      />
    );
  return (
    <>
      {notice && <Notice kind="ok">{notice}</Notice>}
      {props.children}
      <div class="card">
        <p>
          <button type="button" class="linklike" onClick={() => setMode('forgot')} data-testid="agent-forgot">
            Forgot your password?
          </button>
        </p>
        <h2>Share what you know</h2>
        <p class="muted small">Sign up with your skills, hours and price. You can take customers once we have verified you.</p>
        <button type="button" onClick={() => setMode('signup')} data-testid="agent-become-expert">
          Become an expert
        </button>
      </div>
    </>
  );
}

function Field(props: { id: string; label: string; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <span class="muted small" id={`${props.id}-hint`}>
          {props.hint}
        </span>
      )}
    </div>
  );
}

function SignupForm(props: { onSignedIn: (reply: LoginReply) => void; onCancel: () => void }) {
  const [form, setForm] = useState({
    email: '',
    password: '',
    displayName: '',
    legalName: '',
    skills: '',
    languages: 'en',
    bio: '',
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    price: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));

  async function submit(e: Event) {
    e.preventDefault();
    if (form.password.length < 10) return setError('Choose a password of at least 10 characters.');
    const price = parsePrice(form.price);
    if (price === undefined) return setError('The price is a whole number of cents per minute, or empty for each topic’s price.');
    setBusy(true);
    setError(null);
    const body: AgentSignupBody = {
      email: form.email.trim(),
      password: form.password,
      displayName: form.displayName.trim(),
      legalName: form.legalName.trim(),
      skills: parseSkillList(form.skills),
      languages: parseLanguageList(form.languages),
      bio: form.bio.trim(),
      timeZone: form.timeZone.trim(),
      ...(price !== null ? { pricePerMinuteMinor: price } : {}),
    };
    try {
      await api<AgentProfileView>('POST', '/api/agent-signup', body);
      props.onSignedIn(await login(body.email, body.password));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={(e) => void submit(e)} data-testid="agent-signup-form" aria-labelledby="signup-title">
      <h2 id="signup-title">Become an expert</h2>
      {error && (
        <Notice kind="error" testId="agent-signup-error">
          {error}
        </Notice>
      )}
      <Field id="su-email" label="Email">
        <input id="su-email" type="email" autocomplete="email" required value={form.email} onInput={set('email')} data-testid="signup-email" />
      </Field>
      <Field id="su-password" label="Password" hint="At least 10 characters.">
        <input
          id="su-password"
          type="password"
          autocomplete="new-password"
          minLength={10}
          required
          aria-describedby="su-password-hint"
          value={form.password}
          onInput={set('password')}
          data-testid="signup-password"
        />
      </Field>
      <Field id="su-display" label="Name shown to customers">
        <input id="su-display" required maxLength={80} value={form.displayName} onInput={set('displayName')} data-testid="signup-display-name" />
      </Field>
      <Field id="su-legal" label="Legal name" hint="Only our administrators see it, to check your documents.">
        <input
          id="su-legal"
          autocomplete="name"
          required
          maxLength={120}
          aria-describedby="su-legal-hint"
          value={form.legalName}
          onInput={set('legalName')}
          data-testid="signup-legal-name"
        />
      </Field>
      <Field id="su-skills" label="What you know" hint="Skills with your own level 1–10, e.g. tax:8, vat:6">
        <input id="su-skills" aria-describedby="su-skills-hint" value={form.skills} onInput={set('skills')} data-testid="signup-skills" />
      </Field>
      <Field id="su-languages" label="Languages" hint="Two-letter codes, e.g. en, fr">
        <input id="su-languages" aria-describedby="su-languages-hint" value={form.languages} onInput={set('languages')} data-testid="signup-languages" />
      </Field>
      <Field id="su-bio" label="About you" hint="Up to 1000 characters.">
        <textarea id="su-bio" maxLength={1000} rows={4} aria-describedby="su-bio-hint" value={form.bio} onInput={set('bio')} data-testid="signup-bio" />
      </Field>
      <Field id="su-tz" label="Time zone" hint="Your working hours are in this time zone.">
        <input id="su-tz" required aria-describedby="su-tz-hint" value={form.timeZone} onInput={set('timeZone')} data-testid="signup-time-zone" />
      </Field>
      <Field
        id="su-price"
        label="Your price (cents per minute, optional)"
        hint="What customers pay per minute to talk to you, within each topic’s range. Leave it empty to charge each topic’s own price; you can change it later under Earnings."
      >
        <input
          id="su-price"
          type="number"
          min={0}
          step={1}
          inputMode="numeric"
          aria-describedby="su-price-hint"
          placeholder="topic price"
          value={form.price}
          onInput={set('price')}
          data-testid="signup-price"
        />
      </Field>
      <div class="row">
        <button type="submit" disabled={busy} data-testid="signup-submit">
          {busy ? 'Signing up…' : 'Sign up'}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Back to sign-in
        </button>
      </div>
    </form>
  );
}

function ForgotPasswordForm(props: { onDone: (notice: string) => void; onCancel: () => void }) {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    try {
      await api('POST', '/api/auth/password-reset', { email: email.trim() });
      props.onDone('If that email has an account, a reset link is on its way. It works once, for 30 minutes.');
    } catch (err) {
      setError(describeError(err));
    }
  }
  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="forgot-title" data-testid="agent-forgot-form">
      <h2 id="forgot-title">Reset your password</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <Field id="fp-email" label="Email">
        <input id="fp-email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </Field>
      <div class="row">
        <button type="submit">Send me a link</button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Back
        </button>
      </div>
    </form>
  );
}

function ResetPasswordForm(props: { token: string; onDone: (notice: string) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    try {
      await api('POST', '/api/auth/password-reset/confirm', { token: props.token, newPassword: password });
      props.onDone('Your password was changed. Sign in with the new one.');
    } catch (err) {
      setError(describeError(err));
    }
  }
  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="reset-title" data-testid="agent-reset-form">
      <h2 id="reset-title">Choose a new password</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <Field id="rp-password" label="New password" hint="At least 10 characters.">
        <input
          id="rp-password"
          type="password"
          autocomplete="new-password"
          minLength={10}
          required
          aria-describedby="rp-password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </Field>
      <button type="submit">Save the new password</button>
    </form>
  );
}
