// The relay's shape check: what another node publishes is replayed into this node's metrics only when
// it is an event the monitor counts, with the fields the monitor reads.
import { parseWire } from '../../../routing/cluster-events.js';

const wire = (w: unknown) => JSON.stringify(w);
const answered = { taskId: 't1', queueId: 'general', agentId: 'a1', at: 1_700_000_000_000, waitMs: 1200 };

test('accepts the events the queue monitor counts', () => {
  expect(parseWire(wire({ n: 'node-b', s: 'chat', e: 'task:answered', a: [answered] }))).toEqual({ n: 'node-b', s: 'chat', e: 'task:answered', a: [answered] });
  expect(parseWire(wire({ n: 'node-b', s: 'routing', e: 'offer', a: ['a1', { id: 't1', queueId: 'general', priority: 0, enqueuedAt: 1 }, 2] }))).not.toBeNull();
  // As the engine emits it: with whether the offer went out by push only.
  expect(parseWire(wire({ n: 'node-b', s: 'routing', e: 'offer', a: ['a1', { id: 't1', queueId: 'general', priority: 0, enqueuedAt: 1 }, 2, false] }))).not.toBeNull();
  expect(parseWire(wire({ n: 'node-b', s: 'routing', e: 'presence', a: ['a1'] }))).not.toBeNull();
});

test.each([
  ['not JSON', '{'],
  ['not an object', wire(42)],
  ['no node id', wire({ s: 'chat', e: 'task:answered', a: [answered] })],
  ['an unknown source', wire({ n: 'b', s: 'media', e: 'task:answered', a: [answered] })],
  ['an event the monitor does not count', wire({ n: 'b', s: 'chat', e: 'task:transferred', a: [answered] })],
  ['a chat event without its queue', wire({ n: 'b', s: 'chat', e: 'task:queued', a: [{ taskId: 't1', at: 1 }] })],
  ['a chat event without a time', wire({ n: 'b', s: 'chat', e: 'task:abandoned', a: [{ taskId: 't1', queueId: 'q' }] })],
  ['a routing event without an agent id', wire({ n: 'b', s: 'routing', e: 'presence', a: [7] })],
  ['an offer without a ticket', wire({ n: 'b', s: 'routing', e: 'offer', a: ['a1', null, 2] })],
  ['no arguments', wire({ n: 'b', s: 'routing', e: 'presence', a: [] })],
  ['too many arguments', wire({ n: 'b', s: 'routing', e: 'presence', a: ['a', 1, 2, 3, 4] })],
  ['an oversized message', wire({ n: 'b', s: 'routing', e: 'presence', a: ['x'.repeat(70_000)] })],
])('drops %s', (_what, message) => {
  expect(parseWire(message)).toBeNull();
});
