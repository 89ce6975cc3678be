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
import { ClusterEventRelay } from './routing/cluster-events.js';
import { exportQueueMetrics } from './signaling/queue-metrics-exporter.js';
import { TokenService, resolveTokenSecret } from './signaling/auth/tokens.js';
import { Metrics } from './signaling/metrics.js';
import { buildHttpApp } from './signaling/http/app.js';
import { attachSockets } from './signaling/sockets/socket-server.js';
import { createClusterAdapter } from './signaling/sockets/cluster-adapter.js';
import { startMedia } from './media/index.js';
import { CallService } from './calls/call-service.js';
import { CannedResponses } from './canned/canned-responses.js';
import { CannedResponseEntity } from './db/canned-entities.js';
import { createIceServerIssuer } from './media/ice-servers.js';
import { PhoneIntake } from './calls/phone-intake.js';
import { openSipTrunks, startSip } from './sip-bridge/start.js';
import { createSecretBox } from './lib/secret-box.js';
import { ClusterNotice } from './lib/cluster-notice.js';
import { ClusterHoldRelay } from './calls/cluster-hold.js';
import { WalletMerge } from './charging/wallet-merge.js';
import { PROMPTS_DIR } from './sip-bridge/index.js';
import { SipTrunkEntity } from './db/sip-entities.js';
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
import { EMAIL_VERIFICATION_DEFAULTS, EmailVerifications } from './context/email-verification.js';
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
  // Read before anything runs: a bad trunks file, or a key that does not open the stored trunk
  // passwords (MCCS_SECRETS_KEY, else derived from the token secret, or MCCS_SECRETS_KEY_PREVIOUS),
  // stops the start here; those only the previous key opens are sealed again with the current one.
  const sipTrunks = await openSipTrunks({
    sip: config.sip,
    repo: db.getRepository(SipTrunkEntity),
    secrets: createSecretBox(config.secrets.key, tokenSecret, config.secrets.previousKey),
    logger: logger.child({ component: 'sip' }),
  }).catch(async (err: unknown) => {
    await db.destroy();
    throw err;
  });
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
    // "Get offers when the app is closed" (docs/push.md). Push is built below; only a dropped
    // connection asks, and connections come once the server listens.
    reachableWhenClosed: (agentId): Promise<boolean> => push.reachableWhenClosed(agentId),
    pushReachableMs: config.push.reachableSeconds * 1000,
    pushOfferTimeoutMs: (config.push.offerTimeoutSeconds || config.routing.offerTimeoutSeconds) * 1000,
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
      taskDetails: async (task, agentId) => ({ ...(await social.taskDetails(task)), context: await context.offerContext(task, agentId) }),
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
  // With several nodes (Redis), each node's metrics count every node's events, not only its own.
  const clusterEvents =
    config.queueStore.kind === 'redis'
      ? await ClusterEventRelay.start(config.queueStore.url, config.queueStore.keyPrefix, { chat: chat.observer, routing: router }, logger.child({ component: 'cluster-events' }))
      : null;
  const queueMonitor = new QueueMonitor(
    {
      ...routingSource(router),
      chat: clusterEvents?.chat ?? chat.observer,
      routing: clusterEvents?.routing ?? router,
      // As the agent's app shows it (wrap-up included), for the wallboard's agents by state.
      shownState: async (agentId) => (await chat.agentStatus(agentId)).state,
      queueIds: async () => (await queues.list()).map((q) => q.id),
    },
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
    // The phone prompts' music, for browser and phone customers alike (the media server reads it).
    holdMusic: path.join(PROMPTS_DIR, 'music-on-hold.opus'),
    logger: logger.child({ component: 'calls' }),
  });
  const { ended } = await calls.restore();
  if (ended) logger.info('calls left open by the last run were closed', { ended });
  // A customer who confirms an email during a call becomes the older profile: the call follows them.
  context.observer.on('customer:merged', (e) => calls.customerMerged(e.fromId, e.intoId));
  // With several nodes a hold decided on one node moves the agent's leg on the node that joined it.
  const holdRelay =
    config.queueStore.kind === 'redis' ? await ClusterHoldRelay.start(config.queueStore.url, config.queueStore.keyPrefix, calls, logger.child({ component: 'calls' })) : null;

  const ledger = new LedgerService(db);
  const wallets = new WalletService(db);
  const ratePlans = new RatePlanService(db);
  const creditControl = new CreditControl({ db, ledger, wallets, tickMs: config.charging.tickMs, sliceSeconds: config.charging.sliceSeconds });
  creditControl.onListenerError = (event, err) => logger.error('charging listener failed', { event, err });
  creditControl.on('error', (e) => logger.error('charging tick failed', { sessionId: e.sessionId, err: e.error }));
  const cdrs = new CdrService(db);
  // A merged profile's money goes to the survivor: at the merge, and what a running session held once it settles.
  const walletMerge = new WalletMerge(db, ledger, wallets, logger.child({ component: 'charging' }));
  context.observer.on('customer:merged', (e) => {
    void walletMerge.sweep(e.fromId, e.intoId).catch((err: unknown) => logger.error('moving a merged profile\'s balance failed', { fromId: e.fromId, err }));
  });
  const billing: TaskBilling = new TaskBilling({
    chat,
    calls,
    plans: ratePlans,
    wallets,
    walletMerge,
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
    accounts: db.getRepository(AccountEntity),
    send: createWebPushSender(vapid),
    // The sockets are attached just below; offers (which need an agent that has connected) come after that.
    agentVisible: (agentId) => sockets.agentVisible(agentId),
    unreachable: (agentId, reason): Promise<void> => router.pushUnreachable(agentId, reason),
    publicKey: vapid.publicKey,
    allowLoopbackEndpoints: config.push.allowLoopbackEndpoints === 'yes',
    logger: logger.child({ component: 'push' }),
  });

  // Agent sign-up and verification, password resets by link (docs/agents.md).
  let baseUrl = config.http.publicUrl.replace(/\/$/, '');
  const onboarding = new AgentOnboarding(db, accounts, {
    documentsDir: path.join(config.dataDir, 'agent-documents'),
    defaultChatCapacity: config.routing.defaultChatCapacity,
    checkAgentPrice: (price) => desk.checkAgentPrice(price),
    logger: logger.child({ component: 'agents' }),
  });
  const mailer = new OutboxMailer(path.join(config.dataDir, 'outbox'), logger.child({ component: 'mail' }));
  const resets = new PasswordResets(db, accounts, mailer, {
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
    // Customers' emails link profiles only once confirmed with a mailed code (docs/context.md).
    emailVerifications: new EmailVerifications(db, context, mailer, { ...EMAIL_VERIFICATION_DEFAULTS, logger: logger.child({ component: 'context' }) }),
    // Built below (after the sockets, for phone intake); no request arrives before the server listens.
    sipTrunks: () => sip,
    agentPhones,
    push,
    canned: new CannedResponses({ responses: db.getRepository(CannedResponseEntity), queues: db.getRepository(QueueEntity) }),
    agentAccounts: {
      onboarding,
      resets,
      setNotReady: (agentId, reason) => chat.setPresence(agentId, 'not_ready', reason ?? undefined),
      // The sockets are attached below; no decision arrives before the server listens.
      accountUpdated: (agentId, verification) => sockets.notifier.toAgent(agentId, 'account:updated', { verification }),
    },
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
  router.on('offer', (agentId, ticket, expiresAt, byPush) => void push.offer(agentId, ticket.id, expiresAt, byPush));
  // With several nodes a trunk changed on one is read again by the others within moments.
  const trunkNotices =
    config.queueStore.kind === 'redis' ? await ClusterNotice.start(config.queueStore.url, `${config.queueStore.keyPrefix}sip-trunks-changed`, logger.child({ component: 'sip' })) : null;
  const sip = await startSip({
    sip: config.sip,
    engine: media.engine,
    logger: logger.child({ component: 'sip' }),
    trunks: sipTrunks,
    ...(trunkNotices ? { notices: trunkNotices } : {}),
    intake: (routingFor, opts) =>
      new PhoneIntake({
        chat,
        calls,
        customers,
        routingFor,
        // Read on every call: an admin may add or remove the callback trunk at any time.
        get callbacks() {
          return opts.callbacks();
        },
        logger: logger.child({ component: 'phone' }),
      }),
  });
  // Callbacks and "ring my phone" go out through the callback trunk, from the moment there is one.
  let callbacks: PhoneCallbacks | null = null;
  const callbackTrunkChanged = () => {
    const available = sip.callbackTrunkId !== null;
    callbacks ??= available
      ? new PhoneCallbacks({ chat, calls, dial: (to, opts) => sip.dialCallback({ to, legId: opts.legId, signal: opts.signal }), logger: logger.child({ component: 'callbacks' }) })
      : null;
    agentPhones.setDialer(available ? (room, legId, number) => sip.dialCallback({ to: number, room, legId }) : null);
  };
  callbackTrunkChanged();
  sip.on('changed', callbackTrunkChanged);
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
        await trunkNotices?.close();
        await sip.close();
        await sockets.close(); // also closes the HTTP listener
        await cluster?.close();
        await http.close().catch(() => undefined);
        chat.close();
        await push.close();
        await holdRelay?.close();
        await calls.close();
        // Open charged sessions stay open in the database: the next start settles them from their checkpoints.
        creditControl.close();
        billing.close();
        queueMonitor.close();
        await clusterEvents?.close();
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
