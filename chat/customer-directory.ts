// Customers: anonymous widget visitors, and people known by a phone number or a social handle. One
// person reached through the same identity again is the same customer (context/ shows their history).
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { CustomerRow } from '../db/entities.js';
import type { CustomerIdentityRow, IdentityKind } from '../db/context-entities.js';

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/;

/**
 * The language a browser prefers most, from its Accept-Language header ("fi-FI,fi;q=0.9,en;q=0.8" →
 * "fi-FI"), or null when there is none or it is not a plain language tag. For the agent's information.
 */
export function preferredLanguage(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || value.length > 500) return null;
  const ranked = value
    .split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=(.*)$/.exec(p)?.[1]).find((x) => x !== undefined);
      // A weight that is not a number in 0..1 makes the entry unusable (NaN fails the filter).
      return { tag: tag.trim(), q: q === undefined ? 1 : /^\s*[01](\.[0-9]{0,3})?\s*$/.test(q) ? Number(q) : NaN, i };
    })
    .filter((x) => LANGUAGE_TAG.test(x.tag) && x.tag.length <= 35 && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.tag ?? null;
}

export class CustomerDirectory {
  constructor(
    private readonly customers: Repository<CustomerRow>,
    private readonly identities: Repository<CustomerIdentityRow>,
  ) {}

  /** A new anonymous visitor; `language` is the browser's preference (see preferredLanguage). */
  async createVisitor(displayName?: string, language?: string | null): Promise<CustomerRow> {
    const row: CustomerRow = { id: randomUUID(), displayName: displayName?.trim() || null, createdAt: Date.now(), language: language ?? null };
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
