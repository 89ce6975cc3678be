// The SIP bridge's RTP relay against SIPp callers and a real Janus on loopback: RFC 4733 digits
// lifted out of the caller's RTP (SIPp replays the telephone-event pcaps it ships) while its tone
// still reaches the room; the room's audio reaching a phone that answers symmetrically (our RTP
// helper behind SIPp's signalling); a phone that stops sending hung up with BYE after the RTP
// time-out, and a silent phone on hold left alone. After every test no dialog and no relay socket is left.
import { readFile } from 'node:fs/promises';
import winston from 'winston';
import type { Logger } from '../../lib/logger.js';
import type { JanusEngine } from '../../media/index.js';
import { SipBridge, type DialogSummary, type InboundCall, type RelayOptions, type TrunkConfig } from '../../sip-bridge/index.js';
import { freePort } from '../support/ports.js';
import { closeBridgeClean, startSipBed, until, type SipBed } from '../support/sip-bed.js';
import { createRtpPeer, type RtpPeer } from '../support/rtp.js';
import { runSipp, sippMessageFile, type SippOptions, type SippRun } from '../support/sipp.js';

const log = process.env.MCCS_TEST_SIP_LOG
  ? (winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ format: winston.format.simple() })] }) as unknown as Logger)
  : (winston.createLogger({ silent: true }) as unknown as Logger);
const RELAY_PORTS = '27000-27199';
let workDir: string;
let bed: SipBed;
let engine: JanusEngine;
let bridge: SipBridge | undefined;
const peers: RtpPeer[] = [];
const calls: InboundCall[] = [];
const summaries: DialogSummary[] = [];


function expectOk(run: SippRun): void {
  if (run.code !== 0) throw new Error(`sipp exited ${run.code}: ${run.stderr}\n${run.messages.slice(-4000)}`);
}

const carrier: TrunkConfig = { id: 'carrier', allow: ['127.0.0.1/32'] };

async function startBridge(relay: RelayOptions, onCall: (c: InboundCall) => void = () => undefined): Promise<number> {
  const port = await freePort();
  bridge = new SipBridge({
    engine,
    logger: log,
    listen: { host: '127.0.0.1', port, tcp: false },
    trunks: [carrier],
    relay: { portRange: RELAY_PORTS, ...relay },
    onCall: (call) => {
      calls.push(call);
      onCall(call);
    },
  });
  bridge.on('dialog:ended', (s) => summaries.push(s));
  return port;
}

const sipp = async (port: number, scenario: string, extra: Partial<SippOptions> = {}): Promise<SippRun> =>
  runSipp({ scenario, workDir, target: { host: '127.0.0.1', port }, sipPort: await freePort(), mediaPort: await freePort(), ...extra });

/** The RTP port our 200 OK's SDP gave the SIPp caller on `sipPort`, read from its message log as it runs. */
async function answeredRtpPort(sipPort: number): Promise<number> {
  let port: number | undefined;
  const file = sippMessageFile({ workDir, sipPort });
  const read = async (): Promise<void> => {
    const log = await readFile(file, 'utf8').catch(() => '');
    port = Number(/SIP\/2\.0 200 OK[\s\S]*?m=audio (\d+)/.exec(log)?.[1]) || undefined;
  };
  for (const deadline = Date.now() + 5000; !port && Date.now() < deadline; ) {
    await read();
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  if (!port) throw new Error('no SDP answer in the SIPp log');
  return port;
}

/** A second leg in the call's room, as an agent would be: it sends `toneHz` and records what it hears. */
async function listenIn(call: InboundCall, toneHz = 0): Promise<RtpPeer> {
  const agent = await createRtpPeer();
  peers.push(agent);
  const { local } = await call.room.joinRtp({ legId: 'agent', display: 'agent', codec: 'pcmu', remote: { ip: '127.0.0.1', port: agent.port } });
  agent.start(local, toneHz);
  return agent;
}

beforeAll(async () => {
  bed = await startSipBed({ prefix: 'mccs-sip-rtp-', rtpPortRange: '27200-27699', logger: log });
  ({ workDir, engine } = bed);
}, 60_000);

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  if (bridge) {
    const b = bridge;
    bridge = undefined;
    await closeBridgeClean(b);
  }
  for (const c of calls.splice(0)) expect(c.state).toBe('ended');
  summaries.splice(0);
});

afterAll(async () => {
  await bed?.close();
});

it('reports RFC 4733 digits once each (9, then 1) while the caller\'s tone reaches the room', async () => {
  const digits: Array<[string, string]> = [];
  let agent: RtpPeer | undefined;
  const port = await startBridge({ rtpTimeoutMs: 2000 }, (call) => {
    call.on('digit', (d, via) => digits.push([d, via]));
    void listenIn(call).then((a) => (agent = a));
  });
  let heard = false;
  const run = sipp(port, 'uac-dtmf-rfc4733.xml');
  await until('the agent hears the caller', () => (heard ||= (agent?.recentLevel() ?? 0) > 1000), 5000);
  expectOk(await run);
  expect(heard).toBe(true);
  expect(digits).toEqual([
    ['9', 'rfc4733'],
    ['1', 'rfc4733'],
  ]);
  await until('call ended', () => calls[0]?.state === 'ended');
  expect(calls[0]!.endReason).toBe('remote_bye');
}, 30_000);

it('relays the room\'s audio to a symmetric phone, and hangs up with BYE when its RTP stops (rtp_timeout)', async () => {
  const phone = await createRtpPeer();
  peers.push(phone);
  let agent: RtpPeer | undefined;
  const port = await startBridge({ rtpTimeoutMs: 2000 }, (call) => void listenIn(call, 1000).then((a) => (agent = a)));
  // SIPp does the signalling; the SDP names our RTP helper as the phone's media. It sends to the
  // port of our answer, as a phone does (the media server sends nothing before it hears the leg).
  const sipPort = await freePort();
  const run = sipp(port, 'uac-wait-bye.xml', { sipPort, replace: { 'm=audio [media_port]': `m=audio ${phone.port}` }, timeoutS: 30 });
  const relayPort = await answeredRtpPort(sipPort);
  expect(relayPort).toBeGreaterThanOrEqual(27000);
  expect(relayPort).toBeLessThanOrEqual(27199);
  phone.start({ ip: '127.0.0.1', port: relayPort }, 440);
  await until('the agent hears the phone', () => (agent?.recentLevel() ?? 0) > 1000, 5000);
  await until('the phone hears the room (the agent)', () => phone.recentLevel() > 1000, 5000);
  expect(phone.lastSource).toEqual({ ip: '127.0.0.1', port: relayPort });

  const stopped = Date.now();
  phone.stop();
  expectOk(await run);
  await until('call ended', () => calls[0]?.state === 'ended');
  const waited = Date.now() - stopped;
  expect(calls[0]!.endReason).toBe('rtp_timeout');
  expect(waited).toBeGreaterThanOrEqual(1900);
  expect(waited).toBeLessThan(6000);
  expect(summaries).toEqual([expect.objectContaining({ answered: true, reason: 'rtp_timeout' })]);
}, 30_000);

it('does not time a silent caller out while it holds the call', async () => {
  const port = await startBridge({ rtpTimeoutMs: 1000 });
  const run = await sipp(port, 'uac-hold-silent.xml', { replace: { __SILENT_MS__: '3000' } });
  expectOk(run);
  expect(run.messages).not.toMatch(/^BYE sip:caller/m);
  await until('call ended', () => calls[0]?.state === 'ended');
  expect(calls[0]!.endReason).toBe('remote_bye');
  expect(calls[0]!.onHold).toBe(true);
}, 30_000);
