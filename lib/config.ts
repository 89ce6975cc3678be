// Configuration: environment variables (MCCS_*), optionally a JSON file named by MCCS_CONFIG_FILE.
// Environment wins over the file. Everything is validated once at start; a bad value stops the
// process with one message per problem, naming the variable to fix.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseSecretsKey } from './secret-box.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Seconds = Type.Integer({ minimum: 1, maximum: 86_400 });
// RFC 7064/7065 STUN and TURN URLs (media/ice-servers.ts parses them the same way).
const StunUrl = Type.String({ pattern: '^stun:(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\\d{1,5})?$' });
const TurnUrl = Type.String({
  pattern: '^turns?:(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\\d{1,5})?(\\?transport=(udp|tcp))?$',
});

export const ConfigSchema = Type.Object({
  http: Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Port,
    /** Base URL printed at start and used in links, when behind a proxy; empty = where it listens. */
    publicUrl: Type.String({ pattern: '^(https?://.*)?$' }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024 }),
    /** Requests per minute per client address on public (unauthenticated) endpoints. */
    publicRateLimitPerMinute: Type.Integer({ minimum: 1 }),
    /** Folder of the built web client; empty disables serving it. */
    webRoot: Type.String(),
  }),
  sip: Type.Object({
    port: Port,
    /** Address the SIP bridge listens on (UDP and TCP). */
    host: Type.String({ minLength: 1 }),
    /** Address put in Via/Contact when listening on a wildcard or behind NAT; empty: host. */
    publicAddress: Type.String(),
    /** Address callers send RTP to when the media server's own is not reachable for them; empty: the media server's. */
    mediaAddress: Type.String(),
    /** JSON file with the trunks (TrunkConfig[] plus an optional queueId each); empty: no SIP bridge. */
    trunksFile: Type.String(),
    /** SIP over TLS: a port and the PEM key and certificate chain files; no TLS listener while either file is empty. */
    tlsPort: Port,
    tlsKeyFile: Type.String(),
    tlsCertFile: Type.String(),
    /** Ports of the per-call RTP relay (RFC 4733 digits, RTP time-out); apart from Janus's range. */
    rtpPortRange: Type.String({ pattern: '^\\d+-\\d+$' }),
    /** No RTP from a phone for this long (not on hold) ends the call; 0: no check. */
    rtpTimeoutSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  }),
  dataDir: Type.String({ minLength: 1 }),
  db: Type.Union([
    Type.Object({ kind: Type.Literal('sqlite'), file: Type.String({ minLength: 1 }) }),
    Type.Object({ kind: Type.Literal('postgres'), url: Type.String({ pattern: '^postgres(ql)?://' }) }),
  ]),
  queueStore: Type.Union([
    Type.Object({ kind: Type.Literal('memory') }),
    Type.Object({ kind: Type.Literal('redis'), url: Type.String({ pattern: '^rediss?://' }), keyPrefix: Type.String() }),
  ]),
  auth: Type.Object({
    /** HMAC secret for signed tokens; when empty one is generated and kept in the data folder. */
    tokenSecret: Type.String(),
    staffTokenTtlSeconds: Seconds,
    visitorTokenTtlSeconds: Type.Integer({ minimum: 60 }),
    adminEmail: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' }),
    /** For automation only: the first admin's password instead of a generated one. */
    adminInitialPassword: Type.String(),
    /** Failed sign-ins of one email within the lock time that lock it (docs/agents.md). */
    loginMaxFailures: Type.Integer({ minimum: 1, maximum: 100 }),
    /** How long such an email is locked, and the window the failures are counted in, minutes. */
    loginLockMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** How long a password-reset link works, minutes. */
    passwordResetTtlMinutes: Type.Integer({ minimum: 5, maximum: 1440 }),
  }),
  /** Secrets kept in the database that must be read back (SIP trunk passwords), encrypted with lib/secret-box.ts. */
  secrets: Type.Object({
    /** 32-byte key, 64 hex digits or base64; empty: derived from the token secret. */
    key: Type.String(),
    /** The key before a change (same form), to open values sealed with it; empty: none. Re-sealed with `key` at start. */
    previousKey: Type.String(),
  }),
  routing: Type.Object({
    offerTimeoutSeconds: Seconds,
    wrapUpSeconds: Seconds,
    defaultChatCapacity: Type.Integer({ minimum: 1, maximum: 20 }),
  }),
  janus: Type.Object({
    /** auto: start the janus binary when it exists; external: connect to wsUrl; off: no media server. */
    mode: Type.Union([Type.Literal('auto'), Type.Literal('external'), Type.Literal('off')]),
    binary: Type.String({ minLength: 1 }),
    /** One Janus WebSocket URL, or several separated by commas (media nodes; external mode). */
    wsUrl: Type.String({ pattern: '^wss?://[^,\\s]+(,\\s*wss?://[^,\\s]+)*$' }),
    wsPort: Port,
    rtpPortRange: Type.String({ pattern: '^\\d+-\\d+$' }),
  }),
  recordings: Type.Object({
    /** Finished call recordings; while a call runs the media server writes under `incoming/` here. */
    dir: Type.String({ minLength: 1 }),
    /** Days a recording is kept when its queue sets no retention of its own. */
    retentionDays: Type.Integer({ minimum: 1, maximum: 36_500 }),
  }),
  /** Customer context (context/). */
  context: Type.Object({
    /** Days what was written and said in a conversation is kept after it ended. */
    transcriptRetentionDays: Type.Integer({ minimum: 1, maximum: 36_500 }),
  }),
  /** Online charging (charging/): prepaid reservations and their clock. */
  charging: Type.Object({
    /** How often open sessions record their bridged time and top up their reservation, ms. */
    tickMs: Type.Integer({ minimum: 50, maximum: 60_000 }),
    /** The paid time one reservation covers (a Diameter credit-control slice), seconds. */
    sliceSeconds: Type.Integer({ minimum: 10, maximum: 3600 }),
    /** Currency of a wallet opened before anything was paid into it (ISO 4217). */
    defaultCurrency: Type.String({ pattern: '^[A-Z]{3}$' }),
    /** HMAC secret of the signed payment webhook (`POST /api/payments/psp/webhook`); empty: no such provider. */
    paymentWebhookSecret: Type.String(),
  }),
  /** The Manager (manager/) run inside this process; a separate Manager process has the same variables. */
  manager: Type.Object({
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('off')]),
    /** Its intake listener (WebSub callbacks, signed webhooks); port 0: any free port. */
    host: Type.String({ minLength: 1 }),
    port: Port,
    /** How hubs and webhook senders reach that listener; empty: http://host:port. */
    publicUrl: Type.String({ pattern: '^(https?://.*)?$' }),
    /** How often it fetches sources and policies again (an admin's change also tells it at once). */
    refreshSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  }),
  /** ICE servers for browsers (NAT traversal); TURN credentials are short-lived (coturn use-auth-secret). */
  ice: Type.Object({
    stunUrls: Type.Array(StunUrl),
    turnUrls: Type.Array(TurnUrl),
    /** coturn's static-auth-secret; empty: no TURN server is offered. */
    turnSecret: Type.String(),
    ttlSeconds: Type.Integer({ minimum: 60, maximum: 86_400 }),
  }),
  /** Web Push (push/, docs/push.md): offers reach agents whose app is in the background. */
  push: Type.Object({
    /** VAPID key pair (RFC 8292), base64url: the uncompressed P-256 public key and the private scalar; empty: generated and kept in the data folder. */
    vapidPublicKey: Type.String({ pattern: '^([A-Za-z0-9_-]{87})?$' }),
    vapidPrivateKey: Type.String({ pattern: '^([A-Za-z0-9_-]{43})?$' }),
    /** Contact push services may use (mailto: or https:); empty: mailto: the first admin's email. */
    vapidSubject: Type.String({ pattern: '^((mailto:|https://)\\S+)?$' }),
    /** For tests only: accept http:// subscription endpoints on the loopback address. */
    allowLoopbackEndpoints: Type.Union([Type.Literal('yes'), Type.Literal('no')]),
    /** How long an agent with "Get offers when the app is closed" stays ready without any connection before being logged off, seconds. */
    reachableSeconds: Type.Integer({ minimum: 1, maximum: 7 * 86_400 }),
    /** Offer timeout for such an agent, seconds; 0: the same as routing.offerTimeoutSeconds. */
    offerTimeoutSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  }),
  log: Type.Object({
    level: Type.Union(['error', 'warn', 'info', 'http', 'verbose', 'debug'].map((l) => Type.Literal(l))),
    format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')]),
  }),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Each variable, what it sets, and how its text becomes a value. Documented in docs/configuration.md. */
// 'list': comma-separated, blanks dropped. secret: its value never appears in an error message.
const VARIABLES: Array<{ name: string; path: string; kind: 'string' | 'int' | 'list'; secret?: boolean }> = [
  { name: 'MCCS_HTTP_HOST', path: 'http.host', kind: 'string' },
  { name: 'MCCS_HTTP_PORT', path: 'http.port', kind: 'int' },
  { name: 'MCCS_PUBLIC_URL', path: 'http.publicUrl', kind: 'string' },
  { name: 'MCCS_BODY_LIMIT_BYTES', path: 'http.bodyLimitBytes', kind: 'int' },
  { name: 'MCCS_PUBLIC_RATE_LIMIT', path: 'http.publicRateLimitPerMinute', kind: 'int' },
  { name: 'MCCS_WEB_ROOT', path: 'http.webRoot', kind: 'string' },
  { name: 'MCCS_SIP_PORT', path: 'sip.port', kind: 'int' },
  { name: 'MCCS_SIP_HOST', path: 'sip.host', kind: 'string' },
  { name: 'MCCS_SIP_PUBLIC_ADDRESS', path: 'sip.publicAddress', kind: 'string' },
  { name: 'MCCS_SIP_MEDIA_ADDRESS', path: 'sip.mediaAddress', kind: 'string' },
  { name: 'MCCS_SIP_TRUNKS_FILE', path: 'sip.trunksFile', kind: 'string' },
  { name: 'MCCS_SIP_TLS_PORT', path: 'sip.tlsPort', kind: 'int' },
  { name: 'MCCS_SIP_RTP_PORTS', path: 'sip.rtpPortRange', kind: 'string' },
  { name: 'MCCS_SIP_RTP_TIMEOUT_SECONDS', path: 'sip.rtpTimeoutSeconds', kind: 'int' },
  { name: 'MCCS_SIP_TLS_KEY_FILE', path: 'sip.tlsKeyFile', kind: 'string' },
  { name: 'MCCS_SIP_TLS_CERT_FILE', path: 'sip.tlsCertFile', kind: 'string' },
  { name: 'MCCS_DATA_DIR', path: 'dataDir', kind: 'string' },
  { name: 'MCCS_TOKEN_SECRET', path: 'auth.tokenSecret', kind: 'string', secret: true },
  { name: 'MCCS_SECRETS_KEY', path: 'secrets.key', kind: 'string', secret: true },
  { name: 'MCCS_SECRETS_KEY_PREVIOUS', path: 'secrets.previousKey', kind: 'string', secret: true },
  { name: 'MCCS_STAFF_TOKEN_TTL', path: 'auth.staffTokenTtlSeconds', kind: 'int' },
  { name: 'MCCS_VISITOR_TOKEN_TTL', path: 'auth.visitorTokenTtlSeconds', kind: 'int' },
  { name: 'MCCS_ADMIN_EMAIL', path: 'auth.adminEmail', kind: 'string' },
  { name: 'MCCS_ADMIN_INITIAL_PASSWORD', path: 'auth.adminInitialPassword', kind: 'string' },
  { name: 'MCCS_LOGIN_MAX_FAILURES', path: 'auth.loginMaxFailures', kind: 'int' },
  { name: 'MCCS_LOGIN_LOCK_MINUTES', path: 'auth.loginLockMinutes', kind: 'int' },
  { name: 'MCCS_PASSWORD_RESET_TTL_MINUTES', path: 'auth.passwordResetTtlMinutes', kind: 'int' },
  { name: 'MCCS_OFFER_TIMEOUT', path: 'routing.offerTimeoutSeconds', kind: 'int' },
  { name: 'MCCS_WRAPUP_SECONDS', path: 'routing.wrapUpSeconds', kind: 'int' },
  { name: 'MCCS_CHAT_CAPACITY', path: 'routing.defaultChatCapacity', kind: 'int' },
  { name: 'MCCS_JANUS', path: 'janus.mode', kind: 'string' },
  { name: 'MCCS_JANUS_BIN', path: 'janus.binary', kind: 'string' },
  { name: 'MCCS_JANUS_WS_URL', path: 'janus.wsUrl', kind: 'string' },
  { name: 'MCCS_JANUS_WS_PORT', path: 'janus.wsPort', kind: 'int' },
  { name: 'MCCS_JANUS_RTP_PORTS', path: 'janus.rtpPortRange', kind: 'string' },
  { name: 'MCCS_RECORDINGS_DIR', path: 'recordings.dir', kind: 'string' },
  { name: 'MCCS_RECORDING_RETENTION_DAYS', path: 'recordings.retentionDays', kind: 'int' },
  { name: 'MCCS_TRANSCRIPT_RETENTION_DAYS', path: 'context.transcriptRetentionDays', kind: 'int' },
  { name: 'MCCS_CHARGING_TICK_MS', path: 'charging.tickMs', kind: 'int' },
  { name: 'MCCS_CHARGING_SLICE_SECONDS', path: 'charging.sliceSeconds', kind: 'int' },
  { name: 'MCCS_CURRENCY', path: 'charging.defaultCurrency', kind: 'string' },
  { name: 'MCCS_PAYMENT_WEBHOOK_SECRET', path: 'charging.paymentWebhookSecret', kind: 'string', secret: true },
  { name: 'MCCS_MANAGER', path: 'manager.mode', kind: 'string' },
  { name: 'MCCS_MANAGER_HOST', path: 'manager.host', kind: 'string' },
  { name: 'MCCS_MANAGER_PORT', path: 'manager.port', kind: 'int' },
  { name: 'MCCS_MANAGER_PUBLIC_URL', path: 'manager.publicUrl', kind: 'string' },
  { name: 'MCCS_MANAGER_REFRESH_SECONDS', path: 'manager.refreshSeconds', kind: 'int' },
  { name: 'MCCS_STUN_URLS', path: 'ice.stunUrls', kind: 'list' },
  { name: 'MCCS_TURN_URLS', path: 'ice.turnUrls', kind: 'list' },
  { name: 'MCCS_TURN_SECRET', path: 'ice.turnSecret', kind: 'string', secret: true },
  { name: 'MCCS_TURN_TTL_SECONDS', path: 'ice.ttlSeconds', kind: 'int' },
  { name: 'MCCS_VAPID_PUBLIC_KEY', path: 'push.vapidPublicKey', kind: 'string' },
  { name: 'MCCS_VAPID_PRIVATE_KEY', path: 'push.vapidPrivateKey', kind: 'string', secret: true },
  { name: 'MCCS_VAPID_SUBJECT', path: 'push.vapidSubject', kind: 'string' },
  { name: 'MCCS_PUSH_ALLOW_LOOPBACK', path: 'push.allowLoopbackEndpoints', kind: 'string' },
  { name: 'MCCS_PUSH_REACHABLE_SECONDS', path: 'push.reachableSeconds', kind: 'int' },
  { name: 'MCCS_PUSH_OFFER_TIMEOUT', path: 'push.offerTimeoutSeconds', kind: 'int' },
  { name: 'MCCS_LOG_LEVEL', path: 'log.level', kind: 'string' },
  { name: 'MCCS_LOG_FORMAT', path: 'log.format', kind: 'string' },
];

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Builds and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  if (env.MCCS_CONFIG_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.MCCS_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      problems.push(`MCCS_CONFIG_FILE: cannot read ${env.MCCS_CONFIG_FILE}: ${(err as Error).message}`);
    }
  }

  const fromEnv: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.name];
    if (raw === undefined || raw === '') continue;
    if (v.kind === 'int') {
      if (!/^-?\d+$/.test(raw.trim())) problems.push(`${v.name}: expected a whole number, got "${raw}"`);
      else setPath(fromEnv, v.path, Number(raw));
    } else if (v.kind === 'list') {
      setPath(fromEnv, v.path, raw.split(',').map((item) => item.trim()).filter((item) => item !== ''));
    } else setPath(fromEnv, v.path, raw);
  }
  // The database and queue store are chosen by URL: a PostgreSQL URL means PostgreSQL, a Redis URL
  // means Redis. Checked here, so a wrong URL is reported under its variable's name.
  let dbFromEnv: Config['db'] | undefined;
  let storeFromEnv: Config['queueStore'] | undefined;
  if (env.MCCS_DATABASE_URL) {
    if (/^postgres(ql)?:\/\/\S+$/.test(env.MCCS_DATABASE_URL)) dbFromEnv = { kind: 'postgres', url: env.MCCS_DATABASE_URL };
    else problems.push(`MCCS_DATABASE_URL: expected a postgres:// or postgresql:// URL, got "${redactUrl(env.MCCS_DATABASE_URL)}"`);
  }
  if (env.MCCS_REDIS_URL) {
    if (/^rediss?:\/\/\S+$/.test(env.MCCS_REDIS_URL)) {
      storeFromEnv = { kind: 'redis', url: env.MCCS_REDIS_URL, keyPrefix: env.MCCS_REDIS_PREFIX ?? 'mccs:' };
    } else problems.push(`MCCS_REDIS_URL: expected a redis:// or rediss:// URL, got "${redactUrl(env.MCCS_REDIS_URL)}"`);
  }

  const merged = deepMerge(fromFile, fromEnv);
  const dataDir = path.resolve(cwd, (merged.dataDir as string | undefined) ?? 'data');
  const janusPort = ((merged.janus as { wsPort?: number } | undefined)?.wsPort) ?? 8188;
  const defaults = {
    http: {
      host: '0.0.0.0',
      port: 8080,
      publicUrl: '',
      bodyLimitBytes: 64 * 1024,
      publicRateLimitPerMinute: 120,
      webRoot: path.resolve(cwd, 'dist/web'),
    },
    sip: { port: 5060, host: '127.0.0.1', publicAddress: '', mediaAddress: '', trunksFile: '', tlsPort: 5061, tlsKeyFile: '', tlsCertFile: '', rtpPortRange: '41000-50999', rtpTimeoutSeconds: 30 },
    dataDir,
    db: { kind: 'sqlite', file: path.join(dataDir, 'mccs.sqlite') },
    queueStore: { kind: 'memory' },
    auth: {
      tokenSecret: '',
      staffTokenTtlSeconds: 12 * 3600,
      visitorTokenTtlSeconds: 30 * 86_400,
      adminEmail: 'admin@mccs.local',
      adminInitialPassword: '',
      loginMaxFailures: 5,
      loginLockMinutes: 15,
      passwordResetTtlMinutes: 30,
    },
    secrets: { key: '', previousKey: '' },
    routing: { offerTimeoutSeconds: 20, wrapUpSeconds: 60, defaultChatCapacity: 3 },
    janus: {
      mode: 'auto',
      binary: 'janus',
      wsUrl: `ws://127.0.0.1:${janusPort}`,
      wsPort: janusPort,
      rtpPortRange: '20000-40000',
    },
    recordings: { dir: path.join(dataDir, 'recordings'), retentionDays: 90 },
    manager: { mode: 'embedded', host: '127.0.0.1', port: 0, publicUrl: '', refreshSeconds: 60 },
    context: { transcriptRetentionDays: 365 },
    charging: { tickMs: 5000, sliceSeconds: 300, defaultCurrency: 'EUR', paymentWebhookSecret: '' },
    ice: { stunUrls: [], turnUrls: [], turnSecret: '', ttlSeconds: 600 },
    push: { vapidPublicKey: '', vapidPrivateKey: '', vapidSubject: '', allowLoopbackEndpoints: 'no', reachableSeconds: 12 * 3600, offerTimeoutSeconds: 0 },
    log: { level: 'info', format: 'auto' },
  };
  const config = deepMerge(defaults, { ...merged, dataDir });
  // A relative recordings folder is relative to where mccs starts, like the data folder.
  const recordings = config.recordings as { dir?: unknown };
  if (typeof recordings.dir === 'string' && recordings.dir) recordings.dir = path.resolve(cwd, recordings.dir);
  // A URL from the environment replaces the whole choice (no SQLite file left beside a PostgreSQL URL).
  if (dbFromEnv) config.db = dbFromEnv;
  if (storeFromEnv) config.queueStore = storeFromEnv;

  for (const error of Value.Errors(ConfigSchema, config)) {
    // A list item's error (/ice/turnUrls/1) belongs to the list's variable.
    const variable = VARIABLES.find((v) => {
      const p = '/' + v.path.replaceAll('.', '/');
      return error.path === p || error.path.startsWith(p + '/');
    });
    const got = variable?.secret ? 'value hidden' : `got ${JSON.stringify(error.value)}`;
    problems.push(`${variable ? variable.name : error.path}: ${error.message} (${got})`);
  }
  // TURN needs both halves; one without the other would silently offer no TURN server.
  const ice = config.ice as Partial<Config['ice']> | undefined;
  if (ice && Array.isArray(ice.turnUrls) && typeof ice.turnSecret === 'string') {
    if (ice.turnUrls.length > 0 && ice.turnSecret === '') problems.push('MCCS_TURN_SECRET: required when MCCS_TURN_URLS is set (coturn static-auth-secret)');
    else if (ice.turnUrls.length === 0 && ice.turnSecret !== '') problems.push('MCCS_TURN_URLS: required when MCCS_TURN_SECRET is set');
    else if (ice.turnSecret !== '' && ice.turnSecret.length < 16) {
      // Every visitor sees a username and its HMAC: a short secret can be found from them offline.
      problems.push('MCCS_TURN_SECRET: too short, use at least 16 characters (value hidden; e.g. `openssl rand -hex 32`)');
    }
  }
  // A VAPID key pair is configured whole or generated whole: half of one cannot sign.
  const push = config.push as Partial<Config['push']> | undefined;
  if (push && typeof push.vapidPublicKey === 'string' && typeof push.vapidPrivateKey === 'string' && !push.vapidPublicKey !== !push.vapidPrivateKey) {
    problems.push(`${push.vapidPublicKey ? 'MCCS_VAPID_PRIVATE_KEY' : 'MCCS_VAPID_PUBLIC_KEY'}: required with the other half of the VAPID key pair (or leave both empty to generate one)`);
  }
  // A wrong-sized key would only fail later, at the first secret read; say it here, without the value.
  const secrets = config.secrets as Partial<Config['secrets']> | undefined;
  for (const [name, value] of [['MCCS_SECRETS_KEY', secrets?.key], ['MCCS_SECRETS_KEY_PREVIOUS', secrets?.previousKey]] as const) {
    if (typeof value === 'string' && value !== '' && !parseSecretsKey(value)) {
      problems.push(`${name}: expected 32 bytes as 64 hex digits or base64 (value hidden; e.g. \`openssl rand -base64 32\`)`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return config as Config;
}

export const CONFIG_VARIABLES = VARIABLES.map((v) => v.name);

/** A URL as it may be shown: without its password. */
function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}
