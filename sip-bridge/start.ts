// The SIP bridge as the composition root starts it: trunks from a JSON file (so credentials stay
// out of the environment), validated before anything listens; no file, no bridge (no port opened).
import { readFile } from 'node:fs/promises';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { MediaEngine } from '../media/index.js';
import { SipBridge } from './bridge.js';
import type { InboundCall } from './call.js';
import { validateTrunks, type TrunkConfig } from './trunks.js';

/**
 * One trunk as written in MCCS_SIP_TRUNKS_FILE: a TrunkConfig, the queue its calls wait in,
 * optionally a DTMF menu (digit → queue) the caller answers after the greeting, and whether the
 * server places customers' callbacks through it (the first trunk that says so).
 */
export type TrunkFileEntry = TrunkConfig & { queueId?: string; menu?: Record<string, string>; menuPrompt?: string; callbacks?: boolean };

/** Where a trunk's calls go: its queue, and the topic menu if it has one. */
export interface TrunkRouting {
  queueId: string;
  menu?: Record<string, string>;
  /** The recording that speaks the menu (a prompt name or an absolute path); default 'menu', which matches the seeded queues. */
  menuPrompt?: string;
}

export interface StartSipOptions {
  sip: Config['sip'];
  engine: MediaEngine;
  logger: Logger;
  /** Builds what takes answered calls, given the trunk → queue mapping and whether callbacks can be placed. */
  intake: (routingFor: (trunkId: string) => TrunkRouting, opts: { callbacks: boolean }) => { onCall(call: InboundCall): Promise<void>; close(): void };
}

export interface StartedSipBridge {
  bridge: SipBridge;
  /** The trunk customers are called back through; null when no trunk has `callbacks: true`. */
  callbackTrunkId: string | null;
  close(): Promise<void>;
}

export async function startSipBridge(opts: StartSipOptions): Promise<StartedSipBridge | null> {
  if (!opts.sip.trunksFile) return null;
  let entries: TrunkFileEntry[];
  try {
    entries = JSON.parse(await readFile(opts.sip.trunksFile, 'utf8')) as TrunkFileEntry[];
    if (!Array.isArray(entries)) throw new TypeError('the file must hold a JSON array of trunks');
  } catch (err) {
    throw new TypeError(`MCCS_SIP_TRUNKS_FILE ${opts.sip.trunksFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const routing = new Map<string, TrunkRouting>();
  for (const e of entries) {
    if (e.menu !== undefined) {
      const bad = Object.entries(e.menu).find(([digit, queue]) => !/^[0-9*#]$/.test(digit) || typeof queue !== 'string' || !queue);
      if (bad || typeof e.menu !== 'object') throw new TypeError(`MCCS_SIP_TRUNKS_FILE: trunk ${e.id}: menu must map single digits to queue ids`);
    }
    routing.set(e.id, { queueId: e.queueId ?? 'general', ...(e.menu ? { menu: e.menu } : {}), ...(e.menuPrompt ? { menuPrompt: e.menuPrompt } : {}) });
  }
  const trunks = entries.map(({ queueId: _queueId, menu: _menu, menuPrompt: _prompt, callbacks: _callbacks, ...trunk }) => trunk);
  validateTrunks(trunks);
  const callbackTrunkId = entries.find((e) => e.callbacks === true)?.id ?? null;
  const intake = opts.intake((trunkId) => routing.get(trunkId) ?? { queueId: 'general' }, { callbacks: callbackTrunkId !== null });
  const tls = await readTls(opts.sip);
  const bridge = new SipBridge({
    engine: opts.engine,
    logger: opts.logger,
    listen: { host: opts.sip.host, port: opts.sip.port, ...(tls ? { tls } : {}) },
    ...(opts.sip.publicAddress ? { publicAddress: opts.sip.publicAddress } : {}),
    ...(opts.sip.mediaAddress ? { mediaAddress: opts.sip.mediaAddress } : {}),
    // The defaults until lib/config.ts reads MCCS_SIP_RTP_PORTS and MCCS_SIP_RTP_TIMEOUT_SECONDS (README, "Proposed config").
    relay: { portRange: opts.sip.rtpPortRange, rtpTimeoutMs: opts.sip.rtpTimeoutSeconds * 1000 },
    trunks,
    onCall: (call) => intake.onCall(call),
  });
  opts.logger.info('SIP bridge listening', { host: opts.sip.host, port: opts.sip.port, tlsPort: tls?.port ?? null, trunks: trunks.map((t) => t.id) });
  return {
    bridge,
    callbackTrunkId,
    async close() {
      intake.close();
      await bridge.close();
    },
  };
}

/** The TLS listener's key and certificate chain (PEM), when both files are configured. */
async function readTls(sip: Config['sip']): Promise<{ port: number; key: Buffer; cert: Buffer } | null> {
  if (!sip.tlsKeyFile || !sip.tlsCertFile) return null;
  try {
    const [key, cert] = await Promise.all([readFile(sip.tlsKeyFile), readFile(sip.tlsCertFile)]);
    return { port: sip.tlsPort, key, cert };
  } catch (err) {
    throw new TypeError(`MCCS_SIP_TLS_KEY_FILE / MCCS_SIP_TLS_CERT_FILE: ${err instanceof Error ? err.message : String(err)}`);
  }
}
