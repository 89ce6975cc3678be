// Checks at the edge: a request is looked at once, here, before any dialog or media work, and
// answered with the precise status when it cannot be served. Also who is calling (RFC 3325
// P-Asserted-Identity, RFC 3323 Privacy) and whom they called.
/// <reference path="./sip.d.ts" />
import { parseAOR, parseUri, type NameAddr, type SipRequest } from 'sip';

export interface Rejection {
  status: number;
  reason: string;
  headers?: Record<string, unknown>;
}

/** Option tags we support (Require: anything else → 420). */
export const SUPPORTED = ['timer'];
export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE';
/** Largest body we read (SDP, INFO); more → 413. */
export const MAX_BODY = 16 * 1024;

/** Generic checks for any request the stack handed us (it already dropped what it could not parse). */
export function checkRequest(rq: SipRequest): Rejection | undefined {
  const h = rq.headers;
  if (!h.cseq || !Number.isInteger(h.cseq.seq) || h.cseq.seq < 0 || h.cseq.seq > 2 ** 31) return { status: 400, reason: 'Bad CSeq' };
  if (h.cseq.method !== rq.method) return { status: 400, reason: 'CSeq method does not match' };
  if (!h.from?.uri || !parseUri(h.from.uri)) return { status: 400, reason: 'Bad From' };
  if (!h.to?.uri || !parseAnyUri(h.to.uri)) return { status: 400, reason: 'Bad To' };
  if (!parseAnyUri(rq.uri)) return { status: 400, reason: 'Bad Request-URI' };
  if (rq.version !== '2.0') return { status: 505, reason: 'Version Not Supported' };
  const mf = h['max-forwards'];
  if (mf !== undefined) {
    const n = Number(mf);
    if (!Number.isInteger(n) || n < 0) return { status: 400, reason: 'Bad Max-Forwards' };
    if (n === 0 && rq.method !== 'OPTIONS') return { status: 483, reason: 'Too Many Hops' };
  }
  if ((rq.content?.length ?? 0) > MAX_BODY) return { status: 413, reason: 'Request Entity Too Large' };
  const require = headerText(rq, 'require');
  if (require) {
    const unsupported = require
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((t) => t && !SUPPORTED.includes(t));
    if (unsupported.length && rq.method !== 'ACK' && rq.method !== 'CANCEL') {
      return { status: 420, reason: 'Bad Extension', headers: { unsupported: unsupported.join(', ') } };
    }
  }
  return undefined;
}

/** Extra checks for a dialog-creating INVITE. */
export function checkInvite(rq: SipRequest): Rejection | undefined {
  const contact = rq.headers.contact;
  if (!Array.isArray(contact) || contact.length !== 1 || !parseUri(contact[0]!.uri)) return { status: 400, reason: 'Missing or bad Contact' };
  if (rq.headers.to?.params.tag) return { status: 481, reason: 'Call/Transaction Does Not Exist' };
  if (!rq.content) return { status: 488, reason: 'Not Acceptable Here', headers: { warning: '399 mccs "an SDP offer is required in the INVITE"' } };
  const type = contentType(rq);
  if (type !== 'application/sdp') return { status: 415, reason: 'Unsupported Media Type', headers: { accept: 'application/sdp' } };
  return undefined;
}

export function contentType(rq: SipRequest): string | undefined {
  const t = rq.headers['content-type'];
  return typeof t === 'string' ? t.split(';')[0]!.trim().toLowerCase() : undefined;
}

/** A header the stack leaves as text (comma-joined when repeated). */
export function headerText(rq: SipRequest, name: string): string | undefined {
  const v = rq.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function parseAnyUri(uri: string): boolean {
  return /^tel:[^\s]+$/i.test(uri) || !!parseUri(uri);
}

export interface CallerIdentity {
  /** The caller's number or user part (tel: or sip: user), undefined when withheld. */
  number?: string;
  displayName?: string;
  /** The identity URI as received, undefined when withheld. */
  uri?: string;
  /** Privacy: id (or header/user) asked for, or an anonymous From: the agent must not see the number. */
  withheld: boolean;
  /** Where the identity came from. */
  source: 'p-asserted-identity' | 'from';
}

/** Caller identity: P-Asserted-Identity (from a trusted trunk) over From; Privacy honoured. */
export function callerIdentity(rq: SipRequest): CallerIdentity {
  const privacy = (headerText(rq, 'privacy') ?? '')
    .split(/[;,]/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const pai = parseNameAddrs(headerText(rq, 'p-asserted-identity'));
  // Prefer a tel: identity when both forms are asserted (RFC 3325 §9.1 allows one of each).
  const asserted = pai.find((a) => /^tel:/i.test(a.uri)) ?? pai[0];
  const from = rq.headers.from!;
  const chosen = asserted ?? from;
  const source = asserted ? 'p-asserted-identity' : 'from';
  const number = userOf(chosen.uri);
  const anonymous = /anonymous/i.test(from.uri) && !asserted;
  const withheld = privacy.some((p) => p === 'id' || p === 'header' || p === 'user') || anonymous || (!!number && /^anonymous$/i.test(number));
  if (withheld) return { withheld: true, source };
  const out: CallerIdentity = { withheld: false, source, uri: chosen.uri };
  if (number) out.number = number;
  const name = chosen.name?.replace(/^"(.*)"$/, '$1').trim();
  if (name) out.displayName = name;
  return out;
}

/** The number the caller dialled: Request-URI user part, else the To user part. */
export function calledNumber(rq: SipRequest): string | undefined {
  return userOf(rq.uri) ?? userOf(rq.headers.to?.uri ?? '');
}

function userOf(uri: string): string | undefined {
  const tel = /^tel:([^;?]+)/i.exec(uri);
  if (tel) return decodeURIComponent(tel[1]!);
  const parsed = parseUri(uri);
  return parsed?.user ? decodeURIComponent(parsed.user.split(';')[0]!) : undefined;
}

function parseNameAddrs(text: string | undefined): NameAddr[] {
  if (!text) return [];
  const out: NameAddr[] = [];
  const data = { s: text, i: 0 };
  try {
    while (data.i < data.s.length) {
      out.push(parseAOR(data));
      const comma = /\s*,\s*/y;
      comma.lastIndex = data.i;
      if (!comma.test(data.s)) break;
      data.i = comma.lastIndex;
    }
  } catch {
    return out;
  }
  return out.filter((a) => a.uri);
}

/** DTMF digits from a SIP INFO body (application/dtmf-relay "Signal=5", or application/dtmf "5"). */
export function infoDigits(rq: SipRequest): string[] | undefined {
  const type = contentType(rq);
  const body = rq.content ?? '';
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') {
    signal = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1];
  } else if (type === 'application/dtmf') {
    signal = body.trim();
  } else {
    return undefined;
  }
  if (!signal) return [];
  const digits = signal === '10' ? ['*'] : signal === '11' ? ['#'] : [...signal.toUpperCase()];
  return digits.every((d) => /^[0-9*#A-D]$/.test(d)) ? digits : [];
}
