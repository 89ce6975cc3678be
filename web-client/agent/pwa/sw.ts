// Service worker of the agent app (scope /agent/). It keeps the app's shell (page, scripts, styles,
// icons) so the app opens without a network, never touches live data (API, socket.io), and turns
// pushed offers into notifications that open the app on that offer.
// Built by vite.config.ts (agentPwa) into /agent/sw.js as a classic script; PRECACHE and
// CACHE_VERSION are filled in there. The worker's types are declared below, as far as it uses them:
// the app's type check runs with the DOM library, which has no service-worker scope.
export {};

/** Absolute paths of the shell's files (the build knows their hashed names). */
declare const PRECACHE: string[];
/** Changes whenever the shell does, so every build gets a fresh cache. */
declare const CACHE_VERSION: string;

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Promise<Response>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: { text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
  readonly action: string;
}
interface WindowClient {
  readonly url: string;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
}
declare const self: {
  readonly location: Location;
  readonly registration: { showNotification(title: string, options: NotificationOptions & { actions?: Array<{ action: string; title: string }>; renotify?: boolean; timestamp?: number }): Promise<void> };
  readonly clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
  addEventListener(type: 'push', listener: (e: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', listener: (e: NotificationEvent) => void): void;
};

const CACHE = `mccs-agent-${CACHE_VERSION}`;
const SHELL = '/agent/';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith('mccs-agent-') && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Live data is never cached: an old offer list or a replayed socket.io poll would be wrong.
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/socket.io/')) return;
  if (request.mode === 'navigate' && url.pathname.startsWith(SHELL)) event.respondWith(networkFirstShell(request));
  // Hashed names never change content, so the cache may answer first.
  else if (url.pathname.startsWith('/assets/') || PRECACHE.includes(url.pathname)) event.respondWith(cacheFirst(request));
});

/** The page from the network when there is one (it may be newer), else the kept shell. */
async function networkFirstShell(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && new URL(request.url).pathname === SHELL) await cache.put(SHELL, response.clone());
    return response;
  } catch {
    return (
      (await cache.match(SHELL)) ??
      new Response('<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline</title><p>You are offline. The agent workspace opens again once you are back online.</p>', {
        status: 503,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      })
    );
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

// ---- offers pushed while the app is in the background (push/push-service.ts sends them) ----------

interface OfferNotice {
  taskId: string;
  channel: string;
  queue: string;
  customerName: string;
  firstMessage: string;
}

/** The offer in a push message, or null: the payload is checked like any input. */
function parseOffer(text: string): OfferNotice | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const fields = ['taskId', 'channel', 'queue', 'customerName', 'firstMessage'] as const;
  if (d.type !== 'offer' || !fields.every((f) => typeof d[f] === 'string')) return null;
  return { taskId: d.taskId as string, channel: d.channel as string, queue: d.queue as string, customerName: d.customerName as string, firstMessage: d.firstMessage as string };
}

const WHAT: Record<string, string> = { chat: 'New chat', call: 'Incoming call', video: 'Incoming video call', social: 'New social post' };

self.addEventListener('push', (event) => {
  const offer = event.data ? parseOffer(event.data.text()) : null;
  // A push must always show something (userVisibleOnly); an unreadable one just points to the app.
  const shown = offer
    ? self.registration.showNotification(`${WHAT[offer.channel] ?? 'New offer'} from ${offer.customerName} in ${offer.queue}`, {
        body: offer.firstMessage,
        tag: `offer:${offer.taskId}`,
        renotify: true,
        requireInteraction: true,
        icon: '/agent/icon-192.png',
        data: { taskId: offer.taskId },
        actions: [
          { action: 'accept', title: 'Accept' },
          { action: 'open', title: 'Open' },
        ],
      })
    : self.registration.showNotification('mccs Agent', { body: 'Something needs your attention.', icon: '/agent/icon-192.png', data: {} });
  event.waitUntil(shown);
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const taskId = (event.notification.data as { taskId?: unknown } | null)?.taskId;
  const offer = typeof taskId === 'string' ? { taskId, accept: event.action === 'accept' } : null;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).pathname.startsWith(SHELL));
      if (open) {
        // The app (web-client/agent/offer-link.ts) shows the offer, and accepts it when asked.
        if (offer) open.postMessage({ type: 'offer:open', ...offer });
        await open.focus();
      } else {
        const query = offer ? `?offer=${encodeURIComponent(offer.taskId)}${offer.accept ? '&accept=1' : ''}` : '';
        await self.clients.openWindow(SHELL + query);
      }
    })(),
  );
});
