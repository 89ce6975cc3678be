// The SIP bridge against SIPp callers and a real Janus on loopback: answered calls whose RTP reaches
// the AudioBridge room, INFO DTMF, hold by re-INVITE, caller BYE and CANCEL, refused calls (bad SDP,
// unknown source, trunk limits), a digest-authenticated trunk, and garbage on the SIP port. After
// every test no dialog is left and every ended call ended exactly once.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { jest } from '@jest/globals';
import winston from 'winston';
import type { Logger } from '../../lib/logger.js';
import type { JanusEngine, MediaEngine } from '../../media/index.js';
import { SipBridge, type DialogSummary, type DialogTimers, type InboundCall, type TrunkConfig } from '../../sip-bridge/index.js';
import { createRtpPeer, type RtpPeer } from '../support/rtp.js';
import { runSipp, type SippRun } from '../support/sipp.js';
import { freePort } from '../support/ports.js';
import { closeBridgeClean, startSipBed, until, type SipBed } from '../support/sip-bed.js';

const silent = winston.createLogger({ silent: true }) as unknown as Logger;
// MCCS_TEST_SIP_LOG=1 shows the bridge's log while debugging a scenario.
const bridgeLog = process.env.MCCS_TEST_SIP_LOG
  ? (winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ format: winston.format.simple() })] }) as unknown as Logger)
  : silent;
let workDir: string;
let bed: SipBed;
let engine: JanusEngine;
let bridge: SipBridge | undefined;
const peers: RtpPeer[] = [];
const calls: InboundCall[] = [];
const summaries: DialogSummary[] = [];

interface Started {
  bridge: SipBridge;
  port: number;
  onCall: jest.Mock<(c: InboundCall) => void>;
}

async function startBridge(
  trunks: TrunkConfig[],
  opts: { engine?: MediaEngine; onCall?: (c: InboundCall) => void; timers?: Partial<DialogTimers>; tcp?: boolean } = {},
): Promise<Started> {
  const port = await freePort();
  const onCall = jest.fn((call: InboundCall) => {
    calls.push(call);
    opts.onCall?.(call);
  });
  bridge = new SipBridge({ engine: opts.engine ?? engine, logger: bridgeLog, listen: { host: '127.0.0.1', port, tcp: opts.tcp ?? false }, trunks, onCall, ...(opts.timers ? { timers: opts.timers } : {}) });
  bridge.on('dialog:ended', (s) => summaries.push(s));
  return { bridge, port, onCall };
}

/** SIPp exits 0 when its scenario ran as written; otherwise show what it saw. */
function expectOk(run: SippRun): void {
  if (run.code !== 0) throw new Error(`sipp exited ${run.code}: ${run.stderr}\n${run.messages.slice(-4000)}`);
}

const sipp = async (port: number, scenario: string, extra: Partial<Parameters<typeof runSipp>[0]> = {}) =>
  runSipp({ scenario, workDir, target: { host: '127.0.0.1', port }, sipPort: await freePort(), mediaPort: await freePort(), ...extra });

beforeAll(async () => {
  bed = await startSipBed({ prefix: 'mccs-sip-', rtpPortRange: '24000-24499', logger: silent });
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

const carrier: TrunkConfig = { id: 'carrier', allow: ['127.0.0.1/32'] };

it('answers a trunk call: RTP reaches the room, INFO digits, hold and resume, caller BYE ends it once', async () => {
  let heard = false;
  const digits: string[] = [];
  const holds: boolean[] = [];
  const ended: string[] = [];
  const { port, onCall } = await startBridge([carrier], {
    onCall: (call) => {
      call.on('digit', (d) => digits.push(d));
      call.on('hold', (h) => holds.push(h));
      call.onEnded((r) => ended.push(r));
      // An "agent" leg in the same room listens for the caller's tone.
      void (async () => {
        const agent = await createRtpPeer();
        peers.push(agent);
        const { local } = await call.room.joinRtp({ legId: 'agent', display: 'agent', codec: 'pcmu', remote: { ip: '127.0.0.1', port: agent.port } });
        agent.start(local, 0);
        await until('agent hears the caller', () => agent.recentLevel() > 1000, 2500);
        heard = true;
      })().catch(() => undefined);
    },
  });
  const run = await sipp(port, 'uac-call.xml');
  expectOk(run);
  expect(onCall).toHaveBeenCalledTimes(1);
  const call = calls[0]!;
  expect(call.trunkId).toBe('carrier');
  expect(call.called).toBe('+4930555');
  expect(call.caller).toMatchObject({ withheld: false, source: 'p-asserted-identity', number: '+4930999', displayName: 'Anna' });
  expect(call.codec).toBe('pcmu');
  expect(heard).toBe(true);
  expect(digits).toEqual(['5', '#']);
  expect(holds).toEqual([true, false]);
  await until('call ended', () => call.state === 'ended');
  expect(ended).toEqual(['remote_bye']);
  expect(call.room.destroyed).toBe(true);
  expect(run.messages).toMatch(/SIP\/2.0 100 Trying/);
  expect(summaries).toEqual([expect.objectContaining({ answered: true, reason: 'remote_bye', trunkId: 'carrier' })]);
}, 30_000);

it('ends with our BYE when the server hangs up', async () => {
  const { port } = await startBridge([carrier], { onCall: (call) => setTimeout(() => void call.hangup(), 300) });
  const run = await sipp(port, 'uac-wait-bye.xml');
  expectOk(run);
  expect(run.messages).toMatch(/BYE sip:caller@127\.0\.0\.1/);
  await until('call ended', () => calls[0]?.state === 'ended');
  expect(calls[0]!.endReason).toBe('local_hangup');
}, 30_000);

it('plays a prompt into the call room (greeting), heard by another leg there', async () => {
  let heard = false;
  const { port } = await startBridge([carrier], {
    onCall: (call) => {
      void (async () => {
        const listener = await createRtpPeer();
        peers.push(listener);
        const { local } = await call.room.joinRtp({ legId: 'listener', display: 'listener', codec: 'pcmu', remote: { ip: '127.0.0.1', port: listener.port } });
        listener.start(local, 0);
        await call.playPrompt('greeting');
        await until('the greeting is heard', () => listener.recentLevel() > 300, 4000);
        heard = true;
        await call.hangup();
      })().catch(() => void call.hangup());
    },
  });
  const run = await sipp(port, 'uac-wait-bye.xml');
  expectOk(run);
  expect(heard).toBe(true);
}, 30_000);

it('answers CANCEL during set-up with 487, and the room is not left behind', async () => {
  const created: string[] = [];
  const slow: MediaEngine = {
    ...engine,
    health: () => engine.health(),
    nodes: () => engine.nodes(),
    room: (id) => engine.room(id),
    openRoom: (o) => engine.openRoom(o),
    close: () => Promise.resolve(),
    createRoom: async (o) => {
      await new Promise((r) => setTimeout(r, 800));
      created.push(o.sessionId);
      return engine.createRoom(o);
    },
  };
  const { port, onCall } = await startBridge([carrier], { engine: slow });
  const run = await sipp(port, 'uac-cancel.xml');
  expectOk(run);
  expect(run.messages).toMatch(/SIP\/2.0 487 Request Terminated/);
  expect(onCall).not.toHaveBeenCalled();
  await until('summary', () => summaries.length === 1);
  expect(summaries[0]).toMatchObject({ answered: false, reason: 'cancelled' });
  await until('room destroyed', () => created.length === 1 && engine.room(created[0]!) === undefined);
}, 30_000);

it('ends a call whose session is not refreshed in time (RFC 4028), with our BYE', async () => {
  // A 2 s session interval (Min-SE lowered for the test): without a refresh the bridge hangs up after
  // 2 - 2/3 s.
  const { port } = await startBridge([carrier], { timers: { minSeS: 1 } });
  const started = Date.now();
  const run = await sipp(port, 'uac-wait-bye.xml', { replace: { 'Max-Forwards: 70\n      Content-Type': 'Session-Expires: 2;refresher=uac\n      Supported: timer\n      Max-Forwards: 70\n      Content-Type' } });
  expectOk(run);
  expect(run.messages).toMatch(/Session-Expires: 2;refresher=uac/);
  expect(run.messages).toMatch(/Require: timer/);
  await until('call ended', () => calls[0]?.state === 'ended');
  expect(calls[0]!.endReason).toBe('session_expired');
  expect(Date.now() - started).toBeGreaterThan(1200);
}, 30_000);

it('refuses a session interval below Min-SE with 422', async () => {
  const { port } = await startBridge([carrier]);
  const run = await sipp(port, 'uac-refused.xml', {
    replace: { __STATUS__: '422', __MLINE__: 'm=audio [media_port] RTP/AVP 0', __RTPMAP__: 'a=rtpmap:0 PCMU/8000', 'Max-Forwards: 70\n      Content-Type': 'Session-Expires: 30\n      Max-Forwards: 70\n      Content-Type' },
  });
  expectOk(run);
  expect(run.messages).toMatch(/Min-SE: 90/i);
}, 30_000);

const refused = (status: number, mline = 'm=audio [media_port] RTP/AVP 0', rtpmap = 'a=rtpmap:0 PCMU/8000') => ({
  replace: { __STATUS__: String(status), __MLINE__: mline, __RTPMAP__: rtpmap },
});

it('refuses an offer without G.711 with 488, and an unknown source with 403', async () => {
  const { port, onCall } = await startBridge([carrier]);
  const bad = await sipp(port, 'uac-refused.xml', refused(488, 'm=audio [media_port] RTP/AVP 18', 'a=rtpmap:18 G729/8000'));
  expectOk(bad);
  expect(bad.messages).toMatch(/Warning: 399 mccs "no common codec/);
  // 127.0.0.2 is loopback too, but not on the trunk's allow list.
  const stranger = await sipp(port, 'uac-refused.xml', { ...refused(403), localIp: '127.0.0.2' });
  expectOk(stranger);
  expect(onCall).not.toHaveBeenCalled();
  expect(summaries.map((s) => s.status)).toEqual([488, 403]);
}, 30_000);

it('challenges a credential trunk with digest and answers the authenticated INVITE', async () => {
  const pbx: TrunkConfig = { id: 'pbx', auth: { username: 'pbx1', password: 'secret-pw', realm: 'mccs.test' } };
  const { port, onCall } = await startBridge([pbx]);
  const wrong = await sipp(port, 'uac-digest.xml', { extraArgs: ['-au', 'pbx1', '-ap', 'wrong'], replace: { '<recv response="200" rrs="true" />': '<recv response="401" />' }, timeoutS: 2 });
  expect(wrong.messages).toMatch(/WWW-Authenticate: Digest realm="mccs.test"/);
  // The first 401 is the challenge; the second refuses the wrong password.
  expect(wrong.messages.match(/received[^\n]*\n\s*SIP\/2.0 401/g)?.length).toBeGreaterThanOrEqual(2);
  expect(onCall).not.toHaveBeenCalled();
  const run = await sipp(port, 'uac-digest.xml', { extraArgs: ['-au', 'pbx1', '-ap', 'secret-pw'] });
  expectOk(run);
  expect(onCall).toHaveBeenCalledTimes(1);
  expect(calls[0]!.trunkId).toBe('pbx');
  expect(calls[0]!.codec).toBe('pcma');
  await until('call ended', () => calls[0]!.state === 'ended');
}, 30_000);

it('answers 503 with Retry-After when a trunk is at its concurrent-call limit', async () => {
  const { port, onCall } = await startBridge([{ ...carrier, maxConcurrent: 1 }]);
  const first = sipp(port, 'uac-call.xml');
  await until('first call up', () => onCall.mock.calls.length === 1);
  const second = await sipp(port, 'uac-refused.xml', refused(503));
  expectOk(second);
  expect(second.messages).toMatch(/Retry-After: 5/);
  expectOk(await first);
  expect(onCall).toHaveBeenCalledTimes(1);
}, 30_000);

it('survives garbage, truncated and oversized datagrams and answers OPTIONS', async () => {
  const { port, bridge: b } = await startBridge([carrier]);
  const sock = dgram.createSocket('udp4');
  const send = (text: string | Buffer) => new Promise<void>((r) => sock.send(text, port, '127.0.0.1', () => r()));
  const replies: string[] = [];
  sock.on('message', (m) => replies.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  await send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]));
  await send('INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n');
  await send('INVITE sip:x@127.0.0.1 SIP/2.0\r\n' + 'X-Filler: ' + 'a'.repeat(60_000) + '\r\n\r\n');
  const lp = (sock.address() as net.AddressInfo).port;
  await send(
    [
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKopt1;rport`,
      'From: <sip:probe@127.0.0.1>;tag=p1',
      `To: <sip:127.0.0.1:${port}>`,
      'Call-ID: opt-1',
      'CSeq: 1 OPTIONS',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  await until('OPTIONS answered', () => replies.some((r) => r.startsWith('SIP/2.0 200')), 3000);
  expect(replies.join('\n')).toMatch(/Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO/);
  sock.close();
  expect(b.dialogCount).toBe(0);
}, 30_000);

it('keeps a call up through garbage, truncated, bad-header and oversized messages on UDP and TCP, and answers OPTIONS on both', async () => {
  let live: InboundCall | undefined;
  const { port, bridge: b } = await startBridge([carrier], { tcp: true, onCall: (c) => (live = c) });
  const caller = sipp(port, 'uac-wait-bye.xml');
  await until('call up', () => live?.state === 'answered');
  const options = (via: string, branch: string) =>
    [`OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/${via};branch=${branch}`, 'From: <sip:probe@127.0.0.1>;tag=p1', `To: <sip:127.0.0.1:${port}>`, `Call-ID: ${branch}`, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  const big = 'v=0\r\n' + 'a=x:' + 'y'.repeat(20_000) + '\r\n';
  const junk = (via: string): Array<string | Buffer> => [
    Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 0xff]),
    // Truncated: the headers never end.
    `INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/${via};branch=z9hG4bKtr\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nCall-`,
    // Headers the parser cannot read, or that say nothing.
    `INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: ???\r\nFrom: <<<\r\nCSeq: abc\r\nContent-Length: 0\r\n\r\n`,
    // A body over MAX_BODY (16 KB) → 413.
    [`INVITE sip:big@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/${via};branch=z9hG4bKbig${via.slice(0, 3)}`, 'From: <sip:a@127.0.0.1>;tag=big', `To: <sip:big@127.0.0.1:${port}>`, `Call-ID: big-${via.slice(0, 3)}`, 'CSeq: 1 INVITE', 'Contact: <sip:a@127.0.0.1:9>', 'Max-Forwards: 70', 'Content-Type: application/sdp', `Content-Length: ${big.length}`, '', big].join('\r\n'),
  ];

  // UDP: every datagram on its own.
  const udp = dgram.createSocket('udp4');
  const udpReplies: string[] = [];
  udp.on('message', (m) => udpReplies.push(m.toString()));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const up = (udp.address() as net.AddressInfo).port;
  for (const m of junk(`UDP 127.0.0.1:${up}`)) await new Promise<void>((r) => udp.send(m, port, '127.0.0.1', () => r()));
  udp.send(options(`UDP 127.0.0.1:${up};rport`, 'z9hG4bKudpopt'), port, '127.0.0.1');
  await until('UDP OPTIONS answered', () => udpReplies.some((r) => r.startsWith('SIP/2.0 200')), 3000);
  expect(udpReplies.join('\n')).toMatch(/SIP\/2.0 413/);
  udp.close();

  // TCP: each message on a connection of its own (garbage may make the stack drop a connection), then OPTIONS.
  const tcpSend = async (text: string | Buffer, expect?: RegExp): Promise<string> => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const lp = sock.localPort!;
    sock.write(typeof text === 'string' ? text.replace(/TCP 127\.0\.0\.1:0/g, `TCP 127.0.0.1:${lp}`) : text);
    if (expect) await until(`TCP answer ${expect}`, () => expect.test(got), 3000);
    else await new Promise((r) => setTimeout(r, 200));
    sock.destroy();
    return got;
  };
  const [garbage, truncated, badHeaders, oversized] = junk('TCP 127.0.0.1:0');
  await tcpSend(garbage!);
  await tcpSend(truncated!);
  await tcpSend(badHeaders!);
  await tcpSend(oversized!, /SIP\/2.0 413/);
  await tcpSend(options('TCP 127.0.0.1:0', 'z9hG4bKtcpopt'), /SIP\/2.0 200 OK[\s\S]*Allow: INVITE/);

  // The call in progress never noticed.
  expect(live!.state).toBe('answered');
  expect(b.dialogCount).toBe(1);
  await live!.hangup();
  expectOk(await caller);
  expect(live!.endReason).toBe('local_hangup');
}, 30_000);

it('listens on TLS with a configured certificate and answers OPTIONS there', async () => {
  const key = path.join(workDir, 'tls-key.pem');
  const cert = path.join(workDir, 'tls-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const port = await freePort();
  const tlsPort = await freePort();
  bridge = new SipBridge({
    engine,
    logger: bridgeLog,
    listen: { host: '127.0.0.1', port, tcp: false, tls: { port: tlsPort, key: await readFile(key), cert: await readFile(cert) } },
    trunks: [carrier],
    onCall: () => undefined,
  });
  const pem = await readFile(cert);
  const sock = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: pem, servername: 'localhost', checkServerIdentity: () => undefined });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('error', reject);
  });
  expect(sock.authorized).toBe(true);
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString()));
  sock.write(
    [`OPTIONS sip:127.0.0.1:${tlsPort};transport=tls SIP/2.0`, `Via: SIP/2.0/TLS 127.0.0.1:${sock.localPort};branch=z9hG4bKtls1`, 'From: <sip:probe@127.0.0.1>;tag=t1', `To: <sip:127.0.0.1:${tlsPort}>`, 'Call-ID: tls-1', 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n'),
  );
  await until('OPTIONS answered over TLS', () => /^SIP\/2.0 200 OK/.test(got), 3000);
  expect(got).toMatch(/Allow: INVITE/);
  sock.destroy();
}, 30_000);
