// Media benchmark: N concurrent two-party audio sessions on a Janus this script starts, each party a
// plain-RTP leg generated here (20 ms PCMU tone packets), the way a phone leg reaches the mixer.
//
//   npm run bench:media                                   300 sessions, 20 s steady window
//   npm run bench:media -- --sessions 150 --seconds 30    options: --sessions --seconds --warmup
//                                                                  --concurrency --workers
//   MCCS_JANUS_BIN=/opt/janus/bin/janus npm run bench:media
//
// Phases: start Janus (temporary data folder, a free WebSocket port, loopback) → measure it idle →
// set sessions up, --concurrency at a time (set-up time = room create + both joins, measured while
// the earlier sessions already stream) → --warmup seconds → a steady window of --seconds, over which
// Janus's CPU (utime+stime from /proc/<pid>/stat), our own CPU, and what each leg receives from the
// mixer are counted → tear down.
//
// The RTP generator (bench/media-generator.ts) runs in worker threads (--workers, default 1), one
// tick loop per worker sending a quarter of its legs every 5 ms, so the main thread only drives
// Janus. Each leg counts the mixer's packets and sequence gaps (loss) and interarrival jitter; each
// worker records how late its ticks fire, which says whether the generator, not Janus, was the
// bottleneck. A generator thread runs at real-time priority when allowed (it stands for phones on
// other machines), and the script runs node with --single-threaded-gc: V8's GC helper threads keep
// normal priority, and a generator waiting for them behind Janus's two thousand threads falls
// 50–90 ms behind at 300 sessions.
// The last line printed is one JSON object with the figures (recorded in docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createLogger } from '../lib/logger.js';
import { createJanusEngine, startJanusProcess, type MediaRoom, type RtpLegInfo } from '../media/index.js';
import type { FromWorker, GeneratorStats, ToWorker } from './media-generator.js';
import { PACKET_INTERVAL_MS, percentile } from './rtp.js';

// ---- the main thread -----------------------------------------------------------------------------

interface Args {
  sessions: number;
  seconds: number;
  warmup: number;
  concurrency: number;
  workers: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sessions: 300, seconds: 20, warmup: 3, concurrency: 8, workers: 1 };
  const limits: Record<keyof Args, [number, number]> = {
    sessions: [1, 2_000],
    seconds: [1, 600],
    warmup: [0, 60],
    concurrency: [1, 64],
    workers: [1, 16],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Args | undefined;
    const value = argv[i + 1];
    if (!key || !(key in args) || !value || !/^\d+$/.test(value)) throw new Error(`unknown or bad option: ${argv[i]} ${value ?? ''}`);
    const [min, max] = limits[key];
    const n = Number(value);
    if (n < min || n > max) throw new Error(`--${key} must be from ${min} to ${max}`);
    args[key] = n;
  }
  return args;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker thread running bench/media-generator.ts, with request/reply helpers. */
class Generator {
  readonly #worker: Worker;
  readonly #waiting: Array<{ type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];

  constructor() {
    this.#worker = new Worker(fileURLToPath(new URL('./media-generator.js', import.meta.url)));
    this.#worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') {
        for (const w of this.#waiting.splice(0)) w.reject(new Error(m.message));
        return;
      }
      const i = this.#waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(m);
    });
    this.#worker.on('error', (err) => {
      for (const w of this.#waiting.splice(0)) w.reject(err);
    });
  }

  #ask<T extends FromWorker['type']>(m: ToWorker, reply: T, timeoutMs = 30_000): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator did not answer ${m.type} in ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.push({
        type: reply,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<FromWorker, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#worker.postMessage(m);
    });
  }

  /** Binds a socket per leg; returns leg → local port, and the thread priority the worker got. */
  async bind(legs: number[]): Promise<{ ports: Map<number, number>; priority: string }> {
    const reply = await this.#ask({ type: 'bind', legs }, 'bound');
    return { ports: new Map(reply.ports), priority: reply.priority };
  }
  start(leg: number, dest: { ip: string; port: number }): void {
    this.#worker.postMessage({ type: 'start', leg, ...dest } satisfies ToWorker);
  }
  async window(phase: 'begin' | 'end'): Promise<GeneratorStats | undefined> {
    return (await this.#ask({ type: 'window', phase }, 'window')).stats;
  }
  async stop(): Promise<void> {
    await this.#ask({ type: 'stop' }, 'stopped').catch(() => undefined);
    await this.#worker.terminate();
  }
}

/** CPU seconds (all threads) a process has used in user and in kernel mode, from /proc/<pid>/stat. */
function processCpu(pid: number, ticksPerSecond: number): { user: number; system: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]) / ticksPerSecond;
  const system = Number(fields[12]) / ticksPerSecond;
  return { user, system, total: user + system };
}

/**
 * CPU seconds per thread of a process, with the thread's name. From schedstat (nanoseconds on a CPU,
 * exact) rather than the threads' utime/stime, which are tick samples: a thread that runs 50 µs every
 * 20 ms is rarely the one running when the tick lands, so per-thread ticks miss most of the mixer's work.
 */
function threadCpuSeconds(pid: number): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out.set(tid, { name, seconds: ns / 1e9 });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/** Where a process's CPU went between two threadCpuSeconds() readings, by thread name (ids stripped). */
function cpuByThreadKind(
  before: Map<string, { name: string; seconds: number }>,
  after: Map<string, { name: string; seconds: number }>,
  elapsedSeconds: number,
): Array<{ kind: string; threads: number; cpuPct: number }> {
  const kinds = new Map<string, { threads: number; seconds: number }>();
  for (const [tid, t] of after) {
    // Janus names threads "<kind> <room/handle id…>", cut to 15 characters; our leg ids are "leg-N".
    const words = t.name.split(' ');
    const kind = words[0]! + (words.slice(1).some((w) => w.startsWith('leg')) ? ' (leg)' : '');
    const k = kinds.get(kind) ?? { threads: 0, seconds: 0 };
    k.threads++;
    k.seconds += t.seconds - (before.get(tid)?.seconds ?? 0);
    kinds.set(kind, k);
  }
  return [...kinds]
    .map(([kind, k]) => ({ kind, threads: k.threads, cpuPct: (k.seconds / elapsedSeconds) * 100 }))
    .sort((x, y) => y.cpuPct - x.cpuPct);
}

function processStatus(pid: number): { rssMb: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { rssMb: kb / 1024, threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? NaN) };
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs fn over items, at most `limit` at a time, stopping new starts after deadlineMs. */
async function pool<T>(items: T[], limit: number, deadline: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && performance.now() < deadline) await fn(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const out = (line: string) => process.stdout.write(line + '\n');
  const logger = createLogger({ log: { level: 'warn', format: 'pretty' } }, process.stderr);
  const ticks = clockTicks();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mccs-bench-media-'));
  const wsPort = await freePort();
  const wsUrl = `ws://127.0.0.1:${wsPort}`;
  out(`load before start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores)`);
  if (!process.execArgv.includes('--single-threaded-gc')) {
    out('note: run node with --single-threaded-gc (npm run bench:media does), or the generator may wait for GC helper threads');
  }

  // Janus's RTP ports below the kernel's ephemeral range, so our generator's sockets (port 0) never
  // take a port Janus wants.
  const janusProcess = await startJanusProcess({
    janus: { mode: 'auto', binary: process.env.MCCS_JANUS_BIN ?? 'janus', wsUrl, wsPort, rtpPortRange: '10000-29999' },
    dataDir,
    logger,
  });
  const generators: Generator[] = [];
  const rooms: MediaRoom[] = [];
  const engine = createJanusEngine({ wsUrl, logger, startAfter: janusProcess.settled() });
  try {
    if ((await janusProcess.settled()) !== 'running' || janusProcess.pid === undefined) {
      throw new Error(`Janus did not start: ${janusProcess.detail}`);
    }
    const janusPid = janusProcess.pid;
    const healthDeadline = performance.now() + 15_000;
    let health = await engine.health();
    while (health.state !== 'up' && performance.now() < healthDeadline) {
      await sleep(200);
      health = await engine.health();
    }
    if (health.state !== 'up') throw new Error(`Janus is not answering: ${health.detail ?? health.state}`);
    out(`Janus ${health.version ?? ''} up (pid ${janusPid}, ${wsUrl})`);

    // Idle baseline: what Janus costs with no sessions.
    const idle0 = processCpu(janusPid, ticks).total;
    await sleep(2_000);
    const idleCpuPct = ((processCpu(janusPid, ticks).total - idle0) / 2) * 100;

    // ---- set-up ----------------------------------------------------------------------------------
    for (let i = 0; i < args.workers; i++) generators.push(new Generator());
    const genOf = (session: number) => generators[session % generators.length]!;
    const localPorts = new Map<number, number>();
    let generatorPriority = '';
    for (let w = 0; w < generators.length; w++) {
      const legIds: number[] = [];
      for (let s = w; s < args.sessions; s += generators.length) legIds.push(2 * s, 2 * s + 1);
      const bound = await generators[w]!.bind(legIds);
      for (const [leg, port] of bound.ports) localPorts.set(leg, port);
      generatorPriority = bound.priority;
    }

    out(`setting up ${args.sessions} sessions, ${args.concurrency} at a time…`);
    const setupMs: number[] = [];
    const failures: string[] = [];
    const rampStart = performance.now();
    const rampDeadline = rampStart + Math.max(60_000, args.sessions * 1_000);
    await pool(
      Array.from({ length: args.sessions }, (_, i) => i),
      args.concurrency,
      rampDeadline,
      async (s) => {
        const t0 = performance.now();
        try {
          const room = await engine.createRoom({ sessionId: randomUUID(), video: false });
          rooms.push(room);
          const legs = [2 * s, 2 * s + 1];
          const joined: RtpLegInfo[] = [];
          for (const [k, leg] of legs.entries()) {
            joined.push(
              await room.joinRtp({
                legId: `leg-${k}`,
                display: k === 0 ? 'customer' : 'agent',
                codec: 'pcmu',
                payloadType: 0,
                remote: { ip: '127.0.0.1', port: localPorts.get(leg)! },
              }),
            );
          }
          setupMs.push(performance.now() - t0);
          legs.forEach((leg, k) => genOf(s).start(leg, joined[k]!.local));
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      },
    );
    const rampSeconds = (performance.now() - rampStart) / 1000;
    const established = setupMs.length;
    out(`${established} sessions up in ${rampSeconds.toFixed(2)} s` + (failures.length ? `; ${failures.length} failed (first: ${failures[0]})` : ''));
    if (established === 0) throw new Error('no session could be set up');

    // ---- steady window ---------------------------------------------------------------------------
    await sleep(args.warmup * 1000);
    out(`measuring for ${args.seconds} s…`);
    await Promise.all(generators.map((g) => g.window('begin')));
    const janus0 = processCpu(janusPid, ticks);
    const threads0 = threadCpuSeconds(janusPid);
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(args.seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const janus1 = processCpu(janusPid, ticks);
    const janusCpuPct = ((janus1.total - janus0.total) / elapsed) * 100;
    const janusSystemPct = ((janus1.system - janus0.system) / elapsed) * 100;
    const byThread = cpuByThreadKind(threads0, threadCpuSeconds(janusPid), elapsed);
    const janusSchedCpuPct = byThread.reduce((a, t) => a + t.cpuPct, 0);
    const ownUsage = process.cpuUsage(own0);
    const ownCpuPct = ((ownUsage.user + ownUsage.system) / 1e6 / elapsed) * 100;
    const janusStatus = processStatus(janusPid);
    const loadDuring = loadavg()[0]!;
    const stats = (await Promise.all(generators.map((g) => g.window('end')))).filter((s): s is GeneratorStats => s !== undefined);

    const sum = (f: (s: GeneratorStats) => number) => stats.reduce((a, s) => a + f(s), 0);
    const legsUp = established * 2;
    // Per worker, over the window as that worker saw it: packets due at 50/s per leg.
    const nominal = sum((s) => s.legs * (s.windowMs / PACKET_INTERVAL_MS));
    const expected = sum((s) => s.expected);
    const received = sum((s) => s.received);
    const silentLegs = sum((s) => s.silentLegs);
    // Sequence gaps, plus legs that heard nothing at all (they have no sequence numbers to compare).
    const silentShortfall = sum((s) => s.silentLegs * (s.windowMs / PACKET_INTERVAL_MS));
    const lost = Math.max(0, expected - received) + silentShortfall;
    const lossPct = (lost / Math.max(1, expected + silentShortfall)) * 100;
    // Packets the mixer sent per leg against 50/s: below 100 % the mixer ran late (no gaps, fewer packets).
    const mixRatePct = (received / nominal) * 100;
    const lateness = stats.flatMap((s) => s.lateness).sort((a, b) => a - b);
    const jitter = stats.flatMap((s) => s.jitterMs).sort((a, b) => a - b);
    const sentPerSec = sum((s) => s.sent / (s.windowMs / 1000));
    const skipped = sum((s) => s.skipped);
    setupMs.sort((a, b) => a - b);

    const result = {
      sessions: established,
      cpuPctPerSession: round(janusCpuPct / established, 3),
      lossPct: round(lossPct, 3),
      setupP99Ms: round(percentile(setupMs, 99), 1),
      setupP50Ms: round(percentile(setupMs, 50), 1),
      setupP95Ms: round(percentile(setupMs, 95), 1),
      sessionsPerCore: round(100 / (janusCpuPct / established), 0),
      janusCpuPct: round(janusCpuPct, 1),
      ownCpuPct: round(ownCpuPct, 1),
      mixRatePct: round(mixRatePct, 2),
      jitterP99Ms: round(percentile(jitter, 99), 2),
      genLateP99Ms: round(percentile(lateness, 99), 2),
      failed: failures.length,
      load1: round(loadDuring, 2),
    };
    out('');
    out(`sessions ${established}/${args.sessions} (${legsUp} RTP legs), set-up p50 ${result.setupP50Ms} ms, p95 ${result.setupP95Ms} ms, p99 ${result.setupP99Ms} ms`);
    out(
      `Janus CPU ${result.janusCpuPct} % of a core (${janusSystemPct.toFixed(1)} % of it in the kernel; idle ${idleCpuPct.toFixed(1)} %) = ${result.cpuPctPerSession} % per session ` +
        `→ ${result.sessionsPerCore} sessions per core; RSS ${janusStatus.rssMb.toFixed(0)} MB, ${janusStatus.threads} threads`,
    );
    out(
      `Janus threads by kind (% of a core, from schedstat; total ${janusSchedCpuPct.toFixed(1)} %): ` +
        byThread
          .slice(0, 5)
          .map((t) => `${t.kind} ×${t.threads} ${t.cpuPct.toFixed(1)}`)
          .join(', '),
    );
    out(
      `received ${received} of ${expected} expected packets (${silentLegs} silent legs): loss ${result.lossPct} %; ` +
        `mixer rate ${result.mixRatePct} % of 50 packets/s per leg; jitter p50 ${round(percentile(jitter, 50), 2)} ms, p99 ${result.jitterP99Ms} ms`,
    );
    out(
      `generator: ${round(sentPerSec, 0)} packets/s sent (nominal ${round((legsUp * 1000) / PACKET_INTERVAL_MS, 0)}), ${skipped} skipped; ` +
        `tick lateness p50 ${round(percentile(lateness, 50), 2)} ms, p99 ${result.genLateP99Ms} ms, max ${round(lateness.at(-1) ?? NaN, 1)} ms; ` +
        `this process ${result.ownCpuPct} % of a core, of which the generator thread${args.workers > 1 ? 's' : ''} ${round(sum((s) => s.cpuPct), 1)} % (${generatorPriority})`,
    );
    out(`load average (1 min) at the end of the window: ${result.load1}`);
    const saturated = janusCpuPct + ownCpuPct > cpus().length * 100 * 0.9;
    if (saturated) {
      out(`note: the CPUs were saturated (Janus + this process ≈ ${cpus().length} cores): set-up times and jitter describe the machine, not Janus alone.`);
    }
    if (result.genLateP99Ms > PACKET_INTERVAL_MS / 2 || skipped > 0) {
      out(`note: the generator fell behind its schedule (p99 ${result.genLateP99Ms} ms late, ${skipped} sends skipped): Janus saw uneven input.${saturated ? '' : ' Try --workers 2.'}`);
    }

    // ---- teardown --------------------------------------------------------------------------------
    await Promise.all(generators.splice(0).map((g) => g.stop()));
    await pool(rooms.splice(0), args.concurrency, performance.now() + 60_000, (r) => r.destroy());
    out(JSON.stringify(result));
  } finally {
    await Promise.all(generators.map((g) => g.stop()));
    await engine.close().catch(() => undefined);
    await janusProcess.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
