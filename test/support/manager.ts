// Helpers of the Manager's integration tests: local HTTP servers, a logger whose lines can be read,
// bounded waits, and a Manager wired with short timings against a stub of the server's API.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../lib/logger.js';
import { startManager, type ManagerHandle } from '../../manager/index.js';
import { StubApiServer } from '../../manager/stub-api-server.js';
import type { PolicyConfig, SourceConfig } from '../../protocol/manager.js';

export const TOKEN = 'service-token-for-tests-0123456789';

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serve(handler: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits until `check` returns (or resolves to) something truthy, polling every 20 ms; fails after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ log: { level: 'debug', format: 'json' } }, stream), lines };
}

export const policy = (over: Partial<PolicyConfig> = {}): PolicyConfig => ({
  id: 'battery',
  name: 'Battery incidents',
  sourceIds: [],
  queueId: 'social',
  query: 'battery AND (fire OR smoke OR swelled OR explode*)',
  languages: [],
  basePriority: 10,
  ...over,
});

export interface Harness {
  stub: StubApiServer;
  manager: ManagerHandle;
  lines: string[];
  close(): Promise<void>;
}

/** A stub server with these sources and policies, and a Manager feeding it with test timings. */
export async function startHarness(sources: SourceConfig[], policies: PolicyConfig[] = [policy()], bodyLimitBytes?: number): Promise<Harness> {
  const stub = await StubApiServer.start(TOKEN, { sources, policies });
  const { logger, lines } = captureLogger();
  const manager = await startManager({
    servers: [{ url: stub.url, token: TOKEN }],
    logger,
    managerId: 'test-manager',
    host: '127.0.0.1',
    port: 0,
    refreshSeconds: 3600,
    outcomesSeconds: 3600,
    ...(bodyLimitBytes ? { bodyLimitBytes } : {}),
    tuning: {
      feedIntervalMs: 150,
      statusIntervalMs: 30,
      outcomesIntervalMs: 100,
      backoff: { baseMs: 100, maxMs: 400 },
      limits: { connectTimeoutMs: 500, totalTimeoutMs: 800, maxBytes: 1024 * 1024 },
      client: { timeoutMs: 2000, attempts: 2, retryBaseMs: 20 },
    },
  });
  return {
    stub,
    manager,
    lines,
    close: async () => {
      await manager.close();
      await stub.close();
    },
  };
}

export function rss(items: Array<{ guid: string; title: string; text: string; link?: string }>, extraChannel = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Local</title><link>http://127.0.0.1/</link>${extraChannel}
${items
  .map(
    (i) =>
      `<item><title>${i.title}</title><link>${i.link ?? `http://127.0.0.1/p/${i.guid}`}</link><guid isPermaLink="false">${i.guid}</guid><dc:creator>Tester</dc:creator><pubDate>${new Date().toUTCString()}</pubDate><description><![CDATA[<p>${i.text}</p>]]></description></item>`,
  )
  .join('\n')}
</channel></rss>`;
}
