// UDP sockets for the bridge's RTP relays, bound on even ports of a configured range (RTP's
// convention; RTCP is not relayed) on one address. Ports are tried round-robin from where the last
// bind ended, so a port just freed is not reused at once (late packets of the old call). Counts the
// sockets it opened that are not closed yet, so tests can check none leaks.
import dgram from 'node:dgram';

export interface PortRange {
  min: number;
  max: number;
}

/** Reads 'min-max' (inclusive, 1024-65535); TypeError when it is not such a range with an even port in it. */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1024 || max > 65535 || min > max || (min === max && min % 2 === 1)) throw new TypeError(`bad RTP port range '${text}': want min-max within 1024-65535`);
  return { min, max };
}

/** How many ports one bind tries before giving up (a full range, or one shared with other programs). */
const MAX_ATTEMPTS = 64;

export class RtpPortRange {
  readonly #host: string;
  readonly #first: number;
  readonly #count: number;
  #next = 0;
  #open = 0;

  constructor(host: string, range: PortRange) {
    this.#host = host;
    this.#first = range.min + (range.min % 2);
    this.#count = Math.floor((range.max - this.#first) / 2) + 1;
  }

  /** Sockets bound and not closed yet. */
  get openSockets(): number {
    return this.#open;
  }

  /** A socket bound on the next free even port; rejects when none of the ports tried was free. */
  async bind(): Promise<dgram.Socket> {
    const attempts = Math.min(MAX_ATTEMPTS, this.#count);
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = this.#first + 2 * this.#next;
      this.#next = (this.#next + 1) % this.#count;
      const socket = dgram.createSocket('udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(port, this.#host, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        lastError = err;
        socket.close();
        continue;
      }
      this.#open++;
      socket.once('close', () => this.#open--);
      return socket;
    }
    throw new Error(`no free RTP relay port on ${this.#host} (${attempts} tried): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }
}
