// What the SIP bridge tests share: a scratch folder with the caller's tone (what SIPp streams as
// RTP), a real Janus on loopback with its engine, a bounded wait, and the end-of-test check that a
// bridge left no dialog and no RTP relay behind.
import type { Logger } from '../../lib/logger.js';
import type { JanusEngine, JanusProcess } from '../../media/index.js';
import type { SipBridge } from '../../sip-bridge/index.js';
import { startJanusBed, until } from './media-bed.js';
import { writeCallerTone } from './sipp.js';

export { until };

export interface SipBed {
  workDir: string;
  janus: JanusProcess;
  engine: JanusEngine;
  close(): Promise<void>;
}

/** A scratch folder with tone.wav (3 s of 440 Hz, G.711 µ-law) and a running, healthy Janus. */
export async function startSipBed(opts: { prefix: string; rtpPortRange: string; logger: Logger }): Promise<SipBed> {
  const bed = await startJanusBed({ ...opts, loadPollMs: 500 });
  try {
    writeCallerTone(bed.dir);
  } catch (err) {
    await bed.close();
    throw err;
  }
  return { ...bed, workDir: bed.dir };
}

/** After a test: the bridge's dialogs and relays all ended (within 5 s), then it is closed. */
export async function closeBridgeClean(bridge: SipBridge): Promise<void> {
  await until('dialogs and relays to end', () => bridge.dialogCount === 0 && bridge.relayCount === 0, 5000).catch(() => undefined);
  expect(bridge.dialogCount).toBe(0);
  expect(bridge.relayCount).toBe(0);
  await bridge.close();
}
