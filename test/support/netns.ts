// A network namespace per media test. Janus gathers no ICE candidates on loopback and Chromium
// ignores loopback candidates, so a test that sends real WebRTC media runs Janus inside a namespace
// joined to the root namespace by a veth pair: the root side gets hostIp, the namespace side nsIp,
// both in a /30 that this process owns. Chromium and our server stay in the root namespace.
//
// Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2; without them createTestNetns throws, so
// the test fails instead of skipping silently.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SpawnInsideOptions extends SpawnOptions {
  /**
   * Signal the kernel sends the child when this process dies without running exit handlers
   * (setpriv --pdeathsig). Default SIGKILL; null to spawn without it.
   */
  pdeathsig?: NodeJS.Signals | null;
}

export interface TestNetns {
  /** Namespace name, `mccs-t-<pid>-<n>`. */
  readonly name: string;
  /** Address of the veth end in the root namespace (where Chromium and the test run). */
  readonly hostIp: string;
  /** Address of the veth end inside the namespace (where Janus listens). */
  readonly nsIp: string;
  /** The veth interface names, root side and namespace side. */
  readonly hostIf: string;
  readonly nsIf: string;
  /** `ip netns exec <name> cmd args…`; the child's pid is cmd's own (ip execs in place). */
  spawnInside(cmd: string, args: readonly string[], opts?: SpawnInsideOptions): ChildProcess;
  /** Kills every process left inside, deletes the namespace and the veth pair. Idempotent. */
  destroy(): Promise<void>;
  readonly destroyed: boolean;
}

const PREFIX = 'mccs-t-';
/** Host-side veth names: `mt-<pid base36>-<n base36>h|n`, at most 15 characters (IFNAMSIZ). */
const IF_PREFIX = 'mt-';
let ipPath = '/usr/sbin/ip';

let counter = 0;
const live = new Set<string>();
let exitHookInstalled = false;

export async function createTestNetns(): Promise<TestNetns> {
  const ip = findIp();
  installExitHook();
  await removeStaleNamespaces(ip);

  const pid = process.pid;
  for (let attempt = 0; attempt < 64; attempt++) {
    const n = counter++;
    const name = `${PREFIX}${pid}-${n}`;
    const tag = `${IF_PREFIX}${pid.toString(36)}-${n.toString(36)}`;
    const hostIf = `${tag}h`;
    const nsIf = `${tag}n`;
    const { hostIp, nsIp } = subnetFor(pid, n);
    if (await addressInUse(ip, hostIp, nsIp)) continue;

    try {
      await run(ip, ['netns', 'add', name]);
    } catch (err) {
      const text = errorText(err);
      if (/permitted|permission denied|EPERM|EACCES/i.test(text)) {
        throw new Error(
          `createTestNetns: \`ip netns add\` is not permitted (${text.trim()}). Media tests create a network namespace ` +
            'and need root (or CAP_SYS_ADMIN and CAP_NET_ADMIN); run them as root, e.g. in the test container.',
        );
      }
      if (/exists/i.test(text)) continue;
      throw new Error(`createTestNetns: ip netns add ${name} failed: ${text}`);
    }
    live.add(name);
    const ns = new Netns(ip, name, hostIf, nsIf, hostIp, nsIp);
    try {
      await run(ip, ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
      await run(ip, ['link', 'set', nsIf, 'netns', name]);
      await run(ip, ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
      await run(ip, ['link', 'set', hostIf, 'up']);
      await run(ip, ['-n', name, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
      await run(ip, ['-n', name, 'link', 'set', nsIf, 'up']);
      await run(ip, ['-n', name, 'link', 'set', 'lo', 'up']);
      // Anything in the root namespace (Chromium's other host addresses, a plain-RTP peer on eth0's
      // address) is reachable from inside over the veth. No NAT is set up, so nothing beyond the host is.
      await run(ip, ['-n', name, 'route', 'add', 'default', 'via', hostIp]);
    } catch (err) {
      await ns.destroy();
      throw new Error(`createTestNetns: setting up ${name} failed: ${errorText(err)}`);
    }
    return ns;
  }
  throw new Error('createTestNetns: no free /30 found for this process (64 tried)');
}

class Netns implements TestNetns {
  #destroying: Promise<void> | undefined;
  #children = new Set<ChildProcess>();

  constructor(
    private readonly ip: string,
    readonly name: string,
    readonly hostIf: string,
    readonly nsIf: string,
    readonly hostIp: string,
    readonly nsIp: string,
  ) {}

  get destroyed(): boolean {
    return this.#destroying !== undefined;
  }

  spawnInside(cmd: string, args: readonly string[], opts: SpawnInsideOptions = {}): ChildProcess {
    if (this.#destroying) throw new Error(`network namespace ${this.name} is destroyed`);
    const { pdeathsig = 'SIGKILL', ...spawnOpts } = opts;
    const inner = [this.ip, 'netns', 'exec', this.name, cmd, ...args];
    // setpriv sets the parent-death signal and execs `ip`, which execs cmd: one process, cmd's pid.
    const setpriv = pdeathsig ? findSetpriv() : undefined;
    const [file, argv] = setpriv && pdeathsig ? [setpriv, ['--pdeathsig', pdeathsig, ...inner]] : [inner[0]!, inner.slice(1)];
    const child = spawn(file, argv, spawnOpts);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  destroy(): Promise<void> {
    return (this.#destroying ??= this.#destroy());
  }

  async #destroy(): Promise<void> {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await killInside(this.ip, this.name);
    await run(this.ip, ['netns', 'del', this.name]).catch(() => undefined);
    // Deleting the namespace destroys its veth end and with it the pair; this covers a half-made setup.
    await run(this.ip, ['link', 'del', this.hostIf]).catch(() => undefined);
    live.delete(this.name);
  }
}

/**
 * 10.128.0.0/10 split into /30s: 14 bits of pid, 6 bits of counter. Two live processes whose pids
 * agree in the low 14 bits are caught by addressInUse.
 */
export function subnetFor(pid: number, n: number): { hostIp: string; nsIp: string } {
  const index = ((pid % 16384) << 6) | (n % 64); // 20 bits
  const base = (10 << 24) | (128 << 16) | (index << 2); // 10.128.0.0 + index * 4
  const dotted = (v: number): string => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
  return { hostIp: dotted(base + 1), nsIp: dotted(base + 2) };
}

async function addressInUse(ip: string, ...addrs: string[]): Promise<boolean> {
  const { stdout } = await execFileAsync(ip, ['-o', '-4', 'addr', 'show']);
  const { stdout: routes } = await execFileAsync(ip, ['-4', 'route', 'show']);
  const prefix = (a: string): string => a.split('.').slice(0, 3).join('.') + '.';
  const last = (a: string): number => Number(a.split('.')[3]);
  const net = (a: string): number => last(a) >> 2;
  const ours = addrs.map((a) => [prefix(a), net(a)] as const);
  const seen = [...stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g), ...routes.matchAll(/^(\d+\.\d+\.\d+\.\d+)\/30/gm)].map((m) => m[1]!);
  return seen.some((a) => ours.some(([p, n]) => prefix(a) === p && net(a) === n));
}

/** Namespaces and host veths left behind by test processes that are gone (crash, SIGKILL). */
async function removeStaleNamespaces(ip: string): Promise<void> {
  const { stdout } = await execFileAsync(ip, ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = /^mccs-t-(\d+)-\d+$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await killInside(ip, name);
    await run(ip, ['netns', 'del', name]).catch(() => undefined);
  }
  const { stdout: links } = await execFileAsync(ip, ['-o', 'link', 'show']);
  for (const m of links.matchAll(/^\d+: (mt-([0-9a-z]+)-[0-9a-z]+h)[@:]/gm)) {
    if (!pidAlive(parseInt(m[2]!, 36))) await run(ip, ['link', 'del', m[1]!]).catch(() => undefined);
  }
}

async function killInside(ip: string, name: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const { stdout } = await execFileAsync(ip, ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
    const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** On exit only synchronous work runs: kill what is inside, then delete the namespace. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of live) {
      try {
        const pids = execFileSync(ipPath, ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        execFileSync(ipPath, ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // the next createTestNetns removes what is left (its creating pid is gone by then)
      }
    }
  });
}

function findIp(): string {
  const found = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find(isExecutable);
  if (found) return (ipPath = found);
  throw new Error('createTestNetns: the `ip` command (iproute2) is not installed; `apt-get install iproute2`');
}

function findSetpriv(): string | undefined {
  return ['/usr/bin/setpriv', '/bin/setpriv'].find(isExecutable);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function run(file: string, args: string[]): Promise<void> {
  await execFileAsync(file, args);
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr && e.stderr.trim()) || e.message || String(err);
}
