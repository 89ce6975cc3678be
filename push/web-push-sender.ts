// One push message to one subscription (RFC 8030): the `web-push` library encrypts the payload
// (RFC 8291, aes128gcm) and signs the VAPID header (RFC 8292); the request itself goes out by fetch,
// which gives a timeout and an abort on shutdown (and plain http for a loopback test endpoint).
import webpush from 'web-push';
import type { VapidKeys } from './vapid-keys.js';

export interface PushTarget {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushMessage {
  payload: string;
  /** How long the push service may hold the message for an offline browser; 0: deliver now or drop. */
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
}

export type PushResult =
  | { ok: true; status: number }
  /** `gone`: the push service says the subscription no longer exists (404 or 410). */
  | { ok: false; status: number | null; gone: boolean; reason: string };

export type PushSender = (target: PushTarget, message: PushMessage, signal: AbortSignal) => Promise<PushResult>;

const TIMEOUT_MS = 10_000;

export function createWebPushSender(vapid: VapidKeys): PushSender {
  return async (target, message, signal) => {
    const request = webpush.generateRequestDetails(target, message.payload, {
      vapidDetails: vapid,
      TTL: message.ttlSeconds,
      urgency: message.urgency,
      contentEncoding: 'aes128gcm',
    });
    const headers: Record<string, string> = {};
    // fetch sets the length from the body itself.
    for (const [name, value] of Object.entries(request.headers)) if (name.toLowerCase() !== 'content-length') headers[name] = String(value);
    try {
      const res = await fetch(request.endpoint, {
        method: 'POST',
        headers,
        body: request.body,
        redirect: 'error',
        signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      await res.body?.cancel();
      if (res.ok) return { ok: true, status: res.status };
      return { ok: false, status: res.status, gone: res.status === 404 || res.status === 410, reason: `push service answered ${res.status}` };
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      return { ok: false, status: null, gone: false, reason: name === 'TimeoutError' ? 'timed out' : name === 'AbortError' ? 'aborted' : 'network error' };
    }
  };
}
