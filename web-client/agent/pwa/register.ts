// Registers the agent app's service worker (pwa/sw.ts): offline shell and pushed offers. Only a build
// has one (vite.config.ts, agentPwa); under the dev server (which has import.meta.hot) there is none.
export function registerServiceWorker(): void {
  if (import.meta.hot || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/agent/sw.js', { scope: '/agent/' }).catch((err: unknown) => console.warn('the service worker could not be registered', err));
}
