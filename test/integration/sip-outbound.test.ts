// The SIP bridge as a user agent client, against SIPp playing the provider and the phone (scenarios
// test/sip/uas-*.xml) and a real Janus on loopback: REGISTER with a digest challenge, refresh and
// unregister; OPTIONS keep-alive up and down; outbound calls answered (RTP from the phone reaches
// the room), ended by either side, refused (486) and unanswered (CANCEL). After every test no dialog
// is left.
import winston from 'winston';
import type { Logger } from '../../lib/logger.js';
import type { JanusEngine } from '../../media/index.js';
import { DialError, SipBridge, type DialogSummary, type TrunkConfig } from '../../sip-bridge/index.js';
import { freePort } from '../support/ports.js';
import { closeBridgeClean, startSipBed, until, type SipBed } from '../support/sip-bed.js';
import { createRtpPeer, type RtpPeer } from '../support/rtp.js';
import { runSipp, sippListening, type SippOptions, type SippRun } from '../support/sipp.js';

const log = process.env.MCCS_TEST_SIP_LOG
  ? (winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ format: winston.format.simple() })] }) as unknown as Logger)
  : (winston.createLogger({ silent: true }) as unknown as Logger);
let workDir: string;
let bed: SipBed;
let engine: JanusEngine;
let bridge: SipBridge | undefined;
const peers: RtpPeer[] = [];
const summaries: DialogSummary[] = [];


function expectOk(run: SippRun): void {
  if (run.code !== 0) throw new Error(`sipp exited ${run.code}: ${run.stderr}\n${run.messages.slice(-4000)}`);
}

/** A SIPp UAS on its own port, listening before this resolves. */
async function sippUas(scenario: string, extra: Partial<SippOptions> = {}): Promise<{ port: number; run: Promise<SippRun> }> {
  const port = await freePort();
  const run = runSipp({ scenario, workDir, sipPort: port, mediaPort: await freePort(), timeoutS: 15, ...extra });
  await sippListening(port);
  return { port, run };
}

async function startBridge(trunks: TrunkConfig[]): Promise<SipBridge> {
  const port = await freePort();
  bridge = new SipBridge({ engine, logger: log, listen: { host: '127.0.0.1', port, tcp: true }, trunks, onCall: () => undefined });
  bridge.on('dialog:ended', (s) => summaries.push(s));
  return bridge;
}

beforeAll(async () => {
  bed = await startSipBed({ prefix: 'mccs-sip-out-', rtpPortRange: '24500-24999', logger: log });
  ({ workDir, engine } = bed);
}, 60_000);

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  if (bridge) {
    const b = bridge;
    bridge = undefined;
    await closeBridgeClean(b);
  }
  summaries.splice(0);
});

afterAll(async () => {
  await bed?.close();
});

describe('registration', () => {
  it('registers with digest after a 401, refreshes before expiry and unregisters on close', async () => {
    const registrar = await sippUas('uas-register-digest.xml');
    const b = await startBridge([{ id: 'prov', register: { registrar: `127.0.0.1:${registrar.port}`, username: 'alice', password: 's3cret', expires: 120 } }]);
    await until('registered', () => b.trunkStatus()[0]?.registration?.state === 'registered');
    const first = b.trunkStatus()[0]!.registration!.expiresAt!;
    // The registrar granted 2 s (not the 120 asked for): the refresh comes at 80 %, 1.6 s.
    expect(first - Date.now()).toBeLessThanOrEqual(2000);
    await until('refreshed', () => (b.trunkStatus()[0]?.registration?.expiresAt ?? 0) > first, 4000);
    bridge = undefined;
    await b.close();
    const run = await registrar.run;
    expectOk(run);
    expect(run.messages).toMatch(/Authorization: Digest [^\n]*username="alice"[^\n]*qop=auth/);
    // One Call-ID for every REGISTER, CSeq counting up: 1 (challenged), 2, 3 (refresh), 4 (Expires: 0).
    const cseqs = [...run.messages.matchAll(/^CSeq: (\d+) REGISTER/gm)].map((m) => Number(m[1]));
    expect([...new Set(cseqs)]).toEqual([1, 2, 3, 4]);
    expect(new Set([...run.messages.matchAll(/^Call-ID: (\S+)/gm)].map((m) => m[1])).size).toBe(1);
    expect(run.messages).toMatch(/^Expires: 0/m);
  }, 30_000);

  it('reports a refused registration as failed with the reason', async () => {
    const registrar = await sippUas('uas-register-digest.xml', { timeoutS: 3 });
    const b = await startBridge([{ id: 'prov', register: { registrar: `sip:127.0.0.1:${registrar.port}`, username: 'alice', password: 'wrong' } }]);
    await until('failed', () => b.trunkStatus()[0]?.registration?.state === 'failed');
    expect(b.trunkStatus()[0]!.registration).toMatchObject({ state: 'failed', reason: '403 Forbidden' });
    await registrar.run;
  }, 30_000);
});

describe('keep-alive', () => {
  it('marks a trunk up while it answers OPTIONS, and one that cannot be reached down', async () => {
    const trunk = await sippUas('uas-options.xml', { calls: 2 });
    const closed = await freePort();
    const b = await startBridge([
      { id: 'alive', allow: ['127.0.0.1/32'], keepAlive: { target: `127.0.0.1:${trunk.port}`, intervalSeconds: 0.3 } },
      // Nobody listens on that TCP port: every ping fails at once (503 from our transport).
      { id: 'gone', target: `sip:127.0.0.1:${closed};transport=tcp`, keepAlive: { intervalSeconds: 0.2, failuresBeforeDown: 2 } },
    ]);
    const changes: string[] = [];
    b.on('trunk:status', (s) => changes.push(`${s.id}:${s.reachability?.state}`));
    await until('alive up, gone down', () => b.trunkStatus()[0]?.reachability?.state === 'up' && b.trunkStatus()[1]?.reachability?.state === 'down');
    expect(b.trunkStatus()[0]!.reachability).toMatchObject({ state: 'up', failures: 0, lastStatus: 200 });
    expect(b.trunkStatus()[1]!.reachability).toMatchObject({ state: 'down', lastStatus: 503 });
    expect(b.trunkStatus()[1]!.reachability!.failures).toBeGreaterThanOrEqual(2);
    expect(changes).toEqual(expect.arrayContaining(['alive:up', 'gone:down']));
    expectOk(await trunk.run);
  }, 30_000);
});

describe('outbound calls', () => {
  it('calls a phone: 180, 200 with its offer, our answer in the ACK, its RTP heard in the room; its BYE ends the call once', async () => {
    const phone = await sippUas('uas-answer-bye.xml', { replace: { __TALK_MS__: '3000' } });
    const b = await startBridge([{ id: 'prov', target: `127.0.0.1:${phone.port}` }]);
    const progress: number[] = [];
    const call = await b.dial({ trunkId: 'prov', to: '+4930123', timeoutMs: 5000, onProgress: (s) => progress.push(s) });
    expect(progress).toEqual([180]);
    expect(call).toMatchObject({ direction: 'outbound', trunkId: 'prov', legId: 'callee', codec: 'pcmu', state: 'answered' });
    expect(call.to).toBe(`sip:+4930123@127.0.0.1:${phone.port}`);
    const ended: string[] = [];
    call.onEnded((r) => ended.push(r));
    // An "agent" leg in the call's room hears the phone's tone.
    const agent = await createRtpPeer();
    peers.push(agent);
    const { local } = await call.room.joinRtp({ legId: 'agent', display: 'agent', codec: 'pcmu', remote: { ip: '127.0.0.1', port: agent.port } });
    agent.start(local, 0);
    await until('the agent hears the phone', () => agent.recentLevel() > 1000, 3000);
    expect(await call.ended).toBe('remote_bye');
    expect(ended).toEqual(['remote_bye']);
    expect(call.room.destroyed).toBe(true);
    const run = await phone.run;
    expectOk(run);
    expect(run.messages).toMatch(/^INVITE sip:\+4930123@127\.0\.0\.1/m);
    expect(summaries).toEqual([expect.objectContaining({ direction: 'outbound', answered: true, reason: 'remote_bye', trunkId: 'prov' })]);
  }, 30_000);

  it('hangs up with our BYE, and leaves a lent room standing', async () => {
    const phone = await sippUas('uas-answer-wait-bye.xml');
    const b = await startBridge([{ id: 'prov', target: `sip:127.0.0.1:${phone.port}` }]);
    const room = await engine.createRoom({ sessionId: `lent-${Date.now()}`, video: false });
    try {
      const call = await b.dial({ trunkId: 'prov', to: `sip:agent-phone@127.0.0.1:${phone.port}`, room, legId: 'agent-phone', timeoutMs: 5000 });
      expect(call.room).toBe(room);
      expect(room.legIds()).toContain('agent-phone');
      await new Promise((r) => setTimeout(r, 300));
      await call.hangup();
      expect(call.endReason).toBe('local_hangup');
      expectOk(await phone.run);
      expect(room.destroyed).toBe(false);
      expect(room.legIds()).not.toContain('agent-phone');
    } finally {
      await room.destroy();
    }
  }, 30_000);

  it('rejects a refused call with the status (486), and CANCELs one nobody answers', async () => {
    const busy = await sippUas('uas-busy.xml');
    const b = await startBridge([
      { id: 'busy', target: `127.0.0.1:${busy.port}` },
    ]);
    const refused = await b.dial({ trunkId: 'busy', to: '+4930123', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DialError);
    expect(refused).toMatchObject({ reason: 'rejected', status: 486 });
    expectOk(await busy.run);

    const ringing = await sippUas('uas-ring-cancel.xml');
    const b2 = new SipBridge({ engine, logger: log, listen: { host: '127.0.0.1', port: await freePort() }, trunks: [{ id: 'ring', target: `127.0.0.1:${ringing.port}` }], onCall: () => undefined });
    try {
      const started = Date.now();
      const unanswered = await b2.dial({ trunkId: 'ring', to: '+4930123', timeoutMs: 800 }).catch((e: unknown) => e);
      expect(unanswered).toMatchObject({ reason: 'no_answer' });
      expect(Date.now() - started).toBeLessThan(2000);
      const run = await ringing.run;
      expectOk(run);
      expect(run.messages).toMatch(/^CANCEL sip:\+4930123/m);
      expect(b2.trunkStatus()[0]!.activeCalls).toBe(0);
    } finally {
      await b2.close();
    }
    expect(summaries).toEqual([expect.objectContaining({ direction: 'outbound', answered: false, reason: 'rejected', status: 486 })]);
  }, 30_000);

  it('CANCELs when the caller aborts', async () => {
    const ringing = await sippUas('uas-ring-cancel.xml');
    const b = await startBridge([{ id: 'ring', target: `127.0.0.1:${ringing.port}` }]);
    const abort = new AbortController();
    const dialling = b.dial({ trunkId: 'ring', to: '+4930123', timeoutMs: 10_000, signal: abort.signal, onProgress: () => abort.abort() });
    await expect(dialling).rejects.toMatchObject({ reason: 'cancelled' });
    expectOk(await ringing.run);
  }, 30_000);
});
