// Sends each source's state to the server: a change of state or reason at once, mere progress
// (counters, times) at most once per interval. One request per source at a time, so the server never
// sees an older state after a newer one.
import type { SourceStatusBody } from '../protocol/manager.js';

interface Slot {
  sent?: SourceStatusBody;
  next?: SourceStatusBody;
  sending: boolean;
  timer?: NodeJS.Timeout;
}

export class StatusReporter {
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  constructor(
    private readonly send: (sourceId: string, status: SourceStatusBody) => Promise<void>,
    private readonly progressIntervalMs: number,
  ) {}

  report(sourceId: string, status: SourceStatusBody): void {
    if (this.#closed) return;
    let slot = this.#slots.get(sourceId);
    if (!slot) this.#slots.set(sourceId, (slot = { sending: false }));
    const latest = slot.next ?? slot.sent;
    const changed = !latest || latest.state !== status.state || (status.reason !== undefined && status.reason !== latest.reason);
    // Progress without a reason keeps the reason of its state, so the admin's page does not lose it.
    slot.next = !changed && status.reason === undefined && latest.reason !== undefined ? { ...status, reason: latest.reason } : status;
    if (changed) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      void this.#flush(sourceId, slot);
    } else {
      slot.timer ??= setTimeout(() => {
        slot.timer = undefined;
        void this.#flush(sourceId, slot);
      }, this.progressIntervalMs);
    }
  }

  async #flush(sourceId: string, slot: Slot): Promise<void> {
    if (slot.sending || !slot.next || this.#closed) return;
    const status = slot.next;
    slot.next = undefined;
    slot.sending = true;
    try {
      await this.send(sourceId, status);
      slot.sent = status;
    } catch {
      // The sender logs; the next report tries again.
    } finally {
      slot.sending = false;
    }
    // A change that came while this one was on its way goes now; progress waits for its timer.
    if (slot.next && !slot.timer) await this.#flush(sourceId, slot);
  }

  /** Forgets a source that was removed. */
  forget(sourceId: string): void {
    clearTimeout(this.#slots.get(sourceId)?.timer);
    this.#slots.delete(sourceId);
  }

  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
    this.#slots.clear();
  }
}
