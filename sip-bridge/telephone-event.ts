// RFC 4733 telephone-event (DTMF) in RTP: the phone sends one event as a run of packets with the same
// RTP timestamp (growing duration), then the end packet (E bit) three times. DigitDetector turns
// such a run into one digit, reported on its first end packet. Only telephone-event packets come
// here (a handful per key press), never the audio.

/** Event codes 0-15 (RFC 4733 §3.2): the DTMF digits; others (flash, modem tones) are no digits. */
const DIGITS = '0123456789*#ABCD';

const RTP_HEADER = 12;
const EVENT_PAYLOAD = 4;

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** Power level in −dBm0 (0-63). */
  volume: number;
  /** In timestamp units (1/8000 s at 8 kHz). */
  duration: number;
  /** The RTP timestamp: one per event, shared by its packets. */
  timestamp: number;
}

/** Offset of an RTP packet's payload, or -1 when the packet is too short or not RTP version 2. */
function payloadOffset(packet: Buffer): number {
  if (packet.length < RTP_HEADER || packet[0]! >> 6 !== 2) return -1;
  let offset = RTP_HEADER + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset;
}

/** Reads a telephone-event RTP packet; undefined when it is malformed or too short. */
export function parseTelephoneEvent(packet: Buffer): TelephoneEvent | undefined {
  const offset = payloadOffset(packet);
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  if (offset < 0 || packet.length - padding < offset + EVENT_PAYLOAD) return undefined;
  return {
    event: packet[offset]!,
    end: (packet[offset + 1]! & 0x80) !== 0,
    volume: packet[offset + 1]! & 0x3f,
    duration: packet.readUInt16BE(offset + 2),
    timestamp: packet.readUInt32BE(4),
  };
}

/** The digit for an event code, if it is one. */
export function eventDigit(event: number): string | undefined {
  return DIGITS[event];
}

/** One phone's telephone-event stream → digits, each once however often its end packet comes. */
export class DigitDetector {
  /** Timestamp of the last event reported; -1: none yet. */
  #lastTimestamp = -1;

  /** A telephone-event packet; returns the digit when this packet ends a new event. */
  push(packet: Buffer): string | undefined {
    const e = parseTelephoneEvent(packet);
    if (!e?.end || e.timestamp === this.#lastTimestamp) return undefined;
    this.#lastTimestamp = e.timestamp;
    return eventDigit(e.event);
  }
}
