// The phone's media in a call: one plain-RTP leg of a media room, joined from the far end's SDP
// offer and kept in step with its later offers (hold, resume, a new address or codec). With a relay
// (the default, rtp-relay.ts) the phone talks to our socket and the media server to the same socket,
// so our SDP address never changes and a phone that moves only re-points the relay; without one the
// phone is pointed straight at the media server's port and every move re-joins the leg.
import type { Logger } from '../lib/logger.js';
import type { MediaRoom } from '../media/index.js';
import type { ReinviteResult } from './dialog-core.js';
import type { RtpRelay } from './rtp-relay.js';
import { SdpError, answerDirection, buildAnswer, isHold, parseOffer, type AudioOffer, type G711 } from './sdp.js';

export interface PhoneLegOptions {
  room: MediaRoom;
  legId: string;
  display: string;
  /** Codec preference for later offers (the first offer was parsed by the caller). */
  codecs?: G711[];
  /** The address in our SDP (c=) when it is not the relay's or the media server's own. */
  mediaAddress?: string;
  /** Opens the leg's RTP relay for the first offer; absent: no relay (the direct path). */
  openRelay?: (offer: AudioOffer) => Promise<RtpRelay>;
  logger: Logger;
  /** The far end held (true) or resumed (false) the call. */
  onHold: (held: boolean) => void;
}

export class PhoneLeg {
  readonly #o: PhoneLegOptions;
  readonly #sessionId = String(Date.now());
  #offer: AudioOffer | undefined;
  #relay: RtpRelay | undefined;
  /** What our SDP names: the relay's socket, or the media server's port for the leg. */
  #local: { ip: string; port: number } | undefined;
  #version = 0;
  #closed = false;

  constructor(opts: PhoneLegOptions) {
    this.#o = opts;
  }

  get codec(): G711 | undefined {
    return this.#offer?.codec;
  }

  /** Joins the leg to the room for the far end's offer; resolves with our SDP answer. */
  async answer(offer: AudioOffer): Promise<string> {
    if (this.#o.openRelay) {
      const relay = await this.#o.openRelay(offer);
      if (this.#closed) {
        relay.close();
        throw new Error('the phone leg was closed while it was set up');
      }
      this.#relay = relay;
      relay.setHeld(isHold(offer));
    }
    await this.#join(offer);
    this.#offer = offer;
    return this.#answer(offer);
  }

  /** A new offer in the dialog: hold/unhold, or the far end's media moved. */
  async reoffer(sdp: string): Promise<ReinviteResult> {
    const before = this.#offer;
    if (!before) return { status: 491, reason: 'Request Pending' };
    let offer: AudioOffer;
    try {
      offer = parseOffer(sdp, [before.codec, ...(this.#o.codecs ?? ['pcmu', 'pcma'])]);
    } catch (err) {
      if (err instanceof SdpError) return { status: 488, reason: 'Not Acceptable Here' };
      throw err;
    }
    const held = isHold(offer);
    const moved = !held && (offer.remote.ip !== before.remote.ip || offer.remote.port !== before.remote.port);
    const recoded = !held && (offer.codec !== before.codec || offer.payloadType !== before.payloadType);
    // Rejoining with the same leg id replaces the participant. Through the relay only a codec change
    // needs that; without it the media server must also learn the phone's new address.
    if (recoded || (moved && !this.#relay)) await this.#join(offer);
    if (!held) this.#relay?.setPhone(offer.remote, offer.telephoneEvent);
    this.#relay?.setHeld(held);
    await this.#o.room.setMuted(this.#o.legId, held).catch((err: unknown) => this.#o.logger.warn('SIP: muting a held phone leg failed', { err }));
    this.#offer = held ? { ...offer, remote: before.remote } : offer;
    this.#o.onHold(held);
    return { status: 200, reason: 'OK', sdp: this.#answer(offer, answerDirection(offer.direction)) };
  }

  /** Closes the relay (its socket). The leg in the room is the room's to remove. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#relay?.close();
  }

  async #join(offer: AudioOffer): Promise<void> {
    const relay = this.#relay;
    const remote = relay ? relay.local : offer.remote;
    const { local } = await this.#o.room.joinRtp({ legId: this.#o.legId, display: this.#o.display, codec: offer.codec, remote, payloadType: offer.payloadType });
    relay?.setMediaServer(local);
    const ours = relay ? relay.local : local;
    this.#local = { ip: this.#o.mediaAddress ?? ours.ip, port: ours.port };
  }

  #answer(offer: AudioOffer, direction?: ReturnType<typeof answerDirection>): string {
    this.#version++;
    return buildAnswer({ offer, local: this.#local!, sessionId: this.#sessionId, version: this.#version, ...(direction ? { direction } : {}) });
  }
}
