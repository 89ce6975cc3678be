// This browser's Web Push subscription for offers (docs/push.md): made with the server's VAPID key
// through the service worker, and registered with (or removed from) the server for the signed-in agent.
import { api } from '../shared/api';

export type PushSupport = { ok: true } | { ok: false; reason: string };

export function pushSupport(): PushSupport {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    return { ok: false, reason: 'This browser cannot show notifications from web apps. On an iPhone, add the app to the home screen first.' };
  }
  return { ok: true };
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const reg = await navigator.serviceWorker.getRegistration('/agent/');
  if (!reg) throw new Error('The app is still being installed; try again in a moment.');
  return reg;
}

/** This browser's subscription, if it has one and may still show notifications. */
export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupport().ok || Notification.permission !== 'granted') return null;
  const reg = await navigator.serviceWorker.getRegistration('/agent/');
  return (await reg?.pushManager.getSubscription()) ?? null;
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function sameKey(key: ArrayBuffer | null, expected: Uint8Array): boolean {
  if (!key || key.byteLength !== expected.length) return false;
  const got = new Uint8Array(key);
  return expected.every((b, i) => got[i] === b);
}

/** Asks for permission, subscribes (or reuses the subscription) and tells the server. Throws with a message to show. */
export async function enablePush(token: string): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission === 'denied') throw new Error('Notifications are blocked for this site: allow them in the browser settings.');
  if (permission !== 'granted') throw new Error('Notifications were not allowed.');
  const reg = await registration();
  const { publicKey } = await api<{ publicKey: string }>('GET', '/api/push/vapid-public-key');
  const key = base64UrlBytes(publicKey);
  let sub = await reg.pushManager.getSubscription();
  // A subscription made for another server key would be refused by the push service.
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await registerWithServer(sub, token);
}

/** Tells the server about an existing subscription again (it may have dropped it, or another agent used this browser). */
export async function registerWithServer(sub: PushSubscription, token: string): Promise<void> {
  await api('POST', '/api/agent/push-subscriptions', sub.toJSON(), token);
}

/** Stops notifications on this browser first, then tells the server (which would also learn it from the push service). */
export async function disablePush(token: string): Promise<void> {
  const sub = await currentSubscription();
  if (!sub) return;
  await sub.unsubscribe();
  await api('DELETE', '/api/agent/push-subscriptions', { endpoint: sub.endpoint }, token);
}

/** The agent's push settings on the server (docs/push.md): offers when the app is closed, and registered devices. */
export interface PushSettings {
  offersWhenClosed: boolean;
  devices: number;
}

export function pushSettings(token: string): Promise<PushSettings> {
  return api<PushSettings>('GET', '/api/agent/push-settings', undefined, token);
}

/** "Get offers when the app is closed"; the server refuses it without a registered device. */
export function setOffersWhenClosed(on: boolean, token: string): Promise<PushSettings> {
  return api<PushSettings>('PUT', '/api/agent/push-settings', { offersWhenClosed: on }, token);
}
