// Janus as a child process and the janode engine against it. Needs the `janus` binary (Debian
// package `janus`); without it the real-Janus cases are skipped and say so in their names.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Config } from '../../lib/config.js';
import type { Logger } from '../../lib/logger.js';
import {
  createJanusEngine,
  startJanusProcess,
  startMedia,
  type JanusEngine,
  type JanusProcess,
  type MediaHealth,
} from '../../media/index.js';

function janusInstalled(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v janus'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A logger that keeps its lines, so a test can read what an operator would see. */
function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function janusConfig(port: number, overrides: Partial<Config['janus']> = {}): Config['janus'] {
  return {
    mode: 'auto',
    binary: 'janus',
    wsUrl: `ws://127.0.0.1:${port}`,
    wsPort: port,
    rtpPortRange: '20000-20999',
    ...overrides,
  };
}

/** Polls until `check` holds; fails with the last observed value, never asserts on elapsed time. */
async function waitFor<T>(what: string, probe: () => Promise<T> | T, check: (v: T) => boolean, limitMs = 20_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last = await probe();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await probe();
  }
  return last;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mccs-janus-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('startJanusProcess without a Janus binary', () => {
  it('reports not_installed and tells how to install it', async () => {
    const { logger, lines } = memoryLogger();
    const janus = await startJanusProcess({
      janus: janusConfig(await freePort(), { binary: 'mccs-no-such-janus-binary' }),
      dataDir,
      logger,
    });
    expect(janus.state).toBe('not_installed');
    expect(janus.pid).toBeUndefined();
    await expect(janus.settled()).resolves.toBe('not_installed');
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toEqual(expect.stringContaining('apt-get install janus'));
    expect(warning?.message).toEqual(expect.stringContaining('install-system-deps.sh'));
    await janus.close();
    await janus.close(); // idempotent
  });

  it('treats a missing absolute path the same way', async () => {
    const { logger } = memoryLogger();
    const janus = await startJanusProcess({
      janus: janusConfig(await freePort(), { binary: path.join(dataDir, 'bin', 'janus') }),
      dataDir,
      logger,
    });
    expect(janus.state).toBe('not_installed');
  });

  it('startMedia falls back to a disabled engine that says why', async () => {
    const { logger } = memoryLogger();
    const media = await startMedia({ janus: janusConfig(await freePort(), { binary: 'mccs-no-such-janus-binary' }), dataDir, logger });
    const health = await media.engine.health();
    expect(health.state).toBe('disabled');
    expect(health.detail).toContain('apt-get install janus');
    await media.close();
  });

  it('starts nothing in external and off modes', async () => {
    const { logger } = memoryLogger();
    const port = await freePort();
    const external = await startJanusProcess({ janus: janusConfig(port, { mode: 'external' }), dataDir, logger });
    const off = await startJanusProcess({ janus: janusConfig(port, { mode: 'off' }), dataDir, logger });
    expect([external.state, off.state]).toEqual(['external', 'disabled']);
    expect([external.pid, off.pid]).toEqual([undefined, undefined]);
  });
});

const withJanus = janusInstalled() ? describe : describe.skip;

withJanus(`Janus child process and engine${janusInstalled() ? '' : ' (janus not installed: skipped)'}`, () => {
  let janus: JanusProcess | undefined;
  let engine: JanusEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    await janus?.close();
    engine = janus = undefined;
  });

  it('starts Janus on loopback, reports its version through the engine, and stops it', async () => {
    const { logger, lines } = memoryLogger();
    const port = await freePort();
    janus = await startJanusProcess({ janus: janusConfig(port), dataDir, logger });
    expect(janus.state).toBe('starting');
    await expect(janus.settled()).resolves.toBe('running');
    const pid = janus.pid!;
    expect(processExists(pid)).toBe(true);

    // Our configuration, not /etc/janus, and only the WebSocket API on loopback.
    const transport = await readFile(path.join(dataDir, 'janus', 'janus.transport.websockets.jcfg'), 'utf8');
    expect(transport).toMatch(/ws_ip = "127\.0\.0\.1"/);
    expect(transport).toMatch(new RegExp(`ws_port = ${port}\\b`));
    // Janus's own output reaches our log at debug level.
    expect(lines.some((l) => l.component === 'janus' && l.level === 'debug' && String(l.message).includes('WebSockets'))).toBe(true);

    engine = createJanusEngine({ wsUrl: `ws://127.0.0.1:${port}`, logger });
    const health = await waitFor<MediaHealth>('engine up', () => engine!.health(), (h) => h.state === 'up');
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(engine.connectionState).toBe('connected');

    await engine.close();
    await engine.close(); // idempotent
    expect(engine.connectionState).toBe('closed');
    await expect(engine.health()).resolves.toMatchObject({ state: 'down' });

    await janus.close();
    await janus.close(); // idempotent
    expect(janus.state).toBe('exited');
    expect(processExists(pid)).toBe(false);
  }, 60_000);

  it('startMedia in auto mode gives an engine that is up, and close stops Janus', async () => {
    const { logger } = memoryLogger();
    const port = await freePort();
    // A wrong wsUrl must not matter in auto mode: the child listens where wsPort says.
    const media = await startMedia({ janus: janusConfig(port, { wsUrl: 'ws://127.0.0.1:9' }), dataDir, logger });
    try {
      await expect(media.janusProcess.settled()).resolves.toBe('running');
      const pid = media.janusProcess.pid!;
      await waitFor('engine up', () => media.engine.health(), (h) => h.state === 'up');
      await media.close();
      expect(processExists(pid)).toBe(false);
      await expect(media.engine.health()).resolves.toMatchObject({ state: 'down' });
    } finally {
      await media.close();
    }
  }, 60_000);

  it('reconnects after Janus goes away and comes back', async () => {
    const { logger } = memoryLogger();
    const port = await freePort();
    // The engine starts first, as in the server, and must find Janus once it is up.
    engine = createJanusEngine({ wsUrl: `ws://127.0.0.1:${port}`, logger, retryBaseMs: 50, retryMaxMs: 300 });
    expect((await engine.health()).state).toBe('down');

    janus = await startJanusProcess({ janus: janusConfig(port), dataDir, logger });
    await expect(janus.settled()).resolves.toBe('running');
    await waitFor('engine up', () => engine!.health(), (h) => h.state === 'up');

    await janus.close();
    await waitFor('engine down', () => engine!.health(), (h) => h.state === 'down');
    expect(['connecting', 'reconnecting']).toContain(engine.connectionState);

    janus = await startJanusProcess({ janus: janusConfig(port), dataDir, logger });
    await expect(janus.settled()).resolves.toBe('running');
    const again = await waitFor('engine up again', () => engine!.health(), (h) => h.state === 'up');
    expect(again.version).toBeDefined();
  }, 60_000);

  it('refuses to start when the port is taken, rather than mistaking another server for Janus', async () => {
    const { logger } = memoryLogger();
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const { port } = squatter.address() as net.AddressInfo;
    try {
      janus = await startJanusProcess({ janus: janusConfig(port), dataDir, logger });
      expect(janus.state).toBe('exited');
      expect(janus.pid).toBeUndefined();
      expect(janus.detail).toContain(String(port));
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('reports an unexpected exit with its exit code', async () => {
    const { logger, lines } = memoryLogger();
    const port = await freePort();
    janus = await startJanusProcess({ janus: janusConfig(port), dataDir, logger });
    await expect(janus.settled()).resolves.toBe('running');
    process.kill(janus.pid!, 'SIGKILL');
    await waitFor('exited', () => janus!.state, (s) => s === 'exited');
    expect(janus.detail).toContain('SIGKILL');
    expect(lines.some((l) => l.level === 'error' && String(l.message).includes('unexpectedly'))).toBe(true);
  }, 60_000);
});
