// Every minute: connected agents who are ready but may not be now (their hours ended, do-not-disturb
// began, verification withdrawn) are set not ready with the reason. Going ready is checked when asked
// (chat-service setPresence); this catches the clock moving on while they stay ready.
import type { Repository } from 'typeorm';
import type { Logger } from '../lib/logger.js';
import type { AccountRow } from '../db/entities.js';
import { notReadyReason } from './agent-policy.js';

export interface PolicySweepDeps {
  accounts: Repository<AccountRow>;
  /** The agent's presence as routing sees it. */
  status(agentId: string): Promise<{ state: string }>;
  setNotReady(agentId: string, reason: string): Promise<unknown>;
  logger: Logger;
  intervalMs?: number;
}

export class AgentPolicySweep {
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(private readonly deps: PolicySweepDeps) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.sweep(), this.deps.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass; returns the agents set not ready. */
  async sweep(now = Date.now()): Promise<string[]> {
    if (this.#running) return [];
    this.#running = true;
    const changed: string[] = [];
    try {
      for (const account of await this.deps.accounts.findBy({ role: 'agent' })) {
        const reason = notReadyReason(account, now);
        if (!reason) continue;
        const { state } = await this.deps.status(account.id);
        if (state === 'not_ready' || state === 'logged_off') continue;
        // Not connected to this node (another one sweeps it): routing refuses, nothing to do here.
        await this.deps.setNotReady(account.id, reason).then(
          () => changed.push(account.id),
          () => undefined,
        );
      }
      if (changed.length) this.deps.logger.info('agents set not ready by their policies', { agents: changed.length });
    } catch (err) {
      this.deps.logger.warn('agent policy sweep failed', { err });
    } finally {
      this.#running = false;
    }
    return changed;
  }
}
