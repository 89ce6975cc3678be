// The HTTP side: Fastify with JSON-schema validation on every route, OpenAPI generated from those
// schemas, one error shape, a request id on every response and log line, rate limits on public routes.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Config } from '../../lib/config.js';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../metrics.js';
import { toWireError } from '../wire-errors.js';
import { registerHealthRoutes, type ReadinessCheck } from './health-routes.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerPublicRoutes } from './public-routes.js';
import { registerSupervisorRoutes } from './supervisor-routes.js';
import { registerTaskRoutes } from './task-routes.js';
import { registerMediaRoutes, type MediaRouteDeps } from './media-routes.js';
import { registerStaffRoutes } from './staff-routes.js';
import { registerRecordingRoutes } from './recording-routes.js';
import { registerChargingRoutes } from './charging-routes.js';
import { registerPushRoutes } from './push-routes.js';
import type { PushService } from '../../push/index.js';
import type { ChargingDesk } from '../../charging/desk.js';
import { registerManagerRoutes, type ManagerRouteDeps } from './manager-routes.js';
import { registerSipRoutes, type SipTrunkAdmin } from './sip-routes.js';
import { registerAgentLocationRoutes } from './agent-location-routes.js';
import { registerAgentPhoneRoutes } from './agent-phone-routes.js';
import { registerAgentRoutes, type AgentRouteDeps } from './agent-routes.js';
import { registerCannedRoutes } from './canned-routes.js';
import type { CannedResponses } from '../../canned/canned-responses.js';
import type { PasswordResets } from '../../accounts/password-reset.js';
import { registerContextRoutes } from './context-routes.js';
import type { CustomerContext } from '../../context/customer-context.js';
import type { EmailVerifications } from '../../context/email-verification.js';
import type { AgentPhoneDirectory } from '../../calls/agent-phones.js';
import type { ChatService } from '../../chat/chat-service.js';
import type { TokenService } from '../auth/tokens.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { QueueDirectory } from '../../routing/queue-directory.js';
import type { QueueMonitor } from '../../routing/queue-monitor.js';
import type { CustomerDirectory } from '../../chat/customer-directory.js';
import type { RecordingService } from '../../recordings/recording-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    logger: Logger;
  }
}

export interface HttpDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  tokens: TokenService;
  accounts: AccountService;
  queues: QueueDirectory;
  customers: CustomerDirectory;
  chat: ChatService;
  queueMonitor: QueueMonitor;
  readiness: ReadinessCheck[];
  media: MediaRouteDeps['media'];
  /** Call recordings; without it the recording routes are not registered. */
  recordings?: RecordingService;
  /** Charging; without it the charging routes are not registered. */
  charging?: ChargingDesk;
  /** The SIP trunks and their bridge; the SIP service starts after the HTTP app is built. */
  sipTrunks?: () => SipTrunkAdmin | null;
  /** Customer context and data rights; without it those routes are not registered. */
  context?: CustomerContext;
  /** Customers confirming their email with a mailed code (with `context`). */
  emailVerifications?: EmailVerifications;
  /** Agents' own phones ("ring my phone"); without it those routes are not registered. */
  agentPhones?: AgentPhoneDirectory;
  /** Managers' API and its administration; without it those routes are not registered. */
  manager?: Omit<ManagerRouteDeps, 'tokens'>;
  /** Web Push for agents; without it the push routes are not registered. */
  push?: PushService;
  /** Canned responses for chats (docs/agents.md); without it those routes are not registered. */
  canned?: CannedResponses;
  /** Agent sign-up, verification and password resets (docs/agents.md); without it those routes are not registered. */
  agentAccounts?: Pick<AgentRouteDeps, 'onboarding' | 'setNotReady' | 'accountUpdated'> & { resets: PasswordResets };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
// Probes and the Managers' polling (every few seconds) are logged at level http, not info.
const PROBE_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/api/service/manager/config', '/api/service/manager/outcomes']);

export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, logger, metrics } = deps;
  const app = Fastify({
    logger: false,
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Reject unknown properties instead of silently dropping them: a typo should be an error.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });

  app.decorateRequest('logger', null as unknown as Logger);
  app.addHook('onRequest', async (req, reply) => {
    req.logger = logger.child({ reqId: req.id });
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    // Probes and scrapes come every few seconds: keep them out of the default (info) log.
    const level = PROBE_ROUTES.has(route) ? 'http' : 'info';
    // Playback links carry a token in the query string; it must not reach the logs.
    const url = req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
    req.logger.log(level, 'request', { method: req.method, url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
  });
  app.setErrorHandler((err, req, reply) => {
    const mapped = toWireError(err, req.logger ?? logger);
    void reply.status(mapped.status).send({ error: mapped.error, requestId: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }, requestId: req.id });
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'mccs API', version: '0.1.0', description: 'Communication-centre server: HTTP API. Real-time events use socket.io (see protocol/events.ts).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `too many requests: retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });

  registerHealthRoutes(app, deps);
  registerPublicRoutes(app, deps);
  registerAuthRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerSupervisorRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerMediaRoutes(app, deps);
  registerStaffRoutes(app, deps);
  if (deps.recordings) registerRecordingRoutes(app, { tokens: deps.tokens, recordings: deps.recordings });
  if (deps.manager) registerManagerRoutes(app, { tokens: deps.tokens, ...deps.manager });
  if (deps.sipTrunks) registerSipRoutes(app, { tokens: deps.tokens, sip: deps.sipTrunks });
  registerAgentLocationRoutes(app, { tokens: deps.tokens, accounts: deps.accounts });
  if (deps.agentPhones) registerAgentPhoneRoutes(app, { tokens: deps.tokens, phones: deps.agentPhones });
  if (deps.context) registerContextRoutes(app, { tokens: deps.tokens, context: deps.context, emails: deps.emailVerifications, publicRateLimitPerMinute: config.http.publicRateLimitPerMinute });
  if (deps.charging) registerChargingRoutes(app, { tokens: deps.tokens, desk: deps.charging, publicRateLimitPerMinute: config.http.publicRateLimitPerMinute });
  if (deps.push) registerPushRoutes(app, { tokens: deps.tokens, push: deps.push, publicRateLimitPerMinute: config.http.publicRateLimitPerMinute });
  if (deps.canned) registerCannedRoutes(app, { tokens: deps.tokens, canned: deps.canned, publicRateLimitPerMinute: config.http.publicRateLimitPerMinute });
  if (deps.agentAccounts) {
    const { chat } = deps;
    registerAgentRoutes(app, {
      tokens: deps.tokens,
      accounts: deps.accounts,
      ...deps.agentAccounts,
      agentStatus: (agentId) => chat.agentStatus(agentId),
      publicRateLimitPerMinute: config.http.publicRateLimitPerMinute,
    });
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (config.http.webRoot && existsSync(config.http.webRoot)) {
    await app.register(fastifyStatic, { root: config.http.webRoot, prefix: '/', redirect: true, index: ['index.html'] });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/plain').send('mccs is running, but the web client is not built: run `npm run build`.\n'),
    );
  }
  return app;
}
