// A real Janus inside a test network namespace (see netns.ts), configured by the product's own config
// writer (media/janus-process.ts) except that the WebSocket API binds to the namespace address. The
// test and Chromium reach it from the root namespace over the veth pair.
import { type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, realpath } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { findJanusModuleFolders, writeJanusConfig } from '../../media/janus-process.js';
import type { TestNetns } from './netns.js';

export interface JanusInNetnsOptions {
  /** Per-test folder; Janus's config goes to `<dataDir>/janus`, recordings to `<dataDir>/recordings`. */
  dataDir: string;
  /** Default 8188: the namespace has its own ports, so no collision with another test. */
  wsPort?: number;
  rtpPortRange?: string;
  binary?: string;
  startTimeoutMs?: number;
}

export interface JanusInNetns {
  /** ws://<nsIp>:<port>, reachable from the root namespace. */
  readonly wsUrl: string;
  readonly pid: number;
  /** Writable, not protected: use as AudioBridge `record_dir` / VideoRoom `rec_dir`. */
  readonly recordDir: string;
  readonly configDir: string;
  /** Janus's stdout and stderr (debug level 4). */
  readonly logFile: string;
  /** The last `lines` lines of the log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** SIGTERM, SIGKILL after 5 s; idempotent, resolves when Janus is gone. */
  close(): Promise<void>;
}

export async function startJanusInNetns(ns: TestNetns, opts: JanusInNetnsOptions): Promise<JanusInNetns> {
  const binary = opts.binary ?? '/usr/bin/janus';
  const wsPort = opts.wsPort ?? 8188;
  const folders = await findJanusModuleFolders(binary);
  if (!folders) throw new Error(`startJanusInNetns: cannot find the Janus plugins/transports folders next to ${binary} (apt-get install janus)`);

  await mkdir(opts.dataDir, { recursive: true });
  const dataDir = await realpath(opts.dataDir); // Janus matches protected_folders against the path as given
  const configDir = path.join(dataDir, 'janus');
  const recordDir = path.join(dataDir, 'recordings');
  await mkdir(recordDir, { recursive: true });
  await chmod(recordDir, 0o777);
  await writeJanusConfig(
    configDir,
    folders,
    { wsPort, rtpPortRange: opts.rtpPortRange ?? '20000-40000' },
    { wsIp: ns.nsIp },
  );

  const logFile = path.join(dataDir, 'janus.log');
  const log = createWriteStream(logFile);
  const child = ns.spawnInside(
    binary,
    [`--configs-folder=${configDir}`, `--config=${path.join(configDir, 'janus.jcfg')}`, '--disable-colors'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: configDir, pdeathsig: 'SIGKILL' },
  );
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`spawn failed: ${err.message}`));
    child.once('exit', (code, signal) => resolve(code !== null ? `code ${code}` : `signal ${signal}`));
  });
  let exitedHow: string | undefined;
  void exited.then((how) => {
    exitedHow = how;
    log.end();
  });

  const logTail = async (lines = 40): Promise<string> =>
    (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-lines).join('\n');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (alive(child)) {
        child.kill('SIGTERM');
        const gone = await Promise.race([exited.then(() => true), delay(5_000).then(() => false)]);
        if (!gone && alive(child)) child.kill('SIGKILL');
      }
      await exited;
    })());

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  while (!(await portAnswers(ns.nsIp, wsPort))) {
    if (exitedHow !== undefined) {
      throw new Error(`Janus in ${ns.name} exited before opening its port (${exitedHow}):\n${await logTail()}`);
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`Janus in ${ns.name} did not open ${ns.nsIp}:${wsPort} in time:\n${await logTail()}`);
    }
    await delay(100);
  }

  return {
    wsUrl: `ws://${ns.nsIp}:${wsPort}`,
    pid: child.pid!,
    recordDir,
    configDir,
    logFile,
    logTail,
    close,
  };
}

function alive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Unref'd, so a pending grace timer never keeps the test process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
