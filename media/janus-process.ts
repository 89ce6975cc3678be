// Runs Janus as a child process for the embedded (one-process) deployment. We write our own
// configuration instead of using /etc/janus so the server never depends on, or changes, the
// system's Janus setup: WebSocket API on loopback only, no admin API, no HTTP, only the plugins the
// media layer drives.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { access, mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';

export type JanusProcessState = 'disabled' | 'external' | 'not_installed' | 'starting' | 'running' | 'exited';

export interface JanusProcess {
  readonly state: JanusProcessState;
  /** One human-readable line for health output and logs. */
  readonly detail: string;
  /** The child's pid while one was spawned, for diagnostics. */
  readonly pid: number | undefined;
  /** Resolves with the state once it is no longer 'starting' (at once if it never was). */
  settled(): Promise<JanusProcessState>;
  /** SIGTERM, then SIGKILL after the grace period. Idempotent; resolves when the child is gone. */
  close(): Promise<void>;
}

export interface StartJanusOptions {
  janus: Config['janus'];
  dataDir: string;
  logger: Logger;
}

/** Defaults in one place (ioredis style); exported so tests and docs can refer to them. */
export const JANUS_PROCESS_DEFAULTS = {
  /** Janus usually opens its port within a second; a cold start on a slow disk can take longer. */
  startTimeoutMs: 30_000,
  readyPollMs: 150,
  stopGraceMs: 5_000,
  /** The only plugins the media layer uses; every other plugin in the folder is disabled. */
  plugins: ['audiobridge', 'videoroom', 'textroom'],
  /** The WebSocket API listens on loopback only: the Janus API has no authentication of its own here. */
  wsIp: '127.0.0.1',
  /**
   * Folders Janus refuses to write recordings into (janus.jcfg `protected_folders`, matched by path
   * prefix). /tmp is deliberately absent, so a data folder under it can hold recordings.
   */
  protectedFolders: ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/sbin', '/sys', '/usr', '/var'],
} as const;

const INSTALL_HINT =
  'install it with `sudo apt-get install janus` (or `bash scripts/install-system-deps.sh`); chat keeps working without it';

export async function startJanusProcess(opts: StartJanusOptions): Promise<JanusProcess> {
  const log = opts.logger.child({ component: 'janus' });
  const { janus } = opts;
  if (janus.mode === 'off') return fixed('disabled', 'media server disabled (MCCS_JANUS=off)');
  if (janus.mode === 'external') return fixed('external', `using external Janus at ${janus.wsUrl}`);

  const binary = await findExecutable(janus.binary);
  if (!binary) {
    log.warn(`Janus binary "${janus.binary}" not found: audio/video calls are unavailable; ${INSTALL_HINT}`);
    return fixed('not_installed', `Janus binary "${janus.binary}" not found; ${INSTALL_HINT}`);
  }

  // Another process on the port would answer our readiness probe and be mistaken for our Janus.
  if (await portAnswers(janus.wsPort)) {
    const detail = `port 127.0.0.1:${janus.wsPort} is already in use; set MCCS_JANUS_WS_PORT to a free port or MCCS_JANUS=external`;
    log.error(`not starting Janus: ${detail}`);
    return fixed('exited', detail);
  }

  const folders = await findJanusModuleFolders(binary);
  if (!folders) {
    const detail = `cannot find the Janus plugins/transports folders next to ${binary}`;
    log.error(`not starting Janus: ${detail}`);
    return fixed('exited', detail);
  }

  const configDir = path.join(opts.dataDir, 'janus');
  await writeJanusConfig(configDir, folders, janus);
  return JanusChild.spawn(binary, configDir, janus.wsPort, log);
}

// ---- the child process ---------------------------------------------------------------------------

class JanusChild implements JanusProcess {
  #state: JanusProcessState = 'starting';
  #detail = 'starting';
  #closed = false;
  #child: ChildProcess;
  #exited: Promise<void>;
  #settled: Promise<JanusProcessState>;
  #log: Logger;
  #onParentExit: () => void;

  static spawn(binary: string, configDir: string, wsPort: number, log: Logger): JanusChild {
    const args = [
      `--configs-folder=${configDir}`,
      `--config=${path.join(configDir, 'janus.jcfg')}`,
      '--disable-colors', // our logger adds levels and timestamps; ANSI codes would pollute JSON lines
    ];
    // setpriv asks the kernel to SIGTERM Janus if we die without running exit handlers (SIGKILL,
    // crash). It execs Janus in place, so the pid is Janus's own.
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => isExecutableSync(p));
    const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGTERM', binary, ...args]] : [binary, args];
    log.info(`starting Janus: ${binary} ${args.join(' ')}`);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: configDir });
    return new JanusChild(child, wsPort, log);
  }

  private constructor(child: ChildProcess, wsPort: number, log: Logger) {
    this.#child = child;
    this.#log = log;
    pipeLines(child.stdout, (line) => log.debug(line, { stream: 'stdout' }));
    pipeLines(child.stderr, (line) => log.debug(line, { stream: 'stderr' }));

    // Normal exits and uncaught-exception exits run 'exit' handlers; only synchronous work is allowed there.
    this.#onParentExit = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.on('exit', this.#onParentExit);

    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // spawn failed (e.g. EACCES); 'exit' will not follow.
        this.#setState('exited', `could not start Janus: ${err.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        const how = code !== null ? `code ${code}` : `signal ${signal}`;
        if (this.#closed) this.#setState('exited', `stopped (${how})`);
        else this.#setState('exited', `exited unexpectedly with ${how}; see debug log lines of component janus`);
        resolve();
      });
    }).then(() => {
      process.off('exit', this.#onParentExit);
    });

    this.#settled = this.#waitUntilReady(wsPort);
  }

  get state(): JanusProcessState {
    return this.#state;
  }
  get detail(): string {
    return this.#detail;
  }
  get pid(): number | undefined {
    return this.#child.pid;
  }

  settled(): Promise<JanusProcessState> {
    return this.#settled;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#isAlive()) {
        this.#child.kill('SIGTERM');
        const graceful = await Promise.race([
          this.#exited.then(() => true),
          delay(JANUS_PROCESS_DEFAULTS.stopGraceMs).then(() => false),
        ]);
        if (!graceful && this.#isAlive()) {
          this.#log.warn(`Janus did not stop within ${JANUS_PROCESS_DEFAULTS.stopGraceMs} ms; killing it`);
          this.#child.kill('SIGKILL');
        }
      }
    }
    await this.#exited;
  }

  #isAlive(): boolean {
    return this.#child.pid !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  #setState(state: JanusProcessState, detail: string): void {
    if (this.#state === state && this.#detail === detail) return;
    const from = this.#state;
    this.#state = state;
    this.#detail = detail;
    const unexpected = state === 'exited' && !this.#closed;
    this.#log.log(unexpected ? 'error' : 'info', `Janus ${from} -> ${state}: ${detail}`, { from, to: state });
  }

  /** "Running" means the WebSocket API accepts connections, which Janus opens after loading plugins. */
  async #waitUntilReady(wsPort: number): Promise<JanusProcessState> {
    const deadline = Date.now() + JANUS_PROCESS_DEFAULTS.startTimeoutMs;
    while (this.#state === 'starting') {
      if (await portAnswers(wsPort)) {
        if (this.#state === 'starting') this.#setState('running', `listening on ws://127.0.0.1:${wsPort} (pid ${this.pid})`);
        break;
      }
      if (Date.now() > deadline) {
        this.#log.error(`Janus did not open port ${wsPort} within ${JANUS_PROCESS_DEFAULTS.startTimeoutMs} ms; stopping it`);
        await this.close();
        this.#setState('exited', `did not open its WebSocket port ${wsPort} in time`);
        break;
      }
      await Promise.race([delay(JANUS_PROCESS_DEFAULTS.readyPollMs), this.#exited]);
    }
    return this.#state;
  }
}

/** A JanusProcess with nothing to manage. */
function fixed(state: JanusProcessState, detail: string): JanusProcess {
  return {
    state,
    detail,
    pid: undefined,
    settled: () => Promise.resolve(state),
    close: () => Promise.resolve(),
  };
}

// ---- configuration -------------------------------------------------------------------------------

export interface JanusModuleFolders {
  plugins: string;
  transports: string;
  events: string;
  loggers: string;
}

/**
 * Debian puts modules in /usr/lib/<multiarch>/janus, a source build in <prefix>/lib/janus; both sit
 * beside the binary's prefix, so we look there rather than hard-coding an architecture.
 */
export async function findJanusModuleFolders(binary: string): Promise<JanusModuleFolders | undefined> {
  const prefix = path.dirname(path.dirname(await realpath(binary)));
  const libRoots = [path.join(prefix, 'lib'), path.join(prefix, 'lib64')];
  const candidates: string[] = [];
  for (const lib of libRoots) {
    candidates.push(path.join(lib, 'janus'));
    const entries = await readdir(lib, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) candidates.push(path.join(lib, e.name, 'janus'));
  }
  for (const root of candidates) {
    if ((await isDir(path.join(root, 'plugins'))) && (await isDir(path.join(root, 'transports')))) {
      return {
        plugins: path.join(root, 'plugins'),
        transports: path.join(root, 'transports'),
        events: path.join(root, 'events'),
        loggers: path.join(root, 'loggers'),
      };
    }
  }
  return undefined;
}

/** Janus loads every `*.so` in a folder unless its file name is listed in `disable`. */
async function modulesExcept(folder: string, keep: readonly string[]): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.so') && !keep.includes(n)).sort();
}

/** Splits 'a-b' in two: Janus core ICE ports and AudioBridge plain-RTP ports must not collide. */
export function splitPortRange(range: string): { core: string; audiobridge: string } {
  const [a, b] = range.split('-').map(Number) as [number, number];
  if (!(a > 0 && b >= a)) throw new TypeError(`invalid RTP port range "${range}"`);
  if (b - a < 3) return { core: range, audiobridge: range };
  const mid = a + Math.floor((b - a) / 2);
  return { core: `${a}-${mid}`, audiobridge: `${mid + 1}-${b}` };
}

const q = (s: string): string => JSON.stringify(s); // jcfg strings use C-style escapes, as JSON does

/** What the config writer lets a caller change; everything else is fixed by the media layer. */
export interface JanusConfigOptions {
  /** Address the WebSocket API binds to (default JANUS_PROCESS_DEFAULTS.wsIp, loopback). */
  wsIp?: string;
  /** janus.jcfg `protected_folders` (default JANUS_PROCESS_DEFAULTS.protectedFolders). */
  protectedFolders?: readonly string[];
}

/**
 * Writes janus.jcfg and the transport and plugin configs into `dir`, which Janus is then started
 * with (`--configs-folder=dir --config=dir/janus.jcfg`). Exported for tests that run their own Janus.
 */
export async function writeJanusConfig(
  dir: string,
  folders: JanusModuleFolders,
  janus: Pick<Config['janus'], 'wsPort' | 'rtpPortRange'>,
  options: JanusConfigOptions = {},
): Promise<void> {
  const wsIp = options.wsIp ?? JANUS_PROCESS_DEFAULTS.wsIp;
  const protectedFolders = options.protectedFolders ?? JANUS_PROCESS_DEFAULTS.protectedFolders;
  await mkdir(dir, { recursive: true });
  const keepPlugins = JANUS_PROCESS_DEFAULTS.plugins.map((p) => `libjanus_${p}.so`);
  const ports = splitPortRange(janus.rtpPortRange);
  const list = (xs: string[]): string => q(xs.join(','));
  const header = '# Written by mccs at each start (media/janus-process.ts); edits here are overwritten.\n';

  const files: Record<string, string> = {
    'janus.jcfg': `${header}
general: {
	configs_folder = ${q(dir)}
	plugins_folder = ${q(folders.plugins)}
	transports_folder = ${q(folders.transports)}
	events_folder = ${q(folders.events)}
	loggers_folder = ${q(folders.loggers)}
	debug_level = 4
	server_name = "mccs"
	hide_dependencies = true
	protected_folders = [ ${protectedFolders.map(q).join(', ')} ]
}
media: {
	rtp_port_range = ${q(ports.core)}
}
nat: {
	ice_ignore_list = "vmnet"
}
plugins: {
	disable = ${list(await modulesExcept(folders.plugins, keepPlugins))}
}
transports: {
	disable = ${list(await modulesExcept(folders.transports, ['libjanus_websockets.so']))}
}
loggers: {
	disable = ${list(await modulesExcept(folders.loggers, []))}
}
events: {
	broadcast = false
	disable = ${list(await modulesExcept(folders.events, []))}
}
`,
    // Loopback by default: the Janus API has no authentication of its own here, only this server talks to it.
    'janus.transport.websockets.jcfg': `${header}
general: {
	json = "compact"
	ws = true
	ws_port = ${janus.wsPort}
	ws_ip = ${q(wsIp)}
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
`,
    // string_ids: rooms and participants are named by our own ids (UUIDs), not by numbers Janus assigns.
    'janus.plugin.audiobridge.jcfg': `${header}
general: {
	string_ids = true
	rtp_port_range = ${q(ports.audiobridge)}
}
`,
    'janus.plugin.videoroom.jcfg': `${header}
general: {
	string_ids = true
}
`,
    'janus.plugin.textroom.jcfg': `${header}
general: {
	json = "compact"
	string_ids = true
}
`,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text, { mode: 0o600 });
}

// ---- small helpers -------------------------------------------------------------------------------

/** An absolute or relative path is used as given; a bare name is looked up on PATH. */
async function findExecutable(name: string): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutable(name)) ? path.resolve(name) : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function isExecutableSync(file: string): boolean {
  try {
    // Synchronous on purpose: it runs once per spawn, before any I/O matters.
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line.trimEnd());
  });
  stream.on('end', () => {
    if (buffered.trim()) onLine(buffered.trimEnd());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
