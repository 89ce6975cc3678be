// Customers: anonymous widget visitors, and people known by a phone number or a social handle. One
// person reached through the same identity again is the same customer (context/ shows their history).
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { CustomerRow } from '../db/entities.js';
import type { CustomerIdentityRow, IdentityKind } from '../db/context-entities.js';

export class CustomerDirectory {
  constructor(
    private readonly customers: Repository<CustomerRow>,
    private readonly identities: Repository<CustomerIdentityRow>,
  ) {}

  async createVisitor(displayName?: string): Promise<CustomerRow> {
    const row: CustomerRow = { id: randomUUID(), displayName: displayName?.trim() || null, createdAt: Date.now() };
    await this.customers.insert(row);
    return row;
  }

  /**
   * The customer known by this identity (a caller's number, an author's handle), made on first
   * contact. Two first contacts at once meet at the identity's unique key: one customer wins.
   */
  async findOrCreateByIdentity(kind: IdentityKind, value: string, displayName?: string): Promise<CustomerRow> {
    const known = await this.#byIdentity(kind, value);
    if (known) return known;
    const customer = await this.createVisitor(displayName);
    try {
      await this.identities.insert({ id: randomUUID(), customerId: customer.id, kind, value, createdAt: Date.now() });
      return customer;
    } catch (err) {
      const winner = await this.#byIdentity(kind, value);
      if (!winner) throw err;
      await this.customers.delete({ id: customer.id });
      return winner;
    }
  }

  /** The customer's phone number (E.164) when they are known by one. */
  async phoneOf(customerId: string): Promise<string | null> {
    return (await this.identities.findOneBy({ customerId, kind: 'phone' }))?.value ?? null;
  }

  exists(id: string): Promise<boolean> {
    return this.customers.existsBy({ id });
  }

  async #byIdentity(kind: IdentityKind, value: string): Promise<CustomerRow | null> {
    const identity = await this.identities.findOneBy({ kind, value });
    return identity ? this.customers.findOneBy({ id: identity.customerId }) : null;
  }
}
