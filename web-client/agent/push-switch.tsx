// The switches for offers as notifications (push-subscription.ts): while the app is in the background,
// and — once notifications are on — also when the app is closed (the agent stays ready; docs/push.md).
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../shared/api';
import { currentSubscription, disablePush, enablePush, pushSettings, pushSupport, registerWithServer, setOffersWhenClosed, type PushSettings } from './push-subscription';

export function PushSwitch(props: { token: string }) {
  const support = pushSupport();
  const [on, setOn] = useState(false);
  const [settings, setSettings] = useState<PushSettings | null>(null);
  const [busy, setBusy] = useState(support.ok);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!support.ok) return;
    currentSubscription()
      .then(async (sub) => {
        setOn(!!sub);
        if (sub) await registerWithServer(sub, props.token);
        setSettings(await pushSettings(props.token));
      })
      .catch((err: unknown) => setError(`Could not check notifications: ${describeError(err)}`))
      .finally(() => setBusy(false));
  }, [props.token]);

  async function toggle(want: boolean) {
    setBusy(true);
    setError(null);
    try {
      if (want) await enablePush(props.token);
      else await disablePush(props.token);
      setOn(want);
    } catch (err) {
      setError(describeError(err));
      setOn(!!(await currentSubscription().catch(() => null)));
    } finally {
      // Removing the last device turns offers when closed off on the server.
      setSettings(await pushSettings(props.token).catch(() => settings));
      setBusy(false);
    }
  }

  async function toggleClosed(want: boolean) {
    setBusy(true);
    setError(null);
    try {
      setSettings(await setOffersWhenClosed(want, props.token));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  // Possible with a device registered for offers (this one, or another of the agent's).
  const closedPossible = (settings?.devices ?? 0) > 0;
  return (
    <div class="push-switch" data-testid="push-switch">
      <label>
        <input
          type="checkbox"
          role="switch"
          checked={on}
          disabled={busy || !support.ok}
          onChange={(e) => void toggle(e.currentTarget.checked)}
          data-testid="push-toggle"
        />
        Notify me of offers when this app is in the background
      </label>
      {support.ok && (
        <label>
          <input
            type="checkbox"
            role="switch"
            checked={settings?.offersWhenClosed === true}
            disabled={busy || !closedPossible}
            onChange={(e) => void toggleClosed(e.currentTarget.checked)}
            aria-describedby="push-closed-hint"
            data-testid="push-closed-toggle"
          />
          Get offers when the app is closed
        </label>
      )}
      {support.ok && (
        <p class="hint" id="push-closed-hint">
          {closedPossible
            ? 'You stay ready when the phone closes the app; one missed offer sets you not ready.'
            : 'Turn on notifications first.'}
        </p>
      )}
      {!support.ok && <p class="hint">{support.reason}</p>}
      {error && (
        <p class="hint" role="alert" data-testid="push-error">
          {error}
        </p>
      )}
    </div>
  );
}
