// The Manager's server side (social/, docs/manager.md): service tokens, sources and policies, and the
// posts that became tasks with their outcomes.
import { Table, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class Social1732500000000 implements MigrationInterface {
  name = 'Social1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'service_tokens',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('name', 100),
          { ...str('token_hash', 64), isUnique: true },
          str('created_by', 36),
          big('created_at'),
          big('revoked_at', true),
          big('last_used_at', true),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'social_sources',
        columns: [
          { ...str('id', 64), isPrimary: true },
          { name: 'config', type: 'text' },
          str('state', 16),
          str('reason', 500, true),
          big('last_fetch_at', true),
          big('next_fetch_at', true),
          { name: 'items_seen', type: 'integer', isNullable: true },
          big('status_at', true),
          big('created_at'),
          big('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'social_policies',
        columns: [{ ...str('id', 64), isPrimary: true }, { name: 'config', type: 'text' }, big('created_at'), big('updated_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'social_posts',
        columns: [
          { ...str('task_id', 36), isPrimary: true },
          str('source_id', 64),
          str('external_id', 1024),
          str('manager_id', 100),
          str('policy_id', 64),
          { name: 'post', type: 'text' },
          { name: 'reply', type: 'text', isNullable: true },
          str('outcome', 16, true),
          str('handled_by', 36, true),
          big('handled_at', true),
          big('outcome_seq', true),
          big('created_at'),
        ],
      }),
    );
    await q.createUniqueConstraint('social_posts', new TableUnique({ name: 'uq_social_posts_source_external', columnNames: ['source_id', 'external_id'] }));
    await q.createIndex('social_posts', new TableIndex({ name: 'idx_social_posts_outcome_seq', columnNames: ['outcome_seq'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['social_posts', 'social_policies', 'social_sources', 'service_tokens']) await q.dropTable(t);
  }
}
