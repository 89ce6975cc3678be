// Account security for the agent: a TOTP second factor (the otpauth:// URI shown as text for an
// authenticator app) and "sign out everywhere".
import { useState } from 'preact/hooks';
import type { TotpEnrolReply } from '../../protocol/http.js';
import { api, describeError } from '../shared/api';
import { Notice } from '../shared/ui';

export function SecurityCard(props: { token: string; totpEnabled: boolean; onSignedOut: () => void }) {
  const [enabled, setEnabled] = useState(props.totpEnabled);
  const [enrol, setEnrol] = useState<TotpEnrolReply | null>(null);
  const [code, setCode] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  const run = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  };
  const start = () => run(async () => setEnrol(await api<TotpEnrolReply>('POST', '/api/auth/totp/enrol', undefined, props.token)));
  const confirm = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api('POST', enabled ? '/api/auth/totp/disable' : '/api/auth/totp/confirm', { code }, props.token);
      setMessage({ kind: 'ok', text: enabled ? 'The second factor is off.' : 'The second factor is on: sign-in now asks for a code.' });
      setEnabled(!enabled);
      setEnrol(null);
      setCode('');
    });
  };
  const signOutEverywhere = () =>
    run(async () => {
      await api('POST', '/api/auth/sessions/revoke', undefined, props.token);
      props.onSignedOut();
    });

  return (
    <details class="card" data-testid="agent-security">
      <summary>
        <h2 style={{ display: 'inline' }}>Security</h2>
      </summary>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <p class="small">Second factor (authenticator app): {enabled ? 'on' : 'off'}</p>
      {!enabled && !enrol && (
        <button type="button" class="secondary" onClick={() => void start()} data-testid="agent-totp-enrol">
          Set up an authenticator app
        </button>
      )}
      {enrol && (
        <div>
          <p class="small">Add this to your authenticator app (copy the link, or type the key), then enter the code it shows.</p>
          <p class="small" style={{ wordBreak: 'break-all' }}>
            <code data-testid="agent-totp-uri">{enrol.uri}</code>
          </p>
          <p class="small">
            Key: <code>{enrol.secret}</code>
          </p>
        </div>
      )}
      {(enrol || enabled) && (
        <form class="row" onSubmit={confirm}>
          <label for="totp-code">Code</label>
          <input
            id="totp-code"
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={code}
            onInput={(e) => setCode(e.currentTarget.value.replace(/\D/g, ''))}
            data-testid="agent-totp-code"
          />
          <button type="submit" class="secondary">
            {enabled ? 'Turn off' : 'Turn on'}
          </button>
        </form>
      )}
      <hr />
      <button type="button" class="secondary" onClick={() => void signOutEverywhere()} data-testid="agent-sign-out-everywhere">
        Sign out everywhere
      </button>
    </details>
  );
}
