// The phone's media in a call: one plain-RTP leg of a media room, joined from the far end's SDP
// offer and kept in step with its later offers (hold, resume, a new address or codec). Every answer
// points the phone straight at the media server's port for the leg: no relay of ours.
import type { Logger } from '../lib/logger.js';
import type { MediaRoom } from '../media/index.js';
import type { ReinviteResult } from './dialog-core.js';
import { SdpError, answerDirection, buildAnswer, isHold, parseOffer, type AudioOffer, type G711 } from './sdp.js';

export interface PhoneLegOptions {
  room: MediaRoom;
  legId: string;
  display: string;
  /** Codec preference for later offers (the first offer was parsed by the caller). */
  codecs?: G711[];
  /** c= override when the media server's own RTP address is not reachable for phones. */
  mediaAddress?: string;
  logger: Logger;
  /** The far end held (true) or resumed (false) the call. */
  onHold: (held: boolean) => void;
}

export class PhoneLeg {
  readonly #o: PhoneLegOptions;
  readonly #sessionId = String(Date.now());
  #offer: AudioOffer | undefined;
  #local: { ip: string; port: number } | undefined;
  #version = 0;

  constructor(opts: PhoneLegOptions) {
    this.#o = opts;
  }

  get codec(): G711 | undefined {
    return this.#offer?.codec;
  }

  /** Joins the leg to the room for the far end's offer; resolves with our SDP answer. */
  async answer(offer: AudioOffer): Promise<string> {
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
    const moved = !held && (offer.remote.ip !== before.remote.ip || offer.remote.port !== before.remote.port || offer.codec !== before.codec || offer.payloadType !== before.payloadType);
    // Rejoining with the same leg id replaces the participant: the media server sends to the new address.
    if (moved) await this.#join(offer);
    await this.#o.room.setMuted(this.#o.legId, held).catch((err: unknown) => this.#o.logger.warn('SIP: muting a held phone leg failed', { err }));
    this.#offer = held ? { ...offer, remote: before.remote } : offer;
    this.#o.onHold(held);
    return { status: 200, reason: 'OK', sdp: this.#answer(offer, answerDirection(offer.direction)) };
  }

  async #join(offer: AudioOffer): Promise<void> {
    const { local } = await this.#o.room.joinRtp({ legId: this.#o.legId, display: this.#o.display, codec: offer.codec, remote: offer.remote, payloadType: offer.payloadType });
    this.#local = this.#o.mediaAddress ? { ip: this.#o.mediaAddress, port: local.port } : local;
  }

  #answer(offer: AudioOffer, direction?: ReturnType<typeof answerDirection>): string {
    this.#version++;
    return buildAnswer({ offer, local: this.#local!, sessionId: this.#sessionId, version: this.#version, ...(direction ? { direction } : {}) });
  }
}
