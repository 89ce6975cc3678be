// SDP for phone legs (RFC 3264 offer/answer, RFC 4566): the caller's offer is read into what the
// bridge needs (where to send, which G.711 codec, telephone-event, direction), and the answer points
// the caller at the media server's plain-RTP port. Audio only; anything else is declined (port 0).
import { parse as parseSdp, write as writeSdp, type MediaDescription, type SessionDescription } from 'sdp-transform';

export type G711 = 'pcmu' | 'pcma';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface AudioOffer {
  /** Where the caller wants our RTP; ip 0.0.0.0 (RFC 2543 hold) is kept as given. */
  remote: { ip: string; port: number };
  codec: G711;
  payloadType: number;
  /** RFC 4733 telephone-event payload type the caller offered (8 kHz), if any. */
  telephoneEvent?: number;
  direction: Direction;
  ptime?: number;
  /** Index of the audio m-line we accepted. */
  mline: number;
  /** Media types of every m-line, so the answer declines the others in place. */
  mlineTypes: string[];
  /** Session version the caller used (o= line), to spot a re-INVITE without an SDP change. */
  originVersion: string;
}

/** Why an offer cannot be used: 'malformed' → 400, 'unacceptable' → 488. */
export class SdpError extends Error {
  constructor(
    readonly kind: 'malformed' | 'unacceptable',
    message: string,
  ) {
    super(message);
    this.name = 'SdpError';
  }
}

const STATIC: Record<number, G711> = { 0: 'pcmu', 8: 'pcma' };
const MAX_SDP_BYTES = 16 * 1024;

/** Reads a caller's SDP offer; throws SdpError. `prefer` picks between PCMU and PCMA when both are offered. */
export function parseOffer(body: string, prefer: G711[] = ['pcmu', 'pcma']): AudioOffer {
  if (!body.trim()) throw new SdpError('malformed', 'no SDP body');
  if (body.length > MAX_SDP_BYTES) throw new SdpError('malformed', 'SDP body too large');
  if (!/^v=0\s*$/m.test(body.split(/\r?\n/, 1)[0] ?? '')) throw new SdpError('malformed', 'SDP does not start with v=0');
  let sdp: SessionDescription;
  try {
    sdp = parseSdp(body);
  } catch (err) {
    throw new SdpError('malformed', `unreadable SDP: ${(err as Error).message}`);
  }
  const media = sdp.media ?? [];
  if (media.length === 0) throw new SdpError('malformed', 'SDP has no media line');
  const mline = media.findIndex((m) => m.type === 'audio' && m.port > 0);
  if (mline < 0) throw new SdpError('unacceptable', 'no active audio stream offered');
  const audio = media[mline]!;
  if (!/^RTP\/AVP$/i.test(audio.protocol)) throw new SdpError('unacceptable', `transport ${audio.protocol} not supported (plain RTP/AVP only)`);
  const ip = audio.connection?.ip ?? sdp.connection?.ip;
  if (!ip) throw new SdpError('malformed', 'no connection address (c=) for the audio stream');
  const version = audio.connection?.version ?? sdp.connection?.version;
  if (version !== 4) throw new SdpError('unacceptable', 'only IPv4 media addresses are supported');
  if (!Number.isInteger(audio.port) || audio.port < 1 || audio.port > 65535) throw new SdpError('malformed', 'bad media port');

  const payloads = String(audio.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  if (payloads.length === 0 || payloads.some((p) => !Number.isInteger(p) || p < 0 || p > 127)) throw new SdpError('malformed', 'bad payload type list');
  const rtpmap = new Map<number, { codec: string; rate: number }>();
  for (const r of audio.rtp ?? []) rtpmap.set(r.payload, { codec: r.codec.toLowerCase(), rate: r.rate ?? 8000 });
  const codecOf = (pt: number): string | undefined => {
    const mapped = rtpmap.get(pt);
    if (mapped) return mapped.rate === 8000 ? mapped.codec : undefined;
    return STATIC[pt];
  };
  let chosen: { codec: G711; pt: number } | undefined;
  for (const want of prefer) {
    const pt = payloads.find((p) => codecOf(p) === want);
    if (pt !== undefined) {
      chosen = { codec: want, pt };
      break;
    }
  }
  if (!chosen) throw new SdpError('unacceptable', 'no common codec: PCMU or PCMA (8 kHz) required');
  const telephoneEvent = payloads.find((p) => codecOf(p) === 'telephone-event');
  const direction = (audio.direction ?? sdp.direction ?? 'sendrecv') as Direction;
  const out: AudioOffer = {
    remote: { ip, port: audio.port },
    codec: chosen.codec,
    payloadType: chosen.pt,
    direction,
    mline,
    mlineTypes: media.map((m) => m.type),
    originVersion: String(sdp.origin?.sessionVersion ?? ''),
  };
  if (telephoneEvent !== undefined) out.telephoneEvent = telephoneEvent;
  if (audio.ptime) out.ptime = audio.ptime;
  return out;
}

/** Our direction for the caller's: they hold (sendonly) → we recvonly; inactive stays inactive. */
export function answerDirection(offered: Direction): Direction {
  switch (offered) {
    case 'sendonly':
      return 'recvonly';
    case 'recvonly':
      return 'sendonly';
    case 'inactive':
      return 'inactive';
    default:
      return 'sendrecv';
  }
}

/** Whether an offer puts the call on hold (RFC 3264 §8.4, and the old c=0.0.0.0 form). */
export function isHold(offer: AudioOffer): boolean {
  return offer.direction === 'sendonly' || offer.direction === 'inactive' || offer.remote.ip === '0.0.0.0';
}

export interface AnswerInput {
  offer: AudioOffer;
  /** Where the caller sends RTP: the media server's plain-RTP address for this leg. */
  local: { ip: string; port: number };
  sessionId: string;
  /** Incremented on every answer in a dialog (RFC 3264 §8). */
  version: number;
  direction?: Direction;
}

export function buildAnswer(a: AnswerInput): string {
  const { offer } = a;
  const media: MediaDescription[] = [];
  for (let i = 0; i < offer.mlineTypes.length; i++) {
    if (i !== offer.mline) {
      // Declined streams keep their place (RFC 3264 §6): port 0.
      media.push({ type: offer.mlineTypes[i] ?? 'audio', port: 0, protocol: 'RTP/AVP', payloads: '0', rtp: [], fmtp: [] } as unknown as MediaDescription);
      continue;
    }
    const rtp: MediaDescription['rtp'] = [{ payload: offer.payloadType, codec: offer.codec === 'pcmu' ? 'PCMU' : 'PCMA', rate: 8000 }];
    const payloads = [offer.payloadType];
    const fmtp: MediaDescription['fmtp'] = [];
    if (offer.telephoneEvent !== undefined) {
      rtp.push({ payload: offer.telephoneEvent, codec: 'telephone-event', rate: 8000 });
      fmtp.push({ payload: offer.telephoneEvent, config: '0-15' });
      payloads.push(offer.telephoneEvent);
    }
    media.push({
      type: 'audio',
      port: a.local.port,
      protocol: 'RTP/AVP',
      payloads: payloads.join(' '),
      connection: { version: 4, ip: a.local.ip },
      rtp,
      fmtp,
      ptime: 20,
      direction: a.direction ?? answerDirection(offer.direction),
    } as MediaDescription);
  }
  const session = {
    version: 0,
    origin: { username: 'mccs', sessionId: a.sessionId, sessionVersion: a.version, netType: 'IN', ipVer: 4, address: a.local.ip },
    name: 'mccs',
    connection: { version: 4, ip: a.local.ip },
    timing: { start: 0, stop: 0 },
    media,
  } as unknown as SessionDescription;
  return writeSdp(session);
}
