// Requests we originate outside a dialog (REGISTER, OPTIONS to a trunk, the INVITE of a dial): the
// headers RFC 3261 §8.1.1 asks for, the next hop pinned when the peer shares our host, and a retry
// with credentials when the peer challenges (401/407): same Call-ID and From tag, the next CSeq.
/// <reference path="./sip.d.ts" />
import { parseUri, type NameAddr, type SipRequest, type SipResponse, type SipStack } from 'sip';
import type { Logger } from '../lib/logger.js';
import type { DigestClient } from './digest.js';

export interface UacContext {
  stack: SipStack;
  logger: Logger;
  /** See DialogContext.pinRoute. */
  pinRoute: (nextHop: string) => NameAddr | undefined;
}

/** `sip:host:port`, `sips:…` or a bare `host:port` (→ sip:) as a SIP URI string; TypeError when unreadable. */
export function sipUri(target: string): string {
  const uri = /^sips?:/i.test(target) ? target : `sip:${target}`;
  const parsed = parseUri(uri);
  if (!parsed?.host) throw new TypeError(`not a SIP URI or host:port: ${target}`);
  return uri;
}

export interface RequestSpec {
  method: string;
  uri: string;
  from: NameAddr;
  to: NameAddr;
  callId: string;
  cseq: number;
  contact?: NameAddr;
  headers?: Record<string, unknown>;
  body?: { type: string; content: string };
}

export function buildRequest(spec: RequestSpec): SipRequest {
  const rq: SipRequest = {
    method: spec.method,
    uri: spec.uri,
    headers: {
      to: spec.to,
      from: spec.from,
      'call-id': spec.callId,
      cseq: { method: spec.method, seq: spec.cseq },
      'max-forwards': 70,
      'user-agent': 'mccs',
      ...(spec.contact ? { contact: [spec.contact] } : {}),
      ...spec.headers,
    },
  };
  if (spec.body) {
    rq.headers['content-type'] = spec.body.type;
    rq.content = spec.body.content;
  }
  return rq;
}

/** A request on its way: the copy last put on the wire (a CANCEL copies its Via). */
export interface SentRequest {
  readonly current: SipRequest;
}

/**
 * Sends `rq` (never modified: every attempt goes out as a copy) and reports every response except a
 * challenge we answered by retrying. One retry per request, a second only when the peer calls our
 * nonce stale. `onResponse` also gets the copy the response belongs to.
 */
export function sendRequest(ctx: UacContext, rq: SipRequest, digest: DigestClient | undefined, onResponse: (rs: SipResponse, sent: SipRequest) => void): SentRequest {
  let current = rq;
  let retries = 0;
  const attempt = (template: SipRequest): void => {
    const wire = pinned(ctx, structuredClone(template));
    current = wire;
    try {
      ctx.stack.send(wire, (rs) => {
        if ((rs.status === 401 || rs.status === 407) && digest) {
          const answer = digest.answer(rs, template.method, template.uri);
          if (answer && (retries === 0 || (retries === 1 && answer.stale))) {
            retries++;
            const next = structuredClone(template);
            next.headers.cseq = { method: template.method, seq: template.headers.cseq!.seq + 1 };
            next.headers[answer.name] = [answer.value];
            attempt(next);
            return;
          }
        }
        onResponse(rs, wire);
      });
    } catch (err) {
      ctx.logger.warn('SIP: sending a request failed', { method: rq.method, err });
      onResponse({ status: 503, reason: 'Service Unavailable', headers: { ...wire.headers } }, wire);
    }
  };
  attempt(rq);
  return {
    get current() {
      return current;
    },
  };
}

/** CANCEL for an INVITE on its way (§9.1): its Request-URI, Call-ID, From, To, Route and top Via. */
export function sendCancel(ctx: UacContext, invite: SipRequest, route: NameAddr[] | undefined): void {
  const h = invite.headers;
  const cancel: SipRequest = {
    method: 'CANCEL',
    uri: invite.uri,
    headers: {
      via: h.via ? [structuredClone(h.via[0]!)] : [],
      to: h.to!,
      from: h.from!,
      'call-id': h['call-id']!,
      cseq: { method: 'CANCEL', seq: h.cseq!.seq },
      'max-forwards': 70,
      ...(route ? { route: structuredClone(route) } : {}),
    },
  };
  try {
    ctx.stack.send(pinned(ctx, cancel), () => undefined);
  } catch (err) {
    ctx.logger.warn('SIP: sending CANCEL failed', { err });
  }
}

/** Puts the flow Route first when the next hop (first Route, else the Request-URI) is on our host. */
function pinned(ctx: UacContext, rq: SipRequest): SipRequest {
  const route = (rq.headers.route as NameAddr[] | undefined) ?? [];
  const pin = ctx.pinRoute(route[0]?.uri ?? rq.uri);
  if (pin) rq.headers.route = [pin, ...route];
  return rq;
}
