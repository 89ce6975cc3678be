// The media engine against a real Janus on loopback, with plain-RTP legs (no ICE needed): rooms per
// session, mixing between legs, server-side mute, the coach mix kept apart, a second process joining
// the same room, the registry's load view, and the mixed recording. Browser (WebRTC) legs are tested
// in a network namespace by the browser media tests.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import winston from 'winston';
import type { Logger } from '../../lib/logger.js';
import { createJanusEngine, type JanusEngine, type MediaRoom } from '../../media/index.js';
import { rtpLegs, startJanusBed, until, type JanusBed } from '../support/media-bed.js';

const silent = winston.createLogger({ silent: true }) as unknown as Logger;
let bed: JanusBed;
let engine: JanusEngine;
let other: JanusEngine | undefined;
const legs = rtpLegs();
const rtpLeg = legs.join;
let room: MediaRoom | undefined;

beforeAll(async () => {
  bed = await startJanusBed({ prefix: 'mccs-media-', rtpPortRange: '21000-21999', logger: silent, loadPollMs: 200 });
  engine = bed.engine;
}, 60_000);

afterEach(async () => {
  await legs.closeAll();
  await room?.destroy();
  room = undefined;
  await other?.close();
  other = undefined;
});

afterAll(async () => {
  await bed?.close();
});

it('mixes two phone legs: each hears the other, a server-side mute silences one, and the mix is recorded', async () => {
  const recordDir = path.join(bed.dir, 'rec');
  execFileSync('mkdir', ['-p', recordDir]);
  const sessionId = randomUUID();
  const started = Date.now();
  room = await engine.createRoom({ sessionId, video: false, recordDir });
  expect(room.nodeId).toBe(engine.nodes()[0]?.id);
  const a = await rtpLeg(room, 'a', 440);
  const b = await rtpLeg(room, 'b', 0);
  // B hears A's tone; A hears (near) silence, since B sends silence and the mix leaves out one's own voice.
  await until('b hears a', () => b.recentLevel() > 1000);
  expect(a.received).toBeGreaterThan(0);
  expect(a.recentLevel()).toBeLessThan(200);

  await room.setMuted('a', true);
  await until('a muted', () => b.recentLevel() < 200);
  await room.setMuted('a', false);
  await until('a unmuted', () => b.recentLevel() > 1000);

  await until('load reported', () => (engine.nodes()[0]?.load ?? 0) >= 2);
  await new Promise((r) => setTimeout(r, 1500));
  const files = await room.recordingFiles();
  await room.destroy();
  const callMs = Date.now() - started;
  const mix = (await room.recordingFiles()).find((f) => f.kind === 'audio-mix');
  expect(files.length + 1).toBeGreaterThan(0);
  expect(mix).toBeDefined();
  // 16 kHz mono 16-bit: 32 000 bytes a second, plus a 44-byte header.
  const seconds = ((await stat(mix!.path)).size - 44) / 32_000;
  expect(Math.abs(seconds * 1000 - callMs)).toBeLessThan(1000);
  expect(room.destroyed).toBe(true);
}, 30_000);

it('keeps the coach mix apart: the agent hears the whispering supervisor, the customer does not', async () => {
  room = await engine.createRoom({ sessionId: randomUUID(), video: false });
  const customer = await rtpLeg(room, 'customer', 0);
  await rtpLeg(room, 'agent', 0);
  const peer = await legs.peer();
  const agentCoach = await room.joinRtp({ legId: 'agent-coach', mix: 'coach', display: 'agent', muted: true, codec: 'pcmu', remote: { ip: '127.0.0.1', port: peer.port } });
  peer.start(agentCoach.local, 0);
  const supervisor = await legs.peer();
  const sup = await room.joinRtp({ legId: 'supervisor', mix: 'coach', display: 'sup', codec: 'pcmu', remote: { ip: '127.0.0.1', port: supervisor.port } });
  supervisor.start(sup.local, 1000);
  await until('agent hears the whisper', () => peer.recentLevel() > 1000);
  await new Promise((r) => setTimeout(r, 500));
  expect(customer.received).toBeGreaterThan(0);
  expect(customer.recentLevel(1000)).toBeLessThan(200);
  expect(room.legIds().sort()).toEqual(['agent', 'agent-coach', 'customer', 'supervisor']);
  await room.leave('supervisor');
  expect(room.legIds()).not.toContain('supervisor');
}, 30_000);

it('lets a second server process join a leg to the room another one created', async () => {
  const sessionId = randomUUID();
  room = await engine.createRoom({ sessionId, video: false });
  const a = await rtpLeg(room, 'a', 440);
  other = createJanusEngine({ wsUrl: engine.nodes()[0]!.id, logger: silent });
  await until('other connected', () => other!.connectionState === 'connected');
  const opened = await other.openRoom({ sessionId, nodeId: room.nodeId, video: false });
  const b = await rtpLeg(opened, 'b', 0);
  await until('b hears a across processes', () => b.recentLevel() > 1000);
  expect(a.received).toBeGreaterThan(0);
  // A leg id that is already in the room (a reload) replaces the stale participant.
  const again = await rtpLeg(opened, 'b', 0);
  await until('replacement hears a', () => again.recentLevel() > 1000);
}, 30_000);

it('refuses a room when no media node is up', async () => {
  const dead = createJanusEngine({ wsUrl: 'ws://127.0.0.1:9', logger: silent, retryBaseMs: 50, retryMaxMs: 100 });
  try {
    await expect(dead.createRoom({ sessionId: randomUUID(), video: false })).rejects.toThrow(/no media server is up/);
  } finally {
    await dead.close();
  }
});
