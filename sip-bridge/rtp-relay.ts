// One phone leg's RTP relay: a UDP socket of ours between the phone and the media server's plain-RTP
// port, because Janus 1.1.2's AudioBridge tells us neither the phone's RFC 4733 digits nor that its
// RTP stopped. The phone sends to this socket (our SDP answer names it) and so does the media server
// (the leg is joined with it as the remote). Per packet:
//   from the media server → to the phone;
//   from the phone → telephone-event payloads become digits (not forwarded), the rest to the media server.
// Symmetric RTP: the phone's packets may come from elsewhere than its SDP says (NAT), so the first
// source seen after each offer is latched and answered; other sources are dropped until the next offer.
// No packet from the phone for `timeoutMs` while not on hold → onTimeout.
// The hot path only reads bytes and compares the source: the datagram dgram hands us is sent on as is.
import type { RemoteInfo, Socket } from 'node:dgram';
import { DigitDetector } from './telephone-event.js';

export interface RtpAddress {
  ip: string;
  port: number;
}

export interface RtpRelayOptions {
  /** Bound (RtpPortRange), owned by the relay from now on: close() closes it. */
  socket: Socket;
  /** The address the media server sends to: the socket's, as the media server reaches it. */
  address: string;
  /** Where the phone's SDP says it receives, until its packets show otherwise. */
  phone: RtpAddress;
  /** The telephone-event payload type of the phone's offer; absent: none negotiated. */
  telephoneEventPt?: number;
  /** No RTP from the phone for this long (not while held) → onTimeout; 0 turns the check off. */
  timeoutMs: number;
  onDigit: (digit: string) => void;
  onTimeout: () => void;
}

/** How often the time-out is checked, at most (a packet counter is read: no timer per packet). */
const CHECK_MS = 1000;

export class RtpRelay {
  readonly #socket: Socket;
  readonly #local: RtpAddress;
  readonly #opts: RtpRelayOptions;
  readonly #digits = new DigitDetector();
  #phoneIp: string;
  #phonePort: number;
  #latched = false;
  /** -1: no telephone-event negotiated (a payload type is 0-127). */
  #telephoneEventPt: number;
  /** Unknown until the leg has joined; until then nothing is relayed (no phone knows our port yet). */
  #mediaIp: string | undefined;
  #mediaPort = 0;
  #phonePackets = 0;
  #checkedPackets = 0;
  #silentSince = Date.now();
  #held = false;
  #checker: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: RtpRelayOptions) {
    this.#opts = opts;
    this.#socket = opts.socket;
    this.#local = { ip: opts.address, port: opts.socket.address().port };
    this.#phoneIp = opts.phone.ip;
    this.#phonePort = opts.phone.port;
    this.#telephoneEventPt = opts.telephoneEventPt ?? -1;
    this.#socket.on('message', (msg, rinfo) => this.#onPacket(msg, rinfo));
    // A send to a port that is gone (ICMP unreachable) surfaces here; RTP just carries on.
    this.#socket.on('error', () => undefined);
    if (opts.timeoutMs > 0) {
      this.#checker = setInterval(() => this.#checkActivity(), Math.min(CHECK_MS, opts.timeoutMs / 2));
      this.#checker.unref();
    }
  }

  /** Where the media server sends the phone's audio (the leg's remote). */
  get local(): RtpAddress {
    return this.#local;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The media server's port for the leg (after each join); undefined stops relaying until the next. */
  setMediaServer(remote: RtpAddress | undefined): void {
    this.#mediaIp = remote?.ip;
    this.#mediaPort = remote?.port ?? 0;
  }

  /** A new offer from the phone: where it receives now, and its telephone-event payload type. Re-latches. */
  setPhone(phone: RtpAddress, telephoneEventPt: number | undefined): void {
    this.#phoneIp = phone.ip;
    this.#phonePort = phone.port;
    this.#latched = false;
    this.#telephoneEventPt = telephoneEventPt ?? -1;
  }

  /** On hold the phone may send nothing: no time-out then, and a full one from the resume. */
  setHeld(held: boolean): void {
    this.#held = held;
    this.#silentSince = Date.now();
    this.#checkedPackets = this.#phonePackets;
  }

  /** Stops relaying and closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checker);
    this.#socket.close();
  }

  #onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#mediaIp === undefined) return;
    if (rinfo.port === this.#mediaPort && rinfo.address === this.#mediaIp) {
      this.#socket.send(msg, this.#phonePort, this.#phoneIp);
      return;
    }
    if (!this.#latched) {
      this.#phoneIp = rinfo.address;
      this.#phonePort = rinfo.port;
      this.#latched = true;
    } else if (rinfo.port !== this.#phonePort || rinfo.address !== this.#phoneIp) {
      return;
    }
    this.#phonePackets++;
    if (msg.length > 1 && (msg[1]! & 0x7f) === this.#telephoneEventPt) {
      const digit = this.#digits.push(msg);
      if (digit) this.#opts.onDigit(digit);
      return;
    }
    this.#socket.send(msg, this.#mediaPort, this.#mediaIp);
  }

  #checkActivity(): void {
    const now = Date.now();
    if (this.#held || this.#phonePackets !== this.#checkedPackets) {
      this.#checkedPackets = this.#phonePackets;
      this.#silentSince = now;
      return;
    }
    if (now - this.#silentSince >= this.#opts.timeoutMs) {
      clearInterval(this.#checker);
      this.#opts.onTimeout();
    }
  }
}
