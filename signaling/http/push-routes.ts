// Web Push for agents (push/, docs/push.md): the VAPID public key browsers subscribe with, each
// agent's own subscriptions, and whether offers reach the agent when the app is closed. Endpoints and
// keys go in, never out.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { PushService } from '../../push/index.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff, STAFF_ROLES } from './guards.js';

const Endpoint = Type.String({ minLength: 1, maxLength: 2048 });
/** PushSubscription.toJSON() from the browser; expirationTime is accepted and ignored. */
const SubscriptionBody = Type.Object(
  {
    endpoint: Endpoint,
    expirationTime: Type.Optional(Type.Union([Type.Null(), Type.Number()])),
    keys: Type.Object(
      {
        // base64url without padding: a 65-byte uncompressed P-256 point and a 16-byte secret.
        p256dh: Type.String({ pattern: '^[A-Za-z0-9_-]{87}$' }),
        auth: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const EndpointBody = Type.Object({ endpoint: Endpoint }, { additionalProperties: false });
const PushSettingsBody = Type.Object({ offersWhenClosed: Type.Boolean() }, { additionalProperties: false });
const PushSettingsView = Type.Object({ offersWhenClosed: Type.Boolean(), devices: Type.Integer() });
const SubscriptionView = Type.Object({
  id: Type.String(),
  pushService: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(),
  lastSuccessAt: Type.Union([Type.Number(), Type.Null()]),
  failures: Type.Integer(),
});

export function registerPushRoutes(app: FastifyInstance, deps: { tokens: TokenService; push: PushService; publicRateLimitPerMinute: number }): void {
  const staff = requireStaff(deps.tokens, STAFF_ROLES);

  app.get(
    '/api/push/vapid-public-key',
    {
      config: { rateLimit: { max: deps.publicRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        summary: "The server's VAPID public key (base64url), for PushManager.subscribe's applicationServerKey",
        tags: ['push'],
        response: { 200: Type.Object({ publicKey: Type.String() }) },
      },
    },
    async () => ({ publicKey: deps.push.publicKey }),
  );

  app.get(
    '/api/agent/push-subscriptions',
    {
      preHandler: staff,
      schema: {
        summary: "The caller's devices that receive offers by Web Push",
        tags: ['push'],
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ subscriptions: Type.Array(SubscriptionView) }) },
      },
    },
    async (req) => ({ subscriptions: await deps.push.list(req.staff!.accountId) }),
  );

  app.post<{ Body: Static<typeof SubscriptionBody> }>(
    '/api/agent/push-subscriptions',
    {
      preHandler: staff,
      schema: {
        summary: "Registers this browser's push subscription: offers reach it while the app is in the background",
        tags: ['push'],
        security: [{ bearer: [] }],
        body: SubscriptionBody,
        response: { 201: SubscriptionView },
      },
    },
    async (req, reply) => {
      const saved = await deps.push.subscribe(req.staff!.accountId, req.body, req.headers['user-agent']);
      return reply.status(201).send(saved);
    },
  );

  app.delete<{ Body: Static<typeof EndpointBody> }>(
    '/api/agent/push-subscriptions',
    {
      preHandler: staff,
      schema: {
        summary: "Removes one of the caller's push subscriptions, by endpoint",
        tags: ['push'],
        security: [{ bearer: [] }],
        body: EndpointBody,
      },
    },
    async (req, reply) => {
      await deps.push.unsubscribe(req.staff!.accountId, req.body.endpoint);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/agent/push-settings',
    {
      preHandler: staff,
      schema: {
        summary: 'Whether offers reach the caller by push when the app is closed, and how many devices take them',
        tags: ['push'],
        security: [{ bearer: [] }],
        response: { 200: PushSettingsView },
      },
    },
    async (req) => deps.push.settings(req.staff!.accountId),
  );

  app.put<{ Body: Static<typeof PushSettingsBody> }>(
    '/api/agent/push-settings',
    {
      preHandler: staff,
      schema: {
        summary: 'Get offers when the app is closed: stay ready, reachable by push, when the app loses its connection (needs a registered device)',
        tags: ['push'],
        security: [{ bearer: [] }],
        body: PushSettingsBody,
        response: { 200: PushSettingsView },
      },
    },
    async (req) => {
      const settings = await deps.push.setOffersWhenClosed(req.staff!.accountId, req.body.offersWhenClosed);
      req.logger.info('push settings changed', { accountId: req.staff!.accountId, offersWhenClosed: settings.offersWhenClosed });
      return settings;
    },
  );
}
