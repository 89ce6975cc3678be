// Staff sign-in shared by the agent and admin apps: login form, forced password change, and the
// token kept in sessionStorage (one tab, gone when the tab closes).
import { useState } from 'preact/hooks';
import type { LoginReply } from '../../protocol/http.js';
import { ApiError, api, describeError } from './api';
import { load, save } from './storage';
import { Notice } from './ui';

export type StaffSession = LoginReply;

export function loadStaffSession(key: string): StaffSession | null {
  const s = load<StaffSession>('session', key);
  if (!s || typeof s.token !== 'string' || typeof s.expiresAt !== 'number') return null;
  if (s.expiresAt <= Date.now()) return null;
  return s;
}

export function saveStaffSession(key: string, s: StaffSession | null): void {
  save('session', key, s);
}

export function login(email: string, password: string, totp?: string): Promise<LoginReply> {
  return api<LoginReply>('POST', '/api/auth/login', { email, password, ...(totp ? { totp } : {}) });
}

/** Email + password. Calls onLoggedIn with the reply and the password (needed for a forced change). */
export function LoginForm(props: {
  title: string;
  testPrefix: string;
  notice?: string | null;
  onLoggedIn: (reply: LoginReply, password: string) => void;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  /** The account has a second factor: the code from the authenticator app (null: not asked). */
  const [totp, setTotp] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = props.testPrefix;

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const reply = await login(email.trim(), password, totp ?? undefined);
      props.onLoggedIn(reply, password);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'TOTP_REQUIRED' && totp === null) {
        setTotp('');
        return;
      }
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={submit} data-testid={`${p}-login-form`} aria-labelledby={`${p}-login-title`}>
      <h2 id={`${p}-login-title`}>{props.title}</h2>
      {props.notice && <Notice kind="info">{props.notice}</Notice>}
      {error && (
        <Notice kind="error" testId={`${p}-login-error`}>
          Sign-in failed: {error}
        </Notice>
      )}
      <div class="field">
        <label for={`${p}-email`}>Email</label>
        <input
          id={`${p}-email`}
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
          data-testid={`${p}-login-email`}
        />
      </div>
      <div class="field">
        <label for={`${p}-password`}>Password</label>
        <input
          id={`${p}-password`}
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          data-testid={`${p}-login-password`}
        />
      </div>
      {totp !== null && (
        <div class="field">
          <label for={`${p}-totp`}>Code from your authenticator app</label>
          <input
            id={`${p}-totp`}
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={totp}
            onInput={(e) => setTotp(e.currentTarget.value.replace(/\D/g, ''))}
            data-testid={`${p}-login-totp`}
          />
        </div>
      )}
      <button type="submit" disabled={busy} data-testid={`${p}-login-submit`}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

/**
 * Forced password change (first sign-in with a one-time password). Changes the password with the
 * current token, then signs in again with the new one and hands over the fresh session.
 */
export function ChangePasswordForm(props: {
  email: string;
  token: string;
  currentPassword: string;
  testPrefix: string;
  onChanged: (reply: LoginReply) => void;
  onCancel: () => void;
}) {
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = props.testPrefix;

  async function submit(e: Event) {
    e.preventDefault();
    if (next.length < 10) return setError('The new password needs at least 10 characters.');
    if (next !== confirm) return setError('The two passwords differ.');
    if (next === props.currentPassword) return setError('Choose a password different from the one-time password.');
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/api/auth/password', { currentPassword: props.currentPassword, newPassword: next }, props.token);
      props.onChanged(await login(props.email, next));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={submit} data-testid={`${p}-password-form`} aria-labelledby={`${p}-pw-title`}>
      <h2 id={`${p}-pw-title`}>Choose a new password</h2>
      <p class="muted small">
        You signed in with a one-time password. Choose your own password (at least 10 characters) to continue.
      </p>
      {error && (
        <Notice kind="error" testId={`${p}-password-error`}>
          {error}
        </Notice>
      )}
      <div class="field">
        <label for={`${p}-new-password`}>New password</label>
        <input
          id={`${p}-new-password`}
          type="password"
          autocomplete="new-password"
          minLength={10}
          maxLength={200}
          required
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
          data-testid={`${p}-new-password`}
        />
      </div>
      <div class="field">
        <label for={`${p}-confirm-password`}>Repeat the new password</label>
        <input
          id={`${p}-confirm-password`}
          type="password"
          autocomplete="new-password"
          required
          value={confirm}
          onInput={(e) => setConfirm(e.currentTarget.value)}
          data-testid={`${p}-confirm-password`}
        />
      </div>
      <div class="row">
        <button type="submit" disabled={busy} data-testid={`${p}-password-submit`}>
          {busy ? 'Saving…' : 'Save and continue'}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
