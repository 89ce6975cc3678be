// The Manager's public face. startManager() runs one intake listener and one Manager per server; the
// separate process (main.ts) and the mccs server's composition root (embedded mode) both use it.
import type { Logger } from '../lib/logger.js';
import { fileCursorStore } from './cursor-store.js';
import { IntakeServer } from './intake-server.js';
import { Manager, type ManagerOptions } from './manager.js';
import type { ServerTarget } from './server-client.js';

export { Manager, type ManagerEvents, type ManagerDropReason } from './manager.js';
export { type ServerTarget } from './server-client.js';
export { QuerySyntaxError, Query } from './query.js';

export interface StartManagerOptions {
  servers: ServerTarget[];
  logger: Logger;
  /** Names this Manager in submissions; default "manager". */
  managerId?: string;
  /** The intake listener (WebSub callbacks, webhooks): default 0.0.0.0, port 8090 (0: any free port). */
  host?: string;
  port?: number;
  /** How hubs reach the listener; default http://<host>:<port> (127.0.0.1 for a wildcard host). */
  publicUrl?: string;
  refreshSeconds?: number;
  outcomesSeconds?: number;
  /** File for the outcomes cursors; none: memory only. */
  stateFile?: string;
  /** Largest webhook or WebSub body, bytes (default 5 MB). */
  bodyLimitBytes?: number;
  /** Finer settings passed to every Manager (tests, benchmarks). */
  tuning?: Partial<Omit<ManagerOptions, 'server' | 'managerId' | 'intake' | 'publicUrl' | 'logger'>>;
}

export interface ManagerHandle {
  managers: Manager[];
  intake: IntakeServer;
  /** The listener's public base URL. */
  publicUrl: string;
  close(): Promise<void>;
}

export async function startManager(options: StartManagerOptions): Promise<ManagerHandle> {
  const logger = options.logger.child({ component: 'manager' });
  const host = options.host ?? '0.0.0.0';
  const intake = await IntakeServer.listen({ host, port: options.port ?? 8090, bodyLimitBytes: options.bodyLimitBytes ?? 5 * 1024 * 1024, logger });
  const publicUrl = (options.publicUrl || `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${intake.port}`).replace(/\/+$/, '');
  const managers = options.servers.map(
    (server) =>
      new Manager({
        refreshIntervalMs: (options.refreshSeconds ?? 60) * 1000,
        outcomesIntervalMs: (options.outcomesSeconds ?? 10) * 1000,
        ...(options.stateFile ? { cursors: fileCursorStore(options.stateFile, server.url) } : {}),
        ...options.tuning,
        server,
        managerId: options.managerId ?? 'manager',
        intake,
        publicUrl,
        logger,
      }),
  );
  await Promise.all(managers.map((m) => m.start()));
  logger.info('manager started', { servers: managers.map((m) => m.client.url), intake: publicUrl });
  let closing: Promise<void> | undefined;
  return {
    managers,
    intake,
    publicUrl,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(managers.map((m) => m.close()));
        await intake.close();
      })()),
  };
}
