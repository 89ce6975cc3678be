// The media benchmark's RTP generator, run in worker threads by bench/media.ts: it binds one UDP
// socket per leg on 127.0.0.1, sends each leg's 20 ms PCMU packets to its Janus port from one tick
// loop, and counts what the mixer sends back (loss by sequence numbers, jitter), per window.
// A file of its own so a worker loads only this and bench/rtp.ts: janode's native addon
// (unix-dgram) cannot be loaded in a worker thread.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort } from 'node:worker_threads';
import { JitterMeter, PACKET_INTERVAL_MS, RtpLossCounter, RtpSender, pcmuTone } from './rtp.js';

// ---- messages between the main thread and the generator workers ---------------------------------

/** Per-window figures of one worker. */
export interface GeneratorStats {
  /** Legs sending and receiving (those a session was set up for). */
  legs: number;
  /** The window as this worker measured it (its messages may arrive late when it is starved). */
  windowMs: number;
  /** CPU this worker thread used in the window, % of one core (schedstat). */
  cpuPct: number;
  /** Packets the legs should have received in the window, by sequence numbers (RFC 3550). */
  expected: number;
  received: number;
  /** Legs that received nothing at all in the window. */
  silentLegs: number;
  sent: number;
  /** Sends the tick loop dropped because it was more than CATCH_UP_LIMIT_MS behind. */
  skipped: number;
  /** How late the tick loop's sends were, ms. */
  lateness: number[];
  jitterMs: number[];
}

export type ToWorker =
  | { type: 'bind'; legs: number[] }
  | { type: 'start'; leg: number; ip: string; port: number }
  | { type: 'window'; phase: 'begin' | 'end' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'bound'; ports: Array<[leg: number, port: number]>; priority: string }
  | { type: 'window'; phase: 'begin' | 'end'; stats?: GeneratorStats }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

// ---- the generator -------------------------------------------------------------------------------

/** A tick loop sends one of SLOTS groups every PACKET_INTERVAL_MS / SLOTS ms: no 600-packet bursts. */
const SLOTS = 4;
const SLOT_MS = PACKET_INTERVAL_MS / SLOTS;
/** Further behind than this, the loop jumps ahead (and counts the skipped sends) instead of bursting. */
const CATCH_UP_LIMIT_MS = 100;

interface Leg {
  id: number;
  socket: dgram.Socket;
  sender: RtpSender;
  dest?: { ip: string; port: number };
  loss: RtpLossCounter;
  jitter: JitterMeter;
  mark?: { expected: number; received: number };
}

function runGenerator(): void {
  const port = parentPort!;
  const legs = new Map<number, Leg>();
  const slots: Leg[][] = Array.from({ length: SLOTS }, () => []);
  let sent = 0;
  let skipped = 0;
  let lateness: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = true;
  const post = (m: FromWorker) => port.postMessage(m);

  // The generator stands for phones on other machines: it must not queue for a CPU behind Janus's
  // threads (two thousand of them at 300 sessions, each waking every 20 ms). Real-time round-robin
  // for this thread when allowed (root or CAP_SYS_NICE; it sleeps between ticks, and the kernel's RT
  // throttling keeps 5 % for everyone else), else nice -10, else as it is. Linux: this thread only.
  let priority = 'normal';
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
    execFileSync('chrt', ['--rr', '--pid', '10', tid], { stdio: 'ignore' });
    priority = 'SCHED_RR 10';
  } catch {
    try {
      setPriority(-10);
      priority = 'nice -10';
    } catch (err) {
      priority = `normal (could not raise: ${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
  }

  // One loop for all legs of this worker; the next slot is due every SLOT_MS on an absolute clock.
  let slot = 0;
  let due = performance.now();
  const tick = (): void => {
    if (!running) return;
    const now = performance.now();
    if (now - due > CATCH_UP_LIMIT_MS) {
      const behind = Math.floor((now - due) / SLOT_MS);
      for (let i = 0; i < behind; i++) skipped += slots[(slot + i) % SLOTS]!.filter((l) => l.dest).length;
      slot = (slot + behind) % SLOTS;
      due += behind * SLOT_MS;
    }
    while (due <= now) {
      lateness.push(now - due);
      for (const leg of slots[slot]!) {
        if (!leg.dest) continue;
        leg.socket.send(leg.sender.next(), leg.dest.port, leg.dest.ip);
        sent++;
      }
      slot = (slot + 1) % SLOTS;
      due += SLOT_MS;
    }
    timer = setTimeout(tick, Math.max(0, due - performance.now()));
  };
  timer = setTimeout(tick, SLOT_MS);

  const bind = async (ids: number[]): Promise<Array<[number, number]>> => {
    const out: Array<[number, number]> = [];
    for (const id of ids) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      // Tones at 300–750 Hz, different per leg, so the mixer mixes real signal, not silence.
      const leg: Leg = {
        id,
        socket,
        sender: new RtpSender(randomBytes(4).readUInt32BE(0), pcmuTone(300 + 50 * (id % 10)), {
          sequence: randomBytes(2).readUInt16BE(0),
          timestamp: randomBytes(4).readUInt32BE(0),
        }),
        loss: new RtpLossCounter(),
        jitter: new JitterMeter(),
      };
      socket.on('message', (msg) => {
        if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
        leg.loss.receive(msg.readUInt16BE(2));
        leg.jitter.receive(performance.now(), msg.readUInt32BE(4));
      });
      socket.on('error', () => undefined); // ICMP port unreachable before Janus listens: not fatal
      legs.set(id, leg);
      slots[id % SLOTS]!.push(leg);
      out.push([id, socket.address().port]);
    }
    return out;
  };

  let windowStart = { sent: 0, skipped: 0, at: 0, cpuNs: 0 };
  const threadCpuNs = (): number => {
    try {
      return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    } catch {
      return NaN; // not Linux, or no schedstat
    }
  };
  const snapshot = (phase: 'begin' | 'end'): GeneratorStats | undefined => {
    if (phase === 'begin') {
      for (const leg of legs.values()) leg.mark = { expected: leg.loss.expected, received: leg.loss.totalReceived };
      windowStart = { sent, skipped, at: performance.now(), cpuNs: threadCpuNs() };
      lateness = [];
      return undefined;
    }
    const stats: GeneratorStats = {
      legs: 0,
      windowMs: performance.now() - windowStart.at,
      cpuPct: 0,
      expected: 0,
      received: 0,
      silentLegs: 0,
      sent: sent - windowStart.sent,
      skipped: skipped - windowStart.skipped,
      lateness,
      jitterMs: [],
    };
    stats.cpuPct = ((threadCpuNs() - windowStart.cpuNs) / 1e6 / stats.windowMs) * 100;
    for (const leg of legs.values()) {
      if (!leg.dest) continue;
      stats.legs++;
      const expected = leg.loss.expected - (leg.mark?.expected ?? 0);
      const received = leg.loss.totalReceived - (leg.mark?.received ?? 0);
      if (received === 0) stats.silentLegs++;
      stats.expected += expected;
      stats.received += received;
      stats.jitterMs.push(leg.jitter.ms);
    }
    return stats;
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'bind') {
      bind(m.legs).then(
        (ports) => post({ type: 'bound', ports, priority }),
        (err: unknown) => post({ type: 'error', message: `bind failed: ${String(err)}` }),
      );
    } else if (m.type === 'start') {
      const leg = legs.get(m.leg);
      if (leg) leg.dest = { ip: m.ip, port: m.port };
    } else if (m.type === 'window') {
      post({ type: 'window', phase: m.phase, stats: snapshot(m.phase) });
    } else if (m.type === 'stop') {
      running = false;
      clearTimeout(timer);
      for (const leg of legs.values()) leg.socket.close();
      post({ type: 'stopped' });
    }
  });
}

if (!isMainThread && parentPort) runGenerator();
