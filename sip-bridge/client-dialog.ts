// Our side (UAC) of an INVITE we sent, from its 2xx on (RFC 3261 §13.2.2.4, §12.1.2): the dialog
// takes the far end's tag, Contact and reversed Record-Route from the 2xx, we ACK it (with our SDP
// answer when the 2xx carried the offer) and ACK its retransmissions again. The rest (in-dialog
// requests, session timers) is dialog-core.ts.
/// <reference path="./sip.d.ts" />
import type { SipRequest, SipResponse } from 'sip';
import { Dialog, parseSessionExpires, type DialogContext } from './dialog-core.js';
import { headerText } from './message.js';

export class ClientDialog extends Dialog {
  readonly #inviteSeq: number;
  #ack: SipRequest | undefined;

  /** `invite` as last sent (after any digest retry: its CSeq counts), `ok` its 2xx. */
  constructor(ctx: DialogContext, invite: SipRequest, ok: SipResponse) {
    const h = ok.headers;
    super(
      ctx,
      {
        callId: invite.headers['call-id']!,
        local: { ...invite.headers.from!, params: { ...invite.headers.from!.params } },
        remote: { ...h.to!, params: { ...h.to!.params } },
        remoteTarget: Array.isArray(h.contact) && h.contact[0] ? h.contact[0].uri : invite.uri,
        routeSet: [...(h['record-route'] ?? [])].reverse(),
        localCseq: invite.headers.cseq!.seq,
        remoteCseq: -1,
        remoteAllow: typeof h.allow === 'string' ? h.allow : '',
      },
      'confirmed',
    );
    this.#inviteSeq = invite.headers.cseq!.seq;
    // RFC 4028 §7.2: the 2xx says who refreshes, in the INVITE's terms (we were its UAC).
    const se = parseSessionExpires(headerText(ok as unknown as SipRequest, 'session-expires'));
    if (se) this.setSession({ interval: se.interval, refresher: se.refresher === 'uas' ? 'remote' : 'local' });
  }

  /** Sends the ACK for the 2xx (with our SDP answer, if any) and starts the session timers. Once. */
  acknowledge(sdp?: string): void {
    if (this.#ack) return;
    const headers: Record<string, unknown> = { via: [] };
    if (sdp !== undefined) headers['content-type'] = 'application/sdp';
    // The ACK of a 2xx is its own transaction with the INVITE's CSeq number (§13.2.2.4).
    this.#ack = this.buildInDialog('ACK', headers, this.#inviteSeq);
    if (sdp !== undefined) this.#ack.content = sdp;
    this.resendAck();
    this.armSessionTimer();
  }

  /** A retransmitted 2xx: our ACK was lost. */
  resendAck(): void {
    if (!this.#ack) return;
    try {
      // The stack gives the first send its Via and branch; retransmissions keep them.
      this.ctx.stack.send(this.#ack);
    } catch (err) {
      this.log.warn('SIP: sending an ACK failed', { callId: this.callId, err });
    }
  }
}
