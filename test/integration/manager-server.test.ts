// The Manager inside the server, end to end: an admin adds a feed and a policy through the API; the
// embedded Manager (talking to the server only through the public API with its own service token)
// fetches the feed at once, the matching post becomes a social task, an agent with the queue's skill
// is offered it with the post, records a reply and marks it handled, and the outcome is available to
// Managers. A broken feed is shown to the admin in error with its reason. Service routes take only
// service tokens, and only live ones.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../../db/data-source.js';
import { adminToken, api, createAgent, startTestServer, type TestServer } from '../support/server.js';
import { call, connect, next, request, type AgentSocket } from '../support/sockets.js';
import { serve, until, type LocalServer } from '../support/manager.js';
import type { Offer, SocialPostView } from '../../protocol/events.js';
import type { OutcomesReply } from '../../protocol/manager.js';

const ATOM = readFileSync(new URL('../fixtures/feeds/blog-atom.xml', import.meta.url), 'utf8');

let server: TestServer;
let feeds: LocalServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  feeds = await serve((req, res) => {
    if (req.url === '/battery.atom') {
      res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
      res.end(ATOM);
    } else if (req.url === '/broken.xml') {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end('<rss><channel><item><title>unclosed');
    } else {
      res.writeHead(404).end();
    }
  });
  server = await startTestServer({ MCCS_MANAGER: 'embedded' });
  admin = await adminToken(server.url);
});

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server?.close();
  await feeds?.close();
});

test('an admin adds a feed and a policy; a matching post reaches a skilled agent, who handles it', async () => {
  expect((await api(server.url, 'POST', '/api/admin/queues', { id: 'social-care', name: 'Social care', requiredSkill: 'social' }, admin)).status).toBe(201);
  const skilled = await createAgent(server.url, admin, { displayName: 'Sol', skills: [{ skill: 'social', level: 5 }] });
  const unskilled = await createAgent(server.url, admin, { displayName: 'Una' });
  const agents: AgentSocket[] = [];
  for (const a of [skilled, unskilled]) {
    const s = await connect<AgentSocket>(server.url, '/agent', a.token);
    sockets.push(s);
    await next(s, 'hello');
    await call(s, 'presence:set', { state: 'ready' });
    agents.push(s);
  }
  const [sol, una] = agents as [AgentSocket, AgentSocket];

  // A bad query is refused with where it is wrong; nothing is stored.
  const bad = await api<{ error: { code: string; message: string } }>(server.url, 'PUT', '/api/admin/social/policies', { id: 'p1', name: 'Battery complaints', sourceIds: [], queueId: 'social-care', query: '"battery AND', languages: [], basePriority: 20 }, admin);
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toMatch(/query/);

  const policy = { id: 'p1', name: 'Battery complaints', sourceIds: ['watch'], queueId: 'social-care', query: 'battery AND (swelled OR cracked)', languages: ['en'], basePriority: 20 };
  expect((await api(server.url, 'PUT', '/api/admin/social/policies', policy, admin)).status).toBe(200);
  const offered = next<Offer>(sol, 'offer', (o) => o.channel === 'social', 15_000);
  const source = { id: 'watch', kind: 'feed', name: 'Battery Watch', url: `${feeds.url}/battery.atom`, intervalSeconds: 300, enabled: true };
  expect((await api(server.url, 'PUT', '/api/admin/social/sources', source, admin)).status).toBe(200);

  // Within the first poll (the admin's change reaches the Manager at once), not after the interval.
  const offer = await offered;
  expect(offer.queue.id).toBe('social-care');
  expect(offer.social).toMatchObject({ sourceName: 'Battery Watch', author: { name: 'Ana Lima' }, url: 'https://watch.example.org/2026/03/phone-swelled' });
  expect(offer.social!.matchedTerms.map((t) => t.toLowerCase())).toEqual(expect.arrayContaining(['battery']));
  expect(offer.social!.text).toContain('The battery swelled until the screen cracked.');
  // The French post does not match the language; the agent without the skill is offered nothing.
  await new Promise((r) => setTimeout(r, 500));
  expect(await request(una, 'offer:accept', { taskId: offer.taskId })).toMatchObject({ ok: false });

  const view = await call<{ social?: SocialPostView }>(sol, 'offer:accept', { taskId: offer.taskId });
  expect(view.social?.outcome).toBeNull();
  // Only the assigned agent may act on it; "replied" needs the reply.
  expect(await request(una, 'social:reply', { taskId: offer.taskId, text: 'hijack' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await request(sol, 'social:handle', { taskId: offer.taskId, outcome: 'replied' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  // Reaching the author needs a known customer with a phone number: not yet...
  expect(await request(sol, 'social:reach', { taskId: offer.taskId })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  // ...until the author's profile is known by a number (as after an admin merged it with a caller's).
  const db = await openDatabase(server.config.db);
  const [task] = (await db.query('SELECT customer_id FROM tasks WHERE id = ?', [offer.taskId])) as Array<{ customer_id: string }>;
  await db.query("INSERT INTO customer_identities (id, customer_id, kind, value, created_at) VALUES (?, ?, 'phone', '+358405551234', ?)", [randomUUID(), task!.customer_id, Date.now()]);
  await db.destroy();
  const reached = await call<{ taskId: string; callbackNumber: string }>(sol, 'social:reach', { taskId: offer.taskId });
  expect(reached.callbackNumber).toBe('+358405551234');
  const waiting = await api<Array<{ taskId: string }>>(server.url, 'GET', '/api/queues/social-care/waiting', undefined, admin);
  expect(waiting.body.map((w) => w.taskId)).toContain(reached.taskId);

  const reply = 'Sorry to hear that, Ana. Please stop using the phone; we will replace it. DM us your order number.';
  expect((await call<SocialPostView>(sol, 'social:reply', { taskId: offer.taskId, text: reply })).reply).toBe(reply);
  const handled = await call<{ status: string; social: SocialPostView }>(sol, 'social:handle', { taskId: offer.taskId, outcome: 'replied' });
  expect(handled).toMatchObject({ status: 'wrapup', social: { outcome: 'replied', reply } });
  expect(await request(sol, 'social:handle', { taskId: offer.taskId, outcome: 'spam' })).toMatchObject({ ok: false });

  // The outcome flows back to Managers (any service token), once it has settled.
  const token = await api<{ token: string; serviceToken: { id: string } }>(server.url, 'POST', '/api/admin/service-tokens', { name: 'test manager' }, admin);
  expect(token.status).toBe(201);
  const outcomes = await until(async () => {
    const r = await api<OutcomesReply>(server.url, 'GET', '/api/service/manager/outcomes', undefined, token.body.token);
    return r.body.outcomes.length > 0 ? r.body : undefined;
  }, 'the outcome', 5_000);
  expect(outcomes.outcomes).toEqual([expect.objectContaining({ taskId: offer.taskId, sourceId: 'watch', externalId: 'tag:watch.example.org,2026:post-77', outcome: 'replied', reply })]);
  const after = await api<OutcomesReply>(server.url, 'GET', `/api/service/manager/outcomes?after=${outcomes.cursor}`, undefined, token.body.token);
  expect(after.body.outcomes).toEqual([]);

  // The admin sees the source healthy, with what the Manager saw.
  const sources = await api<Array<{ config: { id: string; hasWebhookSecret: boolean }; state: string; itemsSeen: number | null }>>(server.url, 'GET', '/api/admin/social/sources', undefined, admin);
  expect(sources.body.find((s) => s.config.id === 'watch')).toMatchObject({ state: 'ok' });

  // Service routes: staff tokens and revoked service tokens are refused.
  expect((await api(server.url, 'GET', '/api/service/manager/config', undefined, admin)).status).toBe(401);
  expect((await api(server.url, 'DELETE', `/api/admin/service-tokens/${token.body.serviceToken.id}`, undefined, admin)).status).toBe(204);
  expect((await api(server.url, 'GET', '/api/service/manager/config', undefined, token.body.token)).status).toBe(401);
}, 40_000);

test('a broken feed is shown to the admin in error, with the reason', async () => {
  const source = { id: 'broken', kind: 'feed', name: 'Broken blog', url: `${feeds.url}/broken.xml`, intervalSeconds: 300, enabled: true };
  expect((await api(server.url, 'PUT', '/api/admin/social/sources', source, admin)).status).toBe(200);
  const state = await until(async () => {
    const list = await api<Array<{ config: { id: string }; state: string; reason: string | null }>>(server.url, 'GET', '/api/admin/social/sources', undefined, admin);
    const s = list.body.find((x) => x.config.id === 'broken');
    return s && s.state !== 'new' ? s : undefined;
  }, 'the broken source state', 10_000);
  expect(state.state).toBe('error');
  expect(state.reason).toBeTruthy();
  // A webhook source needs its secret; the list never shows secrets.
  const noSecret = await api(server.url, 'PUT', '/api/admin/social/sources', { id: 'hook', kind: 'webhook', name: 'Hook', enabled: true }, admin);
  expect(noSecret.status).toBe(400);
  const withSecret = await api<{ config: Record<string, unknown> }>(server.url, 'PUT', '/api/admin/social/sources', { id: 'hook', kind: 'webhook', name: 'Hook', enabled: true, webhookSecret: 'a-webhook-secret-of-some-length' }, admin);
  expect(withSecret.status).toBe(200);
  expect(JSON.stringify(withSecret.body)).not.toContain('a-webhook-secret-of-some-length');
  expect(withSecret.body.config.hasWebhookSecret).toBe(true);
});
