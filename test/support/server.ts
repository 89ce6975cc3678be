// Starts a real mccs (in this process) on a free port with its own data folder, and helpers to act
// as admin, agent and customer through the public HTTP API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { startMccs, type Mccs } from '../../app.js';

export const ADMIN_EMAIL = 'admin@mccs.local';
export const ADMIN_FIRST_PASSWORD = 'first-admin-pass-1';
export const ADMIN_PASSWORD = 'changed-admin-pass-2';
export const TOKEN_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestServer {
  mccs: Mccs;
  url: string;
  config: Config;
  dataDir: string;
  /** Log lines the server wrote (JSON), for assertions about logging. */
  logs: string[];
  restart(): Promise<void>;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'mccs-test-'));
  const config = loadConfig({
    MCCS_DATA_DIR: dir,
    MCCS_HTTP_HOST: '127.0.0.1',
    MCCS_HTTP_PORT: '0',
    MCCS_JANUS: 'off',
    MCCS_WEB_ROOT: '',
    MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
    MCCS_TOKEN_SECRET: TOKEN_SECRET,
    MCCS_LOG_LEVEL: 'info',
    MCCS_LOG_FORMAT: 'json',
    MCCS_PUBLIC_RATE_LIMIT: '10000',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const server: TestServer = {
    mccs: await startMccs(config, createLogger(config, sink)),
    url: '',
    config,
    dataDir: dir,
    logs,
    async restart() {
      await server.mccs.close();
      server.mccs = await startMccs({ ...config, http: { ...config.http, port: server.mccs.port } }, createLogger(config, sink));
      server.url = server.mccs.url;
    },
    async close(opts = {}) {
      await server.mccs.close();
      if (!opts.keepData && !dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  server.url = server.mccs.url;
  return server;
}

/** A test server and the first admin's token (a test file's usual start). */
export async function startTestServerWithAdmin(env: Record<string, string> = {}): Promise<{ server: TestServer; admin: string }> {
  const server = await startTestServer(env);
  return { server, admin: await adminToken(server.url) };
}

export async function api<T = unknown>(
  base: string,
  method: string,
  route: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + route, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Signs in as the first admin, changing the one-time password on the first call. */
export async function adminToken(base: string): Promise<string> {
  let login = await api<{ token: string; account: { mustChangePassword: boolean } }>(base, 'POST', '/api/auth/login', {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  if (login.status === 401) {
    const first = await api<{ token: string }>(base, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_FIRST_PASSWORD });
    const changed = await api(base, 'POST', '/api/auth/password', { currentPassword: ADMIN_FIRST_PASSWORD, newPassword: ADMIN_PASSWORD }, first.body.token);
    if (changed.status !== 204) throw new Error(`password change failed: ${JSON.stringify(changed.body)}`);
    login = await api(base, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  }
  if (login.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(login.body)}`);
  return login.body.token;
}

let agentSeq = 0;
/** Creates an agent account and returns its sign-in token. */
export async function createAgent(
  base: string,
  admin: string,
  opts: { displayName?: string; chatCapacity?: number; skills?: Array<{ skill: string; level: number }> } = {},
): Promise<{ id: string; token: string; email: string; password: string }> {
  const email = `agent${++agentSeq}-${Date.now()}@example.test`;
  const password = 'agent-password-123';
  const created = await api<{ id: string }>(
    base,
    'POST',
    '/api/admin/accounts',
    { email, password, displayName: opts.displayName ?? `Agent ${agentSeq}`, role: 'agent', chatCapacity: opts.chatCapacity ?? 2, skills: opts.skills ?? [] },
    admin,
  );
  if (created.status !== 201) throw new Error(`agent creation failed: ${JSON.stringify(created.body)}`);
  const login = await api<{ token: string }>(base, 'POST', '/api/auth/login', { email, password });
  return { id: created.body.id, token: login.body.token, email, password };
}

export async function visitorToken(base: string, displayName = 'Test Customer'): Promise<{ token: string; customerId: string }> {
  const res = await api<{ token: string; customerId: string }>(base, 'POST', '/api/visitor-token', { displayName });
  if (res.status !== 200) throw new Error(`visitor token failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until /readyz says the media server is up (Janus starts in the background), at most `ms`. */
export async function waitForMedia(base: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ready = await (await fetch(`${base}/readyz`)).text();
    if (/"media":\{"state":"up"/.test(ready)) return;
    if (Date.now() > deadline) throw new Error(`media never came up: ${ready}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
