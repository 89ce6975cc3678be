// The UAS dialog against a recording fake stack: 200 OK retransmitted until the ACK, no ACK → BYE,
// our BYE waits for the ACK, CSeq order, CANCEL, re-INVITE answers, and 'ended' exactly once.
/// <reference path="../../../sip-bridge/sip.d.ts" />
import { parse as parseMessage, type SipMessage, type SipRequest, type SipResponse, type SipStack } from 'sip';
import winston from 'winston';
import type { Logger } from '../../../lib/logger.js';
import { ServerDialog, type EndReason } from '../../../sip-bridge/dialog.js';

const silent = winston.createLogger({ silent: true }) as unknown as Logger;

function fakeStack(): SipStack & { sent: SipMessage[]; answer: (status: number) => void } {
  const sent: SipMessage[] = [];
  const pending: Array<(rs: SipResponse) => void> = [];
  return {
    sent,
    send(m, cb) {
      sent.push(JSON.parse(JSON.stringify(m)) as SipMessage);
      if (cb) pending.push(cb);
    },
    answer(status) {
      const rq = [...sent].reverse().find((m): m is SipRequest => 'method' in m)!;
      pending.shift()?.({ status, reason: '', headers: rq.headers });
    },
    hostname: () => '192.0.2.1',
    encodeFlowUri: () => ({ host: '192.0.2.1', params: {} }),
    destroy: () => undefined,
  };
}

function req(method: string, cseq: number, extra: string[] = [], body = ''): SipRequest {
  const text = [
    `${method} sip:mccs@192.0.2.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK${method}${cseq}`,
    'From: <sip:+4930111@10.0.0.1>;tag=a1',
    'To: <sip:+4930555@192.0.2.1>',
    'Call-ID: c1',
    `CSeq: ${cseq} ${method}`,
    'Contact: <sip:alice@10.0.0.1:5060>',
    'Record-Route: <sip:proxy.example;lr>',
    ...extra,
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
  return parseMessage(text) as SipRequest;
}

function dialog(timers = {}) {
  const stack = fakeStack();
  const ended: EndReason[] = [];
  const d = new ServerDialog({
    stack,
    invite: req('INVITE', 1, ['Supported: timer']),
    remote: { protocol: 'UDP', address: '10.0.0.1', port: 5060 },
    contact: 'sip:mccs@192.0.2.1:5060',
    logger: silent,
    timers: { t1Ms: 20, t2Ms: 80, ackTimeoutMs: 400, keepAliveMs: 0, ...timers },
    onReoffer: (sdp) => Promise.resolve({ status: 200, reason: 'OK', sdp: sdp.replace('sendonly', 'recvonly') }),
  });
  d.on('ended', (r) => ended.push(r));
  return { d, stack, ended };
}

const statuses = (sent: SipMessage[]) => sent.filter((m): m is SipResponse => 'status' in m).map((m) => m.status);
const methods = (sent: SipMessage[]) => sent.filter((m): m is SipRequest => 'method' in m).map((m) => m.method);

it('retransmits the 200 until the ACK, then is confirmed; caller BYE ends it once', async () => {
  const { d, stack, ended } = dialog();
  d.accept('v=0\r\n');
  expect(d.state).toBe('confirmed');
  await new Promise((r) => setTimeout(r, 130));
  const oks = statuses(stack.sent).filter((s) => s === 200).length;
  expect(oks).toBeGreaterThanOrEqual(3);
  d.ack();
  await new Promise((r) => setTimeout(r, 120));
  expect(statuses(stack.sent).filter((s) => s === 200).length).toBe(oks);
  const ok = stack.sent.find((m): m is SipResponse => 'status' in m && m.status === 200)!;
  expect(ok.headers.to?.params.tag).toBe(d.localTag);
  expect(ok.headers['session-expires']).toBe('1800;refresher=uac');
  d.handle(req('BYE', 2));
  d.handle(req('BYE', 3));
  expect(ended).toEqual(['remote_bye']);
  expect(statuses(stack.sent).slice(-2)).toEqual([200, 481]);
});

it('sends BYE with the route set and our tag when the ACK never comes', async () => {
  const { d, stack, ended } = dialog();
  d.accept('v=0\r\n');
  await new Promise((r) => setTimeout(r, 500));
  expect(ended).toEqual(['no_ack']);
  const bye = stack.sent.find((m): m is SipRequest => 'method' in m && m.method === 'BYE')!;
  expect(bye.uri).toBe('sip:alice@10.0.0.1:5060');
  expect(bye.headers.from?.params.tag).toBe(d.localTag);
  expect(bye.headers.to?.params.tag).toBe('a1');
  expect(bye.headers.route?.[0]?.uri).toMatchObject({ host: 'proxy.example' });
});

it('holds our BYE until the ACK arrives, and ends once', () => {
  const { d, stack, ended } = dialog();
  d.accept('v=0\r\n');
  d.hangup();
  expect(ended).toEqual(['local_hangup']);
  expect(methods(stack.sent)).toEqual([]);
  d.ack();
  expect(methods(stack.sent)).toEqual(['BYE']);
  d.hangup();
  expect(ended).toEqual(['local_hangup']);
});

it('answers CANCEL while early with 487, and rejects out-of-order CSeq', () => {
  const { d, stack, ended } = dialog();
  d.cancel();
  expect(statuses(stack.sent)).toEqual([487]);
  expect(ended).toEqual(['cancelled']);
  const b = dialog();
  b.d.accept('v=0\r\n');
  b.d.ack();
  b.d.handle(req('INFO', 1));
  expect(statuses(b.stack.sent).pop()).toBe(500);
  b.d.hangup();
});

it('answers a re-INVITE through onReoffer and keeps the dialog', async () => {
  const { d, stack, ended } = dialog();
  d.accept('v=0\r\n');
  d.ack();
  d.handle(req('INVITE', 2, ['Content-Type: application/sdp'], 'v=0\r\na=sendonly\r\n'));
  await new Promise((r) => setTimeout(r, 10));
  const last = stack.sent[stack.sent.length - 1] as SipResponse;
  expect(last.status).toBe(200);
  expect(last.content).toMatch(/a=recvonly/);
  expect(d.state).toBe('confirmed');
  d.handle(req('INVITE', 3));
  expect(statuses(stack.sent).pop()).toBe(488);
  d.hangup();
  expect(ended).toEqual(['local_hangup']);
  expect(methods(stack.sent)).toEqual(['BYE']);
});
