// Web Push for agents (docs/push.md): subscriptions, VAPID identity, and offers pushed to backgrounded apps.
export { PushService } from './push-service.js';
export { resolveVapidKeys } from './vapid-keys.js';
export { createWebPushSender } from './web-push-sender.js';
