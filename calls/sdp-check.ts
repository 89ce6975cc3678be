// SDP from browsers is checked at the edge before it reaches the media server: it must parse, carry
// the kind of media the request is for and nothing else, and look like WebRTC (ICE and DTLS).
import { parse } from 'sdp-transform';
import { DomainError } from '../lib/errors.js';

export type SdpKind = 'audio' | 'video';

/** Throws a VALIDATION error that says what is wrong; returns nothing when the SDP will do. */
export function checkSdp(sdp: string, expect: { kind: SdpKind; type: 'offer' | 'answer' }): void {
  let session: ReturnType<typeof parse>;
  try {
    session = parse(sdp);
  } catch {
    throw new DomainError('VALIDATION', 'the SDP could not be parsed');
  }
  const media = session.media ?? [];
  if (media.length === 0) throw new DomainError('VALIDATION', 'the SDP has no media section');
  if (media.length > 4) throw new DomainError('VALIDATION', 'the SDP has too many media sections');
  const active = media.filter((m) => m.port !== 0);
  if (!active.some((m) => m.type === expect.kind)) {
    throw new DomainError('VALIDATION', `the SDP ${expect.type} has no ${expect.kind} section`);
  }
  const other = active.find((m) => m.type !== expect.kind && m.type !== 'application');
  if (other) throw new DomainError('VALIDATION', `this ${expect.type} is for ${expect.kind} only; it also has ${other.type}`);
  for (const m of active) {
    const ufrag = m.iceUfrag ?? session.iceUfrag;
    const fingerprint = m.fingerprint ?? session.fingerprint;
    if (!ufrag || !fingerprint) throw new DomainError('VALIDATION', 'the SDP is not WebRTC (no ICE credentials or DTLS fingerprint)');
  }
}
