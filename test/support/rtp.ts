// A minimal plain-RTP peer for tests: sends 20 ms G.711 µ-law packets of a tone (or silence) and
// records what it receives, so a test can tell whether it hears audio from a media server.
import dgram from 'node:dgram';

/** ITU-T G.711 µ-law encoding of one 16-bit linear sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.max(-CLIP, Math.min(CLIP, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function ulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

export interface RtpPeer {
  readonly port: number;
  /** Packets received so far. */
  readonly received: number;
  /** Where the last packet came from (to answer symmetrically, as a phone behind NAT does). */
  readonly lastSource: { ip: string; port: number } | undefined;
  /** RMS of the µ-law payloads received in the last `windowMs`. */
  recentLevel(windowMs?: number): number;
  /**
   * Amplitude of one frequency in what arrived in the last `windowMs` (Goertzel over the decoded
   * samples, 8 kHz): tells one party's tone apart from music or another tone in the same mix.
   */
  toneLevel(hz: number, windowMs?: number): number;
  /** Starts sending to the media server's address; `toneHz` 0 sends silence. */
  start(to: { ip: string; port: number }, toneHz: number): void;
  setTone(toneHz: number): void;
  /** Stops sending (a phone that lost its network); receiving goes on. */
  stop(): void;
  close(): Promise<void>;
}

export async function createRtpPeer(bindIp = '127.0.0.1'): Promise<RtpPeer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, bindIp, resolve));
  const port = socket.address().port;
  const frames: Array<{ at: number; rms: number; samples: Int16Array }> = [];
  let received = 0;
  let lastSource: { ip: string; port: number } | undefined;
  socket.on('message', (msg, rinfo) => {
    if (msg.length <= 12) return;
    received++;
    lastSource = { ip: rinfo.address, port: rinfo.port };
    const csrc = msg[0]! & 0x0f;
    const payload = msg.subarray(12 + csrc * 4);
    let sum = 0;
    const samples = new Int16Array(payload.length);
    payload.forEach((b, i) => {
      samples[i] = ulawToLinear(b);
      sum += samples[i]! ** 2;
    });
    frames.push({ at: Date.now(), rms: Math.sqrt(sum / Math.max(1, payload.length)), samples });
    if (frames.length > 500) frames.splice(0, frames.length - 500);
  });
  let timer: NodeJS.Timeout | undefined;
  let tone = 0;
  let seq = Math.floor(Math.random() * 65535);
  let ts = Math.floor(Math.random() * 2 ** 31);
  let phase = 0;
  const ssrc = Math.floor(Math.random() * 2 ** 31);
  return {
    port,
    get received() {
      return received;
    },
    get lastSource() {
      return lastSource;
    },
    recentLevel(windowMs = 400) {
      const since = Date.now() - windowMs;
      const recent = frames.filter((f) => f.at >= since);
      return recent.length ? recent.reduce((s, f) => s + f.rms, 0) / recent.length : 0;
    },
    toneLevel(hz, windowMs = 400) {
      const since = Date.now() - windowMs;
      const recent = frames.filter((f) => f.at >= since);
      const n = recent.reduce((c, f) => c + f.samples.length, 0);
      if (n === 0) return 0;
      const coeff = 2 * Math.cos((2 * Math.PI * hz) / 8000);
      let s1 = 0;
      let s2 = 0;
      for (const f of recent) {
        for (const x of f.samples) {
          const s0 = x + coeff * s1 - s2;
          s2 = s1;
          s1 = s0;
        }
      }
      const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
      return (2 * Math.sqrt(Math.max(0, power))) / n;
    },
    start(to, toneHz) {
      tone = toneHz;
      timer = setInterval(() => {
        const packet = Buffer.alloc(12 + 160);
        packet[0] = 0x80;
        packet[1] = 0; // PT 0 = PCMU
        packet.writeUInt16BE(seq, 2);
        packet.writeUInt32BE(ts >>> 0, 4);
        packet.writeUInt32BE(ssrc, 8);
        for (let i = 0; i < 160; i++) {
          const sample = tone ? 8000 * Math.sin(phase) : 0;
          phase += (2 * Math.PI * (tone || 1)) / 8000;
          packet[12 + i] = linearToUlaw(sample);
        }
        seq = (seq + 1) & 0xffff;
        ts = (ts + 160) >>> 0;
        socket.send(packet, to.port, to.ip);
      }, 20);
    },
    setTone(toneHz) {
      tone = toneHz;
    },
    stop() {
      clearInterval(timer);
    },
    close() {
      clearInterval(timer);
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
