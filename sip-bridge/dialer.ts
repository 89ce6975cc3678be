// One INVITE we send to a trunk, until it is answered or not (RFC 3261 §13.2, §9.1). The INVITE
// carries no SDP (delayed offer): the far end offers in its 2xx and we answer in the ACK, because
// the media server (Janus 1.1 AudioBridge) only opens a plain-RTP port once it knows where the phone
// listens. Provisional answers are reported, 401/407 answered with the trunk's credentials, and a
// time-out or an abort sends CANCEL (after the first provisional answer, as §9.1 wants); a 2xx that
// races a CANCEL is ACKed and hung up.
/// <reference path="./sip.d.ts" />
import type { NameAddr, SipRequest, SipResponse } from 'sip';
import { ClientDialog } from './client-dialog.js';
import type { DialogContext, EndReason } from './dialog-core.js';
import type { DigestClient } from './digest.js';
import { sendCancel, sendRequest, type SentRequest, type UacContext } from './uac.js';

export type DialFailure = Extract<EndReason, 'rejected' | 'no_answer' | 'cancelled' | 'failed'>;

export type DialOutcome =
  | { answered: true; dialog: ClientDialog; ok: SipResponse; invite: SipRequest }
  | { answered: false; reason: DialFailure; status?: number; sipReason?: string };

export interface OutboundInviteOptions {
  uac: UacContext;
  dialog: DialogContext;
  /** The INVITE as built (no Via); Route to the trunk when the Request-URI names another host. */
  invite: SipRequest;
  digest?: DigestClient;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (status: number) => void;
}

export class OutboundInvite {
  /** Settles once: answered (a confirmed dialog, not yet ACKed) or why not. */
  readonly outcome: Promise<DialOutcome>;
  readonly #o: OutboundInviteOptions;
  #sent!: SentRequest;
  #settle!: (o: DialOutcome) => void;
  #settled = false;
  #provisional = false;
  /** Set once we want out: CANCEL as soon as it may be sent. */
  #cancelling: DialFailure | undefined;
  #cancelSent = false;
  #dialog: ClientDialog | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort = (): void => this.#cancel('cancelled');

  constructor(opts: OutboundInviteOptions) {
    this.#o = opts;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    this.#timer = setTimeout(() => this.#cancel('no_answer'), opts.timeoutMs);
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (opts.signal?.aborted) this.#cancel('cancelled');
    else this.#sent = sendRequest(opts.uac, opts.invite, opts.digest, (rs, sent) => this.#response(rs, sent));
  }

  #response(rs: SipResponse, sent: SipRequest): void {
    if (rs.status < 200) {
      if (rs.status > 100) {
        this.#provisional = true;
        if (!this.#settled) this.#o.onProgress?.(rs.status);
      }
      if (this.#cancelling) this.#sendCancel();
      return;
    }
    if (rs.status < 300) return this.#answered(rs, sent);
    this.#done({ answered: false, reason: this.#cancelling ?? 'rejected', status: rs.status, sipReason: rs.reason });
  }

  #answered(ok: SipResponse, sent: SipRequest): void {
    if (this.#dialog) {
      // A retransmitted 2xx: our ACK was lost (or is still to come while the leg joins).
      this.#dialog.resendAck();
      return;
    }
    this.#dialog = new ClientDialog(this.#o.dialog, sent, ok);
    if (this.#cancelling || this.#settled) {
      // The answer crossed our CANCEL: take the call and hang it up at once (§9.1).
      this.#dialog.acknowledge();
      this.#dialog.hangup(this.#cancelling ?? 'cancelled');
      this.#done({ answered: false, reason: this.#cancelling ?? 'cancelled', status: 200 });
      return;
    }
    this.#done({ answered: true, dialog: this.#dialog, ok, invite: sent });
  }

  #cancel(reason: DialFailure): void {
    if (this.#settled || this.#cancelling) return;
    this.#cancelling = reason;
    // The caller hears the outcome now; CANCEL (or the BYE after a crossing 2xx) follows on the wire.
    this.#done({ answered: false, reason });
    if (this.#provisional) this.#sendCancel();
  }

  #sendCancel(): void {
    if (this.#cancelSent || !this.#sent) return;
    this.#cancelSent = true;
    sendCancel(this.#o.uac, this.#sent.current, this.#o.invite.headers.route as NameAddr[] | undefined);
  }

  #done(outcome: DialOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    this.#settle(outcome);
  }
}
