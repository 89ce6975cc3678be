// Customer context (context/, docs/context.md): identities, notes, ratings, the access log, merges;
// customers get tags, a flag and an erasure time; queues say whether agents see contacts and history.
import { Table, TableColumn, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class Context1732900000000 implements MigrationInterface {
  name = 'Context1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('customers', new TableColumn({ name: 'tags', type: 'text', isNullable: true }));
    await q.addColumn('customers', new TableColumn({ name: 'flagged', type: 'boolean', default: false }));
    await q.addColumn('customers', new TableColumn({ name: 'erased_at', type: 'bigint', isNullable: true }));
    await q.addColumn('queues', new TableColumn({ name: 'reveal_contact', type: 'boolean', default: false }));
    await q.addColumn('queues', new TableColumn({ name: 'share_history', type: 'boolean', default: false }));
    await q.createTable(
      new Table({
        name: 'customer_identities',
        columns: [{ ...str('id', 36), isPrimary: true }, str('customer_id', 36), str('kind', 16), str('value', 320), big('created_at')],
      }),
    );
    await q.createUniqueConstraint('customer_identities', new TableUnique({ name: 'uq_customer_identities_kind_value', columnNames: ['kind', 'value'] }));
    await q.createIndex('customer_identities', new TableIndex({ name: 'idx_customer_identities_customer', columnNames: ['customer_id'] }));
    await q.createTable(
      new Table({
        name: 'customer_notes',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('customer_id', 36),
          str('task_id', 36, true),
          str('author_id', 36),
          str('author_name', 80),
          { name: 'body', type: 'text' },
          big('created_at'),
        ],
      }),
    );
    await q.createIndex('customer_notes', new TableIndex({ name: 'idx_customer_notes_customer', columnNames: ['customer_id', 'created_at'] }));
    await q.createTable(
      new Table({
        name: 'ratings',
        columns: [
          { ...str('task_id', 36), isPrimary: true },
          str('customer_id', 36),
          str('agent_id', 36),
          { name: 'stars', type: 'integer' },
          str('comment', 1000, true),
          big('created_at'),
        ],
      }),
    );
    await q.createIndex('ratings', new TableIndex({ name: 'idx_ratings_agent', columnNames: ['agent_id'] }));
    await q.createTable(
      new Table({
        name: 'customer_access_log',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('customer_id', 36),
          str('viewer_id', 36),
          str('viewer_role', 16),
          str('action', 16),
          str('task_id', 36, true),
          big('at'),
        ],
      }),
    );
    await q.createIndex('customer_access_log', new TableIndex({ name: 'idx_customer_access_customer', columnNames: ['customer_id', 'at'] }));
    await q.createTable(
      new Table({
        name: 'customer_merges',
        columns: [{ ...str('id', 36), isPrimary: true }, str('into_id', 36), str('from_id', 36), str('by_id', 36), { name: 'moved', type: 'text' }, big('at')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['customer_merges', 'customer_access_log', 'ratings', 'customer_notes', 'customer_identities']) await q.dropTable(t);
    for (const c of ['share_history', 'reveal_contact']) await q.dropColumn('queues', c);
    for (const c of ['erased_at', 'flagged', 'tags']) await q.dropColumn('customers', c);
  }
}
