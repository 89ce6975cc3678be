// Anonymous customers of the web widget. The context issue grows this into profiles linked across
// channels; for now a customer is an id and an optional display name.
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { CustomerRow } from '../db/entities.js';

export class CustomerDirectory {
  constructor(private readonly customers: Repository<CustomerRow>) {}

  async createVisitor(displayName?: string): Promise<CustomerRow> {
    const row: CustomerRow = { id: randomUUID(), displayName: displayName?.trim() || null, createdAt: Date.now() };
    await this.customers.insert(row);
    return row;
  }

  exists(id: string): Promise<boolean> {
    return this.customers.existsBy({ id });
  }
}
