// The queues (topics) customers choose from: stored in the database, mirrored into the router.
import type { Repository } from 'typeorm';
import type { QueueRow } from '../db/entities.js';
import { DomainError } from '../lib/errors.js';
import type { RoutingEngine } from './engine.js';

export interface QueueSummary {
  id: string;
  name: string;
  description: string;
  requiredSkill: string | null;
  waiting: number;
}

/** Topics a fresh installation starts with, so the widget has something to offer. */
export const DEFAULT_QUEUES: Array<Pick<QueueRow, 'id' | 'name' | 'description'>> = [
  { id: 'general', name: 'General questions', description: 'Anything else: we find the right person' },
  { id: 'billing', name: 'Billing and payments', description: 'Invoices, charges, refunds' },
  { id: 'technical', name: 'Technical help', description: 'Set-up, errors, how-to' },
];

export class QueueDirectory {
  constructor(
    private readonly queues: Repository<QueueRow>,
    private readonly router: RoutingEngine,
  ) {}

  async seedDefaults(): Promise<void> {
    if ((await this.queues.count()) > 0) return;
    const now = Date.now();
    try {
      await this.queues.insert(DEFAULT_QUEUES.map((q) => ({ ...q, requiredSkill: null, createdAt: now })));
    } catch (err) {
      // Another node starting at the same moment seeded them first.
      if ((await this.queues.count()) === 0) throw err;
    }
  }

  async list(): Promise<QueueSummary[]> {
    const rows = await this.queues.find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return Promise.all(rows.map(async (q) => ({ ...q, waiting: await this.router.waitingCount(q.id) })));
  }

  async create(input: { id: string; name: string; description?: string; requiredSkill?: string | null }): Promise<QueueSummary> {
    if (await this.queues.existsBy({ id: input.id })) throw new DomainError('CONFLICT', `queue ${input.id} exists`);
    const row: QueueRow = {
      id: input.id,
      name: input.name,
      description: input.description ?? '',
      requiredSkill: input.requiredSkill ?? null,
      createdAt: Date.now(),
    };
    await this.queues.insert(row);
    await this.router.setQueue({ id: row.id, requiredSkill: row.requiredSkill });
    return { ...row, waiting: 0 };
  }
}
