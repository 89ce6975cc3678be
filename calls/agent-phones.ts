// "Ring my phone": agents who take audio calls on their own number. Which agents (their account
// settings) and how their phone is called into a call's room (the SIP bridge, once it runs).
import type { Repository } from 'typeorm';
import type { AccountRow } from '../db/entities.js';
import type { MediaRoom } from '../media/index.js';
import type { AgentPhones } from './call-service.js';

type Dialer = AgentPhones['dialInto'];

export class AgentPhoneDirectory implements AgentPhones {
  #dial: Dialer | null = null;

  constructor(private readonly accounts: Repository<AccountRow>) {}

  /** The SIP bridge's way out (it starts after the call service); until then agents use the browser. */
  setDialer(dial: Dialer | null): void {
    this.#dial = dial;
  }

  get available(): boolean {
    return this.#dial !== null;
  }

  async numberFor(agentId: string): Promise<string | null> {
    if (!this.#dial) return null;
    const a = await this.accounts.findOneBy({ id: agentId });
    return a?.answerCallsOnPhone && a.phoneNumber ? a.phoneNumber : null;
  }

  dialInto(room: MediaRoom, legId: string, number: string): ReturnType<Dialer> {
    if (!this.#dial) return Promise.reject(new Error('no SIP trunk to call agents on'));
    return this.#dial(room, legId, number);
  }

  async settings(agentId: string): Promise<{ phoneNumber: string | null; answerCallsOnPhone: boolean; available: boolean }> {
    const a = await this.accounts.findOneByOrFail({ id: agentId });
    return { phoneNumber: a.phoneNumber ?? null, answerCallsOnPhone: a.answerCallsOnPhone === true, available: this.available };
  }

  async setSettings(agentId: string, s: { phoneNumber: string | null; answerCallsOnPhone: boolean }): Promise<{ phoneNumber: string | null; answerCallsOnPhone: boolean; available: boolean }> {
    await this.accounts.update({ id: agentId }, { phoneNumber: s.phoneNumber, answerCallsOnPhone: s.answerCallsOnPhone, updatedAt: Date.now() });
    return this.settings(agentId);
  }
}
