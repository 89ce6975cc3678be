// The switch for offers as notifications while the app is in the background (push-subscription.ts).
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../shared/api';
import { currentSubscription, disablePush, enablePush, pushSupport, registerWithServer } from './push-subscription';

export function PushSwitch(props: { token: string }) {
  const support = pushSupport();
  const [on, setOn] = useState(false);
  const [busy, setBusy] = useState(support.ok);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!support.ok) return;
    currentSubscription()
      .then(async (sub) => {
        setOn(!!sub);
        if (sub) await registerWithServer(sub, props.token);
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
      setBusy(false);
    }
  }

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
      {!support.ok && <p class="hint">{support.reason}</p>}
      {error && (
        <p class="hint" role="alert" data-testid="push-error">
          {error}
        </p>
      )}
    </div>
  );
}
