// "Confirm your email": the customer gives an address, we mail a six-digit code, they type it here.
// Only then does the email become part of their profile; if we already knew them by it, their earlier
// conversations come back (the server may answer with a token for that older profile, which the
// widget adopts). Until confirmed, nothing is linked.
import { useState } from 'preact/hooks';
import type { EmailCodeReply, EmailVerifiedReply } from '../../protocol/context.js';
import { api, describeError } from '../shared/api';
import { Notice } from '../shared/ui';

type Step = { kind: 'email' } | { kind: 'code'; email: string; expiresAt: number };

export function EmailLink(props: {
  /** The visitor token to act with (one is fetched first when there is none yet). */
  getToken: () => Promise<string>;
  /** The address already confirmed in this browser, if any. */
  confirmed: string | null;
  onVerified: (reply: EmailVerifiedReply) => void;
  /** Where it is shown: the wording differs before a chat and within one. */
  context: 'start' | 'chat';
}) {
  const [step, setStep] = useState<Step>({ kind: 'email' });
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  if (props.confirmed) {
    return (
      <Notice kind="ok" testId="widget-email-confirmed">
        Email confirmed: {props.confirmed}. We will recognise you by it next time.
      </Notice>
    );
  }

  async function sendCode(e?: Event) {
    e?.preventDefault();
    const address = step.kind === 'code' ? step.email : email.trim();
    if (!address || busy) return;
    setBusy(true);
    setError(null);
    try {
      const reply = await api<EmailCodeReply>('POST', '/api/me/email', { email: address }, await props.getToken());
      setStep({ kind: 'code', email: reply.email, expiresAt: reply.expiresAt });
      setCode('');
      setNote(`We sent a code to ${reply.email}. It is good for ${Math.max(1, Math.round((reply.expiresAt - Date.now()) / 60_000))} minutes.`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  async function confirm(e: Event) {
    e.preventDefault();
    if (step.kind !== 'code' || busy) return;
    setBusy(true);
    setError(null);
    try {
      const reply = await api<EmailVerifiedReply>('POST', '/api/me/email/verify', { email: step.email, code: code.trim() }, await props.getToken());
      props.onVerified(reply);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="card card--inset" data-testid="widget-email" open={step.kind === 'code'}>
      <summary>{props.context === 'start' ? 'Been here before? Confirm your email' : 'Add your email so that we recognise you next time'}</summary>
      <p class="muted small">
        We send a code to the address; once you type it here, the people helping you see your earlier conversations with us. Nothing is linked
        without the code.
      </p>
      {error && (
        <Notice kind="error" testId="widget-email-error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      {step.kind === 'email' ? (
        <form class="row" onSubmit={(e) => void sendCode(e)}>
          <label for={`w-email-${props.context}`} class="visually-hidden">
            Your email
          </label>
          <input
            id={`w-email-${props.context}`}
            type="email"
            autoComplete="email"
            maxLength={254}
            placeholder="you@example.com"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            data-testid="widget-email-input"
          />
          <button type="submit" class="secondary" disabled={busy || !email.trim()} data-testid="widget-email-send">
            {busy ? 'Sending…' : 'Send me a code'}
          </button>
        </form>
      ) : (
        <>
          {note && <p class="small" role="status">{note}</p>}
          <form class="row" onSubmit={(e) => void confirm(e)}>
            <label for={`w-email-code-${props.context}`} class="visually-hidden">
              The six-digit code from the email
            </label>
            <input
              id={`w-email-code-${props.context}`}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              placeholder="123456"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value.replace(/\D/g, ''))}
              data-testid="widget-email-code"
            />
            <button type="submit" disabled={busy || code.length !== 6} data-testid="widget-email-confirm">
              Confirm
            </button>
          </form>
          <div class="row small">
            <button type="button" class="linklike" disabled={busy} onClick={() => void sendCode()}>
              Send a new code
            </button>
            <button type="button" class="linklike" disabled={busy} onClick={() => setStep({ kind: 'email' })}>
              Use another address
            </button>
          </div>
        </>
      )}
    </details>
  );
}
