// The media benchmark's RTP pieces (bench/rtp.ts): what goes on the wire, and how the receiver counts
// loss, across the 16-bit sequence wrap-around in particular.
import { describe, expect, it } from '@jest/globals';
import {
  JitterMeter,
  RtpLossCounter,
  RtpSender,
  buildRtpPacket,
  linearToMulaw,
  mulawToLinear,
  parseRtpPacket,
  pcmuTone,
  percentile,
} from '../../../bench/rtp.js';

describe('G.711 µ-law', () => {
  it('encodes the ITU reference points', () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToMulaw(-1)).toBe(0x7f);
    expect(linearToMulaw(32_767)).toBe(0x80);
    expect(linearToMulaw(-32_768)).toBe(0x00);
    expect(mulawToLinear(0x80)).toBe(32_124);
    expect(mulawToLinear(0x00)).toBe(-32_124);
    expect(mulawToLinear(0xff)).toBe(0);
  });

  it('round-trips within the quantisation step of each segment', () => {
    for (let x = -32_000; x <= 32_000; x += 97) {
      const back = mulawToLinear(linearToMulaw(x));
      expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(8, Math.abs(x) / 16));
    }
  });

  it('makes a 160-byte tone payload that is not silence, and rejects tones that do not loop', () => {
    const tone = pcmuTone(400);
    expect(tone).toHaveLength(160);
    expect(new Set(tone).size).toBeGreaterThan(10);
    expect(() => pcmuTone(440)).toThrow(RangeError);
  });
});

describe('RTP packets', () => {
  it('writes the RFC 3550 fixed header', () => {
    const payload = Buffer.from([1, 2, 3]);
    const packet = buildRtpPacket({ payloadType: 0, marker: true, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0xcafebabe }, payload);
    expect([...packet]).toEqual([0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3]);
    expect(parseRtpPacket(packet)).toEqual({
      payloadType: 0,
      marker: true,
      sequence: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0xcafebabe,
      payloadOffset: 12,
      payloadLength: 3,
    });
  });

  it('skips CSRCs, a header extension and padding when parsing', () => {
    const packet = Buffer.from([
      0xb1, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, // V=2 P=1 X=1 CC=1, PT 8
      0, 0, 0, 9, // CSRC
      0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, // one-word extension
      7, 7, // payload
      0, 2, // padding, last byte = its length
    ]);
    expect(parseRtpPacket(packet)).toMatchObject({ payloadType: 8, sequence: 1, payloadOffset: 24, payloadLength: 2 });
    expect(parseRtpPacket(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined(); // version 1
    expect(parseRtpPacket(Buffer.alloc(5))).toBeUndefined();
  });

  it('a sender marks only the first packet and steps seq by 1 and timestamp by 160, wrapping both', () => {
    const sender = new RtpSender(7, pcmuTone(300), { sequence: 65_535, timestamp: 0xffff_ffff - 100 });
    const [a, b, c] = [sender.next(), sender.next(), sender.next()].map((p) => parseRtpPacket(p)!);
    expect([a!.marker, b!.marker, c!.marker]).toEqual([true, false, false]);
    expect([a!.sequence, b!.sequence, c!.sequence]).toEqual([65_535, 0, 1]);
    expect([a!.timestamp, b!.timestamp, c!.timestamp]).toEqual([0xffff_ffff - 100, 59, 219]);
    expect(a!.payloadLength).toBe(160);
    expect(sender.sent).toBe(3);
  });
});

describe('RtpLossCounter', () => {
  const feed = (seqs: number[]) => {
    const c = new RtpLossCounter();
    for (const s of seqs) c.receive(s);
    return c;
  };

  it('counts nothing lost for a complete stream', () => {
    const c = feed([10, 11, 12, 13]);
    expect([c.expected, c.totalReceived, c.lost]).toEqual([4, 4, 0]);
  });

  it('counts gaps as lost', () => {
    const c = feed([10, 11, 14, 15, 17]);
    expect([c.expected, c.totalReceived, c.lost]).toEqual([8, 5, 3]);
  });

  it('follows the sequence across the 16-bit wrap-around', () => {
    const c = feed([65_533, 65_534, 65_535, 0, 1, 3]);
    expect(c.extendedHighest).toBe(65_536 + 3);
    expect([c.expected, c.totalReceived, c.lost]).toEqual([7, 6, 1]);
  });

  it('counts a gap that straddles the wrap-around', () => {
    const c = feed([65_530, 65_531, 2, 3]);
    expect([c.expected, c.lost]).toEqual([10, 6]);
  });

  it('keeps going over several wraps', () => {
    const c = new RtpLossCounter();
    let received = 0;
    for (let i = 0; i < 3 * 65_536 + 10; i++) {
      if (i % 1000 === 999) continue; // one in a thousand lost
      c.receive((40_000 + i) & 0xffff);
      received++;
    }
    expect(c.totalReceived).toBe(received);
    expect(c.expected).toBe(3 * 65_536 + 10);
    expect(c.lost).toBe(3 * 65_536 + 10 - received);
  });

  it('counts a late packet and a duplicate as received without moving the highest', () => {
    const c = feed([100, 102, 101, 102]);
    expect(c.extendedHighest).toBe(102);
    expect([c.expected, c.totalReceived, c.lost]).toEqual([3, 4, -1]);
    const late = feed([65_535, 1, 0]);
    expect([late.expected, late.lost]).toEqual([3, 0]);
  });

  it('restarts counting after a jump too large to be loss, keeping earlier totals', () => {
    const c = feed([1, 2, 3, 30_000, 30_001]);
    expect([c.expected, c.totalReceived, c.lost]).toEqual([5, 5, 0]);
  });

  it('reports -1 / 0 before the first packet', () => {
    const c = new RtpLossCounter();
    expect([c.extendedHighest, c.expected, c.lost]).toEqual([-1, 0, 0]);
  });
});

describe('JitterMeter', () => {
  it('is zero for packets that arrive exactly on time and grows with irregular arrivals', () => {
    const steady = new JitterMeter();
    for (let i = 0; i < 50; i++) steady.receive(1000 + i * 20, 5000 + i * 160);
    expect(steady.ms).toBeCloseTo(0, 6);
    const uneven = new JitterMeter();
    for (let i = 0; i < 200; i++) uneven.receive(1000 + i * 20 + (i % 2 ? 4 : 0), 5000 + i * 160);
    expect(uneven.ms).toBeGreaterThan(3);
    expect(uneven.ms).toBeLessThan(4.1);
  });

  it('is not thrown off by the 32-bit timestamp wrap', () => {
    const m = new JitterMeter();
    for (let i = 0; i < 20; i++) m.receive(i * 20, (0xffff_ffff - 800 + i * 160) >>> 0);
    expect(m.ms).toBeCloseTo(0, 3);
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([], 50)).toBeNaN();
  });
});
