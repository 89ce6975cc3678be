// The Manager as its own process: `npm run manager`. Configuration: docs/manager.md.
import { createLogger } from '../lib/logger.js';
import { loadManagerConfig, ManagerConfigError } from './config.js';
import { startManager } from './index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadManagerConfig();
  } catch (err) {
    if (err instanceof ManagerConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  // A stray rejection is logged, never fatal: one bad source must not stop the others.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { err: reason }));
  const handle = await startManager({
    servers: config.servers,
    logger,
    managerId: config.managerId,
    host: config.host,
    port: config.port,
    publicUrl: config.publicUrl,
    refreshSeconds: config.refreshSeconds,
    outcomesSeconds: config.outcomesSeconds,
    stateFile: config.stateFile,
  });
  const stop = (signal: string) => {
    logger.info('stopping', { signal });
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`manager failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
