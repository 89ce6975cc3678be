// Routing benchmark: 10,000 agents logged in and ready, a Poisson stream of chat arrivals, each offer
// accepted by a simulated agent who then handles the chat for a while and frees the slot.
//
//   npm run bench:routing                     in-process store
//   npm run bench:routing -- --store redis    Redis store (127.0.0.1:6379 or MCCS_REDIS_URL)
//   options: --agents N --rate PER_SEC --seconds S --queues Q --burst N
//
// Phase 1 (latency): arrivals at --rate for --seconds, each sent without waiting for the previous one
// to be routed; offer latency = enqueue call → offer event (including any wait behind other arrivals).
// Phase 2 (throughput): --burst tasks enqueued at once; decisions/s = offers made / elapsed time.
// The last line printed is one JSON object with the figures (recorded in docs/benchmarks.md).
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { RoutingEngine, type TaskTicket } from '../routing/engine.js';
import { seededRandom } from '../routing/strategies.js';
import { createQueueStore } from '../routing/store/index.js';
import type { QueueStore } from '../routing/store/queue-store.js';

interface Args {
  store: 'memory' | 'redis';
  agents: number;
  rate: number;
  seconds: number;
  queues: number;
  burst: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { store: 'memory', agents: 10_000, rate: 1_000, seconds: 10, queues: 10, burst: 10_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = argv[i + 1];
    if (key === 'store' && (value === 'memory' || value === 'redis')) args.store = value;
    else if (key && key in args && value && /^\d+$/.test(value)) (args as unknown as Record<string, number>)[key] = Number(value);
    else throw new Error(`unknown or bad option: ${argv[i]} ${value ?? ''}`);
  }
  return args;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Seeded, so two runs see the same arrival pattern.
  const random = seededRandom(42);
  const keyPrefix = `mccs-bench:${randomBytes(4).toString('hex')}:`;
  const store: QueueStore = await createQueueStore(
    args.store === 'redis' ? { kind: 'redis', url: process.env.MCCS_REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix } : { kind: 'memory' },
  );
  // Long offers: every offer here is accepted, none may time out during the run.
  const engine = new RoutingEngine(store, { offerTimeoutMs: 120_000, sweepIntervalMs: 5_000 });

  const queueIds = Array.from({ length: args.queues }, (_, i) => `q${i}`);
  for (const id of queueIds) await engine.setQueue({ id, requiredSkill: id });

  // Each agent serves two queues, so queues overlap as real skill sets do.
  process.stdout.write(`logging in ${args.agents} agents (${args.store} store)…\n`);
  for (let i = 0; i < args.agents; i++) {
    const skills = [queueIds[i % args.queues]!, queueIds[(i * 7 + 3) % args.queues]!].map((skill) => ({ skill, level: 5 }));
    await engine.agentConnected({ id: `agent-${i}`, displayName: `Agent ${i}`, skills, chatCapacity: 3 }, []);
    await engine.setPresence(`agent-${i}`, 'ready');
  }

  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  let offers = 0;
  let handling = 0;
  let phase: 'latency' | 'burst' = 'latency';
  const pending: Promise<unknown>[] = [];
  engine.on('offer', (agentId, task: TaskTicket) => {
    offers++;
    const t0 = createdAt.get(task.id);
    if (t0 !== undefined && phase === 'latency') latencies.push(performance.now() - t0);
    createdAt.delete(task.id);
    // The simulated agent accepts at once and handles the chat for 1–5 s.
    handling++;
    pending.push(
      engine.accept(agentId, task.id).then(async () => {
        await sleep(1_000 + random() * 4_000);
        await engine.releaseTask(agentId, task.id);
        handling--;
      }),
    );
  });

  // ---- phase 1: Poisson arrivals at the target rate ---------------------------------------------
  const total = args.rate * args.seconds;
  process.stdout.write(`phase 1: ${total} arrivals at ${args.rate}/s…\n`);
  const start = performance.now();
  let due = start;
  for (let i = 0; i < total; i++) {
    due += (-Math.log(1 - random()) / args.rate) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const id = `t${i}`;
    createdAt.set(id, performance.now());
    // Arrivals come from many connections: none waits for the one before it to be routed.
    pending.push(engine.enqueue({ id, queueId: queueIds[Math.floor(random() * args.queues)]!, priority: 0, enqueuedAt: Date.now() }));
  }
  const achievedRate = total / ((performance.now() - start) / 1000);
  while (createdAt.size > 0 && performance.now() - start < (args.seconds + 30) * 1000) await sleep(50);
  const unserved = createdAt.size;
  const rssMb = process.memoryUsage().rss / 1024 / 1024;

  // ---- phase 2: a burst, for decisions per second ------------------------------------------------
  // Let phase 1's chats finish first, so the burst meets free agents.
  while (handling > 0) await sleep(100);
  phase = 'burst';
  const burst = Math.min(args.burst, args.agents * 3);
  process.stdout.write(`phase 2: burst of ${burst} tasks…\n`);
  const before = offers;
  const burstStart = performance.now();
  for (let i = 0; i < burst; i++) {
    const id = `b${i}`;
    createdAt.set(id, performance.now());
    await engine.enqueue({ id, queueId: queueIds[i % args.queues]!, priority: 0, enqueuedAt: Date.now() });
  }
  while (offers - before < burst && performance.now() - burstStart < 60_000) await sleep(5);
  const decisionsPerSec = (offers - before) / ((performance.now() - burstStart) / 1000);

  latencies.sort((a, b) => a - b);
  const result = {
    store: args.store,
    agents: args.agents,
    arrivalsPerSec: round(achievedRate, 0),
    offerP50Ms: round(percentile(latencies, 50), 3),
    offerP95Ms: round(percentile(latencies, 95), 3),
    offerP99Ms: round(percentile(latencies, 99), 3),
    decisionsPerSec: round(decisionsPerSec, 0),
    rssMb: round(rssMb, 1),
    unserved,
  };
  process.stdout.write(
    `offer latency p50 ${result.offerP50Ms} ms, p95 ${result.offerP95Ms} ms, p99 ${result.offerP99Ms} ms over ${latencies.length} offers; ` +
      `${result.decisionsPerSec} decisions/s; RSS ${result.rssMb} MB; unserved ${unserved}\n`,
  );

  engine.close();
  await Promise.allSettled(pending);
  await store.clear();
  await store.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
