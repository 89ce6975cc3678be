// The composition root: builds every service from the configuration and wires them together.
// Nothing else constructs services; modules receive what they need through their constructors.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Config } from './lib/config.js';
import type { Logger } from './lib/logger.js';
import { openDatabase } from './db/data-source.js';
import { AccountEntity, CustomerEntity, QueueEntity, RecordingEntity, TaskEntity } from './db/entities.js';
import { RecordingService } from './recordings/recording-service.js';
import { AccountService } from './accounts/account-service.js';
import { AgentOnboarding } from './accounts/agent-onboarding.js';
import { AgentPolicySweep } from './accounts/agent-policy-sweep.js';
import { PasswordResets } from './accounts/password-reset.js';
import { OutboxMailer } from './accounts/mailer.js';
import { ChatService } from './chat/chat-service.js';
import { CustomerDirectory } from './chat/customer-directory.js';
import { RoutingEngine } from './routing/engine.js';
import { createQueueStore } from './routing/store/index.js';
import { QueueDirectory } from './routing/queue-directory.js';
import { admit } from './routing/admission.js';
import { QueueMonitor, routingSource } from './routing/queue-monitor.js';
import { exportQueueMetrics } from './signaling/queue-metrics-exporter.js';
import { TokenService, resolveTokenSecret } from './signaling/auth/tokens.js';
import { Metrics } from './signaling/metrics.js';
import { buildHttpApp } from './signaling/http/app.js';
import { attachSockets } from './signaling/sockets/socket-server.js';
import { createClusterAdapter } from './signaling/sockets/cluster-adapter.js';
import { startMedia } from './media/index.js';
import { CallService } from './calls/call-service.js';
import { createIceServerIssuer } from './media/ice-servers.js';
import { PhoneIntake } from './calls/phone-intake.js';
import { startSipBridge } from './sip-bridge/start.js';
import { PhoneCallbacks } from './calls/phone-callbacks.js';
import { AgentPhoneDirectory } from './calls/agent-phones.js';
import type { IceServer } from './protocol/events.js';
import {
  AdminCreditProvider,
  CdrService,
  CreditControl,
  HmacWebhookProvider,
  LedgerService,
  PayoutService,
  RatePlanService,
  RefundService,
  WalletService,
} from './charging/index.js';
import { TaskBilling } from './charging/task-billing.js';
import { ChargingDesk } from './charging/desk.js';
import { CustomerIdentityEntity } from './db/context-entities.js';
import { CustomerContext } from './context/customer-context.js';
import { WaitEscalation } from './routing/wait-escalation.js';
import { ServiceTokenEntity } from './db/social-entities.js';
import { ServiceTokenService } from './social/service-tokens.js';
import { SocialService } from './social/social-service.js';
import { startManager, type ManagerHandle } from './manager/index.js';
import { PushSubscriptionEntity } from './db/push-entities.js';
import { PushService, createWebPushSender, resolveVapidKeys } from './push/index.js';

export interface Mccs {
  /** Base URL the HTTP server listens on (the actual port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** The first admin's one-time password when this start created it; print once, never log. */
  readonly bootstrapAdmin: { email: string; password: string } | null;
  close(): Promise<void>;
}

export async function startMccs(config: Config, logger: Logger): Promise<Mccs> {
  const db = await openDatabase(config.db);
  logger.info('database ready', { kind: config.db.kind });

  const metrics = new Metrics();
  const tokenSecret = resolveTokenSecret(config.auth.tokenSecret, config.dataDir);
  const tokens = new TokenService(tokenSecret, {
    staffSeconds: config.auth.staffTokenTtlSeconds,
    visitorSeconds: config.auth.visitorTokenTtlSeconds,
  }, { tokenVersion: (id) => accounts.tokenVersion(id) });
  const lockMs = config.auth.loginLockMinutes * 60_000;
  const accounts = new AccountService(db.getRepository(AccountEntity), config.routing.defaultChatCapacity, {
    maxFailures: config.auth.loginMaxFailures,
    windowMs: lockMs,
    lockMs,
  });
  const bootstrapAdmin = await accounts.ensureAdmin(config.auth.adminEmail, config.auth.adminInitialPassword);

  const store = await createQueueStore(config.queueStore);
  const router = new RoutingEngine(store, {
    offerTimeoutMs: config.routing.offerTimeoutSeconds * 1000,
    logger: logger.child({ component: 'routing' }),
  });
  const queues = new QueueDirectory(db.getRepository(QueueEntity), router);
  await queues.seedDefaults();
  const customers = new CustomerDirectory(db.getRepository(CustomerEntity), db.getRepository(CustomerIdentityEntity));
  const context = new CustomerContext(db, {
    transcriptRetentionDays: config.context.transcriptRetentionDays,
    logger: logger.child({ component: 'context' }),
    // Built below; nothing is erased before the server is up.
    eraseRecordings: async (taskIds) => void (await recordings.expireForTasks(taskIds)),
  });
  await queues.loadIntoEngine();
  const chat = new ChatService(
    db,
    router,
    {
      wrapUpMs: config.routing.wrapUpSeconds * 1000,
      maxOpenChatsPerCustomer: 3,
      // The monitor is built just below; nothing asks before restore() finishes and the notifier is set.
      expectedWaitMs: (queueId, position): number | null => queueMonitor.expectedWaitMs(queueId, position),
      // Billing is built once calls exist (it follows them too); no start is asked for before that.
      priceGate: (input): Promise<{ budgetPerMinuteMinor: number } | null> => billing.priceGate(input),
      taskDetails: async (task) => ({ ...(await social.taskDetails(task)), context: await context.offerContext(task) }),
      priorityFor: context.priorityFor,
      agentRating: context.agentRating,
      admit: (queueId, now) => admit(queueId, now, (id) => queues.admissionRules(id), (id) => router.waitingCount(id)),
    },
    logger.child({ component: 'chat' }),
  );
  const social: SocialService = new SocialService(db, chat, customers, logger.child({ component: 'social' }));
  const serviceTokens = new ServiceTokenService(db.getRepository(ServiceTokenEntity));
  const { requeued } = await chat.restore();
  if (requeued) logger.info('waiting chats restored to their queues', { requeued });
  const queueMonitor = new QueueMonitor(
    { chat: chat.observer, ...routingSource(router), queueIds: async () => (await queues.list()).map((q) => q.id) },
    { logger: logger.child({ component: 'queue-monitor' }) },
  );
  exportQueueMetrics(metrics.registry, queueMonitor);

  const escalations = new WaitEscalation({
    rules: () => queues.maxWaitRules(),
    waiting: (queueId) => router.waitingOrder(queueId, 500),
    raise: async (taskId, priority) => void (await chat.setPriority(taskId, priority).catch(() => undefined)),
    move: (taskId, from, to) => chat.moveToQueue(taskId, from, to),
    logger: logger.child({ component: 'escalation' }),
  });
  escalations.start();
  const media = await startMedia({ janus: config.janus, dataDir: config.dataDir, logger });
  const iceIssuer = createIceServerIssuer({
    stunUrls: config.ice.stunUrls,
    turnUrls: config.ice.turnUrls,
    turnSecret: config.ice.turnSecret,
    ttlSeconds: config.ice.ttlSeconds,
  });
  const iceServers = (userId: string): IceServer[] => iceIssuer.issue(userId);
  const recordings = new RecordingService(
    { recordings: db.getRepository(RecordingEntity), queues: db.getRepository(QueueEntity), tasks: db.getRepository(TaskEntity) },
    {
      dir: config.recordings.dir,
      defaultRetentionDays: config.recordings.retentionDays,
      linkSecret: tokenSecret,
      logger: logger.child({ component: 'recordings' }),
    },
  );
  recordings.start();
  const agentPhones = new AgentPhoneDirectory(db.getRepository(AccountEntity));
  const calls = new CallService({
    agentPhones,
    recorder: recordings,
    db,
    chat,
    engine: media.engine,
    iceServers,
    logger: logger.child({ component: 'calls' }),
  });
  const { ended } = await calls.restore();
  if (ended) logger.info('calls left open by the last run were closed', { ended });

  const ledger = new LedgerService(db);
  const wallets = new WalletService(db);
  const ratePlans = new RatePlanService(db);
  const creditControl = new CreditControl({ db, ledger, wallets, tickMs: config.charging.tickMs, sliceSeconds: config.charging.sliceSeconds });
  creditControl.onListenerError = (event, err) => logger.error('charging listener failed', { event, err });
  creditControl.on('error', (e) => logger.error('charging tick failed', { sessionId: e.sessionId, err: e.error }));
  const cdrs = new CdrService(db);
  const billing: TaskBilling = new TaskBilling({
    chat,
    calls,
    plans: ratePlans,
    wallets,
    credit: creditControl,
    cdrs,
    accounts: db.getRepository(AccountEntity),
    expectedWaitMs: (queueId, position) => queueMonitor.expectedWaitMs(queueId, position),
    waitingCount: (queueId) => router.waitingCount(queueId),
    // On Redis other processes run sessions too: only one whose checkpoints stopped is settled.
    staleAfterMs: config.queueStore.kind === 'redis' ? 3 * config.charging.tickMs : null,
    logger: logger.child({ component: 'charging' }),
  });
  const charged = await billing.restore(await db.getRepository(TaskEntity).findBy({ status: 'assigned' }));
  if (charged.settled || charged.resumed) logger.info('charged sessions left open by the last run were settled', charged);
  creditControl.startTimer();
  const webhooks = new Map<string, HmacWebhookProvider>();
  if (config.charging.paymentWebhookSecret) {
    webhooks.set('psp', new HmacWebhookProvider({ id: 'psp', secret: config.charging.paymentWebhookSecret, ledger, wallets }));
  }
  const desk = new ChargingDesk({
    billing,
    plans: ratePlans,
    wallets,
    adminCredit: new AdminCreditProvider(ledger, wallets),
    webhooks,
    refunds: new RefundService(db, ledger),
    payouts: new PayoutService(db, ledger),
    cdrs,
    accounts: db.getRepository(AccountEntity),
    defaultCurrency: config.charging.defaultCurrency,
  });

  const vapid = resolveVapidKeys(config.push, { dataDir: config.dataDir, adminEmail: config.auth.adminEmail });
  const push = new PushService({
    subscriptions: db.getRepository(PushSubscriptionEntity),
    tasks: db.getRepository(TaskEntity),
    queues: db.getRepository(QueueEntity),
    customers: db.getRepository(CustomerEntity),
    send: createWebPushSender(vapid),
    // The sockets are attached just below; offers (which need connected agents) come after that.
    agentVisible: (agentId) => sockets.agentVisible(agentId),
    publicKey: vapid.publicKey,
    allowLoopbackEndpoints: config.push.allowLoopbackEndpoints === 'yes',
    logger: logger.child({ component: 'push' }),
  });

  // Agent sign-up and verification, password resets by link (docs/agents.md).
  let baseUrl = config.http.publicUrl.replace(/\/$/, '');
  const onboarding = new AgentOnboarding(db, accounts, {
    documentsDir: path.join(config.dataDir, 'agent-documents'),
    defaultChatCapacity: config.routing.defaultChatCapacity,
    logger: logger.child({ component: 'agents' }),
  });
  const resets = new PasswordResets(db, accounts, new OutboxMailer(path.join(config.dataDir, 'outbox'), logger.child({ component: 'mail' })), {
    ttlMs: config.auth.passwordResetTtlMinutes * 60_000,
    baseUrl: () => baseUrl,
    logger: logger.child({ component: 'auth' }),
  });
  const policySweep = new AgentPolicySweep({
    accounts: db.getRepository(AccountEntity),
    status: (agentId) => chat.agentStatus(agentId),
    setNotReady: (agentId, reason) => chat.setPresence(agentId, 'not_ready', reason),
    logger: logger.child({ component: 'agents' }),
  });

  const http = await buildHttpApp({
    config,
    logger,
    metrics,
    tokens,
    accounts,
    queues,
    customers,
    chat,
    queueMonitor,
    media: { engine: media.engine, iceServers },
    recordings,
    charging: desk,
    manager: { serviceTokens, social },
    context,
    sipTrunks: () => sip?.bridge.trunkStatus() ?? null,
    agentPhones,
    push,
    agentAccounts: { onboarding, resets, setNotReady: (agentId, reason) => chat.setPresence(agentId, 'not_ready', reason) },
    readiness: [
      {
        name: 'database',
        required: true,
        check: async () => {
          await db.query('SELECT 1');
          return { state: 'up', detail: config.db.kind };
        },
      },
      {
        name: 'queueStore',
        required: true,
        check: async () => {
          const h = await store.health();
          return { state: router.closed ? 'down' : h.state, detail: [config.queueStore.kind, h.detail].filter(Boolean).join(' — ') };
        },
      },
      {
        name: 'media',
        required: false,
        check: async () => {
          const h = await media.engine.health();
          return { state: h.state, detail: [h.version, h.detail].filter(Boolean).join(' — ') || media.janusProcess.detail };
        },
      },
    ],
  });
  await http.ready();
  const cluster = config.queueStore.kind === 'redis' ? await createClusterAdapter(config.queueStore.url, config.queueStore.keyPrefix) : null;
  const sockets = attachSockets(http.server, {
    adapter: cluster?.adapter,
    tokens,
    chat,
    customers,
    logger,
    metrics,
    maxPayloadBytes: config.http.bodyLimitBytes,
    queueMonitor,
    calls,
    social,
    context,
    escalations,
  });
  chat.setNotifier(sockets.notifier);
  // Revoked sessions (sign out everywhere, suspension, reset): old tokens fail at once here, and the
  // account's live connections close on every node.
  accounts.observer.on('sessions:revoked', (accountId, version) => {
    tokens.noteRevoked(accountId, version);
    for (const ns of ['/agent', '/supervisor']) {
      void sockets.io
        .of(ns)
        .fetchSockets()
        .then((all) => all.filter((s) => (s.data as { principal?: { accountId?: string } }).principal?.accountId === accountId).forEach((s) => s.disconnect(true)))
        .catch((err: unknown) => logger.warn('closing revoked connections failed', { err }));
    }
  });
  policySweep.start();
  calls.setNotifier(sockets.notifier);
  billing.setNotifier(sockets.notifier);
  // An agent whose app is in the background (or closed) hears of its offers by Web Push.
  router.on('offer', (agentId, ticket, expiresAt) => void push.offer(agentId, ticket.id, expiresAt));
  const sip = await startSipBridge({
    sip: config.sip,
    engine: media.engine,
    logger: logger.child({ component: 'sip' }),
    intake: (routingFor, opts) => new PhoneIntake({ chat, calls, customers, routingFor, callbacks: opts.callbacks, logger: logger.child({ component: 'phone' }) }),
  });
  const callbacks =
    sip && sip.callbackTrunkId
      ? new PhoneCallbacks({
          chat,
          calls,
          dial: (to, opts) => sip.bridge.dial({ trunkId: sip.callbackTrunkId!, to, legId: opts.legId, signal: opts.signal }),
          logger: logger.child({ component: 'callbacks' }),
        })
      : null;
  // "Ring my phone" goes out through the same trunk as callbacks.
  if (sip?.callbackTrunkId) {
    const trunkId = sip.callbackTrunkId;
    agentPhones.setDialer((room, legId, number) => sip.bridge.dial({ trunkId, to: number, room, legId }));
  }
  await http.listen({ host: config.http.host, port: config.http.port });
  const port = (http.server.address() as AddressInfo).port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  logger.info('listening', { port });
  baseUrl ||= `http://${host}:${port}`;
  // Retention: transcripts of conversations that ended long enough ago are removed, hourly.
  const transcriptSweep = setInterval(() => void context.sweepTranscripts().catch((err: unknown) => logger.error('transcript retention sweep failed', { err })), 3_600_000);
  transcriptSweep.unref();
  const manager = config.manager.mode === 'embedded' ? await startEmbeddedManager(config, `http://${host}:${port}`, serviceTokens, social, logger) : null;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    bootstrapAdmin,
    close() {
      closing ??= (async () => {
        clearInterval(transcriptSweep);
        escalations.close();
        await manager?.close();
        callbacks?.close();
        await sip?.close();
        await sockets.close(); // also closes the HTTP listener
        await cluster?.close();
        await http.close().catch(() => undefined);
        chat.close();
        await push.close();
        await calls.close();
        // Open charged sessions stay open in the database: the next start settles them from their checkpoints.
        creditControl.close();
        billing.close();
        queueMonitor.close();
        policySweep.close();
        router.close();
        await store.close();
        await media.close();
        await recordings.stop();
        await db.destroy();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}

/**
 * The Manager inside the server: like a separate one it uses only the public API, with a service token
 * of its own (a new one each start; the last start's is revoked). Admins' changes reach it at once.
 */
async function startEmbeddedManager(config: Config, serverUrl: string, serviceTokens: ServiceTokenService, social: SocialService, logger: Logger): Promise<ManagerHandle> {
  const NAME = 'embedded manager';
  await serviceTokens.revokeNamed(NAME);
  const { token } = await serviceTokens.create(NAME, 'system');
  const handle = await startManager({
    servers: [{ url: serverUrl, token }],
    logger,
    managerId: 'embedded',
    host: config.manager.host,
    port: config.manager.port,
    publicUrl: config.manager.publicUrl || undefined,
    refreshSeconds: config.manager.refreshSeconds,
  });
  social.observer.on('config:changed', () => {
    for (const m of handle.managers) void m.refresh().catch((err: unknown) => logger.warn('manager refresh failed', { err }));
  });
  return handle;
}
