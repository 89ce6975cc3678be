// Plain-RTP pieces for the media benchmark: G.711 µ-law tones, RTP packets (RFC 3550 §5.1), and a
// receiver's loss and jitter bookkeeping (RFC 3550 appendix A.1 and A.8), wrap-around included.
// Pure functions and small classes, so test/unit/media/rtp.test.ts can check them without sockets.

export const RTP_HEADER_BYTES = 12;
/** PCMU: 8 kHz, 20 ms per packet → 160 samples, one byte each. */
export const PCMU_SAMPLE_RATE = 8_000;
export const PCMU_SAMPLES_PER_PACKET = 160;
export const PCMU_PAYLOAD_TYPE = 0;
export const PACKET_INTERVAL_MS = 20;

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32_635;

/** One 16-bit linear PCM sample to G.711 µ-law (the ITU reference algorithm). */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-32_768, Math.min(32_767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** G.711 µ-law back to 16-bit linear PCM. */
export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? MULAW_BIAS - t : t - MULAW_BIAS;
}

/**
 * One 20 ms PCMU payload of a sine tone. A frequency that is a multiple of 50 Hz has a whole number
 * of periods in 160 samples, so sending the same payload every packet gives a continuous tone.
 */
export function pcmuTone(frequencyHz: number, amplitude = 8_000): Buffer {
  if (!Number.isInteger(frequencyHz / 50) || frequencyHz <= 0 || frequencyHz >= PCMU_SAMPLE_RATE / 2) {
    throw new RangeError(`tone frequency must be a multiple of 50 Hz below 4 kHz, got ${frequencyHz}`);
  }
  const out = Buffer.alloc(PCMU_SAMPLES_PER_PACKET);
  for (let i = 0; i < out.length; i++) out[i] = linearToMulaw(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / PCMU_SAMPLE_RATE));
  return out;
}

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  /** 16-bit; wraps. */
  sequence: number;
  /** 32-bit; wraps. */
  timestamp: number;
  ssrc: number;
}

/** An RTP packet: version 2, no padding, no extension, no CSRCs. */
export function buildRtpPacket(header: RtpHeader, payload: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
  packet[0] = 0x80;
  packet[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  packet.writeUInt16BE(header.sequence & 0xffff, 2);
  packet.writeUInt32BE(header.timestamp >>> 0, 4);
  packet.writeUInt32BE(header.ssrc >>> 0, 8);
  packet.set(payload, RTP_HEADER_BYTES);
  return packet;
}

export interface ParsedRtp extends RtpHeader {
  payloadOffset: number;
  payloadLength: number;
}

/** The fixed header of an RTP packet (CSRCs, an extension and padding skipped); undefined if it is not RTP v2. */
export function parseRtpPacket(packet: Uint8Array): ParsedRtp | undefined {
  if (packet.length < RTP_HEADER_BYTES || packet[0]! >> 6 !== 2) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const csrcCount = packet[0]! & 0x0f;
  let offset = RTP_HEADER_BYTES + 4 * csrcCount;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + 4 * view.getUint16(offset + 2);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[packet.length - 1]!;
  if (end < offset) return undefined;
  return {
    marker: (packet[1]! & 0x80) !== 0,
    payloadType: packet[1]! & 0x7f,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}

/** A sender's state for one stream: each next() is the following 20 ms packet. */
export class RtpSender {
  #sequence: number;
  #timestamp: number;
  #first = true;
  constructor(
    readonly ssrc: number,
    readonly payload: Uint8Array,
    opts: { sequence?: number; timestamp?: number; payloadType?: number } = {},
  ) {
    this.#sequence = (opts.sequence ?? 0) & 0xffff;
    this.#timestamp = (opts.timestamp ?? 0) >>> 0;
    this.payloadType = opts.payloadType ?? PCMU_PAYLOAD_TYPE;
  }
  readonly payloadType: number;
  sent = 0;

  next(): Buffer {
    const packet = buildRtpPacket(
      { payloadType: this.payloadType, marker: this.#first, sequence: this.#sequence, timestamp: this.#timestamp, ssrc: this.ssrc },
      this.payload,
    );
    this.#first = false;
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + PCMU_SAMPLES_PER_PACKET) >>> 0;
    this.sent++;
    return packet;
  }
}

const MAX_DROPOUT = 3_000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x1_0000;

/**
 * A receiver's view of one stream (RFC 3550 A.1, without the probation): the extended highest
 * sequence number across 16-bit wrap-arounds, packets received, and so packets lost. A jump larger
 * than MAX_DROPOUT (the sender restarted) starts counting afresh from there.
 */
export class RtpLossCounter {
  #base = 0;
  #maxSeq = 0;
  #cycles = 0;
  #started = false;
  /** Packets counted (duplicates and late ones included, as in RFC 3550). */
  received = 0;
  /** Counted before a resynchronisation, so totals survive a sender restart. */
  #expectedBefore = 0;
  #receivedBefore = 0;

  /** Feeds one received sequence number. */
  receive(sequence: number): void {
    const seq = sequence & 0xffff;
    if (!this.#started) {
      this.#started = true;
      this.#base = seq;
      this.#maxSeq = seq;
      this.received = 1;
      return;
    }
    const delta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
    if (delta > 0 && delta < MAX_DROPOUT) {
      if (seq < this.#maxSeq) this.#cycles += SEQ_MOD;
      this.#maxSeq = seq;
    } else if (delta !== 0 && delta <= SEQ_MOD - MAX_MISORDER) {
      // A jump too big to be loss: the stream restarted. Keep what was counted, start over here.
      this.#expectedBefore += this.#expectedNow();
      this.#receivedBefore += this.received;
      this.#base = seq;
      this.#maxSeq = seq;
      this.#cycles = 0;
      this.received = 0;
    }
    // delta === 0 (duplicate) or a late packet within MAX_MISORDER: counted, highest unchanged.
    this.received++;
  }

  #expectedNow(): number {
    return this.#started ? this.#cycles + this.#maxSeq - this.#base + 1 : 0;
  }

  /** Extended highest sequence number received (cycles × 65536 + seq); -1 before the first packet. */
  get extendedHighest(): number {
    return this.#started ? this.#cycles + this.#maxSeq : -1;
  }

  /** Packets the sender sent from the first to the highest one received. */
  get expected(): number {
    return this.#expectedBefore + this.#expectedNow();
  }

  get totalReceived(): number {
    return this.#receivedBefore + this.received;
  }

  /** Expected minus received; negative when duplicates outnumber losses (RFC 3550 allows it). */
  get lost(): number {
    return this.expected - this.totalReceived;
  }
}

/** Interarrival jitter (RFC 3550 A.8) in milliseconds, for one stream at one clock rate. */
export class JitterMeter {
  #lastTransit: number | undefined;
  #jitter = 0;
  constructor(readonly clockRate = PCMU_SAMPLE_RATE) {}

  /** arrivalMs: local receive time; rtpTimestamp: the packet's timestamp. */
  receive(arrivalMs: number, rtpTimestamp: number): void {
    const transit = (arrivalMs * this.clockRate) / 1000 - rtpTimestamp;
    if (this.#lastTransit !== undefined) {
      let d = Math.abs(transit - this.#lastTransit);
      // A 32-bit timestamp wrap between two packets shows as a ~2^32 jump: fold it back.
      if (d > 2 ** 31) d = Math.abs(d - 2 ** 32);
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
  }

  get ms(): number {
    return (this.#jitter / this.clockRate) * 1000;
  }
}

/** The value at percentile p (0–100) of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
