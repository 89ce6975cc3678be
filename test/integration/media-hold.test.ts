// Hold in the media engine against a real Janus on loopback, with plain-RTP legs: a held leg leaves
// the call both ways (the other legs stop hearing it, it stops hearing them) while a file plays to the
// others, and comes back with its own mute state; holding twice is harmless.
import { randomUUID } from 'node:crypto';
import winston from 'winston';
import type { Logger } from '../../lib/logger.js';
import type { JanusEngine, MediaRoom } from '../../media/index.js';
import { rtpLegs, startJanusBed, until, type JanusBed } from '../support/media-bed.js';

const silent = winston.createLogger({ silent: true }) as unknown as Logger;
let bed: JanusBed;
let engine: JanusEngine;
const legs = rtpLegs();
const rtpLeg = legs.join;
let room: MediaRoom | undefined;

beforeAll(async () => {
  bed = await startJanusBed({ prefix: 'mccs-media-hold-', rtpPortRange: '28000-28499', logger: silent, loadPollMs: 200 });
  engine = bed.engine;
}, 60_000);

afterEach(async () => {
  await legs.closeAll();
  await room?.destroy();
  room = undefined;
});

afterAll(async () => {
  await bed?.close();
});

it('takes a held leg out of the call both ways and brings it back', async () => {
  room = await engine.createRoom({ sessionId: randomUUID(), video: false });
  const customer = await rtpLeg(room, 'customer', 440);
  const agent = await rtpLeg(room, 'agent', 1000);
  await until('each hears the other', () => customer.recentLevel() > 1000 && agent.recentLevel() > 1000);

  await room.setHeld('agent', true);
  await room.setHeld('agent', true); // idempotent
  await until('the customer no longer hears the agent', () => customer.recentLevel() < 200);
  await until('the agent no longer hears the customer', () => agent.recentLevel() < 200);
  // The leg is still the room's: nothing was torn down.
  expect(room.legIds().sort()).toEqual(['agent', 'customer']);

  await room.setHeld('agent', false);
  await until('both hear each other again', () => customer.recentLevel() > 1000 && agent.recentLevel() > 1000);
  // A leg that is not in the call has nothing to hold.
  await expect(room.setHeld('nobody', true)).resolves.toBeUndefined();
}, 30_000);

it('keeps a leg’s own mute across a hold', async () => {
  room = await engine.createRoom({ sessionId: randomUUID(), video: false });
  const customer = await rtpLeg(room, 'customer', 0);
  await rtpLeg(room, 'agent', 1000);
  await until('the customer hears the agent', () => customer.recentLevel() > 1000);
  await room.setHeld('agent', true);
  await room.setMuted('agent', true); // muted while on hold
  await room.setHeld('agent', false);
  await new Promise((r) => setTimeout(r, 800));
  expect(customer.recentLevel(500)).toBeLessThan(200);
  await room.setMuted('agent', false);
  await until('the customer hears the agent after unmuting', () => customer.recentLevel() > 1000);
}, 30_000);
