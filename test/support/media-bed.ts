// What the media tests share: a real Janus on loopback with its engine in a scratch folder, a bounded
// wait, and plain-RTP legs (no ICE needed) that play a tone into a room and measure what they hear.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { createJanusEngine, startJanusProcess, type JanusEngine, type JanusProcess, type MediaRoom } from '../../media/index.js';
import { freePort } from './ports.js';
import { createRtpPeer, type RtpPeer } from './rtp.js';

/** Waits until `check` holds, polling every 50 ms; fails after `limitMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface JanusBed {
  /** The scratch folder (Janus's data folder); removed by close(). */
  dir: string;
  janus: JanusProcess;
  engine: JanusEngine;
  close(): Promise<void>;
}

/** A scratch folder and a running Janus on a free port, with an engine that sees it healthy. */
export async function startJanusBed(opts: { prefix: string; rtpPortRange: string; logger: Logger; loadPollMs: number }): Promise<JanusBed> {
  const dir = await mkdtemp(path.join(os.tmpdir(), opts.prefix));
  const port = await freePort();
  const janus = await startJanusProcess({
    janus: { mode: 'auto', binary: 'janus', wsUrl: `ws://127.0.0.1:${port}`, wsPort: port, rtpPortRange: opts.rtpPortRange },
    dataDir: dir,
    logger: opts.logger,
  });
  if ((await janus.settled()) !== 'running') throw new Error(`Janus did not start: ${janus.detail}`);
  const engine = createJanusEngine({ wsUrl: `ws://127.0.0.1:${port}`, logger: opts.logger, loadPollMs: opts.loadPollMs });
  await until('node healthy', () => engine.nodes()[0]?.health.state === 'up');
  return {
    dir,
    janus,
    engine,
    async close() {
      await engine.close();
      await janus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Plain-RTP (PCMU) legs joined to rooms, each playing a tone; closeAll() after each test. */
export function rtpLegs() {
  const peers: RtpPeer[] = [];
  /** A peer closed with the others, for a leg joined some other way. */
  async function peer(): Promise<RtpPeer> {
    const p = await createRtpPeer();
    peers.push(p);
    return p;
  }
  return {
    peer,
    async join(room: MediaRoom, legId: string, tone: number): Promise<RtpPeer> {
      const p = await peer();
      const { local } = await room.joinRtp({ legId, display: legId, codec: 'pcmu', remote: { ip: '127.0.0.1', port: p.port } });
      p.start(local, tone);
      return p;
    },
    async closeAll(): Promise<void> {
      for (const p of peers.splice(0)) await p.close();
    },
  };
}
