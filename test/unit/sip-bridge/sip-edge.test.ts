// The SIP bridge's pure pieces: SDP offers and answers, digest authentication, trunk matching and
// limits, request checks, caller identity and INFO DTMF bodies.
/// <reference path="../../../sip-bridge/sip.d.ts" />
import { parse as parseMessage, type SipRequest } from 'sip';
import { DigestAuthenticator, digestAuthorization } from '../../../sip-bridge/digest.js';
import { callerIdentity, calledNumber, checkInvite, checkRequest, infoDigits } from '../../../sip-bridge/message.js';
import { SdpError, answerDirection, buildAnswer, isHold, parseOffer } from '../../../sip-bridge/sdp.js';
import { TrunkLimiter, TrunkTable, validateTrunks } from '../../../sip-bridge/trunks.js';
import { parseSessionExpires } from '../../../sip-bridge/dialog.js';

const sdp = (lines: string[]): string => ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', ...lines].join('\r\n') + '\r\n';

describe('SDP offers', () => {
  it('picks PCMU, keeps telephone-event and the caller address', () => {
    const o = parseOffer(sdp(['m=audio 4000 RTP/AVP 8 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20']));
    expect(o).toMatchObject({ remote: { ip: '10.0.0.1', port: 4000 }, codec: 'pcmu', payloadType: 0, telephoneEvent: 101, direction: 'sendrecv' });
    expect(parseOffer(sdp(['m=audio 4000 RTP/AVP 8 0']), ['pcma', 'pcmu']).codec).toBe('pcma');
  });

  it('refuses offers without G.711 (488) and unreadable ones (400)', () => {
    const kind = (body: string): string | undefined => {
      try {
        parseOffer(body);
        return undefined;
      } catch (err) {
        return (err as SdpError).kind;
      }
    };
    expect(kind(sdp(['m=audio 4000 RTP/AVP 18', 'a=rtpmap:18 G729/8000']))).toBe('unacceptable');
    expect(kind(sdp(['m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 PCMU/16000']))).toBe('unacceptable');
    expect(kind(sdp(['m=audio 4000 RTP/SAVP 0']))).toBe('unacceptable');
    expect(kind(sdp(['m=video 4000 RTP/AVP 96']))).toBe('unacceptable');
    expect(kind('hello')).toBe('malformed');
    expect(kind('')).toBe('malformed');
    expect(kind(sdp(['m=audio 4000 RTP/AVP x']))).toBe('malformed');
    expect(kind(sdp([]))).toBe('malformed');
  });

  it('answers at the media server address, declines other streams in place, mirrors hold', () => {
    const offer = parseOffer(sdp(['m=video 5000 RTP/AVP 96', 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly']));
    expect(isHold(offer)).toBe(true);
    const answer = buildAnswer({ offer, local: { ip: '192.0.2.9', port: 20000 }, sessionId: '42', version: 2 });
    expect(answer).toMatch(/m=video 0 RTP\/AVP/);
    expect(answer).toMatch(/m=audio 20000 RTP\/AVP 0 101/);
    expect(answer).toMatch(/c=IN IP4 192\.0\.2\.9/);
    expect(answer).toMatch(/a=recvonly/);
    expect(answer).toMatch(/a=rtpmap:101 telephone-event\/8000/);
    expect(answerDirection('inactive')).toBe('inactive');
    expect(answerDirection('recvonly')).toBe('sendonly');
    expect(isHold(parseOffer(sdp(['m=audio 4000 RTP/AVP 0'])))).toBe(false);
  });
});

describe('digest authentication', () => {
  const creds = { username: 'trunk1', password: 's3cret', realm: 'mccs' };

  it('accepts a correct qop=auth response and refuses a wrong password or a forged nonce', () => {
    const auth = new DigestAuthenticator();
    const challenge = auth.challenge('mccs');
    const good = digestAuthorization(challenge, { method: 'INVITE', uri: 'sip:100@192.0.2.1', username: 'trunk1', password: 's3cret' });
    expect(auth.verify('INVITE', [good], creds)).toBe('ok');
    const bad = digestAuthorization(challenge, { method: 'INVITE', uri: 'sip:100@192.0.2.1', username: 'trunk1', password: 'nope' });
    expect(auth.verify('INVITE', [bad], creds)).toBe('invalid');
    const forged = digestAuthorization({ ...challenge, nonce: '"1.2.3"' }, { method: 'INVITE', uri: 'sip:100@192.0.2.1', username: 'trunk1', password: 's3cret' });
    expect(auth.verify('INVITE', [forged], creds)).toBe('invalid');
    expect(auth.verify('INVITE', undefined, creds)).toBe('missing');
    expect(auth.verify('INVITE', [{ ...good, realm: '"other"' }], creds)).toBe('missing');
  });

  it('matches the RFC 2617 §3.5 example response', () => {
    // Same formula as RFC 2617's example (Mufasa / "Circle Of Life").
    const auth = new DigestAuthenticator();
    const h = digestAuthorization({ scheme: 'Digest', realm: '"testrealm@host.com"', nonce: '"dcd98b7102dd2f0e8b11d0f600bfb0c093"' }, {
      method: 'GET', uri: '/dir/index.html', username: 'Mufasa', password: 'Circle Of Life', cnonce: '0a4f113b', nc: 1,
    });
    expect(h.response).toBe('"6629fae49393a05397450978507c4ef1"');
    expect(auth).toBeDefined();
  });

  it('calls an old nonce stale when the password is right', () => {
    let now = 1_000_000;
    const auth = new DigestAuthenticator({ now: () => now, nonceTtlMs: 1000 });
    const challenge = auth.challenge('mccs');
    const h = digestAuthorization(challenge, { method: 'INVITE', uri: 'sip:1@x', username: 'trunk1', password: 's3cret' });
    now += 5000;
    expect(auth.verify('INVITE', [h], creds)).toBe('stale');
  });
});

describe('trunks', () => {
  it('matches sources by CIDR, falls back to credential trunks, else forbids', () => {
    const table = new TrunkTable([
      { id: 'carrier', allow: ['203.0.113.0/24', '198.51.100.7'] },
      { id: 'pbx', auth: { username: 'pbx', password: 'pw' } },
    ]);
    expect(table.classify('203.0.113.99')).toMatchObject({ kind: 'trunk', trunk: { id: 'carrier' } });
    expect(table.classify('198.51.100.7')).toMatchObject({ kind: 'trunk', trunk: { id: 'carrier' } });
    expect(table.classify('198.51.100.8')).toMatchObject({ kind: 'credentials' });
    expect(new TrunkTable([{ id: 'c', allow: ['10.0.0.0/8'] }]).classify('11.0.0.1')).toEqual({ kind: 'forbidden' });
  });

  it('rejects configs that would accept anyone or cannot work', () => {
    expect(() => validateTrunks([{ id: 'open' }])).toThrow(/accept anyone/);
    expect(() => validateTrunks([{ id: 'a', allow: ['10.0.0.0/33'] }])).toThrow(TypeError);
    expect(() => validateTrunks([{ id: 'a', allow: ['1.2.3.4'] }, { id: 'a', allow: ['1.2.3.5'] }])).toThrow(/twice/);
  });

  it('limits concurrent calls and set-ups per second', () => {
    let now = 0;
    const limiter = new TrunkLimiter(() => now);
    const trunk = { id: 't', allow: ['127.0.0.1'], maxConcurrent: 2, maxCallsPerSecond: 3 };
    expect(limiter.admit(trunk).ok).toBe(true);
    expect(limiter.admit(trunk).ok).toBe(true);
    expect(limiter.admit(trunk)).toMatchObject({ ok: false, retryAfter: 5 });
    limiter.release(trunk);
    expect(limiter.admit(trunk)).toMatchObject({ ok: true });
    limiter.release(trunk);
    expect(limiter.admit(trunk)).toMatchObject({ ok: false, retryAfter: 1 });
    now += 1001;
    expect(limiter.admit(trunk).ok).toBe(true);
    expect(limiter.active('t')).toBe(2);
  });
});

function request(lines: string[], body = ''): SipRequest {
  const text = [...lines, `Content-Length: ${body.length}`, '', body].join('\r\n');
  const m = parseMessage(text);
  if (!m || !('method' in m)) throw new Error('test request did not parse');
  return m;
}

const invite = (extra: string[] = [], body = sdp(['m=audio 4000 RTP/AVP 0'])): SipRequest =>
  request(
    [
      'INVITE sip:+4930555@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1',
      'From: "Alice" <sip:+4930111@10.0.0.1>;tag=a1',
      'To: <sip:+4930555@192.0.2.1>',
      'Call-ID: c1',
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@10.0.0.1:5060>',
      'Max-Forwards: 70',
      'Content-Type: application/sdp',
      ...extra,
    ],
    body,
  );

describe('request checks and identity', () => {
  it('accepts a plain INVITE', () => {
    const rq = invite();
    expect(checkRequest(rq)).toBeUndefined();
    expect(checkInvite(rq)).toBeUndefined();
    expect(calledNumber(rq)).toBe('+4930555');
  });

  it('answers bad requests with precise statuses', () => {
    expect(checkRequest(invite(['Require: 100rel']))).toMatchObject({ status: 420, headers: { unsupported: '100rel' } });
    expect(checkRequest(invite(['Require: timer']))).toBeUndefined();
    const hops = invite();
    hops.headers['max-forwards'] = '0';
    expect(checkRequest(hops)).toMatchObject({ status: 483 });
    const cseq = invite();
    cseq.headers.cseq = { seq: 1, method: 'BYE' };
    expect(checkRequest(cseq)).toMatchObject({ status: 400 });
    const noContact = invite();
    delete noContact.headers.contact;
    expect(checkInvite(noContact)).toMatchObject({ status: 400 });
    expect(checkInvite(invite([], ''))).toMatchObject({ status: 488 });
    const text = invite();
    text.headers['content-type'] = 'text/plain';
    expect(checkInvite(text)).toMatchObject({ status: 415 });
    const huge = invite([], 'x'.repeat(20_000));
    expect(checkRequest(huge)).toMatchObject({ status: 413 });
  });

  it('takes P-Asserted-Identity over From and honours Privacy: id', () => {
    expect(callerIdentity(invite())).toEqual({ withheld: false, source: 'from', uri: 'sip:+4930111@10.0.0.1', number: '+4930111', displayName: 'Alice' });
    const pai = callerIdentity(invite(['P-Asserted-Identity: "Bob" <sip:+4940222@carrier>, <tel:+4940222>']));
    expect(pai).toMatchObject({ withheld: false, source: 'p-asserted-identity', number: '+4940222' });
    const hidden = callerIdentity(invite(['P-Asserted-Identity: <tel:+4940222>', 'Privacy: id']));
    expect(hidden).toEqual({ withheld: true, source: 'p-asserted-identity' });
    expect(hidden.number).toBeUndefined();
    const anon = invite();
    anon.headers.from = { name: '"Anonymous"', uri: 'sip:anonymous@anonymous.invalid', params: { tag: 'x' } };
    expect(callerIdentity(anon).withheld).toBe(true);
  });

  it('reads DTMF from INFO bodies', () => {
    const info = (type: string, body: string): SipRequest => {
      const rq = invite();
      rq.method = 'INFO';
      rq.headers['content-type'] = type;
      rq.content = body;
      return rq;
    };
    expect(infoDigits(info('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'))).toEqual(['5']);
    expect(infoDigits(info('application/dtmf-relay', 'Signal=#\r\n'))).toEqual(['#']);
    expect(infoDigits(info('application/dtmf-relay', 'Signal=11\r\n'))).toEqual(['#']);
    expect(infoDigits(info('application/dtmf', '7'))).toEqual(['7']);
    expect(infoDigits(info('application/dtmf-relay', 'Signal=x\r\n'))).toEqual([]);
    expect(infoDigits(info('text/plain', '7'))).toBeUndefined();
  });

  it('reads Session-Expires', () => {
    expect(parseSessionExpires('1800;refresher=uac')).toEqual({ interval: 1800, refresher: 'uac' });
    expect(parseSessionExpires('90')).toEqual({ interval: 90 });
    expect(parseSessionExpires('x')).toBeUndefined();
  });
});
