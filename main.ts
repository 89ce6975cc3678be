// Entry point: configuration, logger, the composition root, then the URLs to open.
import { ConfigError, loadConfig } from './lib/config.js';
import { createLogger } from './lib/logger.js';
import { startMccs } from './app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mccs: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  const mccs = await startMccs(config, logger);

  const base = config.http.publicUrl.replace(/\/$/, '') || mccs.url;
  const lines = [
    '',
    `mccs is running (${config.db.kind}, ${config.queueStore.kind} queue store)`,
    `  Customer widget:  ${base}/widget/`,
    `  Agent app:        ${base}/agent/`,
    `  Admin:            ${base}/admin/`,
    `  Health:           ${base}/healthz  ${base}/readyz  ${base}/metrics  ${base}/openapi.json`,
  ];
  if (mccs.bootstrapAdmin) {
    // Printed once, to the terminal only: the logger never sees it.
    lines.push(
      '',
      `  First admin account: ${mccs.bootstrapAdmin.email}`,
      `  One-time password:   ${mccs.bootstrapAdmin.password}`,
      '  (shown only now; you will be asked to change it at first sign-in)',
    );
  }
  process.stdout.write(lines.join('\n') + '\n\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    mccs.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`mccs: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
