// Our side (UAS) of an INVITE we answer (RFC 3261 §13.3, §17.2.1): provisional and final responses,
// our own retransmission of the 200 until the ACK comes (the stack leaves that to us), CANCEL while
// early, and no BYE before the ACK. The rest (in-dialog requests, session timers) is dialog-core.ts.
/// <reference path="./sip.d.ts" />
import type { Remote, SipRequest, SipResponse } from 'sip';
import { Dialog, newTag, parseSessionExpires, type DialogContext, type EndReason } from './dialog-core.js';
import { headerText } from './message.js';

export { DEFAULT_TIMERS, parseSessionExpires, type DialogState, type DialogTimers, type EndReason, type ReinviteResult } from './dialog-core.js';
export type { DialogEvents } from './dialog-core.js';

export interface ServerDialogContext extends DialogContext {
  invite: SipRequest;
  remote: Remote;
}

export class ServerDialog extends Dialog {
  readonly invite: SipRequest;
  readonly #remote: Remote;
  #acked = false;
  #okResponse: SipResponse | undefined;
  #retransmit: NodeJS.Timeout | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #byeAfterAck = false;

  constructor(ctx: ServerDialogContext) {
    const h = ctx.invite.headers;
    super(
      ctx,
      {
        callId: h['call-id']!,
        local: { ...h.to!, params: { ...h.to!.params, tag: newTag() } },
        remote: { ...h.from!, params: { ...h.from!.params } },
        remoteTarget: Array.isArray(h.contact) && h.contact[0] ? h.contact[0].uri : h.from!.uri,
        routeSet: h['record-route'] ?? [],
        localCseq: Math.floor(Math.random() * 10_000) + 1,
        remoteCseq: h.cseq!.seq,
        remoteAllow: headerText(ctx.invite, 'allow') ?? '',
      },
      'early',
    );
    this.invite = ctx.invite;
    this.#remote = ctx.remote;
  }

  get acked(): boolean {
    return this.#acked;
  }

  /** The CANCEL's INVITE is ours: the branch of the INVITE's top Via. */
  get inviteBranch(): string {
    return String(this.invite.headers.via?.[0]?.params.branch ?? '');
  }

  // ---- responses to the INVITE ---------------------------------------------------------------------

  /** 180 Ringing, 183 Session Progress (with SDP: early media). */
  progress(status: 180 | 183, sdp?: string): void {
    if (this.dialogState !== 'early') return;
    this.respond(this.invite, status, status === 180 ? 'Ringing' : 'Session Progress', sdp ? { 'content-type': 'application/sdp' } : {}, sdp, true);
  }

  /**
   * Checks the INVITE's session timer headers (RFC 4028 §8-§9) before answering: a rejection (422)
   * to send instead of 200, or undefined when fine.
   */
  checkSessionTimer(): { status: number; reason: string; headers: Record<string, unknown> } | undefined {
    const se = parseSessionExpires(headerText(this.invite, 'session-expires'));
    if (se && se.interval < this.timers.minSeS) {
      return { status: 422, reason: 'Session Interval Too Small', headers: { 'Min-SE': String(this.timers.minSeS) } };
    }
    return undefined;
  }

  /** 200 OK with our SDP answer; retransmitted until the ACK. */
  accept(sdp: string): void {
    if (this.dialogState !== 'early') return;
    this.dialogState = 'confirmed';
    const extra: Record<string, unknown> = { 'content-type': 'application/sdp', contact: [{ uri: this.ctx.contact, params: {} }] };
    this.negotiateSessionTimer(this.invite, extra);
    this.#okResponse = this.respond(this.invite, 200, 'OK', extra, sdp, true);
    if (this.#remote.protocol.toUpperCase() === 'UDP') {
      let interval = this.timers.t1Ms;
      const again = (): void => {
        if (this.#acked || (this.dialogState === 'terminated' && !this.#byeAfterAck) || !this.#okResponse) return;
        this.#sendRaw(this.#okResponse);
        interval = Math.min(interval * 2, this.timers.t2Ms);
        this.#retransmit = setTimeout(again, interval);
      };
      this.#retransmit = setTimeout(again, interval);
    }
    this.#ackTimer = setTimeout(() => {
      if (this.#acked) return;
      clearTimeout(this.#retransmit);
      if (this.dialogState === 'terminated' && !this.#byeAfterAck) return;
      this.log.warn('SIP: no ACK for our 200 OK, ending the call', { callId: this.callId });
      this.#byeAfterAck = false;
      this.sendBye();
      this.end('no_ack');
    }, this.timers.ackTimeoutMs);
  }

  /** A final non-2xx answer to the INVITE; ends the dialog. */
  reject(status: number, reason: string, headers: Record<string, unknown> = {}, endReason: EndReason = 'local_hangup'): void {
    if (this.dialogState !== 'early') return;
    this.respond(this.invite, status, reason, headers);
    this.end(endReason);
  }

  /** Ends the call from our side: a final answer while early, BYE once confirmed. Idempotent. */
  override hangup(endReason: EndReason = 'local_hangup', early: { status: number; reason: string } = { status: 480, reason: 'Temporarily Unavailable' }): void {
    if (this.dialogState === 'terminated') return;
    if (this.dialogState === 'early') {
      this.reject(early.status, early.reason, {}, endReason);
      return;
    }
    if (!this.#acked) {
      // RFC 3261 §15: the UAS sends no BYE before the ACK (or its time-out); we end now, BYE follows.
      this.#byeAfterAck = true;
      this.end(endReason);
      return;
    }
    super.hangup(endReason);
  }

  // ---- requests from the caller -------------------------------------------------------------------

  /** CANCEL matching our INVITE (the bridge has answered the CANCEL itself with 200). */
  cancel(): void {
    if (this.dialogState !== 'early') return;
    this.respond(this.invite, 487, 'Request Terminated');
    this.end('cancelled');
  }

  /** ACK for our 200 OK. */
  override ack(): void {
    if (this.#acked) return;
    this.#acked = true;
    clearTimeout(this.#retransmit);
    clearTimeout(this.#ackTimer);
    if (this.#byeAfterAck) {
      this.#byeAfterAck = false;
      this.sendBye();
      return;
    }
    if (this.dialogState === 'terminated') return;
    this.safeEmit('ack');
    this.armSessionTimer();
  }

  override handle(rq: SipRequest): void {
    if (rq.method === 'BYE') clearTimeout(this.#retransmit);
    super.handle(rq);
  }

  override dispose(): void {
    clearTimeout(this.#retransmit);
    clearTimeout(this.#ackTimer);
    super.dispose();
  }

  protected override stopTimers(): void {
    super.stopTimers();
    // A BYE still owed after the ACK keeps the retransmission and ACK timers running.
    if (!this.#byeAfterAck) {
      clearTimeout(this.#retransmit);
      clearTimeout(this.#ackTimer);
    }
  }

  /** Resends our 200 OK outside its transaction (the stack does not retransmit 2xx). */
  #sendRaw(rs: SipResponse): void {
    try {
      this.ctx.stack.send(rs);
    } catch {
      // The transaction is gone (after 32 s); the ACK timer ends the call.
    }
  }
}
