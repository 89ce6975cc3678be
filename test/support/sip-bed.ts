// What the SIP bridge tests share: a scratch folder with the caller's tone (what SIPp streams as
// RTP), a real Janus on loopback with its engine, a bounded wait, and the end-of-test check that a
// bridge left no dialog and no RTP relay behind.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { createJanusEngine, startJanusProcess, type JanusEngine, type JanusProcess } from '../../media/index.js';
import type { SipBridge } from '../../sip-bridge/index.js';
import { freePort } from './ports.js';

export interface SipBed {
  workDir: string;
  janus: JanusProcess;
  engine: JanusEngine;
  close(): Promise<void>;
}

/** Waits until `check` holds, polling every 50 ms; fails after `limitMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A scratch folder with tone.wav (3 s of 440 Hz, G.711 µ-law) and a running, healthy Janus. */
export async function startSipBed(opts: { prefix: string; rtpPortRange: string; logger: Logger }): Promise<SipBed> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), opts.prefix));
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', path.join(workDir, 'tone.wav'), 'synth', '3', 'sine', '440', 'vol', '0.5']);
  const port = await freePort();
  const janus = await startJanusProcess({
    janus: { mode: 'auto', binary: 'janus', wsUrl: `ws://127.0.0.1:${port}`, wsPort: port, rtpPortRange: opts.rtpPortRange },
    dataDir: workDir,
    logger: opts.logger,
  });
  if ((await janus.settled()) !== 'running') throw new Error(`Janus did not start: ${janus.detail}`);
  const engine = createJanusEngine({ wsUrl: `ws://127.0.0.1:${port}`, logger: opts.logger, loadPollMs: 500 });
  await until('node healthy', () => engine.nodes()[0]?.health.state === 'up');
  return {
    workDir,
    janus,
    engine,
    async close() {
      await engine.close();
      await janus.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** After a test: the bridge's dialogs and relays all ended (within 5 s), then it is closed. */
export async function closeBridgeClean(bridge: SipBridge): Promise<void> {
  await until('dialogs and relays to end', () => bridge.dialogCount === 0 && bridge.relayCount === 0, 5000).catch(() => undefined);
  expect(bridge.dialogCount).toBe(0);
  expect(bridge.relayCount).toBe(0);
  await bridge.close();
}
