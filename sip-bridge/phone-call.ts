// One answered phone call as the rest of the server sees it, whichever way it was set up: the trunk,
// the media room the phone leg sits in, prompts, DTMF digits, hold, and one 'ended' event whatever
// ends the call. InboundCall (call.ts) and OutboundCall (outbound-call.ts) add who called whom.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypedEmitter } from '../lib/typed-emitter.js';
import type { MediaRoom } from '../media/index.js';
import type { EndReason } from './dialog-core.js';
import type { G711 } from './sdp.js';

/**
 * The prompts shipped in sip-bridge/prompts (Ogg/Opus, made by make-prompts.sh). The build does not
 * copy them into dist/, so from dist/sip-bridge the source folder is used.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const PROMPTS_DIR = [path.join(here, 'prompts'), path.join(here, '..', '..', 'sip-bridge', 'prompts')].find((d) => existsSync(d)) ?? path.join(here, 'prompts');

/** What playing a prompt needs from a room; JanusRoom has it (proposed for MediaRoom). */
interface FilePlayer {
  playFile(file: { path: string; loop?: boolean; fileId?: string }): Promise<string>;
  stopFile(fileId: string): Promise<void>;
}

function canPlay(room: MediaRoom): room is MediaRoom & FilePlayer {
  const r = room as Partial<FilePlayer>;
  return typeof r.playFile === 'function' && typeof r.stopFile === 'function';
}

export type DigitSource = 'rfc4733' | 'info';

export type PhoneCallEvents = {
  /** A DTMF digit (0-9, *, #, A-D) and how it came: RFC 4733 telephone-event in RTP (through the relay) or SIP INFO. */
  digit: [digit: string, via: DigitSource];
  /** The far end put the call on hold (true) or resumed it (false); their leg is muted in the mix while held. */
  hold: [held: boolean];
  /** Exactly once; the call's own room is destroyed by then (a room lent to `dial` is only left). */
  ended: [reason: EndReason];
};

export interface PhoneCallInit {
  id: string;
  sipCallId: string;
  trunkId: string;
  room: MediaRoom;
  legId: string;
  codec: G711;
  promptsDir?: string;
  hangup: (reason: EndReason) => Promise<void>;
}

export abstract class PhoneCall extends TypedEmitter<PhoneCallEvents> {
  /** Our id for the call; also the media room's session id when the call made its room. */
  readonly id: string;
  /** The SIP Call-ID (for logs and operators). */
  readonly sipCallId: string;
  readonly trunkId: string;
  /** The room the phone's RTP leg is in; an agent joins it to talk to the far end. */
  readonly room: MediaRoom;
  /** The phone's leg id in the room. */
  readonly legId: string;
  readonly codec: G711;
  readonly answeredAt = Date.now();
  /** Resolves with the reason once the call has ended. */
  readonly ended: Promise<EndReason>;
  #endReason: EndReason | undefined;
  #held = false;
  readonly #hangup: (reason: EndReason) => Promise<void>;
  readonly #promptsDir: string;
  #resolveEnded!: (r: EndReason) => void;

  protected constructor(init: PhoneCallInit) {
    super();
    this.id = init.id;
    this.sipCallId = init.sipCallId;
    this.trunkId = init.trunkId;
    this.room = init.room;
    this.legId = init.legId;
    this.codec = init.codec;
    this.#hangup = init.hangup;
    this.#promptsDir = init.promptsDir ?? PROMPTS_DIR;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  get state(): 'answered' | 'ended' {
    return this.#endReason ? 'ended' : 'answered';
  }

  get endReason(): EndReason | undefined {
    return this.#endReason;
  }

  get onHold(): boolean {
    return this.#held;
  }

  /** Ends the call from our side (BYE) and destroys its room. Idempotent. */
  hangup(reason: EndReason = 'local_hangup'): Promise<void> {
    return this.#hangup(reason);
  }

  /**
   * Plays a prompt into the call's room (everyone in the room hears it): a name from the prompts folder
   * ('greeting', 'music-on-hold', 'number-3') or an absolute path to an Ogg/Opus file the media
   * server can read. Resolves with an id for stopPrompt once it plays.
   */
  async playPrompt(prompt: string, opts: { loop?: boolean } = {}): Promise<string> {
    if (!canPlay(this.room)) throw new Error('this media engine cannot play announcements');
    const file = path.isAbsolute(prompt) ? prompt : path.join(this.#promptsDir, `${prompt}.opus`);
    return this.room.playFile({ path: file, loop: opts.loop ?? false });
  }

  async stopPrompt(id: string): Promise<void> {
    if (canPlay(this.room)) await this.room.stopFile(id);
  }

  /** Convenience for `on('ended', …)`. */
  onEnded(listener: (reason: EndReason) => void): this {
    return this.on('ended', listener);
  }

  /** @private */
  _digit(d: string, via: DigitSource): void {
    if (!this.#endReason) this.safeEmit('digit', d, via);
  }

  /** @private */
  _hold(held: boolean): void {
    if (this.#held === held || this.#endReason) return;
    this.#held = held;
    this.safeEmit('hold', held);
  }

  /** @private */
  _ended(reason: EndReason): void {
    if (this.#endReason) return;
    this.#endReason = reason;
    this.#resolveEnded(reason);
    this.safeEmit('ended', reason);
  }
}
