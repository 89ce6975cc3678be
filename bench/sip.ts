// SIP benchmark: how many call set-ups per second the SIP bridge takes, and how many calls with RTP
// it holds at once, with Kamailio (a transaction-stateful proxy, no media) on the same SIPp load as
// the yardstick.
//
//   npm run bench:sip                                   rates 50,100,200,300,400 cps; 400 RTP calls held 15 s
//   npm run bench:sip -- --rates 20,50 --calls 500      options: --rates --calls --step-seconds --hold-ms
//                                                                --concurrent --hold-seconds --kamailio 0|1
//                                                                --relay 0|1 (the bridge's RTP relay; 0: direct to Janus)
//
// Phases: start Janus (temporary data folder, loopback, as bench/media.ts) and the bridge with one
// allow-list trunk whose calls are answered and held until the caller's BYE → SIPp (test/sip/
// bench-uac.xml) places short calls (--hold-ms) at each rate in turn, each step bounded to --calls
// calls and --step-seconds of sending (plus the calls' length and 15 s slack); the ramp stops after
// the first step with 0.1 % or more failed calls → SIPp (bench-uac-rtp.xml) ramps up to --concurrent
// calls that each stream a tone as RTP into their room for --hold-seconds: the calls up at the peak
// that all stayed up to their own BYE are the concurrent-with-RTP figure → Kamailio
// (bench/kamailio/kamailio.cfg) relays the same UAC load to a SIPp UAS (bench-uas.xml), same rates.
// Failed calls are SIPp's failed calls plus those not finished when a step's time ran out.
// Everything runs on loopback; every child process is killed on exit, SIGINT and SIGTERM.
// The last line printed is one JSON object with the figures (recorded in docs/benchmarks.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../lib/logger.js';
import { createJanusEngine, startJanusProcess } from '../media/index.js';
import { SipBridge } from '../sip-bridge/index.js';

interface Args {
  rates: number[];
  calls: number;
  stepSeconds: number;
  holdMs: number;
  concurrent: number;
  holdSeconds: number;
  kamailio: boolean;
  relay: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rates: [50, 100, 200, 300, 400], calls: 1000, stepSeconds: 10, holdMs: 500, concurrent: 400, holdSeconds: 15, kamailio: true, relay: true };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = argv[i + 1] ?? '';
    const n = Number(value);
    const bad = (): never => {
      throw new Error(`unknown or bad option: ${argv[i]} ${value}`);
    };
    switch (key) {
      case 'rates':
        args.rates = value.split(',').map(Number);
        if (!args.rates.length || args.rates.some((r) => !Number.isInteger(r) || r < 1 || r > 2000)) bad();
        break;
      case 'calls':
        if (!Number.isInteger(n) || n < 1 || n > 10_000) bad();
        args.calls = n;
        break;
      case 'step-seconds':
        if (!(n >= 1 && n <= 60)) bad();
        args.stepSeconds = n;
        break;
      case 'hold-ms':
        if (!Number.isInteger(n) || n < 0 || n > 10_000) bad();
        args.holdMs = n;
        break;
      case 'concurrent':
        if (!Number.isInteger(n) || n < 1 || n > 2000) bad();
        args.concurrent = n;
        break;
      case 'hold-seconds':
        if (!(n >= 1 && n <= 120)) bad();
        args.holdSeconds = n;
        break;
      case 'kamailio':
        args.kamailio = value !== '0';
        break;
      case 'relay':
        args.relay = value !== '0';
        break;
      default:
        bad();
    }
  }
  return args;
}

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const scenarios = path.join(root, 'test', 'sip');
/** Janus's RTP ports, below the ephemeral range where SIPp's media ports (-mp, free ports) come from. */
const JANUS_RTP = '20000-29999';

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** SIGTERM, SIGKILL after 5 s; resolves once the child is gone (reaped). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
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

/** Resolves once something has bound UDP `port` on loopback. */
async function udpBound(port: number, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (taken) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on udp 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(check: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

interface StepResult {
  rate: number;
  calls: number;
  successful: number;
  failed: number;
  failedPct: number;
  seconds: number;
}

/** One SIPp UAC run: `calls` calls at `rate` per second; bounded by `limitS` seconds in all. */
async function sippLoad(o: { workDir: string; scenario: string; target: number; rate: number; calls: number; concurrent: number; holdMs: number; limitS: number }): Promise<StepResult> {
  const text = readFileSync(path.join(scenarios, o.scenario), 'utf8').replaceAll('__HOLD_MS__', String(o.holdMs));
  const scenario = path.join(o.workDir, `${o.rate}-${o.scenario}`);
  writeFileSync(scenario, text);
  const stats = path.join(o.workDir, `${o.rate}-${o.scenario}.csv`);
  rmSync(stats, { force: true });
  const started = Date.now();
  const child = track(
    spawn(
      'sipp',
      [
        `127.0.0.1:${o.target}`,
        '-sf', scenario,
        '-r', String(o.rate), '-rp', '1000',
        '-m', String(o.calls),
        '-l', String(o.concurrent),
        '-i', '127.0.0.1', '-mi', '127.0.0.1',
        '-p', String(await freePort()), '-mp', String(await freePort()),
        '-s', '4930555',
        '-timeout', `${o.limitS}s`, '-timeout_error',
        '-nostdin',
        '-trace_stat', '-stf', stats, '-fd', '1',
      ],
      { cwd: o.workDir, stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  await new Promise((resolve) => child.once('exit', resolve));
  let lines: string[];
  try {
    lines = readFileSync(stats, 'utf8').trim().split('\n');
  } catch {
    throw new Error(`SIPp left no statistics (${o.scenario}): ${stderr}`);
  }
  const header = lines[0]?.split(';') ?? [];
  const last = lines.at(-1)?.split(';') ?? [];
  const col = (name: string): number => Number(last[header.indexOf(name)] ?? NaN);
  const successful = col('SuccessfulCall(C)');
  if (!Number.isFinite(successful)) throw new Error(`SIPp left no statistics (${o.scenario}): ${stderr}`);
  // Calls never started or not finished in time count as failed too.
  const failed = o.calls - successful;
  return { rate: o.rate, calls: o.calls, successful, failed, failedPct: round((failed / o.calls) * 100, 3), seconds: round((Date.now() - started) / 1000, 1) };
}

/** The set-up rate ramp against one target; stops after the first step at or over 0.1 % failed. */
async function ramp(label: string, args: Args, workDir: string, target: number, between: () => Promise<void>, out: (s: string) => void): Promise<StepResult[]> {
  const steps: StepResult[] = [];
  for (const rate of args.rates) {
    const calls = Math.min(args.calls, Math.round(rate * args.stepSeconds));
    const concurrent = Math.ceil(rate * (args.holdMs / 1000 + 2)) + 50;
    const limitS = Math.ceil(calls / rate + args.holdMs / 1000 + 15);
    const step = await sippLoad({ workDir, scenario: 'bench-uac.xml', target, rate, calls, concurrent, holdMs: args.holdMs, limitS });
    steps.push(step);
    out(`${label}: ${rate} cps × ${calls} calls → ${step.successful} ok, ${step.failed} failed (${step.failedPct} %) in ${step.seconds} s; load ${round(loadavg()[0]!, 2)}`);
    await between();
    if (step.failedPct >= 0.1) break;
  }
  return steps;
}

function best(steps: StepResult[]): StepResult | undefined {
  return steps.filter((s) => s.failedPct < 0.1).sort((a, b) => b.rate - a.rate)[0];
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const out = (line: string): void => void process.stdout.write(line + '\n');
  const logger = createLogger({ log: { level: 'error', format: 'pretty' } }, process.stderr);
  const workDir = mkdtempSync(path.join(tmpdir(), 'mccs-bench-sip-'));
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', path.join(workDir, 'tone.wav'), 'synth', '2', 'sine', '440', 'vol', '0.5']);
  out(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => round(l, 2)).join(' ')}`);

  let cleanup: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...children].map(stopChild));
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    cleanup = [];
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (): void => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killChildren);

  try {
    // ---- the bridge, with Janus ----------------------------------------------------------------------
    const wsPort = await freePort();
    const janus = await startJanusProcess({
      janus: { mode: 'auto', binary: process.env.MCCS_JANUS_BIN ?? 'janus', wsUrl: `ws://127.0.0.1:${wsPort}`, wsPort, rtpPortRange: JANUS_RTP },
      dataDir: workDir,
      logger,
    });
    cleanup.push(() => janus.close());
    if ((await janus.settled()) !== 'running') throw new Error('Janus did not start');
    const engine = createJanusEngine({ wsUrl: `ws://127.0.0.1:${wsPort}`, logger, loadPollMs: 1000 });
    cleanup.push(() => engine.close());
    if (!(await until(() => engine.nodes()[0]?.health.state === 'up', 20_000))) throw new Error('Janus never became healthy');

    const sipPort = await freePort();
    const ended = new Map<string, number>();
    const bridge = new SipBridge({
      engine,
      logger,
      listen: { host: '127.0.0.1', port: sipPort, tcp: false },
      trunks: [{ id: 'bench', allow: ['127.0.0.0/8'], rtpRelay: args.relay }],
      // Answered calls play nothing and wait for the caller's BYE.
      onCall: () => undefined,
    });
    cleanup.push(() => bridge.close());
    bridge.on('dialog:ended', (s) => ended.set(s.reason, (ended.get(s.reason) ?? 0) + 1));
    const drained = async (): Promise<void> => {
      if (!(await until(() => bridge.dialogCount === 0, 40_000))) out(`note: ${bridge.dialogCount} dialogs still open after 40 s`);
    };

    const bridgeSteps = await ramp('bridge', args, workDir, sipPort, drained, out);
    const bridgeBest = best(bridgeSteps);

    // ---- concurrent calls with RTP ---------------------------------------------------------------------
    ended.clear();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, bridge.activeCalls)), 250);
    // The bridge's own CPU (SIP and, with the relay, every RTP packet twice) while the RTP calls run.
    const cpuBefore = process.cpuUsage();
    const rtpStarted = Date.now();
    const rtpRate = Math.max(1, Math.min(50, bridgeBest?.rate ?? 20));
    const rtp = await sippLoad({
      workDir,
      scenario: 'bench-uac-rtp.xml',
      target: sipPort,
      rate: rtpRate,
      calls: args.concurrent,
      concurrent: args.concurrent,
      holdMs: args.holdSeconds * 1000,
      limitS: Math.ceil(args.concurrent / rtpRate + args.holdSeconds + 30),
    });
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpuBefore);
    const bridgeCpuPct = round(((cpu.user + cpu.system) / 1000 / (Date.now() - rtpStarted)) * 100, 1);
    await drained();
    const dropped = [...ended].filter(([reason]) => reason !== 'remote_bye').reduce((n, [, c]) => n + c, 0);
    const concurrentWithRtp = Math.max(0, Math.min(peak, rtp.successful) - dropped);
    out(
      `bridge with RTP: ${args.concurrent} calls at ${rtpRate} cps, each streaming for ${args.holdSeconds} s → peak ${peak} up at once, ` +
        `${rtp.successful} stayed up to their BYE, ${rtp.failed} failed, ended by us or the media: ${dropped} (${JSON.stringify(Object.fromEntries(ended))}); ` +
        `relay ${args.relay ? 'on' : 'off'}, bridge process CPU ${bridgeCpuPct} % of one core`,
    );
    for (const c of cleanup.splice(0).reverse()) await c();

    // ---- Kamailio -------------------------------------------------------------------------------------
    let kamailioSteps: StepResult[] = [];
    if (args.kamailio) {
      const uasPort = await freePort();
      const uas = track(
        spawn('sipp', ['-sf', path.join(scenarios, 'bench-uas.xml'), '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(uasPort), '-mp', String(await freePort()), '-nostdin', '-timeout', '900s', '-timeout_error'], {
          cwd: workDir,
          stdio: 'ignore',
        }),
      );
      const kamPort = await freePort();
      const kam = track(
        spawn(
          'kamailio',
          ['-DD', '-E', '-f', path.join(root, 'bench', 'kamailio', 'kamailio.cfg'), '-l', `udp:127.0.0.1:${kamPort}`, '-A', `UAS_URI="sip:127.0.0.1:${uasPort}"`, '-m', '256', '-M', '16', '-Y', workDir, '-P', path.join(workDir, 'kamailio.pid')],
          { cwd: workDir, stdio: ['ignore', 'ignore', 'pipe'] },
        ),
      );
      let kamLog = '';
      kam.stderr?.on('data', (d: Buffer) => (kamLog = (kamLog + d.toString()).slice(-2000)));
      await udpBound(uasPort);
      await udpBound(kamPort).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; kamailio: ${kamLog}`);
      });
      kamailioSteps = await ramp('kamailio', args, workDir, kamPort, () => new Promise((r) => setTimeout(r, 2000)), out);
      await Promise.all([stopChild(kam), stopChild(uas)]);
    }

    const kamailioBest = best(kamailioSteps);
    const maxCps = bridgeBest?.rate ?? 0;
    const kamailioCps = kamailioBest?.rate ?? 0;
    const lastBridge = bridgeSteps.at(-1);
    if (bridgeBest && bridgeBest.rate === args.rates.at(-1)) out(`note: the bridge kept up with the highest rate tried (${maxCps} cps): the real limit is higher.`);
    if (kamailioBest && kamailioBest.rate === args.rates.at(-1)) out(`note: Kamailio kept up with the highest rate tried (${kamailioCps} cps): its limit (and so the ratio) is higher.`);
    out('note: SIPp, Janus, the bridge and Kamailio share this machine\'s CPUs with anything else running; the figures describe this machine at this time.');
    out(
      JSON.stringify({
        maxCps,
        failedPct: bridgeBest?.failedPct ?? lastBridge?.failedPct ?? 100,
        concurrentWithRtp,
        relay: args.relay,
        bridgeCpuPctWithRtp: bridgeCpuPct,
        kamailioCps,
        ratioToKamailio: kamailioCps ? round(maxCps / kamailioCps, 3) : null,
      }),
    );
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    killChildren();
    process.exit(1);
  },
);
