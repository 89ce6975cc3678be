// The Manager's HTTP client of one mccs server's service API (protocol/manager.ts), with its service
// token. Every request has a timeout; network failures, 429 and 5xx are retried a few times with
// backoff (every call is idempotent on the server: submissions by sourceId + externalId). Replies are
// validated; config items are validated one by one so one bad item does not hide the others.
import http from 'node:http';
import https from 'node:https';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import {
  ManagerConfigReply,
  OutcomesReply,
  PolicyConfig,
  SourceConfig,
  SubmitPostReply,
  type SocialPostSubmission,
  type SourceStatusBody,
} from '../protocol/manager.js';
import { backoffDelay } from './sources/backoff.js';
import { parseRetryAfter } from './sources/http-fetch.js';

export interface ServerTarget {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Service token; never logged. */
  token: string;
}

export interface ClientOptions {
  timeoutMs: number;
  /** Attempts per call, the first included. */
  attempts: number;
  retryBaseMs: number;
}

export const DEFAULT_CLIENT_OPTIONS: ClientOptions = { timeoutMs: 10_000, attempts: 3, retryBaseMs: 500 };

export class ServerApiError extends Error {
  override name = 'ServerApiError';
  retryAfterMs: number | undefined;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface InvalidConfigItem {
  kind: 'source' | 'policy';
  id: string | undefined;
  message: string;
}

export interface FetchedConfig {
  sources: SourceConfig[];
  policies: PolicyConfig[];
  invalid: InvalidConfigItem[];
}

const submitReply = TypeCompiler.Compile(SubmitPostReply);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawReply {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

function firstError(schema: TSchema, value: unknown): string {
  const error = [...Value.Errors(schema, value)][0];
  return error ? `${error.path || '/'}: ${error.message}` : 'invalid';
}

export class ServerClient {
  readonly #base: string;
  readonly #options: ClientOptions;
  /** Kept-alive connections: submissions are many small requests to one server. */
  readonly #agent: http.Agent;

  constructor(
    readonly target: ServerTarget,
    options: Partial<ClientOptions> = {},
  ) {
    this.#base = target.url.replace(/\/+$/, '');
    this.#options = { ...DEFAULT_CLIENT_OPTIONS, ...options };
    this.#agent = new (this.#base.startsWith('https:') ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 64 });
  }

  /** Lets go of kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #send(method: string, path: string, body: string | undefined): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.#base + path);
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.target.token}`, accept: 'application/json' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent: this.#agent });
      const timer = setTimeout(() => req.destroy(new ServerApiError(`${method} ${path}: no answer within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof ServerApiError ? err : new ServerApiError(`${method} ${path}: ${(err as { code?: string }).code ?? err.message}`));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', () => {});
      });
      req.end(body);
    });
  }

  /** The server's base URL, for logs (never the token). */
  get url(): string {
    return this.#base;
  }

  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let lastError: ServerApiError | undefined;
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      if (attempt > 1) await sleep(this.#retryDelay(attempt - 1, lastError));
      let res: RawReply;
      try {
        res = await this.#send(method, path, body === undefined ? undefined : JSON.stringify(body));
      } catch (err) {
        lastError = err as ServerApiError;
        continue;
      }
      const text = res.text;
      if (res.status < 300) {
        try {
          return { status: res.status, json: text ? JSON.parse(text) : undefined };
        } catch {
          throw new ServerApiError(`${method} ${path}: the reply is not JSON`, res.status);
        }
      }
      lastError = new ServerApiError(`${method} ${path}: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`, res.status);
      lastError.retryAfterMs = parseRetryAfter(res.retryAfter);
      // A refusal (bad token, invalid body) does not improve by asking again.
      if (res.status !== 429 && res.status < 500) throw lastError;
    }
    throw lastError!;
  }

  #retryDelay(failures: number, last: ServerApiError | undefined): number {
    return Math.max(last?.retryAfterMs ?? 0, backoffDelay(failures, { baseMs: this.#options.retryBaseMs, maxMs: 30_000 }));
  }

  async getConfig(): Promise<FetchedConfig> {
    const { json } = await this.#request('GET', '/api/service/manager/config');
    if (!Value.Check(ManagerConfigReply, json)) throw new ServerApiError(`config reply: ${firstError(ManagerConfigReply, json)}`);
    const config: FetchedConfig = { sources: [], policies: [], invalid: [] };
    const idOf = (item: unknown) => (item && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : undefined);
    for (const item of json.sources) {
      if (Value.Check(SourceConfig, item)) config.sources.push(item);
      else config.invalid.push({ kind: 'source', id: idOf(item), message: firstError(SourceConfig, item) });
    }
    for (const item of json.policies) {
      if (Value.Check(PolicyConfig, item)) config.policies.push(item);
      else config.invalid.push({ kind: 'policy', id: idOf(item), message: firstError(PolicyConfig, item) });
    }
    return config;
  }

  async submitPost(submission: SocialPostSubmission): Promise<SubmitPostReply> {
    const { json } = await this.#request('POST', '/api/service/manager/posts', submission);
    if (!submitReply.Check(json)) throw new ServerApiError(`submit reply: ${firstError(SubmitPostReply, json)}`);
    return json;
  }

  async reportSourceStatus(sourceId: string, status: SourceStatusBody): Promise<void> {
    await this.#request('PUT', `/api/service/manager/sources/${encodeURIComponent(sourceId)}/status`, status);
  }

  async getOutcomes(after: string | undefined): Promise<OutcomesReply> {
    const query = after !== undefined ? `?after=${encodeURIComponent(after)}` : '';
    const { json } = await this.#request('GET', `/api/service/manager/outcomes${query}`);
    if (!Value.Check(OutcomesReply, json)) throw new ServerApiError(`outcomes reply: ${firstError(OutcomesReply, json)}`);
    return json;
  }
}
