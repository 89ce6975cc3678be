// The bridge's RTP relay: RFC 4733 telephone-event packets read into digits (once per event, on its
// end packet), and the relay itself on loopback between a fake phone and a fake media server:
// forwarding both ways, digits lifted out, latching onto the phone's real source, the inactivity
// time-out (none while held), and ports taken from and given back to the configured range.
import dgram from 'node:dgram';
import { DigitDetector, parseTelephoneEvent } from '../../../sip-bridge/telephone-event.js';
import { RtpRelay } from '../../../sip-bridge/rtp-relay.js';
import { RtpPortRange, parsePortRange } from '../../../sip-bridge/rtp-ports.js';

const TE_PT = 101;

/** An RTP packet: 12-byte header (optionally CSRCs, an extension, padding) and a payload. */
function rtp(o: { pt: number; ts: number; seq?: number; payload: number[]; marker?: boolean; csrcs?: number; extensionWords?: number; padding?: number }): Buffer {
  const csrcs = o.csrcs ?? 0;
  const ext = o.extensionWords === undefined ? [] : [0xbe, 0xde, 0, o.extensionWords, ...new Array<number>(o.extensionWords * 4).fill(0)];
  const pad = o.padding ? [...new Array<number>(o.padding - 1).fill(0), o.padding] : [];
  const b = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array<number>(csrcs * 4).fill(0), ...ext, ...o.payload, ...pad]);
  b[0] = 0x80 | (o.padding ? 0x20 : 0) | (ext.length ? 0x10 : 0) | csrcs;
  b[1] = (o.marker ? 0x80 : 0) | o.pt;
  b.writeUInt16BE(o.seq ?? 1, 2);
  b.writeUInt32BE(o.ts, 4);
  b.writeUInt32BE(0x1234, 8);
  return b;
}

/** A telephone-event packet: event, E bit, volume 10, duration. */
const te = (event: number, ts: number, end: boolean, duration: number, extra: Partial<Parameters<typeof rtp>[0]> = {}): Buffer =>
  rtp({ pt: TE_PT, ts, payload: [event, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff], ...extra });

/** One key press as a phone sends it: start (marker), continuations, the end packet three times. */
const press = (event: number, ts: number): Buffer[] => [
  te(event, ts, false, 0, { marker: true }),
  te(event, ts, false, 320),
  te(event, ts, false, 640),
  te(event, ts, true, 960),
  te(event, ts, true, 960),
  te(event, ts, true, 960),
];

describe('RFC 4733 telephone-event', () => {
  it('reads event, end bit, volume, duration and timestamp, also behind CSRCs, an extension and padding', () => {
    expect(parseTelephoneEvent(te(9, 67840, false, 320))).toEqual({ event: 9, end: false, volume: 10, duration: 320, timestamp: 67840 });
    expect(parseTelephoneEvent(te(11, 5, true, 2240, { csrcs: 2, extensionWords: 1, padding: 4 }))).toEqual({ event: 11, end: true, volume: 10, duration: 2240, timestamp: 5 });
  });

  it('ignores short and malformed packets', () => {
    expect(parseTelephoneEvent(Buffer.alloc(0))).toBeUndefined();
    expect(parseTelephoneEvent(Buffer.alloc(11))).toBeUndefined();
    expect(parseTelephoneEvent(te(1, 1, true, 1).subarray(0, 15))).toBeUndefined();
    const v1 = te(1, 1, true, 1);
    v1[0] = 0x40;
    expect(parseTelephoneEvent(v1)).toBeUndefined();
    // CSRC count or extension length past the end, padding eating the payload.
    expect(parseTelephoneEvent(rtp({ pt: TE_PT, ts: 1, payload: [1, 0x80, 0, 1], csrcs: 15 }).subarray(0, 20))).toBeUndefined();
    const longExt = rtp({ pt: TE_PT, ts: 1, payload: [1, 0x80, 0, 1], extensionWords: 0 });
    longExt.writeUInt16BE(100, 14);
    expect(parseTelephoneEvent(longExt)).toBeUndefined();
    expect(parseTelephoneEvent(rtp({ pt: TE_PT, ts: 1, payload: [1, 0x80], padding: 2 }))).toBeUndefined();
  });

  it('turns a key press into one digit on its first end packet, and a new timestamp into the next', () => {
    const d = new DigitDetector();
    const got = [...press(9, 67840), ...press(9, 67840 + 4000), ...press(10, 90000), ...press(11, 91000), ...press(1, 92000)].map((p) => d.push(p));
    expect(got.filter(Boolean)).toEqual(['9', '9', '*', '#', '1']);
    // Reported on the end packet, not on the start.
    expect(got.slice(0, 6)).toEqual([undefined, undefined, undefined, '9', undefined, undefined]);
  });

  it('reports no digit for events other than 0-15, nor for packets it cannot read', () => {
    const d = new DigitDetector();
    expect(d.push(te(16, 1, true, 800))).toBeUndefined();
    expect(d.push(Buffer.from([0x80, TE_PT, 0]))).toBeUndefined();
    expect(d.push(te(3, 2, true, 800))).toBe('3');
  });
});

interface Peer {
  socket: dgram.Socket;
  port: number;
  got: Buffer[];
  send(b: Buffer, port: number): Promise<void>;
}

async function peer(): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  return { socket, port: socket.address().port, got, send: (b, port) => new Promise((r) => socket.send(b, port, '127.0.0.1', () => r())) };
}

async function until(what: string, check: () => boolean, limitMs = 3000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RtpRelay', () => {
  const audio = (ts: number): Buffer => rtp({ pt: 0, ts, payload: new Array<number>(160).fill(0x7f) });
  const ports = new RtpPortRange('127.0.0.1', parsePortRange('41000-41099'));
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
    expect(ports.openSockets).toBe(0);
  });

  async function setUp(o: { timeoutMs?: number } = {}) {
    const phone = await peer();
    const media = await peer();
    const digits: string[] = [];
    let timedOut = 0;
    const relay = new RtpRelay({
      socket: await ports.bind(),
      address: '127.0.0.1',
      phone: { ip: '127.0.0.1', port: phone.port },
      telephoneEventPt: TE_PT,
      timeoutMs: o.timeoutMs ?? 0,
      onDigit: (d) => digits.push(d),
      onTimeout: () => timedOut++,
    });
    relay.setMediaServer({ ip: '127.0.0.1', port: media.port });
    cleanup.push(() => relay.close(), () => new Promise((r) => phone.socket.close(() => r(undefined))), () => new Promise((r) => media.socket.close(() => r(undefined))));
    return { phone, media, relay, digits, timedOut: () => timedOut };
  }

  it('relays audio both ways, lifts RFC 4733 digits out, and latches onto the phone\'s real source', async () => {
    const { phone, media, relay, digits } = await setUp();
    expect(relay.local.port % 2).toBe(0);
    expect(relay.local.port).toBeGreaterThanOrEqual(41000);
    await phone.send(audio(160), relay.local.port);
    await until('audio at the media server', () => media.got.length === 1);
    expect(media.got[0]!.equals(audio(160))).toBe(true);
    await media.send(audio(320), relay.local.port);
    await until('audio at the phone', () => phone.got.length === 1);
    for (const p of press(9, 1000)) await phone.send(p, relay.local.port);
    for (const p of press(1, 2000)) await phone.send(p, relay.local.port);
    await until('two digits', () => digits.length === 2);
    expect(digits).toEqual(['9', '1']);
    // Another source is not the phone once the relay has latched, and the digits never reached the media server.
    const stranger = await peer();
    cleanup.push(() => new Promise((r) => stranger.socket.close(() => r(undefined))));
    await stranger.send(audio(480), relay.local.port);
    await phone.send(audio(640), relay.local.port);
    await until('second audio packet', () => media.got.length === 2);
    expect(media.got[1]!.readUInt32BE(4)).toBe(640);
    // A new offer re-latches: the phone's packets now come from (and go back to) the new source.
    relay.setPhone({ ip: '127.0.0.1', port: 9 }, TE_PT);
    await stranger.send(audio(800), relay.local.port);
    await until('third audio packet', () => media.got.length === 3);
    await media.send(audio(960), relay.local.port);
    await until('audio at the new source', () => stranger.got.length === 1);
    expect(phone.got).toHaveLength(1);
  });

  it('times out when the phone goes silent, not while it is on hold, and closes its socket', async () => {
    const { phone, relay, timedOut } = await setUp({ timeoutMs: 300 });
    await phone.send(audio(160), relay.local.port);
    relay.setHeld(true);
    await new Promise((r) => setTimeout(r, 700));
    expect(timedOut()).toBe(0);
    relay.setHeld(false);
    await until('time-out', () => timedOut() === 1, 2000);
    expect(ports.openSockets).toBe(1);
    relay.close();
    relay.close();
    expect(relay.closed).toBe(true);
    await until('socket closed', () => ports.openSockets === 0);
  });
});

describe('RTP relay ports', () => {
  it('reads ranges and refuses bad ones', () => {
    expect(parsePortRange('41000-50999')).toEqual({ min: 41000, max: 50999 });
    for (const bad of ['', '5000', '50999-41000', '80-90', '40000-70000', '41001-41001']) expect(() => parsePortRange(bad)).toThrow(TypeError);
  });

  it('skips ports in use, goes round the range, and fails when it is full', async () => {
    const range = new RtpPortRange('127.0.0.1', parsePortRange('41100-41103'));
    const a = await range.bind();
    const b = await range.bind();
    expect([a.address().port, b.address().port]).toEqual([41100, 41102]);
    await expect(range.bind()).rejects.toThrow(/no free RTP relay port/);
    expect(range.openSockets).toBe(2);
    await new Promise<void>((r) => a.close(() => r()));
    const c = await range.bind();
    expect(c.address().port).toBe(41100);
    await Promise.all([b, c].map((s) => new Promise<void>((r) => s.close(() => r()))));
    expect(range.openSockets).toBe(0);
  });
});
