// GET over node:http(s) with the limits a bad source needs: a connect timeout, a total timeout, a cap
// on the (decompressed) body that aborts the download, a few redirects. Failures are FetchErrors whose
// message says what went wrong in words an admin can act on.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';

export interface FetchLimits {
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { connectTimeoutMs: 10_000, totalTimeoutMs: 30_000, maxBytes: 5 * 1024 * 1024, maxRedirects: 5 };

export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    /** The server's Retry-After, ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface FetchedResource {
  status: number;
  headers: IncomingHttpHeaders;
  /** The final URL, after redirects. */
  url: string;
  body: Buffer;
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
};

function describe(err: unknown): FetchError {
  if (err instanceof FetchError) return err;
  const code = (err as { code?: string }).code;
  return new FetchError(code && NETWORK_ERRORS[code] ? NETWORK_ERRORS[code] : `network error: ${(err as Error).message}`);
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

interface Connected {
  response: IncomingMessage;
  /** Cancels the request and its timers. */
  abort(reason: Error): void;
  /** Why the request was cut, once it was (a timeout, the size cap). */
  abortReason(): Error | undefined;
}

/**
 * Sends a GET and resolves once the response headers are in. The connect timeout runs until the TCP
 * (and TLS) connection is up; the total timeout (when given) runs until abort() or the caller's end.
 */
function connect(url: URL, headers: Record<string, string>, connectTimeoutMs: number, totalTimeoutMs: number | undefined, signal?: AbortSignal): Promise<Connected> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new FetchError(`unsupported URL scheme ${url.protocol}`));
    const request = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers });
    let settled = false;
    let abortReason: Error | undefined;
    const timers: NodeJS.Timeout[] = [];
    const abort = (reason: Error) => {
      abortReason ??= reason;
      timers.forEach(clearTimeout);
      signal?.removeEventListener('abort', onAbort);
      request.destroy(reason);
    };
    const onAbort = () => abort(new FetchError('cancelled'));
    const fail = (err: unknown) => {
      abort(err as Error);
      if (!settled) {
        settled = true;
        reject(describe(err));
      }
    };
    if (signal?.aborted) return fail(new FetchError('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const connectTimer = setTimeout(() => fail(new FetchError(`no connection within ${connectTimeoutMs / 1000} s`)), connectTimeoutMs);
    timers.push(connectTimer);
    if (totalTimeoutMs !== undefined) timers.push(setTimeout(() => fail(new FetchError(`no complete answer within ${totalTimeoutMs / 1000} s`)), totalTimeoutMs));
    request.on('socket', (socket) => {
      // A kept-alive socket is already connected.
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    request.on('error', fail);
    request.on('response', (response) => {
      settled = true;
      response.on('error', () => {});
      resolve({ response, abort, abortReason: () => abortReason });
    });
    request.end();
  });
}

function decompressed(response: IncomingMessage): Readable {
  switch (String(response.headers['content-encoding'] ?? '').toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return response.pipe(zlib.createGunzip());
    case 'deflate':
      return response.pipe(zlib.createInflate());
    case 'br':
      return response.pipe(zlib.createBrotliDecompress());
    default:
      return response;
  }
}

/** Reads the body up to the cap; aborts the download past it. */
function readBody({ response, abort, abortReason }: Connected, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cut = () => reject(describe(abortReason() ?? new FetchError('the server closed the connection mid-answer')));
    const declared = Number(response.headers['content-length']);
    const tooBig = () => new FetchError(`document larger than ${maxBytes} bytes`);
    if (Number.isFinite(declared) && declared > maxBytes) {
      abort(tooBig());
      return reject(tooBig());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = decompressed(response);
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        abort(tooBig());
        reject(tooBig());
      } else chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (err) => reject(abortReason() ? describe(abortReason()) : new FetchError(`bad response body: ${err.message}`)));
    response.on('error', cut);
    response.on('close', () => {
      if (!response.complete) cut();
    });
  });
}

/**
 * GET a document. Resolves with any 2xx or 304; any other status is a FetchError (with Retry-After
 * read on 429 and 503).
 */
export async function fetchResource(
  rawUrl: string,
  options: { headers?: Record<string, string>; limits?: Partial<FetchLimits>; signal?: AbortSignal } = {},
): Promise<FetchedResource> {
  const limits = { ...DEFAULT_FETCH_LIMITS, ...options.limits };
  const headers = { 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'mccs-manager', ...options.headers };
  const deadline = Date.now() + limits.totalTimeoutMs;
  let url = new URL(rawUrl);
  for (let redirects = 0; ; redirects++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new FetchError(`no complete answer within ${limits.totalTimeoutMs / 1000} s`);
    const connected = await connect(url, headers, limits.connectTimeoutMs, remaining, options.signal);
    const { response, abort } = connected;
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location) {
      abort(new FetchError('redirected'));
      if (redirects >= limits.maxRedirects) throw new FetchError(`more than ${limits.maxRedirects} redirects`, status);
      url = new URL(location, url);
      continue;
    }
    if (status === 304 || (status >= 200 && status < 300)) {
      try {
        const body = status === 304 ? Buffer.alloc(0) : await readBody(connected, limits.maxBytes);
        return { status, headers: response.headers, url: url.href, body };
      } finally {
        abort(new FetchError('done'));
      }
    }
    abort(new FetchError('error status'));
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(header(response.headers, 'retry-after')) : undefined;
    throw new FetchError(`HTTP ${status}${response.statusMessage ? ' ' + response.statusMessage : ''}`, status, retryAfterMs);
  }
}

/**
 * Opens a long-lived GET (server-sent events). Resolves with the response once its headers are in and
 * its status is 2xx; the caller reads it and calls close().
 */
export async function openStream(
  rawUrl: string,
  options: { headers: Record<string, string>; connectTimeoutMs: number; signal?: AbortSignal },
): Promise<{ response: IncomingMessage; close(): void }> {
  const { response, abort } = await connect(new URL(rawUrl), { 'user-agent': 'mccs-manager', ...options.headers }, options.connectTimeoutMs, undefined, options.signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    abort(new FetchError('error status'));
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(header(response.headers, 'retry-after')) : undefined;
    throw new FetchError(`HTTP ${status}${response.statusMessage ? ' ' + response.statusMessage : ''}`, status, retryAfterMs);
  }
  return { response, close: () => abort(new FetchError('closed')) };
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
