// Manager benchmark: posts per second from local sources through parsing, language, sentiment,
// policies and de-duplication to tasks submitted to a local stub of the server's API.
//
//   npm run bench:manager                 options: --feeds N --items N --batches N --batch N
//
// Phase 1 (feeds): --feeds RSS feeds of --items items each, all polled at once; the clock runs from
// start until every post is judged and every chosen one submitted. Phase 2 (webhook): --batches signed
// webhook requests of --batch posts, sent 8 at a time. About half the posts match a policy.
// The last line printed is one JSON object with the figures.
import { performance } from 'node:perf_hooks';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../lib/logger.js';
import { startManager } from '../manager/index.js';
import { sign } from '../manager/signature.js';
import { StubApiServer } from '../manager/stub-api-server.js';
import type { PolicyConfig, SourceConfig } from '../protocol/manager.js';
import { seededRandom } from '../routing/strategies.js';

interface Args {
  feeds: number;
  items: number;
  batches: number;
  batch: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { feeds: 20, items: 500, batches: 100, batch: 100 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = argv[i + 1];
    if (key && key in args && value && /^\d+$/.test(value)) (args as unknown as Record<string, number>)[key] = Number(value);
    else throw new Error(`unknown or bad option: ${argv[i]} ${value ?? ''}`);
  }
  return args;
}

const round = (n: number) => Math.round(n);
const random = seededRandom(7);
const WORDS = 'the a my our phone laptop charger cable screen store service delivery order week night today again still very really quite never always support team refund warranty shop app update price colour box manual'.split(' ');
const HOT = ['battery fire', 'battery smoke', 'battery swelled', 'battery exploded', 'terrible battery fire hazard'];
const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

/** A post text of 15–40 words, unique enough not to be a near-duplicate; about half match the policies. */
function postText(n: number): string {
  const words = Array.from({ length: 15 + Math.floor(random() * 25) }, () => pick(WORDS));
  if (n % 2 === 0) words.splice(Math.floor(random() * words.length), 0, pick(HOT));
  return `${words.join(' ')} ref ${n}`;
}

const POLICIES: PolicyConfig[] = [
  { id: 'fire', name: 'Fires', sourceIds: [], queueId: 'social', query: 'battery AND (fire OR smoke OR explode*)', languages: [], basePriority: 20 },
  { id: 'swell', name: 'Swelling', sourceIds: [], queueId: 'social', query: '"battery swelled" NOT refund', languages: ['en'], basePriority: 10 },
];

function feedDocument(feed: number, items: number): string {
  const entries: string[] = [];
  for (let i = 0; i < items; i++) {
    const n = feed * items + i;
    entries.push(`<item><title>Post ${n}</title><link>https://forum.example/p/${n}</link><guid isPermaLink="false">f${n}</guid><dc:creator>user${n % 97}</dc:creator><pubDate>${new Date().toUTCString()}</pubDate><description><![CDATA[<p>${postText(n)}</p>]]></description></item>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Feed ${feed}</title><link>https://forum.example/</link><language>en</language>${entries.join('')}</channel></rss>`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const documents = Array.from({ length: args.feeds }, (_, f) => feedDocument(f, args.items));
  const feedServer = http.createServer((req, res) => {
    const doc = documents[Number(/\/feed\/(\d+)/.exec(req.url ?? '')?.[1] ?? -1)];
    if (doc) res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(doc);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  const feedBase = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}`;

  const secret = 'bench-webhook-secret-0123456789';
  const sources: SourceConfig[] = [
    ...documents.map((_, f): SourceConfig => ({ id: `feed-${f}`, kind: 'feed', name: `Feed ${f}`, url: `${feedBase}/feed/${f}`, enabled: true })),
    { id: 'hook', kind: 'webhook', name: 'Hook', webhookSecret: secret, enabled: true },
  ];
  const stub = await StubApiServer.start('bench-token', { sources, policies: POLICIES });
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const logger = createLogger({ log: { level: 'error', format: 'json' } }, quiet);

  const feedPosts = args.feeds * args.items;
  let judged = 0;
  let submitted = 0;
  const t0 = performance.now();
  const handle = await startManager({
    servers: [{ url: stub.url, token: 'bench-token' }],
    logger,
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 10 * 1024 * 1024,
    tuning: { feedIntervalMs: 3_600_000, maxInFlight: 32, maxBacklog: 1_000_000, statusIntervalMs: 60_000, limits: { totalTimeoutMs: 60_000 } },
  });
  const manager = handle.managers[0]!;
  manager.on('post', () => judged++);
  manager.on('submitted', () => submitted++);

  // Phase 1: feeds.
  while (judged < feedPosts && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5));
  await manager.drained();
  const feedSeconds = (performance.now() - t0) / 1000;
  const feedSubmitted = submitted;

  // Phase 2: webhook batches.
  const bodies = Array.from({ length: args.batches }, (_, b) =>
    JSON.stringify(Array.from({ length: args.batch }, (_, i) => ({ id: `w${b}-${i}`, text: postText(feedPosts + b * args.batch + i), author: { handle: `@u${i}`, reach: i * 37 }, publishedAt: Date.now() }))),
  );
  const hookUrl = `${handle.publicUrl}/webhook/hook`;
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': sign(body, secret) }, body });
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
      }
    }),
  );
  await manager.drained();
  const hookSeconds = (performance.now() - t1) / 1000;
  const hookPosts = args.batches * args.batch;
  const hookSubmitted = submitted - feedSubmitted;

  await handle.close();
  await stub.close();
  await new Promise<void>((resolve) => feedServer.close(() => resolve()));

  const totalSeconds = feedSeconds + hookSeconds;
  const figures = {
    postsPerSec: round((feedPosts + hookPosts) / totalSeconds),
    tasksPerSec: round(submitted / totalSeconds),
    feedPostsPerSec: round(feedPosts / feedSeconds),
    webhookPostsPerSec: round(hookPosts / hookSeconds),
    posts: feedPosts + hookPosts,
    tasks: submitted,
    storedTasks: stub.submissions.length,
  };
  console.log(`feeds:   ${feedPosts} posts from ${args.feeds} feeds in ${feedSeconds.toFixed(2)} s → ${figures.feedPostsPerSec} posts/s, ${feedSubmitted} tasks`);
  console.log(`webhook: ${hookPosts} posts in ${args.batches} requests in ${hookSeconds.toFixed(2)} s → ${figures.webhookPostsPerSec} posts/s, ${hookSubmitted} tasks`);
  console.log(`overall: ${figures.postsPerSec} posts/s, ${figures.tasksPerSec} tasks/s`);
  // postsPerSec and tasksPerSec first: the JSON line the lead records.
  console.log(JSON.stringify(figures));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
