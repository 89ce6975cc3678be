// "Ring my phone": the agent's own number, and whether audio calls ring it instead of this browser.
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../shared/api';
import { Notice } from '../shared/ui';

interface PhoneSettings {
  phoneNumber: string | null;
  answerCallsOnPhone: boolean;
  /** The server has a trunk to call phones through. */
  available: boolean;
}

export function PhoneSetting(props: { token: string }) {
  const [settings, setSettings] = useState<PhoneSettings | null>(null);
  const [number, setNumber] = useState('');
  const [onPhone, setOnPhone] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  useEffect(() => {
    api<PhoneSettings>('GET', '/api/agent/phone', undefined, props.token)
      .then((s) => {
        setSettings(s);
        setNumber(s.phoneNumber ?? '');
        setOnPhone(s.answerCallsOnPhone);
      })
      .catch(() => setSettings(null));
  }, [props.token]);

  if (!settings?.available) return null;

  async function save(e: Event) {
    e.preventDefault();
    try {
      const s = await api<PhoneSettings>('PUT', '/api/agent/phone', { phoneNumber: number.trim() || null, answerCallsOnPhone: onPhone }, props.token);
      setSettings(s);
      setMessage({ kind: 'ok', text: s.answerCallsOnPhone ? `Audio calls will ring ${s.phoneNumber}.` : 'Audio calls ring this browser.' });
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  }

  return (
    <section class="card" aria-labelledby="phone-title" data-testid="agent-phone">
      <h2 id="phone-title">Calls on my phone</h2>
      <form onSubmit={(e) => void save(e)}>
        <label for="agent-phone-number">My number (international, e.g. +358 40 123 4567)</label>
        <input
          id="agent-phone-number"
          type="tel"
          inputMode="tel"
          autoComplete="tel"
          value={number}
          onInput={(e) => setNumber(e.currentTarget.value.replace(/[\s()-]/g, ''))}
          data-testid="agent-phone-number"
        />
        <label class="row small">
          <input type="checkbox" checked={onPhone} onChange={(e) => setOnPhone(e.currentTarget.checked)} data-testid="agent-phone-on" />
          <span>Ring this number for audio calls instead of the browser</span>
        </label>
        <button type="submit" class="secondary">
          Save
        </button>
      </form>
      {message && (
        <Notice kind={message.kind} onDismiss={() => setMessage(null)}>
          {message.text}
        </Notice>
      )}
    </section>
  );
}
