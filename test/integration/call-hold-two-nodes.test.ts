// Hold decided on one server process for a call whose agent leg another process joined (several
// nodes: the agent's socket reconnected to node B while their media stayed on node A). Two call
// services share one real PostgreSQL database, each with its own connection to one real Janus on
// loopback and its own hold relay on a real Redis; the customer (phone caller) and the agent are
// plain-RTP legs joined by node A, and the hold is asked of node B. Audio levels show that on hold
// neither hears the other and that resuming brings both back.
import { randomBytes, randomUUID } from 'node:crypto';
import winston from 'winston';
import type { DataSource } from 'typeorm';
import { CallService } from '../../calls/call-service.js';
import { ClusterHoldRelay } from '../../calls/cluster-hold.js';
import type { ChatService } from '../../chat/chat-service.js';
import { openDatabase } from '../../db/data-source.js';
import type { TaskRow } from '../../db/entities.js';
import type { Logger } from '../../lib/logger.js';
import { TypedEmitter } from '../../lib/typed-emitter.js';
import { createJanusEngine, type JanusEngine, type MediaRoom } from '../../media/index.js';
import { rtpLegs, startJanusBed, until, type JanusBed } from '../support/media-bed.js';
import { createTempDatabase, type TempDatabase } from '../support/postgres.js';

const REDIS_URL = process.env.MCCS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CUSTOMER_TONE = 440;
const AGENT_TONE = 1000;
const HEARD = 1000;
const GONE = 200;

const silent = winston.createLogger({ silent: true }) as unknown as Logger;
const legs = rtpLegs();

interface Node {
  db: DataSource;
  engine: JanusEngine;
  calls: CallService;
  relay: ClusterHoldRelay;
}

let bed: JanusBed;
let temp: TempDatabase;
let nodeA: Node;
let nodeB: Node;
let room: MediaRoom | undefined;

const agentId = randomUUID();
const task: TaskRow = {
  id: randomUUID(),
  channel: 'call',
  queueId: 'general',
  customerId: randomUUID(),
  status: 'assigned',
  priority: 0,
  firstMessage: '',
  agentId,
  enqueuedAt: Date.now(),
  offeredAt: null,
  acceptedAt: Date.now(),
  endedAt: null,
  endReason: null,
  wrapUpCode: null,
  wrapUpNotes: null,
  completedAt: null,
  requirements: null,
  callbackNumber: null,
  callbackRequestedAt: null,
};

/** The chat service as a call service needs it for this: the one task, assigned to the agent. */
function chatWithTask(): ChatService {
  return { observer: new TypedEmitter(), task: async (id: string) => (id === task.id ? task : null) } as unknown as ChatService;
}

async function startNode(engine: JanusEngine, keyPrefix: string): Promise<Node> {
  const db = await openDatabase({ kind: 'postgres', url: temp.url });
  const calls = new CallService({ db, chat: chatWithTask(), engine, iceServers: () => [], logger: silent });
  const relay = await ClusterHoldRelay.start(REDIS_URL, keyPrefix, calls, silent);
  return { db, engine, calls, relay };
}

async function stopNode(node: Node | undefined): Promise<void> {
  await node?.relay.close();
  await node?.calls.close();
  await node?.db.destroy();
}

beforeAll(async () => {
  bed = await startJanusBed({ prefix: 'mccs-hold-nodes-', rtpPortRange: '29500-29999', logger: silent, loadPollMs: 200 });
  temp = await createTempDatabase();
  const keyPrefix = `mccs-test:${randomBytes(4).toString('hex')}:`;
  nodeA = await startNode(bed.engine, keyPrefix);
  // Node B: its own process's connection to the same media server.
  const other = createJanusEngine({ wsUrl: bed.engine.nodes()[0]!.id, logger: silent, loadPollMs: 200 });
  await until('node B sees the media server', () => other.nodes()[0]?.health.state === 'up');
  nodeB = await startNode(other, keyPrefix);
}, 60_000);

afterAll(async () => {
  await legs.closeAll();
  await room?.destroy();
  await stopNode(nodeB);
  await stopNode(nodeA);
  await nodeB?.engine.close();
  await bed?.close();
  await temp?.drop();
});

test('a hold asked of another node takes the agent out of the call both ways, and resume brings both back', async () => {
  // Node A has the call: the caller's room and leg, and the agent's leg (their phone, say).
  room = await bed.engine.createRoom({ sessionId: randomUUID(), video: false });
  const customer = await legs.join(room, 'caller', CUSTOMER_TONE);
  await nodeA.calls.adoptPhoneCall(task.id, room);
  const agent = await legs.join(room, `agent-${agentId}`, AGENT_TONE);
  await until('each hears the other', () => customer.recentLevel() > HEARD && agent.recentLevel() > HEARD);

  // The agent's socket is on node B, which has no leg of this call.
  const held = await nodeB.calls.hold({ role: 'agent', agentId }, { taskId: task.id, held: true });
  expect(held).toMatchObject({ taskId: task.id, held: true });
  await until('the customer no longer hears the agent', () => customer.recentLevel() < GONE);
  await until('the agent no longer hears the customer', () => agent.recentLevel() < GONE);
  // Both nodes see the same hold (the row is the truth).
  expect((await nodeA.calls.view({ role: 'agent', agentId }, task.id))?.held).toBe(true);

  const resumed = await nodeB.calls.hold({ role: 'agent', agentId }, { taskId: task.id, held: false });
  expect(resumed).toMatchObject({ taskId: task.id, held: false });
  await until('both hear each other again', () => customer.recentLevel() > HEARD && agent.recentLevel() > HEARD);
  expect((await nodeA.calls.view({ role: 'agent', agentId }, task.id))?.held).toBe(false);

  // Again, so a leg that came back is not stuck: hold and resume work a second time.
  await nodeB.calls.hold({ role: 'agent', agentId }, { taskId: task.id, held: true });
  await until('the agent is out of the call again', () => agent.recentLevel() < GONE && customer.recentLevel() < GONE);
  await nodeB.calls.hold({ role: 'agent', agentId }, { taskId: task.id, held: false });
  await until('both back again', () => customer.recentLevel() > HEARD && agent.recentLevel() > HEARD);
}, 60_000);
