// Says so when the device has no network: the app still opens (its shell is kept by the service
// worker), but nothing reaches it until the network is back.
import { useEffect, useState } from 'preact/hooks';
import { Notice } from '../shared/ui';

export function OfflineNotice() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  if (online) return null;
  return (
    <Notice kind="warn" testId="agent-offline">
      You are offline. The workspace reconnects and shows new offers once the network is back.
    </Notice>
  );
}
